"""Summarization under verification: the small seq2seq analog of Feng et al. 2025 (docs/papers/feng2025.md).

One run (one seed):
1. train a **generator** (encoder–decoder, :mod:`collapse.nn.seq2seq`) on ``n_real`` real (document,
   reference summary) pairs of a :class:`~collapse.tasks.summarize.SummarizeTask`;
2. train an **external scorer**: a separately trained model — larger (``external_width``,
   ``external_enc_depth``) and/or trained on more real pairs (``external_real``, default 4 × ``n_real``);
3. sample k candidate summaries per document for a pool of ``max(N)`` fresh documents (temperature sampling);
4. per **selector**, keep one candidate per document — ``oracle``: highest ROUGE-L against the reference;
   ``self``: highest log-likelihood under the generator; ``external``: highest log-likelihood under the
   external scorer; ``random``: uniform; ``none``: the first sample;
5. for each N (nested prefixes of the pool), train a fresh **student** (the generator's size and steps) on the
   N selected pairs and score its **greedy** summaries on a real test set.

A candidate is *correct* when its ROUGE-L F-measure against the reference is ≥ ``threshold`` (default 0.8: with
the task's 8-word summaries, at most one wrong word). Per (selector, N) the run records the student's ROUGE-1/2/L,
exact match and the shares of fact slots taken from the key fact / a distractor (the binding diagnostic,
:func:`~collapse.tasks.summarize.slot_sources`; mean and SE over the test documents), and the selection's
measured p, r, q, ϕ, ψ, p⋆ with the k candidates of a document as the population and the chosen one as "kept"
(:func:`collapse.selection.selection_stats`).
"""

from dataclasses import dataclass, field, fields
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from collapse.errors import require
from collapse.nn import seq2seq as s2s
from collapse.selection import best_of_k, selection_stats
from collapse.tasks.numbers import BOS
from collapse.tasks.summarize import (
    ROUGE_TYPES,
    SELECTORS,
    SUMMARY_LEN,
    Rouge,
    Selector,
    SummarizeTask,
    WordTokenizer,
    exact_match,
    selector_scores,
    slot_sources,
)
from collapse.validate import check_fields


@dataclass(frozen=True)
class SummarizeExperiment:
    """Settings of one run (every field is a ``--flag`` of ``gen_loop --model summarize``).

    human_sentences, distractor_facts, paraphrase, n_entities: the task's difficulty knobs (collapse.tasks.summarize).
    width, heads, enc_depth, dec_depth: generator and students. n_real: real pairs of the generator.
    pool_sizes: pool sizes N for the students. k: candidates per document; temperature: their sampling temperature.
    selectors: rules to compare. threshold: ROUGE-L at or above which a summary counts as correct.
    external_width, external_enc_depth, external_real, external_steps: the external scorer.
    steps, batch, lr: training of every model. test_size: real test documents. decode_batch: documents per
    compiled decoding call.
    """

    name: str = "summarize"
    human_sentences: int = 1
    distractor_facts: int = 1
    paraphrase: float = 0.5
    n_entities: int = 40
    width: int = 64
    heads: int = 4
    enc_depth: int = 2
    dec_depth: int = 1
    n_real: int = 500
    pool_sizes: tuple[int, ...] = (1000, 4000)
    k: int = 4
    temperature: float = 1.0
    selectors: tuple[Selector, ...] = SELECTORS
    threshold: float = 0.8
    external_width: int = 64
    external_enc_depth: int = 2
    external_real: int | None = None
    external_steps: int | None = None
    steps: int = 700
    batch: int = 32
    lr: float = 2e-3
    test_size: int = 1000
    decode_batch: int = 250

    def __post_init__(self):
        check_fields(self)
        _ = self.task  # validates the task's knobs
        require(isinstance(self.k, int) and self.k >= 1, "k", self.k, "an integer number of candidates >= 1")
        require(self.temperature > 0, "temperature", self.temperature, "> 0")
        require(isinstance(self.pool_sizes, tuple) and len(self.pool_sizes) >= 1 and all(isinstance(v, int) and v >= 1
                                                                      for v in self.pool_sizes),
                "pool_sizes", self.pool_sizes, "one or more positive integers (pool sizes)")
        require(isinstance(self.selectors, tuple) and len(self.selectors) >= 1
                and set(self.selectors) <= set(SELECTORS), "selectors", self.selectors,
                f"a non-empty list of {', '.join(SELECTORS)}")
        require(0 < self.threshold <= 1, "threshold", self.threshold, "a ROUGE-L value in (0, 1]")
        for name in ("n_real", "steps", "batch", "test_size", "decode_batch", "width", "external_width",
                     "enc_depth", "dec_depth", "external_enc_depth", "heads"):
            v = getattr(self, name)
            require(isinstance(v, int) and v >= 1, name, v, "a positive integer")
        for name in ("external_real", "external_steps"):
            v = getattr(self, name)
            require(v is None or (isinstance(v, int) and v >= 1), name, v, "a positive integer")
        require(self.lr > 0, "lr", self.lr, "> 0")

    @property
    def task(self) -> SummarizeTask:
        return SummarizeTask(human_sentences=self.human_sentences, distractor_facts=self.distractor_facts,
                             paraphrase=self.paraphrase, n_entities=self.n_entities)

    def model_config(self, tok: WordTokenizer, external: bool = False) -> s2s.Seq2SeqConfig:
        width = self.external_width if external else self.width
        depth = self.external_enc_depth if external else self.enc_depth
        heads = max(1, self.heads * width // self.width)
        return s2s.Seq2SeqConfig(tok.vocab_size, tok.src_len, SUMMARY_LEN, width=width, heads=heads,
                                 enc_depth=depth, dec_depth=self.dec_depth)


@dataclass
class RunResult:
    """Everything one seed produced: the generator's and external scorer's test ROUGE, one row per
    (selector, N), and pool statistics."""

    generator: dict
    external: dict | None
    rows: list = field(default_factory=list)
    pool_stats: dict = field(default_factory=dict)


# --- decoding and scoring -----------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("graphdef", "length", "k"))
def sample(graphdef, params, src, key, temperature, *, length, k):
    """k samples per source at ``temperature``: src [B, S] → (tokens [B, k, length], log-likelihood [B, k]
    under the model itself, i.e. at temperature 1)."""
    model = nnx.merge(graphdef, params)
    memory = jnp.repeat(model.encoder(src), k, axis=0)
    decoder, rows = model.decoder, src.shape[0] * k

    def step(carry, t):
        tok, cache, score = carry
        logits, cache = decoder.decode(tok[:, None], cache, encoder_out=memory)
        logp = jax.nn.log_softmax(logits[:, 0].astype(jnp.float32))
        nxt = jax.random.categorical(jax.random.fold_in(key, t), logp / temperature).astype(jnp.int32)
        return (nxt, cache, score + jnp.take_along_axis(logp, nxt[:, None], 1)[:, 0]), nxt

    init = (jnp.full((rows,), BOS, jnp.int32), decoder.init_cache(rows, length), jnp.zeros((rows,), jnp.float32))
    (_, _, score), toks = jax.lax.scan(step, init, jnp.arange(length))
    return toks.T.reshape(src.shape[0], k, length), score.reshape(src.shape[0], k)


@partial(jax.jit, static_argnames=("graphdef",))
def sequence_logprob(graphdef, params, src, tgt):
    """Teacher-forced log-likelihood of each target: src [B, S], tgt [B, L] → [B]."""
    logits = nnx.merge(graphdef, params)(src, s2s.shift_right(tgt))
    logp = jax.nn.log_softmax(logits.astype(jnp.float32))
    return jnp.take_along_axis(logp, tgt[..., None], -1)[..., 0].sum(-1)


def _rouge_summary(preds, examples) -> dict:
    refs = [e.summary for e in examples]
    scores = Rouge()(preds, refs)
    scores["exact"] = exact_match(preds, refs).astype(float)
    sources = slot_sources(preds, examples)
    scores["key_slots"], scores["distractor_slots"] = sources["key"], sources["distractor"]
    out = {}
    for name, v in scores.items():
        v = v[~np.isnan(v)]
        n = len(v)
        out[name] = {"mean": float(v.mean()) if n else float("nan"),
                     "se": float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0}
    return out


def evaluate(graphdef, params, tok: WordTokenizer, test_src, test_examples, batch: int) -> dict:
    """Greedy summaries of the test documents scored against their references: {metric: {mean, se}} for
    ROUGE-1/2/L, exact match, and the shares of fact slots taken from the key fact / a distractor
    (:func:`~collapse.tasks.summarize.slot_sources`)."""
    fn = lambda x: s2s.greedy(graphdef, params, x, length=SUMMARY_LEN)  # noqa: E731
    tokens, _ = s2s.batched(fn, test_src, batch)
    return _rouge_summary([tok.decode(t) for t in tokens], test_examples)


def _fit(exp, cfg, src, tgt, count, steps, seed, key, progress, what):
    graphdef, params = s2s.init_model(cfg, seed)
    report = lambda s, loss: progress(f"{what}: step {s}/{steps}, loss {loss:.3f}")  # noqa: E731
    tc = s2s.train_config(steps, exp.batch, exp.lr)
    params, _ = s2s.train(graphdef, params, src, tgt, tc, key, count, report)
    return graphdef, params


# --- the run ------------------------------------------------------------------------------------------
def run(exp: SummarizeExperiment, seed: int, progress=lambda msg: None) -> RunResult:
    """One seed of the experiment (module doc). Deterministic for (exp, seed) on a given backend."""
    task = exp.task
    tok = WordTokenizer(task)
    base = jax.random.key(seed)
    keys = {n: jax.random.fold_in(base, i) for i, n in enumerate(("generator", "external", "sample", "student"))}
    n_ext = exp.external_real or 4 * exp.n_real
    real = task.examples(max(exp.n_real, n_ext), seed=10 * seed + 1)
    test = task.examples(exp.test_size, seed=10 * seed + 2)
    pool = task.examples(max(exp.pool_sizes), seed=10 * seed + 3)
    src_real = tok.encode_documents([e.document for e in real])
    tgt_real = tok.encode_summaries([e.summary for e in real])
    test_src = tok.encode_documents([e.document for e in test])
    pool_src, pool_refs = tok.encode_documents([e.document for e in pool]), [e.summary for e in pool]

    gen = _fit(exp, exp.model_config(tok), src_real, tgt_real, exp.n_real, exp.steps, 1000 * seed + 1,
               keys["generator"], progress, "generator")
    result = RunResult(evaluate(*gen, tok, test_src, test, exp.decode_batch), None)
    progress(f"generator ROUGE-L {result.generator['rougeL']['mean']:.3f}")

    progress(f"sampling {exp.k} candidates for {len(pool)} fresh documents")
    fn = lambda x: sample(*gen, x, keys["sample"], exp.temperature, length=SUMMARY_LEN, k=exp.k)  # noqa: E731
    cand_tok, self_logp = s2s.batched(fn, pool_src, exp.decode_batch)  # [M, k, L], [M, k]
    m, k = self_logp.shape
    cand_text = [tok.decode(t) for t in cand_tok.reshape(m * k, -1)]
    rouge_l = Rouge()(cand_text, [r for r in pool_refs for _ in range(k)])["rougeL"].reshape(m, k)
    correct = rouge_l >= exp.threshold
    result.pool_stats = {"first_correct": float(correct[:, 0].mean()), "any_correct": float(correct.any(1).mean()),
                         "mean_candidate_rougeL": float(rouge_l.mean())}

    external_logp = None
    if "external" in exp.selectors:
        ext = _fit(exp, exp.model_config(tok, external=True), src_real, tgt_real, n_ext,
                   exp.external_steps or exp.steps, 1000 * seed + 2, keys["external"], progress, "external scorer")
        result.external = evaluate(*ext, tok, test_src, test, exp.decode_batch)
        progress(f"external scorer's own ROUGE-L {result.external['rougeL']['mean']:.3f}")
        flat_src, flat_tok, b = np.repeat(pool_src, k, axis=0), cand_tok.reshape(m * k, -1), exp.decode_batch
        external_logp = np.concatenate([
            np.asarray(sequence_logprob(*ext, jnp.asarray(flat_src[i:i + b]), jnp.asarray(flat_tok[i:i + b])))
            for i in range(0, m * k, b)]).reshape(m, k)

    rng = np.random.default_rng([seed, 9])
    for rule in exp.selectors:
        scores = selector_scores(rule, rouge_l=rouge_l, self_logp=self_logp, external_logp=external_logp,
                                 rng=rng, shape=(m, k))
        pick = np.asarray(best_of_k(jnp.asarray(scores)))
        chosen = np.zeros((m, k), bool)
        chosen[np.arange(m), pick] = True
        labels = cand_tok[np.arange(m), pick]
        for N in exp.pool_sizes:
            stats = selection_stats(jnp.asarray(correct[:N]), jnp.asarray(chosen[:N]))
            st = _fit(exp, exp.model_config(tok), pool_src, labels, N, exp.steps, 1000 * seed + 3,
                      jax.random.fold_in(keys["student"], N), progress, f"student {rule} N={N}")
            row = {"selector": rule, "N": N, "chosen_correct": float(correct[np.arange(N), pick[:N]].mean()),
                   **{name: float(v) for name, v in stats._asdict().items() if name not in ("n", "kept_count")},
                   "student": evaluate(*st, tok, test_src, test, exp.decode_batch)}
            progress(f"{rule:>9} N={N:>6}: chosen correct {row['chosen_correct']:.3f}, p*={row['p_star']:.2f}; "
                     f"student ROUGE-L {row['student']['rougeL']['mean']:.3f}")
            result.rows.append(row)
    return result


def experiment_fields():
    return [f for f in fields(SummarizeExperiment) if f.name != "name"]


__all__ = ["ROUGE_TYPES", "RunResult", "SummarizeExperiment", "evaluate", "run", "sample", "sequence_logprob"]
