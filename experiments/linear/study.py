"""Linear and ridge regression in the loop (Dohmatob et al. 2024; Gerstgrasser et al. 2024; Zhu et al. 2025's
token-editing audit): the study and its presets."""

from collapse.families.linear import LinearRegression
from experiments.catalog import Preset, PresetRun, Study
from experiments.linear.toedit_audit import toedit_report
from theory.feedback import window_curves
from theory.regression import linear_bounds, linear_theory

STUDIES = [Study(
    name="linear",
    summary="OLS / ridge regression refitted on its own labels; test error ‖ŵ − w*‖²_Σ against the closed forms",
    runner="engine",
    config_cls=LinearRegression,
    metric_label="E_test = ‖ŵ − w*‖²_Σ",
    theory=linear_theory,
    bounds=linear_bounds,
    selector_theory=window_curves,
    field_help={
        "d": "dimension of x",
        "T": "real samples per block (the real training set)",
        "M": "synthetic samples per generation (default: T; mix mode uses round(λ·T))",
        "sigma": "label-noise std of real data σ",
        "sigma0": "label-noise std of synthetic data σ₀ (default: σ)",
        "ridge": "ridge λ in ŵ = (XᵀX + λT I)⁻¹Xᵀy; 0 = min-norm OLS (pinv, safe for T < d)",
        "covariance": "spectrum of Σ: isotropic, or power-law λᵢ ∝ i^(−α) (tr Σ = d)",
        "alpha": "power-law exponent α of Σ's spectrum",
        "design": "fixed: inputs drawn once per replicate; fresh: new inputs for every block",
        "w_norm": "‖w*‖ (w* uniform on that sphere)",
        "verifier_n": "a learned window verifier: ridge fit on this many held-out real samples (0 = the given "
                      "verifier w* + offset·e)",
        "verifier_ridge": "ridge λ of the learned verifier, (XᵀX + λn I)⁻¹Xᵀy (0 = OLS, needs verifier_n >= d)",
        "sampler": "stats: exact-in-law sufficient statistics (Wishart by Bartlett, no design in memory); samples: "
                   "draw the data; auto: stats where it applies (docs/linear_fast_path.md)",
    },
)]

_LIN = {"d": 10, "T": 40, "sigma": 1.0, "generations": 20, "replicates": 2000, "seed": 0}
_AUDIT_PANELS = (
    ("d=10, T=40, f=0.1", {"d": 10, "T": 40, "sigma": 1.0}, (
        ("replace", {"mode": "replace"}),
        ("accumulate", {"mode": "accumulate"}),
        ("disjoint f=0.1", {"mode": "edit", "edit_schedule": "disjoint", "edit_fraction": 0.1}),
        ("geometric f=0.3 η=0.7", {"mode": "edit", "edit_schedule": "geometric", "edit_fraction": 0.3,
                                   "edit_eta": 0.7}),
        ("iid f=0.1", {"mode": "edit", "edit_schedule": "iid", "edit_fraction": 0.1}),
        ("confidence f=0.1", {"mode": "edit", "edit_schedule": "confidence", "edit_fraction": 0.1}),
    )),
    ("d=20, T=100, f=0.25", {"d": 20, "T": 100, "sigma": 1.0}, (
        ("disjoint f=0.25", {"mode": "edit", "edit_schedule": "disjoint", "edit_fraction": 0.25}),
        ("geometric f=0.5 η=0.5", {"mode": "edit", "edit_schedule": "geometric", "edit_fraction": 0.5,
                                   "edit_eta": 0.5}),
        ("iid f=0.25", {"mode": "edit", "edit_schedule": "iid", "edit_fraction": 0.25}),
        ("confidence f=0.25", {"mode": "edit", "edit_schedule": "confidence", "edit_fraction": 0.25}),
    )),
)

PRESETS = [
    Preset(
        "linear-modes", "linear",
        "every data policy side by side (d=10, T=40, σ=1, 20 generations): replace grows as σ²d n/(T−d−1) "
        "(Dohmatob et al. 2024); accumulate stays under the π²/6 bound (Gerstgrasser et al. 2024); "
        "accumulate-subsample, mix and fresh for comparison",
        cpu_time="1 min",
        settings=_LIN,
        members=(
            PresetRun("replace", {"mode": "replace"}),
            PresetRun("accumulate", {"mode": "accumulate"}),
            PresetRun("accumulate-subsample", {"mode": "accumulate-subsample"}),
            PresetRun("mix λ=1", {"mode": "mix", "mix_ratio": 1.0}),
            PresetRun("fresh w=0.618", {"mode": "fresh", "real_weight": 0.618}),
        ),
        log_y=True,
    ),
    Preset(
        "linear-overparam", "linear",
        "noiseless over-parameterized OLS (d=50): a fresh design each generation forgets w* as ‖w*‖²(1 − (T/d)ⁿ) "
        "(Dohmatob et al. 2024); a fixed design freezes after one projection",
        cpu_time="1 min",
        settings={"d": 50, "sigma": 0.0, "generations": 15, "replicates": 2000, "seed": 0, "mode": "replace"},
        members=tuple(PresetRun(f"T={T}, {design} design", {"T": T, "design": design})
                      for T in (10, 25, 40) for design in ("fresh", "fixed")),
    ),
    Preset(
        "toedit-linear", "linear",
        "audit of Zhu et al. 2025's linear-model bounds for token editing: every mask schedule (disjoint, geometric "
        "η, overlapping iid, confidence-selected) against replace and accumulate at two (d, T, f, η), with the exact "
        "recursion, Theorem 1 as printed, Eq. 6, the η-bound and our disjoint-mask bound",
        cpu_time="7.5 min",
        settings={"generations": 30, "replicates": 2000, "seed": 0},
        members=tuple(PresetRun(label, {**fam, **loop}, panel)
                      for panel, fam, runs in _AUDIT_PANELS for label, loop in runs),
        log_y=True,
        report=toedit_report,
    ),
]
