"""Run a self-consuming loop from the command line, check it against theory, write results and a figure.

    python -m experiments.gen_loop                      # small default: linear, replace, with theory
    python -m experiments.gen_loop --model linear --mode accumulate --d 10 --T 40 --generations 5 \\
        --replicates 2000 --seed 0 --out runs/acc

Bad input prints one line naming the parameter and exits with status 2. Rerunning the same command on
the same --out resumes an interrupted run (or reports a finished one).
"""

import argparse
import dataclasses
import importlib
import json
import sys
import time
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from collapse.config import EDIT_SCHEDULES, MODES, LoopConfig
from collapse.engine import Loop, chunk_for_progress
from collapse.errors import ConfigError
from experiments import drivers
from experiments.drivers import driver_for
from experiments.plotting import figure_bytes
from experiments.presets import PRESETS
from experiments.registry import MODELS, field_type
from experiments.results import (
    RunDir,
    atomic_write_bytes,
    atomic_write_text,
    check_writable,
    config_hash,
    environment_record,
)
from theory.check import check, mean_se
from theory.curves import TheoryUnavailable

# Theory checks need float64 (papers.md §5); set before any array is created.
jax.config.update("jax_enable_x64", True)

LOOP_HELP = {
    "mode": "data policy: " + ", ".join(MODES),
    "generations": "number of generations G (generation 1 trains on real data)",
    "replicates": "independent replicates (vmapped, sharded over devices)",
    "seed": "random seed; same config + seed = same numbers on the same backend",
    "mix_ratio": "mix mode: synthetic samples per real sample λ",
    "real_weight": "fresh mode: weight w of the new real sample (synthetic gets 1 − w)",
    "budget": "accumulate-subsample: samples drawn from the pool each generation (default: T)",
    "edit_schedule": "edit mode: which labels each generation edits — disjoint (f·T never-edited labels), "
                     "geometric (disjoint, f·T·η^(n−2)), iid (each label w.p. f, overlapping), confidence (the f·T "
                     "labels the current model fits best), explicit (--edit-masks)",
    "edit_fraction": "edit mode: edit fraction f in [0, 1]",
    "edit_eta": "edit mode, geometric schedule: shrink ratio η in (0, 1]",
    "edit_masks": "edit mode, explicit schedule: .npy or .json file of G−1 rows × T zeros/ones (row j forms "
                  "generation j+2)",
}
DEFAULTS = {"generations": 10, "replicates": 2000}  # the small default run


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        print(f"gen_loop: error: {message}", file=sys.stderr)
        sys.exit(2)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _with_default(text: str, default) -> str:
    """Append the default unless the text already states it or there is none."""
    return text if default is None or "default" in text else f"{text} (default: {default})"


def build_parser() -> Parser:
    p = Parser(prog="python -m experiments.gen_loop", description=__doc__.split("\n\n")[0],
               formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", choices=sorted(MODELS), default="linear", help="model family (default: linear)")
    p.add_argument("--preset", choices=sorted(PRESETS), help="run a named set of configs that reproduces a "
                   "published figure: " + "; ".join(f"{k}: {v.description}" for k, v in sorted(PRESETS.items())))
    p.add_argument("--config", type=Path, help="JSON file of settings (keys: any flag name, with _); "
                   "flags given on the command line override it")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<model>-<mode>-<config hash>)")
    p.add_argument("--overwrite", action="store_true", help="replace a different run already in --out")
    p.add_argument("--no-theory", action="store_true", help="simulate without checking a closed form")
    p.add_argument("--z-tol", type=float, default=4.0, help="agreement tolerance in standard errors (default: 4)")
    p.add_argument("--checkpoint-every", type=float, default=10.0,
                   help="seconds between checkpoints (an interrupted run resumes from the last one; default: 10)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    loop = p.add_argument_group("loop")
    for f in dataclasses.fields(LoopConfig):
        kw = {"choices": MODES} if f.name == "mode" else {"type": field_type(LoopConfig, f.name)}
        if f.name == "edit_schedule":
            kw = {"choices": EDIT_SCHEDULES}
        if f.name == "edit_masks":
            kw = {"type": Path}
        default = DEFAULTS.get(f.name, f.default)
        loop.add_argument(_flag(f.name), dest=f.name, default=None, help=_with_default(LOOP_HELP[f.name], default),
                          **kw)
    defaults = {}  # field -> {model: default}, so a flag shared by families shows each one's default
    for spec in MODELS.values():
        for f in spec.fields():
            defaults.setdefault(f.name, {})[spec.name] = spec.defaults.get(f.name, f.default)
    seen = set()
    for spec in MODELS.values():
        group = p.add_argument_group(f"model {spec.name}")
        for f in spec.fields():
            if f.name in seen:
                continue
            seen.add(f.name)
            kw = {"choices": spec.choices[f.name]} if f.name in spec.choices else \
                {"type": field_type(spec.family_cls, f.name)}
            per_model = defaults[f.name]
            shown = next(iter(per_model.values())) if len(per_model) == 1 else \
                ", ".join(f"{m} {v}" for m, v in per_model.items())
            shown = None if all(v is None for v in per_model.values()) else shown
            group.add_argument(_flag(f.name), dest=f.name, default=None,
                               help=_with_default(spec.field_help[f.name], shown), **kw)
    return p


def resolve(args) -> tuple:
    """(spec, family, loop config) from flags over the config file over defaults. Raises ConfigError."""
    settings = {}
    if args.config is not None:
        try:
            settings = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError("config", str(args.config), f"a readable JSON file ({err})") from None
        if not isinstance(settings, dict):
            raise ConfigError("config", str(args.config), "a JSON object")
    settings.update({k: v for k, v in vars(args).items() if v is not None})
    model = settings.get("model", "linear")
    if model not in MODELS:
        raise ConfigError("model", model, f"one of {', '.join(sorted(MODELS))}")
    spec = MODELS[model]
    fam_fields = {f.name for f in spec.fields()}
    loop_fields = {f.name for f in dataclasses.fields(LoopConfig)}
    known = fam_fields | loop_fields | {"model", "preset", "config", "out", "overwrite", "no_theory", "z_tol",
                                        "checkpoint_every", "quiet"}
    for key in settings:
        if key not in known:
            raise ConfigError("config", key, f"a known setting for model {model}")
    if "edit_masks" in settings:
        settings["edit_masks"] = load_masks(settings["edit_masks"])
    fam_kw = {**spec.defaults, **{k: settings[k] for k in fam_fields if k in settings}}
    loop_kw = {**DEFAULTS, **spec.loop_defaults, **{k: settings[k] for k in loop_fields if k in settings}}
    try:
        family = spec.family_cls(**fam_kw)
        cfg = LoopConfig(**loop_kw)
    except TypeError as err:
        raise ConfigError("config", str(err), "settings of the right type") from None
    return spec, family, cfg


def load_masks(path) -> tuple:
    """Edit masks from a .npy or .json file, as a tuple of rows (validated by LoopConfig)."""
    path = Path(path)
    try:
        data = np.load(path) if path.suffix == ".npy" else np.asarray(json.loads(path.read_text()), float)
    except (OSError, ValueError) as err:
        raise ConfigError("edit_masks", str(path), f"a readable .npy or .json file of zeros and ones ({err})") from None
    if data.ndim != 2:
        raise ConfigError("edit_masks", f"an array of shape {data.shape}", "a 2-D array (G−1 rows × T)")
    return tuple(tuple(row.tolist()) for row in data)


def theory_for(spec, family, cfg, enabled: bool):
    """(curves, note): every theory curve and bound that applies, each tagged with its metric."""
    if not enabled or spec.theory is None:
        return [], "theory check off"
    try:
        found = spec.theory(family, cfg)
    except TheoryUnavailable as why:
        curves, note = [], f"no closed form for this config: {why}"
    else:
        curves = list(found) if isinstance(found, list | tuple) else [found]
        note = "theory: " + "; ".join(f"{c.name} [{c.source}]" for c in curves)
    curves += spec.bounds(family, cfg) if spec.bounds else []
    return [c if c.metric else dataclasses.replace(c, metric=spec.main_metric) for c in curves], note


def summary_rows(metrics, curves, z_tol):
    """results.jsonl rows and one CheckResult per curve."""
    checks = [check(metrics[c.metric], c, z_tol) for c in curves]
    rows = []
    for name, samples in metrics.items():
        mean, se = mean_se(samples)
        q05, median, q95 = (np.quantile(samples, q, axis=1) for q in (0.05, 0.5, 0.95))
        equal = [(c, r) for c, r in zip(curves, checks, strict=True) if c.metric == name and c.kind == "equality"]
        bounds = [(c, r) for c, r in zip(curves, checks, strict=True) if c.metric == name and c.kind != "equality"]
        for g in range(samples.shape[0]):
            row = {"generation": g + 1, "metric": name, "mean": mean[g], "se": se[g], "median": median[g],
                   "q05": q05[g], "q95": q95[g], "theory": None, "theory_se": None, "z": None,
                   "agree": None, "theory_name": None}
            if equal:
                c, r = equal[0]
                row.update(theory=float(c.values[g]), z=float(r.z[g]), agree=bool(r.ok[g]), theory_name=c.name,
                           theory_se=None if c.se is None else float(c.se[g]))
            if bounds:
                row["bounds"] = {c.name: {"value": float(c.values[g]), "holds": bool(r.ok[g])} for c, r in bounds}
            rows.append(row)
    return [{k: _finite_or_none(v) for k, v in row.items()} for row in rows], checks


def _finite_or_none(v):
    """NaN (no claim at this generation) is written as JSON null: NaN is not valid JSON."""
    return None if isinstance(v, float | np.floating) and not np.isfinite(v) else v


def _main_curve(curves, metric):
    return next((c for c in curves if c.metric == metric and c.kind == "equality"), None)


def report(spec, family, cfg, metrics, curves, checks, note):
    metric = spec.main_metric
    mean, se = mean_se(metrics[metric])
    curve = _main_curve(curves, metric)
    result = next((r for c, r in zip(curves, checks, strict=True) if c is curve), None)
    fam = ", ".join(f"{f.name}={getattr(family, f.name)}" for f in spec.fields())
    print(f"{spec.name} / {cfg.mode}: {fam}")
    print(f"{cfg.replicates} replicates × {cfg.generations} generations, seed {cfg.seed}; {note}")
    print(f"{'gen':>4} {metric + ' mean':>14} {'± SE':>9} {'theory':>10} {'z':>7}")
    for g in range(len(mean)):
        th = f"{curve.values[g]:10.4f}" if curve is not None else f"{'—':>10}"
        z = f"{result.z[g]:+7.2f} {'ok' if result.ok[g] else 'OFF'}" if result is not None else ""
        print(f"{g + 1:>4} {mean[g]:14.4f} {se[g]:9.4f} {th} {z}")
    for c, r in zip(curves, checks, strict=True):
        print(("verdict: " if c.kind == "equality" else "bound:   ") + f"[{c.metric}] " + verdict(r))


def verdict(r) -> str:
    if r.curve.kind == "equality":
        return r.summary()
    word = "respects" if r.agree else "VIOLATES"
    return (f"{r.curve.name}: simulation {word} the bound (worst z = {r.z.max():+.2f}; tolerance "
            f"{r.z_tol:g} SE) [{r.curve.source}]")


@dataclasses.dataclass
class Outcome:
    """One finished run: what was simulated, the theory it was checked against, and where it went."""

    spec: object
    family: object
    cfg: LoopConfig
    metrics: dict
    curves: list
    checks: list
    note: str
    run_dir: RunDir


def run_one(spec, family, cfg, out, args) -> Outcome:
    """Simulate (or resume, or reload) one config into ``out`` and check it against its theory."""
    curves, note = theory_for(spec, family, cfg, not args.no_theory)
    record = {"model": spec.name, "family": dataclasses.asdict(family), "loop": dataclasses.asdict(cfg)}
    out = out or Path("runs") / f"{spec.name}-{cfg.mode}-{config_hash(record)}"
    check_writable(out)
    run_dir = RunDir(out, record)
    if args.overwrite:
        run_dir.clear()
    status = run_dir.status()
    if status == "complete":
        with np.load(run_dir.path("samples.npz")) as z:
            metrics = {k: z[k] for k in z.files}
        print(f"already complete in {out}; reporting the saved results (use --overwrite to recompute)")
    else:
        metrics = _simulate(spec, family, cfg, run_dir, status, args)
    rows, checks = summary_rows(metrics, curves, args.z_tol)
    outcome = Outcome(spec, family, cfg, metrics, curves, checks, note, run_dir)
    if status != "complete":
        run_dir.finish(rows, metrics)
        title = f"{spec.name}, {cfg.mode}: " + ", ".join(
            f"{k}={v}" for k, v in dataclasses.asdict(family).items() if k in ("d", "T", "sigma", "design"))
        figure = figure_bytes([_series(outcome, f"simulation ({cfg.mode})")], title, spec.metric_label)
        atomic_write_bytes(run_dir.path("figure.png"), figure)
    return outcome


def _series(o: Outcome, label: str) -> dict:
    metric = o.spec.main_metric
    mean, se = mean_se(o.metrics[metric])
    bounds = [c for c in o.curves if c.metric == metric and c.kind != "equality"]
    return {"mean": mean, "se": se, "label": label, "theory": _main_curve(o.curves, metric), "bounds": bounds}


def run(args) -> int:
    if args.preset:
        return run_preset(args)
    demo = MODELS[args.model].demo_preset if args.model in MODELS else None
    if demo and args.config is None and not _settings_given(args):
        print(f"--model {args.model} with no other setting: running its demo, --preset {demo}", file=sys.stderr)
        args.preset = demo
        return run_preset(args)
    spec, family, cfg = resolve(args)
    o = run_one(spec, family, cfg, args.out, args)
    report(spec, family, cfg, o.metrics, o.curves, o.checks, o.note)
    print(f"results: {o.run_dir.path('results.jsonl')}  (config: {o.run_dir.path('config.json')}, "
          f"per-replicate values: {o.run_dir.path('samples.npz')})")
    print(f"figure:  {o.run_dir.path('figure.png')}")
    return 0


def _settings_given(args) -> bool:
    """Whether any loop or family setting was given on the command line."""
    names = {f.name for f in dataclasses.fields(LoopConfig)} | {f.name for spec in MODELS.values()
                                                                   for f in spec.fields()}
    return any(getattr(args, n, None) is not None for n in names)


def run_preset(args) -> int:
    preset = PRESETS[args.preset]
    overrides = {k: getattr(args, k) for k in ("replicates", "generations", "seed") if getattr(args, k) is not None}
    members = []
    for r in preset.runs:
        spec = MODELS[r.model]
        members.append((r.label, spec, spec.family_cls(**r.family), LoopConfig(**{**r.loop, **overrides})))
    for _, spec, family, cfg in members:  # every member's inputs are valid before anything is written
        theory_for(spec, family, cfg, not args.no_theory)
    out = args.out or Path("runs") / f"preset-{preset.name}"
    figures = Path("figures")
    check_writable(figures)
    outcomes = []
    for (label, spec, family, cfg), r in zip(members, preset.runs, strict=True):
        folder = out / "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{r.panel}-{label}".strip("-"))
        outcomes.append((label, run_one(spec, family, cfg, folder, args)))
    print(f"preset {preset.name}: {preset.description}")
    for label, o in outcomes:
        mean, se = mean_se(o.metrics[o.spec.main_metric])
        print(f"- {label}: final {o.spec.main_metric} = {mean[-1]:.4g} ± {se[-1]:.2g}"
              + ("" if o.checks else f"; {o.note}"))
        for r in o.checks:
            print(f"    [{r.curve.metric}] {verdict(r)}")
    spec0 = outcomes[0][1].spec
    series = [{**_series(o, label), "panel": r.panel} for (label, o), r in zip(outcomes, preset.runs, strict=True)]
    if preset.figure:  # a preset-specific figure (other metrics, bands, another x-axis)
        module, func = preset.figure.split(":")
        png = getattr(importlib.import_module(module), func)(outcomes)
    else:
        png = figure_bytes(series, preset.name, spec0.metric_label, preset.log_y)
    atomic_write_bytes(out / "figure.png", png)
    atomic_write_bytes(figures / f"{preset.name}.png", png)
    if preset.report:
        module, func = preset.report.split(":")
        table = getattr(importlib.import_module(module), func)(
            [(f"{r.panel}: {label}" if r.panel else label, o) for (label, o), r in zip(outcomes, preset.runs,
                                                                                      strict=True)])
        atomic_write_text(out / "table.md", table)
        atomic_write_text(figures / f"{preset.name}.md", table)
        print(table)
        print(f"table:   {out / 'table.md'} and {figures / (preset.name + '.md')}")
    print(f"runs:    {out}/<member>/results.jsonl")
    print(f"figure:  {out / 'figure.png'} and {figures / (preset.name + '.png')}")
    return 0


def _simulate(spec, family, cfg, run_dir, status, args):
    resume = run_dir.load_checkpoint() if status == "resume" else None
    run_dir.write_config(environment_record())
    loop = Loop(family, cfg)
    start = resume.generation if resume else 0
    if resume:
        print(f"resuming {run_dir.out} from generation {resume.generation}", file=sys.stderr)
    bar = tqdm(total=cfg.generations, initial=start, unit="gen", disable=args.quiet, file=sys.stderr,
               desc=f"{spec.name}/{cfg.mode}", mininterval=0.5)
    last_save = time.monotonic()

    tokens = getattr(family, "tokens_per_generation", None)  # families that train on tokens report tokens/s
    last_tick = [time.monotonic(), start]

    def on_chunk(state):
        nonlocal last_save
        if tokens is not None and state.generation > last_tick[1]:
            now = time.monotonic()
            rate = tokens() * cfg.replicates * (state.generation - last_tick[1]) / (now - last_tick[0])
            bar.set_postfix_str(f"{rate:,.0f} train tokens/s (incl. sampling, scoring, compile)")
            last_tick[:] = [now, state.generation]
        bar.update(state.generation - bar.n)
        if state.generation < cfg.generations and time.monotonic() - last_save >= args.checkpoint_every:
            run_dir.save_checkpoint(state)
            last_save = time.monotonic()

    chunk = chunk_for_progress(cfg.generations)
    try:
        state = loop.run(chunk=chunk, resume=resume, on_chunk=on_chunk)
    finally:
        bar.close()
    return state.metrics


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    driver = driver_for(argv)  # transformer models and their presets run through experiments/drivers.py
    args = None if driver else build_parser().parse_args(argv)
    try:
        return drivers.main(driver[0], argv) if driver else run(args)
    except ConfigError as err:
        print(f"gen_loop: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gen_loop: interrupted; rerun the same command to resume from the last checkpoint",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
