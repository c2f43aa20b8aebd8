"""The eigenvalue task of Feng et al. 2025 §2.2 (setup of Charton, "Linear algebra with transformers").

Inputs: random symmetric n×n matrices with entries U[−scale, scale] (upper triangle drawn, mirrored). Target:
the n eigenvalues sorted decreasingly, exact (``numpy.linalg.eigvalsh`` in float64). Both sides are written
at 3 significant digits by a :class:`~collapse.tasks.numbers.NumberTokenizer`.

The input sequence is the n(n+1)/2 upper-triangle entries row by row — a symmetric matrix is determined by
them, and the sequence is 40% shorter than the full n² matrix Charton encodes (which matters on a CPU).

Metric (Charton 2022; Feng et al. 2025): a prediction λ̂ is correct at tolerance τ iff Σ|λ̂ᵢ − λᵢ| / Σ|λᵢ| < τ; an
undecodable prediction (NaN) is wrong. The model's accuracy is the fraction of test matrices whose
**greedy** decode is correct; best-of-k with an oracle is a selection rule, never an accuracy.
"""

from dataclasses import dataclass

import numpy as np

from collapse.errors import require
from collapse.tasks.numbers import NumberTokenizer

TAUS = (0.05, 0.02, 0.01, 0.005)


def relative_error(pred, true, xp=np):
    """Σ|λ̂ − λ| / Σ|λ| over the last axis; +inf where the prediction is undecodable (NaN).

    pred, true: [..., n]. Returns [...]."""
    err = xp.sum(xp.abs(pred - true), axis=-1) / xp.sum(xp.abs(true), axis=-1)
    return xp.where(xp.isnan(err), xp.inf, err)


def is_correct(pred, true, tau: float, xp=np):
    """[...] bool: correct iff the relative error is below τ (NaN predictions are wrong)."""
    check_tau(tau)
    return relative_error(pred, true, xp) < tau


def check_tau(tau) -> None:
    require(isinstance(tau, float | int) and tau > 0, "tau", tau, "a tolerance > 0 (e.g. 0.05)")


@dataclass(frozen=True)
class EigenTask:
    """n: matrix size (≥ 2). scale: entries U[−scale, scale]. tokenizer: "p1000" or "fp15"."""

    n: int = 5
    scale: float = 10.0
    tokenizer: str = "p1000"

    def __post_init__(self):
        require(isinstance(self.n, int) and self.n >= 2, "n", self.n, "an integer matrix size >= 2")
        require(self.scale > 0, "scale", self.scale, "> 0")
        require(self.n * self.scale < 9990, "scale", self.scale, "small enough that eigenvalues fit the tokenizer")
        NumberTokenizer(self.tokenizer)  # validates the tokenizer name

    @property
    def tok(self) -> NumberTokenizer:
        return NumberTokenizer(self.tokenizer)

    @property
    def n_inputs(self) -> int:
        return self.n * (self.n + 1) // 2

    @property
    def src_len(self) -> int:
        return self.tok.seq_len(self.n_inputs)

    @property
    def tgt_len(self) -> int:
        return self.tok.seq_len(self.n)

    @property
    def vocab_size(self) -> int:
        return self.tok.vocab_size

    def sample(self, rng: np.random.Generator, count: int):
        """(A [count, n, n] float64 symmetric, λ [count, n] decreasing)."""
        iu = np.triu_indices(self.n)
        upper = rng.uniform(-self.scale, self.scale, size=(count, len(iu[0])))
        A = np.zeros((count, self.n, self.n))
        A[:, iu[0], iu[1]] = upper
        A[:, iu[1], iu[0]] = upper
        return A, eigenvalues(A)

    def src_tokens(self, A) -> np.ndarray:
        """[count, n, n] → [count, src_len] int32 (upper triangle, EOS-terminated)."""
        iu = np.triu_indices(self.n)
        return self.tok.encode(np.asarray(A)[:, iu[0], iu[1]])

    def tgt_tokens(self, lam) -> np.ndarray:
        """[count, n] → [count, tgt_len] int32 (EOS-terminated, no BOS)."""
        return self.tok.encode(lam)

    def decode(self, tokens, xp=np):
        """[..., ≥ tgt_len] tokens → [..., n] eigenvalues (NaN if undecodable)."""
        return self.tok.decode(tokens, self.n, xp)


def eigenvalues(A) -> np.ndarray:
    """Exact eigenvalues of symmetric matrices [..., n, n], sorted decreasingly (float64)."""
    return np.linalg.eigvalsh(np.asarray(A, np.float64))[..., ::-1].copy()
