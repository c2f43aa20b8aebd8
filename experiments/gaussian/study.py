"""Gaussian and Gaussian-mixture refits (Shumailov et al. 2024; Kazdan et al. 2024; Alemohammad et al. 2023):
the studies and their presets."""

from collapse.families.gaussian import Gaussian
from collapse.families.gmm import GaussianMixture
from experiments.catalog import Preset, PresetRun, Study, figure_report
from experiments.gaussian.figures import fresh_sweep, kazdan, shumailov
from theory.feedback import curation_theory
from theory.gaussian import gaussian_bounds, gaussian_theory

STUDIES = [
    Study(
        name="gaussian",
        summary="a Gaussian (1-D or full covariance; MLE or unbiased) refitted to its own samples; W₂² to the truth",
        runner="engine",
        config_cls=Gaussian,
        metric_label="W₂² to the true Gaussian",
        theory=gaussian_theory,
        bounds=gaussian_bounds,
        selector_theory=curation_theory,
        field_help={
            "d": "dimension",
            "T": "real samples (generation 1's training set)",
            "M": "synthetic samples per generation (default: T)",
            "M_schedule": "synthetic samples per generation n = 2, 3, … as a list, e.g. 10,20,50 (last repeats)",
            "mu": "true mean μ (every coordinate)",
            "std": "true standard deviation σ of each coordinate",
            "rho": "true correlation ρ between coordinates: Σ = σ²((1−ρ)I + ρ11ᵀ)",
            "cov": "explicit true covariance Σ, rows separated by ';' (e.g. 1,0.5;0.5,1); overrides std and rho",
            "estimator": "covariance divisor: unbiased (N − 1) or mle (N)",
            "refit": "mean-cov: refit μ and Σ each generation; mean: refit μ only (Σ known)",
            "temperature": "sampling temperature τ > 0: each generation samples N(μ̂, τΣ̂) (1 = unbiased sampling)",
            "truncation": "keep the central fraction q in (0, 1] of each fitted law (the Mahalanobis ball of mass q; "
                          "1 = off)",
            "sampler": "stats: exact-in-law sample mean and scatter (normal and Wishart), cost independent of M; "
                       "samples: draw the data; auto: stats where it applies (docs/gaussian.md)",
        },
    ),
    Study(
        name="gmm",
        summary="a Gaussian mixture refitted by EM to its own samples; L2 distance to the true mixture",
        runner="engine",
        config_cls=GaussianMixture,
        metric_label="L2 distance ∫(p̂ − p)² to the true mixture",
        field_help={
            "d": "dimension",
            "T": "real samples (generation 1's training set)",
            "M": "synthetic samples per generation (default: T)",
            "K": "mixture components (truth and fit)",
            "separation": "distance between neighbouring true component means",
            "std": "true standard deviation σ of each component",
            "em_start": "warm: each generation's EM starts at the previous model (generation 1 from k-means++); "
                        "seeded: every generation from k-means++ seeds and the data covariance",
            "em_iters": "EM iteration budget per fit",
            "em_tol": "EM stops when the mean log-likelihood changes by less than em_tol·(1 + |ℓ|)",
            "cov_floor": "added to the diagonal of every fitted covariance",
            "holdout": "held-out real samples per replicate (for heldout_ll)",
        },
    ),
]

_LOOP = {"replicates": 2000, "seed": 0}
PRESETS = [
    Preset(
        "gaussian-shumailov", "gaussian",
        "Shumailov et al. 2024: refit a 1-D Gaussian (unbiased) to M samples of the previous fit for 200 generations, "
        "M = 10, 25, 100: E σ̂² stays σ² but log σ̂² drifts down (median/quantile band vs the exact E log σ̂²), "
        "E σ̂ = σα_Mⁿ, E W₂² = σ²(n/M + 2 − 2α_Mⁿ)",
        cpu_time="16 s",
        settings={**_LOOP, "d": 1, "estimator": "unbiased", "generations": 200, "mode": "replace"},
        members=tuple(PresetRun(f"M={M}", {"T": M}) for M in (10, 25, 100)),
        report=figure_report(shumailov),
    ),
    Preset(
        "gaussian-kazdan", "gaussian",
        "Kazdan et al. 2024: replace / accumulate / accumulate-subsample side by side (1-D Gaussian, MLE, n = 10 per "
        "generation, 100 generations): replace's σ̂² collapses as ((n−1)/n)ᵗ, accumulate's stays above "
        "σ² sin(π/√n)/(π/√n), and its mean error under (π²/6)σ²/n",
        cpu_time="47 s",
        settings={**_LOOP, "d": 1, "T": 10, "estimator": "mle", "generations": 100},
        members=tuple(PresetRun(mode, {"mode": mode}) for mode in ("replace", "accumulate", "accumulate-subsample")),
        report=figure_report(kazdan),
    ),
    Preset(
        "gaussian-fresh-sweep", "gaussian",
        "fresh data (Alemohammad et al. 2023 setting): mean estimation (σ known, n = 20) with weight w on a new real "
        "sample; the stationary MSE (σ²/n)(w² + (1−w)²)/(w(2−w)) is smallest at w = (√5 − 1)/2",
        cpu_time="32 s",
        settings={"replicates": 4000, "seed": 0, "d": 1, "T": 20, "refit": "mean", "generations": 40,
                  "mode": "fresh"},
        members=tuple(PresetRun(f"w={w}", {"real_weight": w})
                      for w in (0.1, 0.2, 0.3, 0.4, 0.5, 0.618, 0.7, 0.8, 0.9, 1.0)),
        report=figure_report(fresh_sweep),
    ),
]
