"""Draw figures/verify-iterated.png: run the verify-iterated preset's members through collapse.engine.Loop and
plot them with experiments.verification_figures.iterated (mean and median against the θ-chain; issue 15).

    PYTHONPATH=. python -m experiments.verification_iterated [--replicates R]
"""

import argparse
from pathlib import Path
from types import SimpleNamespace

import jax
import numpy as np

from collapse import LoopConfig
from collapse.engine import Loop
from collapse.families.gmm_classify import GMMClassify
from experiments.verification_figures import iterated
from theory.check import check
from theory.verification import gmm_classify_theory

GENERATORS = (("label noise p=0.3", {"p": 0.3}), ("label noise p=0.6", {"p": 0.6}),
              ("linear generator, 100 real samples", {"generator": "linear", "n_real": 100}))
VERIFIERS = (("none", {}), ("ϕ=0.9 ψ=0.4", {"verifier": "phi-psi", "phi": 0.9, "psi": 0.4}),
             ("oracle", {"verifier": "oracle"}))


def main():
    jax.config.update("jax_enable_x64", True)
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=1000)
    args = ap.parse_args()
    outcomes = []
    for _, gen in GENERATORS:
        for label, ver in VERIFIERS:
            fam = GMMClassify(d=50, mu_norm=1.0, N=500, **gen, **ver)
            cfg = LoopConfig(generations=10, replicates=args.replicates, seed=0)
            metrics = {k: np.asarray(v) for k, v in Loop(fam, cfg).run().metrics.items()}
            result = check(metrics["accuracy"], gmm_classify_theory(fam, cfg)[0])
            print(f"{gen} {label}: {result.summary()}")
            outcomes.append((label, SimpleNamespace(family=fam, cfg=cfg, metrics=metrics)))
    Path("figures").mkdir(exist_ok=True)
    Path("figures/verify-iterated.png").write_bytes(iterated(outcomes))
    print("wrote figures/verify-iterated.png")


if __name__ == "__main__":
    main()
