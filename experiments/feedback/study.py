"""Feedback study (issue 19): window verifiers on linear regression and reward curation on a Gaussian.

The presets carry their selector in ``PresetRun.loop["selector"]`` (a dict of collapse.selectors.SelectorConfig
fields); the catalog must pop it and pass ``SelectorConfig(**it)`` to ``Loop(family, cfg, selector=...)`` (the
lead wires this with the CLI flags --selector, --sel-h, --sel-k, --sel-gamma, --sel-offset, --sel-tau,
--sel-phi, --sel-psi). ``run_preset`` runs a preset directly (used by experiments/feedback/make_figures.py).
"""

import numpy as np

from collapse.config import LoopConfig
from collapse.engine import run_loop
from collapse.families.gaussian import Gaussian
from collapse.families.linear import LinearRegression
from collapse.selectors import SelectorConfig
from experiments.presets import Preset, PresetRun
from theory.curation import gaussian_expected_reward, gaussian_quadratic_tilt
from theory.curves import TheoryCurve, TheoryUnavailable
from theory.window import regression_window_error

FAMILIES = {"linear": LinearRegression, "gaussian": Gaussian}

# (a) linear regression with a window verifier (Yi et al. 2026, arXiv 2510.16657)
_LIN = {"d": 5, "T": 200, "sigma": 1.0}
_LIN_LOOP = {"generations": 15, "replicates": 500, "seed": 0}
_WINDOW_RUNS = (
    ("no verification", {"kind": "none"}),
    ("window h=1, offset 0.3", {"kind": "window", "h": 1.0, "offset": 0.3}),
    ("window h=1, offset 0 (perfect verifier)", {"kind": "window", "h": 1.0, "offset": 0.0}),
    ("oracle |y − xᵀw*| ≤ 1", {"kind": "oracle", "tau": 1.0}),
)

# (b) curation of a Gaussian by a quadratic reward peaked at μ + 2 (Ferbach et al. 2024, arXiv 2407.09499)
_GAU = {"d": 2, "T": 500}
_GAU_LOOP = {"generations": 12, "replicates": 200, "seed": 0}
_CURATION_RUNS = (
    ("curate K=4, replace", {"mode": "replace"}, {"kind": "curate", "k": 4, "gamma": 0.5, "offset": 2.0}),
    ("curate K=4, mix λ=1 (real data)", {"mode": "mix"}, {"kind": "curate", "k": 4, "gamma": 0.5, "offset": 2.0}),
    ("tilt (K → ∞), replace", {"mode": "replace"}, {"kind": "tilt", "gamma": 0.5, "offset": 2.0}),
    ("tilt (K → ∞), mix λ=1 (real data)", {"mode": "mix"}, {"kind": "tilt", "gamma": 0.5, "offset": 2.0}),
)

PRESETS = [
    Preset(
        "feedback-window-linear",
        "Yi et al. 2026: OLS (d=5, T=M=200, fixed design, replace) retrained on labels a window verifier keeps "
        "(|y − xᵀw_v| ≤ h), against no verification and an oracle: bounded variance (near-term gain), then a drift "
        "to the verifier's belief w_v; lines = the linearized theory (docs/feedback.md §4).",
        tuple(PresetRun(label, "linear", dict(_LIN), {**_LIN_LOOP, "selector": sel}) for label, sel in _WINDOW_RUNS),
        figure="experiments.feedback.figures:window_figure",
    ),
    Preset(
        "feedback-curation-gaussian",
        "Ferbach et al. 2024: a 2-D Gaussian refitted on samples curated by a quadratic reward peaked at μ + 2 "
        "(K-choice Luce, K=4, and the K → ∞ tilt), with and without real data: reward up, diversity (tr Σ̂) "
        "down; lines = the K → ∞ closed form Σ_t⁻¹ = Σ₀⁻¹ + tγI (population iteration).",
        tuple(PresetRun(label, "gaussian", dict(_GAU), {**_GAU_LOOP, **loop, "selector": sel})
              for label, loop, sel in _CURATION_RUNS),
        figure="experiments.feedback.figures:curation_figure",
    ),
]


def split_loop(loop: dict):
    """(LoopConfig, SelectorConfig) from a preset's loop dict."""
    loop = dict(loop)
    return LoopConfig(**{k: v for k, v in loop.items() if k != "selector"}), SelectorConfig(**loop.get("selector", {}))


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


def run_preset(preset: Preset):
    """[(label, family, LoopConfig, SelectorConfig, metrics)] for every member (direct engine runs)."""
    out = []
    for run in preset.runs:
        family = FAMILIES[run.model](**run.family)
        cfg, sel = split_loop(run.loop)
        out.append((run.label, family, cfg, sel, run_loop(family, cfg, selector=sel)))
    return out
