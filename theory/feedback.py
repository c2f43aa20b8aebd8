"""Theory curves of the linear and gaussian families when a selector filters their synthetic data
(docs/feedback.md): the hooks the catalog's linear and gaussian studies call with (family, loop config, selector)."""

import numpy as np

from theory.curation import curation_update, gaussian_expected_reward, gaussian_quadratic_tilt, tilt_update
from theory.curves import TheoryCurve, TheoryUnavailable
from theory.window import regression_window_error
from theory.window_bound import window_bound_curves, window_meanfield_curve


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
        if family.verifier_n > 0:  # learned verifier: the linearized E_test is affine in ‖Δ‖², Δ ⟂ the loop
            if family.verifier_ridge != 0 or family.verifier_n <= d + 1:
                raise TheoryUnavailable("the learned-verifier formula covers an OLS verifier with n > d + 1 rows")
            # E‖Δ‖² = offset² + σ²·E tr(X_vᵀX_v)⁻¹ = offset² + σ²d/(n − d − 1) (inverse Wishart; docs/feedback.md §7)
            offset = float(np.sqrt(offset**2 + family.sigma**2 * d / (family.verifier_n - d - 1)))
    elif selector.kind == "oracle":  # keep iff |y − xᵀw*| ≤ τ: a window of half-width τ with no offset
        h, offset = selector.tau, 0.0
    else:
        raise TheoryUnavailable(f"no regression formula for the {selector.kind} selector")
    values = regression_window_error(G, d=d, T=T, sigma=family.sigma, sigma0=family.noise_synth, h=h, offset=offset)
    return TheoryCurve("linearized window theory", values,
                       "approx, derived (docs/feedback.md §4) after Yi et al. 2026, arXiv 2510.16657", metric="E_test")


def window_curves(family, cfg, selector):
    """Every curve for the linear family under a selector (the linear study's hook): for a window (or the oracle,
    a window of half-width τ at offset 0) with a given verifier in replace mode, the exact-map mean field first
    (approx, both designs), then under a fixed design the linearized formula, under a fresh design the upper
    bound (docs/feedback.md §4); otherwise ``window_theory``'s single curve."""
    curves = []
    if selector.kind in ("window", "oracle") and family.verifier_n == 0:
        try:
            curves.append(window_meanfield_curve(family, cfg, selector))
            if family.design == "fresh":
                curves.append(window_bound_curves(family, cfg, selector))
        except TheoryUnavailable:
            pass
    try:
        curves.append(window_theory(family, cfg, selector))
    except TheoryUnavailable:
        if not curves:
            raise
    return curves


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


def _categorical_update(selector, r, correct):
    """The selection's map on the model's law (one generation, M → ∞)."""
    if selector.kind == "none":
        return lambda q: q
    if selector.kind == "oracle":  # keep the correct subset: q restricted to it (q unchanged if it has no mass)
        return lambda q: q * correct / np.sum(q * correct) if np.sum(q * correct) > 0 else q
    if selector.kind == "tilt":
        return lambda q: tilt_update(q, selector.gamma * r)
    if selector.kind == "curate":
        return lambda q: curation_update(q, selector.gamma * r, selector.k)
    raise TheoryUnavailable(f"no categorical formula for the {selector.kind} selector")


def categorical_curation_theory(family, cfg, selector):
    """The mean-field law p_{n+1} = λ·p + (1 − λ)·U(p_n), p_1 = p (the truth), of the categorical family under a
    selector (U: K-choice curation with reward γr, the K → ∞ tilt, or the oracle's restriction to the correct
    subset); λ = 0 (replace), the real weight w (fresh), or T/(T + M) (mix; its real part is the fixed real fit,
    approximated by p). Curves: E_p r (``reward_mean``) and the mass on the correct subset (``correct_mass``) —
    linear in p̂, so E of the metric = the metric of E p̂ (no entropy line: H is not linear, and E H(p̂) falls
    far below H of the mean-field law at finite M). Approximate for finite M: E p̂_n ≠ p_n (docs/feedback.md §2
    measures the gap; theory.curation.curation_chain_mean is the exact finite-M law for small V)."""
    if family.truth == "dirichlet" or not family.plain_sampler or family.source_alpha > 0:
        raise TheoryUnavailable("covers a fixed truth (uniform / zipf), the plain sampler, no contamination")
    if cfg.mode == "replace":
        lam = 0.0
    elif cfg.mode == "fresh":
        lam = cfg.real_weight
    elif cfg.mode == "mix":
        lam = family.T / (family.T + round(cfg.mix_ratio * family.T))
    else:
        raise TheoryUnavailable("covers replace, fresh and mix")
    p, r, correct = np.asarray(family.truth_probs(), float), family.reward_vector(), family.correct_set()
    update = _categorical_update(selector, r, correct)
    laws = [p]
    for _ in range(cfg.generations - 1):
        laws.append(lam * p + (1 - lam) * update(laws[-1]))
    laws = np.array(laws)
    src = "approx (mean-field), derived (docs/feedback.md §2) after Ferbach et al. 2024, arXiv 2407.09499"
    return [TheoryCurve("mean-field law", laws @ r, src, metric="reward_mean"),
            TheoryCurve("mean-field law", laws @ correct.astype(float), src, metric="correct_mass")]
