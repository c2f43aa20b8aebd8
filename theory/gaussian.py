"""Closed forms for the Gaussian family (collapse.families.gaussian); papers: docs/papers/.

Conventions (as in the simulation): generations n = 1..G; generation 1 fits the T real samples; a
*sizes* vector [N₁, …, N_G] gives the samples each generation's newest block holds (N₁ = T, N_n = M or
the schedule's M_n). Σ is the true covariance, σ² = Σ in 1-D. The unbiased covariance divisor is N − 1,
the MLE's is N. Status in each docstring: *stated* (in the cited paper), *derived* (by us; derivation in
docs/gaussian.md, checked by tests/test_theory_gaussian.py) or *bound*.

Replace-mode variances are heavy-tailed (log σ̂_n² is a sum of n independent log-χ² terms): the mean
of σ̂_n² over R replicates is only reliable while Var(log σ̂_n²) is small, so :func:`gaussian_theory` makes
no claim (NaN) about the means of var / w2 / mean_err / sd beyond that; log σ̂² is checked at every
generation.
"""

import math

import numpy as np
from scipy.special import gammaln, polygamma, psi

from collapse.errors import ConfigError
from theory.curves import TheoryCurve, TheoryUnavailable
from theory.regression import fresh_optimal_weight

HEAVY_LOG_VAR = 2.0  # Var(log Y) above which the sample mean of Y is not checked (see module docstring)
__all__ = ["fresh_optimal_weight"]  # re-exported: the golden-ratio weight lives in theory.regression


def _sizes(sizes) -> np.ndarray:
    sizes = np.asarray(sizes, dtype=float)
    if sizes.ndim != 1 or sizes.size == 0 or np.any(sizes < 1):
        raise ValueError(f"sizes must be a non-empty list of sample sizes >= 1; got sizes={sizes!r}")
    return sizes


def _divisor(sizes, estimator):
    if estimator not in ("unbiased", "mle"):
        raise ValueError(f"estimator must be 'unbiased' or 'mle'; got estimator={estimator!r}")
    return sizes - 1 if estimator == "unbiased" else sizes


def alpha(M) -> np.ndarray:
    """α_M = E sqrt(χ²_{M−1}) / sqrt(M − 1) = sqrt(2/(M−1)) Γ(M/2)/Γ((M−1)/2) < 1.

    Stated (Shumailov et al. 2024; docs/papers/): the factor by which E σ̂ shrinks per unbiased refit on M
    samples. Computed with gammaln so it is exact for large M.
    """
    M = np.asarray(M, dtype=float)
    if np.any(M < 2):
        raise ConfigError("M", M, ">= 2 (α_M needs M − 1 >= 1 degrees of freedom)")
    return np.sqrt(2 / (M - 1)) * np.exp(gammaln(M / 2) - gammaln((M - 1) / 2))


# -- replace ---------------------------------------------------------------------------------------
def replace_variance(sizes, estimator="unbiased") -> np.ndarray:
    """E Σ̂_n / Σ in replace mode, n = 1..G: 1 (unbiased: a martingale) or Π_{k≤n} (N_k − 1)/N_k (MLE).

    Stated (Shumailov et al. 2024, docs/papers/shumailov2024.md: E σ_n² = σ² unbiased, σ²((M−1)/M)ⁿ for the MLE, our
    generation n = their σ_n). Holds for every d and entrywise for Σ̂ (E[Σ̂_n | Σ̂_{n−1}] = c·Σ̂_{n−1}).
    """
    sizes = _sizes(sizes)
    return np.cumprod((sizes - 1) / _divisor(sizes, estimator))


def replace_sd(sizes, estimator="unbiased") -> np.ndarray:
    """E σ̂_n / σ in 1-D replace mode: Π_{k≤n} α_{N_k} (unbiased), times Π sqrt((N_k − 1)/N_k) (MLE).

    Stated for the unbiased estimator with T = M as E σ_n = σ α_Mⁿ (Shumailov et al. 2024, docs/papers/);
    derived for the MLE and unequal sizes: σ̂_n = σ̂_{n−1}·sqrt(χ²_{N−1}/divisor) with an independent χ².
    """
    sizes = _sizes(sizes)
    return np.cumprod(alpha(sizes) * np.sqrt((sizes - 1) / _divisor(sizes, estimator)))


def replace_logdet(sizes, d=1, estimator="unbiased") -> np.ndarray:
    """E[log det Σ̂_n − log det Σ] in replace mode = Σ_{k≤n} Σ_{i=1}^{d} [ψ((N_k − i)/2) + log 2 − log D_k],
    D = N − 1 (unbiased) or N (MLE). In 1-D: E log σ̂_n² − log σ².

    Derived (docs/gaussian.md): D·Σ̂_n = Σ̂_{n−1}^½ W Σ̂_{n−1}^½ with W ~ Wishart_d(I, N − 1) independent of
    the past, and by Bartlett det W = Π_i χ²_{N−i}; E log χ²_k = ψ(k/2) + log 2.
    """
    sizes = _sizes(sizes)
    i = np.arange(1, d + 1)
    per = np.sum(psi((sizes[:, None] - i) / 2), axis=1) + d * (math.log(2) - np.log(_divisor(sizes, estimator)))
    return np.cumsum(per)


def replace_logdet_variance(sizes, d=1) -> np.ndarray:
    """Var[log det Σ̂_n] in replace mode = Σ_{k≤n} Σ_i ψ'((N_k − i)/2) (trigamma; Var log χ²_k = ψ'(k/2)).
    Derived with :func:`replace_logdet`. Measures how heavy-tailed σ̂_n² is."""
    sizes = _sizes(sizes)
    i = np.arange(1, d + 1)
    return np.cumsum(np.sum(polygamma(1, (sizes[:, None] - i) / 2), axis=1))


def replace_mean_err(sizes, trace=1.0, estimator="unbiased", refit="mean-cov") -> np.ndarray:
    """E‖μ̂_n − μ‖² in replace mode = tr Σ·[1/N₁ + Σ_{k=2}^{n} v_{k−1}/N_k], v = :func:`replace_variance`
    (v ≡ 1 when only the mean is refit).

    Derived: μ̂_n = μ̂_{n−1} + (noise of covariance Σ̂_{n−1}/N_n), uncorrelated increments. With the unbiased
    estimator and T = M it is n·tr Σ/M, the first term of Shumailov's W₂² (docs/papers/shumailov2024.md).
    """
    sizes = _sizes(sizes)
    v = np.ones_like(sizes) if refit == "mean" else replace_variance(sizes, estimator)
    steps = np.concatenate([[1 / sizes[0]], v[:-1] / sizes[1:]])
    return trace * np.cumsum(steps)


def replace_w2(sizes, std=1.0, estimator="unbiased") -> np.ndarray:
    """E W₂²(N(μ̂_n, σ̂_n²), N(μ, σ²)) in 1-D replace mode = E(μ̂_n − μ)² + E σ̂_n² − 2σ E σ̂_n + σ².

    Derived (ours, Shumailov et al. 2024 setting; docs/gaussian.md): with the unbiased estimator and T = M
    it is σ²(n/M + 2 − 2α_Mⁿ) at our generation n (see :func:`shumailov_w2`).
    """
    s2 = std**2
    return (replace_mean_err(sizes, s2, estimator) + s2 * replace_variance(sizes, estimator)
            - 2 * s2 * replace_sd(sizes, estimator) + s2)


def shumailov_w2(M: int, generations: int, std=1.0) -> np.ndarray:
    """σ²(n/M + 2 − 2α_Mⁿ), n = 1..G: W₂² to the truth, Shumailov et al. 2024 setting (unbiased refits of M samples, the
    first fitted to real data). Derived; equals :func:`replace_w2` with every size M."""
    n = np.arange(1, generations + 1)
    return std**2 * (n / M + 2 - 2 * alpha(M) ** n)


# -- accumulate -------------------------------------------------------------------------------------
def accumulate_variance(sizes, estimator="mle") -> np.ndarray:
    """E Σ̂_t / Σ in accumulate mode (every block kept; Σ̂ fitted to the whole pool), t = 1..G.

    Derived (docs/gaussian.md): with pool sizes P_t = N₁ + … + N_t, E Σ̂_{t+1} = E Σ̂_t·(1 − N_{t+1}/P_{t+1}²)
    (MLE) or (1 − N_{t+1}/(P_{t+1}(P_{t+1} − 1))) (unbiased), times (N₁ − 1)/D₁ at t = 1. For the MLE with
    every N = n it is Kazdan et al.'s Π_{k≤t}(1 − 1/(nk²)) (docs/papers/kazdan2024.md, :func:`kazdan_product`).
    """
    sizes = _sizes(sizes)
    pool = np.cumsum(sizes)
    first = (sizes[0] - 1) / _divisor(sizes[:1], estimator)[0]
    shrink = 1 - sizes[1:] / (pool[1:] ** 2 if estimator == "mle" else pool[1:] * (pool[1:] - 1))
    return first * np.concatenate([[1.0], np.cumprod(shrink)])


def kazdan_product(n: int, generations: int) -> np.ndarray:
    """Π_{k≤t}(1 − 1/(n k²)), t = 1..G: E Σ̂_t/Σ₀ under accumulate with n samples per generation (MLE).
    Derived (ours; docs/papers/kazdan2024.md); t is our generation (t = 1 fits the real sample)."""
    k = np.arange(1, generations + 1)
    return np.cumprod(1 - 1 / (n * k**2))


def kazdan_limit(n: float) -> float:
    """lim_t Π_{k≤t}(1 − 1/(nk²)) = sin(π/√n)/(π/√n) (Euler's product for sin; derived, docs/papers/kazdan2024.md).
    n is the per-generation sample size."""
    x = math.pi / math.sqrt(n)
    return math.sin(x) / x


def accumulate_mean_err(sizes, trace=1.0, estimator="mle", refit="mean-cov") -> np.ndarray:
    """E‖μ̂_t − μ‖² in accumulate mode = tr Σ·[1/P₁ + Σ_{k=2}^{t} N_k v_{k−1}/P_k²], v = :func:`accumulate_variance`
    (v ≡ 1 when only the mean is refit), P the pool sizes.

    Derived: the pool mean moves by (N_k/P_k)·(block mean − previous pool mean), an increment of
    covariance (N_k/P_k²)Σ̂_{k−1}, uncorrelated with the past.
    """
    sizes = _sizes(sizes)
    pool = np.cumsum(sizes)
    v = np.ones_like(sizes) if refit == "mean" else accumulate_variance(sizes, estimator)
    steps = np.concatenate([[1 / pool[0]], sizes[1:] * v[:-1] / pool[1:] ** 2])
    return trace * np.cumsum(steps)


def accumulate_mean_err_bound(T: int, M: int, trace=1.0) -> float:
    """Horizon-free bound on E‖μ̂_t − μ‖² under accumulate: tr Σ·(1/T + ψ'(1 + T/M)/M) = (π²/6)·tr Σ/n at
    T = M = n. Bound, derived: the sum in :func:`accumulate_mean_err` with v ≤ 1 and t → ∞ (the Gaussian
    analogue of Gerstgrasser et al.'s π²/6, docs/papers/); it is the limit when only the mean is refit."""
    return trace * (1 / T + float(polygamma(1, 1 + T / M)) / M)


# -- mix (Bertrand et al.) and fresh data (Alemohammad et al.) ---------------------------------------
def bertrand_stable(mix_ratio: float, lipschitz: float, eps: float, strength: float) -> bool:
    """Bertrand et al. 2024's sufficient condition for a stable loop with a fixed real set and λ× synthetic
    data: λ(1 + Lε/α) < 1 (L: Lipschitz constant of the fit, ε: generalisation error, α: strong-concavity).
    Stated (arXiv 2310.00429; docs/papers/bertrand2024.md); a bound-type (sufficient) condition."""
    return mix_ratio * (1 + lipschitz * eps / strength) < 1


def mix_mean_contraction(mix_ratio: float) -> float:
    """λ/(1 + λ): the exact contraction factor of the fitted mean under mix mode (fixed real set of T, λT
    synthetic samples): μ̂_n − x̄_real = λ/(1+λ)·(μ̂_{n−1} − x̄_real + ε_n). Derived; < 1 for every λ, so
    the Gaussian loop is stable even where Bertrand's sufficient condition fails."""
    return mix_ratio / (1 + mix_ratio)


def mix_moments(T: int, m: int, generations: int, estimator="unbiased", refit="mean-cov"):
    """(E Σ̂_n/Σ, E‖μ̂_n − μ‖²/tr Σ) in mix mode: fixed real set of T plus m = round(λT) synthetic samples.

    Derived (docs/gaussian.md): with e_n = μ̂_n − x̄_real, ρ = m/(T + m), N = T + m, D = N − 1 or N,
    E_n = ρ²(E_{n−1} + V_{n−1}/m) and V_n = [(T − 1) + (m − 1)V_{n−1} + (Tm/N)(E_{n−1} + V_{n−1}/m)]/D,
    from V₁ = (T − 1)/D₁ (real data only), E₁ = 0; E‖μ̂_n − μ‖² = tr Σ(1/T + E_n). V ≡ 1 if only μ is refit.
    """
    N = T + m
    D = _divisor(np.array([float(N)]), estimator)[0]
    rho = m / N
    V = np.empty(generations)
    E = np.empty(generations)
    V[0] = 1.0 if refit == "mean" else (T - 1) / _divisor(np.array([float(T)]), estimator)[0]
    E[0] = 0.0
    for n in range(1, generations):
        E[n] = rho**2 * (E[n - 1] + V[n - 1] / m)
        V[n] = 1.0 if refit == "mean" else ((T - 1) + (m - 1) * V[n - 1] + (T * m / N) * (E[n - 1] + V[n - 1] / m)) / D
    return V, 1 / T + E


def fresh_mean_err(T: int, M: int, real_weight: float, generations: int, trace=1.0) -> np.ndarray:
    """E‖μ̂_n − μ‖² in fresh mode, covariance known (refit="mean"): V₁ = tr Σ/T,
    V_n = (1 − w)²V_{n−1} + tr Σ(w²/T + (1 − w)²/M).

    Derived: μ̂_n = w·(new real mean) + (1 − w)·(synthetic mean), the synthetic mean = μ̂_{n−1} + noise.
    Its fixed point at M = T = n is Alemohammad et al.'s (σ²/n)(w² + (1−w)²)/(w(2−w)) (:func:`fresh_stationary_mse`).
    """
    w = real_weight
    if not 0 < w <= 1:
        raise ValueError(f"real_weight must be in (0, 1]; got real_weight={w!r}")
    out = np.empty(generations)
    out[0] = trace / T
    for n in range(1, generations):
        out[n] = (1 - w) ** 2 * out[n - 1] + trace * (w**2 / T + (1 - w) ** 2 / M)
    return out


def fresh_stationary_mse(real_weight, n: int, var=1.0):
    """(σ²/n)(w² + (1−w)²)/(w(2−w)): the stationary fresh-data MSE of the mean (Alemohammad et al. 2023
    setting; derived, docs/papers/alemohammad2023.md); minimised at w = (√5 − 1)/2 (:func:`fresh_optimal_weight`)."""
    w = np.asarray(real_weight, dtype=float)
    return var / n * (w**2 + (1 - w) ** 2) / (w * (2 - w))


# -- dispatch: which closed forms match a simulation config --------------------------------------------
def _heavy(values, logvar, scale=1.0):
    """NaN (no claim) where Var(log Y) = scale·logvar exceeds HEAVY_LOG_VAR."""
    return np.where(scale * logvar <= HEAVY_LOG_VAR, values, np.nan)


def _names(d):
    return ("var", "log_var") if d == 1 else ("trace", "logdet_ratio")


def _unbiased_sampling_theory(family, cfg) -> list[TheoryCurve]:
    """Every closed form that applies to a Gaussian family under a LoopConfig, one curve per metric.

    Raises TheoryUnavailable naming the assumption that fails.
    """
    G, d, est, refit = cfg.generations, family.d, family.estimator, family.refit
    mu, cov = family.truth()
    tr, s2 = float(np.trace(cov)), float(cov[0, 0])
    var_name, log_name = _names(d)
    src = "derived (docs/gaussian.md)"
    curves = []
    if cfg.mode == "replace":
        sizes = family.sizes(G)
        curves.append(TheoryCurve("tr Σ[1/T + Σ v_{k−1}/M_k]", _mask_mean(replace_mean_err(sizes, tr, est, refit),
                                  sizes, d, refit), src, metric="mean_err"))
        if refit == "mean":
            w2 = replace_mean_err(sizes, tr, est, refit)
            return [*curves, TheoryCurve("W₂² = ‖μ̂ − μ‖² (Σ known)", w2, src, metric="w2")]
        logvar = replace_logdet_variance(sizes, d)
        label = "σ²" if est == "unbiased" else "σ²Π(N−1)/N"
        curves.append(TheoryCurve(f"E {var_name} = {label}", _heavy((s2 if d == 1 else tr) *
                                  replace_variance(sizes, est), logvar),
                                  "Shumailov et al. 2024 (stated: martingale / ((M−1)/M)ⁿ)", metric=var_name))
        shift = math.log(s2) if d == 1 else 0.0
        curves.append(TheoryCurve(f"E {log_name} (log-χ² sums)", shift + replace_logdet(sizes, d, est), src,
                                  metric=log_name))
        if d == 1:
            curves.append(TheoryCurve("σ Π α_N", _heavy(math.sqrt(s2) * replace_sd(sizes, est), logvar, 0.25),
                                      "Shumailov et al. 2024 (stated for unbiased, T = M)", metric="sd"))
            curves.append(TheoryCurve("σ²(n/M + 2 − 2α_Mⁿ)", _heavy(replace_w2(sizes, math.sqrt(s2), est), logvar),
                                      "derived (Shumailov et al. 2024 setting; docs/gaussian.md)", metric="w2"))
        return curves
    if cfg.mode == "accumulate":
        sizes = family.sizes(G)
        curves.append(TheoryCurve("accumulate mean error", accumulate_mean_err(sizes, tr, est, refit), src,
                                  metric="mean_err"))
        if refit == "mean":
            return [*curves, TheoryCurve("W₂² = ‖μ̂ − μ‖² (Σ known)", curves[0].values, src, metric="w2")]
        curves.append(TheoryCurve("Kazdan Π(1 − 1/(nk²))" if est == "mle" else "Π(1 − N/(P(P−1)))",
                                  (s2 if d == 1 else tr) * accumulate_variance(sizes, est),
                                  "Kazdan et al. 2024 (derived; docs/gaussian.md)", metric=var_name))
        return curves
    if family.M_schedule is not None:
        raise TheoryUnavailable(f"mode {cfg.mode} has closed forms only without M_schedule")
    if cfg.mode == "mix":
        m = round(cfg.mix_ratio * family.T)
        V, E = mix_moments(family.T, m, G, est, refit)
        rho = mix_mean_contraction(m / family.T)
        curves.append(TheoryCurve(f"mix, contraction λ/(1+λ) = {rho:.3g}", tr * E, src, metric="mean_err"))
        if refit == "mean":
            return [*curves, TheoryCurve("W₂² = ‖μ̂ − μ‖² (Σ known)", tr * E, src, metric="w2")]
        curves.append(TheoryCurve("mix variance recursion", (s2 if d == 1 else tr) * V, src, metric=var_name))
        return curves
    if cfg.mode == "fresh":
        if refit != "mean":
            raise TheoryUnavailable("fresh mode has a closed form only with refit='mean' (known covariance)")
        values = fresh_mean_err(family.T, family.synth_size, cfg.real_weight, G, tr)
        return [TheoryCurve("fresh-data recursion → (σ²/n)(w²+(1−w)²)/(w(2−w))", values,
                            "Alemohammad et al. 2023 setting (derived; docs/gaussian.md)", metric="mean_err"),
                TheoryCurve("W₂² = ‖μ̂ − μ‖² (Σ known)", values, src, metric="w2")]
    raise TheoryUnavailable(f"no closed form for mode {cfg.mode} (Gaussian family)")


def _mask_mean(values, sizes, d, refit):
    """mean_err sums the heavy-tailed σ̂²_{k<n}: no claim beyond the reliable horizon."""
    if refit == "mean":
        return values
    logvar = np.concatenate([[0.0], replace_logdet_variance(sizes, d)[:-1]])
    return _heavy(values, logvar)


def gaussian_bounds(family, cfg) -> list[TheoryCurve]:
    """Bounds that apply (checked as upper bounds): accumulate's horizon-free mean-error bound."""
    if cfg.mode == "accumulate" and family.M_schedule is None:
        _, cov = family.truth()
        b = accumulate_mean_err_bound(family.T, family.synth_size, float(np.trace(cov)))
        return [TheoryCurve("(π²/6)·tr Σ/n bound", np.full(cfg.generations, b),
                            "derived bound (Gaussian analogue of Gerstgrasser et al. 2024)", kind="upper-bound",
                            metric="mean_err")]
    return []


# -- sampling bias: temperature and central-fraction truncation (docs/gaussian.md) -----------------------
def truncation_shrink(q: float, d: int = 1) -> float:
    """κ_q = Cov(z | ‖z‖² ≤ c_q)/I = F_{χ²_{d+2}}(c_q)/q with c_q = F⁻¹_{χ²_d}(q), z ~ N(0, I_d): the factor by which
    keeping the central fraction q (the Mahalanobis ball of mass q) shrinks the sampled covariance.

    Derived (docs/gaussian.md): E[zzᵀ 1{‖z‖² ≤ c}] = (E[‖z‖² 1{‖z‖² ≤ c}]/d)·I and E[χ²_d 1{χ²_d ≤ c}] =
    d·F_{χ²_{d+2}}(c). In 1-D: 1 − 2aφ(a)/q with a = Φ⁻¹((1 + q)/2). Setting: the sampling-bias knob of
    Alemohammad et al. 2023 (arXiv 2307.01850), applied to a Gaussian refit.
    """
    from scipy.stats import chi2

    if not 0 < q <= 1:
        raise ValueError(f"q must be in (0, 1]; got q={q!r}")
    if q == 1:
        return 1.0
    return float(chi2.cdf(chi2.ppf(q, d), d + 2) / q)


def biased_replace_variance(sizes, estimator="unbiased", temperature=1.0, truncation=1.0, d=1) -> np.ndarray:
    """E Σ̂_n/Σ in replace mode when each generation samples N(μ̂, τΣ̂) (temperature τ) or keeps its central
    fraction q: Π_{k≤n}(N_k − 1)/D_k · (τκ_q)^(n−1), generation 1 fitted to real data (unbiased sampling).

    Derived, exact for every estimator and sample size (docs/gaussian.md): the expected sample covariance of
    N i.i.d. draws of any law with covariance C is (N − 1)/D·C, and the biased sampler's covariance is τκ_qΣ̂.
    Hence E σ̂_n² = σ²·τ^(n−1) (unbiased) or σ²·τ^(n−1)((M − 1)/M)^(n−1)(T − 1)/T (MLE); counting generations
    from the first *synthetic* fit as papers' "E σ̂_t² = τ^t σ²" does, t = n − 1 (with the unbiased estimator).
    """
    sizes = _sizes(sizes)
    factor = temperature * truncation_shrink(truncation, d)
    return replace_variance(sizes, estimator) * factor ** np.arange(sizes.size)


def biased_replace_mean_err(sizes, trace=1.0, estimator="unbiased", temperature=1.0, truncation=1.0, d=1):
    """E‖μ̂_n − μ‖² in replace mode under sampling bias: tr Σ·[1/N₁ + Σ_{k=2}^{n} τκ_q v_{k−1}/N_k],
    v = :func:`biased_replace_variance` (truncation is symmetric, so the block mean stays unbiased).
    Derived as :func:`replace_mean_err`."""
    sizes = _sizes(sizes)
    v = biased_replace_variance(sizes, estimator, temperature, truncation, d)
    factor = temperature * truncation_shrink(truncation, d)
    steps = np.concatenate([[1 / sizes[0]], factor * v[:-1] / sizes[1:]])
    return trace * np.cumsum(steps)


def _biased_theory(family, cfg) -> list[TheoryCurve]:
    if cfg.mode != "replace" or family.refit != "mean-cov":
        raise TheoryUnavailable("with temperature / truncation the closed forms cover replace mode with "
                                "refit='mean-cov' only")
    G, d, est = cfg.generations, family.d, family.estimator
    tau, q = family.temperature, family.truncation
    _, cov = family.truth()
    tr, s2 = float(np.trace(cov)), float(cov[0, 0])
    sizes = family.sizes(G)
    var_name, log_name = _names(d)
    logvar = replace_logdet_variance(sizes, d)  # truncation only lightens the tails: a safe horizon
    src = "derived (docs/gaussian.md; sampling bias as in Alemohammad et al. 2023)"
    kappa = truncation_shrink(q, d)
    curves = [TheoryCurve(f"E {var_name} ∝ (τκ)^(n−1), τκ = {tau * kappa:.4g}",
                          _heavy((s2 if d == 1 else tr) * biased_replace_variance(sizes, est, tau, q, d), logvar),
                          src, metric=var_name),
              TheoryCurve("biased mean error", _heavy(biased_replace_mean_err(sizes, tr, est, tau, q, d),
                                                      np.concatenate([[0.0], logvar[:-1]])), src, metric="mean_err")]
    if q == 1:  # temperature only: log det shifts by d·log τ per synthetic generation
        shift = (math.log(s2) if d == 1 else 0.0) + d * math.log(tau) * np.arange(G)
        curves.append(TheoryCurve(f"E {log_name} + d(n−1)log τ", shift + replace_logdet(sizes, d, est), src,
                                  metric=log_name))
    return curves


def gaussian_theory(family, cfg) -> list[TheoryCurve]:
    """Every closed form for a Gaussian family under a loop config: the unbiased-sampling dispatcher above, or the
    sampling-bias closed forms when temperature ≠ 1 or truncation < 1."""
    if getattr(family, "temperature", 1.0) == 1.0 and getattr(family, "truncation", 1.0) == 1.0:
        return _unbiased_sampling_theory(family, cfg)
    return _biased_theory(family, cfg)


# -- fresh data at a real/synthetic size ratio k (He, Xu, Cheng 2026) ----------------------------------------
def fresh_optimal_weight_k(k):
    """w*(k) = (√(k² + 4k) − k)/2, the real-data weight minimising the stationary fresh-data MSE
    (w² + k(1 − w)²)/(w(2 − w)) (units σ²/T) with k = T/M the real/synthetic sample-size ratio; (√5 − 1)/2 at
    k = 1. Stated by He, Xu, Cheng 2026 (JRSS-B, arXiv 2502.18049; formula read in a summary); derived and
    checked by us (docs/gaussian.md: setting the derivative to 0 gives w² = k(1 − w))."""
    k = np.asarray(k, float)
    return (np.sqrt(k**2 + 4 * k) - k) / 2


def fresh_stationary_mse_k(real_weight, k, T: int, var=1.0):
    """(σ²/T)(w² + k(1 − w)²)/(w(2 − w)), k = T/M: the fixed point of :func:`fresh_mean_err`; its minimum over w
    equals (σ²/T)·w*(k) (derived, docs/gaussian.md)."""
    w = np.asarray(real_weight, float)
    return var / T * (w**2 + k * (1 - w) ** 2) / (w * (2 - w))
