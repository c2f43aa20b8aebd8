"""Count blocks of discrete symbols and the samplers shared by the discrete families (categorical, zipf): a
block of M samples over V symbols is its count vector (exact in law: a multinomial draw), so memory and time are
O(V) per block, not O(M)."""

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class CategoricalData(NamedTuple):
    """A block of m samples. rows: [m, 0] float (the sample axis only); counts: [V] float, summing to m."""

    rows: jax.Array
    counts: jax.Array


def is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_real(value) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_) \
        and math.isfinite(value)


def zipf_probs(V: int, beta: float) -> np.ndarray:
    """p_i ∝ i^(−β), i = 1..V (float64)."""
    w = np.arange(1, V + 1, dtype=float) ** (-float(beta))
    return w / w.sum()


def sampling_map(p, temperature=1.0, top_k=None, top_p=1.0):
    """The sampler's distribution q from p [V]: q ∝ p^(1/τ) on p's support, then the k most likely symbols
    (ties by index), then the smallest most-likely set of mass ≥ top_p (the symbol that crosses top_p is
    kept). Exact maps on the vector; each renormalises."""
    q = p
    if temperature != 1.0:
        logq = jnp.where(p > 0, jnp.log(jnp.where(p > 0, p, 1.0)) / temperature, -jnp.inf)
        q = jax.nn.softmax(logq)
    if top_k is not None and top_k < p.shape[0]:
        _, idx = jax.lax.top_k(q, top_k)
        keep = jnp.zeros(q.shape, bool).at[idx].set(True)
        q = jnp.where(keep, q, 0.0)
        q = q / jnp.sum(q)
    if top_p < 1.0:
        order = jnp.argsort(-q)
        before = jnp.cumsum(q[order]) - q[order]  # mass of the more likely symbols
        keep = jnp.zeros(q.shape, bool).at[order].set(before < top_p)
        q = jnp.where(keep, q, 0.0)
        q = q / jnp.sum(q)
    return q


def multinomial_counts(key, p, m: int):
    """Counts [V] (float) of m i.i.d. draws from p [V]: exact (inverse CDF of m uniforms, then a scatter-add).

    The draw for a uniform u is the first symbol v with p_v > 0 and e_v > u, where e = cumsum(p) (the last
    positive symbol's edge set to +inf, so rounding in the cumsum never drops a uniform). The search runs over
    the positive symbols only (a fitted p̂ that has lost most of its support has long runs of equal edges) and
    starts from a guide table (Chen & Asau 1974): K = 2^k >= V equal buckets of [0, 1), and for each boundary
    j/K the number of edges at or below it, built in O(V + K) by counting. A uniform in bucket b = floor(uK)
    has its answer between the guide's entries for b and b + 1; ``_LINEAR`` fused comparisons settle almost every
    uniform, and a binary search finishes the rest (none, when no bucket holds more than that many edges). K is
    a power of two, so e·K and u·K are exact in floating point and the bracket is exact."""
    V = p.shape[0]
    K = 1 << max(1, (V - 1).bit_length())
    positive = p > 0
    rank = jnp.cumsum(positive, dtype=jnp.int32) - 1
    symbols = jnp.zeros(V, jnp.int32).at[jnp.where(positive, rank, V)].set(jnp.arange(V, dtype=jnp.int32),
                                                                          mode="drop")
    n_pos = rank[-1] + 1
    edges = jnp.where(jnp.arange(V) >= n_pos - 1, jnp.inf, jnp.cumsum(p)[symbols])  # positive symbols' edges
    first_boundary = jnp.clip(jnp.ceil(edges * K), 0, K + 1).astype(jnp.int32)  # smallest j with e <= j/K
    exact = jnp.float32 if V < 2**24 else jnp.float64  # counts of at most V edges
    guide = _prefix_sums(jnp.zeros(K + 2, exact).at[first_boundary].add(1.0))[: K + 1].astype(jnp.int32)
    u = jax.random.uniform(key, (m,), dtype=p.dtype)
    b = jnp.floor(u * K).astype(jnp.int32)
    lo, hi = guide[b], jnp.minimum(guide[b + 1], n_pos - 1)
    below = sum(((lo + j < hi) & (edges[jnp.minimum(lo + j, V - 1)] <= u)).astype(jnp.int32) for j in range(_LINEAR))
    settled = (below < _LINEAR) | (lo + below >= hi)
    lo, hi = lo + below, jnp.where(settled, lo + below, hi)

    def halve(bracket):
        lo, hi = bracket
        mid = (lo + hi) // 2
        right = edges[mid] <= u
        return jnp.where(right, mid + 1, lo), jnp.where(right, hi, mid)

    rank_drawn, _ = jax.lax.while_loop(lambda br: jnp.any(br[0] < br[1]), halve, (lo, hi))
    return jnp.zeros(p.shape, p.dtype).at[symbols[rank_drawn]].add(1.0)


_LINEAR = 8  # fused comparisons before the binary search (a guide bucket rarely holds more positive symbols)


def _prefix_sums(x):
    """cumsum of a 1-D array in two levels (rows of ≈ √n, then the row totals): XLA's CPU cumsum is
    superlinear (≈ 1 ms at n = 65,536, 0.06 ms at 10⁴). Exact for the guide: counts of at most V edges."""
    n = x.shape[0]
    width = 1 << ((n.bit_length() + 1) // 2)
    rows = jnp.pad(x, (0, -n % width)).reshape(-1, width)
    inner = jnp.cumsum(rows, axis=1)
    return (inner + (jnp.cumsum(inner[:, -1]) - inner[:, -1])[:, None]).reshape(-1)[:n]


def _expanded_counts(counts, w):
    """Σ_j w_j·one-hot(symbol of row j), row j of a block being its j-th sample in sorted symbol order."""
    rows = jnp.arange(w.shape[0], dtype=counts.dtype)
    symbol = jnp.searchsorted(jnp.cumsum(counts), rows, side="right")
    return jnp.zeros(counts.shape[0], counts.dtype).at[symbol].add(w, mode="drop")


def weighted_counts(segments):
    """Σ over segments and samples of weight × one-hot(symbol): [S] for blocks with counts [..., S] and
    weights [..., m]. Uniform segments use one weight per block; others (accumulate-subsample) map row j of a
    block to the j-th symbol in sorted order (exact in law, see the module docstring)."""
    total = 0.0
    for seg in segments:
        counts, w = seg.data.counts, seg.weight
        S, m = counts.shape[-1], w.shape[-1]
        counts, w = counts.reshape(-1, S), w.reshape(-1, m)
        if seg.uniform:
            total = total + jnp.sum(w[:, :1] * counts, axis=0)
        else:
            total = total + jnp.sum(jax.vmap(_expanded_counts)(counts, w.astype(counts.dtype)), axis=0)
    return total


def positive_samples(segments):
    """Samples with positive weight (uniform segments: block size × [weight > 0])."""
    out = 0.0
    for seg in segments:
        S, m = seg.data.counts.shape[-1], seg.weight.shape[-1]
        if seg.uniform:
            out = out + jnp.sum((seg.weight.reshape(-1, m)[:, 0] > 0) * seg.data.counts.reshape(-1, S).sum(-1))
        else:
            out = out + jnp.sum(seg.weight > 0)
    return out


def block(counts, m: int) -> CategoricalData:
    return CategoricalData(jnp.zeros((m, 0), counts.dtype), counts)
