"""Eigenvalues with transformers (Feng et al. 2025 §2.2, on Charton's setup): collapse on synthesized labels and
rescue by selection — the study and its presets."""

from collapse.tasks.numbers import TOKENIZERS
from experiments.catalog import Preset, Study
from experiments.eigen.loop import RULES, EigenExperiment, run
from experiments.eigen.report import eigen_report

STUDIES = [Study(
    name="eigen",
    summary="an encoder–decoder transformer computes eigenvalues; students on selected synthetic labels vs the "
            "generator",
    runner="seeds",
    config_cls=EigenExperiment,
    run=run,
    report=eigen_report,
    field_help={
        "n": "matrix size n (>= 2): random symmetric n×n matrices, entries U[-scale, scale]",
        "tokenizer": "number tokenizer at 3 significant digits: " + " or ".join(TOKENIZERS),
        "width": "model width", "heads": "attention heads", "enc_depth": "encoder layers",
        "dec_depth": "decoder layers", "n_real": "real (matrix, eigenvalues) pairs of the generator",
        "pool_sizes": "synthesized pool sizes N for the students, comma-separated",
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
)]

EIGEN_CPU = {"n": 2, "width": 32, "heads": 4, "enc_depth": 6, "dec_depth": 1, "n_real": 20_000,
             "pool_sizes": (5000, 20_000, 80_000), "k": 4, "steps": 2000, "batch": 64, "lr": 2e-3,
             "rules": ("top", "oracle-prune", "oracle-best", "learned"), "verifier_width": 16,
             "verifier_steps": 1000, "test_size": 1000, "decode_batch": 500}
EIGEN_GPU = {"n": 5, "width": 512, "heads": 8, "enc_depth": 6, "dec_depth": 1, "n_real": 200_000,
             "pool_sizes": (50_000, 200_000, 800_000), "k": 8, "steps": 20_000, "batch": 256, "lr": 3e-4,
             "rules": ("top", "oracle-prune", "oracle-best", "noisy", "learned", "real"),
             "verifier_width": 128, "verifier_steps": 10_000, "test_size": 10_000, "decode_batch": 2000,
             "replicates": 3}

PRESETS = [
    Preset("eigen-cpu", "eigen",
           "student greedy accuracy vs N per selection rule, generator as a line; 2×2 matrices, CPU scale",
           cpu_time="8 min per seed", settings=EIGEN_CPU),
    Preset("eigen-gpu", "eigen",
           "the paper's scale: 5×5 matrices, width 512, encoder 6 / decoder 1, 3 seeds (19 trainings of 20k steps per "
           "seed — hours on one GPU)",
           cpu_time="GPU scale; not run on CPU", settings=EIGEN_GPU),
]
