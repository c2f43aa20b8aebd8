"""Text diagnostics on hand-made corpora whose answers are known by counting."""

import numpy as np
import pytest

from collapse.lm import diagnostics as dg
from collapse.lm.ngrams import text_stats


def test_distinct_entropy_top_mass_by_hand():
    docs = ["abab", "ab"]  # bigrams: ab, ba, ab | ab  -> {ab: 3, ba: 1}
    assert dg.distinct_n(docs, 2) == 2 / 4
    assert dg.distinct_n(docs, 1) == 2 / 6
    np.testing.assert_allclose(dg.ngram_entropy(docs, 2), -(0.75 * np.log2(0.75) + 0.25 * np.log2(0.25)))
    assert dg.top_ngram_mass(docs, k=1) == 0.75
    assert dg.ngram_entropy(["aaaa"], 3) == 0.0
    assert dg.distinct_n(["abcd"], 4) == 1.0 and np.isnan(dg.distinct_n(["ab"], 3))


def test_ngrams_do_not_cross_documents():
    assert len(dg.ngrams(["ab", "cd"], 2)) == 2  # ab, cd (not bc)


def test_tail_recall_by_hand():
    human = ["abcabc", "xyz"]  # bigram counts: ab 2, bc 2, ca 1, xy 1, yz 1 -> rare (count 1): ca, xy, yz
    assert dg.tail_recall(human, ["xyq"], max_count=1) == pytest.approx(1 / 3)
    assert dg.tail_recall(human, human, max_count=1) == 1.0
    assert dg.tail_recall(human, ["qqq"]) == 0.0


def test_hashed_features_and_divergence():
    f = dg.hashed_features(["hello world"])
    assert f.shape == (10_000,) and f.sum() == pytest.approx(1.0)
    assert (f > 0).sum() <= 8 + 10  # 8 distinct bytes + 10 distinct bigrams, collisions can only merge
    d_same = dg.feature_divergence(f, f)
    assert d_same["tv"] == 0 and d_same["js"] == pytest.approx(0.0)
    g = dg.hashed_features(["zzzz"])
    assert dg.feature_divergence(f, g)["tv"] == pytest.approx(1.0)  # disjoint features (no collision here)


def test_perplexity_histograms_share_edges():
    h = dg.perplexity_histograms([1.0, 2.0, 4.0], [8.0, 8.0], bins=3)
    assert h["edges"][0] == 1.0 and h["edges"][-1] == 8.0
    assert h["a"].tolist() == [1, 1, 1] and h["b"].tolist() == [0, 0, 2]


def test_in_loop_stats_agree_with_corpus_diagnostics():
    rng = np.random.default_rng(0)
    tokens = rng.integers(97, 101, (6, 20))
    docs = [row for row in tokens]
    s = {k: float(v) for k, v in text_stats(tokens).items()}
    assert s["distinct_2"] == pytest.approx(dg.distinct_n(docs, 2))
    assert s["distinct_3"] == pytest.approx(dg.distinct_n(docs, 3))
    assert s["bigram_entropy"] == pytest.approx(dg.ngram_entropy(docs, 2), rel=1e-5)
    assert s["top40_bigram_mass"] == pytest.approx(dg.top_ngram_mass(docs, 40))


def test_compare_runs_on_two_corpora():
    out = dg.compare(["the cat sat on the mat"] * 3, ["the the the the"])
    assert out["distinct_2"][1] < out["distinct_2"][0] or out["top40_bigram_mass"][1] >= out["top40_bigram_mass"][0]
    assert 0 <= out["hashed_features"]["tv"] <= 1
