"""Byte-level transformer LM throughput: training tokens/s and model FLOPs utilization (MFU), sampling tokens/s,
JAX (collapse.lm) vs the same model in PyTorch in the same run, with ratios.

    python -m benchmarks.lm_throughput                 # CPU size (≈ 0.8M parameters)
    python -m benchmarks.lm_throughput --size gpu      # ≥ 50M parameters, bf16 activations (for an accelerator)

Model FLOPs per training token: 6·N (N = parameters in matmuls, tied head included once per use) + 12·depth·L·W
for attention scores and values (PaLM, Chowdhery et al. 2022, App. B; causal attention counted in full, as is
the convention). MFU = FLOPs/token × tokens/s ÷ peak: on an accelerator the peak is the vendor's dense bf16
figure (``--peak-tflops`` to override); on CPU there is no single published peak, so the script measures the
best float32 matmul rate of this machine in the same run and reports utilization against that ("achievable
peak"), which overstates MFU compared with a datasheet peak.

JAX trains ``--steps`` steps inside one ``lax.scan`` (as the loop does) and samples with a KV cache inside
``lax.scan``. PyTorch runs an eager training loop and samples with its own KV cache (same architecture: pre-norm
RMSNorm, rotary self-attention, GELU MLP without biases, tied head; AdamW with clipping). PyTorch needs
``pip install torch`` (not a project dependency); without it only the JAX numbers are printed.

Roofline lines (``benchmarks.roofline``): beside each rate, the FLOPs and bytes the run must perform
(``benchmarks.nn_counts``; sampling: 2·N + 4·depth·W·(L+1)/2 FLOPs per token, the KV cache read each step), the
achieved GFLOP/s and GB/s, and this machine's float64 dgemm and memory-copy peaks measured in the same run.
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import nn_counts
from benchmarks.roofline import describe, measure_peaks, roofline
from benchmarks.timing import best_of
from collapse.lm import model as lm
from collapse.lm.sampling import sample
from collapse.lm.train import TrainConfig, init_state, train_steps
from collapse.nn import count_params

SIZES = {
    "cpu": dict(width=128, depth=4, heads=4, context=128, batch=16, steps=20, sample_batch=32, dtype="float32"),
    "gpu": dict(width=768, depth=8, heads=12, context=1024, batch=32, steps=50, sample_batch=64, dtype="bfloat16"),
}
PEAK_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0, "L4": 121.0, "TPU v5 lite": 197.0, "TPU v4": 275.0}


def flops_per_token(cfg, n_params: int | None = None) -> float:
    """Training FLOPs per token (norms are not matmuls; the tied head is counted once per use). ``n_params`` is
    accepted for older callers and unused: the count follows from the config."""
    return nn_counts.lm_train_flops(cfg, 1)


def peak_flops(dtype) -> tuple[float, str]:
    kind = jax.devices()[0].device_kind
    for name, tf in PEAK_TFLOPS.items():
        if name.lower() in kind.lower():
            return tf * 1e12, f"{kind} datasheet dense bf16 peak {tf:g} TFLOP/s"
    n = 1024
    a = jnp.ones((n, n), dtype)
    f = jax.jit(lambda a: a @ a)
    t = best_of(lambda: f(a).block_until_ready(), repeats=5)
    return 2 * n ** 3 / t, f"measured best {n}×{n} {jnp.dtype(dtype).name} matmul on {kind}"


def jax_numbers(cfg, size):
    tc = TrainConfig(steps=size["steps"], batch=size["batch"], warmup=1)
    data = jnp.asarray(np.random.default_rng(0).integers(0, 256, (256, cfg.context)), jnp.int32)
    weights = jnp.ones(data.shape[0])
    state = init_state(cfg, tc, jax.random.key(0))
    run = jax.jit(lambda s, k: train_steps(cfg, tc, s, data, weights, k, tc.steps))
    t = best_of(lambda: jax.block_until_ready(run(state, jax.random.key(1))))
    train_tps = tc.steps * tc.batch * cfg.context / t
    samp = jax.jit(lambda p, k: sample(cfg, p, k, size["sample_batch"], cfg.context))
    t = best_of(lambda: samp(state.params, jax.random.key(2)).block_until_ready())
    return train_tps, size["sample_batch"] * cfg.context / t, count_params(lm.model(cfg, state.params))


def torch_numbers(cfg, size, threads=None):
    try:
        import torch
    except ImportError:
        return None
    from benchmarks.torch_lm import TorchLM, torch_sample

    if threads:
        torch.set_num_threads(threads)
    dtype = torch.bfloat16 if cfg.dtype == "bfloat16" else torch.float32
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    model = TorchLM(cfg).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, betas=(0.9, 0.95), weight_decay=0.1)
    data = torch.randint(0, 256, (256, cfg.context), device=dev)
    g = torch.Generator(device=dev).manual_seed(0)

    def train_loop():
        for _ in range(size["steps"]):
            idx = torch.randint(0, data.shape[0], (size["batch"],), generator=g, device=dev)
            x = data[idx]
            inp = torch.cat([torch.full_like(x[:, :1], 256), x[:, :-1]], dim=1)
            with torch.autocast(dev, dtype=dtype, enabled=dtype != torch.float32):
                loss = torch.nn.functional.cross_entropy(model(inp).float().reshape(-1, 257), x.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
        if dev == "cuda":
            torch.cuda.synchronize()

    t = best_of(train_loop, repeats=2)
    train_tps = size["steps"] * size["batch"] * cfg.context / t
    with torch.no_grad(), torch.autocast(dev, dtype=dtype, enabled=dtype != torch.float32):
        t = best_of(lambda: torch_sample(model, size["sample_batch"], cfg.context, dev), repeats=2)
    return train_tps, size["sample_batch"] * cfg.context / t, sum(p.numel() for p in model.parameters()), \
        torch.get_num_threads()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--size", choices=sorted(SIZES), default="cpu")
    p.add_argument("--peak-tflops", type=float, help="override the peak used for MFU")
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--torch-threads", type=int, help="torch.set_num_threads (default: torch's choice). On a shared, "
                   "oversubscribed CPU, torch's OpenMP threads spin and 2 threads ran 25x slower than 1 here")
    args = p.parse_args(argv)
    size = SIZES[args.size]
    cfg = lm.lm_config(width=size["width"], depth=size["depth"], heads=size["heads"], context=size["context"],
                       dtype=size["dtype"])
    peak, peak_note = (args.peak_tflops * 1e12, "given") if args.peak_tflops else peak_flops(
        jnp.bfloat16 if cfg.dtype == "bfloat16" and jax.default_backend() != "cpu" else jnp.float32)
    print(f"device: {jax.devices()[0].device_kind} × {len(jax.devices())} ({jax.default_backend()}); "
          f"peak for MFU: {peak / 1e12:.3g} TFLOP/s ({peak_note})")
    peaks = measure_peaks()
    print(describe(peaks))
    print(nn_counts.sgemm_text())
    jt, js, n = jax_numbers(cfg, size)
    fpt = flops_per_token(cfg)
    train_tokens = size["steps"] * size["batch"] * cfg.context
    sb, sl = size["sample_batch"], cfg.context
    work = {"train": (nn_counts.lm_train_flops(cfg, train_tokens),
                      nn_counts.lm_train_bytes(n, size["steps"], train_tokens), train_tokens),
            "sample": (nn_counts.lm_sample_flops(cfg, sb, sl), nn_counts.lm_sample_bytes(cfg, n, sb, sl), sb * sl)}

    def rooflines(who, train_tps, sample_tps):
        for what, tps in (("train", train_tps), ("sample", sample_tps)):
            flops, nbytes, tokens = work[what]
            print(roofline(f"{who} {what}", tokens / tps, flops, nbytes, peaks))
    print(f"model: width {cfg.width}, depth {cfg.depth}, heads {cfg.heads}, context {cfg.context}, {cfg.dtype}; "
          f"{n / 1e6:.2f}M parameters; {fpt / 1e6:.2f} MFLOP per training token")
    print(f"JAX    train {jt:12,.0f} tokens/s  MFU {jt * fpt / peak:6.1%}   sample {js:12,.0f} tokens/s "
          f"(batch {size['sample_batch']}, KV cache)")
    rooflines("JAX", jt, js)
    tn = None if args.no_torch else torch_numbers(cfg, size, args.torch_threads)
    if tn is None:
        print("PyTorch not run (pip install torch to compare)")
        return 0
    tt, ts, tn_params, threads = tn
    print(f"torch  train {tt:12,.0f} tokens/s  MFU {tt * fpt / peak:6.1%}   sample {ts:12,.0f} tokens/s "
          f"({tn_params / 1e6:.2f}M parameters, {threads} threads)")
    rooflines("torch", tt, ts)
    print(f"ratio JAX/torch: train {jt / tt:.2f}x, sample {js / ts:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
