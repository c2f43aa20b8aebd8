"""Benchmark: ToEdit token editing throughput (tokens/s), ours (one jitted program per batch) vs plain NumPy.

Both sides do the same computation on the same int windows [B, L] of human bytes (pydoc corpus):
1. *redraw* — given the prior's log-distributions [B, L, V]: the rule p >= 0.99, top-k (k = 8) candidates with
   the original included, weights ∝ p^{1/β} (β = 1.5), a draw per eligible token, first token kept;
2. *n-gram end to end* — the byte 3-gram prior's lookup (searchsorted of each position's context among the
   seen contexts, gather of its [V] row) plus the redraw.
The eligible masks of the two sides must agree exactly (the draws differ: different random streams). A third line
times ours with a trained-size transformer prior (the prior's forward pass dominates; no NumPy reference).

    python -m benchmarks.toedit_edit                 # B = 256 windows of 64 bytes, 5 timed repeats
    python -m benchmarks.toedit_edit --batch 1024

Timings exclude compilation (reported separately) and are wall-clock medians of warm runs.

Roofline lines (``benchmarks.roofline``) beside each rate, with this machine's dgemm and copy peaks measured in
the same run. The redraw is memory-bound: it must read the [B, L, V] float32 log-distributions once (its FLOPs,
a handful per candidate, are not counted); the n-gram prior must gather one [V] row per position; the transformer
prior costs 2·N + 4·depth·L·W FLOPs per token (``benchmarks.nn_counts``) and reads its parameters once.
"""

import argparse
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import nn_counts
from benchmarks.roofline import describe, measure_peaks, roofline
from collapse.lm import model as lm
from collapse.lm.corpus import load_corpus, windows
from collapse.lm.edit import EditRule, edit_from_logprobs, fit_ngram, ngram_logprobs, transformer_logprobs
from collapse.lm.tokenizer import BOS, VOCAB_SIZE


def numpy_context_ids(tokens, order):
    B, L = tokens.shape
    t = np.concatenate([np.full((B, order - 1), BOS, np.int64), tokens.astype(np.int64)], axis=1)
    ids = np.zeros((B, L), np.int64)
    for j in range(order - 1):
        ids = ids * (VOCAB_SIZE + 1) + t[:, j:j + L]
    return ids


def numpy_ngram_logprobs(contexts, table, tokens, order):
    ids = numpy_context_ids(tokens, order)
    row = np.searchsorted(contexts, ids)
    C = len(contexts)
    found = (row < C) & (contexts[np.minimum(row, C - 1)] == ids)
    return table[np.where(found, row, C)]


def numpy_redraw(rng, tokens, logp, threshold, k, beta):
    """The straightforward NumPy version: argpartition for the top k, Gumbel-max draw per position."""
    lp_orig = np.take_along_axis(logp, tokens[..., None], axis=-1)[..., 0]
    eligible = lp_orig >= np.log(np.float32(threshold))
    eligible[:, 0] = False
    top = np.argpartition(-logp, k - 1, axis=-1)[..., :k]
    top_lp = np.take_along_axis(logp, top, axis=-1)
    in_top = (top == tokens[..., None]).any(-1)
    cand = np.concatenate([top, tokens[..., None]], axis=-1)
    cand_lp = np.concatenate([top_lp, np.where(in_top, -np.inf, lp_orig)[..., None]], axis=-1)
    choice = np.argmax(cand_lp / beta + rng.gumbel(size=cand_lp.shape), axis=-1)
    drawn = np.take_along_axis(cand, choice[..., None], axis=-1)[..., 0]
    return np.where(eligible, drawn, tokens), eligible


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.toedit_edit", description=__doc__.split("\n")[0])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--context", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    jax.config.update("jax_enable_x64", False)
    c = load_corpus("pydoc")
    train_w = windows(c.split("train").tokens(), args.context)
    tokens = windows(c.split("validation").tokens(), args.context)[: args.batch]
    B, L = tokens.shape
    n_tok = B * L
    rule = EditRule(threshold=0.99, top_k=8, beta=1.5)
    state = fit_ngram(train_w, order=3)
    contexts, table = np.asarray(state.contexts, np.int64), np.asarray(state.table)
    logp_np = numpy_ngram_logprobs(contexts, table, tokens, 3)
    key = jax.random.key(0)
    tok_j, logp_j = jnp.asarray(tokens), jnp.asarray(logp_np)

    redraw = jax.jit(lambda k, t, lp: edit_from_logprobs(k, t, lp, rule))
    t0 = time.perf_counter()
    ours = jax.block_until_ready(redraw(key, tok_j, logp_j))
    compile_redraw = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    _, elig_np = numpy_redraw(rng, tokens, logp_np, 0.99, 8, 1.5)
    assert np.array_equal(np.asarray(ours.eligible), elig_np), "eligible masks differ"
    t_ours = _median_time(lambda: jax.block_until_ready(redraw(key, tok_j, logp_j)), args.repeats)
    t_np = _median_time(lambda: numpy_redraw(rng, tokens, logp_np, 0.99, 8, 1.5), args.repeats)

    lookup = ngram_logprobs(3)
    e2e = jax.jit(lambda s, k, t: edit_from_logprobs(k, t, lookup(s, t), rule))
    t0 = time.perf_counter()
    jax.block_until_ready(e2e(state, key, tok_j))
    compile_e2e = time.perf_counter() - t0
    t_ours2 = _median_time(lambda: jax.block_until_ready(e2e(state, key, tok_j)), args.repeats)
    t_np2 = _median_time(lambda: numpy_redraw(rng, tokens, numpy_ngram_logprobs(contexts, table, tokens, 3), 0.99,
                                              8, 1.5), args.repeats)

    cfg = lm.lm_config(width=64, depth=2, heads=4, context=args.context)
    params = lm.init(cfg, jax.random.key(1))
    tf = transformer_logprobs(cfg)
    e2e_tf = jax.jit(lambda prm, k, t: edit_from_logprobs(k, t, tf(prm, t), rule))
    jax.block_until_ready(e2e_tf(params, key, tok_j))
    t_tf = _median_time(lambda: jax.block_until_ready(e2e_tf(params, key, tok_j)), args.repeats)

    print(f"ToEdit editing, {B} windows × {L} bytes = {n_tok} tokens per call; V = {VOCAB_SIZE}; p >= 0.99, k = 8, "
          f"β = 1.5; {jax.devices()[0].platform}, {args.repeats} warm repeats (median)")
    print(f"{'computation':<34} {'ours tok/s':>12} {'NumPy tok/s':>12} {'ratio':>7} {'compile s':>10}")
    print(f"{'redraw (given the prior)':<34} {n_tok / t_ours:12.0f} {n_tok / t_np:12.0f} {t_np / t_ours:7.2f} "
          f"{compile_redraw:10.2f}")
    print(f"{'3-gram prior + redraw':<34} {n_tok / t_ours2:12.0f} {n_tok / t_np2:12.0f} {t_np2 / t_ours2:7.2f} "
          f"{compile_e2e:10.2f}")
    print(f"{'transformer 64x2 prior + redraw':<34} {n_tok / t_tf:12.0f} {'—':>12} {'—':>7}")
    print(f"eligible masks of ours and NumPy agree exactly ({int(elig_np.sum())} eligible tokens)")
    peaks = measure_peaks()
    print(describe(peaks))
    print(nn_counts.sgemm_text())
    dist_bytes = n_tok * VOCAB_SIZE * 4 + 2 * n_tok * 4  # the log-distributions, tokens in and out
    for who, t in (("ours", t_ours), ("NumPy", t_np)):
        print(roofline(f"{who} redraw", t, 0.0, dist_bytes, peaks))
    for who, t in (("ours", t_ours2), ("NumPy", t_np2)):
        print(roofline(f"{who} 3-gram + redraw", t, 0.0, dist_bytes, peaks))
    n_params = sum(int(x.size) for x in jax.tree.leaves(params))
    print(roofline("ours transformer + redraw", t_tf, nn_counts.lm_forward_flops(cfg, n_tok),
                   dist_bytes + 4 * n_params, peaks))


if __name__ == "__main__":
    main()
