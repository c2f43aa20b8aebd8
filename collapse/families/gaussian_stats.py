"""The Gaussian family's exact-in-law sampler: a block's sample mean and scatter instead of its samples.

A Gaussian refit (weighted mean; with refit="mean-cov" the weighted scatter over a divisor) sees a block of n
i.i.d. N(m, C) samples, weighted uniformly, only through its sample mean x̄ and scatter S = Σᵢ(xᵢ − x̄)(xᵢ − x̄)ᵀ,
and these are independent with x̄ ~ N(m, C/n) and S ~ Wishart(C, n − 1) (Anderson, *An Introduction to
Multivariate Statistical Analysis*, 3rd ed. 2003, Thm 3.3.2). S is drawn by the Bartlett decomposition (Bartlett
1933; Anderson Thm 7.2.1): S = R A Aᵀ R with R = C^½ and A lower triangular, A_ii² ~ χ²_{n−i} (i = 1..d),
A_ij ~ N(0, 1) below the diagonal; in 1-D, S = C·χ²_{n−1}. A block therefore costs d + d(d+1)/2 draws and
O(d³) work, whatever n. Blocks weighted c_k per sample pool exactly: with V₁ = Σ c_k n_k the pooled mean is
Σ c_k n_k x̄_k / V₁ and the pooled weighted scatter Σ c_k (S_k + n_k (x̄_k − x̄)(x̄_k − x̄)ᵀ) (the between-block
term). Derivation and the modes covered: docs/gaussian.md, "The exact-in-law sampler".

``rows`` is an [m, 0] array: it holds no data, but its leading axis is the block's (padded) row count, which the
loop's policies read to build per-sample weights; ``count`` is the number of valid samples (M_n ≤ m under a
sample-size schedule).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from collapse.errors import ConfigError
from collapse.wishart import bartlett, bartlett_draw


class GaussianStats(NamedTuple):
    """A block of samples as (count, sample mean, scatter) — see the module docstring."""

    rows: jax.Array  # [m, 0]: no data; the leading axis is the block's row count
    count: jax.Array  # valid samples n (float)
    mean: jax.Array  # [d] sample mean x̄
    scatter: jax.Array | None  # [d, d] Σ(x − x̄)(x − x̄)ᵀ; None when only the mean is refitted
    gen: jax.Array  # int32, the generation that first trains on the block


def wishart_root(key, root, dof):
    """R·A with (RA)(RA)ᵀ ~ Wishart(RRᵀ, dof) by Bartlett's decomposition; ``dof`` ≥ d may be traced."""
    return root @ bartlett_draw(key, root.shape[0], dof, root.dtype)


def draw_block(key, mean, root, count, rows: int, gen, with_scatter: bool) -> GaussianStats:
    """Mean and scatter of ``count`` i.i.d. samples of N(mean, root·rootᵀ), without the samples (one call for
    all the block's normals: the mean's d and the Bartlett factor's d(d−1)/2; fewer, larger draws are faster)."""
    k_gamma, k_normal = jax.random.split(key)
    d, dtype = mean.shape[0], mean.dtype
    dof = count - 1 if isinstance(count, int) else None  # static degrees of freedom let the χ² skip its boost
    count = jnp.asarray(count, dtype)
    z = jax.random.normal(k_normal, (d + (d * (d - 1) // 2 if with_scatter else 0),), dtype)
    xbar = mean + root @ z[:d] / jnp.sqrt(count)
    scatter = None
    if with_scatter:
        a = root @ bartlett(k_gamma, z[d:], count - 1 if dof is None else dof)
        scatter = a @ a.T
    return GaussianStats(jnp.zeros((rows, 0), dtype), count, xbar, scatter, jnp.asarray(gen, jnp.int32))


def _block_weights(segment):
    if not segment.uniform:
        raise ConfigError("sampler", "stats", "'samples' when weights vary within a block (e.g. "
                          "accumulate-subsample or a selector): a block's statistics cannot be split by sample")
    return segment.weight[..., 0].reshape(-1)  # one weight per (stacked) block


def pooled(segments, d: int):
    """(V₁, V₂, weighted mean, weighted scatter or None, samples with positive weight, newest generation)
    of a training set of uniformly weighted blocks — the same numbers the sample-level fit forms from the samples
    (V₁ = Σ wᵢ, V₂ = Σ wᵢ², over samples)."""
    blocks = []
    for s in segments:
        c = _block_weights(s)
        n = s.data.count.reshape(-1)
        blocks.append((c, n, s.data.mean.reshape(-1, d),
                       None if s.data.scatter is None else s.data.scatter.reshape(-1, d, d), s.data.gen.reshape(-1)))
    v1 = sum(jnp.sum(c * n) for c, n, *_ in blocks)
    v2 = sum(jnp.sum(c * c * n) for c, n, *_ in blocks)
    mean = sum((c * n) @ m for c, n, m, *_ in blocks) / v1
    scatter = None
    if all(b[3] is not None for b in blocks):
        scatter = 0.0
        for c, n, m, s, _ in blocks:
            dev = m - mean
            scatter = scatter + jnp.tensordot(c, s, 1) + (dev * (c * n)[:, None]).T @ dev
    count = sum(jnp.sum(jnp.where(c > 0, n, 0.0)) for c, n, *_ in blocks).astype(jnp.int32)
    gen = jnp.max(jnp.stack([jnp.max(b[4]) for b in blocks]))
    return v1, v2, mean, scatter, count, gen
