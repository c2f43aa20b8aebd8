"""Edit mode (Zhu et al. 2025, Eq. 3) and its theory: the exact recursion against Monte Carlo and
simulation, the moment formula, the audit verdict on Eq. 6, our disjoint-mask bound, iid growth."""

import math
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import LinearRegression, LoopConfig, run_loop
from collapse.errors import ConfigError
from theory import check
from theory.regression import linear_bounds, linear_theory, ols_noise_factor
from theory.toedit import (
    disjoint_growth_factors,
    exact_recursion,
    expected_edit_curve,
    iid_growth_rate,
    iid_recursion,
    inv_gram_sq_moment,
    theorem1_printed,
)

R = 3000


def test_inverse_gram_squared_moment_by_monte_carlo():
    rng = np.random.default_rng(0)
    for d, T in [(3, 10), (6, 20)]:
        X = rng.standard_normal((40000, T, d))
        inv = np.linalg.inv(np.einsum("ntd,nte->nde", X, X))
        v = np.einsum("nij,nji->n", inv, inv)
        assert abs(v.mean() - inv_gram_sq_moment(d, T)) < 4 * v.std() / math.sqrt(len(v))


def _mc_labels(X, masks, sigma, sigma0, draws, rng):
    """Direct Monte Carlo of Eq. 3 on one design: returns per-draw E_test per generation."""
    T, d = X.shape
    H = np.linalg.solve(X.T @ X, X.T)
    e = sigma * rng.standard_normal((draws, T))  # Ỹ₁ − Xw*
    out = [np.sum((e @ H.T) ** 2, axis=1)]
    for m in masks:
        synth = (e @ H.T) @ X.T + sigma0 * rng.standard_normal((draws, T))  # Ŷ − Xw* = P e + E
        e = np.where(m.astype(bool), synth, e)
        out.append(np.sum((e @ H.T) ** 2, axis=1))
    return np.stack(out, axis=1)


@pytest.mark.parametrize("kind", ["disjoint", "overlapping"])
def test_exact_recursion_equals_monte_carlo_on_one_design(kind):
    rng = np.random.default_rng(1)
    T, d, G = 16, 4, 6
    X = rng.standard_normal((T, d))
    if kind == "disjoint":
        order = rng.permutation(T)
        masks = np.zeros((G - 1, T))
        for k in range(G - 1):
            masks[k, order[3 * k: 3 * k + 3]] = 1
    else:
        masks = (rng.random((G - 1, T)) < 0.4).astype(float)
    exact = exact_recursion(X[None], masks[None], 1.0, 0.7)[0]
    mc = _mc_labels(X, masks, 1.0, 0.7, 200_000, rng)
    mean, se = mc.mean(0), mc.std(0) / math.sqrt(mc.shape[0])
    assert np.all(np.abs(mean - exact) < 4 * se), (mean, exact, se)


def test_iid_mask_average_equals_monte_carlo_over_masks():
    rng = np.random.default_rng(2)
    T, d, G, f = 14, 3, 8, 0.3
    X = rng.standard_normal((T, d))
    draws = 4000
    masks = (rng.random((draws, G - 1, T)) < f).astype(float)
    per_mask = exact_recursion(np.broadcast_to(X, (draws, T, d)), masks, 1.0, 1.0)
    averaged = iid_recursion(X[None], f, G, 1.0, 1.0)[0]
    se = per_mask.std(0) / math.sqrt(draws)
    assert np.all(np.abs(per_mask.mean(0) - averaged) < 4 * se + 1e-12)


def test_iid_growth_rate_is_the_limit_of_the_recursion():
    X = np.random.default_rng(3).standard_normal((2, 20, 4))
    curve = iid_recursion(X, 0.2, 150, 1.0, 0.8)
    np.testing.assert_allclose(curve[:, -1] - curve[:, -2], iid_growth_rate(X, 0.2, 0.8), rtol=1e-6)


def test_theorem1_is_exact_when_masks_are_all_or_nothing():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((500, 20, 5))
    masks = np.zeros((500, 3, 20))
    masks[:, 1] = 1.0  # M = (0, I, 0): generations 1..4
    exact = exact_recursion(X, masks, 1.0, 1.0)
    printed = theorem1_printed(5, 20, 1.0, [0, 0, 20, 0])
    se = exact.std(0) / math.sqrt(500)
    assert np.all(np.abs(exact.mean(0) - printed) < 4 * se)


def test_growth_factors_limits():
    assert disjoint_growth_factors([1.0], 1.0, 1.0)[-1] == pytest.approx(2.0)  # Eq. 6 at f = 1
    fine = disjoint_growth_factors(np.full(2000, 1 / 2000), 1.0, 1.0)[-1]
    assert fine == pytest.approx(2 * math.e - 1, rel=2e-3)  # the supremum over schedules
    steps = [disjoint_growth_factors(np.full(round(1 / f), f), 1.0, 1.0)[-1] for f in (1, 0.5, 0.2, 0.1, 0.05)]
    assert np.all(np.diff(steps) > 0)  # finer edits → more error


SCHEDULES = [("disjoint", 0.1, 1.0), ("disjoint", 0.25, 1.0), ("geometric", 0.3, 0.7), ("geometric", 0.5, 0.5),
             ("iid", 0.1, 1.0), ("iid", 0.3, 1.0)]


@settings(max_examples=6)
@given(shape=st.sampled_from([(5, 20), (10, 40)]), schedule=st.sampled_from(SCHEDULES),
       sigma=st.floats(0.3, 2.0), ratio=st.sampled_from([0.5, 1.0]), seed=st.integers(0, 10_000))
def test_exact_recursion_equals_simulation(shape, schedule, sigma, ratio, seed):
    d, T = shape
    name, f, eta = schedule
    fam = LinearRegression(d=d, T=T, sigma=sigma, sigma0=ratio * sigma)
    cfg = LoopConfig(mode="edit", edit_schedule=name, edit_fraction=f, edit_eta=eta, generations=8, replicates=R,
                     seed=seed)
    result = check(run_loop(fam, cfg)["E_test"], linear_theory(fam, cfg)[0])
    assert result.agree, result.summary()


@settings(max_examples=5)
@given(shape=st.sampled_from([(3, 12), (5, 20), (10, 40), (20, 60)]),
       schedule=st.sampled_from([s for s in SCHEDULES if s[0] != "iid"] + [("disjoint", 0.05, 1.0)]),
       ratio=st.sampled_from([0.5, 1.0, 1.5]), seed=st.integers(0, 10_000))
def test_our_disjoint_bound_holds(shape, schedule, ratio, seed):
    """The conjectured finite-T bound c·Φ_n: never exceeded by the exact recursion (beyond its SE) nor by
    the simulation (beyond 4 SE), over drawn (d, T, σ₀/σ, schedule)."""
    d, T = shape
    name, f, eta = schedule
    G = 2 + math.ceil(1 / f) if name == "disjoint" else 10
    fam = LinearRegression(d=d, T=T, sigma=1.0, sigma0=ratio)
    cfg = LoopConfig(mode="edit", edit_schedule=name, edit_fraction=f, edit_eta=eta, generations=G, replicates=R,
                     seed=seed)
    ours = next(b for b in linear_bounds(fam, cfg) if "ours" in b.name)
    mean, se = expected_edit_curve(d, T, 1.0, ratio, name, f, eta, G, n_designs=300, seed=seed)
    assert np.all(mean - ours.values < 4 * se), (mean, ours.values)
    result = check(run_loop(fam, cfg)["E_test"], ours)
    assert result.agree, result.summary()


def test_audit_verdict_eq6_fails_for_partial_disjoint_masks():
    """Pins the audit's finding: with 10% disjoint masks (d=10, T=40, σ=1), E_test ends near 3.1·c, so Eq. 6
    (2·c) is violated by about one c — by > 10 SE. If the simulation changed, this would fail."""
    fam = LinearRegression(d=10, T=40, sigma=1.0)
    cfg = LoopConfig(mode="edit", edit_schedule="disjoint", edit_fraction=0.1, generations=12, replicates=R, seed=0)
    e = run_loop(fam, cfg)["E_test"]
    eq6 = next(b for b in linear_bounds(fam, cfg) if b.name.startswith("Eq. 6"))
    result = check(e, eq6)
    c = ols_noise_factor(10, 40)
    assert not result.agree and result.z.max() > 10
    assert 0.9 < (result.mean[-1] - eq6.values[-1]) / c < 1.3


def test_iid_masks_grow_without_bound_at_the_derived_rate():
    fam = LinearRegression(d=5, T=20, sigma=1.0)
    f, G = 0.3, 25
    e = run_loop(fam, LoopConfig(mode="edit", edit_schedule="iid", edit_fraction=f, generations=G, replicates=R,
                                 seed=9))["E_test"]
    slope = (e[-1] - e[-11]) / 10  # late generations: the transient has decayed like (1 − f)^(2n)
    X = np.random.default_rng(5).standard_normal((2000, 20, 5))
    rate = iid_growth_rate(X, f, 1.0)
    z = (slope.mean() - rate.mean()) / math.hypot(slope.std() / math.sqrt(R), rate.std() / math.sqrt(len(rate)))
    assert abs(z) < 4 and slope.mean() > 10 * slope.std() / math.sqrt(R)


def test_confidence_selection_edits_the_best_fitted_labels():
    fam = LinearRegression(d=3, T=20, sigma=1.0)
    m = run_loop(fam, LoopConfig(mode="edit", edit_schedule="confidence", edit_fraction=0.25, generations=4,
                                 replicates=8))
    np.testing.assert_allclose(m["edit_fraction"][1:], 0.25)


def test_explicit_masks_are_applied_as_given():
    masks = ((1,) * 5 + (0,) * 5, (0,) * 5 + (1,) * 5)
    m = run_loop(LinearRegression(d=2, T=10), LoopConfig(mode="edit", edit_schedule="explicit", edit_masks=masks,
                                                         generations=3, replicates=4))
    np.testing.assert_allclose(m["edit_fraction"][:, 0], [0, 0.5, 0.5])
    np.testing.assert_allclose(m["edited_ever"][:, 0], [0, 0.5, 1.0])


@pytest.mark.parametrize("kw,message", [
    ({"edit_fraction": 1.5}, "edit_fraction must be in [0, 1]; got edit_fraction=1.5"),
    ({"edit_eta": 0.0}, "edit_eta must be in (0, 1]"),
    ({"edit_schedule": "explicit", "edit_masks": ((0, 2),), "generations": 2}, "edit_masks must be zeros and ones"),
    ({"edit_schedule": "explicit", "edit_masks": ((0, 1),), "generations": 3}, "edit_masks must be generations − 1"),
    ({"edit_schedule": "explicit"}, "edit_masks must be given exactly when"),
])
def test_bad_edit_settings_are_refused(kw, message):
    with pytest.raises(ConfigError) as err:
        LoopConfig(mode="edit", **kw)
    assert message in str(err.value)


def test_mask_rows_must_have_length_T():
    cfg = LoopConfig(mode="edit", edit_schedule="explicit", edit_masks=((0, 1, 1),), generations=2)
    with pytest.raises(ConfigError, match="rows of length T = 4"):
        run_loop(LinearRegression(d=2, T=4), cfg)


def test_cli_rejects_a_badly_shaped_mask_file_in_one_line(tmp_path):
    bad = tmp_path / "masks.json"
    bad.write_text("[[0, 1, 0.5]]")
    proc = subprocess.run([sys.executable, "-m", "experiments.gen_loop", "--mode", "edit", "--edit-schedule",
                           "explicit", "--edit-masks", str(bad), "--generations", "2", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "edit_masks must be zeros and ones" in proc.stderr and not (tmp_path / "r").exists()


# -- issue 15: masks chosen from the design ----------------------------------------------------------------
from theory.toedit import (  # noqa: E402
    design_masks,
    disjoint_edit_bound,
    draw_designs,
    leverage_weighted_bound,
    sample_masks,
)


@pytest.mark.parametrize("schedule", ["leverage", pytest.param("adversarial", marks=pytest.mark.slow)])
def test_design_schedules_match_the_exact_recursion(schedule):
    """The engine's leverage / adversarial masks (collapse.policies) are the ones theory.toedit.design_masks
    builds: the simulated E_test equals the exact recursion averaged over designs, within 4 SE."""
    fam = LinearRegression(d=5, T=40, sigma=1.0)
    cfg = LoopConfig(mode="edit", edit_schedule=schedule, edit_fraction=0.1, generations=8, replicates=1000, seed=2)
    m = run_loop(fam, cfg)
    result = check(m["E_test"], linear_theory(fam, cfg)[0])
    assert result.agree, result.summary()
    np.testing.assert_allclose(m["edit_fraction"][1:], 0.1)
    np.testing.assert_allclose(m["edited_ever"][-1], 0.7)  # disjoint: 7 blocks of 4 rows


def test_leverage_schedule_breaks_the_random_mask_bound():
    """Issue 15: disjoint masks independent of the noise but chosen from the design (highest leverage first)
    exceed c·Φ_n — the bound disjoint_edit_bound was labelled with for all disjoint masks. Exact recursion over
    400 designs at d = 5, T = 40, f = 0.1: the excess at its worst generation is > 10 SE (≈ 0.35·c); random masks
    on the same designs stay below it."""
    d, T, f, G = 5, 40, 0.1, 12
    bound = disjoint_edit_bound(d, T, 1.0, 1.0, "disjoint", f, 1.0, G)
    X = draw_designs(np.random.default_rng(7), d, T, np.ones(d), 400)
    lev = exact_recursion(X, design_masks(X, "leverage", f, G), 1.0, 1.0)
    rnd = exact_recursion(X, sample_masks(np.random.default_rng(8), "disjoint", T, f, 1.0, G, 400), 1.0, 1.0)
    z_lev = (lev.mean(0) - bound) / (lev.std(0, ddof=1) / math.sqrt(400))
    z_rnd = (rnd.mean(0) - bound) / (rnd.std(0, ddof=1) / math.sqrt(400))
    assert z_lev.max() > 10, z_lev
    assert z_rnd.max() < 4, z_rnd


def _weighted_excess(schedule, d, T, f, n, seed):
    G = 2 + math.ceil(1 / f)
    rng = np.random.default_rng(seed)
    X = draw_designs(rng, d, T, np.ones(d), n)
    M = (sample_masks(rng, "disjoint", T, f, 1.0, G, n) if schedule == "random"
         else design_masks(X, schedule, f, G))
    diff = exact_recursion(X, M, 1.0, 1.0) - leverage_weighted_bound(X, M, 1.0, 1.0)
    return diff.mean(0) / (diff.std(0, ddof=1) / math.sqrt(n))


@pytest.mark.parametrize("schedule", ["random", "leverage"])
def test_leverage_weighted_bound_holds_for_random_and_leverage_masks(schedule):
    """c·Φ_n with leverage-weighted fractions φ_k = Σ_{i∈M_k} hᵢ/d: mean error not above it (4 SE, 300 designs)."""
    for d, T, f in [(5, 40, 0.1), (10, 40, 0.25)]:
        z = _weighted_excess(schedule, d, T, f, 300, seed=11)
        assert z.max() < 4, (d, T, f, z)


@pytest.mark.slow
def test_adversarial_masks_break_the_leverage_weighted_bound():
    """The weakest-direction-first schedule (noise-independent, disjoint) exceeds even the leverage-weighted
    bound: the worst case over such masks is directional, not a function of the leverages alone."""
    z = _weighted_excess("adversarial", 3, 60, 0.05, 800, seed=12)
    assert z.max() > 4, z
