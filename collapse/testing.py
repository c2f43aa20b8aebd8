"""The conventions the project's own tests follow, for a user testing a new family, policy or closed form.

    from collapse.testing import assert_agrees, load_profile
    load_profile()                                   # derandomized hypothesis, in conftest.py
    assert_agrees(run_loop(family, cfg)["E_test"], my_theory(family, cfg))

A statistical check passes when |mean − theory| < z·SE at every generation (z = 4 by default; SE from the
replicates, plus the theory's own Monte-Carlo SE), with a float64 rounding floor of 1e-12 so that a formula and a
simulation that agree to the last bits (SE ≈ 1e-19) do not fail on a 1e-16 residue.
"""

import numpy as np

ROUNDING_FLOOR = 1e-12


def load_profile(name: str = "ci") -> None:
    """Register and load the hypothesis profile of the project's tests: derandomized (a statistical test cannot
    pass on one run and fail on the next), no deadline, no example database."""
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        name, derandomize=True, deadline=None, database=None, print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    )
    settings.load_profile(name)


def agrees(samples, theory, z: float = 4.0, theory_se=0.0) -> tuple[bool, dict]:
    """(verdict, details) for replicates ``samples`` [R] (one generation) against a value ``theory``."""
    samples = np.asarray(samples, float)
    se = samples.std(ddof=1) / np.sqrt(samples.size)
    scale = float(np.hypot(se, theory_se))
    diff = float(samples.mean() - theory)
    return abs(diff) <= z * scale + ROUNDING_FLOOR, {"mean": float(samples.mean()), "theory": float(theory),
                                                      "se": scale, "z": diff / scale if scale > 0 else 0.0}


def assert_agrees(samples, curve, z: float = 4.0) -> None:
    """Every generation of ``samples`` [G, R] agrees with a TheoryCurve of kind "equality" (NaN values: no claim);
    for an "upper-bound" curve, no generation is significantly above it."""
    samples = np.asarray(samples, float)
    values = np.asarray(curve.values, float)
    th_se = np.zeros_like(values) if curve.se is None else np.asarray(curve.se, float)
    for g, (row, value, vse) in enumerate(zip(samples, values, th_se, strict=True)):
        if not np.isfinite(value):
            continue
        ok, info = agrees(row, value, z, vse)
        if curve.kind != "equality":
            ok = info["mean"] <= value + z * info["se"] + ROUNDING_FLOOR
        assert ok, f"{curve.name} [{curve.source}], generation {g + 1}: {info}"


def moment_z(a, b) -> np.ndarray:
    """|difference of means| / SE of the difference, per generation, of two independent runs a, b [G, R]
    (identical constant columns give 0, differing ones inf)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    se = np.sqrt(a.var(1, ddof=1) / a.shape[1] + b.var(1, ddof=1) / b.shape[1])
    diff = np.abs(a.mean(1) - b.mean(1))
    return np.where(se > 0, diff / np.where(se > 0, se, 1.0), np.where(diff > 1e-12, np.inf, 0.0))


def assert_same_law(first: dict, second: dict, z: float = 4.0) -> None:
    """Two independent runs' metrics ({name: [G, R]}) agree in distribution: the same metric names, and the mean
    and second moment of every metric within ``z`` SE of each other at every generation."""
    assert first.keys() == second.keys(), (sorted(first), sorted(second))
    for name in first:
        a, b = np.asarray(first[name], float), np.asarray(second[name], float)
        for power in (1, 2):
            dz = moment_z(a**power, b**power)
            assert np.all(dz < z), (name, power, dz)
