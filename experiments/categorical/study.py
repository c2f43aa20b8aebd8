"""Study catalog entries for next-token collapse: the ``categorical`` and ``zipf`` families and their presets
(docs/categorical.md). Figures: experiments/categorical/figures.py; ``python -m experiments.categorical.make_figures``
runs every preset and writes figures/<preset>.png until the CLI catalog wires these in."""

from collapse.families.categorical import TRUTHS, Categorical
from collapse.families.zipf import LABELERS, ZipfMemorise
from experiments.presets import Preset, PresetRun
from experiments.registry import ModelSpec
from theory.categorical import categorical_theory
from theory.zipf import zipf_theory

CATEGORICAL = ModelSpec(
    name="categorical",
    family_cls=Categorical,
    main_metric="missing_mass",
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
    },
    choices={"truth": TRUTHS},
    theory=categorical_theory,
    loop_defaults={"replicates": 1000},
)

ZIPF = ModelSpec(
    name="zipf",
    family_cls=ZipfMemorise,
    main_metric="error",
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
    choices={"labeler": LABELERS},
    theory=zipf_theory,
    loop_defaults={"replicates": 200},
)

SPECS = [CATEGORICAL, ZIPF]

_TAILS = {"V": 10_000, "T": 10_000, "truth": "zipf", "beta": 1.1}
_TAILS_LOOP = {"generations": 30, "replicates": 100, "seed": 0}
TALE_T = (100, 300, 1000, 3000, 10_000, 30_000)
GROK_T = (100, 300, 1000, 3000, 10_000, 30_000, 100_000)
_TALE = {"V": 100_000, "beta": 1.5}
_GROK = {"V": 100_000, "beta": 1.5, "labeler": "truth", "tail_cut": 10, "real_fraction": 0.01}

PRESETS = [
    Preset(
        "categorical-tails",
        "Zipf(1.1) truth on V = 10⁴ symbols, T = M = 10⁴, 30 generations: replace loses the tail (missing mass ≈ "
        "Σ p_i(1 − p_i g_n)^T, g_n ≈ 2/(n + 1); Seddik's ‖p̂ − p‖² law), accumulate and mix keep the real block's "
        "support exactly (missing mass Σ p_i(1 − p_i)^T at every generation).",
        (
            PresetRun("replace", "categorical", _TAILS, {**_TAILS_LOOP, "mode": "replace"}),
            PresetRun("accumulate", "categorical", _TAILS, {**_TAILS_LOOP, "mode": "accumulate"}),
            PresetRun("mix λ=1", "categorical", _TAILS, {**_TAILS_LOOP, "mode": "mix", "mix_ratio": 1.0}),
        ),
        figure="experiments.categorical.figures:support_and_tail",
    ),
    Preset(
        "tale-of-tails",
        "Memorising learner on Zipf(1.5) items (V = 10⁵), T = T0, labels inherited from the previous model: error "
        "vs T per generation against the exact sum, the clean law A·T^(−c) and the union-bound template "
        "T^(−c) + n·T0^(−c) (Dohmatob et al. 2024).",
        tuple(PresetRun(f"T={T}", "zipf", {**_TALE, "T": T}, {"generations": 6, "replicates": 100, "seed": 0,
                                                               "mode": "replace"}) for T in TALE_T),
        figure="experiments.categorical.figures:tale_of_tails",
    ),
    Preset(
        "grokking",
        "Tail cut at k = 10 mixed with a real fraction π = 0.01 (Zipf(1.5), V = 10⁵): the error sits on the cut "
        "tail mass until πT0 ≳ k^β ζ(β), then the clean scaling resumes (Dohmatob et al. 2024).",
        tuple(PresetRun(f"T0={T}", "zipf", {**_GROK, "T": 1000, "T0": T}, {"generations": 2, "replicates": 100,
                                                                             "seed": 0, "mode": "replace"})
              for T in GROK_T),
        figure="experiments.categorical.figures:grokking",
    ),
]
