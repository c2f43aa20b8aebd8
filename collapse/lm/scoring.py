"""Scoring text under a model: per-token log-probabilities, per-document perplexity, token-probability histogram.

A document longer than the context is scored in consecutive chunks of ``context`` tokens, each chunk starting
from BOS (the model never sees more than its context), so a document's perplexity is
exp(−mean over all its tokens of log p).
"""

import jax
import jax.numpy as jnp
import numpy as np

from collapse.errors import require
from collapse.lm import model as lm
from collapse.lm.tokenizer import encode


def _chunks(docs, context: int):
    rows, owner, lengths = [], [], []
    for i, d in enumerate(docs):
        toks = encode(d) if isinstance(d, str) else np.asarray(d, np.int32)
        for s in range(0, len(toks), context):
            piece = toks[s:s + context]
            rows.append(np.pad(piece, (0, context - len(piece))))
            owner.append(i)
            lengths.append(len(piece))
    return np.asarray(rows, np.int32).reshape(-1, context), np.asarray(owner), np.asarray(lengths)


def _jitted(cfg):
    return jax.jit(lambda params, toks: lm.token_logprobs(cfg, params, toks))


def document_logprobs(cfg, params, docs, batch: int = 64) -> list[np.ndarray]:
    """log p of every token of every document (str or int array): a list of float32 [len(doc)] arrays."""
    require(len(docs) > 0, "docs", len(docs), "at least one document")
    rows, owner, lengths = _chunks(docs, cfg.context)
    fn = _jitted(cfg)
    out = []
    for s in range(0, len(rows), batch):
        block = rows[s:s + batch]
        pad = batch - len(block)  # fixed batch shape: one compilation
        lp = np.asarray(fn(params, jnp.asarray(np.pad(block, ((0, pad), (0, 0))))))
        out.append(lp[: len(block)])
    lp = np.concatenate(out) if out else np.zeros((0, cfg.context), np.float32)
    per_doc = [[] for _ in docs]
    for row, i, n in zip(lp, owner, lengths, strict=True):
        per_doc[i].append(row[:n])
    return [np.concatenate(p) if p else np.zeros(0, np.float32) for p in per_doc]


def document_perplexity(cfg, params, docs, batch: int = 64) -> np.ndarray:
    """exp(mean negative log-likelihood per token) of each document: float64 [n_docs] (NaN for an empty one)."""
    return np.asarray([np.exp(-lp.mean()) if len(lp) else np.nan
                       for lp in document_logprobs(cfg, params, docs, batch)])


def probability_histogram(logprobs, bins: int = 10):
    """Fraction of tokens whose model probability falls in each of ``bins`` equal bins of [0, 1]: [bins].

    logprobs: any array of log-probabilities (jnp or np); works inside jit.
    """
    p = jnp.exp(jnp.asarray(logprobs, jnp.float32)).reshape(-1)
    idx = jnp.clip(jnp.floor(p * bins).astype(jnp.int32), 0, bins - 1)
    return jnp.bincount(idx, length=bins) / p.shape[0]
