"""The tale-of-tails memorisation family against theory/zipf.py (4 SE), and the pure-math laws."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import LoopConfig, run_loop
from collapse.counts import zipf_probs
from collapse.errors import ConfigError
from collapse.families.zipf import ZipfMemorise
from theory import check
from theory import zipf as tz

FAMILIES = [
    ZipfMemorise(V=200, beta=1.5, T=100, T0=60),  # inherited wrong labels: the exact n-generation sum
    ZipfMemorise(V=200, beta=1.3, T=100, labeler="truth", tail_cut=10, real_fraction=0.2),  # grokking
    ZipfMemorise(V=200, beta=2.0, T=100, labeler="truth", temperature=0.6),  # tail narrowing
]


@settings(max_examples=3)
@given(fam=st.sampled_from(FAMILIES), seed=st.integers(0, 10_000))
def test_exact_error_sums_match_simulation(fam, seed):
    cfg = LoopConfig(mode="replace", generations=6, replicates=3000, seed=seed)
    metrics = run_loop(fam, cfg)
    for curve in tz.zipf_theory(fam, cfg):
        result = check(metrics[curve.metric], curve)
        assert result.agree, result.summary()


@pytest.mark.slow
@pytest.mark.parametrize("fam", FAMILIES)
def test_exact_error_sums_every_family_slow(fam):
    cfg = LoopConfig(mode="replace", generations=10, replicates=4000, seed=3)
    metrics = run_loop(fam, cfg)
    for curve in tz.zipf_theory(fam, cfg):
        assert check(metrics[curve.metric], curve).agree


def test_union_template_is_only_an_upper_bound_and_the_floor_grows_like_log_n():
    """With T → ∞ the exact floor is A·G_n·T0^(−c) with G_n ≈ (ln n + γ)^c/Γ(1 + c), far below n·A·T0^(−c)."""
    beta, T0 = 2.0, 1000
    p = zipf_probs(10**6, beta)
    n = np.array([1, 2, 5, 10, 50])
    exact = tz.generations_error(p, 10**9, T0, n)
    assert np.all(exact <= tz.union_bound(p, 10**9, T0, n))
    ratio = exact / (tz.clean_constant(beta) * T0 ** -tz.exponent(beta))
    np.testing.assert_allclose(ratio, tz.floor_growth(beta, n), rtol=0.01)  # continuum limit at V = 10⁶
    assert ratio[-1] < 0.05 * n[-1]
    np.testing.assert_allclose(tz.floor_growth(beta, n[2:]), tz.floor_log_law(beta, n[2:]), rtol=0.02)


def test_temperature_exponent_matches_the_exact_sum_slope():
    beta, tau = 2.0, 0.7
    p = zipf_probs(10**6, beta)
    T = np.array([1e4, 1e5])
    err = tz.truth_labeled_error(p, T, temperature=tau)
    slope = np.diff(np.log(err)) / np.diff(np.log(T))
    assert slope[0] == pytest.approx(tz.temperature_exponent(beta, tau), rel=0.03)


def test_grokking_plateau_then_exit():
    beta, k, pi = 1.5, 30, 0.05
    p = zipf_probs(10**5, beta)
    plateau = tz.cut_tail_mass(p, k)
    T = np.array([1e2, 1e3, 1e5, 1e7])
    err = tz.truth_labeled_error(p, T, tail_cut=k, real_fraction=pi)
    assert err[1] == pytest.approx(plateau, rel=0.05)  # πT = 50 ≪ k^β ≈ 164: stuck at the cut tail mass
    assert err[-1] < 0.2 * plateau  # πT ≫ k^β: the clean law resumes


@pytest.mark.parametrize("kwargs,param", [({"beta": 0.0}, "beta"), ({"V": 1}, "V"),
                                          ({"temperature": 0.0}, "temperature"),
                                          ({"tail_cut": 0}, "tail_cut"), ({"real_fraction": 1.5}, "real_fraction"),
                                          ({"labeler": "oracle"}, "labeler"), ({"T0": 0}, "T0")])
def test_bad_input(kwargs, param):
    with pytest.raises(ConfigError) as err:
        ZipfMemorise(**kwargs)
    assert err.value.param == param


def test_formulas_refuse_beta_at_most_one():
    for bad in (1.0, 0.5, float("nan")):
        with pytest.raises(ConfigError, match="beta"):
            tz.clean_constant(bad)
    with pytest.raises(ConfigError, match="temperature"):
        tz.temperature_exponent(1.5, 2.0)
