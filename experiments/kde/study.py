"""The KDE study (a Gaussian KDE refitted on its own samples; Khelifa et al. 2026) and its presets, plus the
fresh-data weight sweep at several real/synthetic ratios k (Gaussian study)."""

from collapse.families.kde import KDE
from experiments.catalog import Preset, PresetRun, Study, figure_report
from experiments.kde.figures import bandwidth_modes, fresh_k_sweep, moons_snapshots
from theory.kde import kde_theory

STUDIES = [
    Study(
        name="kde",
        summary="a Gaussian kernel density estimator refitted to its own samples (fixed / Silverman / Scott "
                "bandwidth); tr Cov(p̂) against its exact law",
        runner="engine",
        config_cls=KDE,
        main_metric="trace",
        metric_label="tr Cov(p̂_n) (spread of the fitted KDE)",
        theory=kde_theory,
        field_help={
            "d": "dimension (1..10; 2 for moons / rings)",
            "T": "real samples (generation 1's training set)",
            "M": "synthetic samples per generation (default: T)",
            "bandwidth": "fixed: kernel covariance h²I; silverman / scott: f²Σ̂ with scipy's factors at the "
                         "effective sample size",
            "h": "kernel standard deviation of the fixed bandwidth",
            "truth": "gaussian N(0, std²I), gmm (K components on the first axis), moons or rings (2-D shapes)",
            "std": "std of the gaussian truth / of each gmm component",
            "K": "gmm truth: number of components",
            "separation": "gmm truth: distance between neighbouring component means",
            "noise": "moons / rings: std of the Gaussian noise added to each point",
            "factor": "rings: radius of the inner circle (outer = 1)",
            "holdout": "held-out real points per replicate for heldout_ll (0 = off)",
            "sw_samples": "points drawn from p̂ (and the truth) for the sliced Wasserstein distance sw",
            "projections": "random directions of the sliced Wasserstein distance",
            "score_l2": "compute the closed-form L2 ∫(p̂ − p)² (gaussian / gmm truths; O(N²) per fit)",
        },
        loop_defaults={"replicates": 500},
    ),
]

_LEAN = {"holdout": 0, "score_l2": False, "sw_samples": 2, "projections": 1}
_BW = (("fixed h=0.05", {"bandwidth": "fixed", "h": 0.05}), ("fixed h=0.2", {"bandwidth": "fixed", "h": 0.2}),
       ("silverman", {"bandwidth": "silverman"}), ("scott", {"bandwidth": "scott"}))

PRESETS = [
    Preset(
        "kde-bandwidth", "kde",
        "Gaussian KDE refitted to its own samples (1-D standard normal truth, n = 100 per generation, 20 "
        "generations): with a fixed h the spread tends to M·h² (collapse if h² < σ²/M, slow growth otherwise); "
        "Silverman / Scott blow up by ×1.168 / ×1.149 per generation in replace mode; accumulate damps both",
        cpu_time="≈ 3 min",
        settings={**_LEAN, "d": 1, "T": 100, "generations": 20, "replicates": 1000, "seed": 0},
        members=tuple(PresetRun(label, {**bw, "mode": mode}, panel=mode)
                      for mode in ("replace", "accumulate") for label, bw in _BW),
        log_y=True,
        report=figure_report(bandwidth_modes),
    ),
    Preset(
        "kde-moons", "kde",
        "KDE (Silverman) on two moons, n = 200 per generation: samples of generations 1, 5 and 20, replace vs "
        "accumulate, and the sliced W₂² to the truth",
        cpu_time="≈ 2 min",
        settings={"d": 2, "T": 200, "truth": "moons", "noise": 0.08, "holdout": 0, "generations": 20,
                  "replicates": 50, "seed": 0, "sw_samples": 400, "projections": 32},
        members=(PresetRun("replace", {"mode": "replace"}), PresetRun("accumulate", {"mode": "accumulate"})),
        report=figure_report(moons_snapshots),
    ),
    Preset(
        "fresh-k-sweep", "gaussian",
        "fresh data at real/synthetic ratio k = T/M (mean estimation, σ known, T = 20): the stationary n·MSE/σ² = "
        "(w² + k(1−w)²)/(w(2−w)) is smallest at w*(k) = (√(k² + 4k) − k)/2, where it equals w*(k)",
        cpu_time="≈ 4 min",
        settings={"d": 1, "T": 20, "refit": "mean", "mode": "fresh", "generations": 40, "replicates": 4000,
                  "seed": 0},
        members=tuple(PresetRun(f"w={w}", {"M": M, "real_weight": w}, panel=f"k={20 / M:g}")
                      for M in (80, 20, 5) for w in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0)),
        log_y=True,
        report=figure_report(fresh_k_sweep),
    ),
]
