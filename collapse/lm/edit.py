"""Token-level editing of human text (Zhu et al. 2025, ToEdit, arXiv 2412.14689, §4; docs/papers/zhu2025.md).

A *prior* scores every token of a window in one forward pass: ``logp[b, t]`` is its log-distribution over the next
token given the original tokens x_<t (never the edited ones). A token whose prior probability p(x_t | x_<t) meets
the rule is *eligible*; an eligible token is redrawn from its candidates — the prior's ``top_k`` most likely tokens
(optionally cut to the nucleus of mass ``top_p``), the original token always included — with weights ∝ p^{1/β}.
Every other token stays. The first token of a window (it has no context) is kept. A redraw often returns the
original token, so the *changed* fraction is at most the *eligible* fraction.

Rules (:class:`EditRule`): ``direction="above"`` edits p >= threshold (ToEdit default 0.99; ablation 0.999);
``direction="below"`` edits p <= threshold (their inverse ablations 0.1, 0.01). Threshold 1.0 with "above" edits a
token only where the prior gives it probability exactly 1 in float32; its other candidates then have p^{1/β} = 0
unless they have float32 mass left, so a prior with full support (e.g. any add-α n-gram prior) edits nothing.

Priors (:class:`Prior`): a pure function ``logprobs(state, tokens[B, L]) -> float32 [B, L, V]`` and its state
(a pytree), so the prior pass and the redraw compile into one program:
:func:`transformer_prior` (any trained model of :mod:`collapse.lm.model`) and :func:`ngram_prior` (byte n-grams
with add-α smoothing, exact counts — the cheap prior of the paper's first prototype).

Streaming (:func:`edit_corpus`): documents (str, token arrays, or (prompt, response) pairs — only the response is
edited) are cut into windows of ``context`` tokens and edited ``batch`` windows at a time at one fixed shape, so
a corpus of any size streams through one compilation in bounded memory; window w of the stream is keyed
``fold_in(key, w)``, so the result does not depend on the batch size.
"""

import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse.errors import require
from collapse.lm import model as lm
from collapse.lm.tokenizer import BOS, VOCAB_SIZE, encode

DIRECTIONS = ("above", "below")
HIST_BINS = 10


@dataclass(frozen=True)
class EditRule:
    """threshold: p threshold in (0, 1]; direction: "above" (p >= threshold) or "below" (p <= threshold);
    top_k: candidates per edited token (>= 1; capped at the vocabulary); top_p: nucleus mass in (0, 1] (1 = off);
    beta: redraw weights ∝ p^{1/β}, β > 0 (β → 0: the prior's argmax; ToEdit uses 1.5)."""

    threshold: float = 0.99
    direction: str = "above"
    top_k: int = 8
    top_p: float = 1.0
    beta: float = 1.5

    def __post_init__(self):
        require(isinstance(self.threshold, int | float) and 0 < self.threshold <= 1, "edit_threshold",
                self.threshold, "in (0, 1]")
        require(self.direction in DIRECTIONS, "edit_direction", self.direction, f"one of {', '.join(DIRECTIONS)}")
        require(isinstance(self.top_k, int) and not isinstance(self.top_k, bool) and self.top_k >= 1, "edit_top_k",
                self.top_k, "an integer >= 1")
        require(isinstance(self.top_p, int | float) and 0 < self.top_p <= 1, "edit_top_p", self.top_p, "in (0, 1]")
        require(isinstance(self.beta, int | float) and self.beta > 0, "edit_beta", self.beta, "> 0")


class Edited(NamedTuple):
    """One edited batch: tokens int32 [B, L]; eligible, changed bool [B, L]; logp_orig float32 [B, L] (the
    prior's log-probability of each original token); scored bool [B, L] (positions the rule looked at)."""

    tokens: jax.Array
    eligible: jax.Array
    changed: jax.Array
    logp_orig: jax.Array
    scored: jax.Array


def eligible_mask(logp_orig, rule: EditRule):
    """Where the rule fires, from the prior's log-probability of each original token (compared in log space)."""
    log_t = jnp.log(jnp.float32(rule.threshold))  # the same float32 op as a prior's log: p = threshold counts
    return logp_orig >= log_t if rule.direction == "above" else logp_orig <= log_t


def edit_from_logprobs(key, tokens, logp, rule: EditRule, editable=None) -> Edited:
    """The ToEdit redraw, given the prior's log-distributions ``logp`` float [B, L, V] over each position.

    key: one key, or one per window [B]. tokens int [B, L]; editable bool [B, L] (default: all) restricts
    editing (instruction data: the response; padding). Position 0 is never edited. Jittable (rule static).
    """
    tokens = tokens.astype(jnp.int32)
    logp = logp.astype(jnp.float32)
    V = logp.shape[-1]
    k = min(rule.top_k, V)
    scored = jnp.ones(tokens.shape, bool) if editable is None else editable.astype(bool)
    scored = scored.at[:, 0].set(False)
    logp_orig = jnp.take_along_axis(logp, tokens[..., None], axis=-1)[..., 0]
    eligible = eligible_mask(logp_orig, rule) & scored
    top_lp, top_id = jax.lax.top_k(logp, k)  # [B, L, k], sorted by decreasing probability
    keep = jnp.ones(top_lp.shape, bool)
    if rule.top_p < 1.0:
        mass_before = jnp.cumsum(jnp.exp(top_lp), axis=-1) - jnp.exp(top_lp)
        keep = mass_before < rule.top_p  # the first candidate always stays
    # the original token joins as candidate k + 1 unless it is already among the top k
    orig_in_top = jnp.any((top_id == tokens[..., None]) & keep, axis=-1)
    cand_id = jnp.concatenate([top_id, tokens[..., None]], axis=-1)
    cand_lp = jnp.concatenate([jnp.where(keep, top_lp, -jnp.inf),
                               jnp.where(orig_in_top, -jnp.inf, logp_orig)[..., None]], axis=-1)
    # weights ∝ p^{1/β}; a candidate with p = 0 (log p = -inf) gets weight 0 however small β is
    if jnp.ndim(key) == 1:  # one key per window (streaming: results do not depend on the batch size)
        choice = jax.vmap(lambda k, lg: jax.random.categorical(k, lg, axis=-1))(key, cand_lp / rule.beta)
    else:
        choice = jax.random.categorical(key, cand_lp / rule.beta, axis=-1)
    drawn = jnp.take_along_axis(cand_id, choice[..., None], axis=-1)[..., 0]
    new = jnp.where(eligible, drawn, tokens)
    return Edited(new, eligible, new != tokens, logp_orig, scored)


# -- priors -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Prior:
    """``logprobs(state, tokens int32 [B, L]) -> float32 [B, L, V]``: log p(· | x_<t) at every position, from
    the original tokens. ``logprobs`` must be a pure, jittable function hashable by identity; ``state`` a pytree."""

    logprobs: Callable
    state: Any
    name: str = "prior"
    context: int | None = None  # longest window the prior accepts (None: any)


@functools.lru_cache(maxsize=16)
def transformer_logprobs(cfg):
    """The pure prior function of a transformer config: (params, tokens [B, L]) -> log p [B, L, V]."""
    def logprobs(params, tokens):
        logits = lm.model(cfg, params)(lm.with_bos(tokens))
        return jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    return logprobs


def transformer_prior(cfg, params) -> Prior:
    """A trained byte-level transformer (``cfg`` a TransformerConfig, ``params`` from :mod:`collapse.lm.train`)."""
    return Prior(transformer_logprobs(cfg), params, f"transformer {cfg.width}x{cfg.depth}", cfg.context)


class NgramState(NamedTuple):
    contexts: jax.Array  # int32 [C] sorted ids of the (order − 1)-token contexts seen in training
    table: jax.Array  # float32 [C + 1, V] log p(next | context); row C: the unigram distribution (unseen context)


def _context_ids(tokens, order: int):
    """Id of the (order − 1) tokens before each position, BOS-padded at the window start: int32 [B, L]."""
    B, L = tokens.shape
    pad = jnp.full((B, order - 1), BOS, jnp.int32)
    t = jnp.concatenate([pad, tokens.astype(jnp.int32)], axis=1)
    ids = jnp.zeros((B, L), jnp.int32)
    for j in range(order - 1):
        ids = ids * (VOCAB_SIZE + 1) + t[:, j:j + L]
    return ids


@functools.lru_cache(maxsize=8)
def ngram_logprobs(order: int):
    """The pure prior function of an n-gram: (NgramState, tokens [B, L]) -> log p [B, L, V]."""
    def logprobs(state: NgramState, tokens):
        ids = _context_ids(tokens, order)
        row = jnp.searchsorted(state.contexts, ids)
        C = state.contexts.shape[0]
        found = (row < C) & (state.contexts[jnp.minimum(row, C - 1)] == ids)
        return state.table[jnp.where(found, row, C)]
    return logprobs


def fit_ngram(windows, order: int = 3, alpha: float = 0.01) -> NgramState:
    """Exact byte n-gram counts of int windows [N, L] (contexts BOS-padded at each window start, as the prior
    sees them), add-α smoothed over the vocabulary; unseen contexts fall back to the smoothed unigram."""
    require(isinstance(order, int) and 1 <= order <= 4, "ngram order", order, "an integer in [1, 4]")
    require(alpha > 0, "ngram alpha", alpha, "> 0")
    w = np.asarray(windows, np.int64)
    require(w.ndim == 2 and w.size > 0, "windows", w.shape, "a non-empty int array [N, L]")
    ids = np.asarray(_context_ids(jnp.asarray(w, jnp.int32), order)).reshape(-1).astype(np.int64)
    nxt = w.reshape(-1)
    contexts, inverse = np.unique(ids, return_inverse=True)
    counts = np.zeros((len(contexts) + 1, VOCAB_SIZE), np.float64)
    np.add.at(counts, (inverse, nxt), 1.0)
    counts[-1] = np.bincount(nxt, minlength=VOCAB_SIZE)
    probs = (counts + alpha) / (counts.sum(axis=1, keepdims=True) + alpha * VOCAB_SIZE)
    return NgramState(jnp.asarray(contexts, jnp.int32), jnp.asarray(np.log(probs), jnp.float32))


def fit_bigram(windows, alpha: float = 0.01) -> NgramState:
    """The byte bigram prior of :func:`fit_ngram` (order 2) with a dense context table: jittable (for use inside
    the engine's compiled loop), same probabilities."""
    w = jnp.asarray(windows).astype(jnp.int32)
    ctx = _context_ids(w, 2).reshape(-1)
    C = VOCAB_SIZE + 1  # every context id a window can hold (bytes and BOS)
    counts = jnp.bincount(ctx * VOCAB_SIZE + w.reshape(-1), length=C * VOCAB_SIZE).reshape(C, VOCAB_SIZE)
    counts = jnp.concatenate([counts, jnp.bincount(w.reshape(-1), length=VOCAB_SIZE)[None]]).astype(jnp.float32)
    logp = jnp.log(counts + alpha) - jnp.log(counts.sum(axis=1, keepdims=True) + alpha * VOCAB_SIZE)
    return NgramState(jnp.arange(C, dtype=jnp.int32), logp)


def ngram_prior(windows, order: int = 3, alpha: float = 0.01) -> Prior:
    """A byte n-gram prior fitted to int windows [N, L] (see :func:`fit_ngram`)."""
    return Prior(ngram_logprobs(order), fit_ngram(windows, order, alpha), f"byte {order}-gram (α={alpha})")


# -- jitted editing of a batch ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=32)
def editor(logprobs: Callable, rule: EditRule):
    """The compiled edit: fn(state, key, tokens [B, L], editable [B, L]) -> Edited (prior pass + redraw)."""
    def fn(state, key, tokens, editable):
        return edit_from_logprobs(key, tokens, logprobs(state, tokens), rule, editable)
    return jax.jit(fn)


@functools.lru_cache(maxsize=32)
def _stream_editor(logprobs: Callable, rule: EditRule):
    """As :func:`editor`, with window ``offset + i`` of the batch keyed ``fold_in(key, offset + i)``."""
    def fn(state, key, offset, tokens, editable):
        keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(offset + jnp.arange(tokens.shape[0]))
        return edit_from_logprobs(keys, tokens, logprobs(state, tokens), rule, editable)
    return jax.jit(fn)


def edit_windows(prior: Prior, rule: EditRule, key, tokens, editable=None) -> Edited:
    """Edit int windows [B, L] in one compiled call."""
    tokens = jnp.asarray(tokens, jnp.int32)
    require(tokens.ndim == 2, "tokens", tokens.shape, "an int array [B, L]")
    require(prior.context is None or tokens.shape[1] <= prior.context, "window length", tokens.shape[1],
            f"at most the prior's context {prior.context}")
    editable = jnp.ones(tokens.shape, bool) if editable is None else jnp.asarray(editable, bool)
    return editor(prior.logprobs, rule)(prior.state, key, tokens, editable)


# -- accounting -----------------------------------------------------------------------------------------
@dataclass
class EditStats:
    """Running totals over the scored positions (editable, not a window's first token)."""

    scored: int = 0
    eligible: int = 0
    changed: int = 0
    hist: np.ndarray = field(default_factory=lambda: np.zeros(HIST_BINS, np.int64))

    def add(self, e: Edited) -> None:
        s = np.asarray(e.scored)
        self.scored += int(s.sum())
        self.eligible += int(np.asarray(e.eligible).sum())
        self.changed += int(np.asarray(e.changed).sum())
        p = np.exp(np.asarray(e.logp_orig, np.float64))[s]
        self.hist += np.bincount(np.clip((p * HIST_BINS).astype(int), 0, HIST_BINS - 1), minlength=HIST_BINS)

    def summary(self) -> dict:
        n = max(self.scored, 1)
        return {"scored_tokens": self.scored, "eligible_fraction": self.eligible / n,
                "changed_fraction": self.changed / n, "prob_histogram": (self.hist / n).tolist()}


def mask_overlap(current, previous) -> dict:
    """How a generation's edit mask overlaps the previous one's (same positions of the same windows).

    overlap = |A ∩ B| / |A| (share of this generation's positions also edited last time); independent =
    |B| / N, its expectation if A were a uniformly random set of the same size (the i.i.d.-mask baseline;
    disjoint masks give 0); jaccard = |A ∩ B| / |A ∪ B|.
    """
    a, b = np.asarray(current, bool), np.asarray(previous, bool)
    inter, union = np.sum(a & b), np.sum(a | b)
    return {"overlap": float(inter / max(a.sum(), 1)), "independent": float(b.sum() / max(a.size, 1)),
            "jaccard": float(inter / max(union, 1))}


# -- streaming over documents ----------------------------------------------------------------------------
def _as_tokens(doc) -> tuple[np.ndarray, np.ndarray]:
    """(tokens, editable) of a document: str / int array (all editable) or (prompt, response) (response only)."""
    if isinstance(doc, tuple):
        require(len(doc) == 2, "document", f"a tuple of {len(doc)}", "(prompt, response)")
        p, r = (_as_tokens(x)[0] for x in doc)
        return np.concatenate([p, r]), np.concatenate([np.zeros(len(p), bool), np.ones(len(r), bool)])
    t = encode(doc) if isinstance(doc, str) else np.asarray(doc, np.int32).reshape(-1)
    return t.astype(np.int32), np.ones(len(t), bool)


def edit_corpus(docs: Iterable, prior: Prior, rule: EditRule, key, context: int = 64, batch: int = 64,
                stats: EditStats | None = None) -> Iterator[np.ndarray]:
    """Edit a stream of documents; yields each edited document as int32 tokens (same length, in order).

    Holds one batch of windows plus the documents they touch; every batch has the shape [batch, context] (short
    windows padded, never edited) so the whole stream runs one compiled program. ``stats`` accumulates counts.
    """
    require(isinstance(context, int) and context >= 2, "context", context, "an integer >= 2")
    require(isinstance(batch, int) and batch >= 1, "batch", batch, "an integer >= 1")
    require(prior.context is None or context <= prior.context, "context", context,
            f"at most the prior's context {prior.context}")
    fn = _stream_editor(prior.logprobs, rule)
    pending: dict[int, list] = {}  # doc index -> list of edited pieces
    next_out = 0
    done_docs: set[int] = set()
    buf: list = []
    n_windows = 0  # windows edited so far: window w is keyed fold_in(key, w), whatever the batch size

    def flush():
        nonlocal n_windows
        toks = np.zeros((batch, context), np.int32)
        ed = np.zeros((batch, context), bool)
        for j, (_, _, t, e) in enumerate(buf):
            toks[j, :len(t)], ed[j, :len(e)] = t, e
        out = fn(prior.state, key, jnp.int32(n_windows), jnp.asarray(toks), jnp.asarray(ed))
        n_windows += len(buf)
        if stats is not None:
            stats.add(out)
        new = np.asarray(out.tokens)
        for j, (i, s, t, _) in enumerate(buf):
            pending[i][s // context] = new[j, :len(t)]
        buf.clear()

    def ready():
        nonlocal next_out
        while next_out in done_docs and all(p is not None for p in pending[next_out]):
            pieces = pending.pop(next_out)
            yield np.concatenate(pieces) if pieces else np.zeros(0, np.int32)
            done_docs.discard(next_out)
            next_out += 1

    for i, doc in enumerate(docs):
        toks, editable = _as_tokens(doc)
        n = -(-len(toks) // context)
        pending[i] = [None] * n
        for s in range(0, len(toks), context):
            buf.append((i, s, toks[s:s + context], editable[s:s + context]))
            if len(buf) == batch:
                flush()
        done_docs.add(i)
        yield from ready()
    if buf:
        flush()
    yield from ready()
