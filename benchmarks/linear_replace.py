"""Benchmark: the linear replace loop, ours (JAX, all replicates at once) vs a per-replicate NumPy loop.

Both sides run the same experiment: per replicate a fixed Gaussian design X [T, d], w* uniform on the
unit sphere, y = Xw* + ε (σ = 1); every generation fits ŵ by least squares, records ‖ŵ − w*‖² and
relabels y = Xŵ + ε. The mean E_test of both must match σ²d/(T − d − 1)·n.

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
import statistics
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
def ours(args, dtype):
    import jax

    from collapse import LinearRegression, Loop, LoopConfig

    jax.config.update("jax_enable_x64", dtype == "float64")
    family = LinearRegression(d=args.d, T=args.T, sigma=args.sigma)
    loop = Loop(family, LoopConfig(mode="replace", generations=args.generations,
                                   replicates=args.replicates, seed=args.seed))
    state, first, _ = _timed(loop.run)
    runs = [_timed(loop.run) for _ in range(max(1, args.repeats))]
    err = runs[-1][0].metrics["E_test"]
    assert err.dtype == np.dtype(dtype), (err.dtype, dtype)
    wall = statistics.median(r[1] for r in runs)
    cpu = statistics.median(r[2] for r in runs)
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
    return {"err": np.asarray(err, dtype=np.float64), "first": first, "wall": wall, "cpu": cpu,
            "runs": [r[1] for r in runs], "init": statistics.median(init_t), "gens": statistics.median(gen_t)}


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


def main(argv=None):
    args = _parse(argv)
    if args.host_devices and "XLA_FLAGS" not in os.environ:
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={args.host_devices}"
    import jax

    dtypes = ("float64", "float32") if args.dtype == "both" else (args.dtype,)
    d, T, G, R = args.d, args.T, args.generations, args.replicates
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs; Python {platform.python_version()}, NumPy {np.__version__}")
    print(f"jax {jax.__version__}, backend {jax.default_backend()}, {jax.device_count()} device(s): "
          f"{[str(x) for x in jax.devices()]}; XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}")
    print(f"problem: replace mode, d={d}, T={T}, sigma={args.sigma}, generations={G}, replicates={R}")
    theory = None
    if T > d + 1:
        theory = args.sigma**2 * d / (T - d - 1) * np.arange(1, G + 1)
        print(f"theory: E_test(n) = σ²d/(T−d−1)·n = {args.sigma**2 * d / (T - d - 1):.5f}·n")
    results = {}
    for dtype in dtypes:
        print(f"\n== {dtype}: ours (JAX) vs NumPy (np.linalg.lstsq per replicate), both {dtype} ==")
        o = ours(args, dtype)
        print(f"ours : first call (compile + run) {o['first']:.2f} s -> compile ≈ {o['first'] - o['wall']:.2f} s")
        print(f"ours : warm Loop.run() median of {len(o['runs'])}: {o['wall']:.3f} s "
              f"(runs {', '.join(f'{t:.3f}' for t in o['runs'])}; CPU time {o['cpu']:.3f} s = "
              f"{o['cpu'] / o['wall']:.2f} cores busy)")
        print(f"ours :   of which setup + generation 1: {o['init']:.3f} s; generations 2..{G}: {o['gens']:.3f} s")
        nps = [_timed(lambda dt=dtype: numpy_reference(d, T, G, R, args.sigma, dt, args.seed))
               for _ in range(max(1, args.numpy_repeats))]
        ref = nps[-1][0]
        np_wall = statistics.median(r[1] for r in nps)
        np_cpu = statistics.median(r[2] for r in nps)
        print(f"numpy: {np_wall:.3f} s (CPU time {np_cpu:.3f} s = {np_cpu / np_wall:.2f} cores busy)")
        if theory is not None:
            _compare("ours", o["err"], "numpy", ref, theory)
        ratio = np_wall / o["wall"]
        results[dtype] = ratio
        print(f"RATIO {dtype}: numpy / ours = {np_wall:.3f} / {o['wall']:.3f} = {ratio:.1f}x "
              f"({jax.device_count()} device(s))")
    if len(results) > 1:
        print("\nsummary: " + "; ".join(f"{k}: {v:.1f}x" for k, v in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
