"""Closed forms for the KDE family (collapse.families.kde); derivations in docs/kde.md.

Setting: Khelifa, Turner, Venkataramanan (ICML 2026, arXiv 2602.16601) study a Gaussian KDE refitted on its
own samples and show it equals an ideally learned diffusion model stopped early (their claim, Section 2;
see :func:`ve_reverse_sde`); the variance laws below are *derived by us* in the engine's conventions and
checked by tests/test_theory_kde.py. KoyejoLab's Collapse-or-Thrive code runs the same loop on blobs, moons
and swiss rolls.

Conventions: generation 1 fits the T real points; generation n ≥ 2 fits M points drawn from model n − 1
(replace) or the pool of all points so far (accumulate). C_n = Cov(p̂_n) = S_n + H_n with S_n the (weighted)
MLE covariance of the centres and H_n the bandwidth matrix; the metric ``trace`` is tr C_n. The one fact
everything rests on: for M i.i.d. draws from any law with covariance C, E S_MLE = (M − 1)/M·C.
"""

import math

import numpy as np
from scipy.special import logsumexp

from collapse.families.kde import bandwidth_factor
from theory.curves import TheoryCurve, TheoryUnavailable

SOURCE = "derived (docs/kde.md; setting of Khelifa et al. 2026, arXiv 2602.16601)"


def rule_factor_sq(rule: str, n, d: int):
    """f_n² of H = f_n²Σ̂ (Silverman or Scott, scipy.stats.gaussian_kde's factors)."""
    if rule not in ("silverman", "scott"):
        raise ValueError(f"rule must be 'silverman' or 'scott'; got rule={rule!r}")
    return bandwidth_factor(rule, np.asarray(n, float), d) ** 2


def growth_factor(rule: str, M: int, d: int = 1) -> float:
    """Per-generation factor of E tr Cov(p̂_n) in replace mode with a data-driven bandwidth:
    g = (M − 1)/M + f_M² (≈ 1.1678 for Silverman at M = 100, d = 1; 1.1485 for Scott).

    Derived (docs/kde.md): S_n is the MLE covariance of M draws from p̂_{n−1}, so E[S_n | p̂_{n−1}] =
    (M − 1)/M·C_{n−1}; H_n = f_M²·M/(M − 1)·S_n (the rule uses the unbiased covariance); C_n = S_n + H_n is
    linear in S_n, so the factor holds exactly for the expectation (not only approximately).
    """
    return (M - 1) / M + float(rule_factor_sq(rule, M, d))


def fixed_replace_trace(T: int, M: int, h: float, d: int, trace0: float, generations: int) -> np.ndarray:
    """E tr Cov(p̂_n), fixed bandwidth h, replace mode: t₁ = (T − 1)/T·tr Σ + d h²,
    t_n = (M − 1)/M·t_{n−1} + d h² → M·d·h² (per coordinate: every generation adds h² while the refit loses a
    fraction 1/M, so the variance tends to M·h² instead of collapsing). Derived (docs/kde.md)."""
    out = np.empty(generations)
    out[0] = (T - 1) / T * trace0 + d * h**2
    for n in range(1, generations):
        out[n] = (M - 1) / M * out[n - 1] + d * h**2
    return out


def rule_replace_trace(T: int, M: int, rule: str, d: int, trace0: float, generations: int) -> np.ndarray:
    """E tr Cov(p̂_n), Silverman / Scott bandwidth, replace mode: ((T − 1)/T + f_T²)·tr Σ·g^(n−1), g =
    :func:`growth_factor` (geometric blow-up). Derived (docs/kde.md)."""
    first = ((T - 1) / T + float(rule_factor_sq(rule, T, d))) * trace0
    return first * growth_factor(rule, M, d) ** np.arange(generations)


def accumulate_trace(T: int, M: int, bandwidth: str, h: float, d: int, trace0: float,
                     generations: int) -> np.ndarray:
    """E tr Cov(p̂_n) in accumulate mode (pool P_n = T + (n − 1)M points, all weight 1).

    Derived (docs/kde.md): with s = tr S (pool MLE covariance) and c = tr C of the KDE fitted to it,
    E s_{n+1} = [P_n s_n + (M − 1 + P_n/P_{n+1}) c_n]/P_{n+1} (the new block's own spread plus the shift of
    the pool mean), and c = s + d h² (fixed) or c = s(1 + f_P²·P/(P − 1)) (rules, effective size P). Both
    maps are linear, so the recursion is exact for the expectations.
    """
    def kde(s, P):
        if bandwidth == "fixed":
            return s + d * h**2
        return s * (1 + float(rule_factor_sq(bandwidth, P, d)) * P / (P - 1))

    out = np.empty(generations)
    P, s = T, (T - 1) / T * trace0
    out[0] = kde(s, P)
    for n in range(1, generations):
        P_next = P + M
        s = (P * s + (M - 1 + P / P_next) * out[n - 1]) / P_next
        P = P_next
        out[n] = kde(s, P)
    return out


def kde_theory(family, cfg) -> list[TheoryCurve]:
    """The closed forms that apply to a KDE family under a LoopConfig (metric ``trace``)."""
    T, M, d, G = family.T, family.synth_size, family.d, cfg.generations
    trace0 = family.truth_trace()
    if cfg.mode == "replace":
        if family.bandwidth == "fixed":
            values = fixed_replace_trace(T, M, family.h, d, trace0, G)
            name = f"fixed h: +d·h² per generation → M·d·h² = {M * d * family.h**2:.3g}"
        else:
            values = rule_replace_trace(T, M, family.bandwidth, d, trace0, G)
            name = f"{family.bandwidth}: ×{growth_factor(family.bandwidth, M, d):.4f} per generation"
        return [TheoryCurve(name, values, SOURCE, metric="trace")]
    if cfg.mode == "accumulate":
        values = accumulate_trace(T, M, family.bandwidth, family.h, d, trace0, G)
        return [TheoryCurve(f"accumulate, {family.bandwidth} bandwidth (exact recursion)", values, SOURCE,
                            metric="trace")]
    raise TheoryUnavailable(f"the KDE family has closed forms for replace and accumulate only (mode {cfg.mode})")


# -- KDE = an ideal diffusion model stopped early ------------------------------------------------------
def ideal_score(x: np.ndarray, centres: np.ndarray, sigma: float) -> np.ndarray:
    """∇log p_σ(x) for p_σ = (1/N)Σᵢ N(xᵢ, σ²I), the score an ideally trained (variance-exploding) diffusion
    model learns from the training set {xᵢ}: Σᵢ softmaxᵢ(−‖x − xᵢ‖²/2σ²)(xᵢ − x)/σ². x [n, d] → [n, d]."""
    diff = centres[None] - x[:, None]  # [n, N, d]
    logits = -np.sum(diff**2, axis=2) / (2 * sigma**2)
    post = np.exp(logits - logsumexp(logits, axis=1, keepdims=True))
    return np.einsum("nk,nkd->nd", post, diff) / sigma**2


def ve_reverse_sde(rng, centres: np.ndarray, sigma_stop: float, sigma_max: float, steps: int,
                   size: int) -> np.ndarray:
    """Samples of the reverse-time variance-exploding SDE driven by :func:`ideal_score`, run from σ_max down to
    σ_stop (geometric grid, Euler–Maruyama: x ← x + (σₖ² − σₖ₊₁²)·score + √(σₖ² − σₖ₊₁²)·z), started from
    p_{σ_max} (exactly: a random centre plus N(0, σ_max²I)).

    Khelifa et al. 2026 (arXiv 2602.16601; claim read in the abstract / summary): the output law is p_{σ_stop},
    i.e. a Gaussian KDE of the training set with bandwidth h = σ_stop — stopping the ideal diffusion early is
    sampling a KDE, and retraining it on its own samples is the KDE loop. Checked numerically (not exact: the
    Euler discretisation error shrinks with ``steps``) in tests/test_theory_kde.py.
    """
    centres = np.asarray(centres, float).reshape(len(centres), -1)
    sig = np.geomspace(sigma_max, sigma_stop, steps + 1)
    x = centres[rng.integers(len(centres), size=size)] + sigma_max * rng.standard_normal((size, centres.shape[1]))
    for a, b in zip(sig[:-1], sig[1:], strict=True):
        step = a**2 - b**2
        x = x + step * ideal_score(x, centres, a) + math.sqrt(step) * rng.standard_normal(x.shape)
    return x
