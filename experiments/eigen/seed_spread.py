"""Training-seed spread of the eigen generator: train the generator's configuration several times on the *same* real
pairs, changing only the initialization and minibatch order, and print each greedy accuracy — the error bar behind
any "student vs generator" comparison (README, eigen section).

    python -m experiments.eigen.seed_spread                     # the 4 trainings quoted in the README
    python -m experiments.eigen.seed_spread --runs 1:1,2:2,3:3,4:4,5:5
"""

import argparse
import dataclasses

import jax
import numpy as np

from experiments.eigen.loop import EigenExperiment, fit
from experiments.eigen.study import EIGEN_CPU


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", default="1:0,3:0,1:7,5:5",
                   help="comma-separated init:minibatch seed pairs (default: the README's four)")
    p.add_argument("--data-seed", type=int, default=0, help="seed of the real data (as the driver's seed)")
    args = p.parse_args(argv)
    jax.config.update("jax_enable_x64", False)
    exp = EigenExperiment(**EIGEN_CPU)
    task = exp.task
    rng = np.random.default_rng([args.data_seed, 8])  # the driver's real and test draws for this seed
    A_real, lam_real = task.sample(rng, exp.n_real)
    A_test, lam_test = task.sample(rng, exp.test_size)
    test = (task.src_tokens(A_test), lam_test)
    src, tgt = task.src_tokens(A_real), task.tgt_tokens(lam_real)
    print(f"{exp.n_real} real pairs, {exp.steps} steps, config {dataclasses.asdict(exp)}")
    acc = []
    for pair in args.runs.split(","):
        init, order = (int(v) for v in pair.split(":"))
        tr = fit(exp, src, tgt, exp.n_real, exp.width, exp.steps, init, jax.random.key(order), test,
                 lambda m: None, "generator")
        acc.append(tr.accuracy["0.05"])
        print(f"init {init}, minibatch seed {order}: greedy accuracy {tr.accuracy}")
    a = np.array(acc)
    print(f"tau=0.05: mean {a.mean():.3f}, SD {a.std(ddof=1):.3f} over {a.size} trainings" if a.size > 1 else "")
    return 0


if __name__ == "__main__":
    main()
