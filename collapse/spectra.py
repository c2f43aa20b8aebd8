"""Covariance spectra shared by the simulation families and the theory that predicts them."""

from typing import Literal, get_args

import jax.numpy as jnp

Covariance = Literal["isotropic", "power-law"]
COVARIANCES = get_args(Covariance)


def covariance_spectrum(d: int, covariance: str, alpha: float):
    """Eigenvalues of Σ, normalised to tr Σ = d: all ones, or λᵢ ∝ i^(−α)."""
    if covariance == "isotropic":
        return jnp.ones(d)
    lam = jnp.arange(1, d + 1, dtype=float) ** (-alpha)
    return lam * (d / jnp.sum(lam))
