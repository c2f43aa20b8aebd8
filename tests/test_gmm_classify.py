"""The gmm-classify family: bad input, nothing kept (a reported result, never NaN), the CLI, the iterated loop."""

import json

import numpy as np
import pytest

from collapse import ConfigError, LoopConfig, run_loop
from collapse.families.gmm_classify import GMMClassify
from experiments import gen_loop


@pytest.mark.parametrize("kw, name", [
    ({"phi": 1.5}, "phi"), ({"psi": -0.1}, "psi"), ({"p": 1.01}, "p"), ({"p_class": (0.1, 2.0)}, "p_class"),
    ({"phi_class": (0.5,)}, "phi_class"), ({"verifier": "magic"}, "verifier"), ({"k": 3}, "k"),
    ({"N": 0}, "N"), ({"student": "svm"}, "student"), ({"pi_pos": 1.0}, "pi_pos"),
    ({"student": "logistic", "verifier": "oracle"}, "ridge"), ({"generator_angle": 200.0}, "generator_angle"),
])
def test_bad_input_names_the_parameter(kw, name):
    with pytest.raises(ConfigError) as err:
        GMMClassify(**kw)
    assert err.value.param == name and name in str(err.value)


def test_nothing_kept_is_reported_through_the_cli(tmp_path, capsys):
    """ϕ = ψ = 0: every student trains on nothing; r = 0, accuracy = ½ (the zero rule), q = ½ by convention."""
    out = tmp_path / "empty"
    args = ["--model", "gmm-classify", "--verifier", "phi-psi", "--phi", "0", "--psi", "0", "--p", "0.2",
            "--d", "5", "--N", "200", "--generations", "3", "--replicates", "8", "--out", str(out), "--quiet"]
    assert gen_loop.main(args) == 0
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by = {(r["metric"], r["generation"]): r for r in rows}
    assert by[("accuracy", 1)]["mean"] == pytest.approx(0.8)  # the generator itself
    for g in (2, 3):
        assert by[("r", g)]["mean"] == 0 and by[("accuracy", g)]["mean"] == 0.5 and by[("q", g)]["mean"] == 0.5
    assert all(r["mean"] is not None and np.isfinite(r["mean"]) for r in rows)
    assert "AGREES" in capsys.readouterr().out


def test_nothing_kept_least_squares_with_intercept_is_finite():
    fam = GMMClassify(d=4, N=100, verifier="phi-psi", phi=0.0, psi=0.0, student="ls", intercept=True)
    m = run_loop(fam, LoopConfig(generations=3, replicates=4))
    assert np.all(m["accuracy"][1:] == 0.5) and np.all(m["r"][1:] == 0)
    assert all(np.all(np.isfinite(v)) for v in m.values())


@pytest.mark.slow
def test_logistic_student_reaches_the_bayes_side():
    """Logistic (optax L-BFGS) on label noise p = 0.3 < ½ lands near Bayes; p = 0.7 near 1 − Bayes."""
    for p, side in ((0.3, 1), (0.7, -1)):
        fam = GMMClassify(d=5, N=4000, p=p, student="logistic", ridge=1e-4, intercept=True)
        acc = run_loop(fam, LoopConfig(generations=2, replicates=32))["accuracy"][1]
        assert side * (acc.mean() - 0.5) > 0.25


@pytest.mark.slow
def test_iterated_loop_without_verification_amplifies_the_first_students_side():
    """Beyond the paper: each student labels the next round's data with no verification. Self-labelling moves a
    student away from ½ on the side it started: toward Bayes from p = 0.3, toward 1 − Bayes from p = 0.6."""
    cfg = LoopConfig(generations=6, replicates=200)
    for p, side in ((0.3, 1), (0.6, -1)):
        acc = run_loop(GMMClassify(d=20, N=2000, p=p), cfg)["accuracy"]
        mean, se = acc.mean(1), acc.std(1, ddof=1) / np.sqrt(acc.shape[1])
        assert side * (mean[1] - 0.5) > 0
        assert side * (mean[-1] - mean[1]) > 4 * np.hypot(se[-1], se[1])


@pytest.mark.parametrize("student", ["ls", pytest.param("logistic", marks=pytest.mark.slow)])
def test_chunk_size_changes_memory_not_results(student):
    """Every sample draws from a key folded from its global number: the chunk size (memory) leaves the numbers
    unchanged up to summation order — for every student, selection included."""
    cfg = LoopConfig(mode="replace", generations=3, replicates=4, seed=3)
    kw = dict(d=4, N=700, p=0.3, verifier="phi-psi", phi=0.9, psi=0.4, student=student)
    if student == "logistic":
        kw["ridge"] = 1e-2
    runs = [run_loop(GMMClassify(chunk=c, **kw), cfg) for c in (8192, 97)]
    for other in runs[1:]:
        for name, values in runs[0].items():
            np.testing.assert_allclose(np.asarray(other[name]), np.asarray(values), rtol=1e-9, atol=1e-12,
                                       err_msg=name)
