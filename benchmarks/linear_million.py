"""Benchmark: 10⁶ replicates of linear replace (d = 10, T = 40, 50 generations) in bounded memory.

The replicates run in chunks of ``--chunk`` (each chunk one Loop with its own seed, so the chunks are
independent samples); only the per-generation sums needed for the mean and its SE are kept, so memory does
not grow with the replicate count. Prints wall time, peak RSS, the agreement of the mean E_test with
σ²d·n/(T − d − 1) (max |z| over generations) and a roofline line.

    python -m benchmarks.linear_million                       # fast path (sampler=stats), 10⁶ replicates
    python -m benchmarks.linear_million --sampler samples --replicates 100000
"""

import argparse
import resource
import sys
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.linear_million", description=__doc__.split("\n")[0])
    p.add_argument("--replicates", type=int, default=1_000_000)
    p.add_argument("--chunk", type=int, default=100_000)
    p.add_argument("--generations", type=int, default=50)
    p.add_argument("--d", type=int, default=10)
    p.add_argument("--T", type=int, default=40)
    p.add_argument("--sampler", choices=("stats", "samples"), default="stats")
    p.add_argument("--block", type=int, default=-1,
                   help="replicates per cache block (0 = all of a chunk, -1 = the toolkit's default, block='auto')")
    args = p.parse_args(argv)
    import jax

    jax.config.update("jax_enable_x64", True)
    from benchmarks.linear_replace import work
    from benchmarks.roofline import describe, load_text, measure_peaks, roofline
    from collapse import LinearRegression, Loop, LoopConfig

    peaks = measure_peaks()
    print(describe(peaks))
    d, T, G, R, C = args.d, args.T, args.generations, args.replicates, args.chunk
    fam = LinearRegression(d=d, T=T, sampler=args.sampler)
    chunks = -(-R // C)
    total, total_sq, done = np.zeros(G), np.zeros(G), 0
    compile_t = None
    t0 = time.perf_counter()
    for i in range(chunks):
        size = min(C, R - done)
        block = "auto" if args.block < 0 else args.block or None
        loop = Loop(fam, LoopConfig(mode="replace", generations=G, replicates=size, seed=i), block=block)
        t = time.perf_counter()
        err = loop.run().metrics["E_test"]
        if compile_t is None:
            compile_t = time.perf_counter() - t
        total += err.sum(1)
        total_sq += (err**2).sum(1)
        done += size
        del err, loop
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB on Linux
    mean = total / done
    se = np.sqrt((total_sq / done - mean**2) / (done - 1))
    theory = d / (T - d - 1) * np.arange(1, G + 1)
    z = np.abs(mean - theory) / se
    print(f"linear replace, d={d}, T={T}, G={G}, {done} replicates in {chunks} chunks of {C}, sampler {args.sampler}: "
          f"{wall:.1f} s wall (first chunk incl. compile {compile_t:.1f} s), peak RSS {peak:.2f} GiB; {load_text()}")
    print(f"mean E_test at n = 1, {G}: {mean[0]:.5f} ± {se[0]:.5f}, {mean[-1]:.4f} ± {se[-1]:.4f}; theory "
          f"{theory[0]:.5f}, {theory[-1]:.4f}; max |z| over {G} generations = {z.max():.2f} "
          f"({'agrees' if z.max() < 4 else 'VIOLATED'})")
    print(roofline(f"{args.sampler} (incl. first compile)", wall, *work(args.sampler, d, T, G, done, 8), peaks))
    return 0


if __name__ == "__main__":
    sys.exit(main())
