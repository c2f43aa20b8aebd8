"""The accelerator check runs end to end on CPU with ``--smoke`` (every part tiny, each in its own subprocess).

Slow: every part compiles its own programs in a fresh process (≈ 60 s of CPU in all; 6 min of wall time on a
shared, oversubscribed 2-core machine)."""

import json
import os
import subprocess
import sys

import pytest


@pytest.mark.slow
def test_smoke_run_writes_a_complete_summary(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = tmp_path / "check.json"
    env = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.run([sys.executable, "-m", "benchmarks.accelerator_check", "--smoke", "--out", str(out)],
                          env=env, cwd=root, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary = json.loads(out.read_text())
    parts = summary["parts"]
    assert set(parts) == {"env", "engine", "lm", "lm_replicates", "eigen", "summarize", "torch"}
    assert all(p["status"] == "ok" for p in parts.values()), parts
    assert parts["env"]["device_count"] >= 1 and parts["env"]["versions"]["jax"]
    assert parts["engine"]["repeatable"] and parts["engine"]["replicate_generations_per_s"] > 0
    for name in ("lm", "lm_replicates"):
        assert parts[name]["tokens_per_s"] > 0 and 0 < parts[name]["mfu"] and parts[name]["loss_finite"]
    for name in ("eigen", "summarize"):
        assert parts[name]["no_nan"] and parts[name]["loss_falls"], parts[name]
    assert "skipped" in parts["torch"] or parts["torch"]["tokens_per_s"] > 0
    assert summary["verdicts"] == {}  # tiny sizes are not judged against the accelerator targets


def test_unknown_part_is_refused():
    from benchmarks import accelerator_check

    with pytest.raises(SystemExit) as err:
        accelerator_check.main(["--parts", "engine,gpu-magic", "--out", os.devnull])
    assert err.value.code == 2
