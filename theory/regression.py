"""Closed forms for the linear-regression family (collapse.families.linear), OLS estimator.

Conventions (as in the simulation): generations n = 1..G, generation 1 fits the T real samples (noise
σ), generation n ≥ 2 fits M synthetic samples labelled by model n−1 (noise σ₀). x ~ N(0, Σ), any
Σ ≻ 0 unless stated; E_test = E‖ŵ_n − w*‖²_Σ. Every formula uses the Wishart moment
E tr(Σ(XᵀX)⁻¹) = d/(T − d − 1) for X with T > d + 1 i.i.d. N(0, Σ) rows.
"""

import dataclasses
import math

import numpy as np

from collapse.errors import ConfigError
from theory.curves import TheoryCurve, TheoryUnavailable


def _check_int(name, value, low):
    if not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")


def _check_nonneg(name, value):
    if not value >= 0:
        raise ValueError(f"{name} must be >= 0; got {name}={value!r}")


def ols_noise_factor(d: int, T: int) -> float:
    """d/(T − d − 1) = E tr(Σ(XᵀX)⁻¹): test error per unit of label-noise variance of one OLS fit.

    Stated: the inverse-Wishart mean, used by Dohmatob et al. 2024 (arXiv 2402.07712) and Zhu et al. 2025
    (§1.1). Needs T > d + 1 (the expectation is infinite otherwise).
    """
    _check_int("d", d, 1)
    _check_int("T", T, 1)
    if T <= d + 1:
        raise ConfigError("T", T, "> d+1", f"T must exceed d+1 for OLS theory; got T={T}, d={d}")
    return d / (T - d - 1)


def replace_error(d: int, T: int, sigma: float, generations: int, sigma0: float | None = None,
                  M: int | None = None) -> np.ndarray:
    """E_test of replace mode, generations 1..G: σ²d/(T−d−1) + (n−1)·σ₀²d/(M−d−1).

    Stated for σ₀ = σ, M = T as σ²d/(T−d−1)·n (Dohmatob et al. 2024; Zhu et al. 2025 §1.1 replace
    baseline), and as σ²d/(T−d−1) + nσ₀²d/(T₀−d−1) for n synthetic generations of T₀ = M samples
    (Dohmatob et al. 2024, fresh design; our n−1). Holds for fixed and fresh designs alike, because
    ŵ_n = ŵ_{n−1} + H_n E_n exactly when H_n X_n = I (M > d): the noise contributions add.
    """
    sigma0 = sigma if sigma0 is None else sigma0
    M = T if M is None else M
    _check_nonneg("sigma", sigma)
    _check_nonneg("sigma0", sigma0)
    _check_int("generations", generations, 1)
    n = np.arange(1, generations + 1)
    return sigma**2 * ols_noise_factor(d, T) + (n - 1) * sigma0**2 * ols_noise_factor(d, M)


def dohmatob_fresh_design(d: int, T: int, T0: int, sigma: float, sigma0: float, n: int) -> float:
    """Dohmatob, Feng & Kempe 2024, OLS with a fresh design per generation: after n synthetic
    generations of T₀ samples (noise σ₀), a model fit on T samples (noise σ) has
    E_test = σ²d/(T−d−1) + n·σ₀²d/(T₀−d−1). Stated (docs/papers/dohmatob2024.md). Any Σ.
    """
    _check_int("n", n, 0)
    return sigma**2 * ols_noise_factor(d, T) + n * sigma0**2 * ols_noise_factor(d, T0)


def accumulate_error(d: int, T: int, sigma: float, generations: int, sigma0: float | None = None) -> np.ndarray:
    """E_test of accumulate mode (fixed design, M = T): σ²c + σ₀²c·Σ_{i=2}^{n} 1/i², c = d/(T−d−1).

    Stated for σ₀ = σ as σ²d/(T−d−1)·Σ_{i≤n} 1/i² (Gerstgrasser et al. 2024). The σ₀ ≠ σ split is
    derived: with a shared design, generation n fits the mean label vector, so
    e_n = e_{n−1} + H E_n / n and the noise of generation k enters with weight 1/k².
    """
    sigma0 = sigma if sigma0 is None else sigma0
    _check_nonneg("sigma", sigma)
    _check_nonneg("sigma0", sigma0)
    _check_int("generations", generations, 1)
    c = ols_noise_factor(d, T)
    inv_sq = 1.0 / np.arange(1, generations + 1) ** 2
    synth = np.cumsum(inv_sq) - 1.0
    return sigma**2 * c + sigma0**2 * c * synth


def accumulate_bound(d: int, T: int, sigma: float, sigma0: float | None = None) -> float:
    """The horizon-free bound of accumulate mode: σ²c + σ₀²c(π²/6 − 1) = (π²/6)σ²d/(T−d−1) at σ₀ = σ.

    Bound, stated by Gerstgrasser et al. 2024 (arXiv 2404.01413) for σ₀ = σ; the σ₀ split is derived as in
    :func:`accumulate_error`, of which it is the n → ∞ limit.
    """
    sigma0 = sigma if sigma0 is None else sigma0
    c = ols_noise_factor(d, T)
    return sigma**2 * c + sigma0**2 * c * (math.pi**2 / 6 - 1)


def fresh_error(d: int, T: int, sigma: float, real_weight: float, generations: int,
                sigma0: float | None = None) -> np.ndarray:
    """E_test of fresh mode (new real sample each generation, weight w; fixed design, M = T).

    Derived: generation n fits w·y_real,n + (1−w)·y_synth,n at the shared design, so
    e_n = (1−w)e_{n−1} + w·u_n + (1−w)·v_n with independent noise images u, v, giving
    V_1 = σ²c, V_n = (1−w)²V_{n−1} + c(w²σ² + (1−w)²σ₀²), c = d/(T−d−1). The fixed point
    c(w²σ² + (1−w)²σ₀²)/(w(2−w)) is the regression analogue of the fresh-data mean-estimation MSE
    (σ²/n)(w² + (1−w)²)/(w(2−w)) in the Alemohammad et al. 2023 setting (derived; docs/papers/alemohammad2023.md).
    """
    sigma0 = sigma if sigma0 is None else sigma0
    if not 0 < real_weight <= 1:
        raise ValueError(f"real_weight must be in (0, 1]; got real_weight={real_weight!r}")
    _check_int("generations", generations, 1)
    c = ols_noise_factor(d, T)
    w = real_weight
    out = np.empty(generations)
    out[0] = sigma**2 * c
    for i in range(1, generations):
        out[i] = (1 - w) ** 2 * out[i - 1] + c * (w**2 * sigma**2 + (1 - w) ** 2 * sigma0**2)
    return out


def fresh_stationary(d: int, T: int, sigma: float, real_weight: float, sigma0: float | None = None) -> float:
    """n → ∞ limit of :func:`fresh_error`: c(w²σ² + (1−w)²σ₀²)/(w(2−w)). Derived."""
    sigma0 = sigma if sigma0 is None else sigma0
    w = real_weight
    return ols_noise_factor(d, T) * (w**2 * sigma**2 + (1 - w) ** 2 * sigma0**2) / (w * (2 - w))


def fresh_optimal_weight() -> float:
    """argmin_w (w² + (1−w)²)/(w(2−w)) = (√5 − 1)/2 ≈ 0.618 (σ₀ = σ). Derived (docs/papers/alemohammad2023.md)."""
    return (math.sqrt(5) - 1) / 2


def mix_error(d: int, T: int, sigma: float, generations: int, sigma0: float | None = None) -> np.ndarray:
    """E_test of mix mode with λ = 1 (fixed real set + T synthetic samples, fixed shared design).

    Derived: generation n fits (y_real + y_synth,n)/2, so e_n = ½e_{n−1} + ½u + ½v_n with the real
    set's noise image u fixed across generations; since e_1 = u, e_n = u + Σ_{k=2}^{n} 2^{−(n−k+1)} v_k
    and E_test = σ²c + σ₀²c(1 − 4^{−(n−1)})/3 → c(σ² + σ₀²/3). A stable loop in the sense of
    Bertrand et al. 2024 (docs/papers/bertrand2024.md): the real set anchors the mean.
    """
    sigma0 = sigma if sigma0 is None else sigma0
    _check_int("generations", generations, 1)
    c = ols_noise_factor(d, T)
    n = np.arange(1, generations + 1)
    return sigma**2 * c + sigma0**2 * c * (1 - 4.0 ** (-(n - 1))) / 3


def overparam_noiseless(d: int, T: int, w_norm: float, generations: int) -> np.ndarray:
    """‖w*‖²(1 − (T/d)ⁿ): noiseless min-norm OLS with T < d and a fresh isotropic design each generation.

    Stated by Dohmatob, Feng & Kempe 2024 (arXiv 2402.07712, with T₀ = T and n = number of fits). Each
    fit projects the previous weights on a uniformly random T-dimensional row space.
    """
    _check_int("d", d, 1)
    _check_int("T", T, 1)
    if T >= d:
        raise ValueError(f"T must be < d for the over-parameterized formula; got T={T}, d={d}")
    n = np.arange(1, generations + 1)
    return w_norm**2 * (1 - (T / d) ** n)


def strong_collapse_limit(p: float, w1: np.ndarray, w2: np.ndarray, spectrum: np.ndarray | None = None) -> float:
    """p²‖w₂ − w₁‖²_Σ: the large-data limit of E_test (vs w₁) when a fixed fraction p of the training
    labels comes from w₂ (Dohmatob et al. 2024, "Strong model collapse"; stated; docs/papers/dohmatob2024-strong.md)."""
    if not 0 <= p <= 1:
        raise ValueError(f"p must be in [0, 1]; got p={p!r}")
    delta = np.asarray(w2, float) - np.asarray(w1, float)
    spectrum = np.ones_like(delta) if spectrum is None else np.asarray(spectrum, float)
    return p**2 * float(np.sum(spectrum * delta**2))


# -- dispatch: which closed form (if any) matches a simulation config ------------------------------
def linear_theory(family, cfg) -> TheoryCurve | list[TheoryCurve]:
    """The theory curve of E_test (``metric="E_test"``) for a LinearRegression family under a LoopConfig.

    Raises TheoryUnavailable naming the assumption that fails, ConfigError when the sizes are outside the formula.
    """
    found = _linear_theory(family, cfg)  # edit mode: a list of curves (the exact recursion and Theorem 1)
    tag = lambda c: c if c.metric else dataclasses.replace(c, metric="E_test")  # noqa: E731
    return [tag(c) for c in found] if isinstance(found, list) else tag(found)


def _linear_theory(family, cfg) -> TheoryCurve:
    G, M = cfg.generations, family.synth_size
    d, T, s, s0 = family.d, family.T, family.sigma, family.noise_synth
    if cfg.mode == "edit":
        from theory.toedit import edit_theory

        return edit_theory(family, cfg)[0]
    if family.ridge > 0:
        if cfg.mode != "replace" or family.design != "fixed" or M != T:
            raise TheoryUnavailable("ridge > 0 has a closed form only in replace mode on one fixed design (M = T)")
        from theory.ridge import make_spectrum, ridge_replace_expected

        mean, se = ridge_replace_expected(d, T, family.ridge, s, s0, G, make_spectrum(d, family.covariance,
                                          family.alpha), family.w_norm, n_designs=400, seed=cfg.seed + 1)
        return TheoryCurve("exact ridge chain", mean, "derived (docs/ridge.md), averaged over 400 designs", se=se)
    if T < d and cfg.mode == "replace" and s == 0 and s0 == 0 and family.covariance == "isotropic" and M == T:
        if family.design == "fresh":
            return TheoryCurve("‖w*‖²(1 − (T/d)ⁿ)", overparam_noiseless(d, T, family.w_norm, G),
                               "Dohmatob, Feng & Kempe 2024 (stated)")
        return TheoryCurve("‖w*‖²(1 − T/d), frozen", overparam_noiseless(d, T, family.w_norm, 1).repeat(G),
                           "derived: a fixed projection is idempotent (docs/linear.md)")
    for name, size in (("T", T), ("M", M)):
        if size <= d + 1:
            raise ConfigError(name, size, "> d+1", f"{name} must exceed d+1 for OLS theory; got {name}={size}, "
                              f"d={d}")
    if cfg.mode == "replace":
        return TheoryCurve("σ²d/(T−d−1) + (n−1)σ₀²d/(M−d−1)", replace_error(d, T, s, G, s0, M),
                           "Dohmatob et al. 2024; Zhu et al. 2025 §1.1 (stated for σ₀=σ, M=T)")
    fixed_shared = family.design == "fixed" and M == T
    if not fixed_shared:
        raise TheoryUnavailable(f"mode {cfg.mode} has a closed form only for a fixed design with M = T")
    if cfg.mode == "accumulate":
        return TheoryCurve("σ²d/(T−d−1)·Σ1/i²", accumulate_error(d, T, s, G, s0),
                           "Gerstgrasser et al. 2024 (stated for σ₀=σ)")
    if cfg.mode == "fresh":
        return TheoryCurve("fresh-data recursion", fresh_error(d, T, s, cfg.real_weight, G, s0),
                           "derived (docs/linear.md)")
    if cfg.mode == "mix" and cfg.mix_ratio == 1.0:
        return TheoryCurve("mix λ=1", mix_error(d, T, s, G, s0), "derived (docs/linear.md)")
    raise TheoryUnavailable(f"no closed form for mode {cfg.mode} with these settings")


def linear_bounds(family, cfg) -> list[TheoryCurve]:
    """Published bounds that apply to this config (drawn as lines; checked as upper bounds), metric E_test."""
    if cfg.mode == "edit":
        from theory.toedit import edit_theory

        return [c if c.metric else dataclasses.replace(c, metric="E_test") for c in edit_theory(family, cfg)[1]]
    if cfg.mode == "accumulate" and family.ridge == 0 and family.T > family.d + 1:
        b = accumulate_bound(family.d, family.T, family.sigma, family.noise_synth)
        return [TheoryCurve("π²/6 bound", np.full(cfg.generations, b),
                            "Gerstgrasser et al. 2024 (bound)", kind="upper-bound", metric="E_test")]
    return []


# -- over-parameterised fresh-design min-norm with a real weight w (Garg, Bhattacharya, Sur 2025) ---------
def overparam_fresh_weighted(d: int, n: int, theta_norm: float, sigma: float, real_weight: float,
                             generations: int) -> np.ndarray:
    """E‖θ_t − θ*‖², t = 1..G: each round draws a fresh isotropic design X (n × d, n < d − 1), labels
    y = Xθ* + ε (real) and ỹ = Xθ_{t−1} + ε' (synthetic, from the previous model), and fits min-norm least
    squares to w·y + (1 − w)·ỹ; generation 1 fits the real labels alone (the engine's convention).

    Derived (docs/linear.md): θ_t − θ* = (1 − w)P(θ_{t−1} − θ*) − (I − P)θ* + X⁺(wε + (1 − w)ε') with P the
    projection on X's row space; P(I − P) = 0 kills the cross term, E‖Pv‖² = (n/d)‖v‖², E tr(XXᵀ)⁻¹ = n/(d − n − 1):
    M_t = (1 − w)²γM_{t−1} + (1 − γ)‖θ*‖² + (w² + (1 − w)²)σ²n/(d − n − 1), γ = n/d, M₁ = (1 − γ)‖θ*‖² +
    σ²n/(d − n − 1). Its fixed point is
    Garg, Bhattacharya, Sur 2025 (arXiv 2509.22341)'s M∞ (see :func:`overparam_fresh_limit`).
    """
    _check_int("d", d, 1)
    _check_int("n", n, 1)
    if n >= d - 1:
        raise ValueError(f"n must be < d − 1 (over-parameterised, finite noise term); got n={n}, d={d}")
    if not 0 <= real_weight <= 1:
        raise ValueError(f"real_weight must be in [0, 1]; got real_weight={real_weight!r}")
    g, w = n / d, real_weight
    noise = (w**2 + (1 - w) ** 2) * sigma**2 * n / (d - n - 1)
    out = np.empty(generations)
    out[0] = (1 - g) * theta_norm**2 + sigma**2 * n / (d - n - 1)  # generation 1: real data alone
    for t in range(1, generations):
        out[t] = (1 - w) ** 2 * g * out[t - 1] + (1 - g) * theta_norm**2 + noise
    return out


def overparam_fresh_limit(d: int, n: int, theta_norm: float, sigma: float, real_weight):
    """M∞ = [(1 − γ)‖θ*‖² + (w² + (1 − w)²)σ²n/(d − n − 1)]/(1 − (1 − w)²γ), γ = n/d: stated by Garg,
    Bhattacharya, Sur 2025 (arXiv 2509.22341; read in a summary), derived and checked by us. Its minimiser
    over w lies above ½: the numerator is symmetric about ½ and the denominator increases in w."""
    w = np.asarray(real_weight, float)
    g = n / d
    return ((1 - g) * theta_norm**2 + (w**2 + (1 - w) ** 2) * sigma**2 * n / (d - n - 1)) / (1 - (1 - w) ** 2 * g)
