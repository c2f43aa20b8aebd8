"""theory/kde.py against the KDE family: every closed form within 4 SE (fixed seeds), plus the pure-math facts
(the ×1.168 Silverman factor at n = 100, the M·h² limit) and the KDE = early-stopped ideal diffusion check."""

import math

import numpy as np
import pytest
from scipy import stats

from collapse import LoopConfig, run_loop
from collapse.families.kde import KDE
from theory import check
from theory import kde as tk

R = 2000
LEAN = {"holdout": 0, "score_l2": False, "sw_samples": 2, "projections": 1}  # only ``trace`` is checked


def _check(fam, cfg):
    metrics = run_loop(fam, cfg)
    curves = tk.kde_theory(fam, cfg)
    for curve in curves:
        result = check(metrics[curve.metric], curve)
        assert result.agree, result.summary()
    return metrics


@pytest.mark.parametrize("fam", [KDE(T=20, bandwidth="fixed", h=0.3, **LEAN), KDE(T=20, M=30, **LEAN)])
def test_replace_trace_matches_simulation(fam):
    """Fixed h: E tr Cov(p̂_n) = (M−1)/M·t_{n−1} + h²; Silverman: geometric growth by (M−1)/M + f_M²."""
    _check(fam, LoopConfig(mode="replace", generations=8, replicates=R, seed=1))


@pytest.mark.slow
@pytest.mark.parametrize("fam", [KDE(d=2, T=12, bandwidth="fixed", h=0.5, truth="gmm", **LEAN),
                                 KDE(d=2, T=15, bandwidth="scott", truth="moons", **LEAN),
                                 KDE(T=100, **LEAN)])
def test_replace_trace_other_truths(fam):
    _check(fam, LoopConfig(mode="replace", generations=10, replicates=R, seed=2))


@pytest.mark.parametrize("fam", [KDE(T=10, M=5, bandwidth="fixed", h=0.5, **LEAN),
                                 pytest.param(KDE(T=10, bandwidth="scott", **LEAN), marks=pytest.mark.slow)])
def test_accumulate_trace_matches_simulation(fam):
    _check(fam, LoopConfig(mode="accumulate", generations=6, replicates=R, seed=3))


def test_silverman_growth_at_n_100_is_1_168():
    """(n−1)/n + (3n/4)^(−2/5) at n = 100: the ≈ ×1.168 per generation of the data-driven bandwidth."""
    g = tk.growth_factor("silverman", 100)
    assert math.isclose(g, 0.99 + (75.0) ** (-0.4), rel_tol=1e-12) and round(g, 3) == 1.168
    assert round(tk.growth_factor("scott", 100), 4) == 1.1485
    assert all(tk.growth_factor("silverman", n) > 1 for n in (5, 100, 10**6))  # blow-up at every n


def test_fixed_bandwidth_tends_to_m_h2():
    t = tk.fixed_replace_trace(50, 40, 0.2, 1, 1.0, 3000)
    assert math.isclose(t[-1], 40 * 0.2**2, rel_tol=1e-9) and np.all(np.diff(t[:300]) > 0)


def test_accumulate_recursion_pool_identity_by_monte_carlo():
    """One accumulate step by direct NumPy Monte Carlo (no engine): E s' for a pool of P points plus M draws of
    the pool's KDE (fixed h)."""
    rng = np.random.default_rng(0)
    P, M, h, reps = 7, 4, 0.6, 200_000
    pool = rng.standard_normal(P)
    s = pool.var()
    draws = pool[rng.integers(P, size=(reps, M))] + h * rng.standard_normal((reps, M))
    new = np.concatenate([np.broadcast_to(pool, (reps, P)), draws], axis=1).var(axis=1)
    expect = (P * s + (M - 1 + P / (P + M)) * (s + h**2)) / (P + M)
    assert abs(new.mean() - expect) < 4 * new.std() / math.sqrt(reps)


def test_kde_is_an_early_stopped_ideal_diffusion():
    """Reverse VE-SDE with the exact score of 5 training points, stopped at σ = 0.3: its samples follow the
    KDE with h = 0.3 (CDF at 7 points and the variance, each within 4 SE; Euler error below that)."""
    rng = np.random.default_rng(5)
    centres = np.array([-2.0, -0.5, 0.0, 1.2, 3.0])
    h, n = 0.3, 20_000
    x = tk.ve_reverse_sde(rng, centres, h, 30.0, 400, n)[:, 0]
    for q in (-2.5, -1.5, -0.4, 0.3, 1.0, 2.0, 3.2):
        p = stats.norm.cdf(q, centres, h).mean()
        assert abs(np.mean(x <= q) - p) < 4 * math.sqrt(p * (1 - p) / n), q
    var = centres.var() + h**2
    assert abs(x.var() - var) < 4 * math.sqrt(np.var((x - x.mean()) ** 2) / n)
    # stopping later (smaller σ) is a narrower KDE: the bandwidth is the stopping noise level
    assert abs(tk.ve_reverse_sde(rng, centres, 0.05, 30.0, 400, n)[:, 0].var() - centres.var() - 0.05**2) < 0.05


def test_theory_refuses_what_it_does_not_cover():
    from theory.curves import TheoryUnavailable
    with pytest.raises(TheoryUnavailable, match="replace and accumulate"):
        tk.kde_theory(KDE(), LoopConfig(mode="mix"))
    with pytest.raises(ValueError, match="rule"):
        tk.growth_factor("fixed", 10)
