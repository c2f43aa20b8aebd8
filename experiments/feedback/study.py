"""Feedback (docs/feedback.md): window verifiers on linear regression and reward curation on a Gaussian — presets
of the linear and gaussian studies run with a selector (``--selector`` and the ``--sel-*`` flags), and their theory
hooks (``theory/feedback.py``)."""

from experiments.catalog import Preset, PresetRun, figure_report
from experiments.feedback.figures import (
    categorical_curation_figure,
    curation_figure,
    window_bound_table,
    window_figure,
)

STUDIES = []  # the presets below belong to the linear, gaussian and categorical studies

# (a) linear regression with a window verifier (Yi et al. 2026, arXiv 2510.16657)
_LIN = {"d": 5, "T": 200, "sigma": 1.0}
_LIN_LOOP = {"generations": 15, "replicates": 500, "seed": 0}
_WINDOW_RUNS = (
    ("no verification", {"kind": "none"}),
    ("window h=1, offset 0.3", {"kind": "window", "h": 1.0, "offset": 0.3}),
    ("window h=1, offset 0 (perfect verifier)", {"kind": "window", "h": 1.0, "offset": 0.0}),
    ("oracle |y − xᵀw*| ≤ 1", {"kind": "oracle", "tau": 1.0}),
)

# (a') the same under a fresh design, where the upper bound of docs/feedback.md §4c is proven, up to large offsets
_BOUND_RUNS = tuple((f"window h=1, offset {off:g}", {"kind": "window", "h": 1.0, "offset": off})
                    for off in (0.0, 0.6, 1.5))

# (b) curation of a Gaussian by a quadratic reward peaked at μ + 2 (Ferbach et al. 2024, arXiv 2407.09499)
_GAU = {"d": 2, "T": 500}
_GAU_LOOP = {"generations": 12, "replicates": 200, "seed": 0}
_CURATION_RUNS = (
    ("curate K=4, replace", {"mode": "replace"}, {"kind": "curate", "k": 4, "gamma": 0.5, "offset": 2.0}),
    ("curate K=4, mix λ=1 (real data)", {"mode": "mix"}, {"kind": "curate", "k": 4, "gamma": 0.5, "offset": 2.0}),
    ("tilt (K → ∞), replace", {"mode": "replace"}, {"kind": "tilt", "gamma": 0.5, "offset": 2.0}),
    ("tilt (K → ∞), mix λ=1 (real data)", {"mode": "mix"}, {"kind": "tilt", "gamma": 0.5, "offset": 2.0}),
)

# (c) curation of a categorical model by a random reward over symbols (Ferbach et al. 2024), fresh real data w = ½
_CAT = {"V": 50, "T": 500, "truth": "zipf", "beta": 1.0, "reward": "random", "reward_seed": 0, "correct_frac": 0.1}
_CAT_LOOP = {"generations": 15, "replicates": 200, "seed": 0}
_CAT_RUNS = (
    ("no selection, replace", {"mode": "replace"}, {"kind": "none"}),
    ("curate K=4, replace", {"mode": "replace"}, {"kind": "curate", "k": 4, "gamma": 1.0}),
    ("tilt (K → ∞), replace", {"mode": "replace"}, {"kind": "tilt", "gamma": 1.0}),
    ("curate K=4, fresh real w=0.5", {"mode": "fresh", "real_weight": 0.5}, {"kind": "curate", "k": 4, "gamma": 1.0}),
    ("tilt (K → ∞), fresh real w=0.5", {"mode": "fresh", "real_weight": 0.5}, {"kind": "tilt", "gamma": 1.0}),
)


def _sel(d: dict) -> dict:
    """SelectorConfig fields → the settings' keys (``selector`` for the kind, ``sel_<name>`` otherwise)."""
    return {("selector" if k == "kind" else f"sel_{k}"): v for k, v in d.items()}


def _over_runs(draw):
    """A figure or table function of (label, family, cfg, selector, metrics) tuples → one of the members."""
    def apply(members):
        return draw([(m.label, m.family, m.cfg, m.selector or _none(), m.metrics) for m in members])
    return apply


def _figure(draw):
    return figure_report(_over_runs(draw))


def _none():
    from collapse.selectors import SelectorConfig

    return SelectorConfig()


PRESETS = [
    Preset(
        "feedback-window-linear", "linear",
        "Yi et al. 2026: OLS (d=5, T=M=200, fixed design, replace) retrained on labels a window verifier keeps "
        "(|y − xᵀw_v| ≤ h), against no verification and an oracle: bounded variance (near-term gain), then a drift "
        "to the verifier's belief w_v; lines = the exact-map mean field (dashed) and the linearized theory (dotted; "
        "docs/feedback.md §4)",
        cpu_time="≈ 2 min under load",
        settings={**_LIN, **_LIN_LOOP},
        members=tuple(PresetRun(label, _sel(sel)) for label, sel in _WINDOW_RUNS),
        report=_figure(window_figure),
    ),
    Preset(
        "feedback-window-bound", "linear",
        "the window verifier under a fresh design (d=5, T=M=200, h=1, offsets 0, 0.6, 1.5): simulated E_test against "
        "the upper bound (thin) and the exact-map mean field (dashed) of docs/feedback.md §4c–4d, at offsets where "
        "the linearization fails; the table gives bound / simulation",
        cpu_time="≈ 2 min under load",
        settings={**_LIN, "design": "fresh", "generations": 8, "replicates": 2000, "seed": 0},
        members=tuple(PresetRun(label, _sel(sel)) for label, sel in _BOUND_RUNS),
        report=figure_report(_over_runs(window_figure), _over_runs(window_bound_table)),
    ),
    Preset(
        "feedback-curation-gaussian", "gaussian",
        "Ferbach et al. 2024: a 2-D Gaussian refitted on samples curated by a quadratic reward peaked at μ + 2 "
        "(K-choice Luce, K=4, and the K → ∞ tilt), with and without real data: reward up, diversity (tr Σ̂) down; "
        "lines = the K → ∞ closed form Σ_t⁻¹ = Σ₀⁻¹ + tγI (population iteration)",
        cpu_time="≈ 3 min under load",
        settings={**_GAU, **_GAU_LOOP},
        members=tuple(PresetRun(label, {**loop, **_sel(sel)}) for label, loop, sel in _CURATION_RUNS),
        report=_figure(curation_figure),
    ),
    Preset(
        "feedback-curation-categorical", "categorical",
        "Ferbach et al. 2024: a categorical model (V=50, Zipf β=1, T=M=500) refitted on samples curated by a "
        "random reward over symbols (K-choice Luce, K=4, and the K → ∞ tilt, γ=1), without and with fresh real data "
        "(weight ½): reward up, entropy and support down; with real data a stable fixed point; lines = the "
        "mean-field law (approximate for finite M: docs/feedback.md §2)",
        cpu_time="≈ 2 min under load",
        settings={**_CAT, **_CAT_LOOP},
        members=tuple(PresetRun(label, {**loop, **_sel(sel)}) for label, loop, sel in _CAT_RUNS),
        report=_figure(categorical_curation_figure),
    ),
]
