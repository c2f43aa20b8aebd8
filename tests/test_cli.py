"""gen_loop: the issue's example commands, the run folder it writes, bad input, and resuming."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments import gen_loop
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
    assert {"jax", "numpy", "backend", "devices", "python"} <= set(record)
    with np.load(out / "samples.npz") as z:
        assert z["E_test"].shape == (5, 2000)
    assert (out / "figure.png").read_bytes()[:4] == b"\x89PNG"
    assert not (out / "checkpoint.npz").exists()


def test_a_finished_run_is_reported_not_recomputed(tmp_path, capsys, monkeypatch):
    args = [*EXAMPLE[:-4], "--replicates", "50", "--out", str(tmp_path), "--quiet", "--mode", "replace"]
    assert gen_loop.main(args) == 0
    capsys.readouterr()
    monkeypatch.setattr(gen_loop, "Loop", None)  # would fail if the loop ran again
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
    (["--model", "oracle"], "argument --model: invalid choice: 'oracle'"),
    (["--out", "/proc/forbidden"], "out must be a writable folder"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, message, tmp_path):
    out = ["--out", str(tmp_path / "run")] if "--out" not in argv else []
    proc = subprocess.run([sys.executable, "-m", "experiments.gen_loop", *argv, *out, "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"gen_loop: error: {proc.stderr.split('error: ', 1)[1].strip()}"]
    assert message in proc.stderr and "Traceback" not in proc.stderr and proc.stdout == ""
    assert not (tmp_path / "run").exists()


def test_help_documents_every_flag():
    text = gen_loop.build_parser().format_help()
    for flag in ["--model", "--mode", "--d", "--T", "--M", "--sigma", "--sigma0", "--ridge", "--covariance",
                 "--design", "--generations", "--replicates", "--seed", "--out", "--mix-ratio", "--real-weight",
                 "--budget", "--config"]:
        assert flag in text


def test_every_preset_member_is_a_valid_config():
    from collapse.config import LoopConfig
    from experiments.presets import PRESETS
    from experiments.registry import MODELS

    for preset in PRESETS.values():
        for r in preset.runs:
            spec = MODELS[r.model]
            gen_loop.theory_for(spec, spec.family_cls(**r.family), LoopConfig(**r.loop), True)


@pytest.mark.slow
def test_linear_modes_preset_runs_and_agrees(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert gen_loop.main(["--preset", "linear-modes", "--quiet", "--replicates", "1000"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("AGREES") == 4 and "DISAGREES" not in printed and "VIOLATES" not in printed
    assert (tmp_path / "figures" / "linear-modes.png").exists()


def test_config_file_sets_values_and_flags_override_it(tmp_path):
    cfg = tmp_path / "run.json"
    cfg.write_text(json.dumps({"model": "linear", "mode": "accumulate", "d": 3, "T": 10, "generations": 3,
                               "replicates": 20, "seed": 7}))
    spec, family, loop = gen_loop.resolve(gen_loop.build_parser().parse_args(["--config", str(cfg), "--seed", "8"]))
    assert (family.d, family.T, loop.mode, loop.generations, loop.seed) == (3, 10, "accumulate", 3, 8)
    cfg.write_text(json.dumps({"dimension": 3}))
    with pytest.raises(gen_loop.ConfigError, match="config must be a known setting"):
        gen_loop.resolve(gen_loop.build_parser().parse_args(["--config", str(cfg)]))
