"""collapse: self-consuming training loops (model collapse) in JAX."""

from collapse.config import MODES, LoopConfig
from collapse.engine import Loop, LoopState, run_loop
from collapse.errors import ConfigError
from collapse.families.linear import LinearRegression

__all__ = ["MODES", "ConfigError", "LinearRegression", "Loop", "LoopConfig", "LoopState", "run_loop"]
__version__ = "0.1.0"
