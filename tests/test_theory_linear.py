"""Closed forms of theory/regression.py against the simulation (and pure-math laws they must obey).

Every statistical assertion uses the checker: |sim − theory| < 4 SE per generation, fixed seeds.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from collapse import LinearRegression, LoopConfig, run_loop
from collapse.errors import ConfigError
from theory import check
from theory.regression import (
    accumulate_bound,
    accumulate_error,
    dohmatob_fresh_design,
    fresh_error,
    fresh_optimal_weight,
    fresh_stationary,
    linear_bounds,
    linear_theory,
    ols_noise_factor,
    replace_error,
    strong_collapse_limit,
)

R = 3000
SHAPES = [(3, 12), (5, 20), (10, 40)]  # (d, T): a few shapes, so hypothesis does not recompile per example
sigmas = st.floats(0.25, 2.0)


def simulate(family, cfg):
    return run_loop(family, cfg)["E_test"]


@settings(max_examples=10)
@given(shape=st.sampled_from(SHAPES), sigma=sigmas, ratio=st.sampled_from([0.5, 1.0, 1.5]),
       mode=st.sampled_from(["replace", "accumulate", "fresh", "mix"]), G=st.integers(2, 6),
       covariance=st.sampled_from(["isotropic", "power-law"]), w=st.sampled_from([0.2, 0.5, 0.8]),
       seed=st.integers(0, 10_000))
def test_simulation_matches_closed_form(shape, sigma, ratio, mode, G, covariance, w, seed):
    d, T = shape
    fam = LinearRegression(d=d, T=T, sigma=sigma, sigma0=sigma * ratio, covariance=covariance)
    cfg = LoopConfig(mode=mode, generations=G, replicates=R, seed=seed, real_weight=w)
    result = check(simulate(fam, cfg), linear_theory(fam, cfg))
    assert result.agree, result.summary()


@settings(max_examples=4)
@given(shape=st.sampled_from(SHAPES), M=st.sampled_from([None, 30, 60]), design=st.sampled_from(["fixed", "fresh"]),
       sigma=sigmas, seed=st.integers(0, 10_000))
def test_replace_grows_linearly(shape, M, design, sigma, seed):
    """Each generation adds the same σ₀²d/(M−d−1): checked on paired per-replicate increments."""
    d, T = shape
    fam = LinearRegression(d=d, T=T, M=M, sigma=sigma, design=design)
    e = simulate(fam, LoopConfig(mode="replace", generations=5, replicates=R, seed=seed))
    increments = np.diff(e, axis=0)
    step = sigma**2 * ols_noise_factor(d, fam.synth_size)
    mean, se = increments.mean(1), increments.std(1, ddof=1) / math.sqrt(R)
    assert np.all(np.abs(mean - step) < 4 * se), (mean, step, se)


@settings(max_examples=3)
@given(shape=st.sampled_from(SHAPES), sigma=sigmas, seed=st.integers(0, 10_000))
def test_accumulate_never_exceeds_the_pi_squared_over_six_bound(shape, sigma, seed):
    d, T = shape
    fam = LinearRegression(d=d, T=T, sigma=sigma)
    cfg = LoopConfig(mode="accumulate", generations=12, replicates=R, seed=seed)
    (bound,) = linear_bounds(fam, cfg)
    result = check(simulate(fam, cfg), bound)
    assert result.agree, result.summary()


@given(st.integers(1, 50), st.integers(3, 400), st.integers(1, 2000))
def test_accumulate_closed_form_increases_to_its_bound(d, extra, G):
    T = d + 1 + extra
    curve = accumulate_error(d, T, 1.0, G)
    assert np.all(np.diff(curve) > 0) and curve[-1] < accumulate_bound(d, T, 1.0)
    assert curve[-1] > accumulate_bound(d, T, 1.0) - ols_noise_factor(d, T) / G  # tail Σ_{i>G} 1/i² < 1/G


def test_inverse_wishart_moment_by_monte_carlo():
    """E tr(Σ(XᵀX)⁻¹) = d/(T−d−1) for rows N(0, Σ), isotropic and power-law Σ."""
    rng = np.random.default_rng(0)
    d, T, n = 6, 15, 20000
    for lam in (np.ones(d), np.arange(1, d + 1) ** -1.5):
        X = rng.standard_normal((n, T, d)) * np.sqrt(lam)
        traces = np.einsum("i,nii->n", lam, np.linalg.inv(np.einsum("ntd,nte->nde", X, X)))
        assert abs(traces.mean() - ols_noise_factor(d, T)) < 4 * traces.std() / math.sqrt(n)


def test_fixed_and_fresh_design_differ_where_theory_says_so():
    """Noiseless, T < d: a fixed design projects once (E_test frozen at ‖w*‖²(1 − T/d) per replicate);
    a fresh design projects anew each generation and follows ‖w*‖²(1 − (T/d)ⁿ)."""
    d, T, G = 20, 8, 6
    fresh = LinearRegression(d=d, T=T, sigma=0.0, design="fresh")
    cfg = LoopConfig(mode="replace", generations=G, replicates=R, seed=5)
    result = check(simulate(fresh, cfg), linear_theory(fresh, cfg))
    assert result.agree, result.summary()
    fixed = simulate(LinearRegression(d=d, T=T, sigma=0.0, design="fixed"), cfg)
    np.testing.assert_allclose(fixed, np.broadcast_to(fixed[:1], fixed.shape), rtol=1e-8, atol=1e-12)
    first = check(fixed[:1], linear_theory(fresh, LoopConfig(generations=1)))
    assert first.agree, first.summary()


def test_fresh_weight_golden_ratio_is_the_minimiser():
    res = optimize.minimize_scalar(lambda w: fresh_stationary(10, 40, 1.0, w), bounds=(0.01, 1), method="bounded")
    assert abs(res.x - fresh_optimal_weight()) < 1e-4
    assert abs(fresh_error(10, 40, 1.0, 0.3, 200)[-1] - fresh_stationary(10, 40, 1.0, 0.3)) < 1e-12


def test_fresh_stationary_reduces_to_the_mean_estimation_formula():
    """At σ₀ = σ the fixed point is c·σ²(w² + (1−w)²)/(w(2−w)) (docs/papers/alemohammad2023.md with σ²/n → σ²c)."""
    c, w = ols_noise_factor(10, 40), 0.37
    assert math.isclose(fresh_stationary(10, 40, 2.0, w), 4.0 * c * (w**2 + (1 - w) ** 2) / (w * (2 - w)))


def test_replace_is_dohmatobs_formula_shifted_by_one_generation():
    for n in range(1, 6):
        assert math.isclose(replace_error(10, 40, 1.3, n, 0.7, 60)[-1],
                            dohmatob_fresh_design(10, 40, 60, 1.3, 0.7, n - 1))


def test_strong_collapse_converges_to_its_limit():
    """OLS on N samples, a fraction p labelled by w₂: the excess over p²‖w₂−w₁‖² (+ the noise term)
    is positive and shrinks as N grows (the limit is asymptotic; finite N adds O(d/N))."""
    rng = np.random.default_rng(2)
    d, p, reps = 5, 0.3, 4000
    w1, w2 = rng.standard_normal(d), rng.standard_normal(d)
    limit = strong_collapse_limit(p, w1, w2)

    def excess(N):
        X = rng.standard_normal((reps, N, d))
        n2 = int(p * N)
        y = np.concatenate([X[:, : N - n2] @ w1, X[:, N - n2:] @ w2], axis=1)
        w_hat = np.linalg.solve(np.einsum("rnd,rne->rde", X, X), np.einsum("rnd,rn->rd", X, y)[..., None])[..., 0]
        err = np.sum((w_hat - w1) ** 2, axis=1) - limit
        return err.mean(), err.std() / math.sqrt(reps)

    (e1, s1), (e2, s2) = excess(50), excess(400)
    assert e1 > 4 * s1  # a finite-N excess exists ...
    assert e2 + 4 * s2 < e1 / 2  # ... and shrinks (O(d/N): ≈ 8× from N = 50 to 400)
    assert abs(strong_collapse_limit(1.0, w1, w2) - np.sum((w2 - w1) ** 2)) < 1e-12


def test_theory_refuses_out_of_range_inputs():
    with pytest.raises(ConfigError, match="T must exceed d\\+1 for OLS theory; got T=10, d=10"):
        ols_noise_factor(10, 10)
    with pytest.raises(ConfigError, match="M must exceed d\\+1"):
        linear_theory(LinearRegression(d=10, T=40, M=11), LoopConfig())
    with pytest.raises(ValueError, match="real_weight"):
        fresh_error(10, 40, 1.0, 0.0, 3)


@pytest.mark.parametrize("covariance", ["isotropic", "power-law"])
def test_ridge_chain_matches_its_exact_theory(covariance):
    fam = LinearRegression(d=8, T=20, ridge=0.2, sigma=1.0, sigma0=0.8, covariance=covariance)
    cfg = LoopConfig(mode="replace", generations=6, replicates=R, seed=11)
    result = check(simulate(fam, cfg), linear_theory(fam, cfg))
    assert result.agree, result.summary()
