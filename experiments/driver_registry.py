"""The driver experiments the CLI knows (see experiments/drivers.py). A new one registers one DriverSpec."""

import dataclasses

from experiments.drivers import DriverSpec


def _summarize_run(config, seed, progress):
    from collapse.tasks.summarize_loop import run

    return dataclasses.asdict(run(config, seed, progress))


def _summarize_report(config, results):
    from experiments.summarize_report import summarize_report

    return summarize_report(config, results)


def _summarize_spec() -> DriverSpec:
    from collapse.tasks.summarize import SELECTORS
    from collapse.tasks.summarize_loop import SummarizeExperiment

    return DriverSpec(
        name="summarize",
        config_cls=SummarizeExperiment,
        run=_summarize_run,
        report=_summarize_report,
        field_help={
            "human_sentences": "task: human-written sentences per document (document length)",
            "distractor_facts": "task: look-alike facts about other entities per document",
            "paraphrase": "task: probability that a fact is written in a paraphrased form",
            "width": "model width (generator and students)", "heads": "attention heads",
            "enc_depth": "encoder layers", "dec_depth": "decoder layers",
            "n_real": "real (document, summary) pairs of the generator",
            "N": "synthesized pool sizes for the students, comma-separated",
            "k": "candidate summaries sampled per document (k >= 1)",
            "temperature": "sampling temperature of the candidates",
            "selectors": f"comma-separated selection rules: {', '.join(SELECTORS)}",
            "threshold": "ROUGE-L at or above which a summary counts as correct (for p, q, phi, psi, p*)",
            "external_width": "external scorer's width", "external_enc_depth": "external scorer's encoder layers",
            "external_real": "external scorer's real training pairs (default: n_real)",
            "external_steps": "external scorer's training steps (default: steps)",
            "steps": "training steps of every model", "batch": "batch size", "lr": "peak learning rate",
            "test_size": "real test documents", "decode_batch": "documents per compiled decoding call",
        },
        presets={
            "summarize-cpu": ("student ROUGE vs N per selector, generator as a line; CPU scale (~10 min on 2 cores)",
                              {}),
            "summarize-gpu": ("the same at GPU scale: longer documents, more data, 3 seeds (not run on CPU)",
                              {"human_sentences": 3, "width": 256, "heads": 8, "enc_depth": 6, "n_real": 2000,
                               "N": (2000, 8000, 32000), "k": 8, "external_width": 512, "external_enc_depth": 6,
                               "steps": 4000, "batch": 128, "test_size": 2000, "seeds": 3}),
        },
    )


DRIVERS = {spec.name: spec for spec in (_summarize_spec(),)}
