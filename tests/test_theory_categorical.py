"""Closed forms of theory/categorical.py against the categorical family, and its invariants.

Statistical assertions: |sim − theory| < 4 SE per generation (theory.check), fixed seeds, hypothesis-drawn
parameters from small sets (each distinct family compiles once). Heavier sweeps are marked slow.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import LoopConfig, run_loop
from collapse.engine import Loop
from collapse.families.categorical import Categorical
from theory import categorical as tc
from theory import check
from theory.curves import TheoryCurve, TheoryUnavailable

R = 4000
seeds = st.integers(0, 10_000)


def _check_all(fam, cfg, metrics=None):
    metrics = run_loop(fam, cfg) if metrics is None else metrics
    curves = tc.categorical_theory(fam, cfg)
    assert curves
    for curve in curves:
        result = check(metrics[curve.metric], curve)
        assert result.agree, f"[{curve.metric}] {result.summary()}"
    return metrics


CASES = [
    (Categorical(V=8, T=12, M=9), {"mode": "replace"}),
    (Categorical(V=6, T=10, truth="uniform", source_alpha=0.3), {"mode": "replace"}),
    (Categorical(V=10, T=10, truth="dirichlet", a=0.5), {"mode": "accumulate"}),
    (Categorical(V=10, T=8, M=5), {"mode": "accumulate"}),
    (Categorical(V=10, T=10, truth="uniform"), {"mode": "mix", "mix_ratio": 1.5}),
    (Categorical(V=10, T=10, M=7, source_alpha=0.2), {"mode": "fresh", "real_weight": 0.3}),
]


@settings(max_examples=3)
@given(case=st.sampled_from(CASES[:4]), seed=seeds)
def test_second_moments_and_missing_mass_match_simulation(case, seed):
    """Seddik's S_m (replace), B–C's contaminated recursion, accumulate's martingale law, and the exact
    Wright–Fisher missing mass / the frozen accumulate support, each within 4 SE."""
    fam, loop = case
    _check_all(fam, LoopConfig(generations=6, replicates=R, seed=seed, **loop))


@pytest.mark.slow
@settings(max_examples=6)
@given(case=st.sampled_from(CASES), seed=seeds)
def test_second_moments_every_mode_slow(case, seed):
    fam, loop = case
    _check_all(fam, LoopConfig(generations=8, replicates=R, seed=seed, **loop))


def test_mix_and_fresh_match_simulation():
    for fam, loop in CASES[4:]:
        _check_all(fam, LoopConfig(generations=6, replicates=R, seed=11, **loop))


def test_subsample_is_exactly_hypergeometric():
    """accumulate-subsample at generation 2 draws b of the N = T + M pooled samples without replacement:
    E‖p̂₂ − p‖² = e₂ + (1 − S₀ − e₂)(N − b)/(b(N − 1)) (finite-population correction; e₂ = accumulate's)."""
    fam, b = Categorical(V=6, T=10, M=8, truth="uniform"), 7
    metrics = run_loop(fam, LoopConfig(mode="accumulate-subsample", budget=b, generations=2, replicates=R, seed=5))
    S0, N = fam.expected_norm(), 18
    e2 = tc.accumulate_error(S0, 10, 8, 2)[1]
    expected = np.array([(1 - S0) / 10, e2 + (1 - S0 - e2) * (N - b) / (b * (N - 1))])
    result = check(metrics["l2_err"], TheoryCurve("subsample", expected, "derived (test)"))
    assert result.agree, result.summary()


def test_subsample_with_a_budget_covering_the_pool_is_accumulate():
    fam, G = Categorical(V=7, T=6, M=4), 4
    acc = run_loop(fam, LoopConfig(mode="accumulate", generations=G, replicates=50, seed=2))
    sub = run_loop(fam, LoopConfig(mode="accumulate-subsample", budget=6 + 3 * 4, generations=G, replicates=50,
                                   seed=2))
    np.testing.assert_allclose(sub["l2_err"], acc["l2_err"], rtol=1e-12, atol=1e-15)


def test_symbol_extinction_matches_wright_fisher_chain_and_respects_suresh_bound():
    """Per-symbol P(p̂_G(i) = 0) from the final models against the exact chain (4 SE); the frequency of
    extinction never significantly exceeds Suresh et al.'s exp(−λ/k) (λ = T p_i, k = G)."""
    fam, G = Categorical(V=12, T=15, M=15, beta=1.1), 6
    state = Loop(fam, LoopConfig(mode="replace", generations=G, replicates=R, seed=9)).run()
    extinct = (np.asarray(state.carry[0].p_hat) == 0).astype(float)  # [R, V]
    p = fam.truth_probs()
    exact = tc.wright_fisher_extinction(p, 15, 15, G)[-1]
    se = np.sqrt(exact * (1 - exact) / R) + 1e-12
    assert np.all(np.abs(extinct.mean(0) - exact) < 4 * se)
    bound = 1 - tc.suresh_survival_bound(15 * p, G)
    assert np.all(extinct.mean(0) - bound < 4 * se)
    approx = 1 - tc.survival_branching(p, 15, G, M=15)[-1]
    assert np.all(approx <= bound)  # the branching value sits inside Suresh's bound (g_n ≥ 1/n)


def test_branching_g_follows_its_recursion_and_two_over_n():
    g = tc.branching_g(400)
    np.testing.assert_allclose(g[1:], 1 - np.exp(-g[:-1]))
    n = np.arange(1, 401)
    assert np.all(g >= 1 / n) and abs(g[-1] * (n[-1] + 1) / 2 - 1) < 0.02
    # binomial offspring tends to Poisson offspring as M grows
    np.testing.assert_allclose(tc.branching_g(30, M=10**7), tc.branching_g(30), rtol=1e-5)


@settings(max_examples=25)
@given(S0=st.floats(0.01, 0.99), M=st.integers(1, 200), alpha=st.floats(0.01, 1.0))
def test_contaminated_recursion_converges_to_its_limit(S0, M, alpha):
    r = tc.replace_error(S0, M, M, 3000, alpha)
    assert r[-1] == pytest.approx(tc.contaminated_limit(S0, M, alpha), rel=1e-6)


def test_seddik_closed_form_for_equal_sizes():
    S0, n, G = 0.2, 13, 9
    m = np.arange(1, G + 1)
    np.testing.assert_allclose(tc.replace_norm(S0, n, n, G), 1 - (1 - 1 / n) ** m * (1 - S0))


def test_theory_refuses_knobs():
    with pytest.raises(TheoryUnavailable):
        tc.categorical_theory(Categorical(temperature=0.8), LoopConfig())


# -- invariants -------------------------------------------------------------------------------------
@pytest.mark.parametrize("fam", [Categorical(V=30, T=20, M=25),
                                 Categorical(V=30, T=20, truth="dirichlet", a=0.3, temperature=0.7, top_k=10,
                                             top_p=0.9)])
def test_support_invariants(fam, seed=4):
    """Replace: the support never grows (samples come from the model's own support). Accumulate: never
    below the real data's (the real block is always in the fit; with the plain sampler exactly equal).
    Probabilities sum to 1 throughout."""
    G = 6
    rep = Loop(fam, LoopConfig(mode="replace", generations=G, replicates=100, seed=seed)).run()
    assert np.all(np.diff(rep.metrics["support"], axis=0) <= 0)
    np.testing.assert_allclose(np.asarray(rep.carry[0].p_hat).sum(-1), 1.0, rtol=1e-12)
    acc = run_loop(fam, LoopConfig(mode="accumulate", generations=G, replicates=100, seed=seed))
    assert np.all(acc["support"] >= acc["support"][:1])
    if fam.plain_sampler:
        assert np.all(acc["support"] == acc["support"][:1])
