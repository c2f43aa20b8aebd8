"""Benchmark: weighted EM for Gaussian mixtures, ours (JAX, all replicates in one program) vs a NumPy EM and
scikit-learn's ``GaussianMixture``, each in a per-replicate loop.

All three run the same EM on the same data (R replicates × N points from a K-component 1-D mixture, float64):
the same start (equal weights, every component's variance = the data variance + floor, means from one k-means++
seeding shared by all sides), the same covariance floor (scikit-learn's ``reg_covar``), and the same fixed number
of iterations (tolerance 0 everywhere: scikit-learn stops when |Δ lower bound| < tol, never with tol = 0;
``init_params="random"`` only because scikit-learn computes an initial responsibility matrix before applying the
given ``weights_init`` / ``means_init`` / ``precisions_init``, which then replace it). The fitted parameters of
all sides must agree. The NumPy side is vectorized within a replicate (arrays [N, K]), as one would write it by
hand. Ours runs vmapped over all replicates, and in cache blocks of ``--block`` replicates (``lax.map`` over
blocks, each block's data resident in one core's cache through all iterations), on one CPU device (the engine's
default) and with the replicates sharded over ``--devices`` host CPU devices (one per core by default; what the
engine does when the process has several devices, e.g. ``JAX_NUM_CPU_DEVICES=2``); and on one device in blocks of
``--wide-block`` replicates, large enough that XLA splits each loop over the points across its threads (a block of
16 runs on one thread) while a block still fits in the shared cache. Every line of ours reports its CPU time
over wall time (the cores it kept busy). A second part times the loop's own EM
(tolerance 1e-8, relative, budget 200): the vmapped while-loop, the fixed-length masked iteration
(collapse.families.gmm.iterate) and the while-loop in cache blocks (which waits only for its block's slowest).
Compilation of ours is timed separately; every line carries a roofline (benchmarks/roofline.py).

    python -m benchmarks.gmm_em                          # 1000 replicates × 1000 points, K = 2, 100 iterations
    python -m benchmarks.gmm_em --ref-replicates 1000    # the references on every replicate (else scaled)
"""

import argparse
import os
import time
import warnings

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from collapse.families.gmm import em, kmeans_pp

jax.config.update("jax_enable_x64", True)


def numpy_em(x, init_means, iters, floor):
    """EM for a 1-D K-component mixture, one replicate. x [N], init_means [K]. Returns (weights, means, vars)."""
    K = init_means.shape[0]
    center = x.mean()
    pi = np.full(K, 1.0 / K)
    means = init_means.astype(float).copy()
    var = np.full(K, np.mean((x - center) ** 2) + floor)
    wn = 1.0 / x.shape[0]
    for _ in range(iters):
        logp = -0.5 * (np.log(2 * np.pi) + np.log(var) + (x[:, None] - means) ** 2 / var) + np.log(pi)
        top = logp.max(1, keepdims=True)
        norm = top + np.log(np.exp(logp - top).sum(1, keepdims=True))
        r = np.exp(logp - norm) * wn
        nk = r.sum(0)
        means = (r * x[:, None]).sum(0) / nk
        var = (r * (x[:, None] - means) ** 2).sum(0) / nk + floor
        pi = nk
    return pi, means, var


def sklearn_em(x, init_means, iters, floor):
    """scikit-learn's GaussianMixture from the same start, exactly ``iters`` EM steps (tol = 0)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    K = init_means.shape[0]
    var = np.mean((x - x.mean()) ** 2) + floor
    gm = GaussianMixture(K, covariance_type="full", tol=0.0, reg_covar=floor, max_iter=iters, n_init=1,
                         init_params="random", weights_init=np.full(K, 1.0 / K), means_init=init_means[:, None],
                         precisions_init=np.full((K, 1, 1), 1.0 / var), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        gm.fit(x[:, None])
    assert gm.n_iter_ == iters, gm.n_iter_
    return gm.weights_, gm.means_[:, 0], gm.covariances_[:, 0, 0]


def work(R, N, K, iters):
    """(FLOPs, bytes) of the EM: per point, component and iteration ≈ 16 FLOPs (the log-density, one exp, the
    responsibility and the weighted sums of the M-step) and the point read 3 times (E-step, mean, variance);
    the references do the same arithmetic."""
    return 16.0 * R * N * K * iters, 3.0 * 8 * R * N * iters


def _cpu_seconds():
    t = os.times()
    return t.user + t.system


def _timed_best(fn, repeats):
    """(output, best wall seconds, all wall seconds, CPU seconds / wall seconds of the best run)."""
    jax.block_until_ready(fn())  # warm
    times, busy = [], []
    for _ in range(max(1, repeats)):
        t0, c0 = time.perf_counter(), _cpu_seconds()
        out = jax.block_until_ready(fn())
        times.append(time.perf_counter() - t0)
        busy.append((_cpu_seconds() - c0) / times[-1])
    best = int(np.argmin(times))
    return out, times[best], times, busy[best]


def _sharded(fn, devices):
    """``fn`` over replicate-sharded inputs: each device runs it on its own shard (as the engine's blocked path)."""
    mesh = Mesh(np.array(devices), ("replicates",))
    spec = PartitionSpec("replicates")
    return jax.shard_map(fn, mesh=mesh, in_specs=spec, out_specs=spec, check_vma=False), NamedSharding(mesh, spec)


def main(argv=None):
    from benchmarks.roofline import describe, load_text, measure_peaks, roofline

    p = argparse.ArgumentParser(prog="python -m benchmarks.gmm_em", description=__doc__.split("\n")[0])
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--K", type=int, default=2)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--separation", type=float, default=4.0)
    p.add_argument("--repeats", type=int, default=3, help="warm runs of ours (best reported)")
    p.add_argument("--block", type=int, default=16, help="replicates per cache block (0: skip the blocked runs)")
    p.add_argument("--wide-block", type=int, default=125,
                   help="replicates per block that XLA spreads over its threads, one device (0: skip)")
    p.add_argument("--ref-replicates", type=int, default=200,
                   help="replicates the NumPy and scikit-learn loops run (their time is scaled to all replicates)")
    p.add_argument("--devices", type=int, default=os.cpu_count(),
                   help="host CPU devices for the sharded run (1: skip it); set before JAX starts its CPU backend")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.devices > 1:
        jax.config.update("jax_num_cpu_devices", args.devices)
    R, N, K, iters, floor = args.replicates, args.points, args.K, args.iters, 1e-6

    devices = jax.devices()
    print(f"EM, {R} replicates × {N} points × K={K} (1-D), float64, {jax.default_backend()} "
          f"({len(devices)} device(s)), {os.cpu_count()} CPUs")
    peaks = measure_peaks()
    print(describe(peaks))
    rng = np.random.default_rng(args.seed)
    comp = rng.integers(0, K, (R, N))
    x = ((comp - (K - 1) / 2) * args.separation + rng.standard_normal((R, N)))[..., None]  # [R, N, 1]
    xs, ws = jax.device_put(x, devices[0]), jax.device_put(np.ones((R, N)), devices[0])
    keys = jax.random.split(jax.random.key(args.seed), R)
    init = jax.jit(jax.vmap(lambda k, a, w: kmeans_pp(k, a, w, K)))(keys, xs, ws)  # [R, K, 1], shared by all
    flops, nbytes = work(R, N, K, iters)

    # -- part 1: a fixed number of iterations, ours vs NumPy vs scikit-learn --------------------------------
    one = lambda a, w, m: em(a, w, m, iters, 0.0, floor)  # noqa: E731
    blocked = lambda a, w, m, b=args.block: jax.lax.map(lambda t: one(*t), (a, w, m), batch_size=b)  # noqa: E731
    inputs = (xs, ws, init)
    variants = {"vmapped, 1 device": (jax.jit(jax.vmap(one)), inputs)}
    if args.block:
        variants[f"blocks of {args.block}, 1 device"] = (jax.jit(blocked), inputs)
    if args.wide_block:
        variants[f"blocks of {args.wide_block}, 1 device"] = (
            jax.jit(lambda a, w, m: blocked(a, w, m, args.wide_block)), inputs)
    shard_count = len(devices) if R % len(devices) == 0 else 1
    if args.block and shard_count > 1:
        fn, sharding = _sharded(blocked, devices)
        variants[f"blocks of {args.block}, sharded over {shard_count} devices"] = (
            jax.jit(fn), tuple(jax.device_put(a, sharding) for a in inputs))
    ours = {}
    for name, (fn, args_in) in variants.items():
        t0 = time.perf_counter()
        compiled = fn.lower(*args_in).compile()
        compile_s = time.perf_counter() - t0
        out, best, times, busy = _timed_best(lambda c=compiled, a=args_in: c(*a), args.repeats)
        assert np.all(np.asarray(out[3]) == iters)
        ours[name] = (out, best)
        print(f"ours ({name}): best {best:.3f} s of {', '.join(f'{t:.3f}' for t in times)}; CPU/wall {busy:.2f}; "
              f"compile {compile_s:.2f} s (separate); {load_text()}")
        print(roofline(f"ours ({name})", best, flops, nbytes, peaks))

    nr = min(args.ref_replicates, R)
    init_np = np.asarray(init)[..., 0]
    refs = {}
    for name, fn in (("NumPy", numpy_em), ("scikit-learn", sklearn_em)):
        t0 = time.perf_counter()
        fits = [fn(x[i, :, 0], init_np[i], iters, floor) for i in range(nr)]
        seconds = (time.perf_counter() - t0) * R / nr
        refs[name] = (fits, seconds)
        print(f"{name}, per-replicate loop: {nr} replicates in {seconds * nr / R:.2f} s -> {seconds:.2f} s for {R} "
              f"(×{R / nr:g}); {load_text()}")
        print(roofline(name, seconds, flops, nbytes, peaks))

    one_device = min((kv for kv in ours.items() if kv[0].endswith("1 device")), key=lambda kv: kv[1][1])
    fastest = min(ours.items(), key=lambda kv: kv[1][1])
    for name, (fits, seconds) in refs.items():
        for ours_name, (ours_out, ours_s) in dict([one_device, fastest]).items():
            diff = max(np.max(np.abs(np.asarray(ours_out[1])[:nr, :, 0] - np.stack([f[1] for f in fits]))),
                       np.max(np.abs(np.asarray(ours_out[2])[:nr, :, 0, 0] - np.stack([f[2] for f in fits]))),
                       np.max(np.abs(np.asarray(ours_out[0])[:nr] - np.stack([f[0] for f in fits]))))
            print(f"RATIO {name} / ours ({ours_name}): {seconds:.2f} / {ours_s:.3f} = {seconds / ours_s:.1f}x "
                  f"(target 50x); largest parameter difference {diff:.1e}; {load_text()}")

    # -- part 2: the loop's EM with a tolerance: while-loop vs fixed-length masked iteration -------------------
    tol, budget = 1e-8, 200
    loops = [("vmapped while", False, 0, False), ("masked fixed-length", True, 0, False)]
    if args.block:
        loops.append((f"while in blocks of {args.block}", False, args.block, False))
        if shard_count > 1:
            loops.append((f"while in blocks of {args.block}, sharded over {shard_count} devices", False, args.block,
                          True))
    if args.wide_block:
        loops.append((f"while in blocks of {args.wide_block}", False, args.wide_block, False))
    for name, masked, block, shard in loops:
        tol_em = lambda a, w, m, masked=masked: em(a, w, m, budget, tol, floor, masked=masked)  # noqa: E731
        args_in = inputs
        if block:
            fn = lambda a, w, m, f=tol_em, b=block: jax.lax.map(lambda t: f(*t), (a, w, m), batch_size=b)  # noqa: E731
            if shard:
                fn, sharding = _sharded(fn, devices)
                args_in = tuple(jax.device_put(a, sharding) for a in inputs)
            fn = jax.jit(fn)
        else:
            fn = jax.jit(jax.vmap(tol_em))
        out, best, times, busy = _timed_best(lambda f=fn, a=args_in: f(*a), args.repeats)
        steps = np.asarray(out[3])
        print(f"tol {tol:g} (relative), budget {budget}: {name}: {best:.3f} s (CPU/wall {busy:.2f}); steps per "
              f"replicate mean {steps.mean():.1f}, max {steps.max()}; {load_text()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
