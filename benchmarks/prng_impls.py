"""Benchmark: JAX's PRNG implementations on this backend, drawn the way the loop draws.

Per replicate a key is folded from the base key by replicate index and generation (as collapse.engine does),
then split, and a block of standard normals is drawn; vmapped over all replicates. For each implementation
(threefry2x32, the default; rbg; unsafe_rbg) it prints the time per million normals and whether the draws
are invariant to batching — the same numbers whether all replicates are vmapped at once or mapped in blocks
(what the reproducibility contract needs: results must not depend on device count or chunking).

    python -m benchmarks.prng_impls
"""

import argparse
import sys

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.prng_impls", description=__doc__.split("\n")[0])
    p.add_argument("--replicates", type=int, default=1000)
    p.add_argument("--size", type=int, default=10_000, help="normals per replicate per call")
    p.add_argument("--block", type=int, default=32)
    args = p.parse_args(argv)
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    from benchmarks.roofline import load_text
    from benchmarks.timing import best_of

    R, n = args.replicates, args.size

    def draw(base, index, gen):
        key = jax.random.fold_in(jax.random.split(jax.random.fold_in(base, index))[1], gen)
        return jax.random.normal(jax.random.split(key, 5)[0], (n,))

    print(f"{R} replicates x {n} float64 normals per call; {load_text()}")
    index = jnp.arange(R)
    for impl in ("threefry2x32", "rbg", "unsafe_rbg"):
        base = jax.random.key(0, impl=impl)
        whole = jax.jit(jax.vmap(draw, in_axes=(None, 0, None)))
        blocked = jax.jit(lambda b, i, g: jax.lax.map(lambda j: jax.vmap(draw, in_axes=(None, 0, None))(b, j, g),
                                                       i.reshape(-1, args.block)).reshape(R, n))
        t = best_of(lambda w=whole, b=base: w(b, index, 3).block_until_ready(), 3)
        same = np.array_equal(np.asarray(whole(base, index, 3)), np.asarray(blocked(base, index, 3)))
        one = np.asarray(draw(base, 7, 3))
        single = np.array_equal(one, np.asarray(whole(base, index, 3))[7])
        print(f"{impl:>13}: {t / (R * n) * 1e9 * 1e6 / 1e6:.2f} ns per normal ({t:.3f} s per call); "
              f"blocked == vmapped: {same}; unbatched == vmapped: {single}; {load_text()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
