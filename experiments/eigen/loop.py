"""Collapse on synthesized eigenvalues, and its rescue by verification (Feng et al. 2025; docs/papers/feng2025.md).

One run (one seed):
1. train a **generator** on ``n_real`` real (matrix, exact eigenvalues) pairs;
2. decode k beams for a pool of ``max(N)`` fresh matrices;
3. per **selection rule**, choose a label per matrix and whether to keep it:
   - ``top``: the top beam, always kept (no verification: the collapse baseline);
   - ``oracle-prune``: the top beam, kept iff it is correct at τ (oracle verifier, ϕ = 1, ψ = 0);
   - ``oracle-best``: best-of-k by oracle distance (the beam closest to the true eigenvalues), always kept;
   - ``noisy``: the top beam, kept with probability ϕ if correct and ψ if wrong (a verifier with set (ϕ, ψ));
   - ``learned``: a weak learned verifier — a smaller transformer trained on the same real data; best-of-k by
     distance to its greedy answer, kept iff that distance is below τ (its ϕ, ψ are measured, not set);
   - ``real``: exact labels for the same matrices (a reference: what N real examples would give);
4. for each N (nested prefixes of the pool), train a fresh **student** on the kept part of the first N and
   measure its **greedy** accuracy on the test set at every τ in TAUS.

Per (rule, N) the run records the student's accuracy and the selection's measured p, r, q, ϕ, ψ, p⋆
(:func:`collapse.selection.selection_stats`; "correct" means the chosen label is within τ of the truth).
Nothing here prints or writes files; ``progress(message)`` reports what is happening.
"""

from dataclasses import dataclass, field
from typing import Literal, get_args

import jax
import jax.numpy as jnp
import numpy as np

from collapse.errors import require
from collapse.nn import seq2seq as s2s
from collapse.selection import keep_phi_psi, selection_stats
from collapse.tasks.eigen import TAUS, EigenTask, check_tau, relative_error
from collapse.tasks.numbers import TOKENIZERS, Tokenizer
from collapse.validate import check_fields

Rule = Literal["top", "oracle-prune", "oracle-best", "noisy", "learned", "real"]
RULES = get_args(Rule)


@dataclass(frozen=True)
class EigenExperiment:
    """Settings of one collapse-and-rescue run (every field is a ``--flag`` of ``gen_loop --model eigen``).

    n: matrix size; tokenizer: p1000 | fp15. width, heads, enc_depth, dec_depth: the transformer (the paper's is
    512, 8, 6, 1). n_real: real training pairs of the generator.
    pool_sizes: synthetic pool sizes N for the students. k: beams.
    tau: the tolerance that defines "correct" for selection (accuracy is reported at every τ in TAUS as well).
    rules: selection rules (see module doc). phi, psi: the noisy verifier's keep probabilities.
    steps, batch, lr: training of the generator; student_steps: of each student (default: steps, equal compute).
    verifier_width, verifier_steps: the weak learned verifier (same depth ratio, smaller).
    test_size: real test matrices for greedy accuracy. decode_batch: matrices per compiled decoding call.
    """

    name: str = "eigen"
    n: int = 5
    tokenizer: Tokenizer = "p1000"
    width: int = 64
    heads: int = 4
    enc_depth: int = 6
    dec_depth: int = 1
    n_real: int = 2000
    pool_sizes: tuple[int, ...] = (1000, 4000, 16000)
    k: int = 4
    tau: float = 0.05
    rules: tuple[Rule, ...] = ("top", "oracle-prune", "oracle-best", "noisy", "learned")
    phi: float = 0.9
    psi: float = 0.3
    steps: int = 3000
    student_steps: int | None = None
    batch: int = 64
    lr: float = 2e-3
    verifier_width: int = 32
    verifier_steps: int | None = None
    test_size: int = 1000
    decode_batch: int = 250
    scale: float = 10.0

    def __post_init__(self):
        check_fields(self)
        require(self.tokenizer in TOKENIZERS, "tokenizer", self.tokenizer, f"one of {', '.join(TOKENIZERS)}")
        EigenTask(n=self.n, scale=self.scale, tokenizer=self.tokenizer)  # validates n (>= 2) and scale
        require(isinstance(self.k, int) and self.k >= 1, "k", self.k, "an integer number of beams >= 1")
        check_tau(self.tau)
        require(isinstance(self.pool_sizes, tuple) and len(self.pool_sizes) >= 1 and all(isinstance(v, int) and v >= 1
                                                                      for v in self.pool_sizes),
                "pool_sizes", self.pool_sizes, "one or more positive integers (pool sizes)")
        require(isinstance(self.rules, tuple) and len(self.rules) >= 1 and set(self.rules) <= set(RULES),
                "rules", self.rules, f"a non-empty list of {', '.join(RULES)}")
        require(0 <= self.phi <= 1, "phi", self.phi, "a probability in [0, 1]")
        require(0 <= self.psi <= 1, "psi", self.psi, "a probability in [0, 1]")
        for name in ("n_real", "steps", "batch", "test_size", "decode_batch", "width", "verifier_width"):
            v = getattr(self, name)
            require(isinstance(v, int) and v >= 1, name, v, "a positive integer")
        for name in ("student_steps", "verifier_steps"):
            v = getattr(self, name)
            require(v is None or (isinstance(v, int) and v >= 1), name, v, "a positive integer")
        require(self.lr > 0, "lr", self.lr, "> 0")
        self.model_config(self.width)  # validates width/heads

    @property
    def task(self) -> EigenTask:
        return EigenTask(n=self.n, scale=self.scale, tokenizer=self.tokenizer)

    def model_config(self, width: int) -> s2s.Seq2SeqConfig:
        t = self.task
        heads = self.heads if width == self.width else max(1, self.heads * width // self.width)
        return s2s.Seq2SeqConfig(t.vocab_size, t.src_len, t.tgt_len, width=width, heads=heads,
                                 enc_depth=self.enc_depth, dec_depth=self.dec_depth)

    def train_config(self, steps: int):
        return s2s.train_config(steps, self.batch, self.lr)


@dataclass
class Trained:
    """A trained model and its greedy accuracy on the test set (accuracy: {τ: fraction correct})."""

    graphdef: object
    params: object
    accuracy: dict
    losses: np.ndarray


@dataclass
class RunResult:
    """Everything one seed produced. rows: one dict per (rule, N) with accuracy and selection stats."""

    generator: dict  # {τ: greedy accuracy}
    verifier: dict | None  # the learned verifier's own greedy accuracy
    rows: list = field(default_factory=list)
    pool_stats: dict = field(default_factory=dict)  # e.g. how often any beam is correct (oracle best-of-k)


def _split_keys(seed: int):
    base = jax.random.key(seed)
    return {name: jax.random.fold_in(base, i) for i, name in enumerate(
        ("generator", "verifier", "noisy", "student", "init"))}


def fit(exp: EigenExperiment, src, tgt, count, width, steps, seed, key, test, progress, what) -> Trained:
    """Train a fresh model of ``width`` on rows [0, count) and measure its greedy test accuracy."""
    graphdef, params = s2s.init_model(exp.model_config(width), seed)
    done = lambda s, loss: progress(f"{what}: step {s}/{steps}, loss {loss:.3f}")  # noqa: E731
    params, losses = s2s.train(graphdef, params, src, tgt, exp.train_config(steps), key, count, done)
    return Trained(graphdef, params, accuracy(exp, graphdef, params, *test), losses)


def greedy_values(exp: EigenExperiment, graphdef, params, src) -> np.ndarray:
    """Greedy decode of src [M, S] → eigenvalues [M, n] (NaN where undecodable)."""
    fn = lambda x: s2s.greedy(graphdef, params, x, length=exp.task.tgt_len)  # noqa: E731
    tokens, _ = s2s.batched(fn, src, exp.decode_batch)
    return exp.task.decode(tokens)


def accuracy(exp: EigenExperiment, graphdef, params, src, lam) -> dict:
    """{"τ": fraction of test matrices whose greedy decode is within τ} — THE accuracy of a model (keys are
    τ formatted with ``tau_key``, so the dict survives a JSON round trip unchanged)."""
    err = relative_error(greedy_values(exp, graphdef, params, src), lam)
    return {tau_key(tau): float(np.mean(err < tau)) for tau in TAUS}


def tau_key(tau: float) -> str:
    return f"{tau:g}"


def select(exp: EigenExperiment, rule: str, cand, cand_tok, err, lam, key, verifier_pred=None):
    """Apply one selection rule to the pool.

    cand [M, k, n] candidate eigenvalues (beams, best first), cand_tok [M, k, L] their tokens, err [M, k] their
    oracle relative errors, lam [M, n] the truth. Returns (labels tokens [M, L], correct bool [M], kept bool [M]).
    """
    m = cand.shape[0]
    rows = np.arange(m)
    if rule == "oracle-best":
        pick = np.argmin(err, axis=1)
    elif rule == "learned":
        pick = np.argmin(relative_error(cand, verifier_pred[:, None, :]), axis=1)
    else:
        pick = np.zeros(m, int)
    labels, chosen_err = cand_tok[rows, pick], err[rows, pick]
    correct = chosen_err < exp.tau
    if rule == "top" or rule == "oracle-best":
        kept = np.ones(m, bool)
    elif rule == "oracle-prune":
        kept = correct
    elif rule == "noisy":
        kept = np.asarray(keep_phi_psi(key, jnp.asarray(correct), exp.phi, exp.psi))
    elif rule == "learned":
        kept = relative_error(cand[rows, pick], verifier_pred) < exp.tau
    elif rule == "real":
        labels, correct, kept = exp.task.tgt_tokens(lam), np.ones(m, bool), np.ones(m, bool)
    else:
        raise ValueError(rule)
    return labels, correct, kept


def run(exp: EigenExperiment, seed: int, progress=lambda msg: None) -> RunResult:
    """One seed of the experiment (see the module doc). Deterministic for (exp, seed) on a given backend."""
    task, keys = exp.task, _split_keys(seed)
    rng = np.random.default_rng([seed, 8])
    A_real, lam_real = task.sample(rng, exp.n_real)
    A_test, lam_test = task.sample(rng, exp.test_size)
    A_pool, lam_pool = task.sample(rng, max(exp.pool_sizes))
    src_real, tgt_real = task.src_tokens(A_real), task.tgt_tokens(lam_real)
    test = (task.src_tokens(A_test), lam_test)
    src_pool = task.src_tokens(A_pool)

    gen = fit(exp, src_real, tgt_real, exp.n_real, exp.width, exp.steps, seed * 1000 + 1, keys["generator"],
              test, progress, "generator")
    progress(f"generator greedy accuracy: {_fmt(gen.accuracy)}")
    progress(f"decoding {exp.k} beams for {len(A_pool)} fresh matrices")
    fn = lambda x: s2s.beam_search(gen.graphdef, gen.params, x, length=task.tgt_len, k=exp.k)  # noqa: E731
    cand_tok, _ = s2s.batched(fn, src_pool, exp.decode_batch)
    cand = task.decode(cand_tok)  # [M, k, n]
    err = relative_error(cand, lam_pool[:, None, :])  # [M, k]
    result = RunResult(gen.accuracy, None)
    result.pool_stats = {"top_beam_correct": float(np.mean(err[:, 0] < exp.tau)),
                         "any_beam_correct": float(np.mean(np.min(err, axis=1) < exp.tau)),
                         "undecodable_top_beam": float(np.mean(~np.isfinite(err[:, 0])))}

    verifier_pred = None
    if "learned" in exp.rules:
        ver = fit(exp, src_real, tgt_real, exp.n_real, exp.verifier_width, exp.verifier_steps or exp.steps // 2,
                  seed * 1000 + 2, keys["verifier"], test, progress, "verifier")
        result.verifier = ver.accuracy
        progress(f"learned verifier's own greedy accuracy: {_fmt(ver.accuracy)}")
        verifier_pred = greedy_values(exp, ver.graphdef, ver.params, src_pool)

    student_steps = exp.student_steps or exp.steps
    for rule in exp.rules:
        labels, correct, kept = select(exp, rule, cand, cand_tok, err, lam_pool, keys["noisy"], verifier_pred)
        for N in exp.pool_sizes:
            stats = selection_stats(jnp.asarray(correct[:N]), jnp.asarray(kept[:N]))
            idx = np.flatnonzero(kept[:N])
            row = {"rule": rule, "N": N, "kept": int(idx.size),
                   **{k: float(v) for k, v in stats._asdict().items() if k not in ("n", "kept_count")}}
            if idx.size == 0:
                row["accuracy"] = {tau_key(tau): float("nan") for tau in TAUS}
            else:
                # Fixed capacity max(N): every student's arrays have one shape, so training compiles once.
                src_s = np.zeros_like(src_pool)
                tgt_s = np.zeros((len(src_pool), labels.shape[1]), labels.dtype)
                src_s[:idx.size], tgt_s[:idx.size] = src_pool[idx], labels[idx]
                st = fit(exp, src_s, tgt_s, idx.size, exp.width, student_steps, seed * 1000 + 3,
                         jax.random.fold_in(keys["student"], N), test, progress, f"student {rule} N={N}")
                row["accuracy"] = st.accuracy
            progress(f"{rule:>12} N={N:>6}: kept {row['kept']:>6}, q={row['q']:.3f}, phi={row['phi']:.2f}, "
                     f"psi={row['psi']:.2f}, p*={row['p_star']:.2f}; student {_fmt(row['accuracy'])}")
            result.rows.append(row)
    return result


def _fmt(acc: dict) -> str:
    return ", ".join(f"τ={tau}: {a:.3f}" for tau, a in acc.items())
