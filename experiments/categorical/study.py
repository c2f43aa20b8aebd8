"""Next-token collapse (docs/categorical.md): the ``categorical`` and ``zipf`` studies and their presets."""

from collapse.families.categorical import Categorical
from collapse.families.zipf import ZipfMemorise
from experiments.catalog import Preset, PresetRun, Study, figure_report
from experiments.categorical.figures import grokking, support_and_tail, tale_of_tails
from theory.categorical import categorical_theory
from theory.feedback import categorical_curation_theory
from theory.zipf import zipf_theory

CATEGORICAL = Study(
    name="categorical",
    summary="a categorical distribution over V symbols refitted to its own samples (uniform / Zipf / Dirichlet "
            "truth, temperature / top-k / top-p); missing tail mass, support, ‖p̂ − p‖² against exact laws",
    runner="engine",
    config_cls=Categorical,
    metric_label="missing tail mass Σ p_i·1[model no longer produces i]",
    field_help={
        "V": "vocabulary size (symbols)",
        "T": "real samples (generation 1's training set)",
        "M": "synthetic samples per generation (default: T; mix mode uses round(λ·T))",
        "truth": "true distribution: uniform, zipf (p_i ∝ i^(−β)) or dirichlet (Dirichlet(a), drawn per replicate)",
        "beta": "Zipf exponent β of the truth (> 0)",
        "a": "Dirichlet concentration a of the truth (> 0)",
        "temperature": "sampling temperature τ > 0: q ∝ p̂^(1/τ)",
        "top_k": "sample only the k most likely symbols (unset = off)",
        "top_p": "nucleus: the smallest most-likely set of mass ≥ top_p, in (0, 1] (1 = off)",
        "source_alpha": "contaminated source: each generated sample is fresh real data with probability α",
        "kl_eps": "smoothing ε of the KL metric: KL(p ‖ (1 − ε)p̂ + ε/V)",
        "reward": "reward over symbols (selectors curate / tilt / window / best-of-k): rank (r_v = −(v − 1)/(V − 1), "
                  "favours the head) or random (r_v iid N(0, 1) from --reward-seed)",
        "reward_seed": "seed of the random reward vector (the same for every replicate)",
        "correct_frac": "the oracle's correct subset: the ⌈correct_frac·V⌉ symbols of highest reward, in (0, 1]",
    },
    theory=categorical_theory,
    selector_theory=categorical_curation_theory,
    loop_defaults={"replicates": 1000},
)

ZIPF = Study(
    name="zipf",
    summary="tale of tails: a learner memorising Zipf-distributed items labelled by the previous model; exact test "
            "error against the scaling laws",
    runner="engine",
    config_cls=ZipfMemorise,
    metric_label="test error Σ p_i·1[item i answered wrongly] (exact)",
    field_help={
        "V": "items (p_i ∝ i^(−β), i = 1..V)",
        "beta": "Zipf exponent β (the scaling-law formulas need β > 1)",
        "T": "real samples (generation 1's training set)",
        "T0": "samples per later generation (default: T)",
        "labeler": "model: synthetic samples labelled by the previous model (errors inherited); truth: correctly",
        "tail_cut": "synthetic inputs only from ranks ≤ k (unset = no cut)",
        "real_fraction": "π: share of fresh real samples in every generation ≥ 2",
        "temperature": "τ of the synthetic inputs: q ∝ p^(1/τ)",
    },
    theory=zipf_theory,
    loop_defaults={"replicates": 200},
)

STUDIES = [CATEGORICAL, ZIPF]

CPU_TIME = {"categorical-tails": "4.7 min under load ≈ 17", "tale-of-tails": "3.7 min under load",
            "grokking": "2.5 min under load"}
_TAILS = {"V": 10_000, "T": 10_000, "truth": "zipf", "beta": 1.1, "generations": 30, "replicates": 100, "seed": 0}
TALE_T = (100, 300, 1000, 3000, 10_000, 30_000)
GROK_T = (100, 300, 1000, 3000, 10_000, 30_000, 100_000)
_TALE = {"V": 100_000, "beta": 1.5}
_GROK = {"V": 100_000, "beta": 1.5, "labeler": "truth", "tail_cut": 10, "real_fraction": 0.01}

PRESETS = [
    Preset(
        "categorical-tails", "categorical",
        "Zipf(1.1) truth on V = 10⁴ symbols, T = M = 10⁴, 30 generations: replace loses the tail (missing mass ≈ "
        "Σ p_i(1 − p_i g_n)^T, g_n ≈ 2/(n + 1); Seddik's ‖p̂ − p‖² law), accumulate and mix keep the real block's "
        "support exactly (missing mass Σ p_i(1 − p_i)^T at every generation)",
        cpu_time=CPU_TIME["categorical-tails"],
        settings=_TAILS,
        members=(PresetRun("replace", {"mode": "replace"}), PresetRun("accumulate", {"mode": "accumulate"}),
                 PresetRun("mix λ=1", {"mode": "mix", "mix_ratio": 1.0})),
        report=figure_report(support_and_tail),
    ),
    Preset(
        "tale-of-tails", "zipf",
        "memorising learner on Zipf(1.5) items (V = 10⁵), T = T0, labels inherited from the previous model: error vs "
        "T per generation against the exact sum, the clean law A·T^(−c) and the union-bound template "
        "T^(−c) + n·T0^(−c) (Dohmatob et al. 2024)",
        cpu_time=CPU_TIME["tale-of-tails"],
        settings={**_TALE, "generations": 6, "replicates": 100, "seed": 0, "mode": "replace"},
        members=tuple(PresetRun(f"T={T}", {"T": T}) for T in TALE_T),
        report=figure_report(tale_of_tails),
    ),
    Preset(
        "grokking", "zipf",
        "tail cut at k = 10 mixed with a real fraction π = 0.01 (Zipf(1.5), V = 10⁵): the error sits on the cut tail "
        "mass until πT0 ≳ k^β ζ(β), then the clean scaling resumes (Dohmatob et al. 2024)",
        cpu_time=CPU_TIME["grokking"],
        settings={**_GROK, "T": 1000, "generations": 2, "replicates": 100, "seed": 0, "mode": "replace"},
        members=tuple(PresetRun(f"T0={T}", {"T0": T}) for T in GROK_T),
        report=figure_report(grokking),
    ),
]
