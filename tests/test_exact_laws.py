"""Sampling bias for Gaussian refits (temperature, central-fraction truncation), the fresh-data optimum w*(k),
the over-parameterised fresh-design min-norm recursion and the MLE second-moment invariant — each closed form
against simulation within 4 SE (fixed seeds)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize

from collapse import LoopConfig, run_loop
from collapse.errors import ConfigError
from collapse.families.gaussian import Gaussian
from theory import check
from theory import gaussian as tg
from theory import regression as tr

R = 4000


def _check_all(fam, cfg):
    metrics = run_loop(fam, cfg)
    curves = tg.gaussian_theory(fam, cfg)
    assert curves
    for curve in curves:
        result = check(metrics[curve.metric], curve)
        assert result.agree, f"[{curve.metric}] {result.summary()}"
    return metrics


BIASED = [Gaussian(d=1, T=10, estimator="mle", temperature=1.3),
          Gaussian(d=2, T=12, rho=0.4, truncation=0.8),
          pytest.param(Gaussian(d=1, T=10, M=20, estimator="mle", temperature=0.9, truncation=0.5),
                       marks=pytest.mark.slow)]


@pytest.mark.parametrize("fam", BIASED)
def test_sampling_bias_closed_forms_match_simulation(fam):
    """E σ̂_n² = σ²·Π(N−1)/D·(τκ_q)^(n−1) (exact), the mean error, and E log σ̂² + (n−1)log τ (temperature only)."""
    _check_all(fam, LoopConfig(mode="replace", generations=8, replicates=R, seed=4))


def test_truncation_sampler_keeps_the_central_fraction():
    """The family's sampler against the closed form: radius² ≤ F⁻¹_{χ²_d}(q) always, covariance κ_q·I."""
    import jax
    from scipy.stats import chi2
    for d, q in ((1, 0.5), (3, 0.9)):
        fam = Gaussian(d=d, T=10, truncation=q, temperature=2.0)
        z = np.asarray(fam._biased_normal(jax.random.key(d), 50_000))
        r2 = np.sum(z**2, 1) / 2.0
        assert r2.max() <= chi2.ppf(q, d) * (1 + 1e-12)
        kappa = tg.truncation_shrink(q, d)
        per = z**2 / 2.0
        assert np.all(np.abs(per.mean(0) - kappa) < 4 * per.std(0) / math.sqrt(len(z)))
    # 1-D closed form 1 − 2aφ(a)/q
    from scipy.stats import norm
    a = norm.ppf(0.75)
    assert math.isclose(tg.truncation_shrink(0.5), 1 - 2 * a * norm.pdf(a) / 0.5, rel_tol=1e-10)


def test_sampling_bias_bad_input():
    for kwargs in ({"temperature": 0.0}, {"temperature": float("inf")}, {"truncation": 0.0},
                   {"truncation": 1.5}, {"temperature": True}):
        with pytest.raises(ConfigError):
            Gaussian(**kwargs)


# -- fresh data at real/synthetic ratio k -----------------------------------------------------------------
@given(st.floats(0.01, 100))
def test_fresh_optimum_wk_minimises_and_its_minimum_is_wk(k):
    f = lambda w: tg.fresh_stationary_mse_k(w, k, 1)  # noqa: E731
    w_star = float(tg.fresh_optimal_weight_k(k))
    res = optimize.minimize_scalar(f, bounds=(1e-6, 1), method="bounded", options={"xatol": 1e-10})
    assert abs(res.x - w_star) < 1e-4 and math.isclose(f(w_star), w_star, rel_tol=1e-9)
    assert f(w_star) <= res.fun + 1e-12
    if k == 1:
        assert math.isclose(w_star, tg.fresh_optimal_weight(), rel_tol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("T, M", [(20, 5), (20, 40)])
def test_fresh_weight_sweep_at_ratio_k(T, M):
    """Gaussian family, refit='mean', fresh mode with k = T/M: the mean error averaged over generations 21–30
    matches the exact recursion at w*(k) and at w*(k) ± 0.2, and w*(k) beats both."""
    k = T / M
    w_star = float(tg.fresh_optimal_weight_k(k))
    fam = Gaussian(d=1, T=T, M=M, refit="mean")
    late = {}
    for w in (w_star - 0.2, w_star, min(w_star + 0.2, 1.0)):
        m = run_loop(fam, LoopConfig(mode="fresh", real_weight=w, generations=30, replicates=R, seed=7))
        per_rep = m["mean_err"][20:].mean(0)
        theory = tg.fresh_mean_err(T, M, w, 30)[20:].mean()
        mean, se = per_rep.mean(), per_rep.std(ddof=1) / math.sqrt(R)
        assert abs(mean - theory) < 4 * se, (w, mean, theory, se)
        late[w] = (mean, se)
    best = late[w_star]
    for w, (mean, se) in late.items():
        if w != w_star:
            assert mean - best[0] > 4 * math.hypot(se, best[1])
    assert abs(tg.fresh_mean_err(T, M, w_star, 400)[-1] - tg.fresh_stationary_mse_k(w_star, k, T)) < 1e-12


# -- over-parameterised fresh-design min-norm (direct NumPy Monte Carlo: the linear family has no mode where the
#    real and synthetic labels share one fresh design per round) -----------------------------------------------
def test_overparam_fresh_recursion_by_monte_carlo():
    rng = np.random.default_rng(0)
    d, n, sigma, w, G, reps = 30, 10, 0.5, 0.7, 6, 4000
    theta = rng.standard_normal(d)
    theta /= np.linalg.norm(theta)
    est = np.zeros((reps, d))
    err = np.empty((G, reps))
    for t in range(G):
        X = rng.standard_normal((reps, n, d))
        y = X @ theta + sigma * rng.standard_normal((reps, n))
        if t > 0:  # generation 1 fits the real labels alone
            y = w * y + (1 - w) * (np.einsum("rnd,rd->rn", X, est) + sigma * rng.standard_normal((reps, n)))
        est = np.einsum("rdn,rn->rd", np.linalg.pinv(X), y)
        err[t] = np.sum((est - theta) ** 2, 1)
    theory = tr.overparam_fresh_weighted(d, n, 1.0, sigma, w, G)
    se = err.std(1, ddof=1) / math.sqrt(reps)
    assert np.all(np.abs(err.mean(1) - theory) < 4 * se), (err.mean(1), theory)
    assert math.isclose(tr.overparam_fresh_weighted(d, n, 1.0, sigma, w, 500)[-1],
                        float(tr.overparam_fresh_limit(d, n, 1.0, sigma, w)), rel_tol=1e-12)


@given(st.integers(5, 200), st.floats(0.05, 0.9), st.floats(0.0, 3.0))
def test_overparam_optimal_real_weight_is_above_half(d, gamma, sigma):
    n = max(1, min(int(gamma * d), d - 3))
    res = optimize.minimize_scalar(lambda w: tr.overparam_fresh_limit(d, n, 1.0, sigma, w), bounds=(0, 1),
                                   method="bounded", options={"xatol": 1e-9})
    assert res.x > 0.5 - 1e-6
    assert tr.overparam_fresh_limit(d, n, 1.0, sigma, res.x) <= tr.overparam_fresh_limit(d, n, 1.0, sigma, 0.5)


# -- the MLE second-moment invariant, every policy ---------------------------------------------------------
POLICIES = [{"mode": "replace"}, {"mode": "accumulate"}, {"mode": "accumulate-subsample", "budget": 10},
            {"mode": "mix", "mix_ratio": 0.7}, {"mode": "fresh", "real_weight": 0.4},
            {"mode": "edit", "edit_schedule": "iid", "edit_fraction": 0.3}]


def _invariant(policy, d, seed):
    fam = Gaussian(d=d, T=8, estimator="mle", std=1.5, rho=0.3 if d == 2 else 0.0)
    m = run_loop(fam, LoopConfig(generations=5, replicates=3000, seed=seed, **policy))
    q = m["var" if d == 1 else "trace"] + m["mean_err"]
    mean, se = q.mean(1), q.std(1, ddof=1) / math.sqrt(q.shape[1])
    truth = float(np.trace(fam.truth()[1]))
    assert np.all(np.abs(mean - truth) < 4 * se), (policy, mean, truth)


@settings(max_examples=2)
@given(policy=st.sampled_from(POLICIES), d=st.sampled_from([1, 2]), seed=st.integers(0, 1000))
def test_mle_second_moment_invariant_property(policy, d, seed):
    """E[tr Σ̂_t + ‖μ̂_t − μ‖²] = tr Σ at every generation (MLE; data drawn from the truth or earlier models with
    value-independent weights): the MLE fit's tr Σ̂ + ‖μ̂ − μ‖² is the weighted mean of ‖xᵢ − μ‖² (docs/gaussian.md).
    Two drawn (policy, d, seed) cases by default; the slow test below runs every policy."""
    _invariant(policy, d, seed)


@pytest.mark.slow
@settings(max_examples=12)
@given(policy=st.sampled_from(POLICIES), d=st.sampled_from([1, 2]), seed=st.integers(0, 1000))
def test_mle_second_moment_invariant_under_every_policy(policy, d, seed):
    _invariant(policy, d, seed)


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES, ids=[p["mode"] for p in POLICIES])
def test_mle_second_moment_invariant_each_policy(policy):
    _invariant(policy, 2, 11)
