"""Scale of the gmm-classify family: N synthesized samples × d × R replicates, one generator → student round.

Times the engine (jit + vmap over replicates, lax.scan over chunks of samples) against a plain NumPy reference
of the same computation (per replicate: draw chunks, flip labels, (ϕ, ψ) selection, sufficient statistics,
centroid or least squares, exact accuracy), in the same run, and prints the ratio and this process's peak
resident memory, with a roofline (benchmarks/roofline.py: FLOPs and bytes of :func:`work`, achieved rates, this
machine's measured peaks). Run one configuration per process so the peak memory is its own:

    python -m benchmarks.gmm_classify_scale --N 1000000 --d 100 --replicates 100 --student centroid
    python -m benchmarks.gmm_classify_scale --N 100000 --d 100 --replicates 10 --numpy   # with the reference
"""

import argparse
import math
import resource
import time

import jax
import numpy as np
from scipy.special import ndtr

from collapse import LoopConfig, run_loop
from collapse.families.gmm_classify import GMMClassify


def numpy_reference(N, d, R, p, phi, psi, student, chunk, seed=0):
    """The same computation, one replicate at a time, float64 NumPy."""
    rng = np.random.default_rng(seed)
    acc = np.empty(R)
    for i in range(R):
        u = rng.standard_normal(d)
        mu = u / np.linalg.norm(u)
        sxy, sxx, n = np.zeros(d), np.zeros((d, d)), 0.0
        for start in range(0, N, chunk):
            B = min(chunk, N - start)
            y = np.where(rng.random(B) < 0.5, 1.0, -1.0)
            x = y[:, None] * mu + rng.standard_normal((B, d))
            label = np.where(rng.random(B) < p, -y, y)
            kept = rng.random(B) < np.where(label == y, phi, psi)
            xk, lk = x[kept], label[kept]
            sxy += lk @ xk
            n += kept.sum()
            if student == "ls":
                sxx += xk.T @ xk
        w = sxy / max(n, 1) if student == "centroid" else np.linalg.lstsq(sxx, sxy, rcond=None)[0]
        acc[i] = ndtr(w @ mu / max(np.linalg.norm(w), 1e-300))
    return acc


def work(N, d, R, student):
    """(FLOPs, bytes), model counts (random-number generation not counted): per sample and coordinate, x = y·μ + z
    (2 FLOPs) and the label-weighted sum (2 FLOPs), plus 2d for the scatter XᵀX of the least-squares student; the
    chunk is written once and read once (16 bytes per coordinate)."""
    per = 4 * d + (2 * d * d if student == "ls" else 0)
    return float(per) * N * R, 16.0 * N * d * R


def main():
    from benchmarks.roofline import describe, load_text, measure_peaks, roofline

    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=100_000)
    ap.add_argument("--d", type=int, default=100)
    ap.add_argument("--replicates", type=int, default=10)
    ap.add_argument("--student", choices=("centroid", "ls"), default="centroid")
    ap.add_argument("--chunk", type=int, default=4096)
    ap.add_argument("--f32", action="store_true", help="float32 (default float64)")
    ap.add_argument("--numpy", action="store_true", help="also time the NumPy reference")
    ap.add_argument("--once", action="store_true", help="one call only (its time includes compilation)")
    a = ap.parse_args()
    jax.config.update("jax_enable_x64", not a.f32)
    peaks = measure_peaks()
    print(describe(peaks))
    p, phi, psi = 0.3, 0.9, 0.4
    fam = GMMClassify(d=a.d, N=a.N, p=p, verifier="phi-psi", phi=phi, psi=psi, student=a.student, chunk=a.chunk)
    cfg = LoopConfig(generations=2, replicates=a.replicates, seed=0)
    t0 = time.perf_counter()
    acc = run_loop(fam, cfg)["accuracy"][1]
    first = time.perf_counter() - t0
    warm = first
    if not a.once:
        t0 = time.perf_counter()
        acc = run_loop(fam, LoopConfig(generations=2, replicates=a.replicates, seed=1))["accuracy"][1]
        warm = time.perf_counter() - t0
    samples = a.N * a.d * a.replicates
    print(f"jax ({'f32' if a.f32 else 'f64'}, {jax.devices()[0].platform}): N={a.N} d={a.d} R={a.replicates} "
          f"student={a.student} chunk={a.chunk}: first call {first:.1f} s (with compile), warm {warm:.1f} s, "
          f"{samples / warm / 1e6:.0f} M sample-coordinates/s; accuracy {acc.mean():.4f} ± "
          f"{acc.std(ddof=1) / math.sqrt(len(acc)):.4f}")
    flops, nbytes = work(a.N, a.d, a.replicates, a.student)
    print(roofline("jax (warm)" if not a.once else "jax (incl. compile)", warm, flops, nbytes, peaks))
    if a.numpy:
        t0 = time.perf_counter()
        ref = numpy_reference(a.N, a.d, a.replicates, p, phi, psi, a.student, a.chunk)
        tn = time.perf_counter() - t0
        print(f"numpy reference: {tn:.1f} s; accuracy {ref.mean():.4f}; ratio numpy/jax(warm) = {tn / warm:.2f}; "
              f"{load_text()}")
        print(roofline("numpy", tn, flops, nbytes, peaks))
    print(f"peak resident memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
