"""Least-squares solvers shared by the regression families.

All solvers go through the eigendecomposition of a d×d Gram matrix, so that one code path gives the
minimum-norm OLS solution (T < d included: ``pinv``, never ``inv``) and ridge. Shapes are per replicate;
the engine vmaps them.
"""

import jax.numpy as jnp


def _spectral_inverse(eigvals, ridge):
    """1/(e + ridge) for ridge > 0; pseudo-inverse (small eigenvalues dropped) for ridge == 0."""
    eps = jnp.finfo(eigvals.dtype).eps
    cutoff = eigvals.shape[-1] * eps * jnp.max(jnp.abs(eigvals), axis=-1, keepdims=True)
    inv = 1.0 / jnp.where(eigvals > cutoff, eigvals, 1.0)
    pinv = jnp.where(eigvals > cutoff, inv, 0.0)
    return jnp.where(ridge > 0, 1.0 / (eigvals + ridge), pinv)


def least_squares_operator(X, ridge=0.0):
    """H with ŵ = H y for unweighted ridge / min-norm OLS on a design X: [T, d] -> H: [d, T].

    Ridge follows Dohmatob et al. (2024): ŵ = (XᵀX + λT I)⁻¹Xᵀy, so ``ridge`` is λ and the penalty
    scales with the number of rows. ridge = 0 gives X⁺ (min-norm OLS, safe for T < d).
    """
    T = X.shape[0]
    evals, V = jnp.linalg.eigh(X.T @ X)
    return (V * _spectral_inverse(evals, ridge * T)) @ (V.T @ X.T)


def weighted_least_squares(X, y, w, ridge=0.0):
    """Minimum-norm solution of min Σᵢ wᵢ (yᵢ − xᵢβ)² / Σw + λ‖β‖².

    X: [N, d], y: [N], w: [N] non-negative (zero rows are absent). With all wᵢ = 1 this equals
    ``least_squares_operator(X, ridge) @ y``.
    """
    total = jnp.sum(w)
    gram = (X * w[:, None]).T @ X
    evals, V = jnp.linalg.eigh(gram)
    return V @ (_spectral_inverse(evals, ridge * total) * (V.T @ (X.T @ (w * y))))
