import jax

from collapse.testing import load_profile

# Theory checks run in float64 (the engine enables it itself; direct theory/simulation tests need it globally).
jax.config.update("jax_enable_x64", True)

# Deterministic everywhere: a statistical test cannot pass on one run and fail on the next.
load_profile("ci")
