"""Closed forms of theory/gaussian.py against the simulation, and the pure-math laws they must obey.

Every statistical assertion uses the checker (|sim − theory| < 4 SE per generation; heavy-tailed means are
not claimed beyond Var log σ̂² ≤ 2, log σ̂² is checked everywhere); fixed seeds, few shapes.
"""

import math

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from collapse import LoopConfig, run_loop
from collapse.families.base import Segment
from collapse.families.gaussian import Gaussian, GaussianData
from theory import check
from theory import gaussian as tg

R = 4000
seeds = st.integers(0, 10_000)


def _check_all(fam, cfg):
    metrics = run_loop(fam, cfg)
    curves = tg.gaussian_theory(fam, cfg) + tg.gaussian_bounds(fam, cfg)
    assert curves
    for curve in curves:
        result = check(metrics[curve.metric], curve)
        assert result.agree, f"[{curve.metric}] {result.summary()}"
    return metrics


REPLACE = [Gaussian(d=1, T=10), Gaussian(d=1, T=10, estimator="mle"), Gaussian(d=2, T=12, M=8, rho=0.5,
           estimator="mle"), Gaussian(d=1, T=10, M_schedule=(5, 20))]


@settings(max_examples=6)
@given(fam=st.sampled_from(REPLACE), seed=seeds)
def test_replace_closed_forms_match_simulation(fam, seed):
    """Shumailov: E σ̂² (martingale / MLE decay), E σ̂ = σα_Mⁿ, E log σ̂², mean error and W₂²."""
    _check_all(fam, LoopConfig(mode="replace", generations=8, replicates=R, seed=seed))


ACCUMULATE = [Gaussian(d=1, T=10, estimator="mle"), Gaussian(d=2, T=8, M=6), Gaussian(d=1, T=10,
              M_schedule=(5, 20))]


@settings(max_examples=4)
@given(fam=st.sampled_from(ACCUMULATE), seed=seeds)
def test_accumulate_closed_forms_match_simulation(fam, seed):
    """Kazdan: E Σ̂_t = Σ Π(1 − N/P²) (MLE; Π(1 − 1/(nk²)) at equal sizes), mean error and its bound."""
    metrics = _check_all(fam, LoopConfig(mode="accumulate", generations=10, replicates=R, seed=seed))
    var = metrics["var" if fam.d == 1 else "trace"]
    assert np.all(var > 0) and np.all(metrics["w2"] >= 0)


MIX_FRESH = [(Gaussian(d=1, T=10), "mix", 1.5), (Gaussian(d=2, T=10, estimator="mle"), "mix", 0.5),
             (Gaussian(d=1, T=10, refit="mean"), "mix", 2.0), (Gaussian(d=1, T=10, M=15, refit="mean"), "fresh", 0.3)]


@settings(max_examples=4)
@given(case=st.sampled_from(MIX_FRESH), seed=seeds)
def test_mix_and_fresh_closed_forms_match_simulation(case, seed):
    fam, mode, knob = case
    knob = {"mix_ratio": knob} if mode == "mix" else {"real_weight": knob}
    _check_all(fam, LoopConfig(mode=mode, generations=8, replicates=R, seed=seed, **knob))


def test_accumulate_variance_never_collapses_and_replace_does():
    """Invariants over 60 generations (MLE, n = 10): accumulate keeps every replicate's σ̂² away from 0 and its
    median near the Kazdan limit; replace's median collapses by orders of magnitude."""
    fam = Gaussian(d=1, T=10, estimator="mle")
    acc = run_loop(fam, LoopConfig(mode="accumulate", generations=60, replicates=1000, seed=3))["var"]
    rep = run_loop(fam, LoopConfig(mode="replace", generations=60, replicates=1000, seed=3))
    assert acc.min() > 1e-3
    assert np.median(acc[-1]) > 0.5 * tg.kazdan_limit(10)
    assert np.median(rep["var"][-1]) < 1e-2 and np.all(rep["var"] > 0) and np.all(rep["w2"] >= 0)


# -- pure math ------------------------------------------------------------------------------------------
def test_alpha_is_the_mean_of_a_chi():
    rng = np.random.default_rng(0)
    for M in (2, 5, 30):
        chi = np.sqrt(rng.chisquare(M - 1, 400_000) / (M - 1))
        assert abs(chi.mean() - tg.alpha(M)) < 4 * chi.std() / math.sqrt(chi.size)
    assert tg.alpha(10**6) < 1 and abs(tg.alpha(10**6) - 1) < 1e-6


def test_shumailov_w2_is_the_general_form_at_equal_sizes():
    for M in (3, 10, 100):
        np.testing.assert_allclose(tg.shumailov_w2(M, 30, 1.7), tg.replace_w2(np.full(30, M), 1.7), rtol=1e-12)
        np.testing.assert_allclose(tg.replace_sd(np.full(5, M)), tg.alpha(M) ** np.arange(1, 6), rtol=1e-12)
        np.testing.assert_allclose(tg.replace_variance(np.full(5, M), "mle"), ((M - 1) / M) ** np.arange(1, 6))


def test_logdet_moments_by_monte_carlo():
    """Bartlett: log det of an unbiased Wishart covariance estimate, mean and variance, d = 3, N = 7."""
    rng = np.random.default_rng(1)
    d, N, reps = 3, 7, 100_000
    x = rng.standard_normal((reps, N, d))
    xc = x - x.mean(1, keepdims=True)
    logdet = np.linalg.slogdet(np.einsum("rni,rnj->rij", xc, xc) / (N - 1))[1]
    assert abs(logdet.mean() - tg.replace_logdet([N], d)[0]) < 4 * logdet.std() / math.sqrt(reps)
    assert abs(logdet.var() / tg.replace_logdet_variance([N], d)[0] - 1) < 0.03


@given(st.integers(2, 200))
def test_kazdan_product_is_accumulate_mle_and_tends_to_the_sine_limit(n):
    np.testing.assert_allclose(tg.accumulate_variance(np.full(50, n), "mle"), tg.kazdan_product(n, 50), rtol=1e-12)
    p = tg.kazdan_product(n, 20_000)
    assert np.all(np.diff(p) < 0) and p[-1] > tg.kazdan_limit(n)
    assert p[-1] - tg.kazdan_limit(n) < 1 / (n * 20_000)  # tail of Σ 1/(nk²)


@given(st.integers(2, 50), st.integers(1, 50))
def test_accumulate_mean_error_stays_under_its_bound(T, M):
    bound = tg.accumulate_mean_err_bound(T, M)
    for est in ("mle", "unbiased"):
        curve = tg.accumulate_mean_err(np.array([T] + [M] * 400), estimator=est)
        assert np.all(np.diff(curve) > 0) and curve[-1] < bound
    known = tg.accumulate_mean_err(np.array([T] + [M] * 20_000), refit="mean")[-1]
    assert bound - known < 2 / (M * (20_000 - 1))  # the bound is the known-variance limit
    if T == M:
        assert math.isclose(bound, math.pi**2 / (6 * T), rel_tol=1e-12)


def test_fresh_stationary_minimum_is_the_golden_ratio():
    res = optimize.minimize_scalar(lambda w: tg.fresh_stationary_mse(w, 20), bounds=(0.01, 1), method="bounded")
    assert abs(res.x - tg.fresh_optimal_weight()) < 1e-4
    for w in (0.2, 0.618, 1.0):
        assert math.isclose(tg.fresh_mean_err(20, 20, w, 400)[-1], tg.fresh_stationary_mse(w, 20), rel_tol=1e-9)


def test_mix_recursion_reduces_to_the_geometric_closed_form():
    """Known Σ: E‖μ̂_n − μ‖² = tr Σ/T + (tr Σ/m) Σ_{k=1}^{n−1} ρ^{2k}, ρ = λ/(1+λ); at λ = 1 the linear
    family's (1 − 4^{−(n−1)})/3."""
    T, m, G = 10, 15, 12
    rho = tg.mix_mean_contraction(m / T)
    _, E = tg.mix_moments(T, m, G, refit="mean")
    k = np.arange(G)
    np.testing.assert_allclose(E, 1 / T + rho**2 * (1 - rho ** (2 * k)) / (1 - rho**2) / m, rtol=1e-12)
    _, E1 = tg.mix_moments(10, 10, G, refit="mean")
    np.testing.assert_allclose(E1, (1 + (1 - 4.0 ** (-k)) / 3) / 10, rtol=1e-12)


def test_mix_fit_contracts_the_mean_by_lambda_over_one_plus_lambda():
    """The fitted mean is affine in the previous mean with slope exactly λ/(1+λ) (Bertrand, Gaussian case),
    while Bertrand's sufficient condition λ(1 + Lε/α) < 1 can fail at the same λ."""
    fam = Gaussian(d=1, T=10, refit="mean")
    world = fam.setup(jax.random.key(0), 20)
    rng = np.random.default_rng(0)
    real, noise = rng.standard_normal((10, 1)), rng.standard_normal((20, 1))
    block = lambda x: GaussianData(x, np.ones(len(x)), np.ones(len(x), np.int32))  # noqa: E731

    def fitted_mean(prev):
        segs = (Segment(block(real), np.ones(10), True, True), Segment(block(prev + noise), np.ones(20), False, True))
        return float(fam.fit(world, segs).mean[0])

    slope = fitted_mean(3.0) - fitted_mean(2.0)
    assert math.isclose(slope, tg.mix_mean_contraction(2.0), rel_tol=1e-9)
    assert not tg.bertrand_stable(2.0, 1.0, 0.1, 1.0) and tg.bertrand_stable(0.5, 1.0, 0.5, 1.0)


def test_theory_refuses_degenerate_inputs():
    with pytest.raises(ValueError, match="estimator"):
        tg.replace_variance([10], "biased")
    with pytest.raises(ValueError, match="sizes"):
        tg.replace_variance([0])
    from collapse.errors import ConfigError
    with pytest.raises(ConfigError, match="M"):
        tg.alpha(1)
    from theory.curves import TheoryUnavailable
    with pytest.raises(TheoryUnavailable, match="refit='mean'"):
        tg.gaussian_theory(Gaussian(), LoopConfig(mode="fresh"))


def test_digamma_identity_used_by_the_bound():
    """Σ_{j≥1} 1/(a + j)² = ψ'(1 + a) (what accumulate_mean_err_bound uses)."""
    a = 0.37
    partial = sum(1 / (a + j) ** 2 for j in range(1, 200_000)) + 1 / (a + 200_000)
    assert math.isclose(partial, special.polygamma(1, 1 + a), rel_tol=1e-9)


@pytest.mark.slow
@pytest.mark.parametrize("estimator", ["unbiased", "mle"])
def test_long_horizon_replace_log_variance(estimator):
    """200 generations, M = 10: log σ̂² follows its exact mean at every generation although σ̂² itself is far
    too heavy-tailed for a mean check (the theory withholds those claims); the median of σ̂² collapses."""
    fam = Gaussian(d=1, T=10, estimator=estimator)
    metrics = _check_all(fam, LoopConfig(mode="replace", generations=200, replicates=4000, seed=11))
    assert np.median(metrics["var"][-1]) < 1e-8 < np.median(metrics["var"][0])


def test_checker_skips_generations_without_a_claim():
    from theory.curves import TheoryCurve
    samples = np.random.default_rng(0).normal(1.0, 1.0, (3, 500))
    result = check(samples, TheoryCurve("t", np.array([1.0, np.nan, 50.0]), "test"))
    assert list(result.ok) == [True, True, False] and np.isnan(result.z[1])
    assert "at 1/2 generations, 1 not checked" in result.summary() and "generation 3" in result.summary()
    assert check(samples, TheoryCurve("t", np.full(3, np.nan), "test")).agree
