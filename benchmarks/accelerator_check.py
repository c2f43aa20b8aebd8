"""One prepared accelerator check (issue 21, item 4): fits in 8 minutes on one H100/H200, writes a JSON summary.

    python -m benchmarks.accelerator_check                  # on the accelerator: ≈ 7 min, accelerator_check.json
    python -m benchmarks.accelerator_check --smoke          # every part tiny, on CPU, to check the script runs

Parts, each in its own subprocess under a hard time budget (a part that runs out is recorded as timed out and
the next one starts; the whole check never passes ``--total`` seconds):

- ``env``: devices, backend, Python / JAX / jaxlib / flax / optax / torch versions.
- ``engine``: the self-consuming loop at 10⁶ linear replicates (replace, d = 10, T = 40, 10 generations,
  float64 as the CLI runs it): replicate-generations per second, first call (with compile) and warm.
- ``lm``: byte-level LM training in bf16 for a ≈ 25M-parameter model (width 512, depth 8, context 512):
  tokens/s and MFU = model FLOPs per token × tokens/s ÷ the chip's dense bf16 peak (FLOPs per token as
  counted in ``benchmarks/lm_throughput.py`` and ``docs/accelerator.md``).
- ``lm_replicates``: 64 small LMs (width 128, depth 2, context 128) trained at once, vmapped and sharded over
  the devices as the engine shards replicates: tokens/s and MFU.
- ``eigen``, ``summarize``: the eigen-gpu and summarize-gpu model shapes trained for a few hundred steps in
  bf16; passes if the loss falls (mean of the last tenth below that of the first tenth) and is never NaN.
- ``torch``: the same LM step as ``lm`` in PyTorch (bf16 autocast) on the same device, for the ratio
  JAX / PyTorch, if torch is importable.

Targets (issue 21): MFU ≥ 35% for the 25M model, JAX ≥ 1.2× PyTorch on the same step.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib import metadata

PARTS = ("env", "engine", "lm", "lm_replicates", "eigen", "summarize", "torch")
BUDGET_S = {"env": 40, "engine": 80, "lm": 90, "lm_replicates": 70, "eigen": 60, "summarize": 60, "torch": 60}
SMOKE_BUDGET_S = 120  # per part on a CPU (compile dominates)

SIZES = {
    "full": {"engine": dict(replicates=1_000_000, generations=10),
             "lm": dict(width=512, depth=8, heads=8, context=512, batch=64, steps=10, dtype="bfloat16"),
             "lm_replicates": dict(replicates=64, width=128, depth=2, heads=4, context=128, batch=16, steps=10,
                                   dtype="bfloat16"),
             "eigen": dict(n=5, width=512, heads=8, enc_depth=6, dec_depth=1, steps=300, batch=256, lr=3e-4,
                           examples=20_000, dtype="bfloat16"),
             "summarize": dict(width=256, heads=8, enc_depth=6, dec_depth=1, steps=300, batch=128, lr=1e-3,
                               examples=4000, dtype="bfloat16")},
    "smoke": {"engine": dict(replicates=2000, generations=3),
              "lm": dict(width=32, depth=1, heads=2, context=32, batch=8, steps=2, dtype="float32"),
              "lm_replicates": dict(replicates=4, width=32, depth=1, heads=2, context=16, batch=4, steps=2,
                                    dtype="float32"),
              "eigen": dict(n=2, width=32, heads=4, enc_depth=1, dec_depth=1, steps=60, batch=32, lr=2e-3,
                            examples=500, dtype="float32"),
              "summarize": dict(width=32, heads=4, enc_depth=1, dec_depth=1, steps=60, batch=32, lr=2e-3,
                                examples=300, dtype="float32")},
}


# --- parts (each runs in a fresh process) ------------------------------------------------------------------
def part_env(size):
    import jax

    versions = {}
    for pkg in ("jax", "jaxlib", "flax", "optax", "numpy", "torch"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    devices = jax.devices()
    return {"python": platform.python_version(), "versions": versions, "backend": jax.default_backend(),
            "device_kind": devices[0].device_kind, "device_count": len(devices),
            "process_count": jax.process_count()}


def part_engine(size):
    import jax

    jax.config.update("jax_enable_x64", True)
    from collapse import LinearRegression, Loop, LoopConfig

    s = size["engine"]
    cfg = LoopConfig(mode="replace", generations=s["generations"], replicates=s["replicates"], seed=0)
    loop = Loop(LinearRegression(d=10, T=40), cfg)
    t0 = time.perf_counter()
    first = loop.run().metrics["E_test"]
    t1 = time.perf_counter()
    again = loop.run().metrics["E_test"]
    t2 = time.perf_counter()
    work = cfg.replicates * cfg.generations
    return {"replicates": cfg.replicates, "generations": cfg.generations, "first_call_s": t1 - t0,
            "warm_s": t2 - t1, "replicate_generations_per_s": work / (t2 - t1),
            "repeatable": bool((first == again).all()), "E_test_final_mean": float(again[-1].mean())}


def _lm_setup(s):
    import jax
    import jax.numpy as jnp
    import numpy as np

    from collapse.lm import model as lm
    from collapse.lm.train import TrainConfig, init_state

    cfg = lm.lm_config(width=s["width"], depth=s["depth"], heads=s["heads"], context=s["context"], dtype=s["dtype"])
    tc = TrainConfig(steps=s["steps"], batch=s["batch"], warmup=1)
    data = jnp.asarray(np.random.default_rng(0).integers(0, 256, (512, cfg.context)), jnp.int32)
    return cfg, tc, data, jnp.ones(data.shape[0]), init_state(cfg, tc, jax.random.key(0))


def _peak(dtype_name):
    import jax.numpy as jnp

    from benchmarks.lm_throughput import peak_flops

    return peak_flops(jnp.bfloat16 if dtype_name == "bfloat16" else jnp.float32)


def part_lm(size):
    import jax

    from benchmarks.lm_throughput import flops_per_token
    from benchmarks.timing import best_of
    from collapse.lm import model as lm
    from collapse.lm.train import train_steps
    from collapse.nn import count_params

    s = size["lm"]
    cfg, tc, data, weights, state = _lm_setup(s)
    run = jax.jit(lambda st, k: train_steps(cfg, tc, st, data, weights, k, tc.steps))
    out = jax.block_until_ready(run(state, jax.random.key(1)))
    losses = jax.device_get(out[1])
    t = best_of(lambda: jax.block_until_ready(run(state, jax.random.key(1))), repeats=3)
    n = count_params(lm.model(cfg, state.params))
    fpt = flops_per_token(cfg, n)
    tps = tc.steps * tc.batch * cfg.context / t
    peak, note = _peak(cfg.dtype)
    return {"params": n, "config": s, "flops_per_token": fpt, "tokens_per_s": tps, "step_s": t / tc.steps,
            "mfu": tps * fpt / peak, "peak_flops": peak, "peak_note": note,
            "loss_finite": bool(all(map(lambda v: v == v, losses.tolist())))}


def part_lm_replicates(size):
    import jax
    import jax.numpy as jnp

    from benchmarks.lm_throughput import flops_per_token
    from benchmarks.timing import best_of
    from collapse.lm import model as lm
    from collapse.lm.train import init_state, train_steps
    from collapse.nn import count_params
    from collapse.sharding import padded_count, replicate_sharding

    s = size["lm_replicates"]
    cfg, tc, data, weights, _ = _lm_setup(s)
    sharding = replicate_sharding()
    R = padded_count(s["replicates"], sharding)
    keys = jax.device_put(jax.random.split(jax.random.key(0), R), sharding)
    states = jax.jit(jax.vmap(lambda k: init_state(cfg, tc, k)), out_shardings=sharding)(keys)
    run = jax.jit(jax.vmap(lambda st, k: train_steps(cfg, tc, st, data, weights, k, tc.steps)),
                  out_shardings=sharding)
    losses = jax.device_get(jax.block_until_ready(run(states, keys))[1])
    t = best_of(lambda: jax.block_until_ready(run(states, keys)), repeats=3)
    n = count_params(lm.model(cfg, jax.tree.map(lambda a: a[0], states.params)))
    fpt = flops_per_token(cfg, n)
    tps = R * tc.steps * tc.batch * cfg.context / t
    peak, note = _peak(cfg.dtype)
    return {"replicates": R, "params_each": n, "config": s, "tokens_per_s": tps, "mfu": tps * fpt / peak,
            "peak_note": note, "loss_finite": bool(jnp.isfinite(jnp.asarray(losses)).all())}


def _seq2seq_run(cfg, src, tgt, s):
    import jax
    import numpy as np

    from collapse.nn import seq2seq

    graphdef, params = seq2seq.init_model(cfg, 0)
    tc = seq2seq.train_config(steps=s["steps"], batch=s["batch"], lr=s["lr"])
    t0 = time.perf_counter()
    _, losses = seq2seq.train(graphdef, params, src, tgt, tc, jax.random.key(0), chunk=max(1, s["steps"] // 3))
    wall = time.perf_counter() - t0
    tenth = max(1, len(losses) // 10)
    first, last = float(np.mean(losses[:tenth])), float(np.mean(losses[-tenth:]))
    ok = bool(np.all(np.isfinite(losses)) and last < first)
    return {"config": s, "steps": len(losses), "wall_s_with_compile": wall, "loss_first_tenth": first,
            "loss_last_tenth": last, "no_nan": bool(np.all(np.isfinite(losses))), "loss_falls": last < first,
            "ok": ok}


def part_eigen(size):
    import numpy as np

    from collapse.nn.seq2seq import Seq2SeqConfig
    from collapse.tasks.eigen import EigenTask

    s = size["eigen"]
    task = EigenTask(n=s["n"])
    A, lam = task.sample(np.random.default_rng(0), s["examples"])
    cfg = Seq2SeqConfig(vocab_size=task.vocab_size, src_len=task.src_len, tgt_len=task.tgt_len, width=s["width"],
                        heads=s["heads"], enc_depth=s["enc_depth"], dec_depth=s["dec_depth"], dtype=s["dtype"])
    return _seq2seq_run(cfg, task.src_tokens(A), task.tgt_tokens(lam), s)


def part_summarize(size):
    from collapse.nn.seq2seq import Seq2SeqConfig
    from collapse.tasks.summarize import SUMMARY_LEN, SummarizeTask, WordTokenizer

    s = size["summarize"]
    task = SummarizeTask()
    tok = WordTokenizer(task)
    ex = task.examples(s["examples"], seed=0)
    cfg = Seq2SeqConfig(vocab_size=tok.vocab_size, src_len=tok.src_len, tgt_len=SUMMARY_LEN, width=s["width"],
                        heads=s["heads"], enc_depth=s["enc_depth"], dec_depth=s["dec_depth"], dtype=s["dtype"])
    return _seq2seq_run(cfg, tok.encode_documents([e.document for e in ex]),
                        tok.encode_summaries([e.summary for e in ex]), s)


def part_torch(size):
    try:
        import torch
    except ImportError:
        return {"skipped": "torch is not importable"}
    from benchmarks.lm_throughput import torch_numbers
    from collapse.lm import model as lm

    s = size["lm"]
    cfg = lm.lm_config(width=s["width"], depth=s["depth"], heads=s["heads"], context=s["context"], dtype=s["dtype"])
    train_tps, _, n, threads = torch_numbers(cfg, {"steps": s["steps"], "batch": s["batch"], "sample_batch": 1},
                                             threads=None if torch.cuda.is_available() else 1)
    return {"tokens_per_s": train_tps, "params": n, "device": "cuda" if torch.cuda.is_available() else "cpu",
            "torch": torch.__version__}


# --- driver ------------------------------------------------------------------------------------------------
def run_part(name: str, smoke: bool, timeout: float) -> dict:
    """One part in a fresh Python process, killed after ``timeout`` seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "part.json")
        cmd = [sys.executable, "-m", "benchmarks.accelerator_check", "--run-part", name, "--part-out", out]
        cmd += ["--smoke"] if smoke else []
        t0 = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return {"status": "timed out", "budget_s": timeout}
        wall = time.perf_counter() - t0
        if proc.returncode != 0 or not os.path.exists(out):
            return {"status": "failed", "wall_s": wall, "stderr_tail": proc.stderr[-1500:]}
        with open(out) as f:
            return {"status": "ok", "wall_s": wall, **json.load(f)}


def summarize_results(parts: dict) -> dict:
    verdicts = {}
    lm, tt = parts.get("lm", {}), parts.get("torch", {})
    if "mfu" in lm:
        verdicts["mfu_25m_at_least_35pct"] = lm["mfu"] >= 0.35
    if "tokens_per_s" in lm and "tokens_per_s" in tt:
        verdicts["jax_over_torch"] = lm["tokens_per_s"] / tt["tokens_per_s"]
        verdicts["jax_at_least_1.2x_torch"] = verdicts["jax_over_torch"] >= 1.2
    for name in ("eigen", "summarize"):
        if "ok" in parts.get(name, {}):
            verdicts[f"{name}_loss_falls_no_nan"] = parts[name]["ok"]
    return verdicts


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="every part tiny (runs on a CPU in about a minute)")
    p.add_argument("--out", default="accelerator_check.json", help="JSON summary path")
    p.add_argument("--parts", default=",".join(PARTS), help="comma-separated subset of " + ", ".join(PARTS))
    p.add_argument("--total", type=float, default=470.0, help="hard limit for the whole check in seconds")
    p.add_argument("--run-part", choices=PARTS, help=argparse.SUPPRESS)
    p.add_argument("--part-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    size = SIZES["smoke" if args.smoke else "full"]
    if args.run_part:  # inside the subprocess of one part
        result = globals()[f"part_{args.run_part}"](size)
        with open(args.part_out, "w") as f:
            json.dump(result, f)
        return 0
    names = [n.strip() for n in args.parts.split(",") if n.strip()]
    unknown = sorted(set(names) - set(PARTS))
    if unknown:
        p.error(f"unknown parts {unknown}; choose from {', '.join(PARTS)}")
    start, parts = time.perf_counter(), {}
    for name in names:
        left = args.total - (time.perf_counter() - start)
        budget = min(SMOKE_BUDGET_S if args.smoke else BUDGET_S[name], left)
        if budget < 5:
            parts[name] = {"status": "skipped", "why": "the total time budget is spent"}
            continue
        parts[name] = run_part(name, args.smoke, budget)
        print(f"{name}: {json.dumps(parts[name])[:400]}", flush=True)
    summary = {"smoke": args.smoke, "total_s": time.perf_counter() - start, "parts": parts,
               "verdicts": {} if args.smoke else summarize_results(parts)}  # tiny sizes say nothing of targets
    with open(args.out, "w") as f:
        json.dump(summary, f, indent=1)
    print(f"verdicts: {json.dumps(summary['verdicts'])}\nwritten: {args.out}")
    return 0 if all(v.get("status") in ("ok", "skipped") for v in parts.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
