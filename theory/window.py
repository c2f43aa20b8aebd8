"""Window verifiers: keep a sample iff it lies within h of a verifier's prediction, the verifier offset from the
truth (Yi, Liu, Cheng, Xu 2026, "verifier-guided retraining", ICLR, arXiv 2510.16657). Simulated by the
``window`` selector of collapse/selectors.py on the gaussian and linear families. Derivations: docs/feedback.md.

Provenance per function: **stated** (in the paper), **derived** (by us; docs/feedback.md), **approx** (derived
under a stated approximation, with its measured error). Checked in tests/test_theory_window.py.
"""

import numpy as np
from scipy.special import ndtr

from theory.curves import TheoryCurve, TheoryUnavailable


def _pdf(x):
    return np.exp(-0.5 * np.square(x)) / np.sqrt(2 * np.pi)


def population_map(mu, c, h):
    """1-D: the model N(μ, 1) draws, the window keeps |x − c| ≤ h, the mean is refitted on the kept samples:
    μ' = E[X | |X − c| ≤ h] = μ + (φ(α) − φ(β))/(Φ(β) − Φ(α)), α = c − μ − h, β = c − μ + h.
    [derived: Yi et al. 2026's 1-D toy (arXiv 2510.16657); docs/feedback.md §3] Exact for E[μ̂_{t+1} | μ_t]
    given that anything is kept (the kept samples are iid from the truncated law whatever their number)."""
    mu = np.asarray(mu, float)
    alpha, beta = c - mu - h, c - mu + h
    return mu + (_pdf(alpha) - _pdf(beta)) / (ndtr(beta) - ndtr(alpha))


def keep_probability(h) -> float:
    """p_h = 2Φ(h) − 1, the kept fraction of N(c, 1) in the window |x − c| ≤ h. [derived]"""
    return 2 * ndtr(h) - 1


def contraction(h) -> float:
    """V_h = 1 − 2hφ(h)/(2Φ(h) − 1): the slope of the population map at μ = c (the variance of N(0, 1)
    truncated to [−h, h]); μ' − c ≈ V_h(μ − c) near the verifier's centre. [derived; docs/feedback.md §3]"""
    return 1 - 2 * h * _pdf(h) / keep_probability(h)


def stationary_variance(h, M: int) -> float:
    """E(μ − c)² at stationarity ≈ V_h/(M p_h (1 − V_h²)): an AR(1) with factor V_h and innovation variance
    V_h/(M p_h) (the truncated variance over M p_h kept samples). [approx: linearization at c and 1/K ≈
    1/E K; both corrections O(1/M) relative — docs/feedback.md §3]"""
    V = contraction(h)
    return V / (M * keep_probability(h) * (1 - V**2))


def regression_window_error(generations: int, *, d: int, T: int, sigma: float, sigma0: float, h: float,
                            offset: float):
    """Linear regression, isotropic Gaussian design fixed per replicate, M = T, replace mode, window verifier
    keeping (xᵢ, yᵢ) iff |yᵢ − xᵢᵀw_v| ≤ h with ‖w_v − w*‖ = ``offset`` (Yi et al. 2026's setting):

    E_test(n) ≈ (1 − Vⁿ⁻¹)²Δ² + V²⁽ⁿ⁻¹⁾·σ²d/(T − d − 1) + s²(1 − V²⁽ⁿ⁻¹⁾)/(1 − V²),
    V = V_{h/σ₀}, p = 2Φ(h/σ₀) − 1, s² = σ₀²V·d/(pT − d − 1), Δ = offset.

    The estimate drifts to the verifier's belief w_v (bias → Δ²) while its variance stays bounded (no linear
    growth as without verification). [approx, derived by us (docs/feedback.md §4): linearization of the
    truncated mean in xᵢᵀ(ŵ − w_v)/σ₀, kept set independent of x, inverse-Wishart E tr(X_KᵀX_K)⁻¹ at
    |K| = pT] Returns [G]."""
    if not T * keep_probability(h / sigma0) > d + 1 or not T > d + 1:
        raise TheoryUnavailable("the window keeps about pT <= d + 1 rows: the kept OLS has no finite mean error")
    V = contraction(h / sigma0)
    p = keep_probability(h / sigma0)
    s2 = sigma0**2 * V * d / (p * T - d - 1)
    n = np.arange(1, generations + 1)
    decay = V ** (n - 1)
    return (1 - decay) ** 2 * offset**2 + decay**2 * sigma**2 * d / (T - d - 1) + s2 * (1 - decay**2) / (1 - V**2)


def regression_window_theory(family, cfg, selector):
    """TheoryCurve for E_test of the linear family under a window selector (see regression_window_error)."""
    if cfg.mode != "replace" or family.design != "fixed" or family.synth_size != family.T:
        raise TheoryUnavailable("the window-verifier regression formula covers replace mode, fixed design, M = T")
    if family.covariance != "isotropic" or family.ridge != 0:
        raise TheoryUnavailable("the window-verifier regression formula covers isotropic OLS")
    values = regression_window_error(cfg.generations, d=family.d, T=family.T, sigma=family.sigma,
                                     sigma0=family.noise_synth, h=selector.h, offset=selector.offset)
    return TheoryCurve("window verifier (linearized)", values,
                       "approx, derived (docs/feedback.md §4) after Yi et al. 2026, arXiv 2510.16657",
                       metric="E_test")
