"""The catalog: every runnable study and every named preset, described once.

A :class:`Study` is one ``--model`` value: a frozen config dataclass (each field but ``name`` is a flag), the
runner that executes it, and its theory or report hooks. Two runners execute studies:

- ``engine``: the vectorized loop (:mod:`collapse.engine`): generations under ``lax.scan``, replicates under
  ``vmap``, float64, checked against the family's theory. The config class is a model family.
- ``seeds``: studies whose unit is a whole train → sample → select → train run (transformers); replicates are
  seeds, run one after another, each seed's result written as soon as it is done. The config class is the
  experiment's settings; ``run(config, seed, progress)`` returns one seed's result.

A :class:`Preset` is a named setting of one study that reproduces a figure. Settings resolve by one rule for
every study and preset: preset < ``--config`` file < command-line flags.

Each study lives in its own folder ``experiments/<study>/study.py``, which defines ``STUDIES`` and ``PRESETS``;
this module collects them.
"""

import dataclasses
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

from collapse.errors import ConfigError

RUNNERS = ("engine", "seeds")
STUDY_MODULES = ("linear", "gaussian", "kde", "categorical", "feedback", "verification", "lm", "eigen", "summarize")


@dataclass(frozen=True)
class Study:
    """One ``--model`` value.

    config_cls: frozen dataclass; every field but ``name`` becomes a flag. Choices come from ``Literal`` types,
    defaults from the dataclass, help lines from ``field_help`` (one per field; the common tests check).
    engine runner: ``main_metric`` (default: the family's) / ``metric_label`` name the metric figures and verdicts
    use; ``theory(config,
    loop) -> TheoryCurve | [TheoryCurve]`` (raises TheoryUnavailable when no closed form applies) and
    ``bounds(config, loop) -> [TheoryCurve]``; ``loop_defaults`` are this study's loop settings where they differ
    from LoopConfig's (e.g. fewer replicates for transformers).
    seeds runner: ``run(config, seed, progress) -> dict | dataclass`` (JSON-able) and ``report(config,
    [result per seed]) -> (markdown, png bytes)``; ``default_replicates`` seeds.
    """

    name: str
    summary: str
    runner: str
    config_cls: type
    field_help: dict[str, str]
    main_metric: str = ""
    metric_label: str = ""
    theory: Callable | None = None
    bounds: Callable | None = None
    loop_defaults: dict = field(default_factory=dict)
    selector_theory: Callable | None = None  # (config, loop, SelectorConfig) -> curves, when a selector filters
    run: Callable | None = None
    report: Callable | None = None
    default_replicates: int = 1

    def __post_init__(self):
        if self.runner not in RUNNERS:
            raise ValueError(f"runner must be one of {RUNNERS}; got {self.runner!r}")
        if self.runner == "engine" and not self.main_metric:  # the family's own
            object.__setattr__(self, "main_metric", getattr(self.config_cls, "main_metric", ""))
        if self.runner == "engine" and not self.main_metric:
            raise ValueError(f"engine study {self.name} needs a main_metric (set it on the family)")
        if self.runner == "seeds" and (self.run is None or self.report is None):
            raise ValueError(f"seeds study {self.name} needs run and report")

    def fields(self) -> list[dataclasses.Field]:
        return [f for f in dataclasses.fields(self.config_cls) if f.name != "name"]


@dataclass(frozen=True)
class PresetRun:
    """One member of a multi-run engine preset: its label, its settings over the preset's, and its subplot."""

    label: str
    settings: dict
    panel: str = ""


@dataclass(frozen=True)
class Preset:
    """A named setting of one study.

    settings: study and loop settings (config fields, loop fields such as ``mode`` / ``generations``, and
    ``replicates`` / ``seed``) — the base of every member. members: for engine presets that draw several runs on
    one figure; empty = one run of ``settings``. cpu_time: measured run time on 2 CPU cores (or why it is not run
    on CPU). report: engine presets only, ``report([(label, Member)]) -> (markdown, png)`` (default: the main
    metric per member against its theory); seeds presets use their study's report.
    """

    name: str
    study: str
    description: str
    cpu_time: str
    settings: dict = field(default_factory=dict)
    members: tuple[PresetRun, ...] = ()
    log_y: bool = False
    report: Callable | None = None


@dataclass
class Member:
    """One finished engine run: what was simulated, the theory it was checked against, and its verdicts.

    metrics: name -> [G, R] per-replicate values. curves: the TheoryCurves checked. checks: one CheckResult each.
    seconds / compile_seconds: wall time of this call and the part of it spent tracing and compiling (0 when the
    run was reloaded from its folder).
    """

    label: str
    panel: str
    study: Study
    family: object
    cfg: object
    metrics: dict
    curves: list
    checks: list
    note: str
    seconds: float = 0.0
    compile_seconds: float = 0.0
    selector: object = None  # the SelectorConfig that filtered the synthetic data (None: none)


def _collect():
    studies, presets = {}, {}
    for name in STUDY_MODULES:
        module = importlib.import_module(f"experiments.{name}.study")
        for s in module.STUDIES:
            if s.name in studies:
                raise ValueError(f"study {s.name} registered twice")
            studies[s.name] = s
        for p in module.PRESETS:
            if p.name in presets:
                raise ValueError(f"preset {p.name} registered twice")
            presets[p.name] = p
    for p in presets.values():
        if p.study not in studies:
            raise ValueError(f"preset {p.name} names an unknown study {p.study}")
    return studies, presets


_CACHE: dict = {}


def studies() -> dict[str, Study]:
    """name -> Study, in catalog order."""
    if not _CACHE:
        _CACHE["studies"], _CACHE["presets"] = _collect()
    return _CACHE["studies"]


def presets() -> dict[str, Preset]:
    """name -> Preset, grouped by study in catalog order."""
    studies()
    return _CACHE["presets"]


def study(name: str) -> Study:
    found = studies().get(name)
    if found is None:
        raise ConfigError("model", name, f"one of {', '.join(studies())}")
    return found


def preset(name: str) -> Preset:
    found = presets().get(name)
    if found is None:
        raise ConfigError("preset", name, f"one of {', '.join(presets())}")
    return found


def figure_report(figure=None, table=None) -> Callable:
    """An engine preset's report from a figure function and/or a table function of its members (the part left out
    gets the default: the main metric against theory, and a table of final values and verdicts)."""

    def report(members):
        return (table(members) if table else None, figure(members) if figure else None)

    return report
