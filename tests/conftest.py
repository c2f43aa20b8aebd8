import os

import jax

from collapse.testing import load_profile

# Theory checks run in float64 (docs/papers/README.md, pitfalls): the engine enables it itself; direct
# theory/simulation tests need it globally.
jax.config.update("jax_enable_x64", True)

# The CLI's persistent compilation cache stays off in the suite (hermetic runs); test_sweep switches it on in a
# temporary folder to check it.
os.environ.setdefault("COLLAPSE_COMPILE_CACHE", "0")

# Deterministic everywhere: a statistical test cannot pass on one run and fail on the next.
load_profile("ci")
