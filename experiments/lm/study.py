"""Byte-level transformer language models (Flax NNX) in the loop: the engine family (every data policy, token
editing), the synthetic-share sweep and ToEdit on text (Zhu et al. 2025) — the studies and their presets."""

from collapse.families.ngram_lm import NgramLM
from collapse.families.transformer import TransformerLM
from collapse.lm.config import LM_FIELD_HELP
from experiments.catalog import Preset, PresetRun, Study, figure_report
from experiments.lm import bridge, share, toedit_iterate, toedit_text

_NGRAM_HELP = {
    "corpus": LM_FIELD_HELP["corpus"], "context": LM_FIELD_HELP["context"], "holdout": LM_FIELD_HELP["holdout"],
    "order": "n of the byte n-gram model: the context is the last n − 1 bytes (1..3; dense tables of 257^n counts)",
    "smoothing": "ε of held-out scoring: p̃ = (1 − ε)·p + ε/256, so an unseen byte costs log(256/ε) nats",
    "tail_threshold": "a held-out human token counts as missing (missing_mass) below this model probability",
    "diag_samples": "windows sampled per generation for the n-gram diagnostics",
}

STUDIES = [
    Study(
        name="transformer",
        summary="byte-level transformer LMs trained inside the vectorized loop on their own samples; held-out human "
                "perplexity",
        runner="engine",
        config_cls=TransformerLM,
        metric_label="held-out human perplexity (per byte)",
        # a replicate is a whole training run: few of them (two, so a standard error exists), few generations
        loop_defaults={"generations": 5, "replicates": 2, "edit_schedule": "tokens"},
        field_help={
            **LM_FIELD_HELP,
            "T": "human windows per block (generation 1's training set)",
            "M": "synthetic windows per generation (default: T)",
            "steps": "optimizer steps per generation (the same in every mode: matched compute)",
            "temperature": "sampling temperature (0 = greedy)",
            "top_k": "sample from the k most likely bytes (0 = off)",
            "top_p": "nucleus sampling mass (1 = off)",
            "diag_samples": "windows sampled per generation for the n-gram diagnostics",
            "edit_threshold": "edit mode (--edit-schedule tokens): ToEdit probability threshold in (0, 1]",
            "edit_direction": "edit mode: above edits tokens with prior p >= threshold (ToEdit); below, p <= threshold",
            "edit_top_k": "edit mode: candidates per edited token (the prior's top k, the original token included)",
            "edit_top_p": "edit mode: keep only the candidates inside the prior's nucleus of this mass (1 = off)",
            "edit_beta": "edit mode: redraw weights ∝ p^(1/β), β > 0 (β → 0: the prior's argmax)",
            "prior": "edit mode: model (model n − 1 edits its own training block: iterated ToEdit) or bigram (a byte "
                     "bigram fitted to the block)",
        },
    ),
    Study(
        name="lm-share",
        summary="held-out human perplexity vs synthetic share 0–100% of the training set at a matched token budget",
        runner="seeds",
        config_cls=share.ShareExperiment,
        run=share.run,
        report=share.report,
        default_replicates=3,
        field_help={
            **LM_FIELD_HELP,
            "T": "windows in every training set (generator and each mixture: matched token budget)",
            "shares": "synthetic shares in [0, 1], comma-separated (must include 0)",
            "temperature": "generator's sampling temperature", "top_k": "top-k (0 = off)", "top_p": "top-p (1 = off)",
        },
    ),
    Study(
        name="toedit-text",
        summary="ToEdit on text: human vs token-edited vs synthetic vs mixed training sets at a matched token budget",
        runner="seeds",
        config_cls=toedit_text.ToEditText,
        run=toedit_text.run,
        report=toedit_text.report,
        default_replicates=3,
        field_help={
            **LM_FIELD_HELP,
            "T": "windows in every training set (matched token budget)",
            "prior_T": "human windows the prior (editor and synthetic-data generator) trains on",
            "prior_steps": "the prior's optimizer steps",
            "beta": "ToEdit redraw weights ∝ p^(1/β)", "ngram_order": "order of the byte n-gram prior",
            "variants": "edit variants, comma-separated (default: all): " + "; ".join(toedit_text.EDIT_VARIANTS),
        },
    ),
    Study(
        name="ngram",
        summary="byte n-gram (counting) models refitted on their own samples: the infinite-capacity limit of the "
                "byte LM; held-out human perplexity",
        runner="engine",
        config_cls=NgramLM,
        metric_label="held-out human perplexity (per byte, ε-smoothed)",
        loop_defaults={"generations": 5, "replicates": 2},
        field_help={**_NGRAM_HELP, "T": "human windows per block (generation 1's training set)",
                    "M": "synthetic windows per generation (default: T)"},
    ),
    Study(
        name="lm-vs-ngram",
        summary="the byte transformer and its counting limit (a byte n-gram model) in the same replace / accumulate "
                "loop, side by side per generation",
        runner="seeds",
        config_cls=bridge.LmVsNgram,
        run=bridge.run,
        report=bridge.report,
        default_replicates=2,
        field_help={
            **LM_FIELD_HELP, **_NGRAM_HELP,
            "T": "windows per block, both models (generation 1 trains on T human windows)",
            "generations": "generations of every loop",
            "modes": "data policies, comma-separated (replace, accumulate, accumulate-subsample)",
        },
    ),
]

_LM_CPU = {"T": 128, "steps": 100, "seed": 0}
_LM_GPU = {"context": 256, "width": 512, "depth": 8, "heads": 8, "T": 8192, "steps": 4000, "batch": 64, "lr": 1e-3,
           "warmup": 200, "holdout": 150,  # pydoc's validation split has 156 such windows
           "diag_samples": 512, "dtype": "bfloat16", "seed": 0, "replicates": 2}
_TE_ITER = (("replace", {"mode": "replace"}),
            ("edit p>=0.99", {"mode": "edit", "edit_schedule": "tokens"}))
_iterate_report = figure_report(toedit_iterate.figure, toedit_iterate.table)

PRESETS = [
    Preset(
        "lm-demo", "transformer",
        "byte-level transformer LMs trained on their own samples, replace vs accumulate, 5 generations × 2 replicates; "
        "held-out human perplexity per generation",
        cpu_time="7 min",
        settings={**_LM_CPU, "generations": 5, "replicates": 2},
        members=tuple(PresetRun(mode, {"mode": mode}) for mode in ("replace", "accumulate")),
    ),
    Preset(
        "lm-modes", "transformer",
        "byte-level transformer LMs under every data policy (replace, accumulate, accumulate-subsample, mix λ=1, "
        "fresh w=0.5), 6 generations × 2 replicates",
        cpu_time="6.5 min",
        settings={**_LM_CPU, "generations": 6, "replicates": 2},
        members=tuple(PresetRun(label, loop) for label, loop in (
            ("replace", {"mode": "replace"}), ("accumulate", {"mode": "accumulate"}),
            ("accumulate-subsample", {"mode": "accumulate-subsample"}), ("mix λ=1", {"mode": "mix", "mix_ratio": 1.0}),
            ("fresh w=0.5", {"mode": "fresh", "real_weight": 0.5}))),
    ),
    Preset(
        "lm-modes-gpu", "transformer",
        "the lm-modes comparison at GPU scale (≈ 25M parameters, 256-byte context, 8,192 windows per block)",
        cpu_time="GPU scale; not run on CPU",
        settings={**_LM_GPU, "generations": 10},
        members=tuple(PresetRun(label, loop) for label, loop in (
            ("replace", {"mode": "replace"}), ("accumulate", {"mode": "accumulate"}),
            ("mix λ=1", {"mode": "mix", "mix_ratio": 1.0}))),
    ),
    Preset(
        "toedit-iterate-cpu", "transformer",
        "iterated ToEdit on text: generation n edits generation n − 1's training windows with model n − 1 as the prior "
        "(p >= 0.99, and the inverse rule p <= 0.1) vs the replace loop; held-out human PPL, eligible/changed "
        "fractions, η, and the overlap of successive edit masks",
        cpu_time="31 min",
        settings={"T": 128, "steps": 200, "generations": 5, "replicates": 2, "seed": 0},
        members=(*(PresetRun(label, loop) for label, loop in _TE_ITER),
                 PresetRun("edit p<=0.1", {"edit_threshold": 0.1, "edit_direction": "below", "mode": "edit",
                                           "edit_schedule": "tokens"})),
        report=_iterate_report,
    ),
    Preset(
        "toedit-iterate-gpu", "transformer",
        "the toedit-iterate comparison at GPU scale (≈ 25M parameters, 16k windows of 256 bytes, 10 generations; give "
        "it a corpus larger than pydoc with --corpus for independent windows)",
        cpu_time="GPU scale; not run on CPU",
        settings={**_LM_GPU, "T": 16384, "steps": 8000, "generations": 10},
        members=(*(PresetRun(label, loop) for label, loop in _TE_ITER),
                 PresetRun("edit p>=0.999", {"edit_threshold": 0.999, "mode": "edit", "edit_schedule": "tokens"})),
        report=_iterate_report,
    ),
    Preset(
        "lm-synthetic-share", "lm-share",
        "held-out human perplexity vs synthetic share 0/25/50/75/100% at matched token budget, byte-level LMs, 3 seeds",
        cpu_time="4 min (idle), 8.5 min under load",
        settings={"replicates": 3},
    ),
    Preset(
        "lm-synthetic-share-t07", "lm-share",
        "the same with the generator sampled at temperature 0.7 (narrower text, as from a strong LLM), 3 seeds",
        cpu_time="10.5 min under load",
        settings={"temperature": 0.7, "replicates": 3},
    ),
    Preset(
        "lm-synthetic-share-gpu", "lm-share",
        "the same at GPU scale (≈ 25M parameters, 20k windows of 256 bytes, 5 seeds)",
        cpu_time="GPU scale; not run on CPU",
        settings={"context": 256, "width": 512, "depth": 8, "heads": 8, "T": 20000, "steps": 20000, "batch": 64,
                  "lr": 1e-3, "warmup": 500, "holdout": 1000, "dtype": "bfloat16", "replicates": 5},
    ),
    Preset(
        "toedit-text-cpu", "toedit-text",
        "ToEdit (a)+(c): human vs edited (7 rule/sampling/prior variants) vs synthetic vs 50/50 mix at matched token "
        "budget, held-out human PPL and diagnostics, 3 seeds",
        cpu_time="31 min under load",
        settings={"replicates": 3},
    ),
    Preset(
        "toedit-text-gpu", "toedit-text",
        "the same at GPU scale (≈ 25M parameters, 16k windows of 256 bytes, bf16)",
        cpu_time="GPU scale; not run on CPU",
        settings=toedit_text.GPU_PRESET,
    ),
    Preset(
        "lm-vs-ngram", "lm-vs-ngram",
        "byte transformer vs byte trigram counting model in the same loop (replace, accumulate), 5 generations × 2 "
        "seeds: held-out PPL, missing tail mass, rare-bigram recall, top-40 bigram concentration per generation",
        cpu_time="10.5 min under load (load avg ≈ 11; 8.3 min of it seed 0 with compilation)",
        settings={**_LM_CPU, "generations": 5, "replicates": 2},
    ),
]
