"""The bad-input matrix: every flag of every study in the catalog, given a value of the wrong kind, and the cases
users met (non-finite and huge floats, seeds beyond 64 bits, flags the mode ignores, runs too large for memory…).
Each must exit with status 2 and one line naming the parameter — no traceback, no file written — and be refused
before anything is compiled."""

import dataclasses
import json
import typing

import pytest

from collapse.config import LoopConfig
from experiments import catalog, gen_loop
from experiments.fields import field_choices, flag

BAD_BY_TYPE = {int: ["2.5"], float: ["inf", "nan", "1e300"], bool: ["maybe"]}


def _bad_values(cls, f):
    hint = typing.get_type_hints(cls)[f.name]
    args = [a for a in typing.get_args(hint) if a is not type(None)] if typing.get_origin(hint) in (
        typing.Union, __import__("types").UnionType) else [hint]
    hint = args[0]
    if field_choices(cls, f.name) is not None:
        return ["bogus-choice"]
    if typing.get_origin(hint) is tuple:
        inner = typing.get_args(hint)[0]
        if typing.get_origin(inner) is tuple:
            return ["1,x;2,3"]
        return ["1,x"] if inner in (int, float) else []
    return BAD_BY_TYPE.get(hint, [])


def _cases():
    for study in catalog.studies().values():
        fields = list(study.fields())
        if study.runner == "engine":
            fields += [f for f in dataclasses.fields(LoopConfig) if f.name not in ("edit_masks", "seed", "replicates")]
        for f in fields:
            cls = study.config_cls if f in study.fields() else LoopConfig
            for value in _bad_values(cls, f):
                yield pytest.param(study.name, [flag(f.name), value], f.name.replace("_", "-") if value in (
                    "2.5", "maybe", "bogus-choice", "1,x", "1,x;2,3") else f.name, id=f"{study.name}-{f.name}={value}")
        for argv, param in ((["--replicates", "0"], "replicates"), (["--seed", "-1"], "seed"),
                            (["--seed", "9223372036854775808"], "seed"), (["--seed", "1.5"], "seed")):
            yield pytest.param(study.name, argv, param, id=f"{study.name}-{argv[0]}={argv[1]}")


def _run(argv, tmp_path, capsys):
    try:
        code = gen_loop.main([*argv, "--out", str(tmp_path / "run"), "--quiet"])
    except SystemExit as stop:  # argparse rejects a value before main's own handling
        code = stop.code
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


@pytest.mark.parametrize("study, argv, param", list(_cases()))
def test_every_flag_refuses_a_bad_value_in_one_line(study, argv, param, tmp_path, capsys):
    code, err = _run(["--model", study, *argv], tmp_path, capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("gen_loop: error:") and param in err[0], err
    assert not (tmp_path / "run").exists()


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(json.dumps(content))
    return str(path)


SPECIFIC = [
    (["--sigma", "1e300"], "sigma"), (["--ridge", "inf"], "ridge"), (["--w-norm", "inf"], "w_norm"),
    (["--model", "gaussian", "--std", "1e200"], "std"), (["--model", "gaussian", "--mu", "nan"], "mu"),
    (["--model", "gmm", "--separation", "inf"], "separation"), (["--model", "gmm-classify", "--mu-norm", "inf"],
                                                                 "mu_norm"),
    (["--mode", "mix", "--mix-ratio", "inf"], "mix_ratio"), (["--mode", "mix", "--mix-ratio", "1e12"], "mix_ratio"),
    (["--z-tol", "nan"], "z_tol"), (["--z-tol", "-1"], "z_tol"), (["--checkpoint-every", "-1"], "checkpoint_every"),
    (["--checkpoint-every", "nan"], "checkpoint_every"),
    (["--mix-ratio", "2"], "mix_ratio"), (["--edit-fraction", "0.2"], "edit_fraction"),
    (["--mode", "accumulate-subsample", "--budget", "100000", "--generations", "3"], "budget"),
    pytest.param(["--d", "20000", "--T", "40000"], "replicates", marks=pytest.mark.slow),  # 50 s of tracing
    (["--replicates", "2000000000"], "replicates"),
    (["--mode", "accumulate", "--generations", "10000000"], "replicates"),
    (["--preset", "verify-vs-n", "--model", "linear"], "model"),
    (["--model", "transformer", "--replicates", "1", "--T", "4", "--steps", "2", "--warmup", "1"], "replicates"),
    (["--model", "transformer", "--lr", "inf"], "lr"),
    (["--model", "eigen", "--k", "0"], "k"), (["--model", "eigen", "--mode", "replace"], "--mode"),
    (["--model", "summarize", "--pool-sizes", "0"], "pool_sizes"),
    (["--mode", "edit", "--edit-schedule", "explicit", "--edit-masks", "MASKS3"], "edit_masks"),
]


@pytest.mark.parametrize("argv, param", SPECIFIC, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_reported_cases_are_refused_in_one_line(argv, param, tmp_path, capsys):
    argv = [_write(tmp_path, "masks.json", [[1, 0, 1]] * 9) if a == "MASKS3" else a for a in argv]
    code, err = _run(argv, tmp_path, capsys)
    assert code == 2 and len(err) == 1, err
    assert param in err[0], err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("content, param", [
    ({"generations": True}, "generations"), ({"seed": 1.5}, "seed"), ({"d": "ten"}, "d"),
    ({"covariance": ["isotropic"]}, "covariance"), ({"model": "eigen", "k": 0}, "k"),
    ({"model": "eigen", "pool_sizes": "1000"}, "pool_sizes"), ({"model": "gaussian", "M_schedule": "10"}, "M_schedule"),
    ({"overwrite": "yes please", "d": 3}, "overwrite"), ({"sideways": 1}, "config"),
    ({"mode": "edit", "edit_schedule": "explicit", "edit_masks": [[1, 0]] * 9}, "edit_masks"),
])
def test_config_files_are_checked_like_flags(content, param, tmp_path, capsys):
    code, err = _run(["--config", _write(tmp_path, "c.json", content)], tmp_path, capsys)
    assert code == 2 and len(err) == 1 and param in err[0], err
    assert not (tmp_path / "run").exists()


TINY_LM = ["--context", "16", "--width", "16", "--heads", "2", "--depth", "1", "--T", "4", "--steps", "3",
           "--warmup", "1", "--batch", "2", "--holdout", "2"]


def test_a_diverged_engine_run_names_its_non_finite_metrics_and_exits_3(tmp_path, capsys):
    code, err = _run(["--model", "transformer", *TINY_LM, "--diag-samples", "2", "--lr", "1e9", "--generations", "2"],
                     tmp_path, capsys)
    assert code == 3 and any("non-finite" in line and "heldout_ppl" in line for line in err), err
    rows = [json.loads(line) for line in (tmp_path / "run" / "results.jsonl").read_text().splitlines()]
    assert any(r["nonfinite"] for r in rows if r["metric"] == "heldout_ppl")
    assert "Non-finite values" in (tmp_path / "run" / "report.md").read_text()


def test_a_diverged_seed_is_stopped_named_and_not_saved(tmp_path, capsys):
    code, err = _run(["--model", "eigen", "--n", "2", "--width", "16", "--heads", "2", "--enc-depth", "1",
                      "--n-real", "8", "--pool-sizes", "4", "--steps", "4", "--batch", "2", "--test-size", "2",
                      "--decode-batch", "2", "--rules", "top", "--lr", "1e9"], tmp_path, capsys)
    assert code == 3 and len(err) == 1 and "diverged" in err[0] and "seed 0" in err[0], err
    assert not (tmp_path / "run" / "seed-0.json").exists()


def test_a_folder_another_live_process_writes_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    import subprocess
    import sys

    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / ".lock").write_text(str(holder.pid))
        (out / ".results.jsonl.abc.tmp").write_text("half a file")
        code, err = _run(["--d", "3", "--T", "9", "--generations", "2", "--replicates", "4"], tmp_path, capsys)
        assert code == 2 and len(err) == 1 and f"process {holder.pid} holds its lock" in err[0], err
    finally:
        holder.kill()
        holder.wait()
    code, err = _run(["--d", "3", "--T", "9", "--generations", "2", "--replicates", "4"], tmp_path, capsys)
    assert code == 0, err  # the owner is gone: the stale lock is taken over, its stray temp file removed
    assert not (out / ".lock").exists() and not list(out.glob(".*.tmp")) and (out / "figure.png").exists()
