"""Throughput of the eigenvalue encoder–decoder: training (examples/s) and decoding (matrices/s), JAX vs a
same-size PyTorch model (same architecture: pre-norm RMSNorm blocks, rotary self-attention, GELU MLP without
biases, cross-attention, tied output head) in the same run, with the ratio printed.

    python -m benchmarks.eigen_seq2seq                 # CPU scale of the eigen-cpu preset
    python -m benchmarks.eigen_seq2seq --n 5 --width 64 --steps 50

JAX trains a chunk of steps inside one lax.scan (as the driver does); PyTorch runs its eager loop. Decoding:
JAX greedy and beam search with a KV cache inside lax.scan; PyTorch greedy recomputes the decoder over the prefix
each step (its decoder has one layer and targets have a handful of tokens, so a cache would change little).
PyTorch needs ``pip install torch`` (not a project dependency); without it only the JAX numbers are printed.

Roofline lines (``benchmarks.roofline``): the model FLOPs and the bytes each timed run must perform
(``benchmarks.nn_counts``: training 3× the teacher-forced forward pass per example, greedy decoding with a KV
cache), the achieved GFLOP/s and GB/s, and this machine's dgemm and copy peaks measured in the same run.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import nn_counts
from benchmarks.roofline import describe, measure_peaks, roofline
from benchmarks.timing import best_of
from collapse.nn import seq2seq as s2s
from collapse.tasks.eigen import EigenTask


def jax_numbers(task, cfg, args, src, tgt):
    graphdef, params = s2s.init_model(cfg, 0)
    tc = s2s.train_config(args.steps, args.batch, 1e-3)
    tx = s2s.optimizer(tc)
    opt = tx.init(params)
    src_j, tgt_j = jnp.asarray(src), jnp.asarray(tgt)

    def train():
        out = s2s._train_chunk(graphdef, tx, params, opt, src_j, tgt_j, jnp.int32(len(src)), jax.random.key(0),
                               jnp.int32(0), length=args.steps, batch=args.batch)
        jax.block_until_ready(out[0])

    t_train = best_of(train)
    batch = jnp.asarray(src[:args.decode])
    t_greedy = best_of(lambda: jax.block_until_ready(s2s.greedy(graphdef, params, batch, length=task.tgt_len)))
    t_beam = best_of(lambda: jax.block_until_ready(s2s.beam_search(graphdef, params, batch, length=task.tgt_len,
                                                                   k=args.k)))
    n_params = sum(int(x.size) for x in jax.tree.leaves(params))
    return n_params, args.steps * args.batch / t_train, args.decode / t_greedy, args.decode / t_beam


def torch_numbers(task, cfg, args, src, tgt):
    try:
        import torch
    except ImportError:
        return None
    from benchmarks.torch_seq2seq import TorchSeq2Seq

    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    torch.manual_seed(0)
    model = TorchSeq2Seq(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    src_t, tgt_t = torch.as_tensor(src, dtype=torch.long), torch.as_tensor(tgt, dtype=torch.long)
    gen = torch.Generator().manual_seed(0)

    def train():
        for _ in range(args.torch_steps):
            idx = torch.randint(0, len(src_t), (args.batch,), generator=gen)
            s, t = src_t[idx], tgt_t[idx]
            logits = model(s, torch.cat([torch.ones_like(t[:, :1]), t[:, :-1]], 1))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()

    t_train = best_of(train, repeats=2)
    batch = src_t[:args.decode]
    with torch.no_grad():
        t_greedy = best_of(lambda: model.greedy(batch, task.tgt_len))
    n_params = sum(p.numel() for p in model.parameters())
    return n_params, args.torch_steps * args.batch / t_train, args.decode / t_greedy, torch.get_num_threads()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=2)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--enc-depth", type=int, default=6)
    p.add_argument("--dec-depth", type=int, default=1)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=100, help="training steps per timed repeat")
    p.add_argument("--torch-steps", type=int, default=20, help="PyTorch training steps per timed repeat")
    p.add_argument("--torch-threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--decode", type=int, default=1000, help="matrices per timed decoding call")
    p.add_argument("--k", type=int, default=4, help="beams")
    args = p.parse_args(argv)
    task = EigenTask(n=args.n)
    A, lam = task.sample(np.random.default_rng(0), 5000)
    src, tgt = task.src_tokens(A), task.tgt_tokens(lam)
    cfg = s2s.Seq2SeqConfig(task.vocab_size, task.src_len, task.tgt_len, width=args.width, heads=args.heads,
                            enc_depth=args.enc_depth, dec_depth=args.dec_depth)
    print(f"eigen seq2seq benchmark: {args.n}×{args.n} matrices, width {args.width}, encoder {args.enc_depth} / "
          f"decoder {args.dec_depth}, batch {args.batch}, {jax.default_backend()} ({jax.device_count()} device)")
    peaks = measure_peaks()
    print(describe(peaks))
    print(nn_counts.sgemm_text())
    jp, j_train, j_greedy, j_beam = jax_numbers(task, cfg, args, src, tgt)
    print(f"JAX     ({jp:,} params): train {j_train:8.0f} examples/s | greedy {j_greedy:8.0f} matrices/s | "
          f"beam k={args.k} {j_beam:8.0f} matrices/s")
    fwd = nn_counts.seq2seq_forward_flops(cfg)

    def rooflines(who, n_params, train_rate, steps, greedy_rate):
        examples = steps * args.batch
        print(roofline(f"{who} train", examples / train_rate, 3 * fwd * examples,
                       nn_counts.lm_train_bytes(n_params, steps, examples * (cfg.src_len + cfg.tgt_len)), peaks))
        print(roofline(f"{who} greedy", args.decode / greedy_rate, nn_counts.seq2seq_greedy_flops(cfg) * args.decode,
                       nn_counts.seq2seq_greedy_bytes(cfg, n_params, args.decode), peaks))

    rooflines("JAX", jp, j_train, args.steps, j_greedy)
    res = torch_numbers(task, cfg, args, src, tgt)
    if res is None:
        print("PyTorch not installed: no reference (pip install torch)")
        return
    tp, t_train, t_greedy, threads = res
    print(f"PyTorch ({tp:,} params, {threads} threads): train {t_train:8.0f} examples/s | greedy {t_greedy:8.0f} "
          f"matrices/s (no cache)")
    rooflines("PyTorch", tp, t_train, args.torch_steps, t_greedy)
    print(f"ratio JAX / PyTorch: train {j_train / t_train:.2f}x, greedy {j_greedy / t_greedy:.2f}x")


if __name__ == "__main__":
    main()
