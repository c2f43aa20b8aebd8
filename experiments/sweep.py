"""Sweeps: one engine study over a grid of values, into one folder, one table and one figure with theory overlaid.

    python -m experiments.gen_loop --model linear --sweep T=20,40,80,160 --sweep mode=replace,accumulate

Each grid point is an ordinary run (its own resumable folder under the sweep's); the values are parsed and checked
like the flags they name. A point compiles its own program when its shapes (or its family's settings, which are
static arguments of the compiled loop) differ from an earlier point's; JAX's persistent compilation cache makes a
rerun skip compiling, and every run reports its compile time separately.
"""

import dataclasses
import itertools
from pathlib import Path

from collapse.config import LoopConfig
from collapse.errors import ConfigError
from experiments import catalog, run_engine
from experiments.fields import field_type
from experiments.results import config_hash


def parse(study: catalog.Study, items) -> dict[str, tuple]:
    """``["T=20,40", "mode=replace,accumulate"]`` → {"T": (20, 40), "mode": ("replace", "accumulate")}."""
    if study.runner != "engine":
        raise ConfigError("sweep", items[0], f"used with an engine study (study {study.name} runs per seed; vary "
                          "its settings in separate runs)")
    fields = {f.name: study.config_cls for f in study.fields()}
    fields.update({f.name: LoopConfig for f in dataclasses.fields(LoopConfig) if f.name != "edit_masks"})
    out = {}
    for item in items:
        name, sep, text = str(item).partition("=")
        name = name.strip().lstrip("-").replace("-", "_")
        if not sep or not text.strip():
            raise ConfigError("sweep", item, "NAME=v1,v2,… (e.g. T=20,40,80)")
        if name not in fields:
            raise ConfigError("sweep", name, f"a setting of study {study.name} or of the loop")
        parse_one = field_type(fields[name], name)
        if getattr(parse_one, "__name__", "").endswith("list"):
            raise ConfigError("sweep", name, "a scalar setting (a list-valued one cannot be swept by commas)")
        try:
            values = tuple(parse_one(v.strip()) for v in text.split(","))
        except ValueError as err:
            raise ConfigError("sweep", item, f"values of {name}'s type ({err})") from None
        if name in out:
            raise ConfigError("sweep", name, "named once")
        out[name] = values
    return out


def members(values: dict[str, tuple]) -> tuple[catalog.PresetRun, ...]:
    """One member per grid point, labelled by its values."""
    names = list(values)
    return tuple(catalog.PresetRun(", ".join(f"{n}={v}" for n, v in zip(names, point, strict=True)),
                                   dict(zip(names, point, strict=True)))
                 for point in itertools.product(*(values[n] for n in names)))


def as_preset(study: catalog.Study, values: dict[str, tuple], settings: dict) -> catalog.Preset:
    """The sweep as an unnamed preset of its study (its folder name hashes the settings and the grid)."""
    tag = config_hash({"study": study.name, "settings": settings, "sweep": values})
    name = f"sweep-{study.name}-" + "-".join(values) + f"-{tag}"
    return catalog.Preset(name, study.name, "sweep over " + "; ".join(f"{k} = {', '.join(map(str, v))}" for k, v in
                                                                  values.items()), "", {}, members(values))


def sweep(study_name: str, values: dict, settings: dict | None = None, out=None, quiet: bool = True):
    """Run ``study_name`` at every point of the grid ``values`` ({name: [v, …]}) over ``settings``; returns the
    finished runs (:class:`experiments.catalog.Member`: metrics, theory curves, checks, compile time), each
    written into ``out/<point>/`` (default ``runs/<sweep name>/``) and resumable like any run."""
    from experiments.gen_loop import engine_runs

    study = catalog.study(study_name)
    items = [f"{k}={','.join(map(str, v))}" for k, v in values.items()]
    parsed = parse(study, items)
    settings = dict(settings or {})
    preset = as_preset(study, parsed, settings)
    runs = engine_runs(study, [(m.label, m.panel, {**settings, **m.settings}) for m in preset.members])
    opts = run_engine.Options(out=Path(out) if out else None, quiet=quiet)
    return run_engine.run_members(study, runs, preset, opts)
