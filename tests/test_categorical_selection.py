"""Selectors on the categorical family (docs/feedback.md §2, §5): the view of a count block, the explicit rows a
chooser needs, bad input, the exact K-choice update for any V, the tilt's closed form, the real-data fixed point,
and (slow) the simulated loop against the exact finite-M law within 4 SE."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import ConfigError, LoopConfig
from collapse.counts import block
from collapse.engine import Loop, run_loop
from collapse.families.categorical import Categorical, CategoricalParams, SymbolRows
from collapse.selectors import SelectorConfig
from theory.curation import (
    curation_chain_mean,
    curation_update,
    k_choice_update,
    k_choice_update_fast,
    mean_field_curve,
    mixed_fixed_point,
    tilt_fixed_point,
    tilt_update,
)


def _world(fam):
    return fam.setup(jax.random.key(0), fam.synth_size)


# -- the family's hooks ---------------------------------------------------------------------------
def test_view_of_a_count_block_reads_rows_in_sorted_symbol_order():
    fam = Categorical(V=4, T=6, reward="rank", correct_frac=0.5)
    world = _world(fam)
    verifier = fam.verifier_setup(None, world, 0.0)
    data = block(jnp.array([2.0, 0.0, 3.0, 1.0]), 6)  # rows: 0 0 2 2 2 3
    view = fam.selection_view(world, verifier, data, False)
    np.testing.assert_array_equal(view.error, [0, 0, 1, 1, 1, 1])  # correct subset = {0, 1}, the top half of r
    r = fam.reward_vector()  # 0, −1/3, −2/3, −1
    np.testing.assert_allclose(-0.5 * view.deviation**2, r[[0, 0, 2, 2, 2, 3]] - r.max())


def test_random_reward_and_correct_subset_are_fixed_by_the_config():
    fam = Categorical(V=20, reward="random", reward_seed=3, correct_frac=0.15)
    r = fam.reward_vector()
    np.testing.assert_array_equal(r, Categorical(V=20, reward="random", reward_seed=3).reward_vector())
    assert not np.allclose(r, Categorical(V=20, reward="random", reward_seed=4).reward_vector())
    correct = fam.correct_set()
    assert correct.sum() == 3 and r[correct].min() >= r[~correct].max()


def test_explicit_rows_are_a_permutation_and_fold_back():
    fam = Categorical(V=5, T=40)
    counts = jnp.array([10.0, 0.0, 25.0, 1.0, 4.0])
    rows = fam.as_rows(jax.random.key(1), block(counts, 40))
    assert isinstance(rows, SymbolRows)
    np.testing.assert_array_equal(np.bincount(np.asarray(rows.symbols), minlength=5), counts)
    assert not np.all(np.diff(np.asarray(rows.symbols)) >= 0)  # shuffled, not the sorted order
    np.testing.assert_array_equal(fam.from_rows(rows).counts, counts)


def test_tilted_source_is_p_times_exp_gamma_r():
    fam = Categorical(V=6, T=10, truth="zipf", beta=1.0, reward="random")
    world = _world(fam)
    verifier = fam.verifier_setup(None, world, 0.0)
    p = np.asarray(world.p)
    q = fam.tilted_source(world, verifier, CategoricalParams(world.p, jnp.asarray(10.0)), 0.7)
    want = p * np.exp(0.7 * fam.reward_vector())
    np.testing.assert_allclose(q, want / want.sum(), rtol=1e-12)


@pytest.mark.parametrize("kwargs, param", [
    ({"reward": "linear"}, "reward"), ({"correct_frac": 0.0}, "correct_frac"), ({"correct_frac": 1.5}, "correct_frac"),
    ({"reward_seed": -1}, "reward_seed"),
])
def test_bad_family_fields_raise_one_config_error(kwargs, param):
    with pytest.raises(ConfigError) as err:
        Categorical(**kwargs)
    assert err.value.param == param


@pytest.mark.parametrize("sel, param", [
    ({"kind": "curate", "k": 0}, "k"), ({"kind": "tilt", "gamma": math.inf}, "gamma"),
    ({"kind": "curate", "k": 2, "gamma": math.nan}, "gamma"),
])
def test_bad_selector_values_raise_one_config_error(sel, param):
    with pytest.raises(ConfigError) as err:
        SelectorConfig(**sel)
    assert err.value.param == param


def test_a_selector_the_family_cannot_support_is_refused_before_compiling():
    with pytest.raises(ConfigError) as err:
        Loop(Categorical(V=5, T=10), LoopConfig(generations=2, replicates=2), selector=SelectorConfig("model"))
    assert err.value.param == "selector" and "accept" in str(err.value)


# -- theory (NumPy, fast) -------------------------------------------------------------------------
@settings(max_examples=25)
@given(st.integers(2, 5), st.integers(1, 5), st.integers(0, 10_000))
def test_k_choice_by_quadrature_equals_the_enumeration(V, K, seed):
    rng = np.random.default_rng(seed)
    p, r = rng.dirichlet(np.ones(V)), 3 * rng.standard_normal(V)
    np.testing.assert_allclose(k_choice_update_fast(p, r, K), k_choice_update(p, r, K), atol=1e-10)


@given(st.integers(0, 10_000), st.floats(0.1, 3.0), st.integers(1, 12))
def test_iterated_tilt_is_p0_exp_t_gamma_r(seed, gamma, t):
    rng = np.random.default_rng(seed)
    p0, r = rng.dirichlet(np.ones(30)), rng.standard_normal(30)
    law = mean_field_curve(p0, p0, gamma * r, 0, 0.0, t + 1)[-1]
    want = p0 * np.exp(t * gamma * r)
    np.testing.assert_allclose(law, want / want.sum(), rtol=1e-9, atol=1e-15)


@settings(max_examples=20)
@given(st.integers(0, 10_000), st.sampled_from([0, 2, 4]))
def test_expected_reward_rises_monotonically_without_real_data(seed, K):
    rng = np.random.default_rng(seed)
    p0, r = rng.dirichlet(np.ones(40)), rng.standard_normal(40)
    rewards = mean_field_curve(p0, p0, r, K, 0.0, 8) @ r
    assert np.all(np.diff(rewards) >= -1e-12)


@pytest.mark.slow
@settings(max_examples=10)
@given(st.integers(0, 10_000), st.floats(0.2, 0.9))
def test_real_data_fixed_point_is_a_fixed_point_above_lambda_p(seed, lam):
    rng = np.random.default_rng(seed)
    p, r = rng.dirichlet(np.ones(5)), rng.standard_normal(5)
    fixed, iterations = mixed_fixed_point(p, r, 3, lam)
    assert iterations < 20000
    np.testing.assert_allclose(fixed, lam * p + (1 - lam) * curation_update(fixed, r, 3), atol=1e-11)
    assert np.all(fixed >= lam * p - 1e-15)  # no real symbol is ever lost
    far = mean_field_curve(rng.dirichlet(np.ones(5)), p, r, 3, lam, 300)[-1]  # from any start, the same point
    np.testing.assert_allclose(far, fixed, atol=1e-9)


@settings(max_examples=15)
@given(st.integers(0, 10_000), st.floats(0.1, 1.0), st.floats(0.2, 3.0))
def test_tilt_fixed_point_closed_form_is_the_limit_of_the_loop_in_law(seed, lam, gamma):
    rng = np.random.default_rng(seed)
    p, r = rng.dirichlet(np.ones(50)), gamma * rng.standard_normal(50)
    fixed = tilt_fixed_point(p, r, lam)
    np.testing.assert_allclose(fixed, lam * p + (1 - lam) * tilt_update(fixed, r), atol=1e-12)
    assert np.all(fixed >= lam * p - 1e-15)
    iterated, _ = mixed_fixed_point(p, r, 0, lam)
    np.testing.assert_allclose(iterated, fixed, atol=1e-8)


def test_exact_chain_of_one_step_from_a_sure_start_is_the_update():
    """With T large the real fit is p itself; the chain's E p̂_2 must then be U_K(p) (the refit is unbiased)."""
    p, r = np.array([0.6, 0.4]), np.array([0.0, 1.0])
    chain = curation_chain_mean(p, r, 3, 200, 5, 2)
    np.testing.assert_allclose(chain[1], k_choice_update(p, r, 3), atol=2e-3)  # O(1/T) from the random real fit


@pytest.mark.slow
def test_kept_nothing_keeps_the_previous_model_and_is_recorded():
    """Oracle with a correct subset the real fit has no mass on: nothing is kept, the fit is skipped, no NaN."""
    fam = Categorical(V=4, T=5, truth="zipf", beta=3.0, reward="random", reward_seed=0, correct_frac=0.25)
    assert not fam.correct_set()[0]  # the rewarded symbol is not Zipf's head: often absent from 5 real samples
    m = run_loop(fam, LoopConfig(generations=3, replicates=64, mode="replace", seed=0),
                 selector=SelectorConfig("oracle"))
    assert all(np.isfinite(v).all() for v in m.values())
    empty = m["sel_r"][1] == 0
    assert empty.any()  # some replicate kept nothing
    np.testing.assert_array_equal(m["fit_skipped"][1][empty], 1.0)
    np.testing.assert_array_equal(m["correct_mass"][1][empty], m["correct_mass"][0][empty])


# -- the simulated loop against exact laws (slow: each run compiles a loop) ------------------------
SMALL = Categorical(V=3, T=12, truth="zipf", beta=1.0, reward="rank", correct_frac=0.3)


def _z(metric, want):
    mean, se = metric.mean(1), metric.std(1, ddof=1) / np.sqrt(metric.shape[1])
    return (mean - want) / se


@pytest.mark.slow
@pytest.mark.parametrize("mode, w, sel, K", [
    ("replace", 0.0, SelectorConfig("curate", k=3, gamma=2.0), 3),
    ("replace", 0.0, SelectorConfig("tilt", gamma=2.0), 0),
    ("fresh", 0.5, SelectorConfig("curate", k=3, gamma=2.0), 3),
])
def test_loop_matches_the_exact_finite_m_law_and_not_the_mean_field(mode, w, sel, K):
    """E p̂_n of the loop = the exact Markov-chain law within 4 SE, for every generation and both linear metrics
    (reward, mass of the correct subset; with V = 3 they fix E p̂). The mean-field law p_{n+1} = U(p_n) — the claim
    that E p̂_n follows the population map because each refit is unbiased — is off by more than 4 SE at T = M = 12:
    unbiased one step at a time, but U is nonlinear."""
    G, R = 6, 6000
    m = run_loop(SMALL, LoopConfig(generations=G, replicates=R, mode=mode, seed=1, real_weight=0.5), selector=sel)
    p, r = SMALL.truth_probs(), SMALL.reward_vector()
    exact = curation_chain_mean(p, 2.0 * r, K, 12, 12, G, real_weight=w)
    mean_field = mean_field_curve(p, p, 2.0 * r, K, w, G)
    for name, vec in (("reward_mean", r), ("correct_mass", SMALL.correct_set().astype(float))):
        assert np.all(np.abs(_z(m[name], exact @ vec)) < 4), name
        assert np.max(np.abs(_z(m[name], mean_field @ vec))) > 4, name


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["replace", "accumulate", "accumulate-subsample", "mix", "fresh"])
def test_every_selector_composes_with_every_policy(mode):
    fam = Categorical(V=8, T=40, truth="zipf", beta=1.0, reward="random")
    for sel in (SelectorConfig("curate", k=3), SelectorConfig("tilt"), SelectorConfig("oracle"),
                SelectorConfig("best-of-k", k=2), SelectorConfig("window", h=1.0)):
        m = run_loop(fam, LoopConfig(generations=4, replicates=16, mode=mode), selector=sel)
        assert all(np.isfinite(v).all() for v in m.values()), (mode, sel.kind)
        assert m["reward_mean"][-1].mean() > m["reward_mean"][0].mean(), (mode, sel.kind)  # selection helps


@pytest.mark.slow
def test_oracle_keeps_the_correct_mass_and_moves_the_model_onto_it():
    """Generation 2 (replace, T = M): E kept fraction = E p̂_1(S) = p(S); the model's mass on S is 1 unless nothing
    was kept (then the previous model stays): E = 1 − E(1 − B/T)^{M+1}, B ~ Bin(T, p(S)) — exact."""
    fam = Categorical(V=10, T=30, truth="zipf", beta=1.0, reward="random", reward_seed=1, correct_frac=0.2)
    R = 4000
    cfg = LoopConfig(generations=4, replicates=R, mode="replace", seed=2)
    m = run_loop(fam, cfg, selector=SelectorConfig("oracle"))
    pS = float(fam.truth_probs() @ fam.correct_set())
    b = np.arange(31)
    law = np.array([math.comb(30, k) * pS**k * (1 - pS) ** (30 - k) for k in b])
    want = 1 - law @ (1 - b / 30) ** 31
    assert abs(_z(m["sel_r"][1:2], pS)[0]) < 4
    assert abs(_z(m["correct_mass"][1:2], want)[0]) < 4
    assert np.all(m["correct_mass"][3][m["fit_skipped"][1:].max(0) == 0] == 1.0)  # stays on the subset


def test_tilt_update_is_the_k_to_infinity_limit():
    rng = np.random.default_rng(0)
    p, r = rng.dirichlet(np.ones(6)), rng.standard_normal(6)
    gaps = [np.abs(k_choice_update_fast(p, r, K) - tilt_update(p, r)).max() for K in (2, 8, 64, 512)]
    assert np.all(np.diff(gaps) < 0) and gaps[-1] < 1e-2
