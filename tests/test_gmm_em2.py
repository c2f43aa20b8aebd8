"""The K = 2 EM step for 1-D mixtures (collapse.families.gmm.two_component_step) is the general step
(mixture_1d_step) up to rounding: the same next parameters and log-likelihood, in ordinary and extreme cases
(points 700+ log-units from one component, a dead component, data far from the origin), and the same EM
iterates and step counts through em(). Its shifted variance is checked against an extended-precision reference
where the one-pass Σr·x² − n·m² form would cancel."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from collapse.families.gmm import em, iterate, mixture_1d_step, two_component_step

EPS = np.finfo(np.float64).eps
FLOOR = 1e-6


def _data(offset=0.0, separation=4.0, n=301, seed=0):
    rng = np.random.default_rng(seed)
    comp = rng.integers(0, 2, n)
    x = offset + (comp - 0.5) * separation + rng.standard_normal(n) * np.where(comp, 0.7, 1.3)
    w = rng.integers(0, 3, n).astype(float)  # weights 0 (absent), 1, 2
    return jnp.asarray(x), jnp.asarray(w / w.sum())


@functools.partial(jax.jit, static_argnums=0)
def _one_step(step, x, wn, params):
    return step(x, wn, FLOOR, True, params)


CASES = {  # name: (data, (weights, means, variances))
    "typical": (_data(), ([0.4, 0.6], [-1.5, 2.5], [1.2, 0.8])),
    "far from the origin": (_data(offset=1e6), ([0.5, 0.5], [1e6 - 2.0, 1e6 + 2.0], [1.0, 0.5])),
    "points 700+ log-units from a component": (_data(separation=80.0), ([0.5, 0.5], [-40.0, 40.0], [1.0, 1.0])),
    "a dead component (weight 0)": (_data(), ([0.0, 1.0], [50.0, 0.0], [1.0, 4.0])),
    "a component below the 1e-300 clip": (_data(), ([1e-300, 1.0], [-5.0, 0.0], [0.25, 4.0])),  # n₀ ≈ 6.5e-301
}
# below the clip many responsibilities are subnormal (< 2.2e-308) and carry fewer significant bits, in both steps
# alike (measured: 1e-8 relative); every other case agrees to rounding (measured ≤ 1.5e-15)
VAR_RTOL = {"a component below the 1e-300 clip": 1e-6}


@pytest.mark.parametrize("case", CASES)
def test_two_component_step_is_the_general_step(case):
    (x, wn), params = CASES[case]
    params = tuple(jnp.asarray(p) for p in params)
    (n2, m2, v2), ll2 = _one_step(two_component_step, x, wn, params)
    (n1, m1, v1), ll1 = _one_step(mixture_1d_step, x, wn, params)
    scale = float(jnp.max(jnp.abs(x)))
    # rounding: a few ulps of each sum (n ≤ 1), of the data scale for means, of the spread for variances
    np.testing.assert_allclose(np.asarray(n2), np.asarray(n1), rtol=64 * EPS, atol=1e-300)
    np.testing.assert_allclose(np.asarray(m2), np.asarray(m1), rtol=0, atol=64 * EPS * scale)
    np.testing.assert_allclose(np.asarray(v2), np.asarray(v1), rtol=VAR_RTOL.get(case, 64 * EPS))
    np.testing.assert_allclose(float(ll2), float(ll1), rtol=64 * EPS)


def test_shifted_variance_is_as_accurate_as_the_two_pass_form():
    """Data at 1e6 with unit spread: Σr·x² − n·m² would lose ~12 of 16 digits; the shifted sums lose none beyond
    the data's own rounding. Both steps are compared with the same step in extended precision (np.longdouble)."""
    (x, wn), params = CASES["far from the origin"]
    params = tuple(jnp.asarray(p) for p in params)
    (_, _, v2), _ = _one_step(two_component_step, x, wn, params)
    (_, _, v1), _ = _one_step(mixture_1d_step, x, wn, params)
    xl, wl = np.asarray(x, np.longdouble), np.asarray(wn, np.longdouble)
    pi, m, v = (np.asarray(p, np.longdouble) for p in params)
    logp = np.log(pi)[:, None] - 0.5 * (np.log(2 * np.pi * v)[:, None] + (xl[None] - m[:, None]) ** 2 / v[:, None])
    r = np.exp(logp - logp.max(0)) * wl / np.exp(logp - logp.max(0)).sum(0)
    nk = r.sum(1)
    mean = (r * xl).sum(1) / nk
    ref = (r * (xl[None] - mean[:, None]) ** 2).sum(1) / nk + FLOOR
    err2 = np.max(np.abs(np.asarray(v2, np.longdouble) - ref) / ref)
    err1 = np.max(np.abs(np.asarray(v1, np.longdouble) - ref) / ref)
    assert err2 <= 4 * err1 + 64 * EPS, (err2, err1)


@pytest.mark.parametrize("tol", [0.0, 1e-10])
def test_em_with_two_components_gives_the_general_iterates(tol):
    """em() for K = 2 runs two_component_step; iterating mixture_1d_step from the same start gives the same fit
    and, with a tolerance, the same number of steps."""
    x, wn = _data(seed=3)
    init = jnp.array([[-0.5], [0.5]])
    pi, means, covs, steps = em(x[:, None], wn, init, 60, tol, FLOOR)
    center = wn @ x
    start = (jnp.full(2, 0.5), init[:, 0], jnp.full(2, wn @ (x - center) ** 2 + FLOOR))
    (pi1, m1, v1), steps1 = iterate(functools.partial(mixture_1d_step, x, wn, FLOOR, tol > 0), start, 60, tol, False)
    assert int(steps) == int(steps1)
    np.testing.assert_allclose(np.asarray(pi), np.asarray(pi1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(means[:, 0]), np.asarray(m1), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(covs[:, 0, 0]), np.asarray(v1), rtol=1e-12)


def test_vectorised_log1p_is_accurate_on_the_unit_interval():
    """_log1p_unit (tolerance mode's log(1 + e), e = exp(−|d|) ∈ [0, 1]) against NumPy's log1p: ≤ 4 eps relative
    (the series truncation is below 3e-17; the rest is the rounding of a division and ten multiply-adds)."""
    from collapse.families.gmm import _log1p_unit

    e = np.concatenate([np.linspace(0.0, 1.0, 200_001), np.exp(-np.random.default_rng(0).exponential(20.0, 100_000)),
                        [np.sqrt(2) - 1, np.nextafter(np.sqrt(2) - 1, 1.0), 1e-300]])
    got, want = np.asarray(jax.jit(_log1p_unit)(jnp.asarray(e))), np.log1p(e)
    assert got[0] == 0.0
    assert np.max(np.abs(got[1:] - want[1:]) / want[1:]) <= 4 * EPS
