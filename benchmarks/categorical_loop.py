"""Vmapped categorical replace loop vs a NumPy per-replicate loop of the same computation.

    PYTHONPATH=. python -m benchmarks.categorical_loop [--full | --replicates 1000] [--V 10000]
        [--generations 50] [--chunk 500] [--block 1] [--numpy-replicates 10]

Both sides: Zipf(1.1) truth on V symbols, T = M = V samples per generation, float64; each generation draws an
exact multinomial sample from the previous model, refits the MLE and computes the same seven metrics
(‖p̂ − p‖², ‖p̂‖², TV, smoothed KL, support, missing mass, entropy). JAX runs the collapse engine (vmapped over
replicates, scanned over generations; ``--block`` replicates at a time through all generations, which keeps a
replicate's V-long state in cache) in chunks of ``--chunk`` replicates, each chunk a seed of its own, so memory
stays bounded; the compile is timed separately (one warm-up chunk). NumPy runs a plain Python loop over
replicates and generations (``Generator.multinomial``, conditional binomials in C); only ``--numpy-replicates``
replicates are timed and the time is scaled to all replicates (said in the output). The default runs a tenth of
the issue's 10⁴ replicates and extrapolates linearly (the work is the same per replicate); ``--full`` runs all.

Also timed alone, in the same run: the sampler (one vmapped multinomial draw of M from p over R replicates,
ours: guide-table inverse CDF, collapse/counts.py) against ``rng.multinomial`` in a loop.

Roofline (benchmarks/roofline.py): the loop's *necessary* work per replicate-generation is counted as M
uniforms drawn (8 B each), p̂ and the counts written and read (2 × 8V B), the truth p read by the metrics (8V B),
and ≈ 20 V flops for the seven metrics (the two logs counted as one flop each); peak RSS is the process's.
"""

import argparse
import os
import resource
import time

import jax
import numpy as np

from benchmarks.roofline import describe, load_text, measure_peaks, roofline
from benchmarks.timing import best_of
from collapse import LoopConfig
from collapse.counts import multinomial_counts, zipf_probs
from collapse.engine import Loop
from collapse.families.categorical import Categorical

FULL_REPLICATES = 10_000


def numpy_replicate(rng, p, T, M, G, eps=1e-6):
    V = p.size
    counts, n = rng.multinomial(T, p), T
    out = np.empty((G, 7))
    for g in range(G):
        ph = counts / n
        d = ph - p
        smooth = (1 - eps) * ph + eps / V
        nz = ph[ph > 0]
        out[g] = (d @ d, ph @ ph, 0.5 * np.abs(d).sum(), np.sum(p * (np.log(p) - np.log(smooth))), nz.size,
                  p[ph == 0].sum(), -(nz * np.log(nz)).sum())
        counts, n = rng.multinomial(M, ph), M
    return out


def sampler_race(p, M, R, repeats=3):
    """Seconds per draw of M from p, best of repeats: ours over R replicates, vmapped and one replicate at a time
    (lax.map, as the loop runs with --block 1), and NumPy's multinomial in a loop.
    Returns (vmapped, one at a time, NumPy)."""
    keys = jax.random.split(jax.random.key(0), R)
    q = jax.numpy.asarray(p)
    vmapped = jax.jit(jax.vmap(lambda k: multinomial_counts(k, q, M)))
    mapped = jax.jit(lambda ks: jax.lax.map(lambda k: multinomial_counts(k, q, M), ks))
    vm_s = best_of(lambda: jax.block_until_ready(vmapped(keys)), repeats) / R
    map_s = best_of(lambda: jax.block_until_ready(mapped(keys)), repeats) / R
    rng = np.random.default_rng(0)
    np_s = best_of(lambda: [rng.multinomial(M, p) for _ in range(R)], repeats) / R
    return vm_s, map_s, np_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=FULL_REPLICATES // 10)
    ap.add_argument("--full", action="store_true", help=f"all {FULL_REPLICATES} replicates")
    ap.add_argument("--V", type=int, default=10_000)
    ap.add_argument("--generations", type=int, default=50)
    ap.add_argument("--chunk", type=int, default=500)
    ap.add_argument("--block", type=int, default=1)
    ap.add_argument("--numpy-replicates", type=int, default=10)
    args = ap.parse_args()
    jax.config.update("jax_enable_x64", True)
    R = FULL_REPLICATES if args.full else args.replicates
    V, G, chunk = args.V, args.generations, min(args.chunk, R)
    peaks = measure_peaks()
    print(f"categorical replace loop: R = {R}, V = T = M = {V}, G = {G}, float64, {jax.device_count()} "
          f"{jax.devices()[0].platform} device(s), {os.cpu_count()} CPUs; {load_text()}")
    print(describe(peaks))

    p = zipf_probs(V, 1.1)
    vm, one, theirs = sampler_race(p, V, min(chunk, 200))
    print(f"sampler alone (M = {V} draws from Zipf(1.1)): ours {1e6 * vm:.0f} µs vmapped, {1e6 * one:.0f} µs one "
          f"replicate at a time; NumPy multinomial {1e6 * theirs:.0f} µs per draw -> ratio "
          f"{theirs / min(vm, one):.2f}×; {load_text()}")

    fam = Categorical(V=V, T=V, truth="zipf", beta=1.1)
    cfg = LoopConfig(mode="replace", generations=G, replicates=chunk, seed=0)
    start = time.perf_counter()
    Loop(fam, cfg, block=args.block).run()
    warm = time.perf_counter() - start
    start = time.perf_counter()
    last = None
    for c in range(-(-R // chunk)):
        last = Loop(fam, LoopConfig(mode="replace", generations=G, replicates=chunk, seed=c + 1),
                    block=args.block).run()
    jax_s = time.perf_counter() - start
    done = -(-R // chunk) * chunk
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"JAX (vmapped, chunks of {chunk}, block {args.block}): {jax_s:.1f} s for {done} replicates "
          f"(+ first chunk with compile {warm:.1f} s); peak RSS {peak_mb:.0f} MB; {load_text()}")
    if done < FULL_REPLICATES:
        print(f"  extrapolated to {FULL_REPLICATES} replicates: {jax_s * FULL_REPLICATES / done:.0f} s "
              f"(×{FULL_REPLICATES / done:g}, linear: every replicate does the same work)")
    per = done * G
    print(roofline("JAX loop", jax_s, 20 * V * per, 8 * (V + 3 * V) * per, peaks))

    rng = np.random.default_rng(0)
    Rn = min(args.numpy_replicates, done)
    start = time.perf_counter()
    ref = [numpy_replicate(rng, p, V, V, G) for _ in range(Rn)]
    np_s = (time.perf_counter() - start) * done / Rn
    print(f"NumPy (per-replicate loop): {np_s:.1f} s for {done} replicates (timed {Rn}, scaled ×{done / Rn:g}); "
          f"{load_text()}")
    print(roofline("NumPy loop", np_s, 20 * V * per, 8 * (V + 3 * V) * per, peaks))
    print(f"ratio NumPy / JAX: {np_s / jax_s:.2f}× (target >= 20×)")
    sim, ref = last.metrics["missing_mass"][-1].mean(), np.mean([r[-1, 5] for r in ref])
    print(f"sanity: missing mass at generation {G}: JAX {sim:.4f} (last chunk), NumPy {ref:.4f}")


if __name__ == "__main__":
    main()
