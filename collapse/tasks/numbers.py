"""Number tokenizers at 3 significant digits (Charton 2022, "Linear algebra with transformers"; docs/papers/).

A real x is rounded to x̃ = s · m · 10^e with s ∈ {+, −}, mantissa m ∈ {100, …, 999} and exponent
e ∈ [e_min, e_max] (zero is m = 0, e = 0, s = +). Magnitudes below 100·10^e_min round to zero; above
999·10^e_max raise (a tokenizer cannot represent them).

- **P1000**: three tokens per number — sign, mantissa (one base-1000 digit), exponent.
- **FP15**: one token per number — (s, m, e) packed into a single id (plus one id for zero).

Every vocabulary starts with the special tokens PAD = 0, BOS = 1, EOS = 2 shared by all tokenizers, so a
model can be built from ``vocab_size`` alone. Decoding is vectorized (NumPy or jax.numpy, jit-safe): a
sequence that breaks the grammar (wrong token class at a position, or no EOS where the last number ends)
decodes to NaN, which every metric counts as wrong.
"""

from dataclasses import dataclass
from typing import Literal, get_args

import numpy as np

from collapse.errors import require

PAD, BOS, EOS = 0, 1, 2
N_SPECIAL = 3
Tokenizer = Literal["p1000", "fp15"]
TOKENIZERS = get_args(Tokenizer)


def round3(x):
    """(sign, mantissa, exponent) of x at 3 significant digits: x ≈ sign·m·10^e, m ∈ [100, 999] or m = 0.

    x: float array (any shape). Returns int64 arrays of the same shape; sign ∈ {+1, −1} (+1 for zero).
    """
    x = np.asarray(x, np.float64)
    a = np.abs(x)
    nz = a > 0
    e = np.where(nz, np.floor(np.log10(np.where(nz, a, 1.0))) - 2, 0).astype(np.int64)
    m = np.rint(np.where(nz, a / np.power(10.0, e), 0.0)).astype(np.int64)
    # floor(log10) can be off by one near powers of ten; fix both directions.
    hi = m >= 1000
    m, e = np.where(hi, np.rint(np.where(nz, a / np.power(10.0, e + 1), 0)).astype(np.int64), m), e + hi
    lo = nz & (m < 100)
    m, e = np.where(lo, np.rint(np.where(nz, a / np.power(10.0, e - 1), 0)).astype(np.int64), m), e - lo
    m = np.where(m >= 1000, 100, m)  # 999.5 → 1000 after the downward fix
    sign = np.where(x < 0, -1, 1)
    return sign.astype(np.int64), m, np.where(m == 0, 0, e)


@dataclass(frozen=True)
class NumberTokenizer:
    """A 3-significant-digit number tokenizer.

    kind: "p1000" (3 tokens per number) or "fp15" (1 token per number).
    e_min, e_max: exponent range of the mantissa m ∈ [100, 999]; the default [−6, 1] covers
        1.00·10⁻⁴ ≤ |x| ≤ 9990 — enough for U[−10, 10] entries and eigenvalues of matrices up to n ≈ 100.
    """

    kind: str = "p1000"
    e_min: int = -6
    e_max: int = 1

    def __post_init__(self):
        require(self.kind in TOKENIZERS, "tokenizer", self.kind, f"one of {', '.join(TOKENIZERS)}")
        require(isinstance(self.e_min, int) and isinstance(self.e_max, int) and self.e_min <= self.e_max,
                "e_max", (self.e_min, self.e_max), "an integer >= e_min")
        require(self.e_min <= 0 <= self.e_max, "e_min", (self.e_min, self.e_max),
                "a range [e_min, e_max] that contains 0 (zero is written with exponent 0)")

    # --- layout ---------------------------------------------------------------------------------
    @property
    def n_exp(self) -> int:
        return self.e_max - self.e_min + 1

    @property
    def width(self) -> int:
        """Tokens per number."""
        return 3 if self.kind == "p1000" else 1

    @property
    def vocab_size(self) -> int:
        if self.kind == "p1000":  # specials, +/−, 1000 mantissas, exponents
            return N_SPECIAL + 2 + 1000 + self.n_exp
        return N_SPECIAL + 1 + 2 * 900 * self.n_exp  # specials, zero, (sign, m, e)

    def seq_len(self, count: int) -> int:
        """Length of an encoded sequence of ``count`` numbers, EOS included (no BOS)."""
        return count * self.width + 1

    # --- encode ---------------------------------------------------------------------------------
    def encode_numbers(self, x) -> np.ndarray:
        """x: [..., c] floats → tokens [..., c·width] (no EOS). Raises ConfigError if |x| is too large."""
        s, m, e = round3(x)
        top = 999 * 10.0**self.e_max
        require(bool(np.all(np.abs(np.asarray(x, float)) < top)), "x", float(np.max(np.abs(x))),
                f"|x| < {top:g} (tokenizer e_max={self.e_max})")
        small = e < self.e_min
        m, e, s = np.where(small, 0, m), np.where(small, 0, e), np.where(small, 1, s)
        if self.kind == "p1000":
            t_s = N_SPECIAL + (s < 0)
            t_m = N_SPECIAL + 2 + m
            t_e = N_SPECIAL + 2 + 1000 + np.where(m == 0, -self.e_min, e - self.e_min)  # zero uses 10^0
            return np.stack([t_s, t_m, t_e], axis=-1).reshape(*np.shape(x)[:-1], -1).astype(np.int32)
        code = ((s < 0) * 900 + (m - 100)) * self.n_exp + (e - self.e_min)
        return np.where(m == 0, N_SPECIAL, N_SPECIAL + 1 + code).astype(np.int32)

    def encode(self, x) -> np.ndarray:
        """x: [..., c] → [..., c·width + 1] tokens ending with EOS."""
        t = self.encode_numbers(x)
        return np.concatenate([t, np.full((*t.shape[:-1], 1), EOS, np.int32)], axis=-1)

    # --- decode ---------------------------------------------------------------------------------
    def tables(self, xp=np):
        """(kind, value) per token id: kind −1 = special/invalid, else the position class within a number
        (0..width−1); value = what the token contributes (sign ±1, mantissa, exponent, or the number)."""
        V = self.vocab_size
        ids = np.arange(V)
        if self.kind == "p1000":
            kind = np.full(V, -1)
            val = np.zeros(V)
            sl = slice(N_SPECIAL, N_SPECIAL + 2)
            kind[sl], val[sl] = 0, [1.0, -1.0]
            sl = slice(N_SPECIAL + 2, N_SPECIAL + 1002)
            kind[sl], val[sl] = 1, np.arange(1000)
            sl = slice(N_SPECIAL + 1002, V)
            kind[sl], val[sl] = 2, np.arange(self.e_min, self.e_max + 1)
        else:
            kind = np.where(ids >= N_SPECIAL, 0, -1)
            code = np.maximum(ids - N_SPECIAL - 1, 0)
            e = code % self.n_exp + self.e_min
            m = (code // self.n_exp) % 900 + 100
            s = np.where(code // (900 * self.n_exp) > 0, -1.0, 1.0)
            val = np.where(ids > N_SPECIAL, s * m * np.power(10.0, e), 0.0)
        return xp.asarray(kind, dtype=xp.int32), xp.asarray(val, dtype=xp.float32 if xp is not np else np.float64)

    def decode(self, tokens, count: int, xp=np):
        """tokens [..., L] (L ≥ count·width + 1, anything after EOS ignored) → values [..., count].

        Rows that break the grammar decode to NaN. Works under jax.jit with ``xp=jax.numpy`` (float32).
        """
        kind_t, val_t = self.tables(xp)
        w, n = self.width, count * self.width
        body = tokens[..., :n]
        ok = xp.all(kind_t[body] == xp.asarray(np.tile(np.arange(w), count)), axis=-1)
        ok = ok & (tokens[..., n] == EOS)
        v = val_t[body].reshape(*body.shape[:-1], count, w)
        if self.kind == "p1000":
            m, e = v[..., 1], v[..., 2]
            ok = ok & xp.all((m == 0) | (m >= 100), axis=-1)  # a mantissa must have 3 significant digits
            ok = ok & xp.all((m > 0) | ((e == 0) & (v[..., 0] > 0)), axis=-1)  # zero is written +, 0, E0
            x = v[..., 0] * m * xp.power(10.0, xp.clip(e, self.e_min, self.e_max))  # clip: rows may be invalid
        else:
            x = v[..., 0]
        return xp.where(ok[..., None], x, xp.nan)
