"""How synthetic text differs from human text: the analyses of Zhu et al. 2025 (ToEdit, arXiv 2412.14689, §3 and
Figs. 2–4), reusable on any two corpora.

A corpus is a list of documents, each a ``str`` (encoded as UTF-8 bytes) or an int token array; n-grams never
cross a document boundary. Functions:

- :func:`distinct_n` — distinct n-grams / all n-grams; :func:`ngram_entropy` — Shannon entropy (bits) of the
  n-gram distribution; :func:`top_ngram_mass` — share of occurrences taken by the k most frequent n-grams
  (ToEdit Fig. 3 uses the top-40/64 bigrams).
- :func:`hashed_features` — unigram + bigram counts hashed into 10,000 buckets (ToEdit §3.2, their DSIR-style
  features), normalised to a distribution; :func:`feature_divergence` compares two corpora's.
- :func:`tail_recall` — of the n-grams that are rare in a reference (human) corpus, the fraction a candidate
  corpus still contains ("tail loss" is 1 − recall).
- :func:`perplexity_histograms` — per-document perplexities of two corpora under one fixed scorer, binned on a
  shared log scale (ToEdit Fig. 2).
- :func:`compare` — all of the above for (human, synthetic) in one dict.
"""

import numpy as np

from collapse.errors import require
from collapse.lm.tokenizer import encode

HASH_BUCKETS = 10_000
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _tokens(doc) -> np.ndarray:
    return encode(doc) if isinstance(doc, str) else np.asarray(doc, np.int64).reshape(-1)


def ngrams(docs, n: int) -> np.ndarray:
    """Every n-gram of every document as one uint64 id (exact for token ids < 2^(64/n)): [count]."""
    require(isinstance(n, int) and 1 <= n <= 6, "n", n, "an integer in [1, 6]")
    out = []
    for d in docs:
        t = _tokens(d).astype(np.uint64)
        if len(t) < n:
            continue
        ids = t[: len(t) - n + 1]
        for j in range(1, n):
            ids = (ids << np.uint64(64 // n)) | t[j:len(t) - n + 1 + j]
        out.append(ids)
    return np.concatenate(out) if out else np.zeros(0, np.uint64)


def _counts(docs, n):
    _, counts = np.unique(ngrams(docs, n), return_counts=True)
    return counts


def distinct_n(docs, n: int) -> float:
    """Number of distinct n-grams / number of n-grams (NaN if there are none)."""
    ids = ngrams(docs, n)
    return float(len(np.unique(ids)) / len(ids)) if len(ids) else float("nan")


def ngram_entropy(docs, n: int) -> float:
    """Shannon entropy in bits of the empirical n-gram distribution."""
    c = _counts(docs, n)
    if c.sum() == 0:
        return float("nan")
    p = c / c.sum()
    return float(-(p * np.log2(p)).sum())


def top_ngram_mass(docs, k: int = 40, n: int = 2) -> float:
    """Share of all n-gram occurrences taken by the ``k`` most frequent n-grams."""
    c = np.sort(_counts(docs, n))
    return float(c[-k:].sum() / c.sum()) if c.sum() else float("nan")


def _bucket(ids: np.ndarray, salt: int, buckets: int) -> np.ndarray:
    with np.errstate(over="ignore"):
        h = (ids + np.uint64(salt)) * _GOLDEN
    return ((h >> np.uint64(20)) % np.uint64(buckets)).astype(np.int64)


def hashed_features(docs, buckets: int = HASH_BUCKETS) -> np.ndarray:
    """Unigram + bigram counts hashed into ``buckets`` buckets, normalised to sum 1: float64 [buckets]."""
    v = np.bincount(_bucket(ngrams(docs, 1), 1, buckets), minlength=buckets).astype(float)
    v += np.bincount(_bucket(ngrams(docs, 2), 2, buckets), minlength=buckets)
    return v / v.sum() if v.sum() else v


def feature_divergence(a: np.ndarray, b: np.ndarray) -> dict:
    """Total variation and Jensen–Shannon divergence (bits) between two feature distributions."""
    m = (a + b) / 2

    def kl(p, q):
        nz = p > 0
        return float((p[nz] * np.log2(p[nz] / q[nz])).sum())

    return {"tv": float(0.5 * np.abs(a - b).sum()), "js": 0.5 * kl(a, m) + 0.5 * kl(b, m)}


def tail_recall(reference, candidate, n: int = 2, max_count: int = 2) -> float:
    """Fraction of the reference corpus's rare n-grams (1 <= count <= max_count) present in the candidate."""
    ids, counts = np.unique(ngrams(reference, n), return_counts=True)
    rare = ids[counts <= max_count]
    if len(rare) == 0:
        return float("nan")
    return float(np.isin(rare, ngrams(candidate, n)).mean())


def perplexity_histograms(ppl_a, ppl_b, bins: int = 30) -> dict:
    """Two per-document perplexity samples binned on shared log-spaced edges: {edges, a, b} (counts)."""
    both = np.concatenate([np.asarray(ppl_a, float), np.asarray(ppl_b, float)])
    both = both[np.isfinite(both) & (both > 0)]
    require(len(both) > 0, "perplexities", len(both), "at least one finite positive value")
    lo, hi = both.min(), both.max()
    edges = np.geomspace(lo, hi if hi > lo else lo * 1.01, bins + 1)
    return {"edges": edges, "a": np.histogram(ppl_a, edges)[0], "b": np.histogram(ppl_b, edges)[0]}


def compare(human, synthetic, k: int = 40) -> dict:
    """Every diagnostic for two corpora: {metric: (human value, synthetic value)} plus feature divergences."""
    out = {}
    for n in (1, 2, 3, 4):
        out[f"distinct_{n}"] = (distinct_n(human, n), distinct_n(synthetic, n))
        out[f"entropy_{n}"] = (ngram_entropy(human, n), ngram_entropy(synthetic, n))
    out[f"top{k}_bigram_mass"] = (top_ngram_mass(human, k), top_ngram_mass(synthetic, k))
    out["tail_recall_of_human_rare_bigrams"] = (1.0, tail_recall(human, synthetic))
    out["hashed_features"] = feature_divergence(hashed_features(human), hashed_features(synthetic))
    return out
