"""The per-seed runner, for studies whose replicate is a whole train → sample → select → train run (transformers).

Seeds ``seed, seed + 1, …`` run one after another (float32; bf16 where a config asks for it); each seed's result is
written atomically to ``<out>/seed-<s>.json`` as soon as it is done, so an interrupted run resumes at the first
missing seed and nothing finished is lost; then ``report.md`` and ``figure.png`` (with ``--publish``, a preset's
also go to figures/).
"""

import dataclasses
import json
import sys
import time
from pathlib import Path

import jax

from collapse.errors import Diverged
from experiments.results import RunDir, atomic_write_text, check_writable
from experiments.run_engine import EXIT_NONFINITE, publish


def run(study, config, first: int, seeds: int, preset, opts) -> int:
    record = {"model": study.name, "config": dataclasses.asdict(config)}
    run_dir = RunDir(opts.out or Path("runs") / f"{study.name}-{RunDir(Path('.'), record).hash}", record)
    check_writable(run_dir.out)
    with run_dir.lock():
        return _run_locked(study, config, first, seeds, preset, opts, run_dir)


def _run_locked(study, config, first, seeds, preset, opts, run_dir) -> int:
    if opts.overwrite:
        for old in run_dir.out.glob("seed-*.json"):
            old.unlink()
        run_dir.clear()
    if run_dir.path("config.json").exists():
        run_dir.status()  # raises if the folder holds another config
    run_dir.write_config({"runner": "seeds", "precision": getattr(config, "dtype", "float32"), "first_seed": first,
                          "replicates": seeds})
    t0 = time.monotonic()

    def progress(message: str) -> None:
        if not opts.quiet:
            print(f"[{time.monotonic() - t0:7.1f} s] {message}", file=sys.stderr, flush=True)

    results = []
    # Transformers train in float32 (bf16 on accelerators); float64 is for the engine's theory checks only.
    with jax.enable_x64(False):
        for seed in range(first, first + seeds):
            path = run_dir.path(f"seed-{seed}.json")
            if path.exists():
                progress(f"seed {seed}: already done ({path})")
                results.append(json.loads(path.read_text())["result"])
                continue
            progress(f"seed {seed}: running")
            try:
                result = study.run(config, seed, progress)
            except Diverged as why:  # nothing is written for this seed: a rerun with other settings starts clean
                print(f"gen_loop: error: seed {seed}: {why}", file=sys.stderr)
                return EXIT_NONFINITE
            atomic_write_text(path, json.dumps({"seed": seed, "result": result}, indent=1, default=_jsonable) + "\n")
            results.append(json.loads(path.read_text())["result"])
    markdown, png = study.report(config, results)
    publish(run_dir.out, preset.name if preset else None, markdown, png, bool(preset and opts.publish))
    print(f"results: {run_dir.out}/seed-*.json")
    return 0


def _jsonable(x):
    import numpy as np

    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if dataclasses.is_dataclass(x):
        return dataclasses.asdict(x)
    raise TypeError(f"not JSON serialisable: {type(x)}")
