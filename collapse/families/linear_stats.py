"""The exact-in-law sampler of the linear family: sufficient statistics instead of samples.

With Gaussian inputs and Gaussian label noise, a (weighted) ridge / OLS fit sees a block of data only
through XᵀX and Xᵀy, and given X, Xᵀy = XᵀX·w + Xᵀε with Xᵀε ~ N(0, σ²XᵀX) = σ·L·z (L the Cholesky
factor of XᵀX, z standard normal). XᵀX of m i.i.d. N(0, Σ) rows is Wishart(Σ, m); for m ≥ d it is drawn
directly by the Bartlett decomposition (Bartlett 1933; e.g. Anderson, *An Introduction to Multivariate
Statistical Analysis*, 3rd ed., Thm 7.2.1): XᵀX = (S·A)(S·A)ᵀ with S = Σ^{1/2} (diagonal here) and A lower
triangular, A_ii² ~ χ²_{m−i+1}, A_ij ~ N(0, 1) below the diagonal. So a fixed design costs d(d+1)/2 draws
once, and each later block O(d²) work with no design in memory. The law of every fitted ŵ — hence of
every metric — is exactly that of the sample-level path; only the random stream differs.

Blocks. Under a fixed design a block is stored as its own fit on its design, v = K(XᵀX·w + σL z) with
K = (XᵀX + λmI)⁻¹ — for OLS v = w + σL⁻ᵀz, one matrix–vector product per generation — because blocks
on one design combine by a weighted mean of their v. Under a fresh design a block keeps (Xᵀy, XᵀX).
``rows`` is an [m, 0] array: it holds no data, but its leading axis carries the block's sample count,
which is what the loop's policies read to build per-sample weights.
Derivation and the modes covered: docs/linear_fast_path.md.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from collapse.errors import ConfigError
from collapse.wishart import bartlett_draw, lower_inverse


class LinearStats(NamedTuple):
    """A block of m regression samples as sufficient statistics (see module docstring)."""

    rows: jax.Array  # [m, 0]: no data; the leading axis is the block's sample count
    fit: jax.Array | None  # [d]: the block's own fit on its fixed design (fixed designs)
    xty: jax.Array | None  # [d]: Xᵀy (fresh designs)
    gram: jax.Array | None  # [d, d]: XᵀX (fresh designs)


class DesignStats(NamedTuple):
    """A fixed design X [m, d], summarised. chol: L with LLᵀ = XᵀX. noise: K·L, the image of z in a
    block's fit. shrink: K·XᵀX (None for OLS, where it is the identity)."""

    chol: jax.Array
    noise: jax.Array
    shrink: jax.Array | None


class StatsWorld(NamedTuple):
    w_star: jax.Array  # [d]
    scale: jax.Array  # [d], sqrt of the eigenvalues of Σ
    first: LinearStats  # the real block generation 1 trains on
    real: DesignStats | None  # fixed design: the real design
    synth: DesignStats | None  # fixed design with M ≠ T: the second design synthetic labels sit on


def bartlett_factor(key, d: int, m: int, scale):
    """L = S·A with LLᵀ distributed as XᵀX for X [m, d] with i.i.d. N(0, diag(scale²)) rows; needs m ≥ d."""
    return scale[:, None] * bartlett_draw(key, d, m, scale.dtype)


def design_stats(chol, m: int, ridge: float) -> DesignStats:
    d = chol.shape[0]
    if ridge == 0:  # K·L = (LLᵀ)⁻¹L = L⁻ᵀ
        return DesignStats(chol, lower_inverse(chol).T, None)
    gram = chol @ chol.T
    root_inv = lower_inverse(jnp.linalg.cholesky(gram + ridge * m * jnp.eye(d, dtype=chol.dtype)))
    k = root_inv.T @ root_inv
    return DesignStats(chol, k @ chol, k @ gram)


def _rows(m, dtype):
    return jnp.zeros((m, 0), dtype)


def fixed_block(key, design: DesignStats, w, noise, m):
    """Labels y = Xw + noise·ε on a fixed design, as the block's own fit v."""
    mean = w if design.shrink is None else design.shrink @ w
    z = jax.random.normal(key, w.shape, w.dtype)
    return LinearStats(_rows(m, w.dtype), mean + noise * (design.noise @ z), None, None)


def fresh_block(key, w, noise, m, scale):
    """A new design of m rows and its labels y = Xw + noise·ε, as (Xᵀy, XᵀX)."""
    k_x, k_e = jax.random.split(key)
    chol = bartlett_factor(k_x, w.shape[0], m, scale)
    gram = chol @ chol.T
    z = jax.random.normal(k_e, w.shape, w.dtype)
    return LinearStats(_rows(m, w.dtype), None, gram @ w + noise * (chol @ z), gram)


def _weights(segment):
    if not segment.uniform:
        raise ConfigError("sampler", "stats", "'samples' when weights vary within a block (e.g. "
                          "accumulate-subsample): the statistics of a block cannot be split by row")
    c = segment.weight[..., 0].reshape(-1)  # one weight per stacked block (row-constant weights)
    return c, segment.weight.shape[-1]


def _regularized_gram(design: DesignStats, m, ridge):
    d = design.chol.shape[0]
    return design.chol @ design.chol.T + ridge * m * jnp.eye(d, dtype=design.chol.dtype)


def fit_fixed(world: StatsWorld, segments, ridge: float):
    """Weighted ridge / OLS on blocks that sit on one or two fixed designs (same law as the sample path)."""
    groups = {}  # design -> (Σ c_k, Σ c_k v_k, rows per block)
    for s in segments:
        c, m = _weights(s)
        on_real = s.real or world.synth is None
        total, vsum = jnp.sum(c), c @ s.data.fit.reshape(c.shape[0], -1)
        if on_real in groups:
            t0, v0, _ = groups[on_real]
            total, vsum = t0 + total, v0 + vsum
        groups[on_real] = (total, vsum, m)
    if len(groups) == 1:  # one design: ŵ = (C·H)⁻¹ H Σ c_k v_k = the weighted mean of the blocks' fits
        total, vsum, _ = next(iter(groups.values()))
        return vsum / total
    # two designs: solve (C_r H_r + C_s H_s) ŵ = H_r Σ c v (real) + H_s Σ c v (synthetic), H = XᵀX + λmI
    lhs, rhs = 0.0, 0.0
    for on_real, (total, vsum, m) in groups.items():
        h = _regularized_gram(world.real if on_real else world.synth, m, ridge)
        lhs, rhs = lhs + total * h, rhs + h @ vsum
    return jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(lhs), True), rhs)


def fit_fresh(segments, ridge: float):
    """Weighted ridge / OLS on blocks with their own designs: (Σ c_k XₖᵀXₖ + λ·Σ c_k m_k I)⁻¹ Σ c_k Xₖᵀyₖ."""
    lhs, rhs, total = 0.0, 0.0, 0.0
    for s in segments:
        c, m = _weights(s)
        d = s.data.xty.shape[-1]
        lhs = lhs + jnp.tensordot(c, s.data.gram.reshape(-1, d, d), 1)
        rhs = rhs + c @ s.data.xty.reshape(-1, d)
        total = total + m * jnp.sum(c)
    lhs = lhs + ridge * total * jnp.eye(lhs.shape[0], dtype=lhs.dtype)
    return jax.scipy.linalg.cho_solve((jnp.linalg.cholesky(lhs), True), rhs)
