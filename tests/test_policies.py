"""Each policy forms the training set it promises (sizes, weights, real/synthetic split)."""

import numpy as np
import pytest

from collapse import LinearRegression, LoopConfig, run_loop

T, M, G = 12, 12, 5


def sizes(mode, **kw):
    fam = LinearRegression(d=3, T=T, M=kw.pop("M", None))
    return run_loop(fam, LoopConfig(mode=mode, generations=G, replicates=4, **kw))["train_size"][:, 0]


def test_replace_trains_on_one_synthetic_block():
    np.testing.assert_array_equal(sizes("replace"), [T] * G)


def test_accumulate_grows_by_one_block_per_generation():
    np.testing.assert_array_equal(sizes("accumulate"), T * np.arange(1, G + 1))


def test_subsample_keeps_the_budget_once_the_pool_is_large_enough():
    np.testing.assert_array_equal(sizes("accumulate-subsample", budget=20), [T, 20, 20, 20, 20])
    np.testing.assert_array_equal(sizes("accumulate-subsample", budget=30), [T, 24, 30, 30, 30])


@pytest.mark.parametrize("ratio,m", [(1.0, 12), (0.5, 6), (2.0, 24)])
def test_mix_adds_lambda_times_T(ratio, m):
    np.testing.assert_array_equal(sizes("mix", mix_ratio=ratio), [T] + [T + m] * (G - 1))


def test_fresh_trains_on_new_real_plus_synthetic():
    np.testing.assert_array_equal(sizes("fresh", real_weight=0.3), [T] + [2 * T] * (G - 1))


def test_fresh_with_full_real_weight_never_collapses():
    """w = 1: every generation is an independent fit to fresh real data, so E_test stays at generation 1's level."""
    fam = LinearRegression(d=3, T=T)
    e = run_loop(fam, LoopConfig(mode="fresh", real_weight=1.0, generations=G, replicates=4000))["E_test"]
    se = e.std(1, ddof=1) / np.sqrt(e.shape[1])
    assert np.all(np.abs(e.mean(1) - e.mean(1)[0]) < 4 * np.hypot(se, se[0]))
