"""Benchmark: the KDE self-consuming loop (replace mode, fixed bandwidth) — ours (the engine: every replicate
in one vmapped, scanned JAX program) vs scikit-learn's KernelDensity fit + sample in a per-replicate loop, vs a
plain NumPy loop (per replicate, and batched over replicates), in the same run.

Every side does the same work per replicate and generation: fit a Gaussian KDE with bandwidth h to the current
n points, draw n new points from it (pick a centre, add N(0, h²)), and record the fitted KDE's variance. Ours
also scores a 2-point sliced-W₂ (the family's cheapest metric set). Compilation of ours is timed separately
(the first call; best-of-warm-runs after). scikit-learn is a benchmark-only dependency
(pip install scikit-learn); without it that row is skipped. Every row carries a roofline (benchmarks/roofline.py):
the FLOPs and bytes of the computation (:func:`work`), the achieved rates and this machine's measured peaks.

    python -m benchmarks.kde_loop                          # 1000 replicates × 1000 points × 20 generations
    python -m benchmarks.kde_loop --replicates 100 --sklearn-replicates 20
"""

import argparse
import time

import jax
import numpy as np

from benchmarks.timing import best_of
from collapse import LoopConfig
from collapse.engine import Loop
from collapse.families.kde import KDE

jax.config.update("jax_enable_x64", True)


def numpy_loop(R, n, G, h, seed=0):
    """Per-replicate NumPy loop; returns the final KDE variance per replicate."""
    rng = np.random.default_rng(seed)
    out = np.empty(R)
    for r in range(R):
        x = rng.standard_normal(n)
        for _ in range(G - 1):
            x = x[rng.integers(n, size=n)] + h * rng.standard_normal(n)
        out[r] = x.var() + h**2
    return out


def numpy_batched(R, n, G, h, seed=0):
    """All replicates at once in NumPy (arrays [R, n])."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((R, n))
    rows = np.arange(R)[:, None]
    for _ in range(G - 1):
        x = x[rows, rng.integers(n, size=(R, n))] + h * rng.standard_normal((R, n))
    return x.var(1) + h**2


def sklearn_loop(R, n, G, h, seed=0):
    """scikit-learn KernelDensity(bandwidth=h).fit(x).sample(n), per replicate and generation."""
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(seed)
    out = np.empty(R)
    for r in range(R):
        x = rng.standard_normal((n, 1))
        for _ in range(G - 1):
            kde = KernelDensity(kernel="gaussian", bandwidth=h).fit(x)
            x = kde.sample(n, random_state=int(rng.integers(2**31)))
        out[r] = x.var() + h**2
    return out


def work(R, n, G):
    """(FLOPs, bytes) of the loop, model counts (random-number generation not counted): per replicate and
    generation, n centre picks (a gather: 8n bytes read, 8n index bytes), x + h·z (2n FLOPs, 8n bytes written) and
    the variance (3n FLOPs, 8n bytes read)."""
    return 5.0 * n * R * (G - 1), 32.0 * n * R * (G - 1)


def main(argv=None):
    from benchmarks.roofline import describe, load_text, measure_peaks, roofline

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--generations", type=int, default=20)
    p.add_argument("--h", type=float, default=0.1)
    p.add_argument("--sklearn-replicates", type=int, default=None,
                   help="replicates timed for scikit-learn (scaled linearly to --replicates; default: all)")
    a = p.parse_args(argv)
    R, n, G, h = a.replicates, a.points, a.generations, a.h
    peaks = measure_peaks()
    print(describe(peaks))
    fam = KDE(d=1, T=n, bandwidth="fixed", h=h, holdout=0, score_l2=False, sw_samples=2, projections=1)
    cfg = LoopConfig(mode="replace", generations=G, replicates=R, seed=0)
    t0 = time.perf_counter()
    ours_metrics = Loop(fam, cfg).run().metrics
    first = time.perf_counter() - t0
    ours = best_of(lambda: Loop(fam, cfg).run(), repeats=2)
    print(f"KDE loop: {R} replicates × {n} points × {G} generations, fixed h = {h}, {jax.devices()[0].platform}")
    print(f"ours (JAX engine)       {ours:8.3f} s   (first call incl. compile {first:.2f} s)")
    rows = []
    t = best_of(lambda: numpy_batched(R, n, G, h), repeats=2)
    rows.append(("NumPy, batched [R, n]", t))
    t0 = time.perf_counter()
    npv = numpy_loop(R, n, G, h)
    rows.append(("NumPy, per-replicate loop", time.perf_counter() - t0))
    try:
        import sklearn  # noqa: F401
        Rs = a.sklearn_replicates or R
        t0 = time.perf_counter()
        skv = sklearn_loop(Rs, n, G, h)
        rows.append((f"scikit-learn KernelDensity loop{'' if Rs == R else f' (×{R / Rs:g} from {Rs} reps)'}",
                     (time.perf_counter() - t0) * R / Rs))
    except ImportError:
        skv = None
        print("scikit-learn not installed: its row is skipped (pip install scikit-learn)")
    print(roofline("ours", ours, *work(R, n, G), peaks))
    for name, t in rows:
        print(f"{name:<44s} {t:8.3f} s   ours is {t / ours:6.1f}× faster; {load_text()}")
        print(roofline(name, t, *work(R, n, G), peaks))
    # same law on every side: the final variance's mean (theory: fixed_replace_trace) agrees across them
    from theory.kde import fixed_replace_trace
    theory = fixed_replace_trace(n, n, h, 1, 1.0, G)[-1]
    sides = [("ours", ours_metrics["trace"][-1]), ("NumPy loop", npv)] + ([("scikit-learn", skv)] if skv is not None
                                                                         else [])
    for name, v in sides:
        print(f"final E tr Cov(p̂): {name:<12s} {v.mean():.4f} ± {v.std(ddof=1) / np.sqrt(v.size):.4f}"
              f"   (theory {theory:.4f})")


if __name__ == "__main__":
    main()
