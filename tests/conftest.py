import jax
from hypothesis import HealthCheck, settings

# Theory checks run in float64 (docs/papers/README.md, pitfalls).
jax.config.update("jax_enable_x64", True)

# Deterministic everywhere: a statistical test cannot pass on one run and fail on the next.
settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
)
settings.load_profile("ci")
