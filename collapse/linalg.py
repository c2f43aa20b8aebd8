"""Least-squares solvers shared by the regression families.

Two paths. ``weighted_least_squares`` (any weights, zero rows included) goes through the eigendecomposition
of the d×d Gram matrix, so one code path gives the minimum-norm OLS solution (rank-deficient and T < d
included: ``pinv``, never ``inv``) and ridge. ``LeastSquaresFactor`` serves a fixed design that is solved
again every generation: it factorizes once by Cholesky on the smaller Gram matrix (d×d when T ≥ d, T×T
when T < d, via Xᵀ(XXᵀ)⁻¹), which is several times cheaper than a batched ``eigh`` on CPU and needs only
that X has full rank min(T, d) — true with probability one for the Gaussian designs drawn here. Shapes are
per replicate; the engine vmaps them.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from collapse.wishart import lower_inverse


def _spectral_inverse(eigvals, ridge):
    """1/(e + ridge) for ridge > 0; pseudo-inverse (small eigenvalues dropped) for ridge == 0."""
    eps = jnp.finfo(eigvals.dtype).eps
    cutoff = eigvals.shape[-1] * eps * jnp.max(jnp.abs(eigvals), axis=-1, keepdims=True)
    inv = 1.0 / jnp.where(eigvals > cutoff, eigvals, 1.0)
    pinv = jnp.where(eigvals > cutoff, inv, 0.0)
    return jnp.where(ridge > 0, 1.0 / (eigvals + ridge), pinv)


class LeastSquaresFactor(NamedTuple):
    """The inverse of a fixed design's regularized smaller Gram matrix K [k, k]: K = (XᵀX + λT I)⁻¹ (k = d)
    when T ≥ d, K = (XXᵀ + λT I)⁻¹ (k = T) when T < d. The design itself is not stored (its owner keeps it);
    which form applies follows from the shapes."""

    inv_gram: jax.Array

    def solve(self, X, y):
        """ŵ = (XᵀX + λT I)⁻¹Xᵀy = Xᵀ(XXᵀ + λT I)⁻¹y (the push-through identity): X [T, d], y [T] -> [d]."""
        if X.shape[0] >= X.shape[1]:
            return self.inv_gram @ (X.T @ y)
        return X.T @ (self.inv_gram @ y)


def least_squares_factor(X, ridge=0.0) -> LeastSquaresFactor:
    """Factorize a full-rank design X: [T, d] once for repeated ridge / min-norm OLS solves.

    Ridge follows Dohmatob et al. (2024): ŵ = (XᵀX + λT I)⁻¹Xᵀy, so ``ridge`` is λ and the penalty
    scales with the number of rows; ridge = 0 gives X⁺y (min-norm OLS when T < d).
    """
    T, d = X.shape
    gram = X.T @ X if T >= d else X @ X.T
    k = gram.shape[0]
    gram = gram + ridge * T * jnp.eye(k, dtype=gram.dtype)
    # (LLᵀ)⁻¹ = L⁻ᵀL⁻¹ with L⁻¹ by vectorized block recursion: cho_solve against I makes two batched LAPACK
    # triangular solves, one library call per replicate (≈ 4× slower at d = 50 over 1,000 replicates)
    inv_chol = lower_inverse(jnp.linalg.cholesky(gram))
    return LeastSquaresFactor(inv_chol.T @ inv_chol)


def least_squares_operator(X, ridge=0.0):
    """H with ŵ = H y for unweighted ridge / min-norm OLS on a full-rank design X: [T, d] -> H: [d, T]."""
    K = least_squares_factor(X, ridge).inv_gram
    return K @ X.T if X.shape[0] >= X.shape[1] else X.T @ K


def weighted_least_squares(X, y, w, ridge=0.0):
    """Minimum-norm solution of min Σᵢ wᵢ (yᵢ − xᵢβ)² / Σw + λ‖β‖².

    X: [N, d], y: [N], w: [N] non-negative (zero rows are absent). With all wᵢ = 1 this equals
    ``least_squares_operator(X, ridge) @ y``.
    """
    total = jnp.sum(w)
    gram = (X * w[:, None]).T @ X
    evals, V = jnp.linalg.eigh(gram)
    return V @ (_spectral_inverse(evals, ridge * total) * (V.T @ (X.T @ (w * y))))
