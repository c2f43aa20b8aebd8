"""Benchmark: the linear replace loop, ours (JAX, all replicates at once) vs a per-replicate NumPy loop.

Both sides run the same experiment: per replicate a fixed Gaussian design X [T, d], w* uniform on the
unit sphere, y = Xw* + ε (σ = 1); every generation fits ŵ by least squares, records ‖ŵ − w*‖² and
relabels y = Xŵ + ε. The mean E_test of both must match σ²d/(T − d − 1)·n.

Ours runs twice in the same run: the exact-in-law fast path (``sampler="stats"``: Wishart XᵀX by Bartlett,
each generation one d×d matrix–vector product, no design in memory) and the sample-level path
(``sampler="samples"``: designs drawn and read every generation, ``--block`` replicates per cache block).
Each line carries a roofline (benchmarks/roofline.py): the FLOPs and bytes the computation must move, the
achieved GFLOP/s and GB/s, and this machine's dgemm and copy peaks measured in the same run.

    python -m benchmarks.linear_replace                      # float64, 1000 replicates, 20 generations
    python -m benchmarks.linear_replace --dtype both         # plus a float32 vs float32 comparison
    python -m benchmarks.linear_replace --host-devices 2     # shard the replicates over 2 CPU devices

``--host-devices N`` sets ``XLA_FLAGS=--xla_force_host_platform_device_count=N`` before JAX starts;
an ``XLA_FLAGS`` already in the environment is honoured as is. Timings of ours exclude compilation
(reported separately); ``Loop.run()`` includes the per-replicate setup (design draw + factorization).
"""

import argparse
import os
import platform
import resource
import sys
import time

import numpy as np


def _parse(argv):
    p = argparse.ArgumentParser(prog="python -m benchmarks.linear_replace", description=__doc__.split("\n")[0])
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--generations", type=int, default=20)
    p.add_argument("--d", type=int, default=50)
    p.add_argument("--T", type=int, default=200)
    p.add_argument("--sigma", type=float, default=1.0)
    p.add_argument("--repeats", type=int, default=3, help="warm runs of ours (median reported)")
    p.add_argument("--numpy-repeats", type=int, default=1, help="runs of the NumPy reference (median)")
    p.add_argument("--dtype", choices=("float64", "float32", "both"), default="float64")
    p.add_argument("--host-devices", type=int, default=None,
                   help="CPU devices to shard replicates over (sets XLA_FLAGS unless already set)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--block", type=int, default=-1,
                   help="replicates per cache block on the sample-level path (0 = all at once, -1 = the toolkit's "
                        "default, Loop(block='auto'))")
    p.add_argument("--fast-block", type=int, default=-1,
                   help="replicates per cache block on the fast path (0 = all, -1 = the toolkit's default)")
    p.add_argument("--paths", default="stats,samples", help="which of our paths to time (comma-separated)")
    return p.parse_args(argv)


def _cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn):
    t0, c0 = time.perf_counter(), _cpu_seconds()
    out = fn()
    return out, time.perf_counter() - t0, _cpu_seconds() - c0


# -- reference --------------------------------------------------------------------------------
def numpy_reference(d, T, generations, replicates, sigma, dtype, seed):
    """The straightforward loop of public research code: one replicate at a time, np.linalg.lstsq."""
    rng = np.random.default_rng(seed)
    err = np.empty((generations, replicates))
    for r in range(replicates):
        X = rng.standard_normal((T, d), dtype=dtype)
        w_star = rng.standard_normal(d, dtype=dtype)
        w_star /= np.linalg.norm(w_star)
        y = X @ w_star + sigma * rng.standard_normal(T, dtype=dtype)
        for n in range(generations):
            w = np.linalg.lstsq(X, y, rcond=None)[0]
            err[n, r] = np.sum((w - w_star) ** 2)
            y = X @ w + sigma * rng.standard_normal(T, dtype=dtype)
    return err


# -- ours ------------------------------------------------------------------------------------
def ours(args, dtype, sampler, block):
    import jax

    from collapse import LinearRegression, Loop, LoopConfig

    jax.config.update("jax_enable_x64", dtype == "float64")
    family = LinearRegression(d=args.d, T=args.T, sigma=args.sigma, sampler=sampler)
    loop = Loop(family, LoopConfig(mode="replace", generations=args.generations,
                                   replicates=args.replicates, seed=args.seed),
                block="auto" if block < 0 else block or None)
    state, first, _ = _timed(loop.run)
    runs = [_timed(loop.run) for _ in range(max(1, args.repeats))]
    err = runs[-1][0].metrics["E_test"]
    assert err.dtype == np.dtype(dtype), (err.dtype, dtype)
    best = min(runs, key=lambda r: r[1])
    # the two halves of run(): setup (+ generation 1) and generations 2..G, each compiled already
    prog = loop.program
    base_key = jax.random.key(args.seed)
    index = jax.device_put(jax.numpy.arange(loop.padded), loop.sharding)
    init_t, gen_t = [], []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        world, carry, _ = jax.block_until_ready(prog.init(base_key, index))
        t1 = time.perf_counter()
        if args.generations > 1:
            jax.block_until_ready(prog.chunk_fn(args.generations - 1)(base_key, index, world, carry, 2))
        init_t.append(t1 - t0)
        gen_t.append(time.perf_counter() - t1)
        del world, carry
    return {"err": np.asarray(err, dtype=np.float64), "first": first, "wall": best[1], "cpu": best[2],
            "runs": [r[1] for r in runs], "init": min(init_t), "gens": min(gen_t), "block": prog.block}


def work(sampler, d, T, G, R, itemsize):
    """(FLOPs, bytes) one run must perform: per replicate setup + G − 1 later generations, times R.

    samples: draw X [T, d], XᵀX (T·d² multiply-adds), Cholesky + inverse (≈ 4/3·d³); per generation Xŵ and
    Xᵀy (2·T·d each) and K·Xᵀy (2·d²), reading X twice and K once. stats: Bartlett draw, triangular inverse
    (d³/3); per generation one product with L⁻ᵀ (2·d²), reading it once. The NumPy loop does the samples
    computation (its SVD-based lstsq does more, so its achieved rate is a lower bound)."""
    if sampler == "stats":
        setup_f, gen_f = d**3 / 3, 2 * d * d
        setup_b, gen_b = d * d * itemsize, d * d * itemsize
    else:
        setup_f, gen_f = 2 * T * d * d + 4 * d**3 / 3, 4 * T * d + 2 * d * d
        setup_b, gen_b = 2 * T * d * itemsize, (2 * T * d + d * d) * itemsize
    return R * (setup_f + (G - 1) * gen_f), R * (setup_b + (G - 1) * gen_b)


# -- report ----------------------------------------------------------------------------------
def _compare(name_a, a, name_b, b, theory):
    G, R_a = a.shape
    m_a, m_b = a.mean(1), b.mean(1)
    se_a, se_b = a.std(1, ddof=1) / np.sqrt(R_a), b.std(1, ddof=1) / np.sqrt(b.shape[1])
    se = np.sqrt(se_a**2 + se_b**2)
    z = np.abs(m_a - m_b) / se
    z_a, z_b = np.abs(m_a - theory) / se_a, np.abs(m_b - theory) / se_b
    print(f"  {'n':>3} {'theory':>9} {name_a + ' mean±SE':>20} {name_b + ' mean±SE':>20} {'|diff|/SE':>9}")
    rows = sorted({0, 1, G // 4, G // 2, (3 * G) // 4, G - 1})
    for i in rows:
        print(f"  {i + 1:>3} {theory[i]:9.4f} {m_a[i]:11.4f} ±{se_a[i]:7.4f} "
              f"{m_b[i]:11.4f} ±{se_b[i]:7.4f} {z[i]:9.2f}")
    print(f"  max over all {G} generations: |{name_a} − {name_b}|/SE = {z.max():.2f}; "
          f"|{name_a} − theory|/SE = {z_a.max():.2f}; |{name_b} − theory|/SE = {z_b.max():.2f}")


def _theory_z(err, theory):
    se = err.std(1, ddof=1) / np.sqrt(err.shape[1])
    return float(np.max(np.abs(err.mean(1) - theory) / se))


def main(argv=None):
    args = _parse(argv)
    if args.host_devices and "XLA_FLAGS" not in os.environ:
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.host_devices}"
    import jax

    from benchmarks.roofline import describe, load_text, measure_peaks, roofline

    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    d, T, G, R = args.d, args.T, args.generations, args.replicates
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, {jax.device_count()} device(s): "
          f"{[str(x) for x in jax.devices()]}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    print(f"problem: replace mode, d={d}, T={T}, sigma={args.sigma}, generations={G}, replicates={R}")
    peaks = measure_peaks()
    print(describe(peaks))
    theory = None
    if T > d + 1:
        theory = args.sigma**2 * d / (T - d - 1) * np.arange(1, G + 1)
        print(f"theory: E_test(n) = σ²d/(T−d−1)·n = {args.sigma**2 * d / (T - d - 1):.5f}·n")
    results = {}
    for dtype in dtypes:
        size = np.dtype(dtype).itemsize
        print(f"\n== {dtype}: ours (JAX) vs NumPy (np.linalg.lstsq per replicate), both {dtype} ==")
        mine = {}
        for sampler in paths:
            block = args.block if sampler == "samples" else args.fast_block
            o = mine[sampler] = ours(args, dtype, sampler, block)
            print(f"ours/{sampler} (block {o['block'] or 'all'}): first call {o['first']:.2f} s; warm best of "
                  f"{len(o['runs'])}: {o['wall']:.4f} s (runs {', '.join(f'{t:.3f}' for t in o['runs'])}; "
                  f"{o['cpu'] / o['wall']:.2f} cores busy); setup + gen 1 {o['init']:.4f} s, gens 2..{G} "
                  f"{o['gens']:.4f} s; {load_text()}")
            print(roofline(f"ours/{sampler}", o["wall"], *work(sampler, d, T, G, R, size), peaks))
        nps = [_timed(lambda dt=dtype: numpy_reference(d, T, G, R, args.sigma, dt, args.seed))
               for _ in range(max(1, args.numpy_repeats))]
        ref = nps[-1][0]
        np_wall = min(r[1] for r in nps)
        print(f"numpy: best of {len(nps)}: {np_wall:.3f} s; {load_text()}")
        print(roofline("numpy", np_wall, *work("samples", d, T, G, R, size), peaks))
        if theory is not None:
            for sampler, o in mine.items():
                _compare(sampler, o["err"], "numpy", ref, theory)
        for sampler, o in mine.items():
            ratio = np_wall / o["wall"]
            results[f"{dtype}/{sampler}"] = ratio
            verdict = ""
            if theory is not None:
                z = _theory_z(o["err"], theory)
                verdict = f"; max |mean − σ²d·n/(T−d−1)|/SE = {z:.2f} ({'agrees' if z < 4 else 'VIOLATED'})"
            print(f"RATIO {dtype} {sampler}: numpy / ours = {np_wall:.3f} / {o['wall']:.4f} = {ratio:.1f}x "
                  f"({jax.device_count()} device(s)){verdict}; {load_text()}")
    print("\nsummary: " + "; ".join(f"{k}: {v:.1f}x" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
