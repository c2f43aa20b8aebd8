"""Common checks over the whole catalog (in the spirit of scikit-learn's common estimator checks): every study and
every preset, so a new one is held to the same contract without writing its own tests.

- every config constructs with its defaults, and its dataclass has only fields the CLI can parse;
- ``--model X --help`` documents every field with a help line, choices from the class, and its default;
- every preset resolves to valid configs (and its theory inputs are valid) before anything runs;
- every engine preset's report renders from a small synthetic result with the metrics its families produce;
- every per-seed study runs a two-step smoke configuration of each of its presets (GPU-scale presets keep their
  architecture and precision; only data sizes and steps shrink) through the CLI, report included;
- every run folder refuses a different config without --overwrite.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from collapse.config import LoopConfig
from collapse.engine import Loop
from experiments import catalog, gen_loop, run_engine
from experiments.fields import field_choices, flag
from theory.check import check

STUDIES = list(catalog.studies().values())
PRESETS = list(catalog.presets().values())
# Presets whose theory or figure alone takes minutes on 2 cores (exact finite-N sums at N = 20,000; the θ-chain;
# toedit's exact recursions; kde-moons' snapshots; the GPU-scale LM reports, whose CPU twins stay in the default
# run): their resolve and report checks are slow tests.
HEAVY_THEORY = {"verify-vs-n", "verify-vs-p", "verify-iterated", "toedit-linear", "kde-moons", "lm-modes-gpu",
                "toedit-iterate-gpu"}


def _presets(keep=lambda p: True):
    return [pytest.param(p, id=p.name, marks=pytest.mark.slow if p.name in HEAVY_THEORY else ())
            for p in PRESETS if keep(p)]


@pytest.mark.parametrize("study", STUDIES, ids=lambda s: s.name)
def test_every_config_constructs_with_defaults(study):
    config = study.config_cls()
    assert dataclasses.is_dataclass(config)
    assert study.runner in catalog.RUNNERS and study.summary


@pytest.mark.parametrize("study", STUDIES, ids=lambda s: s.name)
def test_help_documents_every_field(study):
    text = " ".join(gen_loop.build_parser(study).format_help().split())
    for f in study.fields():
        assert flag(f.name) in text, f.name
        assert study.field_help.get(f.name), f"{study.name}: field {f.name} has no help line"
        for choice in field_choices(study.config_cls, f.name) or ():
            assert str(choice) in text
    assert "--replicates" in text and "--seed" in text


def _resolve(preset, extra=()):
    argv = ["--preset", preset.name, *extra]
    study, p, file_settings = gen_loop.select(argv)
    runs, options, _ = gen_loop.resolve(study, p, file_settings, gen_loop.build_parser(study).parse_args(argv))
    return study, runs, options


@pytest.mark.parametrize("preset", _presets())
def test_every_preset_resolves(preset):
    study, runs, _ = _resolve(preset)
    assert study.name == preset.study and preset.cpu_time and preset.description
    if study.runner == "engine":
        for _, _, family, cfg, sel in gen_loop.engine_runs(study, runs):
            run_engine.theory_for(study, family, cfg, True, sel)
    else:
        ((_, _, settings),) = runs
        study.config_cls(**{k: v for k, v in settings.items() if k in {f.name for f in study.fields()}})


def _synthetic_member(study, label, panel, family, cfg, selector, rng):
    """A finished run with random values for every metric the family, policy and selector produce (found by
    tracing the engine's first generation, not by running it)."""
    loop = Loop(family, cfg, selector=selector)
    with jax.enable_x64(True):
        shapes = jax.eval_shape(loop.program.init, jax.random.key(0), jnp.arange(loop.padded))[2]
    R = min(cfg.replicates, 6)
    metrics = {name: rng.uniform(0.2, 0.8, (cfg.generations, R)) for name in shapes}
    curves, note = run_engine.theory_for(study, family, cfg, True, selector)
    checks = [check(metrics[c.metric], c) for c in curves]
    return catalog.Member(label, panel, study, family, cfg, metrics, curves, checks, note, selector=selector)


@pytest.mark.parametrize("preset", _presets(lambda p: catalog.study(p.study).runner == "engine"))
def test_every_engine_report_renders(preset):
    study, runs, _ = _resolve(preset)
    rng = np.random.default_rng(0)
    members = [_synthetic_member(study, *run, rng) for run in gen_loop.engine_runs(study, runs)]
    markdown, png = preset.report(members) if preset.report else (None, None)
    markdown = markdown if markdown is not None else run_engine.default_table(members)
    png = png if png is not None else run_engine.default_figure(members, preset.name, preset.log_y)
    assert png[:4] == b"\x89PNG" and markdown.count("\n") >= len(members)


# Settings that make any preset of a per-seed study a seconds-long run: data sizes, steps and the number of compared
# rules only, so a GPU preset's architecture and precision are what gets tested.
SMOKE = {
    "lm-share": {"T": 4, "steps": 2, "batch": 2, "warmup": 1, "holdout": 2},
    "toedit-text": {"T": 4, "prior_T": 4, "prior_steps": 2, "steps": 2, "batch": 2, "warmup": 1, "holdout": 2,
                    "variants": ("edit p>=0.99",)},
    "eigen": {"n_real": 8, "pool_sizes": (4,), "steps": 2, "student_steps": 2, "verifier_steps": 2, "batch": 2,
              "test_size": 2, "decode_batch": 2, "rules": ("top",)},
    "lm-vs-ngram": {"T": 4, "steps": 2, "batch": 2, "warmup": 1, "holdout": 2, "generations": 2, "diag_samples": 2,
                    "order": 2, "modes": ("replace",)},
    "summarize": {"n_real": 8, "pool_sizes": (4,), "steps": 2, "external_steps": 2, "external_real": 8, "batch": 2,
                  "test_size": 2, "decode_batch": 2, "selectors": ("external",)},
}
# trains two model kinds through whole loops even at smoke size (≈ 25 s idle): a slow test, like the GPU ones
SLOW_SMOKE = {"lm-vs-ngram"}


def _seed_presets():
    """One preset per per-seed study in the default run (its code path is the study's); the others, GPU-scale
    architectures included, are slow tests (minutes of compiling on 2 CPU cores)."""
    seen = set()
    for p in PRESETS:
        if catalog.study(p.study).runner != "seeds":
            continue
        first = p.study not in seen and "gpu" not in p.name and p.study not in SLOW_SMOKE
        if first:
            seen.add(p.study)
        yield pytest.param(p, id=p.name, marks=() if first else pytest.mark.slow)


SEED_PRESETS = list(_seed_presets())


def _smoke_flags(study_name):
    out = []
    for k, v in SMOKE[study_name].items():
        out += [flag(k), ",".join(map(str, v)) if isinstance(v, tuple) else str(v)]
    return out


def test_smoke_settings_cover_every_per_seed_study():
    assert {s.name for s in STUDIES if s.runner == "seeds"} == set(SMOKE)


@pytest.mark.parametrize("preset", SEED_PRESETS)
def test_every_per_seed_preset_runs_a_smoke_configuration(preset, tmp_path, capsys):
    argv = ["--preset", preset.name, *_smoke_flags(preset.study), "--replicates", "1", "--out", str(tmp_path),
            "--quiet"]
    assert gen_loop.main(argv) == 0, capsys.readouterr().err
    assert (tmp_path / "seed-0.json").exists() and (tmp_path / "report.md").exists()
    assert (tmp_path / "figure.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
@pytest.mark.parametrize("name, member", [("lm-modes-gpu", 0), ("toedit-iterate-gpu", -1)])
def test_every_gpu_engine_preset_runs_a_smoke_configuration(name, member, tmp_path):
    """A GPU engine preset's member (lm-modes-gpu: replace; toedit-iterate-gpu: token editing) at its own
    architecture and bf16, two steps, tiny data, two generations."""
    argv = ["--preset", name, "--T", "2", "--steps", "2", "--batch", "2", "--warmup", "1", "--holdout", "2",
            "--diag-samples", "2", "--generations", "2", "--out", str(tmp_path), "--quiet"]
    study, runs, _ = _resolve(catalog.preset(name), argv[2:])
    (label, panel, family, cfg, _) = gen_loop.engine_runs(study, runs)[member]
    assert family.dtype == "bfloat16" and family.width == 512
    member, _ = run_engine.run_member(study, family, cfg, tmp_path, run_engine.Options(quiet=True), label, panel)
    assert np.isfinite(member.metrics["heldout_ppl"]).all()


def test_every_run_folder_refuses_another_config(tmp_path):
    base = ["--model", "gaussian", "--T", "5", "--generations", "2", "--replicates", "4", "--out", str(tmp_path),
            "--quiet"]
    assert gen_loop.main(base) == 0
    assert gen_loop.main([*base, "--T", "6"]) == 2
    assert gen_loop.main([*base, "--T", "6", "--overwrite"]) == 0


def test_loop_defaults_are_loop_fields():
    names = {f.name for f in dataclasses.fields(LoopConfig)}
    for study in STUDIES:
        assert set(study.loop_defaults) <= names
