"""The engine runner: simulate a study's config with :mod:`collapse.engine` (float64), check it against theory, and
write the run folder — config.json, results.jsonl, samples.npz, report.md, figure.png."""

import dataclasses
import os
import sys
import time
import warnings
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from collapse.engine import Loop, chunk_for_progress
from collapse.errors import ConfigError
from collapse.policies import make_policy
from collapse.stats import mean_se, nonfinite_count
from experiments.catalog import Member
from experiments.plotting import figure_bytes
from experiments.results import RunDir, atomic_write_bytes, atomic_write_text, check_writable, config_hash
from theory.check import check
from theory.curves import TheoryUnavailable


def theory_for(study, family, cfg, enabled: bool, selector=None):
    """(curves, note): every theory curve and bound that applies, each tagged with its metric."""
    selecting = selector is not None and selector.active
    hook = study.selector_theory if selecting else study.theory
    if not enabled or hook is None:
        return [], "theory check off" if not enabled else (
            f"no closed form for the {selector.kind} selector" if selecting else "no theory for this study")
    try:
        found = hook(family, cfg, selector) if selecting else hook(family, cfg)
    except TheoryUnavailable as why:
        curves, note = [], f"no closed form for this config: {why}"
    except ConfigError as err:  # outside the formula's range: say how to run without it
        raise ConfigError(err.param, err.value, err.allowed, f"{err} (pass --no-theory to simulate without a "
                          "closed form)") from None
    else:
        curves = list(found) if isinstance(found, list | tuple) else [found]
        note = "theory: " + "; ".join(f"{c.name} [{c.source}]" for c in curves)
    curves += study.bounds(family, cfg) if study.bounds and not selecting else []
    return [c if c.metric else dataclasses.replace(c, metric=study.main_metric) for c in curves], note


def summary_rows(metrics, curves, z_tol):
    """results.jsonl rows and one CheckResult per curve."""
    checks = [check(metrics[c.metric], c, z_tol) for c in curves]
    rows = []
    for name, samples in metrics.items():
        mean, se = mean_se(samples, skip_nonfinite=True)
        bad = nonfinite_count(samples)
        finite = np.where(np.isfinite(samples), samples, np.nan)
        with warnings.catch_warnings():  # an all-non-finite generation has no quantiles: NaN, written as null
            warnings.simplefilter("ignore", RuntimeWarning)
            q05, median, q95 = (np.nanquantile(finite, q, axis=1) for q in (0.05, 0.5, 0.95))
        equal = [(c, r) for c, r in zip(curves, checks, strict=True) if c.metric == name and c.kind == "equality"]
        bounds = [(c, r) for c, r in zip(curves, checks, strict=True) if c.metric == name and c.kind != "equality"]
        for g in range(samples.shape[0]):
            row = {"generation": g + 1, "metric": name, "mean": mean[g], "se": se[g], "median": median[g],
                   "q05": q05[g], "q95": q95[g], "theory": None, "theory_se": None, "z": None,
                   "agree": None, "theory_name": None, "nonfinite": int(bad[g])}
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


def nonfinite_lines(metrics) -> list[str]:
    """One line per generation where some replicate's metric is NaN or inf, naming the metrics."""
    lines = []
    G, R = next(iter(metrics.values())).shape
    for g in range(G):
        bad = {name: int(nonfinite_count(v[g])) for name, v in metrics.items() if nonfinite_count(v[g])}
        if bad:
            worst = max(bad.values())
            lines.append(f"generation {g + 1}: {worst} of {R} replicates non-finite: " + ", ".join(bad))
    return lines


def _main_curve(curves, metric):
    return next((c for c in curves if c.metric == metric and c.kind == "equality"), None)


def verdict(r) -> str:
    if r.curve.kind == "equality":
        return r.summary()
    word = "respects" if r.agree else "VIOLATES"
    return (f"{r.curve.name}: simulation {word} the bound (worst z = {r.z.max():+.2f}; tolerance "
            f"{r.z_tol:g} SE) [{r.curve.source}]")


def print_member(m: Member) -> None:
    """The per-generation table and verdicts of one run, on stdout."""
    metric = m.study.main_metric
    mean, se = mean_se(m.metrics[metric], skip_nonfinite=True)
    curve = _main_curve(m.curves, metric)
    result = next((r for c, r in zip(m.curves, m.checks, strict=True) if c is curve), None)
    fam = ", ".join(f"{f.name}={getattr(m.family, f.name)}" for f in m.study.fields())
    print(f"{m.study.name} / {m.cfg.mode}: {fam}")
    print(f"{m.cfg.replicates} replicates × {m.cfg.generations} generations, seed {m.cfg.seed}; {m.note}")
    if m.seconds:
        print(f"time: {m.seconds:.1f} s, of which {m.compile_seconds:.1f} s tracing and compiling")
    print(f"{'gen':>4} {metric + ' mean':>14} {'± SE':>9} {'theory':>10} {'z':>7}")
    for g in range(len(mean)):
        th = f"{curve.values[g]:10.4f}" if curve is not None else f"{'—':>10}"
        z = f"{result.z[g]:+7.2f} {'ok' if result.ok[g] else 'OFF'}" if result is not None else ""
        print(f"{g + 1:>4} {mean[g]:14.4f} {se[g]:9.4f} {th} {z}")
    for c, r in zip(m.curves, m.checks, strict=True):
        print(("verdict: " if c.kind == "equality" else "bound:   ") + f"[{c.metric}] " + verdict(r))


def series(m: Member) -> dict:
    """One member's main metric as a figure series (mean ± SE, its theory curve and bounds)."""
    metric = m.study.main_metric
    mean, se = mean_se(m.metrics[metric], skip_nonfinite=True)
    bounds = [c for c in m.curves if c.metric == metric and c.kind != "equality"]
    return {"mean": mean, "se": se, "label": m.label, "theory": _main_curve(m.curves, metric), "bounds": bounds,
            "panel": m.panel}


def default_figure(members, title: str, log_y: bool = False) -> bytes:
    return figure_bytes([series(m) for m in members], title, members[0].study.metric_label, log_y)


def default_table(members) -> str:
    """Markdown: the last generation's main metric per member, its theory and every verdict (and any non-finite
    values, by generation)."""
    lines = ["| run | generations × replicates | final mean ± SE | theory | verdicts | time (compile) |",
             "|---|---|---|---|---|---|"]
    for m in members:
        metric = m.study.main_metric
        mean, se = mean_se(m.metrics[metric], skip_nonfinite=True)
        curve = _main_curve(m.curves, metric)
        theory = "—" if curve is None or not np.isfinite(curve.values[-1]) else f"{curve.values[-1]:.4g}"
        verdicts = "; ".join(verdict(r) for r in m.checks) or m.note
        name = f"{m.panel}: {m.label}" if m.panel else m.label
        took = f"{m.seconds:.1f} s ({m.compile_seconds:.1f} s)" if m.seconds else "reloaded"
        lines.append(f"| {name} | {m.cfg.generations} × {m.cfg.replicates} | {mean[-1]:.4g} ± {se[-1]:.2g} | "
                     f"{theory} | {verdicts} | {took} |")
    bad = [f"- {m.label or m.cfg.mode}: {line}" for m in members for line in nonfinite_lines(m.metrics)]
    if bad:
        lines += ["", "**Non-finite values** (left out of the means above):", *bad]
    return "\n".join(lines) + "\n"


@dataclasses.dataclass(frozen=True)
class Options:
    """How to run, not what: these settings never change the numbers."""

    out: Path | None = None
    overwrite: bool = False
    publish: bool = False
    quiet: bool = False
    no_theory: bool = False
    z_tol: float = 4.0
    checkpoint_every: float = 10.0
    writer: bool = True  # False on processes other than 0 of a multi-process run: compute, write nothing

    def __post_init__(self):
        for name in ("overwrite", "publish", "quiet", "no_theory"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(name, getattr(self, name), "true or false")
        if not (isinstance(self.z_tol, int | float) and np.isfinite(self.z_tol) and self.z_tol > 0):
            raise ConfigError("z_tol", self.z_tol, "a finite number > 0")
        if not (isinstance(self.checkpoint_every, int | float) and np.isfinite(self.checkpoint_every)
                and self.checkpoint_every >= 0):
            raise ConfigError("checkpoint_every", self.checkpoint_every, "a finite number of seconds >= 0")


def run_member(study, family, cfg, out: Path | None, opts: Options, label: str = "", panel: str = "",
               selector=None):
    """Simulate (or resume, or reload) one config into ``out``, check it against its theory, and write the run
    folder (results, samples, report.md, figure.png). Returns (Member, the folder)."""
    curves, note = theory_for(study, family, cfg, not opts.no_theory, selector)
    record = {"model": study.name, "family": dataclasses.asdict(family), "loop": dataclasses.asdict(cfg)}
    if selector is not None and selector.active:  # (absent otherwise, so earlier runs keep their hash)
        record["selector"] = dataclasses.asdict(selector)
    out = out or Path("runs") / f"{study.name}-{cfg.mode}-{config_hash(record)}"
    if opts.writer:
        check_writable(out)
    run_dir = RunDir(out, record, writer=opts.writer)
    with run_dir.lock():
        return _run_locked(study, family, cfg, run_dir, curves, note, opts, label, panel, selector), out


class CompileClock:
    """Seconds JAX has spent tracing, lowering and compiling in this process (from jax.monitoring events)."""

    EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
              "/jax/core/compile/backend_compile_duration")
    total = 0.0
    _listening = False

    @classmethod
    def now(cls) -> float:
        if not cls._listening:
            jax.monitoring.register_event_duration_secs_listener(cls._record)
            cls._listening = True
        return cls.total

    @classmethod
    def _record(cls, event, duration, **_):
        if event in cls.EVENTS:
            cls.total += duration


def _run_locked(study, family, cfg, run_dir, curves, note, opts, label, panel, selector) -> Member:
    if opts.overwrite:
        run_dir.clear()
    t0, c0 = time.monotonic(), CompileClock.now()
    status = run_dir.status()
    if status == "complete":
        with np.load(run_dir.path("samples.npz")) as z:
            metrics = {k: z[k] for k in z.files}
        print(f"already complete in {run_dir.out}; reporting the saved results (use --overwrite to recompute)")
    else:
        metrics = _simulate(study, family, cfg, run_dir, status, opts, selector)
    rows, checks = summary_rows(metrics, curves, opts.z_tol)
    member = Member(label or cfg.mode, panel, study, family, cfg, metrics, curves, checks, note,
                    time.monotonic() - t0, CompileClock.now() - c0, selector)
    if status != "complete":
        run_dir.finish(rows, metrics)
    if opts.writer and (status != "complete" or not (run_dir.path("figure.png").exists()
                                                      and run_dir.path("report.md").exists())):
        title = f"{study.name}, {cfg.mode}: " + ", ".join(
            f"{k}={v}" for k, v in dataclasses.asdict(family).items() if k in ("d", "T", "sigma", "design"))
        atomic_write_text(run_dir.path("report.md"), default_table([member]))
        atomic_write_bytes(run_dir.path("figure.png"), default_figure([member], title))
    return member


def _simulate(study, family, cfg, run_dir, status, opts: Options, selector=None):
    resume = run_dir.load_checkpoint() if status == "resume" else None
    run_dir.write_config({"runner": "engine", "precision": "float64"})
    loop = Loop(family, cfg, selector=selector)
    start = resume.generation if resume else 0
    if resume:
        print(f"resuming {run_dir.out} from generation {resume.generation}", file=sys.stderr)
    bar = tqdm(total=cfg.generations, initial=start, unit="gen", disable=opts.quiet, file=sys.stderr,
               desc=f"{study.name}/{cfg.mode}", mininterval=0.5)
    last_save = time.monotonic()
    tokens = getattr(family, "tokens_per_generation", None)  # families that train on tokens report tokens/s
    last_tick = [time.monotonic(), start]
    chunk = chunk_for_progress(cfg.generations)

    def on_chunk(state):
        nonlocal last_save
        if tokens is not None and state.generation > last_tick[1]:
            now = time.monotonic()
            rate = tokens() * cfg.replicates * (state.generation - last_tick[1]) / (now - last_tick[0])
            bar.set_postfix_str(f"{rate:,.0f} train tokens/s (incl. sampling, scoring, compile)")
            last_tick[:] = [now, state.generation]
        pending = min(chunk, cfg.generations - state.generation)
        if tokens is None:  # say so while the next call compiles (seconds to minutes for large programs)
            bar.set_postfix_str("compiling" if pending > 0 and not loop.program.has_chunk(pending) else "")
        bar.update(state.generation - bar.n)
        if state.generation < cfg.generations and time.monotonic() - last_save >= opts.checkpoint_every:
            run_dir.save_checkpoint(state)
            last_save = time.monotonic()

    bar.set_postfix_str("compiling")  # until the first chunk returns (the progress line says so)
    try:
        state = loop.run(chunk=chunk, resume=resume, on_chunk=on_chunk)
    finally:
        bar.close()
    return state.metrics


def validate(study, family, cfg, opts: Options, selector=None) -> None:
    """Everything that can refuse a run, checked before any file is written or anything compiled."""
    if cfg.replicates < 2:
        raise ConfigError("replicates", cfg.replicates, ">= 2 (the runner reports mean ± SE and checks theory)")
    policy = make_policy(cfg, family)  # the policy's own checks (mask shapes, budgets) before theory reads them
    size = policy.synth_size(family)
    if size >= 2**31:  # sample counts are int32 in the compiled loop; a block this large is no experiment anyway
        raise ConfigError("mix_ratio" if cfg.mode == "mix" else "M", cfg.mix_ratio if cfg.mode == "mix" else size,
                          f"small enough that a synthetic block has fewer than 2³¹ samples (it would have {size:.3g})")
    theory_for(study, family, cfg, not opts.no_theory, selector)
    check_memory(family, cfg, selector)


def available_bytes() -> int:
    """Memory this process can still use: MemAvailable from /proc/meminfo, else physical memory."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(family, cfg, selector=None, fraction: float = 0.8) -> None:
    """Refuse, before compiling, a run whose arrays alone would not fit in ``fraction`` of the available memory."""
    try:
        need = Loop(family, cfg, selector=selector).memory_bytes()
    except ConfigError:
        raise
    except (OverflowError, ValueError, TypeError, MemoryError) as err:
        raise ConfigError("sizes", f"{type(err).__name__}: {str(err)[:80]}",
                          "array sizes that fit this machine (lower T, M, d, --mix-ratio or --generations)") from None
    have = available_bytes()
    if need > fraction * have:
        raise ConfigError("replicates", cfg.replicates,
                          f"small enough to fit: the run needs at least {need / 2**30:.3g} GiB for its arrays, more "
                          f"than {fraction:.0%} of the {have / 2**30:.3g} GiB available; lower --replicates or the "
                          "sizes (T, M, d, --generations)")


def folder_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text.strip("-"))


def run(study, runs, preset, opts: Options) -> int:
    """Run ``runs`` ([(label, panel, family, loop config)]; every one validated by the caller) and report.

    One run: its folder is the report. A preset: each member in ``<out>/<panel>-<label>``, then the preset's report
    and figure in ``<out>`` (and, with ``--publish``, in figures/).
    """
    for _, _, family, cfg, sel in runs:  # every member is valid and fits in memory before anything is written
        validate(study, family, cfg, opts, sel)
    if preset is None:
        (_, _, family, cfg, sel), = runs
        m, path = run_member(study, family, cfg, opts.out, opts, selector=sel)
        print_member(m)
        code = _report_nonfinite([m])
        print(f"results: {path / 'results.jsonl'}  (config: {path / 'config.json'}, per-replicate values: "
              f"{path / 'samples.npz'})")
        print(f"report:  {path / 'report.md'}\nfigure:  {path / 'figure.png'}")
        return code
    members = run_members(study, runs, preset, opts, validated=True)
    out = opts.out or Path("runs") / _folder(preset)
    print(f"preset {preset.name}: {preset.description}")
    for m in members:
        mean, se = mean_se(m.metrics[study.main_metric], skip_nonfinite=True)
        took = f" ({m.seconds:.1f} s, {m.compile_seconds:.1f} s compiling)" if m.seconds else " (reloaded)"
        print(f"- {m.label}: final {study.main_metric} = {mean[-1]:.4g} ± {se[-1]:.2g}{took}"
              + ("" if m.checks else f"; {m.note}"))
        for r in m.checks:
            print(f"    [{r.curve.metric}] {verdict(r)}")
    markdown, png = preset.report(members) if preset.report else (None, None)
    markdown = markdown if markdown is not None else default_table(members)
    png = png if png is not None else default_figure(members, preset.name, preset.log_y)
    if opts.writer:
        publish(out, None if preset.name.startswith("sweep-") else preset.name, markdown, png, opts.publish)
    print(f"runs:    {out}/<member>/results.jsonl")
    return _report_nonfinite(members)


def _folder(preset) -> str:
    return preset.name if preset.name.startswith("sweep-") else f"preset-{preset.name}"


def run_members(study, runs, preset, opts: Options, validated: bool = False) -> list[Member]:
    """Run every member of a preset or sweep into ``<out>/<panel>-<label>`` (``out`` default runs/preset-<name>)."""
    if not validated:
        for _, _, family, cfg, sel in runs:
            validate(study, family, cfg, opts, sel)
    out = opts.out or Path("runs") / _folder(preset)
    if opts.publish and opts.writer:
        check_writable(Path("figures"))
    return [run_member(study, family, cfg, out / folder_name(f"{panel}-{label}" if panel else label), opts, label,
                       panel, sel)[0] for label, panel, family, cfg, sel in runs]


EXIT_NONFINITE = 3  # the run finished, but some metric is NaN or inf (named on stderr and in report.md)


def _report_nonfinite(members) -> int:
    code = 0
    for m in members:
        lines = nonfinite_lines(m.metrics)
        for line in lines:
            print(f"gen_loop: warning: {m.label}: {line} (left out of means; see results.jsonl 'nonfinite')",
                  file=sys.stderr)
        code = EXIT_NONFINITE if lines else code
    return code


def publish(out: Path, name: str | None, markdown: str, png: bytes, to_figures: bool) -> None:
    """Write a report and figure into the run folder and, for a preset (``name``) when asked, into figures/ (the
    published copies the README shows)."""
    atomic_write_text(out / "report.md", markdown)
    atomic_write_bytes(out / "figure.png", png)
    print(markdown)
    print(f"report:  {out / 'report.md'}\nfigure:  {out / 'figure.png'}")
    if name is None:
        return
    if to_figures:
        figures = Path("figures")
        check_writable(figures)
        atomic_write_text(figures / f"{name}.md", markdown)
        atomic_write_bytes(figures / f"{name}.png", png)
        print(f"published: {figures / (name + '.png')} and {figures / (name + '.md')}")
    else:
        print(f"(figures/{name}.png unchanged; rerun with --publish to update it)")
