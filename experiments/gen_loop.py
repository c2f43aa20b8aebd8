"""Run any study of the catalog from the command line, check it against theory, write results, a report and a
figure.

    python -m experiments.gen_loop                          # small default: linear, replace, with theory
    python -m experiments.gen_loop --help                   # every study and preset
    python -m experiments.gen_loop --model gaussian --help  # every flag of one study
    python -m experiments.gen_loop --model linear --mode accumulate --T 40 --generations 5 --out runs/acc
    python -m experiments.gen_loop --preset linear-modes [--publish]

Settings resolve by one rule: preset < --config file < command-line flags; a flag the study does not have is an
error. Bad input prints one line naming the parameter and exits with status 2 before anything is written.
Rerunning the same command on the same --out resumes an interrupted run (or reports a finished one).
"""
# ruff: noqa: E402 — a Ctrl-C must be held before the heavy imports below (experiments/interrupts.py)

from experiments import interrupts

if __name__ == "__main__":
    interrupts.hold()

import argparse
import dataclasses
import json
import os
import sys
from pathlib import Path

from collapse import distributed
from collapse.config import LoopConfig
from collapse.errors import ConfigError
from collapse.families.base import LoopResolvingFamily, SelfSelectingFamily
from collapse.policies import policy_names
from collapse.selectors import SELECTORS, SelectorConfig
from experiments import catalog, run_engine, run_seeds, sweep
from experiments.fields import field_choices, field_default, field_type, flag

PROG = "python -m experiments.gen_loop"
DEFAULT_STUDY = "linear"
LOOP_HELP = {
    "mode": "data policy (the loop vocabulary: README 'Data policies')",
    "generations": "number of generations G (generation 1 trains on real data)",
    "mix_ratio": "mix mode: synthetic samples per real sample λ",
    "real_weight": "fresh mode: weight w of the new real sample (synthetic gets 1 − w)",
    "budget": "accumulate-subsample: samples drawn from the pool each generation (default: T)",
    "edit_schedule": "edit mode: which labels each generation edits — disjoint (f·T never-edited labels), "
                     "geometric (disjoint, f·T·η^(n−2)), iid (each label w.p. f, overlapping), confidence (the f·T "
                     "labels the current model fits best), explicit (--edit-masks), tokens (token-level ToEdit), "
                     "leverage (disjoint, highest-leverage rows first), adversarial (disjoint, rows along XᵀX's "
                     "weakest direction first)",
    "edit_fraction": "edit mode: edit fraction f in [0, 1]",
    "edit_eta": "edit mode, geometric schedule: shrink ratio η in (0, 1]",
    "edit_masks": "edit mode, explicit schedule: .npy or .json file of G−1 rows × T zeros/ones (row j forms "
                  "generation j+2)",
}
SELECTOR_HELP = {
    "kind": "selector: none, oracle (keep iff correct: within τ of the truth), phi-psi (keep correct w.p. ϕ, wrong "
            "w.p. ψ), random (keep w.p. ϕ), window (keep iff |y − f_v(x)| ≤ h, f_v offset from the truth), model "
            "(the family's verifier model), best-of-k, curate (K-choice Bradley–Terry / Luce), tilt (its K → ∞ "
            "law, exact)",
    "tau": "correctness threshold τ (oracle; ϕ, ψ accounting; default: the family's own)",
    "phi": "keep probability ϕ of a correct sample (phi-psi; random)", "psi": "keep probability ψ of a wrong sample",
    "phi_class": "per-class ϕ₊,ϕ₋", "psi_class": "per-class ψ₊,ψ₋",
    "h": "window half-width h > 0", "k": "candidates for best-of-k / curate (>= 1)",
    "gamma": "reward sharpness γ > 0 (r = −½γ·deviation²)",
    "offset": "the verifier model's offset from the truth (linear: ‖w_v − w*‖; gaussian: centre μ + offset)",
}


def selector_key(name: str) -> str:
    """The setting (and flag) of a SelectorConfig field: ``selector`` for its kind, ``sel_<name>`` otherwise."""
    return "selector" if name == "kind" else f"sel_{name}"


SELECTOR_KEYS = {selector_key(f.name): f.name for f in dataclasses.fields(SelectorConfig)}

COMMON = ("model", "preset", "config", "out", "overwrite", "publish", "quiet", "seed", "replicates", "sweep",
          "no_compile_cache", "coordinator", "num_processes", "process_id")
ENGINE_OPTIONS = ("z_tol", "no_theory", "checkpoint_every")


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        print(f"gen_loop: error: {message}", file=sys.stderr)
        sys.exit(2)


# -- the catalog help ---------------------------------------------------------------------------------------------
def catalog_text() -> str:
    studies, presets = catalog.studies(), catalog.presets()
    width = max(map(len, studies)) + 2
    lines = [__doc__.split("\n\n")[0], "", f"usage: {PROG} [--model STUDY | --preset PRESET] [flags]", "",
             "studies (--model; `--model STUDY --help` lists every flag of one):"]
    for s in studies.values():
        lines.append(f"  {s.name:<{width}}[{s.runner}] {s.summary}")
    lines += ["", "presets (--preset; run time on 2 CPU cores):"]
    pw = max(map(len, presets)) + 2
    for s in studies.values():
        mine = [p for p in presets.values() if p.study == s.name]
        if mine:
            lines.append(f"  {s.name}:")
            lines += [f"    {p.name:<{pw}}{p.description} ({p.cpu_time})" for p in mine]
    lines += ["", "runners: engine = the vectorized loop (replicates vmapped, float64, theory checked); "
              "seeds = one whole training run per seed (replicates are seeds).",
              "Common flags: --out DIR, --overwrite, --publish (a preset also updates figures/), --config FILE, "
              "--seed S, --replicates R, --quiet."]
    return "\n".join(lines)


# -- one study's parser ----------------------------------------------------------------------------------------
def _add_field(group, cls, f, help_text: str, default_override=None, choices=None) -> None:
    choices = field_choices(cls, f.name) if choices is None else choices
    default = field_default(f) if default_override is None else default_override
    kw = {"type": field_type(cls, f.name)}
    if choices is not None and not isinstance(default, tuple):
        kw["choices"] = choices
    text = help_text
    if choices is not None and "choices" not in kw:
        text += f" (from: {', '.join(map(str, choices))})"
    if default is not None:
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        text += f" (default: {shown})"
    group.add_argument(flag(f.name), dest=f.name, default=None, help=text, **kw)


def build_parser(study: catalog.Study) -> Parser:
    p = Parser(prog=f"{PROG} --model {study.name}", allow_abbrev=False,
               description=f"{study.name} [{study.runner} runner]: {study.summary}",
               formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [n for n, pr in catalog.presets().items() if pr.study == study.name]
    p.add_argument("--model", choices=list(catalog.studies()), help="the study (default: linear)")
    p.add_argument("--preset", choices=names or None, help="a named setting of this study: " + ", ".join(names)
                   if names else "this study has no presets")
    p.add_argument("--config", type=Path, help="JSON file of settings (keys: flag names with _); flags override it, "
                   "and it overrides the preset")
    p.add_argument("--out", type=Path, help="output folder (default: runs/<study>-…-<config hash>, or "
                   "runs/preset-<name>)")
    p.add_argument("--overwrite", action="store_true", default=None, help="replace a different run in --out")
    p.add_argument("--publish", action="store_true", default=None,
                   help="a preset also writes its figure and report to figures/ (the README's copies)")
    p.add_argument("--quiet", action="store_true", default=None, help="no progress output")
    p.add_argument("--no-compile-cache", action="store_true", default=None,
                   help=f"do not use JAX's persistent compilation cache (default: on, in {cache_dir()})")
    dist = p.add_argument_group("several processes (JAX's multi-controller runtime; docs/multihost.md)")
    dist.add_argument("--coordinator", default=None, help="host:port of process 0 (auto-detected under SLURM, Open "
                      "MPI or Cloud TPU)")
    dist.add_argument("--num-processes", type=field_type(LoopConfig, "seed"), default=None,
                      help="number of processes of the run")
    dist.add_argument("--process-id", type=field_type(LoopConfig, "seed"), default=None,
                      help="this process's rank (0 writes the run folder)")
    if study.runner == "engine":
        p.add_argument("--sweep", action="append", default=None, metavar="NAME=v1,v2,…",
                       help="run every value (several --sweep flags: every combination) into one folder, one table "
                            "and one figure with theory; e.g. --sweep T=20,40,80,160")
    loop_defaults = {**{f.name: field_default(f) for f in dataclasses.fields(LoopConfig)}, **study.loop_defaults}
    seed_help = ("random seed: replicate i draws from (seed, i); same config + seed = same numbers on the same "
                 "backend" if study.runner == "engine" else "first seed: replicate i runs with seed + i")
    p.add_argument("--seed", type=field_type(LoopConfig, "seed"), default=None, help=seed_help + " (default: 0)")
    rep_default = loop_defaults["replicates"] if study.runner == "engine" else study.default_replicates
    p.add_argument("--replicates", type=field_type(LoopConfig, "replicates"), default=None,
                   help=("independent replicates (vmapped, sharded over devices)" if study.runner == "engine" else
                         "independent replicates = seeds, run one after another") + f" (default: {rep_default})")
    if study.runner == "engine":
        p.add_argument("--z-tol", type=float, default=None, help="agreement tolerance in standard errors (default: 4)")
        p.add_argument("--no-theory", action="store_true", default=None, help="simulate without checking theory")
        p.add_argument("--checkpoint-every", type=float, default=None,
                       help="seconds between checkpoints (an interrupted run resumes from the last one; default: 10)")
        loop = p.add_argument_group("loop")
        for f in dataclasses.fields(LoopConfig):
            if f.name in ("seed", "replicates"):
                continue
            if f.name == "edit_masks":
                loop.add_argument("--edit-masks", dest="edit_masks", type=Path, default=None,
                                  help=LOOP_HELP["edit_masks"])
                continue
            _add_field(loop, LoopConfig, f, LOOP_HELP[f.name], loop_defaults[f.name],
                       policy_names() if f.name == "mode" else None)
    if study.runner == "engine":
        sel = p.add_argument_group("selection (what of each synthetic block is kept: collapse/selectors.py)")
        for f in dataclasses.fields(SelectorConfig):
            name = selector_key(f.name)
            kw = {"type": field_type(SelectorConfig, f.name)}
            if f.name == "kind":
                kw["choices"] = SELECTORS
            default = field_default(f)
            text = SELECTOR_HELP[f.name] + ("" if default is None else f" (default: {default})")
            sel.add_argument(flag(name), dest=name, default=None, help=text, **kw)
    group = p.add_argument_group(f"study {study.name}")
    for f in study.fields():
        _add_field(group, study.config_cls, f, study.field_help.get(f.name, ""))
    return p


def _scan(argv, name: str):
    """The value of ``--name`` in argv (exact spelling, ``--name V`` or ``--name=V``), without argparse's prefix
    matching — so ``--mode`` is never read as ``--model``."""
    for i, a in enumerate(argv):
        if a == f"--{name}" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(f"--{name}="):
            return a.split("=", 1)[1]
    return None


def _read_config(path) -> dict:
    try:
        settings = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise ConfigError("config", str(path), f"a readable JSON file ({err})") from None
    if not isinstance(settings, dict):
        raise ConfigError("config", str(path), "a JSON object")
    return settings


def select(argv):
    """(study, preset or None, config-file settings) named by argv; raises ConfigError for unknown names or a
    --model that contradicts the preset."""
    config_path = _scan(argv, "config")
    file_settings = _read_config(config_path) if config_path else {}
    model = _scan(argv, "model") or file_settings.get("model")
    preset_name = _scan(argv, "preset") or file_settings.get("preset")
    preset = catalog.preset(preset_name) if preset_name else None
    if preset is not None and model is not None and model != preset.study:
        raise ConfigError("model", model, f"{preset.study} (preset {preset.name} belongs to study {preset.study}) "
                          "or left out")
    study = catalog.study(preset.study if preset else (model or DEFAULT_STUDY))
    return study, preset, file_settings


def resolve(study, preset, file_settings, args) -> tuple[list, dict]:
    """([(label, panel, settings)] per run, options, the preset — or the sweep as one) by preset < config file <
    flags. Raises ConfigError."""
    flags = {k: v for k, v in vars(args).items() if v is not None}
    known = set(COMMON) | {f.name for f in study.fields()}
    if study.runner == "engine":
        known |= {f.name for f in dataclasses.fields(LoopConfig)} | set(ENGINE_OPTIONS) | set(SELECTOR_KEYS)
    for key in file_settings:
        if key not in known:
            raise ConfigError("config", key, f"a setting of study {study.name} (see --model {study.name} --help)")
    user = {**file_settings, **flags}
    if "edit_masks" in user:
        user["edit_masks"] = load_masks(user["edit_masks"])
    if "sweep" in user:
        if preset is not None:
            raise ConfigError("sweep", user["sweep"][0], "used without --preset (sweep a study's own settings)")
        grid = sweep.parse(study, user["sweep"])
        clash = sorted(set(grid) & set(user))
        if clash:
            raise ConfigError(clash[0], user[clash[0]], f"given once: it is also swept (--sweep {clash[0]}=…)")
        preset = sweep.as_preset(study, grid, {k: v for k, v in user.items() if k not in COMMON + ENGINE_OPTIONS})
    base = dict(preset.settings) if preset else {}
    members = preset.members if preset and preset.members else (catalog.PresetRun("", {}),)
    runs = [(m.label, m.panel, {**base, **m.settings, **user}) for m in members]
    options = {k: user[k] for k in ("out", "overwrite", "publish", "quiet", *ENGINE_OPTIONS) if k in user}
    if "out" in options:
        options["out"] = Path(options["out"])
    if options.get("publish") and (preset is None or "sweep" in user):
        raise ConfigError("publish", True, "used with --preset (a single run's or a sweep's report stays in its run "
                          "folder)")
    if study.runner == "engine":
        for _, _, settings in runs:
            _check_mode_flags(settings.get("mode", study.loop_defaults.get("mode", "replace")), user)
    return runs, options, preset


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "collapse" / "jax"


def use_compile_cache() -> None:
    """JAX's persistent compilation cache: a rerun (or a sweep point seen before) loads its compiled programs
    instead of compiling them again. COLLAPSE_COMPILE_CACHE=0 switches it off as --no-compile-cache does."""
    if os.environ.get("COLLAPSE_COMPILE_CACHE", "1") == "0":
        return
    import jax

    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # no writable cache folder: compile as usual
    jax.config.update("jax_compilation_cache_dir", str(cache_dir()))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)


MODE_FLAGS = {"mix_ratio": ("mix",), "real_weight": ("fresh",), "budget": ("accumulate-subsample",),
              "edit_schedule": ("edit",), "edit_fraction": ("edit",), "edit_eta": ("edit",), "edit_masks": ("edit",)}


def _check_mode_flags(mode: str, user: dict) -> None:
    """A loop setting the chosen mode ignores is an error, not a silent no-op."""
    for name, modes in MODE_FLAGS.items():
        if name in user and mode not in modes:
            raise ConfigError(name, user[name], f"given only with --mode {' or '.join(modes)} (the mode is {mode}, "
                              "which does not use it)")


def load_masks(path) -> tuple:
    """Edit masks from a .npy or .json file (or rows given inline in a config file), as a tuple of rows."""
    import numpy as np

    if isinstance(path, list | tuple):
        data = np.asarray(path, float)
    else:
        path = Path(path)
        try:
            data = np.load(path) if path.suffix == ".npy" else np.asarray(json.loads(path.read_text()), float)
        except (OSError, ValueError) as err:
            raise ConfigError("edit_masks", str(path), f"a readable .npy or .json file of zeros and ones ({err})") \
                from None
    if data.ndim != 2:
        raise ConfigError("edit_masks", f"an array of shape {data.shape}", "a 2-D array (G−1 rows × T)")
    return tuple(tuple(row.tolist()) for row in data)


def _build(cls, kw: dict, what: str):
    try:
        return cls(**kw)
    except TypeError as err:  # an argument of the wrong kind that the class's own checks did not name
        raise ConfigError(what, str(err), "settings of the right type") from None


def engine_runs(study, runs):
    """[(label, panel, family, LoopConfig, SelectorConfig | None)]: every member built (and so validated) before
    anything runs. A family that selects inside its own sampler (gmm-classify) takes the selector into itself."""
    fam_names = {f.name for f in study.fields()}
    loop_names = {f.name for f in dataclasses.fields(LoopConfig)}
    built = []
    for label, panel, settings in runs:
        family = _build(study.config_cls, {k: v for k, v in settings.items() if k in fam_names}, study.name)
        loop_kw = {**study.loop_defaults, **{k: v for k, v in settings.items() if k in loop_names}}
        selector = _selector(settings)
        if selector is not None and isinstance(family, SelfSelectingFamily):
            family, selector = family.with_selector(selector), None
        cfg = _build(LoopConfig, loop_kw, "loop")
        # settle config-dependent choices (linear's sampler) so the record says them
        if isinstance(family, LoopResolvingFamily):
            family = family.for_loop(cfg, selector)
        built.append((label, panel, family, cfg, selector))
    return built


def _selector(settings: dict):
    """The SelectorConfig of a run's settings, or None when none is asked for."""
    kw = {field: settings[key] for key, field in SELECTOR_KEYS.items() if key in settings}
    if not kw:
        return None
    if kw.get("kind", "none") == "none":
        extra = sorted(k for k in kw if k != "kind")
        if extra:
            raise ConfigError(selector_key(extra[0]), kw[extra[0]], "given only with a --selector other than none")
        return None
    return _build(SelectorConfig, kw, "selector")


def run(argv) -> int:
    study, preset, file_settings = select(argv)
    args = build_parser(study).parse_args(argv)
    runs, options, preset = resolve(study, preset, file_settings, args)
    if not (args.no_compile_cache or file_settings.get("no_compile_cache")):
        use_compile_cache()
    launch = {k: getattr(args, k) if getattr(args, k) is not None else file_settings.get(k)
              for k in ("coordinator", "num_processes", "process_id")}
    if study.runner == "seeds" and any(v is not None for v in launch.values()):
        raise ConfigError("num_processes", launch["num_processes"], "left out for a per-seed study (several "
                          "processes run the engine's replicates; run seeds as separate commands instead)")
    distributed.initialize(*launch.values())  # before any device is touched
    if not distributed.is_writer():
        options.update(quiet=True, writer=False)
    try:
        opts = run_engine.Options(**options)
    except TypeError as err:
        raise ConfigError("options", str(err), "settings of the right type") from None
    if study.runner == "engine":
        return run_engine.run(study, engine_runs(study, runs), preset, opts)
    (_, _, settings), = runs
    config = _build(study.config_cls, {k: v for k, v in settings.items() if k in {f.name for f in study.fields()}},
                    study.name)
    seed = settings.get("seed", 0)
    seeds = settings.get("replicates", study.default_replicates)
    LoopConfig(seed=seed, replicates=seeds)  # the same checks as the engine's (integers, seed range)
    return run_seeds.run(study, config, seed, seeds, preset, opts)


def main(argv=None, interruptible: bool = False) -> int:
    """Run the CLI; returns the exit status. ``interruptible`` (the script): Ctrl-C handling of
    experiments/interrupts.py — a press at any moment, even one some library swallowed, ends in exit 130."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        if interruptible:
            interrupts.arm()
        if ("-h" in argv or "--help" in argv) and _scan(argv, "model") is None and _scan(argv, "preset") is None:
            print(catalog_text())
            code = 0
        else:
            code = run(argv)
        if interruptible and interrupts.pending():
            raise KeyboardInterrupt
        return code
    except ConfigError as err:
        print(f"gen_loop: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if interruptible:
            interrupts.hold()  # a second press must not cut the message short
        print("gen_loop: interrupted; rerun the same command to resume from the last checkpoint", file=sys.stderr)
        return 130


if __name__ == "__main__":
    code = main(interruptible=True)
    if code == 130:  # interrupted: leave at once, without waiting on XLA's threads at interpreter shutdown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
