"""A byte n-gram model in the self-consuming loop: the counting (infinite-capacity) limit of the byte LM
(docs/categorical.md, "The bridge to the byte LM").

Same data as :class:`collapse.families.transformer.TransformerLM` — windows of ``context`` bytes from the same
corpus split, the same held-out human windows, the same in-loop n-gram diagnostics — but the model is a table of
counts: for every context of the last n − 1 tokens (windows are left-padded with BOS, as the transformer reads
BOS before a window) a categorical distribution over the next byte, fitted by the weighted MLE. It is the
categorical family once per context, so every result of the categorical theory applies context by context.

Unseen contexts (stated backoff): the MLE of the longest context with at least one count, down to the unigram
(always seen). Sampling draws each byte from that backed-off MLE, so a byte n-gram whose context was seen can
only be produced if it was in the training data; new n-grams arise only through backoff, at contexts that
occurred only at a window's end (``backoff_rate`` in the metrics counts them). The alphabet itself (bytes with
a positive unigram count) never grows without fresh data.

Held-out scoring (stated smoothing, as the categorical family's KL): p̃(x | c) = (1 − ε)·p(x | c) + ε/256 with
p the backed-off MLE and ε = ``smoothing``, so an unseen byte costs log(256/ε) nats instead of infinity.

Metrics per generation (the transformer family's names where they mean the same): ``heldout_ppl`` exp(mean
−log p̃) over the held-out human tokens, ``heldout_nll``, ``missing_mass`` the fraction of held-out human tokens
to which the sampler gives probability < ``tail_threshold`` (for this model: exactly 0 unless some count is
huge), ``support`` the number of distinct (context, byte) pairs of the top order with a positive count,
``alphabet`` the bytes with a positive unigram count, ``backoff_rate`` the share of sampled tokens drawn from a
backed-off context, and :func:`collapse.lm.ngrams.text_stats` of ``diag_samples`` sampled windows
(``tail_recall``, ``top40_bigram_mass``, entropies, distinct-n).

Dense tables: order n holds 257^(n−1) × 257 counts (order 3: 17M float32, 68 MB per replicate), so n <= 3.
"""

from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import jax
import jax.numpy as jnp

from collapse.errors import require
from collapse.families.base import RealSynthSizes, Segment
from collapse.lm.corpus import DEFAULT_CORPUS
from collapse.lm.ngrams import text_stats
from collapse.lm.tokenizer import BOS, VOCAB_SIZE
from collapse.lm.windows import CorpusWindows, LMWorld
from collapse.validate import check_fields

MAX_ORDER = 3
BYTES = 256  # the targets: BOS is never a next token


class NgramParams(NamedTuple):
    tables: tuple  # order k = 1..n: float32 [257^(k−1), 257] weighted counts (row = context id)


def context_ids(tokens, k: int):
    """Context id of the last k − 1 tokens before each position of int windows [N, L] (BOS-padded): [N, L]."""
    padded = jnp.concatenate([jnp.full(tokens.shape[:-1] + (k - 1,), BOS, tokens.dtype), tokens], axis=-1)
    L = tokens.shape[-1]
    ids = jnp.zeros(tokens.shape, jnp.int32)
    for j in range(k - 1):
        ids = ids * VOCAB_SIZE + padded[..., j:j + L]
    return ids


def fit_tables(tokens, weights, order: int) -> NgramParams:
    """Weighted counts of every order k = 1..order from int windows [N, L] and per-window weights [N]."""
    w = jnp.broadcast_to(weights[:, None], tokens.shape).reshape(-1).astype(jnp.float32)
    tables = []
    for k in range(1, order + 1):
        ids = context_ids(tokens, k) * VOCAB_SIZE + tokens
        flat = jnp.zeros(VOCAB_SIZE ** k, jnp.float32).at[ids.reshape(-1)].add(w)
        tables.append(flat.reshape(VOCAB_SIZE ** (k - 1), VOCAB_SIZE))
    return NgramParams(tuple(tables))


def backed_off_rows(params: NgramParams, histories):
    """The backed-off MLE rows for contexts given as int histories [..., n − 1] (most recent last, BOS-padded):
    (probabilities [..., 257], backed off: bool [...])."""
    n = len(params.tables)
    row, found = None, None
    for k in range(n, 0, -1):  # longest context first
        ids = jnp.zeros(histories.shape[:-1], jnp.int32)
        for j in range(n - k, n - 1):
            ids = ids * VOCAB_SIZE + histories[..., j]
        counts = params.tables[k - 1][ids]
        total = jnp.sum(counts, axis=-1, keepdims=True)
        here = total[..., 0] > 0
        probs = counts / jnp.where(total > 0, total, 1.0)
        if row is None:
            row, found = probs, here
        else:
            row = jnp.where(found[..., None], row, probs)
            found = found | here
        if k == n:
            top = here
    return row, ~top


def token_probs(params: NgramParams, tokens):
    """p(x_t | context) under the backed-off MLE for int windows [N, L] (BOS-padded): float32 [N, L]."""
    n = len(params.tables)
    padded = jnp.concatenate([jnp.full(tokens.shape[:-1] + (n - 1,), BOS, tokens.dtype), tokens], axis=-1)
    L = tokens.shape[-1]
    histories = jnp.stack([padded[..., j:j + L] for j in range(n - 1)], axis=-1) if n > 1 else \
        jnp.zeros(tokens.shape + (0,), tokens.dtype)
    rows, _ = backed_off_rows(params, histories)
    return jnp.take_along_axis(rows, tokens[..., None].astype(jnp.int32), axis=-1)[..., 0]


def smoothed_nll(params: NgramParams, tokens, smoothing: float):
    """Mean −log p̃ per token of int windows [N, L], p̃ = (1 − ε)·p + ε/256 (the stated held-out smoothing)."""
    return -jnp.mean(jnp.log((1 - smoothing) * token_probs(params, tokens) + smoothing / BYTES))


def sample_windows(params: NgramParams, key, count: int, length: int):
    """``count`` windows of ``length`` bytes drawn from the backed-off MLE, each from BOS:
    (int32 [count, length], share of tokens drawn from a backed-off context)."""
    n = len(params.tables)

    def step(history, k):
        rows, backed = backed_off_rows(params, history)
        logits = jnp.where(rows > 0, jnp.log(jnp.where(rows > 0, rows, 1.0)), -jnp.inf)
        tok = jax.random.categorical(k, logits, axis=-1).astype(jnp.int32)
        history = jnp.concatenate([history[:, 1:], tok[:, None]], axis=1) if n > 1 else history
        return history, (tok, backed)

    start = jnp.full((count, n - 1), BOS, jnp.int32)
    _, (toks, backed) = jax.lax.scan(step, start, jax.random.split(key, length))
    return toks.T, jnp.mean(backed.astype(jnp.float32))


@dataclass(frozen=True)
class NgramLM(CorpusWindows, RealSynthSizes):
    """Model family: a byte n-gram model refitted each generation (see the module docstring).

    order: n (context = the last n − 1 bytes, 1..3); T, M: windows per real / synthetic block; smoothing: ε of the
    held-out scoring; tail_threshold: a held-out token counts as missing below this model probability.
    """

    main_metric: ClassVar[str] = "heldout_ppl"

    corpus: str = DEFAULT_CORPUS
    context: int = 64
    order: int = 3
    T: int = 128
    M: int | None = None
    holdout: int = 128
    diag_samples: int = 64
    smoothing: float = 0.01
    tail_threshold: float = 1e-3
    name: str = "ngram"

    def __post_init__(self):
        check_fields(self)
        require(isinstance(self.order, int) and 1 <= self.order <= MAX_ORDER, "order", self.order,
                f"an integer in [1, {MAX_ORDER}] (dense tables of 257^n counts)")
        for f in ("context", "T", "holdout", "diag_samples"):
            v = getattr(self, f)
            require(isinstance(v, int) and v >= 1, f, v, "an integer >= 1")
        require(self.M is None or (isinstance(self.M, int) and self.M >= 1), "M", self.M, "an integer >= 1")
        require(0 < self.smoothing < 1, "smoothing", self.smoothing, "in (0, 1)")
        require(0 < self.tail_threshold < 1, "tail_threshold", self.tail_threshold, "in (0, 1)")
        self._human()  # corpus errors surface here

    # -- model -----------------------------------------------------------------------------
    def fit(self, world: LMWorld, segments: tuple[Segment, ...]) -> NgramParams:
        data = jnp.concatenate([s.data.reshape(-1, self.context) for s in segments]).astype(jnp.int32)
        weights = jnp.concatenate([s.weight.reshape(-1).astype(jnp.float32) for s in segments])
        return fit_tables(data, weights, self.order)

    def generate(self, key, world: LMWorld, params: NgramParams, size: int):
        return sample_windows(params, key, size, self.context)[0].astype(jnp.float32)

    def score(self, key, world: LMWorld, params: NgramParams) -> dict:
        _, held, rare, ref_recall = self._human()
        p = token_probs(params, jnp.asarray(held))
        nll = smoothed_nll(params, jnp.asarray(held), self.smoothing)
        sample, backoff = sample_windows(params, key, self.diag_samples, self.context)
        top = params.tables[-1]
        out = {"heldout_ppl": jnp.exp(nll), "heldout_nll": nll,
               "missing_mass": jnp.mean((p < self.tail_threshold).astype(jnp.float32)),
               "support": jnp.sum(top > 0).astype(jnp.float32),
               "alphabet": jnp.sum(params.tables[0][0, :BYTES] > 0).astype(jnp.float32),
               "backoff_rate": backoff}
        out.update(text_stats(sample, jnp.asarray(rare)))
        out["tail_recall_human"] = jnp.float32(ref_recall)
        return out
