"""Verification prevents collapse (Feng et al. 2025, "Beyond Model Collapse", arXiv 2406.07515): generator →
verifier → student on a two-class Gaussian mixture — the study and its presets."""

from collapse.families.gmm_classify import GMMClassify
from experiments.catalog import Preset, PresetRun, Study, figure_report
from experiments.verification.figures import accuracy_vs_n, accuracy_vs_p, iterated, proxy
from theory.verification import gmm_classify_theory

STUDIES = [Study(
    name="gmm-classify",
    summary="two-class Gaussian mixture: generator → (ϕ, ψ) / oracle / linear verifier → student; exact accuracy "
            "against the p⋆ theory",
    runner="engine",
    config_cls=GMMClassify,
    metric_label="accuracy (exact, Φ(wᵀμ/sqrt(wᵀΣw)))",
    theory=gmm_classify_theory,
    field_help={
        "d": "dimension",
        "mu_norm": "‖μ‖: class means ±μ",
        "covariance": "spectrum of Σ: isotropic, or power-law λᵢ ∝ i^(−α) (tr Σ = d)",
        "alpha": "power-law exponent α of Σ's spectrum",
        "pi_pos": "class prior P(y = +1)",
        "N": "synthesized samples per generation (before selection)",
        "n_real": "real samples (train a linear generator; the real block of accumulate / mix / fresh)",
        "generator": "label-noise: true label flipped w.p. p; linear: sign(w_gᵀx), w_g fitted to n_real real "
                     "samples or given at --generator-angle",
        "p": "generator label-noise probability p in [0, 1]",
        "p_class": "class-specific label noise p₊,p₋ (overrides p)",
        "generator_angle": "a given linear generator at this angle (degrees) from Σ⁻¹μ",
        "verifier": "selection: none, oracle, phi-psi (keep correct w.p. ϕ, wrong w.p. ψ), random (keep w.p. ϕ), "
                    "linear (keep iff sign(w_vᵀx) = y'), best-of-k (pick the candidate the linear verifier scores "
                    "highest)",
        "phi": "ϕ = P(keep | label correct) in [0, 1]",
        "psi": "ψ = P(keep | label wrong) in [0, 1]",
        "phi_class": "class-specific ϕ₊,ϕ₋ (overrides phi)",
        "psi_class": "class-specific ψ₊,ψ₋ (overrides psi)",
        "verifier_angle": "angle (degrees) of the linear / best-of-k verifier from Σ⁻¹μ",
        "k": "candidate labels per input (best-of-k)",
        "student": "centroid (mean of y'x), ls (least squares / ridge), logistic (optax L-BFGS)",
        "ridge": "ridge λ (ls: λ·K·I for K kept samples; logistic: λ/2‖w‖²)",
        "intercept": "fit an intercept (true/false)",
        "logistic_steps": "L-BFGS iterations of the logistic student",
        "chunk": "samples drawn per step of the chunked generation (memory ∝ chunk·d per replicate)",
    },
)]

_BASE = {"d": 20, "mu_norm": 1.0, "generations": 2, "replicates": 400, "seed": 0}
_SETTINGS = ((0.2, "none", 1.0, 1.0), (0.6, "none", 1.0, 1.0), (0.6, "phi-psi", 1.0, 0.4), (0.3, "phi-psi", 0.2, 0.6))
PRESETS = [
    Preset(
        "verify-vs-n", "gmm-classify",
        "Feng et al. 2025, label-noise generator → (ϕ, ψ) verifier → centroid student (d=20, ‖μ‖=1): student accuracy "
        "against N for four (p, ϕ, ψ); it tends to Bayes when p < p⋆ = ϕ/(ϕ+ψ) and to 1 − Bayes when p > p⋆, along "
        "the finite-N theory",
        cpu_time="1 min",
        settings=_BASE,
        members=tuple(PresetRun(f"p={p}, {v} ϕ={phi} ψ={psi}, N={N}",
                                {"N": N, "p": p, "verifier": v, "phi": phi, "psi": psi})
                      for p, v, phi, psi in _SETTINGS for N in (20, 200, 2000, 20000)),
        report=figure_report(accuracy_vs_n),
    ),
    Preset(
        "verify-vs-p", "gmm-classify",
        "Feng et al. 2025: student accuracy against the generator's error p at N=2000 for verifiers with p⋆ = 1/3, "
        "1/2, 5/7; the student's side of ½ flips at p⋆ (dashed)",
        cpu_time="1 min",
        settings={**_BASE, "N": 2000, "verifier": "phi-psi"},
        members=tuple(PresetRun(f"ϕ={phi} ψ={psi}, p={p}", {"p": p, "phi": phi, "psi": psi})
                      for phi, psi in ((0.5, 1.0), (1.0, 1.0), (1.0, 0.4)) for p in (0.1, 0.3, 0.45, 0.6, 0.75, 0.9)),
        report=figure_report(accuracy_vs_p),
    ),
    Preset(
        "verify-proxy", "gmm-classify",
        "Feng et al. 2025's proxy claim with linear verifiers sign(w_vᵀx) = y' at angles 0–150° from Σ⁻¹μ: the "
        "measured p⋆ against the student's accuracy, for a label-noise generator (p=0.3) and a linear generator at 60° "
        "(x-dependent errors); centroid student, N=2000",
        cpu_time="1 min",
        settings={**_BASE, "N": 2000, "verifier": "linear"},
        members=tuple(PresetRun(f"{name}, verifier {a}°", {"verifier_angle": float(a), **gen}, panel=name)
                      for name, gen in (("label noise p=0.3", {"p": 0.3}),
                                        ("linear generator 60°", {"generator": "linear", "generator_angle": 60.0}))
                      for a in (0, 30, 60, 75, 90, 105, 120, 150)),
        report=figure_report(proxy),
    ),
    Preset(
        "verify-iterated", "gmm-classify",
        "beyond the paper: the student of round t labels round t+1 (replace mode, 10 rounds, d=50, N=500, centroid), "
        "with no verifier, a (ϕ, ψ) = (0.9, 0.4) verifier or an oracle, from a label-noise generator (p = 0.3 or 0.6) "
        "or a centroid fitted to 100 real samples; the simulated mean and median against the θ-chain's mean, "
        "median and 10–90% band (derived, approximate)",
        cpu_time="1 min",
        settings={"d": 50, "mu_norm": 1.0, "N": 500, "generations": 10, "replicates": 1000, "seed": 0},
        members=tuple(PresetRun(v, {**gen, **ver}, panel=panel)
                      for panel, gen in (("label noise p=0.3", {"p": 0.3}), ("label noise p=0.6", {"p": 0.6}),
                                         ("linear generator, 100 real samples", {"generator": "linear",
                                                                                 "n_real": 100}))
                      for v, ver in (("none", {}), ("ϕ=0.9 ψ=0.4", {"verifier": "phi-psi", "phi": 0.9, "psi": 0.4}),
                                     ("oracle", {"verifier": "oracle"}))),
        report=figure_report(iterated),
    ),
]
