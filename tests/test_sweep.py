"""Sweeps (--sweep and experiments.sweep.sweep), the persistent compilation cache, and the API page's examples."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from collapse.errors import ConfigError
from experiments import gen_loop
from experiments.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]


def test_a_sweep_runs_every_grid_point_against_theory(tmp_path, capsys):
    args = ["--model", "linear", "--sweep", "T=20,40", "--sweep", "mode=replace,accumulate", "--d", "5",
            "--generations", "3", "--replicates", "400", "--out", str(tmp_path), "--quiet"]
    assert gen_loop.main(args) == 0
    printed = capsys.readouterr().out
    assert printed.count("AGREES") >= 4 and "DISAGREES" not in printed
    table = (tmp_path / "report.md").read_text()
    for point in ("T=20, mode=replace", "T=40, mode=accumulate"):
        assert point in table
    assert (tmp_path / "figure.png").exists() and len(list(tmp_path.glob("T_*"))) == 4
    assert re.search(r"\d+\.\d s \(\d+\.\d s\)", table)  # wall time with compile time beside it


@pytest.mark.parametrize("argv, param", [(["--sweep", "T"], "sweep"), (["--sweep", "nope=1,2"], "sweep"),
                                         (["--sweep", "T=20,x"], "sweep"), (["--sweep", "T=20,40", "--T", "30"], "T"),
                                         (["--preset", "linear-modes", "--sweep", "T=20,40"], "sweep"),
                                         (["--model", "eigen", "--sweep", "k=1,2"], "--sweep")])
def test_bad_sweeps_are_refused(argv, param, tmp_path, capsys):
    try:
        code = gen_loop.main([*argv, "--out", str(tmp_path / "run"), "--quiet"])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and param in err[0], err


def test_the_sweep_api_returns_checked_runs(tmp_path):
    runs = sweep("gaussian", {"T": [5, 10]}, {"d": 1, "generations": 3, "replicates": 300}, out=tmp_path)
    assert [r.family.T for r in runs] == [5, 10]
    assert all(r.checks and all(c.agree for c in r.checks) for r in runs)
    with pytest.raises(ConfigError):
        sweep("gaussian", {"T": ["many"]})


def test_the_compile_cache_is_written_and_can_be_switched_off(tmp_path):
    """In fresh processes (JAX sets its cache up at the first compile of a process)."""
    env = {**os.environ, "COLLAPSE_COMPILE_CACHE": "1", "XDG_CACHE_HOME": str(tmp_path / "cache"),
           "JAX_PLATFORMS": "cpu"}
    args = [sys.executable, "-m", "experiments.gen_loop", "--d", "3", "--T", "9", "--generations", "2",
            "--replicates", "4", "--quiet"]
    run = lambda *extra: subprocess.run([*args, *extra], cwd=ROOT, env=env, capture_output=True, timeout=600)  # noqa: E731
    assert run("--out", str(tmp_path / "a"), "--no-compile-cache").returncode == 0
    assert not (tmp_path / "cache" / "collapse").exists()  # (matplotlib may keep its own cache there)
    assert run("--out", str(tmp_path / "b")).returncode == 0
    assert any((tmp_path / "cache" / "collapse" / "jax").iterdir())


def test_the_api_page_examples_run(tmp_path, monkeypatch):
    """docs/api.md: every python block runs as written (a user's ≤ 20-line script from that page alone)."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "docs" / "api.md").read_text(), re.S)
    assert len(blocks) >= 4
    env = {}
    for block in blocks:
        if "values, " in block:  # the one-line fragment that uses the reader's own values
            env["values"] = np.linspace(0, 1, 10)
        exec(compile(block.replace("replicates=2000", "replicates=300"), "docs/api.md", "exec"), env)
    assert (tmp_path / "accumulate.png").exists()
    json.dumps(env["m"]["E_test"].tolist())
