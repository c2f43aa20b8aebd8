"""Experiments whose loop is a *driver* rather than the vmapped engine: train a model, let it produce data,
select, train the next model — one seed at a time (transformers: a replicate is a whole training run, so
replicates are seeds, not a vmapped axis).

A driver registers a :class:`DriverSpec`: a frozen dataclass of settings (each field a ``--flag``), a function
``run(config, seed, progress) -> dict`` (JSON-able) and a function ``report(config, per_seed) -> (markdown, png)``.
``python -m experiments.gen_loop --model NAME [flags] [--seeds S]`` (or ``--preset NAME`` for a driver preset)
then runs seeds ``seed, seed+1, …``, writes each seed's result atomically to ``--out/seed-<s>.json`` as soon as it
is done — so an interrupted run resumes at the first missing seed and nothing finished is lost — and finally
``report.md`` and ``figure.png`` (a preset also copies them to figures/).
"""

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from collapse.errors import ConfigError
from experiments.registry import field_type
from experiments.results import RunDir, atomic_write_bytes, atomic_write_text, check_writable, environment_record


@dataclass(frozen=True)
class DriverSpec:
    """name: ``--model`` value. config_cls: frozen dataclass (fields but ``name`` are flags). run(config, seed,
    progress) -> a JSON-able dict or dataclass (written as a dict). report(config, [dict per seed]) -> (markdown
    text, PNG bytes). field_help: a help line per field. presets: named {field: value} overrides, each runnable as
    ``--preset NAME`` (figures/NAME.png)."""

    name: str
    config_cls: type
    run: Callable
    report: Callable
    field_help: dict[str, str]
    choices: dict[str, tuple] = field(default_factory=dict)
    presets: dict[str, tuple[str, dict]] = field(default_factory=dict)  # name -> (description, overrides)
    default_seeds: int = 1

    def fields(self):
        return [f for f in dataclasses.fields(self.config_cls) if f.name != "name"]


def _drivers() -> dict[str, DriverSpec]:
    from experiments.driver_registry import DRIVERS

    return DRIVERS


def driver_for(argv) -> tuple[DriverSpec, str | None] | None:
    """(spec, preset name) when the command line asks for a driver model or preset, else None."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--model")
    pre.add_argument("--preset")
    known, _ = pre.parse_known_args(argv)
    drivers = _drivers()
    if known.preset:
        for spec in drivers.values():
            if known.preset in spec.presets:
                return spec, known.preset
    if known.model in drivers:
        return drivers[known.model], None
    return None


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        print(f"gen_loop: error: {message}", file=sys.stderr)
        sys.exit(2)


def build_parser(spec: DriverSpec) -> argparse.ArgumentParser:
    p = _Parser(prog=f"python -m experiments.gen_loop --model {spec.name}",
                description=(spec.config_cls.__doc__ or "").split("\n")[0])
    p.add_argument("--model", choices=[spec.name], default=spec.name)
    p.add_argument("--preset", choices=sorted(spec.presets),
                   help="; ".join(f"{k}: {d}" for k, (d, _) in sorted(spec.presets.items())) or None)
    p.add_argument("--config", type=Path, help="JSON file of settings (keys: flag names with _); flags override it")
    p.add_argument("--seed", type=int, default=None, help="first seed (default: 0)")
    p.add_argument("--seeds", type=int, default=None, help=f"number of seeds (default: {spec.default_seeds})")
    p.add_argument("--out", type=Path, help=f"output folder (default: runs/{spec.name}-<config hash>)")
    p.add_argument("--overwrite", action="store_true", help="replace a different run already in --out")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    group = p.add_argument_group(f"model {spec.name}")
    for f in spec.fields():
        kw = {"choices": spec.choices[f.name]} if f.name in spec.choices else \
            {"type": field_type(spec.config_cls, f.name)}
        default = f.default if f.default is not dataclasses.MISSING else None
        text = spec.field_help.get(f.name, "")
        group.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None,
                           help=text if default is None else f"{text} (default: {default})", **kw)
    return p


def resolve(spec: DriverSpec, args) -> tuple[object, int, int]:
    """(config, first seed, number of seeds) from preset < config file < flags. Raises ConfigError."""
    settings = dict(spec.presets[args.preset][1]) if args.preset else {}
    if args.config is not None:
        try:
            loaded = json.loads(args.config.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError("config", str(args.config), f"a readable JSON file ({err})") from None
        if not isinstance(loaded, dict):
            raise ConfigError("config", str(args.config), "a JSON object")
        settings.update(loaded)
    settings.update({k: v for k, v in vars(args).items() if v is not None})
    names = {f.name for f in spec.fields()}
    meta = {"model", "preset", "config", "seed", "seeds", "out", "overwrite", "quiet"}
    for key in settings:
        if key not in names | meta:
            raise ConfigError("config", key, f"a known setting for model {spec.name}")
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in settings.items() if k in names}
    try:
        config = spec.config_cls(**kw)
    except TypeError as err:
        raise ConfigError("config", str(err), "settings of the right type") from None
    seeds = settings.get("seeds", spec.default_seeds)
    if not isinstance(seeds, int) or seeds < 1:
        raise ConfigError("seeds", seeds, "an integer >= 1")
    return config, int(settings.get("seed", 0)), seeds


def main(spec: DriverSpec, argv) -> int:
    import jax

    # Transformers train in float32 (bf16 on accelerators); float64 is for the engine's theory checks only.
    # Restored afterwards, so a caller in the same process (the test suite, a notebook) keeps its setting.
    x64 = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", False)
    try:
        return _main(spec, argv)
    finally:
        jax.config.update("jax_enable_x64", x64)


def _main(spec: DriverSpec, argv) -> int:
    args = build_parser(spec).parse_args(argv)
    config, first, seeds = resolve(spec, args)
    record = {"model": spec.name, "config": dataclasses.asdict(config)}
    run_dir = RunDir(args.out or Path("runs") / f"{spec.name}-{RunDir(Path('.'), record).hash}", record)
    check_writable(run_dir.out)
    if args.overwrite:
        for old in run_dir.out.glob("seed-*.json"):
            old.unlink()
        run_dir.clear()
    if run_dir.path("config.json").exists():
        run_dir.status()  # raises if the folder holds another config
    run_dir.write_config(environment_record())
    t0 = time.monotonic()

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"[{time.monotonic() - t0:7.1f} s] {message}", file=sys.stderr, flush=True)

    results = []
    for seed in range(first, first + seeds):
        path = run_dir.path(f"seed-{seed}.json")
        if path.exists():
            progress(f"seed {seed}: already done ({path})")
            results.append(json.loads(path.read_text())["result"])
            continue
        progress(f"seed {seed}: running")
        result = spec.run(config, seed, progress)
        atomic_write_text(path, json.dumps({"seed": seed, "result": result}, indent=1, default=_jsonable) + "\n")
        results.append(json.loads(path.read_text())["result"])
    markdown, png = spec.report(config, results)
    atomic_write_text(run_dir.path("report.md"), markdown)
    atomic_write_bytes(run_dir.path("figure.png"), png)
    print(markdown)
    if args.preset:
        figures = Path("figures")
        check_writable(figures)
        atomic_write_bytes(figures / f"{args.preset}.png", png)
        atomic_write_text(figures / f"{args.preset}.md", markdown)
        print(f"figure:  {figures / (args.preset + '.png')} (table: {figures / (args.preset + '.md')})")
    print(f"results: {run_dir.out}/seed-*.json, {run_dir.path('report.md')}, {run_dir.path('figure.png')}")
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
