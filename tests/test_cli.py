"""gen_loop: the issue's example commands, the run folder it writes, bad input, and resuming."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from experiments import catalog, gen_loop, run_engine
from experiments.results import RunDir

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = "--model linear --d 10 --T 40 --sigma 1 --generations 5 --replicates 2000 --seed 0".split()


@pytest.mark.parametrize("mode", ["replace", "accumulate"])
def test_issue_example_reproduces_the_closed_form(mode, tmp_path, capsys):
    out = tmp_path / mode
    assert gen_loop.main([*EXAMPLE, "--mode", mode, "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "simulation AGREES with theory" in printed and str(out / "figure.png") in printed
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    main = [r for r in rows if r["metric"] == "E_test"]
    assert [r["generation"] for r in main] == [1, 2, 3, 4, 5]
    assert all(r["agree"] and r["theory"] is not None and abs(r["z"]) < 4 for r in main)
    assert all(r["theory"] is None for r in rows if r["metric"] == "train_size")
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["loop"]["seed"] == 0 and record["config"]["loop"]["mode"] == mode
    assert {"jax", "numpy", "flax", "optax", "backend", "devices", "python", "git_commit", "command", "started",
            "xla_flags"} <= set(record["parts"][0])
    assert record["precision"] == "float64" and (out / "report.md").exists()
    with np.load(out / "samples.npz") as z:
        assert z["E_test"].shape == (5, 2000)
    assert (out / "figure.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "checkpoint.npz").exists()


def test_a_finished_run_is_reported_not_recomputed(tmp_path, capsys, monkeypatch):
    args = [*EXAMPLE[:-4], "--replicates", "50", "--out", str(tmp_path), "--quiet", "--mode", "replace"]
    assert gen_loop.main(args) == 0
    capsys.readouterr()
    def no_simulation(*args, **kwargs):
        raise AssertionError("the loop ran again")

    monkeypatch.setattr(run_engine, "_simulate", no_simulation)
    assert gen_loop.main(args) == 0
    assert "already complete" in capsys.readouterr().out


def test_an_interrupted_run_resumes_to_the_same_numbers(tmp_path, monkeypatch):
    base = ["--d", "4", "--T", "12", "--generations", "9", "--replicates", "64", "--mode", "accumulate",
            "--quiet", "--checkpoint-every", "0"]
    assert gen_loop.main([*base, "--out", str(tmp_path / "clean")]) == 0
    saves = []
    original = RunDir.save_checkpoint

    def save_then_stop(self, state):
        original(self, state)
        saves.append(state.generation)
        if state.generation >= 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunDir, "save_checkpoint", save_then_stop)
    out = tmp_path / "interrupted"
    assert gen_loop.main([*base, "--out", str(out)]) == 130
    assert (out / "checkpoint.npz").exists() and not (out / "results.jsonl").exists()
    monkeypatch.setattr(RunDir, "save_checkpoint", original)
    assert gen_loop.main([*base, "--out", str(out)]) == 0
    with np.load(out / "samples.npz") as a, np.load(tmp_path / "clean" / "samples.npz") as b:
        np.testing.assert_allclose(a["E_test"], b["E_test"], rtol=1e-12)
    assert not (out / "checkpoint.npz").exists()


@pytest.mark.parametrize("when", ["importing", pytest.param("running", marks=pytest.mark.slow)])
def test_ctrl_c_prints_one_line_exits_130_and_leaves_a_resumable_folder(when, tmp_path):
    """A real SIGINT to the script: while JAX imports (it used to become an ImportError traceback, or be swallowed
    and the run ended with 0) and mid-run after a checkpoint. Then the same command finishes the run with the
    numbers of an uninterrupted one, and no temp file is left."""
    base = ["--d", "4", "--T", "12", "--generations", "80", "--replicates", "8000", "--checkpoint-every", "0",
            "--no-theory", "--quiet"]
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "experiments.gen_loop", *base, "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if when == "running":
        deadline = time.monotonic() + 240
        while not (out / "checkpoint.npz").exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
    else:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 130, err
    assert err.strip().splitlines() == [
        "gen_loop: interrupted; rerun the same command to resume from the last checkpoint"]
    assert not list(tmp_path.rglob(".*.tmp")) and not (out / ".lock").exists()
    assert not (out / "results.jsonl").exists()
    if when == "importing":
        assert not out.exists()
        return
    assert gen_loop.main([*base, "--out", str(out)]) == 0
    assert gen_loop.main([*base, "--out", str(tmp_path / "clean")]) == 0
    with np.load(out / "samples.npz") as a, np.load(tmp_path / "clean" / "samples.npz") as b:
        np.testing.assert_array_equal(a["E_test"], b["E_test"])
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in (tmp_path / "clean").iterdir())


def test_a_folder_holding_another_run_is_refused(tmp_path):
    args = ["--d", "3", "--T", "10", "--generations", "2", "--replicates", "8", "--quiet", "--out", str(tmp_path)]
    assert gen_loop.main(args) == 0
    assert gen_loop.main([*args, "--seed", "1"]) == 2
    assert gen_loop.main([*args, "--seed", "1", "--overwrite"]) == 0


BAD = [
    (["--d", "10", "--T", "10"], "T must exceed d+1 for OLS theory; got T=10, d=10"),
    (["--sigma", "-1"], "sigma must be >= 0; got sigma=-1.0"),
    (["--replicates", "0"], "replicates must be an integer >= 1; got replicates=0"),
    (["--mode", "sideways"], "argument --mode: invalid choice: 'sideways'"),
    (["--model", "oracle"], "model must be one of linear, gaussian"),
    (["--preset", "nope"], "preset must be one of linear-modes"),
    (["--model", "eigen", "--mode", "accumulate"], "unrecognized arguments: --mode accumulate"),
    (["--mix-ratio", "2"], "mix_ratio must be given only with --mode mix"),
    (["--publish"], "publish must be used with --preset"),
    (["--preset", "verify-vs-n", "--model", "linear"], "model must be gmm-classify"),
    (["--sigma", "inf"], "sigma must be a finite number"),
    (["--seed", "9223372036854775808"], "seed must be"),
    (["--out", "/proc/forbidden"], "out must be a writable folder"),
]


def _cli(argv, capsys) -> tuple[int, str, str]:
    """gen_loop in this process (exit status, stdout, stderr); argparse's own errors exit through SystemExit."""
    try:
        code = gen_loop.main(argv)
    except SystemExit as stop:
        code = stop.code
    out, err = capsys.readouterr()
    return code, out, err


# Two cases go through the script itself (a fresh interpreter: no traceback anywhere on the way out, one for a
# ConfigError and one for an argparse error); the rest run in-process — the same main, without a JAX import each.
SCRIPT_CASES = {0, 3}


@pytest.mark.parametrize("case", range(len(BAD)))
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, capsys):
    argv, message = BAD[case]
    argv = [*argv, *(["--out", str(tmp_path / "run")] if "--out" not in argv else []), "--quiet"]
    if case in SCRIPT_CASES:
        proc = subprocess.run([sys.executable, "-m", "experiments.gen_loop", *argv], capture_output=True, text=True,
                              cwd=ROOT, timeout=120, env={**os.environ, "JAX_PLATFORMS": "cpu"})
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    else:
        code, out, err = _cli(argv, capsys)
    assert code == 2
    assert err.strip().splitlines() == [f"gen_loop: error: {err.split('error: ', 1)[1].strip()}"]
    assert message in err and "Traceback" not in err and out == ""
    assert not (tmp_path / "run").exists()


def test_bare_help_lists_every_study_and_preset(capsys):
    assert gen_loop.main(["--help"]) == 0
    text = capsys.readouterr().out
    for name in catalog.studies():
        assert f"  {name} " in text
    for name, preset in catalog.presets().items():
        assert name in text and preset.cpu_time in text


def test_a_preset_takes_every_flag_of_its_study(tmp_path):
    """One override rule: preset < config file < flags, for every setting (d = 60 reaches every member)."""
    study, preset, file_settings = gen_loop.select(["--preset", "linear-overparam", "--d", "60"])
    args = gen_loop.build_parser(study).parse_args(["--preset", "linear-overparam", "--d", "60"])
    runs, _, _ = gen_loop.resolve(study, preset, file_settings, args)
    built = gen_loop.engine_runs(study, runs)
    assert len(built) == 6 and all(fam.d == 60 for _, _, fam, _, _ in built)
    assert {fam.T for _, _, fam, _, _ in built} == {10, 25, 40}


def test_a_preset_run_leaves_figures_alone_unless_published(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    args = ["--preset", "linear-overparam", "--replicates", "8", "--generations", "2", "--quiet"]
    assert gen_loop.main(args) == 0
    assert (tmp_path / "runs" / "preset-linear-overparam" / "figure.png").exists()
    assert (tmp_path / "runs" / "preset-linear-overparam" / "report.md").exists()
    assert not (tmp_path / "figures").exists()
    assert gen_loop.main([*args, "--publish"]) == 0
    assert (tmp_path / "figures" / "linear-overparam.png").exists()


def test_importing_the_cli_leaves_precision_alone():
    import subprocess

    code = "import jax; import experiments.gen_loop; print(jax.config.jax_enable_x64)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.stdout.strip() == "False"


@pytest.mark.slow
def test_linear_modes_preset_runs_and_agrees(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert gen_loop.main(["--preset", "linear-modes", "--quiet", "--replicates", "1000", "--publish"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("AGREES") == 4 and "DISAGREES" not in printed and "VIOLATES" not in printed
    assert (tmp_path / "figures" / "linear-modes.png").exists()


def _resolve(argv):
    study, preset, file_settings = gen_loop.select(argv)
    runs, _, _ = gen_loop.resolve(study, preset, file_settings, gen_loop.build_parser(study).parse_args(argv))
    return gen_loop.engine_runs(study, runs)


def test_config_file_sets_values_and_flags_override_it(tmp_path):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({"model": "linear", "mode": "accumulate", "d": 3, "T": 10, "generations": 3,
                               "replicates": 20, "seed": 7, "z_tol": 3.0}))
    ((_, _, family, loop, _),) = _resolve(["--config", str(cfg), "--seed", "8"])
    assert (family.d, family.T, loop.mode, loop.generations, loop.seed) == (3, 10, "accumulate", 3, 8)
    cfg.write_text(json.dumps({"model": "gaussian", "T": 5}))
    ((_, _, family, _, _),) = _resolve(["--config", str(cfg)])
    assert type(family).__name__ == "Gaussian" and family.T == 5  # the model key of a config file is honoured
    cfg.write_text(json.dumps({"dimension": 3}))
    with pytest.raises(gen_loop.ConfigError, match="config must be a setting of study linear"):
        _resolve(["--config", str(cfg)])
    cfg.write_text(json.dumps({"generations": True}))
    with pytest.raises(gen_loop.ConfigError, match="generations must be an integer"):
        _resolve(["--config", str(cfg)])
