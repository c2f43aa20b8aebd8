"""Selection accounting and simple selectors, shared by every family that filters synthetic data.

Feng et al. 2025 ("Beyond Model Collapse", arXiv 2406.07515; docs/papers/feng2025.md) summarize a verifier by
two keep-probabilities: ϕ = P(keep | label correct), ψ = P(keep | label wrong). With generator error
p, the kept fraction is r = (1−p)ϕ + pψ, the error among kept samples is q = pψ/r, and q < 1/2 exactly
when p < p⋆ = ϕ/(ϕ+ψ) [paper]. ``selection_stats`` *measures* all of these from per-sample booleans; the
measured quantities satisfy the same identities exactly (r = (1−p)ϕ + pψ, q = pψ/r, and
q < 1/2 ⇔ p < p⋆ whenever anything is kept), which the tests check.

Everything is pure jnp on fixed shapes, so it works under ``jit``, ``vmap`` and ``lax.scan``.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

# Values reported when a ratio has an empty denominator (documented in SelectionStats).
EMPTY_Q = 0.5
EMPTY_P_STAR = 0.5


class SelectionStats(NamedTuple):
    """Measured selection quantities (all scalars, float).

    n: total weight (number of samples when unweighted).
    kept_count: total kept weight.
    p: generator error, #wrong / n (0 if n = 0).
    r: kept fraction, #kept / n (0 if n = 0).
    q: error after selection, #(kept and wrong) / #kept; 1/2 if nothing is kept (no information: a
        student with no data is the zero rule, whose accuracy is 1/2, as with q = 1/2).
    phi: measured ϕ = #(kept and correct) / #correct; 0 if no label is correct.
    psi: measured ψ = #(kept and wrong) / #wrong; 0 if no label is wrong.
    p_star: ϕ/(ϕ+ψ) from the measured ϕ, ψ; 1/2 if ϕ = ψ = 0.
    """

    n: jax.Array
    kept_count: jax.Array
    p: jax.Array
    r: jax.Array
    q: jax.Array
    phi: jax.Array
    psi: jax.Array
    p_star: jax.Array


def safe_ratio(num, den, empty):
    """num/den, or ``empty`` where den == 0 (no NaN and no NaN gradient)."""
    ok = den > 0
    return jnp.where(ok, num / jnp.where(ok, den, 1.0), empty)


def selection_stats(correct, kept, weight=None) -> SelectionStats:
    """Measure p, r, q, ϕ, ψ, p⋆ of one selection.

    correct: bool [..., m] — the proposed label equals the true label.
    kept: bool [..., m] — the selector kept the sample.
    weight: optional float [..., m] ≥ 0 — per-sample weight (0 = absent, e.g. padding; or an indicator
        such as ``y == 1`` for class-specific ϕ_k, ψ_k).
    All sums run over every axis, so pass one selection at a time (vmap for a batch).
    """
    correct = jnp.asarray(correct, bool)
    kept = jnp.asarray(kept, bool)
    w = jnp.ones(jnp.broadcast_shapes(correct.shape, kept.shape)) if weight is None else jnp.asarray(weight)
    w = w.astype(jnp.result_type(float))
    n = jnp.sum(w)
    n_right = jnp.sum(w * correct)
    n_wrong = n - n_right
    n_kept = jnp.sum(w * kept)
    kept_right = jnp.sum(w * (kept & correct))
    kept_wrong = n_kept - kept_right
    phi = safe_ratio(kept_right, n_right, 0.0)
    psi = safe_ratio(kept_wrong, n_wrong, 0.0)
    return SelectionStats(
        n=n,
        kept_count=n_kept,
        p=safe_ratio(n_wrong, n, 0.0),
        r=safe_ratio(n_kept, n, 0.0),
        q=safe_ratio(kept_wrong, n_kept, EMPTY_Q),
        phi=phi,
        psi=psi,
        p_star=safe_ratio(phi, phi + psi, EMPTY_P_STAR),
    )


def keep_phi_psi(key, correct, phi, psi):
    """The (ϕ, ψ) verifier of Feng et al.: keep a correct sample with probability ϕ, a wrong one with ψ,
    independently. correct: bool [..., m]; phi, psi: scalars (or broadcastable arrays, e.g. per class)
    in [0, 1]. Returns bool [..., m]."""
    u = jax.random.uniform(key, jnp.shape(correct))
    return u < jnp.where(correct, phi, psi)


def best_of_k(scores):
    """Best-of-k selection: the index of the highest-scoring candidate along the last axis
    (scores: [..., k]; ties go to the lowest index). Returns int [...]."""
    return jnp.argmax(scores, axis=-1)
