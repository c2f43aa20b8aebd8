"""Theory curves of the linear and gaussian families when a selector filters their synthetic data
(docs/feedback.md): the hooks the catalog's linear and gaussian studies call with (family, loop config, selector)."""

import numpy as np

from theory.curation import gaussian_expected_reward, gaussian_quadratic_tilt
from theory.curves import TheoryCurve, TheoryUnavailable
from theory.window import regression_window_error


def window_theory(family, cfg, selector):
    """E_test per generation for the linear family under no / window / oracle selection (TheoryCurve)."""
    if cfg.mode != "replace" or family.design != "fixed" or family.synth_size != family.T or family.ridge != 0 \
            or family.covariance != "isotropic":
        raise TheoryUnavailable("covers replace mode, fixed isotropic design, M = T, OLS")
    d, T, G = family.d, family.T, cfg.generations
    if selector.kind == "none":  # E_test(n) = (σ² + (n − 1)σ₀²)·d/(T − d − 1) (Dohmatob et al. 2024; docs/linear.md)
        values = (family.sigma**2 + np.arange(G) * family.noise_synth**2) * d / (T - d - 1)
        return TheoryCurve("no verification", values, "stated: Dohmatob et al. 2024, arXiv 2402.07712", metric="E_test")
    if selector.kind == "window":
        h, offset = selector.h, selector.offset
    elif selector.kind == "oracle":  # keep iff |y − xᵀw*| ≤ τ: a window of half-width τ with no offset
        h, offset = selector.tau, 0.0
    else:
        raise TheoryUnavailable(f"no regression formula for the {selector.kind} selector")
    values = regression_window_error(G, d=d, T=T, sigma=family.sigma, sigma0=family.noise_synth, h=h, offset=offset)
    return TheoryCurve("linearized window theory", values,
                       "approx, derived (docs/feedback.md §4) after Yi et al. 2026, arXiv 2510.16657", metric="E_test")


def curation_theory(family, cfg, selector):
    """The K → ∞ population iteration from the truth (μ₀ = μ, Σ₀ = Σ): expected reward and tr Σ_t per
    generation (generation n fits samples of a model tilted n − 1 times). Exact for the population law;
    the sampled loop departs by its O(1/M) refit noise and from the random real fit."""
    if selector.kind not in ("tilt", "curate") or cfg.mode != "replace":
        raise TheoryUnavailable("the closed form is the K → ∞ tilt in replace mode")
    mu, cov = family.truth()
    a = mu + selector.offset
    rewards, traces = [], []
    for n in range(1, cfg.generations + 1):
        m_t, c_t = gaussian_quadratic_tilt(mu, cov, selector.gamma, a, n - 1)
        rewards.append(gaussian_expected_reward(m_t, c_t, selector.gamma, a))
        traces.append(np.trace(c_t))
    src = "derived (conjugacy; docs/feedback.md §1) after Ferbach et al. 2024, arXiv 2407.09499"
    return [TheoryCurve("K → ∞ closed form", np.array(traces), src, metric="trace"),
            TheoryCurve("K → ∞ closed form", np.array(rewards), src, metric="reward_generated")]
