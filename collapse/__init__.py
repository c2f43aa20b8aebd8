"""collapse: self-consuming training loops (model collapse) in JAX.

The public API (docs/api.md): model families, data policies, the loop and its config, errors. Closed forms and
the checker live in :mod:`theory`. The transformer family (Flax) is imported on first use.
"""

from collapse.config import MODES, LoopConfig
from collapse.engine import Loop, LoopState, run_loop
from collapse.errors import ConfigError, Diverged
from collapse.families.base import ConfidenceFamily, EditFamily, Family, Segment
from collapse.families.gaussian import Gaussian
from collapse.families.gmm import GaussianMixture
from collapse.families.gmm_classify import GMMClassify
from collapse.families.linear import LinearRegression
from collapse.policies import (
    Accumulate,
    AccumulateSubsample,
    Edit,
    Fresh,
    Mix,
    Policy,
    Replace,
    StepContext,
    make_policy,
    policy_names,
    register_policy,
)
from collapse.stats import mean_se

__all__ = [
    "Accumulate", "AccumulateSubsample", "ConfidenceFamily", "ConfigError", "Diverged", "Edit", "EditFamily",
    "Family", "Fresh", "GMMClassify", "Gaussian", "GaussianMixture", "LinearRegression", "Loop", "LoopConfig",
    "LoopState", "MODES", "Mix", "Policy", "Replace", "Segment", "StepContext", "TransformerLM", "make_policy",
    "mean_se", "policy_names", "register_policy", "run_loop",
]
__version__ = "0.2.0"


def __getattr__(name):
    if name == "TransformerLM":  # Flax and the corpus load only when asked for
        from collapse.families.transformer import TransformerLM

        return TransformerLM
    raise AttributeError(f"module 'collapse' has no attribute {name!r}")
