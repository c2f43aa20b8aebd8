"""Summarization under verification (Feng et al. 2025 §2.3): a generator writes summaries, a selector picks one of k
candidates per document, a fresh student trains on the picks — the study and its presets."""

from collapse.tasks.summarize import SELECTORS
from experiments.catalog import Preset, Study
from experiments.summarize.loop import SummarizeExperiment, run
from experiments.summarize.report import summarize_report

STUDIES = [Study(
    name="summarize",
    summary="seq2seq summaries selected by oracle / self / external / random rules; students vs the generator (ROUGE)",
    runner="seeds",
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
        "pool_sizes": "synthesized pool sizes N for the students, comma-separated",
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
)]

PRESETS = [
    Preset("summarize-cpu", "summarize",
           "student ROUGE vs N per selector, generator as a line; CPU scale, 3 seeds; the generator guesses between "
           "facts", cpu_time="8 min 42 s", settings={"replicates": 3}),
    Preset("summarize-cpu-binding", "summarize",
           "the same on an easier task (8 names, no human prose) with 3,000 steps, where generators learn to bind the "
           "title to its fact", cpu_time="19 min 23 s",
           settings={"human_sentences": 0, "n_entities": 8, "n_real": 1000, "steps": 3000, "replicates": 3}),
    Preset("summarize-gpu", "summarize",
           "the same at GPU scale: longer documents, more data, 3 seeds", cpu_time="GPU scale; not run on CPU",
           settings={"human_sentences": 3, "width": 256, "heads": 8, "enc_depth": 6, "n_real": 2000,
                     "pool_sizes": (2000, 8000, 32000), "k": 8, "external_width": 512, "external_enc_depth": 6,
                     "steps": 4000, "batch": 128, "test_size": 2000, "replicates": 3}),
]
