"""Exact expectations over binomial counts, for theory/verification.py.

E[g(K)] for K ~ Bin(n, p) is a finite sum; the helpers here give the support that holds all but ≤ 2·TAIL of the
mass (the sum over the rest is the truncation error, ≤ 2·TAIL·max|g|), and Chebyshev interpolation for summing
a smooth g over many support points without evaluating it at each one (its error is measured in
tests/test_theory_verification.py against the direct sum).
"""

import numpy as np
from scipy.stats import binom

TAIL = 1e-13


def support(n: int, p: float):
    """(k, pmf): the integers of Bin(n, p) with all but ≤ 2·TAIL of the mass, and their probabilities."""
    if p <= 0 or n * p < TAIL:  # all but < TAIL of the mass at 0 (and scipy's ppf overflows for subnormal p)
        return np.zeros(1, int), np.ones(1)
    if p >= 1 or n * (1 - p) < TAIL:
        return np.full(1, n, int), np.ones(1)
    lo = int(max(binom.ppf(TAIL, n, p) - 1, 0))
    hi = int(min(binom.isf(TAIL, n, p) + 1, n))
    k = np.arange(lo, hi + 1)
    return k, binom.pmf(k, n, p)


def cheb_nodes(lo: float, hi: float, n: int) -> np.ndarray:
    """Chebyshev points of the second kind on [lo, hi] (n ≥ 2)."""
    return (lo + hi) / 2 + (hi - lo) / 2 * np.cos(np.pi * np.arange(n) / (n - 1))


def cheb_basis(nodes: np.ndarray, x) -> np.ndarray:
    """[len(x), n] matrix L with L @ f(nodes) = the polynomial interpolant of f at x (barycentric form)."""
    x = np.atleast_1d(np.asarray(x, float))
    n = nodes.size
    w = np.ones(n)
    w[0] = w[-1] = 0.5
    w[1::2] *= -1
    diff = x[:, None] - nodes[None, :]
    exact = diff == 0
    diff = np.where(exact, 1.0, diff)
    terms = w / diff
    L = terms / terms.sum(1, keepdims=True)
    hit = exact.any(1)
    L[hit] = exact[hit].astype(float)
    return L
