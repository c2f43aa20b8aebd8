"""Run the categorical / zipf presets, check them against theory and write figures/<preset>.png.

    PYTHONPATH=. python -m experiments.categorical.make_figures [preset ...]

A stand-in for the CLI's --preset until the catalog wires experiments/categorical/study.py in.
"""

import importlib
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import jax

from collapse import LoopConfig, run_loop
from experiments.categorical.study import PRESETS, SPECS
from theory import check
from theory.curves import TheoryUnavailable


def run_preset(preset):
    specs = {s.name: s for s in SPECS}
    outcomes = []
    for member in preset.runs:
        spec = specs[member.model]
        family, cfg = spec.family_cls(**member.family), LoopConfig(**member.loop)
        start = time.perf_counter()
        metrics = run_loop(family, cfg)
        try:
            curves = spec.theory(family, cfg)
        except TheoryUnavailable as why:
            curves = []
            print(f"  {member.label}: no theory ({why})")
        checks = [check(metrics[c.metric], c) for c in curves]
        print(f"  {member.label}: {time.perf_counter() - start:.1f} s")
        for c in checks:
            print("    " + c.summary())
        outcomes.append((member.label, SimpleNamespace(spec=spec, family=family, cfg=cfg, metrics=metrics,
                                                       curves=curves, checks=checks)))
    return outcomes


def main(names):
    jax.config.update("jax_enable_x64", True)
    Path("figures").mkdir(exist_ok=True)
    for preset in PRESETS:
        if names and preset.name not in names:
            continue
        print(preset.name)
        start = time.perf_counter()
        outcomes = run_preset(preset)
        module, func = preset.figure.split(":")
        png = getattr(importlib.import_module(module), func)(outcomes)
        Path(f"figures/{preset.name}.png").write_bytes(png)
        print(f"  total {time.perf_counter() - start:.1f} s -> figures/{preset.name}.png")


if __name__ == "__main__":
    main(sys.argv[1:])
