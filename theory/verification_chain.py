"""The distribution of the iterated loop's accuracy (Feng et al. 2025's setting, "Beyond Model Collapse", arXiv
2406.07515, extended by us to the loop where the student of round t labels round t + 1; docs/verification.md §5).

Σ = I, balanced classes, centroid student without intercept, a (ϕ, ψ) verifier keyed on correctness. A linear
rule labels by sign(ŵᵀx), so round t + 1 depends on ŵ_t only through its angle θ_t to μ, and each round draws
fresh inputs: θ_1, θ_2, … is a Markov chain on [0, π]. Its transition (derived, docs/verification.md §5): with
s = ‖μ‖cos θ, A = Φ(s), the kept samples are i.i.d. and, in the basis (e = ŵ/‖ŵ‖, f) of the plane of μ and ŵ,
each contributes v = (|s + ζ|, c(ξ − ‖μ‖ sin θ)) with ζ, ξ ~ N(0, 1), c = sign(s + ζ) and ζ reweighted by ϕ on
{c = +1} and ψ on {c = −1}; the directions orthogonal to the plane add N(0, I_{d−2}) per sample. K ~ Bin(N, r),
r = ϕA + ψ(1 − A), and K = 0 gives the zero rule (accuracy ½; the next round labels by fair coins).

This module propagates the *distribution* of θ (not one path): mean, median and any quantile of the accuracy
Φ(‖μ‖cos θ) per round. Approximations (measured in tests/test_theory_verification.py): the in-plane mean of
the K kept samples is taken Gaussian with its exact first two moments (CLT), K by Gauss–Hermite on its normal
law (P(K = 0) exact), and θ on a grid of GRID cells (each cell's mass placed at its centre). The side of μ a
student lands on is integrated exactly (a normal CDF in the along-μ coordinate), because the loop amplifies
it: a quadrature node that wrongly puts 10⁻³ of the mass on the other side of ½ moves the late mean by 10⁻³.
[derived; approx as stated]
"""

import math

import numpy as np
from scipy.special import ndtr, roots_genlaguerre, roots_hermitenorm

from theory import binomial_sums as bs

GRID = 360  # cells of [0, π]
_PLANE = 16  # Gauss–Hermite nodes per in-plane coordinate
_CHI = 16  # generalized Gauss–Laguerre nodes for the orthogonal χ²
_KN = 5  # Gauss–Hermite nodes for the kept count


def _gh(n):
    x, w = roots_hermitenorm(n)
    return x, w / w.sum()


def _chi2(k, n):
    if k <= 0:
        return np.zeros(1), np.ones(1)
    t, w = roots_genlaguerre(n, k / 2 - 1)
    return 2 * t, w / w.sum()


def centres(grid=GRID):
    h = math.pi / grid
    return (np.arange(grid) + 0.5) * h


def _bin(theta, weight, grid):
    """Linear binning of point masses at angles ``theta`` onto the cell centres: [grid] masses."""
    h = math.pi / grid
    x = np.clip(theta / h - 0.5, 0, grid - 1)
    j = np.minimum(np.floor(x).astype(int), grid - 2)
    frac = x - j
    out = np.bincount(j.ravel(), (weight * (1 - frac)).ravel(), grid)
    return out + np.bincount((j + 1).ravel(), (weight * frac).ravel(), grid)


def _cot_edges(grid):
    """cot of the cell edges 0, h, …, π (±inf at the ends)."""
    edges = np.linspace(0, math.pi, grid + 1)
    with np.errstate(divide="ignore"):
        cot = np.cos(edges) / np.sin(edges)
    cot[0], cot[-1] = np.inf, -np.inf
    return cot


def label_noise_law(mu_norm, d, N, r, q, grid=GRID):
    """(mass per θ cell [grid], P(K = 0)) of the centroid fitted to N samples whose kept labels (K ~ Bin(N, r))
    are wrong independently with probability q: ŵ = aμ + g/√K, a = 1 − 2W/K, W ~ Bin(K, q). Exact sums over K
    and W, exact in g's component along μ (θ < θ_j ⟺ a‖μ‖√K + g₁ > cot θ_j·χ, a normal CDF), Gauss–Laguerre
    nodes for the χ²_{d−1} remainder."""
    chi, wc = _chi2(d - 1, _CHI)
    cot = _cot_edges(grid)
    Ks, pK = bs.support(int(N), float(r))
    zero = float(pK[Ks == 0].sum())
    cdf = np.zeros(grid + 1)
    for K, pk in zip(Ks[Ks > 0], pK[Ks > 0], strict=True):
        W, pW = bs.support(int(K), float(q))
        shift = (1 - 2 * W / K) * mu_norm * math.sqrt(K)  # [W]
        with np.errstate(invalid="ignore"):
            arg = shift[:, None, None] - cot[None, None, :] * np.sqrt(chi)[None, :, None]
        arg = np.where(np.isnan(arg), -np.inf * np.sign(cot)[None, None, :], arg)  # inf·0 at the ends
        cdf += pk * np.einsum("w,c,wce->e", pW, wc, ndtr(arg))
    return np.diff(cdf), zero


def kept_moments(mu_norm, theta, phi, psi):
    """Per-kept-sample mean [.., 2] and covariance [.., 2, 2] of v in the (e, f) basis, and r (exact)."""
    s, m_s = mu_norm * np.cos(theta), mu_norm * np.sin(theta)
    A, dens = ndtr(s), np.exp(-s * s / 2) / math.sqrt(2 * math.pi)
    r = phi * A + psi * (1 - A)
    safe = np.where(r > 0, r, 1.0)
    ve = (phi * (s * A + dens) + psi * (-s * (1 - A) + dens)) / safe
    ve2 = (phi * ((s * s + 1) * A + s * dens) + psi * ((s * s + 1) * (1 - A) - s * dens)) / safe
    ec = (phi * A - psi * (1 - A)) / safe
    e_sz = (phi * (s * A + dens) + psi * (s * (1 - A) - dens)) / safe  # E[s + ζ | kept]
    mean = np.stack([ve, -m_s * ec], -1)
    cov = np.empty(np.shape(theta) + (2, 2))
    cov[..., 0, 0] = ve2 - ve**2
    cov[..., 1, 1] = m_s**2 + 1 - (m_s * ec) ** 2
    cov[..., 0, 1] = cov[..., 1, 0] = -m_s * e_sz - ve * (-m_s * ec)
    return mean, cov, r


def transition(mu_norm, d, N, phi, psi, grid=GRID):
    """[grid + 1, grid + 1] row-stochastic matrix of θ_t → θ_{t+1}; the last state is the zero rule.

    With √K·ŵ' = (a, b) in the plane (a along μ) plus an orthogonal part of squared norm χ²_{d−2}:
    θ' < θ_j ⟺ a > cot θ_j·sqrt(b² + χ²), integrated exactly in a given b (a normal CDF), by Gauss–Hermite in
    b, Gauss–Laguerre in χ² and Gauss–Hermite in K."""
    th = centres(grid)
    mean, cov, r = kept_moments(mu_norm, th, phi, psi)
    g, wg = _gh(_PLANE)
    kx, kw = _gh(_KN)
    chi, wc = _chi2(d - 2, _CHI)
    cot = _cot_edges(grid)
    P = np.zeros((grid + 1, grid + 1))
    for i in range(grid):
        rk = r[i]
        p_zero = (1 - rk) ** N
        P[i, grid] = p_zero
        c, s_ = math.cos(th[i]), math.sin(th[i])
        rot = np.array([[c, -s_], [s_, c]])  # (e, f) -> (along μ, in-plane ⊥ μ)
        m_ab, S = rot @ mean[i], rot @ cov[i] @ rot.T
        var_b = S[1, 1]
        beta = S[0, 1] / var_b
        sd_a = math.sqrt(max(S[0, 0] - S[0, 1] * beta, 1e-300))
        sd = math.sqrt(N * rk * (1 - rk))
        root_k = np.sqrt(np.maximum(N * rk + sd * kx, 1.0))  # [k]
        b = root_k[:, None] * m_ab[1] + math.sqrt(var_b) * g[None, :]  # [k, g]
        a_mean = root_k[:, None] * m_ab[0] + beta * (b - root_k[:, None] * m_ab[1])
        R = np.sqrt(b[..., None] ** 2 + chi)  # [k, g, c]
        with np.errstate(invalid="ignore"):
            arg = (a_mean[..., None, None] - R[..., None] * cot) / sd_a  # [k, g, c, e]
        arg = np.where(np.isnan(arg), -np.inf * np.sign(cot), arg)
        cdf = np.einsum("k,g,c,kgce->e", kw, wg, wc, ndtr(arg))
        P[i, :grid] = (1 - p_zero) * np.diff(cdf)
    # zero rule: fair-coin labels, i.e. label noise ½ before selection
    r0 = (phi + psi) / 2
    mass, zero = label_noise_law(mu_norm, d, N, r0, psi / (phi + psi) if phi + psi > 0 else 0.5, grid)
    P[grid, :grid], P[grid, grid] = mass, zero
    return P


def accuracy_of_state(mu_norm, grid=GRID):
    return np.append(ndtr(mu_norm * np.cos(centres(grid))), 0.5)


def propagate(start, P, rounds):
    """Distributions [rounds, grid + 1] from ``start`` (a distribution over the states) through P."""
    out = [start]
    for _ in range(rounds - 1):
        out.append(out[-1] @ P)
    return np.stack(out)


MIN_CELLS = 20  # quantiles are claimed only where the central 80 % of a round's law spans this many cells


def quantiles(dist, acc, probs, min_cells=MIN_CELLS):
    """Quantiles [rounds, len(probs)] of the accuracy under each round's distribution (linear interpolation of
    the CDF between the sorted state accuracies). NaN (no claim) for rounds whose central 80 % lies in fewer than
    ``min_cells`` θ cells: there the grid, not the law, sets the quantile (the stationary law at p = 0.6,
    d = 50, N = 500 spans ≈ 3 cells, and its 10 % quantile came out 6 SE of the count too low); the mean, a
    smooth functional, is unaffected (grid refinement changes it by < 3·10⁻⁶)."""
    order = np.argsort(acc)
    a = acc[order]
    out = []
    for row in dist:
        cdf = np.cumsum(row[order])
        cdf /= cdf[-1]
        lo, hi = np.searchsorted(cdf, 0.1), np.searchsorted(cdf, 0.9)
        out.append(np.interp(probs, cdf, a) if hi - lo >= min_cells else np.full(len(probs), np.nan))
    return np.asarray(out)


def iterated_distribution(mu_norm, d, N, phi, psi, rounds, start, grid=GRID):
    """(mean [rounds], distributions [rounds, grid + 1], state accuracies [grid + 1]) of the iterated loop's
    accuracy for rounds 1..rounds, round 1 drawn from ``start`` ([grid + 1] masses; label_noise_law or
    point_mass build it). [derived: docs/verification.md §5; approximations as in the module docstring]"""
    if d < 3:
        # d = 1: a rule is only a sign; d = 2: the in-plane remainder |b| has a kink that the Gauss–Hermite
        # nodes resolve badly (grid 720 vs 1440 differ by 3·10⁻³), so no claim there
        raise ValueError(f"the θ chain needs d >= 3; got d={d}")
    P = transition(mu_norm, d, N, phi, psi, grid)
    dist = propagate(np.asarray(start, float), P, rounds)
    acc = accuracy_of_state(mu_norm, grid)
    return dist @ acc, dist, acc


def point_mass(theta, grid=GRID):
    """Start distribution of a given rule at angle θ (radians) from μ."""
    return np.append(_bin(np.array([theta]), np.ones(1), grid), 0.0)


def start_from_label_noise(mu_norm, d, N, r, q, grid=GRID):
    mass, zero = label_noise_law(mu_norm, d, N, r, q, grid)
    return np.append(mass, zero)
