"""The driver experiments the CLI knows (see experiments/drivers.py). A new one registers one DriverSpec."""

from experiments.drivers import DriverSpec


def _summarize_spec() -> DriverSpec:
    from collapse.tasks.summarize import SELECTORS
    from collapse.tasks.summarize_loop import SummarizeExperiment, run
    from experiments.summarize_report import summarize_report

    return DriverSpec(
        name="summarize",
        config_cls=SummarizeExperiment,
        run=run,
        report=summarize_report,
        field_help={
            "human_sentences": "task: human-written sentences per document (document length)",
            "distractor_facts": "task: look-alike facts about other entities per document",
            "paraphrase": "task: probability that a fact is written in a paraphrased form",
            "n_entities": "task: how many entity names exist (fewer = the title-to-fact binding is easier to learn)",
            "width": "model width (generator and students)", "heads": "attention heads",
            "enc_depth": "encoder layers", "dec_depth": "decoder layers",
            "n_real": "real (document, summary) pairs of the generator",
            "N": "synthesized pool sizes for the students, comma-separated",
            "k": "candidate summaries sampled per document (k >= 1)",
            "temperature": "sampling temperature of the candidates",
            "selectors": f"comma-separated selection rules: {', '.join(SELECTORS)}",
            "threshold": "ROUGE-L at or above which a summary counts as correct (for p, q, phi, psi, p*)",
            "external_width": "external scorer's width", "external_enc_depth": "external scorer's encoder layers",
            "external_real": "external scorer's real training pairs (default: 4 x n_real)",
            "external_steps": "external scorer's training steps (default: steps)",
            "steps": "training steps of every model", "batch": "batch size", "lr": "peak learning rate",
            "test_size": "real test documents", "decode_batch": "documents per compiled decoding call",
        },
        presets={
            "summarize-cpu": ("student ROUGE vs N per selector, generator as a line; CPU scale, 3 seeds "
                              "(≈ 3 min per seed on 2 idle cores); the generator guesses between facts",
                              {"seeds": 3}),
            "summarize-cpu-binding": ("the same on an easier task (8 names, no human prose) with 3,000 steps, "
                                      "where generators learn to bind the title to its fact; ≈ 7 min per seed",
                                      {"human_sentences": 0, "n_entities": 8, "n_real": 1000, "steps": 3000,
                                       "seeds": 3}),
            "summarize-gpu": ("the same at GPU scale: longer documents, more data, 3 seeds (not run on CPU)",
                              {"human_sentences": 3, "width": 256, "heads": 8, "enc_depth": 6, "n_real": 2000,
                               "N": (2000, 8000, 32000), "k": 8, "external_width": 512, "external_enc_depth": 6,
                               "steps": 4000, "batch": 128, "test_size": 2000, "seeds": 3}),
        },
    )


# Flags every byte-level LM driver shares (lm-share, toedit-text).
LM_FIELD_HELP = {
    "corpus": "human corpus: 'pydoc' (ships with Python), a folder of .txt files, or a .jsonl file",
    "context": "window length in bytes", "width": "model width", "depth": "blocks", "heads": "heads",
    "batch": "windows per step", "lr": "peak learning rate", "warmup": "warmup steps",
    "holdout": "held-out human windows",
}


def _lm_share_spec() -> DriverSpec:
    from experiments.lm_share import ShareExperiment, report, run

    return DriverSpec(
        name="lm-share",
        config_cls=ShareExperiment,
        run=run,
        report=report,
        field_help={
            **LM_FIELD_HELP,
            "N": "windows in every training set (generator and each mixture: matched token budget)",
            "shares": "synthetic shares in [0, 1], comma-separated (must include 0)",
            "steps": "optimizer steps of every model",
            "temperature": "generator's sampling temperature", "top_k": "top-k (0 = off)",
            "top_p": "top-p (1 = off)", "dtype": "activation dtype: float32, or bfloat16 on accelerators",
        },
        presets={
            "lm-synthetic-share": ("held-out human perplexity vs synthetic share 0/25/50/75/100% at matched token "
                                   "budget, byte-level LMs, 3 seeds, CPU scale (≈ 4 min on 2 idle cores)",
                                   {"seeds": 3}),
            "lm-synthetic-share-t07": ("the same with the generator sampled at temperature 0.7 (narrower text, "
                                       "as from a strong LLM), 3 seeds", {"temperature": 0.7, "seeds": 3}),
            "lm-synthetic-share-gpu": ("the same at GPU scale (≈ 25M parameters, 20k windows of 256 bytes, 5 seeds; "
                                       "not run on CPU)",
                                       {"context": 256, "width": 512, "depth": 8, "heads": 8, "N": 20000,
                                        "steps": 20000, "batch": 64, "lr": 1e-3, "warmup": 500, "holdout": 1000,
                                        "dtype": "bfloat16", "seeds": 5}),
        },
        choices={"dtype": ("float32", "bfloat16")},
        default_seeds=3,
    )


def _eigen_spec() -> DriverSpec:
    from collapse.tasks.eigen_loop import RULES, EigenExperiment, run
    from collapse.tasks.numbers import TOKENIZERS
    from experiments.eigen_report import eigen_report

    return DriverSpec(
        name="eigen",
        config_cls=EigenExperiment,
        run=run,
        report=eigen_report,
        field_help={
            "n": "matrix size n (>= 2): random symmetric n×n matrices, entries U[-scale, scale]",
            "tokenizer": "number tokenizer at 3 significant digits: p1000 (sign, mantissa, exponent) or fp15",
            "width": "model width", "heads": "attention heads", "enc_depth": "encoder layers",
            "dec_depth": "decoder layers", "n_real": "real (matrix, eigenvalues) pairs of the generator",
            "N": "synthesized pool sizes for the students, comma-separated",
            "k": "beams per matrix (k >= 1)",
            "tau": "tolerance that makes a label correct for selection: Σ|λ̂−λ|/Σ|λ| < τ (> 0)",
            "rules": f"comma-separated selection rules: {', '.join(RULES)}",
            "phi": "noisy verifier: keep probability of a correct label",
            "psi": "noisy verifier: keep probability of a wrong label",
            "steps": "generator training steps", "student_steps": "each student's steps (default: steps)",
            "batch": "batch size", "lr": "peak learning rate",
            "verifier_width": "weak learned verifier's width",
            "verifier_steps": "weak learned verifier's steps (default: steps / 2)",
            "test_size": "real test matrices (greedy accuracy)", "decode_batch": "matrices per compiled decoding call",
            "scale": "entries are U[-scale, scale]",
        },
        choices={"tokenizer": TOKENIZERS},
        presets={
            "eigen-cpu": ("student greedy accuracy vs N per selection rule, generator as a line; 2×2 matrices, "
                          "CPU scale (see README for the run time)", EIGEN_CPU),
            "eigen-gpu": ("the paper's scale on a GPU: 5×5 matrices, width 512, encoder 6 / decoder 1, 3 seeds "
                          "(not run in this session; 19 trainings of 20k steps per seed — hours on one GPU)",
                          EIGEN_GPU),
        },
    )


EIGEN_CPU = {"n": 2, "width": 32, "heads": 4, "enc_depth": 6, "dec_depth": 1, "n_real": 20_000,
             "N": (5000, 20_000, 80_000), "k": 4, "steps": 2000, "batch": 64, "lr": 2e-3,
             "rules": ("top", "oracle-prune", "oracle-best", "learned"), "verifier_width": 16,
             "verifier_steps": 1000, "test_size": 1000, "decode_batch": 500}
EIGEN_GPU = {"n": 5, "width": 512, "heads": 8, "enc_depth": 6, "dec_depth": 1, "n_real": 200_000,
             "N": (50_000, 200_000, 800_000), "k": 8, "steps": 20_000, "batch": 256, "lr": 3e-4,
             "rules": ("top", "oracle-prune", "oracle-best", "noisy", "learned", "real"),
             "verifier_width": 128, "verifier_steps": 10_000, "test_size": 10_000, "decode_batch": 2000, "seeds": 3}

def _toedit_text_spec() -> DriverSpec:
    from experiments.toedit_text import EDIT_VARIANTS, GPU_PRESET, ToEditText, report, run

    return DriverSpec(
        name="toedit-text",
        config_cls=ToEditText,
        run=run,
        report=report,
        field_help={
            **LM_FIELD_HELP,
            "N": "windows in every training set (matched token budget)",
            "prior_N": "human windows the prior (editor and synthetic-data generator) trains on",
            "prior_steps": "the prior's optimizer steps",
            "steps": "optimizer steps of every compared model",
            "beta": "ToEdit redraw weights ∝ p^(1/β)", "ngram_order": "order of the byte n-gram prior",
            "variants": "edit variants, comma-separated (default: all): " + "; ".join(EDIT_VARIANTS),
        },
        presets={
            "toedit-text-cpu": ("ToEdit (a)+(c): human vs edited (7 rule/sampling/prior variants) vs synthetic vs "
                                "50/50 mix at matched token budget, held-out human PPL and diagnostics, 3 seeds, CPU "
                                "scale", {"seeds": 3}),
            "toedit-text-gpu": ("the same at GPU scale (≈ 25M parameters, 16k windows of 256 bytes; not run)",
                                GPU_PRESET),
        },
        default_seeds=3,
    )


DRIVERS = {spec.name: spec for spec in (_summarize_spec(), _lm_share_spec(), _eigen_spec(), _toedit_text_spec())}
