"""N-gram statistics of token sequences (jittable; the in-loop diagnostics). See :mod:`collapse.lm.diagnostics`
for the same quantities on any two corpora of text."""

import jax.numpy as jnp

from collapse.lm.tokenizer import VOCAB_SIZE


def bigram_counts(tokens, vocab: int = VOCAB_SIZE):
    """Counts of within-row bigrams of int tokens [m, L]: float32 [vocab²] (index a·vocab + b)."""
    t = jnp.asarray(tokens).astype(jnp.int32)
    ids = (t[:, :-1] * vocab + t[:, 1:]).reshape(-1)
    return jnp.bincount(ids, length=vocab * vocab).astype(jnp.float32)


def entropy_bits(counts):
    """Shannon entropy (bits) of the distribution proportional to ``counts``."""
    p = counts / jnp.sum(counts)
    return -jnp.sum(jnp.where(p > 0, p * jnp.log2(jnp.where(p > 0, p, 1.0)), 0.0))


def distinct_from_counts(counts):
    """Number of distinct n-grams / number of n-grams."""
    return jnp.sum(counts > 0) / jnp.sum(counts)


def distinct_trigrams(tokens, vocab: int = VOCAB_SIZE):
    t = jnp.asarray(tokens).astype(jnp.int32)
    ids = jnp.sort(((t[:, :-2] * vocab + t[:, 1:-1]) * vocab + t[:, 2:]).reshape(-1))  # < 257³ < 2³¹
    return (1 + jnp.sum(ids[1:] != ids[:-1])) / ids.shape[0]


def top_mass(counts, k: int = 40):
    """Share of all n-gram occurrences taken by the ``k`` most frequent n-grams."""
    return jnp.sum(jnp.sort(counts)[-k:]) / jnp.sum(counts)


def text_stats(tokens, rare_mask=None) -> dict:
    """In-loop diagnostics of a sample int [m, L]: entropies, distinct-n, top-40 bigram mass, tail recall.

    rare_mask: bool [vocab²], the human corpus's rare bigrams; tail_recall = fraction of them present.
    """
    t = jnp.asarray(tokens).astype(jnp.int32)
    bi = bigram_counts(t)
    uni = jnp.bincount(t.reshape(-1), length=VOCAB_SIZE).astype(jnp.float32)
    out = {"unigram_entropy": entropy_bits(uni), "bigram_entropy": entropy_bits(bi),
           "distinct_1": distinct_from_counts(uni), "distinct_2": distinct_from_counts(bi),
           "distinct_3": distinct_trigrams(t), "top40_bigram_mass": top_mass(bi, 40)}
    if rare_mask is not None:
        out["tail_recall"] = jnp.sum((bi > 0) & rare_mask) / jnp.maximum(jnp.sum(rare_mask), 1)
    return out
