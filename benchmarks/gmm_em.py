"""Benchmark: weighted EM for Gaussian mixtures, ours (JAX, all replicates in one vmapped program) vs a
NumPy EM in a per-replicate loop.

Both run the same EM (collapse.families.gmm.em: equal initial weights, the data covariance for every
component, means from one k-means++ seeding shared by both sides) for the same fixed number of
iterations (tolerance 0) on the same data: R replicates × N points from a K-component 1-D mixture. The
NumPy side is vectorized within a replicate (arrays [N, K]), as one would write it by hand. Compilation
of ours is timed separately; the fitted parameters of both sides must agree.

    python -m benchmarks.gmm_em                          # 1000 replicates × 1000 points, K = 2, 100 iterations
    python -m benchmarks.gmm_em --replicates 200 --iters 50
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

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


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.gmm_em", description=__doc__.split("\n")[0])
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--points", type=int, default=1000)
    p.add_argument("--K", type=int, default=2)
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--separation", type=float, default=4.0)
    p.add_argument("--repeats", type=int, default=3, help="warm runs of ours (median reported)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    R, N, K, iters, floor = args.replicates, args.points, args.K, args.iters, 1e-6

    rng = np.random.default_rng(args.seed)
    comp = rng.integers(0, K, (R, N))
    x = ((comp - (K - 1) / 2) * args.separation + rng.standard_normal((R, N)))[..., None]  # [R, N, 1]
    xs, ws = jnp.asarray(x), jnp.ones((R, N))
    keys = jax.random.split(jax.random.key(args.seed), R)
    init = jax.jit(jax.vmap(lambda k, a, w: kmeans_pp(k, a, w, K)))(keys, xs, ws)  # [R, K, 1], shared by both

    fit = jax.jit(jax.vmap(lambda a, w, m: em(a, w, m, iters, 0.0, floor)))
    t0 = time.perf_counter()
    compiled = fit.lower(xs, ws, init).compile()
    compile_s = time.perf_counter() - t0
    times = []
    for _ in range(max(1, args.repeats)):
        t0 = time.perf_counter()
        ours = jax.block_until_ready(compiled(xs, ws, init))
        times.append(time.perf_counter() - t0)
    ours_s = statistics.median(times)
    assert np.all(np.asarray(ours[3]) == iters)

    init_np = np.asarray(init)[..., 0]
    t0 = time.perf_counter()
    ref = [numpy_em(x[i, :, 0], init_np[i], iters, floor) for i in range(R)]
    numpy_s = time.perf_counter() - t0

    diff = max(np.max(np.abs(np.asarray(ours[1])[:, :, 0] - np.stack([r[1] for r in ref]))),
               np.max(np.abs(np.asarray(ours[2])[:, :, 0, 0] - np.stack([r[2] for r in ref]))),
               np.max(np.abs(np.asarray(ours[0]) - np.stack([r[0] for r in ref]))))
    print(f"EM, {R} replicates × {N} points × K={K} (1-D), {iters} iterations each, float64, "
          f"{jax.default_backend()} ({len(jax.devices())} device(s))")
    print(f"ours (JAX, vmapped): {ours_s:.3f} s warm (median of {len(times)}); compile {compile_s:.2f} s (separate)")
    print(f"NumPy, per-replicate loop: {numpy_s:.3f} s")
    print(f"ratio NumPy / ours: {numpy_s / ours_s:.1f}×   (largest parameter difference {diff:.1e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
