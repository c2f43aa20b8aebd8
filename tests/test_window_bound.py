"""theory/window_bound.py: the exact one-step map of the regression window verifier (fresh design) against a
direct Monte Carlo of one generation, its pieces against closed forms, and (slow) the upper bound and the
exact-map mean field against the engine at offsets where the linearization fails (docs/feedback.md §4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom

from collapse import LoopConfig
from collapse.engine import run_loop
from collapse.families.linear import LinearRegression
from collapse.selectors import SelectorConfig
from theory.curves import TheoryUnavailable
from theory.feedback import window_curves
from theory.window import contraction, keep_probability, population_map
from theory.window_bound import (
    slope_at_zero,
    slope_factor,
    step_moment,
    truncated_moments,
    upper_hull,
    window_bound_curves,
    window_error_bound,
    window_error_meanfield,
)


def test_truncated_variance_is_largest_at_the_centre():
    """Lemma 1 (docs/feedback.md §4a, after Ellis, Monroe & Newman 1976's GHS inequality): the variance of N(a, 1)
    truncated to [−h, h] is ≤ its value V_h at a = 0, so the truncated mean satisfies |m(a)| ≤ V_h|a|."""
    a = np.linspace(0, 12, 2401)[:, None]
    h = np.geomspace(0.05, 6, 60)[None, :]
    mean, var = truncated_moments(a, h)
    V = contraction(h)
    assert np.all(var <= V * (1 + 1e-9))
    assert np.all(np.abs(mean) <= V * a + 1e-12)
    assert np.allclose(mean, population_map(a, 0.0, h) * np.ones_like(mean))  # the same map as §3


def test_step_moment_at_zero_is_the_inverse_wishart_average():
    """s = 0: z and u are independent, u has variance σ₀²V, so g(0) = σ₀²V·E[d/(k − d − 1); k ≥ d + 2] exactly."""
    for d, M, sigma0, h in ((3, 30, 1.0, 1.0), (5, 200, 0.7, 0.5), (1, 12, 2.0, 3.0)):
        V, p = contraction(h / sigma0), keep_probability(h / sigma0)
        k = np.arange(d + 2, M + 1)
        exact = sigma0**2 * V * np.sum(binom.pmf(k, M, p) * d / (k - d - 1))
        assert step_moment(0.0, d=d, M=M, sigma0=sigma0, h=h) == pytest.approx(exact, rel=1e-6)
        assert slope_factor(1e-8, d=d, M=M, sigma0=sigma0, h=h) == pytest.approx(
            slope_at_zero(d=d, M=M, sigma0=sigma0, h=h), rel=1e-4)


def _one_generation(s, d, M, sigma0, h, n, seed):
    """Direct Monte Carlo of one generation from ‖e‖ = s: ‖e'‖² and ⟨e', ê⟩ (0 when fewer than d + 2 rows kept)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, M, d))
    u = s * x[..., 0] + sigma0 * rng.normal(size=(n, M))
    kept = np.abs(u) <= h
    ok = kept.sum(1) >= d + 2
    gram = np.einsum("nmi,nmj->nij", x * kept[..., None], x)[ok]
    sol = np.linalg.solve(gram, np.einsum("nmi,nm->ni", x * kept[..., None], u)[ok][..., None])[..., 0]
    sq, along = np.zeros(n), np.zeros(n)
    sq[ok], along[ok] = np.sum(sol**2, 1), sol[:, 0]
    return sq, along


@pytest.mark.parametrize("s, d, M, sigma0, h", [(0.5, 3, 30, 1.0, 1.0), (3.0, 2, 25, 1.0, 1.5),
                                                (0.8, 1, 12, 0.5, 1.0), (1.2, 4, 40, 1.0, 0.7)])
def test_step_moment_and_slope_match_one_simulated_generation(s, d, M, sigma0, h):
    sq, along = _one_generation(s, d, M, sigma0, h, 60000, seed=11)
    kw = dict(d=d, M=M, sigma0=sigma0, h=h)
    for sample, theory in ((sq, step_moment(s * s, **kw)), (along, s * slope_factor(s * s, **kw))):
        assert abs(sample.mean() - theory) < 4 * sample.std(ddof=1) / np.sqrt(sample.size)


@settings(max_examples=30)
@given(st.lists(st.floats(-5, 5), min_size=2, max_size=40))
def test_upper_hull_is_a_concave_majorant(values):
    xs = np.sort(np.random.default_rng(len(values)).uniform(0, 10, len(values)))
    xs = xs + np.arange(len(values)) * 1e-3  # strictly increasing
    hull = upper_hull(xs, np.array(values))
    on_grid = np.interp(xs, hull[:, 0], hull[:, 1])
    assert np.all(on_grid >= np.array(values) - 1e-9)
    slopes = np.diff(hull[:, 1]) / np.diff(hull[:, 0])
    assert np.all(np.diff(slopes) <= 1e-9)


_SIM = dict(generations=6, replicates=2000)


def _drawn_settings(n, seed=19):
    """n settings (d, T, σ₀, h, offset, seed) drawn once from a fixed RNG, with p_h·T ≥ 4(d + 2) kept rows."""
    rng, out = np.random.default_rng(seed), []
    while len(out) < n:
        d, sigma0, h = int(rng.integers(1, 9)), float(rng.uniform(0.5, 1.5)), float(rng.uniform(0.3, 2.5))
        T = int(rng.integers(20, 201))
        if keep_probability(h / sigma0) * T >= 4 * (d + 2):
            out.append((d, T, round(sigma0, 3), round(h, 3), round(float(rng.uniform(0, 2.5)), 3), len(out)))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("d, T, sigma0, h, offset, seed", [
    (5, 200, 1.0, 1.0, 0.0, 2), (5, 200, 1.0, 1.0, 0.6, 2), (5, 200, 1.0, 1.0, 1.5, 2), *_drawn_settings(4)])
def test_fresh_design_stays_below_the_bound_and_on_the_exact_map(d, T, sigma0, h, offset, seed):
    """Fresh design: simulated E_test ≤ bound + 4 SE at every generation, and within 4 SE of the exact-map mean
    field (measured at d = 5, T = 200, h = 1: bound within 7 % of the simulation, 0.3 % at stationarity)."""
    fam = LinearRegression(d=d, T=T, sigma=1.0, sigma0=sigma0, design="fresh")
    cfg, sel = LoopConfig(seed=seed, **_SIM), SelectorConfig("window", h=h, offset=offset)
    e = run_loop(fam, cfg, selector=sel)["E_test"]
    mean, se = e.mean(1), e.std(1, ddof=1) / np.sqrt(e.shape[1])
    kw = dict(d=d, T=T, M=T, sigma=1.0, sigma0=sigma0, h=h, offset=offset)
    bound, _ = window_error_bound(cfg.generations, **kw)
    assert np.all(mean <= bound + 4 * se)
    assert np.all(np.abs(mean - window_error_meanfield(cfg.generations, **kw)) < 4 * se)
    names = [c.name for c in window_curves(fam, cfg, sel)]
    assert names == ["window exact-map mean field", "window bound (fresh design)"]


@pytest.mark.slow
@pytest.mark.parametrize("offset", [0.6, 1.5])
def test_fixed_design_follows_the_exact_map_where_the_linearization_fails(offset):
    """The published fixed design (d = 5, T = M = 200, h = 1): the fresh-design mean field is within 4 SE
    (measured ≤ 2.5 SE) at offsets where the linearized formula is 5.6 SE (0.6) and 23 SE (1.5) off."""
    fam = LinearRegression(d=5, T=200, sigma=1.0)
    cfg, sel = LoopConfig(seed=2, **_SIM), SelectorConfig("window", h=1.0, offset=offset)
    e = run_loop(fam, cfg, selector=sel)["E_test"]
    curves = window_curves(fam, cfg, sel)
    assert [c.name for c in curves] == ["window exact-map mean field", "linearized window theory"]
    assert np.all(np.abs(e.mean(1) - curves[0].values) < 4 * e.std(1, ddof=1) / np.sqrt(e.shape[1]))


def test_the_linear_study_gets_the_bound_only_where_it_is_proven():
    """Fresh design: mean field + upper bound (generation 1 exact); fixed design: mean field + linearized, and the
    bound refuses (TheoryUnavailable); a learned verifier keeps the linearized formula alone."""
    cfg, sel = LoopConfig(generations=3, replicates=2), SelectorConfig("window", h=1.0, offset=0.5)
    fresh = window_curves(LinearRegression(d=2, T=30, sigma=1.0, design="fresh"), cfg, sel)
    assert [(c.name, c.kind) for c in fresh] == [("window exact-map mean field", "equality"),
                                                 ("window bound (fresh design)", "upper-bound")]
    assert fresh[1].values[0] == pytest.approx(2 / 27) and np.all(fresh[1].values >= fresh[0].values)
    fixed = LinearRegression(d=2, T=30, sigma=1.0)
    assert [c.name for c in window_curves(fixed, cfg, sel)] == ["window exact-map mean field",
                                                                "linearized window theory"]
    with pytest.raises(TheoryUnavailable):
        window_bound_curves(fixed, cfg, sel)
    learned = window_curves(LinearRegression(d=2, T=30, sigma=1.0, verifier_n=20), cfg, sel)
    assert [c.name for c in learned] == ["linearized window theory"]
