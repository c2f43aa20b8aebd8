"""Benchmark: the Gaussian refit loop (replace mode), ours (JAX) vs a per-replicate NumPy loop.

Every side runs the same experiment: truth N(0, I_d); generation 1 fits the unbiased mean and covariance of
T = M real samples; each later generation draws M samples from the previous fit and refits; every generation
records the family's metrics (mean_err and w2, plus var / sd / log_var in 1-D, trace / logdet_ratio for d > 1,
with W₂² through the same symmetric eigenvalue problem as ours). Ours runs as
``Loop(Gaussian(d, T=M), replace)`` on two paths: ``sampler="stats"`` (each block's sample mean ~ N(μ̂, Σ̂/M) and
scatter ~ Wishart(Σ̂, M − 1) by Bartlett: a generation costs O(d³) whatever M) and ``sampler="samples"`` (the M×d
samples drawn and read back). The NumPy reference is the straightforward loop of public research code: one
replicate at a time, ``rng.standard_normal`` + ``mean`` + ``np.cov``-style scatter. Agreement: E σ̂²_n = σ² (1-D,
unbiased) and E tr Σ̂_n = d, checked for every side within 4 SE at every generation.

    python -m benchmarks.gaussian_refit                        # d = 1 and 10, 1,000 reps × 1,000 samples × 200 gens
    python -m benchmarks.gaussian_refit --dims 10 --paths stats,samples --numpy-replicates 1000   # the full set

The NumPy loop costs ≈ 20–60 µs per replicate-generation, so by default it runs ``--numpy-replicates`` 200 of the
1,000 replicates and its time is scaled ×5 (linear in replicates: independent loop iterations; say 1000 to run it
whole). Timings of ours exclude compilation (the first call, reported separately) and include the setup.
"""

import argparse
import os
import platform
import sys
import time

import numpy as np


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gaussian_refit", description=__doc__.split("\n")[0])
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--M", type=int, default=1000, help="samples per generation (T = M)")
    p.add_argument("--generations", type=int, default=200)
    p.add_argument("--dims", default="1,10", help="dimensions d to run, comma-separated")
    p.add_argument("--paths", default="stats,samples", help="our paths: stats (fast), samples (sample-level)")
    p.add_argument("--samples-dims", default="1", help="dims at which the sample-level path runs (it is slow)")
    p.add_argument("--numpy-replicates", type=int, default=200, help="replicates the NumPy loop runs (time scaled)")
    p.add_argument("--repeats", type=int, default=3, help="warm runs of ours (best reported)")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args(argv)


# -- reference --------------------------------------------------------------------------------
def numpy_reference(d, M, G, R, seed):
    """Per replicate, per generation: draw, fit (unbiased), score — metrics [G, R] by name."""
    rng = np.random.default_rng(seed)
    mu, root = np.zeros(d), np.eye(d)  # truth N(0, I): Σ^½ = I, log det Σ = 0
    names = ("mean_err", "var", "w2") if d == 1 else ("mean_err", "trace", "logdet_ratio", "w2")
    out = {k: np.empty((G, R)) for k in names}
    for r in range(R):
        mean, cov = mu, np.eye(d)
        for n in range(G):
            x = mean + rng.standard_normal((M, d)) @ np.linalg.cholesky(cov).T
            mean = x.mean(0)
            xc = x - mean
            cov = xc.T @ xc / (M - 1)
            mean_err = np.sum((mean - mu) ** 2)
            out["mean_err"][n, r] = mean_err
            if d == 1:
                out["var"][n, r] = cov[0, 0]
                out["w2"][n, r] = mean_err + (np.sqrt(cov[0, 0]) - 1.0) ** 2
            else:
                cross = np.linalg.eigvalsh(root @ cov @ root)
                out["trace"][n, r] = trace = np.trace(cov)
                out["logdet_ratio"][n, r] = 2 * np.log(np.diag(np.linalg.cholesky(cov))).sum()
                out["w2"][n, r] = mean_err + max(trace + d - 2 * np.sqrt(np.clip(cross, 0, None)).sum(), 0.0)
    return out


# -- ours ------------------------------------------------------------------------------------
def ours(d, M, G, R, seed, sampler, repeats):
    from collapse import Loop, LoopConfig
    from collapse.families.gaussian import Gaussian

    loop = Loop(Gaussian(d=d, T=M, sampler=sampler), LoopConfig(mode="replace", generations=G, replicates=R,
                                                                seed=seed))
    t0 = time.perf_counter()
    loop.run()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        state = loop.run()
        runs.append(time.perf_counter() - t0)
    return {k: np.asarray(v, float) for k, v in state.metrics.items()}, first, runs


def work(path, d, M, G, R):
    """(FLOPs, bytes) one run must perform (model counts, random-number generation not counted).

    samples / numpy, per replicate-generation: Σ̂'s root (eigh on our sample path ≈ 9d³, Cholesky d³/3 in NumPy;
    counted as d³/3), z·root (2Md²), the mean (Md), the scatter (2Md²), the score (one eigvalsh ≈ 4d³, a Cholesky
    d³/3 and a d×d product chain 4d³); the M×d block is written once and read twice (mean, scatter): 3·8·M·d
    bytes. stats: Cholesky (d³/3), the Bartlett products R·A and (RA)(RA)ᵀ (2d³ + 2d³), the score; bytes: the
    carried (μ̂, Σ̂) and the world read and written, ≈ 4·8·(d + d²)."""
    score = 8.4 * d**3 if d > 1 else 10
    if path == "stats":
        per_f, per_b = d**3 / 3 + 4 * d**3 + score + 4 * d, 4 * 8 * (d + d * d)
    else:
        per_f, per_b = d**3 / 3 + 4 * M * d * d + M * d + score, 3 * 8 * M * d
    return R * G * per_f, R * G * per_b


def _agreement(name, metrics, d):
    """max over generations of |mean − theory|/SE for E σ̂² = 1 (1-D) or E tr Σ̂ = d (unbiased, truth I)."""
    a = metrics["var"] if d == 1 else metrics["trace"]
    se = a.std(1, ddof=1) / np.sqrt(a.shape[1])
    z = float(np.max(np.abs(a.mean(1) - (1.0 if d == 1 else d)) / se))
    label = "E σ̂²_n = 1" if d == 1 else f"E tr Σ̂_n = {d}"
    print(f"  {name}: max over {a.shape[0]} generations |mean − ({label})|/SE = {z:.2f} "
          f"({'agrees' if z < 4 else 'VIOLATED'}); final mean {a[-1].mean():.4f} ± {se[-1]:.4f}")
    return z


def main(argv=None):
    args = _parse(argv)
    import jax

    from benchmarks.roofline import describe, load_text, measure_peaks, roofline

    jax.config.update("jax_enable_x64", True)
    M, G, R = args.M, args.generations, args.replicates
    dims = [int(x) for x in args.dims.split(",") if x.strip()]
    sample_dims = {int(x) for x in args.samples_dims.split(",") if x.strip()}
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs; NumPy {np.__version__}; jax {jax.__version__} "
          f"({jax.default_backend()}, {jax.device_count()} device(s))")
    print(f"problem: gaussian refit, replace mode, unbiased, truth N(0, I_d), T = M = {M}, generations = {G}, "
          f"replicates = {R}, float64")
    peaks = measure_peaks()
    print(describe(peaks))
    summary = []
    for d in dims:
        print(f"\n== d = {d} ==")
        nr = min(args.numpy_replicates, R)
        t0 = time.perf_counter()
        ref = numpy_reference(d, M, G, nr, args.seed)
        np_wall = (time.perf_counter() - t0) * R / nr
        print(f"numpy (per-replicate loop): {nr} replicates in {np_wall * nr / R:.2f} s -> {np_wall:.2f} s for {R} "
              f"(×{R / nr:g}); {load_text()}")
        print(roofline("numpy", np_wall, *work("numpy", d, M, G, R), peaks))
        _agreement("numpy", ref, d)
        for path in paths:
            if path == "samples" and d not in sample_dims:
                continue
            metrics, first, runs = ours(d, M, G, R, args.seed, path, args.repeats if path == "stats" else 1)
            wall = min(runs)
            print(f"ours/{path}: first call (compile + run) {first:.2f} s; warm best of {len(runs)}: {wall:.4f} s "
                  f"(runs {', '.join(f'{t:.3f}' for t in runs)}); {load_text()}")
            print(roofline(f"ours/{path}", wall, *work(path, d, M, G, R), peaks))
            z = _agreement(f"ours/{path}", metrics, d)
            ratio = np_wall / wall
            line = (f"RATIO d={d} {path}: numpy / ours = {np_wall:.2f} / {wall:.4f} = {ratio:.1f}x "
                    f"(target 100x for stats); agreement max z {z:.2f}; {load_text()}")
            print(line)
            summary.append(f"d={d} {path}: {ratio:.1f}x")
    print("\nsummary: " + "; ".join(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
