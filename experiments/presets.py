"""Named presets: a set of runs that together reproduce one published figure.

``python -m experiments.gen_loop --preset NAME`` runs each member into its own folder under --out, draws
them on one figure (saved to --out and to figures/NAME.png) and prints a verdict per member. --replicates,
--generations and --seed given on the command line override every member's value (for a quick look).
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PresetRun:
    label: str
    model: str
    family: dict
    loop: dict
    panel: str = ""  # members with the same panel share a subplot


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    runs: tuple[PresetRun, ...]
    log_y: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)
    report: str | None = None  # "module:function" taking [(label, Outcome)], returning a Markdown table
    figure: str | None = None  # "module:function" taking [(label, Outcome)], returning PNG bytes (default:
    # each member's main metric, mean ± 2 SE, against its theory)


_LIN = {"d": 10, "T": 40, "sigma": 1.0}
_LOOP = {"generations": 20, "replicates": 2000, "seed": 0}

PRESETS = {p.name: p for p in (
    Preset(
        "linear-modes",
        "Linear regression, every data policy side by side (d=10, T=40, σ=1, 20 generations): replace grows "
        "as σ²d n/(T−d−1) (Dohmatob et al. 2024); accumulate stays under the π²/6 bound (Gerstgrasser et al. "
        "2024); accumulate-subsample, mix and fresh for comparison.",
        (
            PresetRun("replace", "linear", _LIN, {**_LOOP, "mode": "replace"}),
            PresetRun("accumulate", "linear", _LIN, {**_LOOP, "mode": "accumulate"}),
            PresetRun("accumulate-subsample", "linear", _LIN, {**_LOOP, "mode": "accumulate-subsample"}),
            PresetRun("mix λ=1", "linear", _LIN, {**_LOOP, "mode": "mix", "mix_ratio": 1.0}),
            PresetRun("fresh w=0.618", "linear", _LIN, {**_LOOP, "mode": "fresh", "real_weight": 0.618}),
        ),
        log_y=True,
    ),
    Preset(
        "linear-overparam",
        "Noiseless over-parameterized OLS (d=50): a fresh design each generation forgets w* as "
        "‖w*‖²(1 − (T/d)ⁿ) (Dohmatob et al. 2024); a fixed design freezes after one projection.",
        tuple(
            PresetRun(f"T={T}, {design} design", "linear", {"d": 50, "T": T, "sigma": 0.0, "design": design},
                      {**_LOOP, "generations": 15, "mode": "replace"})
            for T in (10, 25, 40) for design in ("fresh", "fixed")
        ),
    ),
    Preset(
        "toedit-linear",
        "Audit of Zhu et al. 2025's linear-model bounds for token editing: every mask schedule (disjoint, "
        "geometric η, overlapping iid, confidence-selected) against replace and accumulate at two (d, T, f, η), "
        "with the exact recursion, Theorem 1 as printed, Eq. 6, the η-bound and our disjoint-mask bound.",
        tuple(
            PresetRun(label, "linear", fam, {"generations": 30, "replicates": 2000, "seed": 0, **loop}, panel)
            for panel, fam, runs in (
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
            for label, loop in runs
        ),
        log_y=True,
        report="experiments.toedit_audit:table",
    ),
)}

_GAUSS_LOOP = {"replicates": 2000, "seed": 0}
PRESETS.update({p.name: p for p in (
    Preset(
        "gaussian-shumailov",
        "Shumailov et al. 2024: refit a 1-D Gaussian (unbiased) to M samples of the previous fit for 200 "
        "generations, M = 10, 25, 100: E σ̂² stays σ² but log σ̂² drifts down (median/quantile band vs the exact "
        "E log σ̂²), E σ̂ = σα_Mⁿ, E W₂² = σ²(n/M + 2 − 2α_Mⁿ).",
        tuple(PresetRun(f"M={M}", "gaussian", {"d": 1, "T": M, "estimator": "unbiased"},
                        {**_GAUSS_LOOP, "generations": 200, "mode": "replace"}) for M in (10, 25, 100)),
        figure="experiments.gaussian_figures:shumailov",
    ),
    Preset(
        "gaussian-kazdan",
        "Kazdan et al. 2024: replace / accumulate / accumulate-subsample side by side (1-D Gaussian, MLE, n = 10 "
        "per generation, 100 generations): replace's σ̂² collapses as ((n−1)/n)ᵗ, accumulate's stays above "
        "σ² sin(π/√n)/(π/√n), and its mean error under (π²/6)σ²/n.",
        tuple(PresetRun(mode, "gaussian", {"d": 1, "T": 10, "estimator": "mle"},
                        {**_GAUSS_LOOP, "generations": 100, "mode": mode})
              for mode in ("replace", "accumulate", "accumulate-subsample")),
        figure="experiments.gaussian_figures:kazdan",
    ),
    Preset(
        "gaussian-fresh-sweep",
        "Fresh data (Alemohammad et al. 2023 setting): mean estimation (σ known, n = 20) with weight w on a new "
        "real sample; the stationary MSE (σ²/n)(w² + (1−w)²)/(w(2−w)) is smallest at w = (√5 − 1)/2.",
        tuple(PresetRun(f"w={w}", "gaussian", {"d": 1, "T": 20, "refit": "mean"},
                        {"replicates": 4000, "seed": 0, "generations": 40, "mode": "fresh", "real_weight": w})
              for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.618, 0.7, 0.8, 0.9, 1.0)),
        figure="experiments.gaussian_figures:fresh_sweep",
    ),
)})

# Byte-level transformer LMs (collapse/families/transformer.py). The demo is what `--model transformer` runs.
_LM_CPU = {"T": 128, "steps": 100}
_LM_GPU = {"context": 256, "width": 512, "depth": 8, "heads": 8, "T": 8192, "steps": 4000, "batch": 64,
           "lr": 1e-3, "warmup": 200, "holdout": 150,  # pydoc's validation split has 156 such windows
           "diag_samples": 512, "dtype": "bfloat16"}
PRESETS.update({p.name: p for p in (
    Preset(
        "lm-demo",
        "CPU demo (a few minutes on 2 cores): byte-level transformer LMs trained on their own samples, replace vs "
        "accumulate, 5 generations × 2 replicates; held-out human perplexity per generation.",
        tuple(PresetRun(mode, "transformer", _LM_CPU, {"generations": 5, "replicates": 2, "seed": 0, "mode": mode})
              for mode in ("replace", "accumulate")),
    ),
    Preset(
        "lm-modes",
        "Byte-level transformer LMs under every data policy (replace, accumulate, accumulate-subsample, mix λ=1, "
        "fresh w=0.5), 6 generations × 2 replicates, CPU scale (6.5 min on 2 shared cores).",
        tuple(PresetRun(label, "transformer", _LM_CPU, {"generations": 6, "replicates": 2, "seed": 0, **loop})
              for label, loop in (("replace", {"mode": "replace"}), ("accumulate", {"mode": "accumulate"}),
                                  ("accumulate-subsample", {"mode": "accumulate-subsample"}),
                                  ("mix λ=1", {"mode": "mix", "mix_ratio": 1.0}),
                                  ("fresh w=0.5", {"mode": "fresh", "real_weight": 0.5}))),
    ),
    Preset(
        "lm-modes-gpu",
        "The lm-modes comparison at GPU scale (≈ 25M parameters, 256-byte context, 8,192 windows per block; not run "
        "on CPU).",
        # two replicates: the checker needs at least two for a standard error
        tuple(PresetRun(label, "transformer", _LM_GPU, {"generations": 10, "replicates": 2, "seed": 0, **loop})
              for label, loop in (("replace", {"mode": "replace"}), ("accumulate", {"mode": "accumulate"}),
                                  ("mix λ=1", {"mode": "mix", "mix_ratio": 1.0}))),
    ),
)})

# Feng et al. 2025 (papers.md §2.1): generator → verifier → student on a two-class Gaussian mixture.
_VER = {"d": 20, "mu_norm": 1.0}
_VER_LOOP = {"generations": 2, "replicates": 400, "seed": 0}
_VER_SETTINGS = ((0.2, "none", 1.0, 1.0), (0.6, "none", 1.0, 1.0), (0.6, "phi-psi", 1.0, 0.4),
                 (0.3, "phi-psi", 0.2, 0.6))
PRESETS.update({p.name: p for p in (
    Preset(
        "verify-vs-n",
        "Feng et al. 2025, label-noise generator → (ϕ, ψ) verifier → centroid student (d=20, ‖μ‖=1): student "
        "accuracy against N for four (p, ϕ, ψ); it tends to Bayes when p < p⋆ = ϕ/(ϕ+ψ) and to 1 − Bayes when "
        "p > p⋆, along the finite-N theory.",
        tuple(PresetRun(f"p={p}, {v} ϕ={phi} ψ={psi}, N={N}", "gmm-classify",
                        {**_VER, "N": N, "p": p, "verifier": v, "phi": phi, "psi": psi}, _VER_LOOP)
              for p, v, phi, psi in _VER_SETTINGS for N in (20, 200, 2000, 20000)),
        figure="experiments.verification_figures:accuracy_vs_n",
    ),
    Preset(
        "verify-vs-p",
        "Feng et al. 2025: student accuracy against the generator's error p at N=2000 for verifiers with "
        "p⋆ = 1/3, 1/2, 5/7; the student's side of ½ flips at p⋆ (dashed).",
        tuple(PresetRun(f"ϕ={phi} ψ={psi}, p={p}", "gmm-classify",
                        {**_VER, "N": 2000, "p": p, "verifier": "phi-psi", "phi": phi, "psi": psi}, _VER_LOOP)
              for phi, psi in ((0.5, 1.0), (1.0, 1.0), (1.0, 0.4)) for p in (0.1, 0.3, 0.45, 0.6, 0.75, 0.9)),
        figure="experiments.verification_figures:accuracy_vs_p",
    ),
    Preset(
        "verify-proxy",
        "Feng et al. 2025's proxy claim with linear verifiers sign(w_vᵀx) = y' at angles 0–150° from Σ⁻¹μ: the "
        "measured p⋆ against the student's accuracy, for a label-noise generator (p=0.3) and a linear generator "
        "at 60° (x-dependent errors); centroid student, N=2000.",
        tuple(PresetRun(f"{name}, verifier {a}°", "gmm-classify",
                        {**_VER, "N": 2000, "verifier": "linear", "verifier_angle": float(a), **gen}, _VER_LOOP,
                        panel=name)
              for name, gen in (("label noise p=0.3", {"p": 0.3}),
                                ("linear generator 60°", {"generator": "linear", "generator_angle": 60.0}))
              for a in (0, 30, 60, 75, 90, 105, 120, 150)),
        figure="experiments.verification_figures:proxy",
    ),
    Preset(
        "verify-iterated",
        "Beyond the paper: the student of round t labels round t+1 (replace mode, 10 rounds, d=50, N=500, "
        "centroid), with no verifier, a (ϕ, ψ) = (0.9, 0.4) verifier or an oracle, from a label-noise generator "
        "(p = 0.3 or 0.6) or a centroid fitted to 100 real samples; lines = the iterated recursion (approx.).",
        tuple(PresetRun(f"{v}", "gmm-classify", {"d": 50, "mu_norm": 1.0, "N": 500, **gen, **ver},
                        {"generations": 10, "replicates": 1000, "seed": 0}, panel=panel)
              for panel, gen in (("label noise p=0.3", {"p": 0.3}), ("label noise p=0.6", {"p": 0.6}),
                                 ("linear generator, 100 real samples", {"generator": "linear", "n_real": 100}))
              for v, ver in (("none", {}), ("ϕ=0.9 ψ=0.4", {"verifier": "phi-psi", "phi": 0.9, "psi": 0.4}),
                             ("oracle", {"verifier": "oracle"}))),
    ),
)})

# Iterated ToEdit on text (issue 7; experiments/toedit_iterate.py): edit → train → edit with the new model, vs replace.
_TE_CPU = {"T": 128, "steps": 200}
_TE_GPU = {**_LM_GPU, "T": 16384, "steps": 8000}
PRESETS.update({p.name: p for p in (
    Preset(
        "toedit-iterate-cpu",
        "Iterated ToEdit on byte-level text (CPU scale, 5 generations × 2 replicates): generation n edits generation "
        "n − 1's training windows with model n − 1 as the prior (p >= 0.99, and the inverse rule p <= 0.1) vs the "
        "replace loop; held-out human PPL, eligible/changed fractions, η, and the overlap of successive edit masks "
        "(disjoint vs overlapping, as in the linear audit).",
        tuple(PresetRun(label, "transformer", {**_TE_CPU, **fam}, {"generations": 5, "replicates": 2, "seed": 0,
                                                                     **loop})
              for label, fam, loop in (("replace", {}, {"mode": "replace"}),
                                       ("edit p>=0.99", {}, {"mode": "edit", "edit_schedule": "tokens"}),
                                       ("edit p<=0.1", {"edit_threshold": 0.1, "edit_direction": "below"},
                                        {"mode": "edit", "edit_schedule": "tokens"}))),
        report="experiments.toedit_iterate:table",
        figure="experiments.toedit_iterate:figure",
    ),
    Preset(
        "toedit-iterate-gpu",
        "The toedit-iterate comparison at GPU scale (≈ 25M parameters, 16k windows of 256 bytes, 10 generations; not "
        "run on CPU; give it a corpus larger than pydoc with --corpus for independent windows).",
        tuple(PresetRun(label, "transformer", {**_TE_GPU, **fam}, {"generations": 10, "replicates": 2, "seed": 0,
                                                                     **loop})
              for label, fam, loop in (("replace", {}, {"mode": "replace"}),
                                       ("edit p>=0.99", {}, {"mode": "edit", "edit_schedule": "tokens"}),
                                       ("edit p>=0.999", {"edit_threshold": 0.999},
                                        {"mode": "edit", "edit_schedule": "tokens"}))),
        report="experiments.toedit_iterate:table",
        figure="experiments.toedit_iterate:figure",
    ),
)})

