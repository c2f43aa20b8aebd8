"""The Gaussian family: weighted fits, the M schedule, W₂ in closed form, bad input, and the CLI."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg

from collapse import LoopConfig, run_loop
from collapse.errors import ConfigError
from collapse.families.base import Segment
from collapse.families.gaussian import Gaussian, GaussianData, GaussianParams
from experiments import gen_loop


def _block(x):
    return GaussianData(jnp.asarray(x), jnp.ones(len(x)), jnp.ones(len(x), jnp.int32))


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_fit_matches_numpy_with_weights(estimator):
    rng = np.random.default_rng(0)
    fam = Gaussian(d=3, T=20, estimator=estimator)
    world = fam.setup(jax.random.key(0), 20)
    x, y = rng.standard_normal((20, 3)), rng.standard_normal((2, 15, 3)) + 1
    wy = np.array([[1.0] * 15, [1.0] * 10 + [0.0] * 5])  # the second block's last 5 samples are absent
    segs = (Segment(_block(x), jnp.ones(20), True, True),
            Segment(GaussianData(jnp.asarray(y), jnp.ones((2, 15)), jnp.full((2, 15), 3, jnp.int32)),
                    jnp.asarray(wy), False, False))
    p = fam.fit(world, segs)
    kept = np.concatenate([x, y[0], y[1, :10]])
    np.testing.assert_allclose(np.asarray(p.mean), kept.mean(0), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(p.cov), np.cov(kept.T, bias=estimator == "mle"), rtol=1e-12)
    assert int(p.generation) == 3 and int(p.count) == 45


def test_unbiased_reliability_weights_reduce_to_n_minus_one():
    """Fresh mode weights each block by w/n: the unbiased divisor V₁ − V₂/V₁ keeps E Σ̂ = Σ for equal weights."""
    fam = Gaussian(d=1, T=8)
    x = np.random.default_rng(1).standard_normal((8, 1))
    p = fam.fit(None, (Segment(_block(x), jnp.full(8, 0.125), True, True),))
    np.testing.assert_allclose(float(p.cov[0, 0]), np.var(x, ddof=1), rtol=1e-12)


def test_schedule_sets_the_fitted_sample_size():
    fam = Gaussian(d=1, T=10, M_schedule=(5, 20, 40))
    m = run_loop(fam, LoopConfig(mode="replace", generations=6, replicates=8))
    np.testing.assert_array_equal(m["fit_size"][:, 0], [10, 5, 20, 40, 40, 40])
    np.testing.assert_array_equal(fam.sizes(6), [10, 5, 20, 40, 40, 40])
    assert fam.synth_size == 40


def test_w2_is_the_bures_formula():
    fam = Gaussian(d=3, T=10, cov=((2.0, 0.5, 0.0), (0.5, 1.0, 0.3), (0.0, 0.3, 0.5)))
    world = fam.setup(jax.random.key(0), 10)
    a = np.random.default_rng(2).standard_normal((3, 3))
    cov_hat, mean_hat = a @ a.T + 0.1 * np.eye(3), np.array([0.3, -0.2, 1.0])
    metrics = fam.score(None, world, GaussianParams(jnp.asarray(mean_hat), jnp.asarray(cov_hat), 1, jnp.array(10)))
    s = linalg.sqrtm(np.asarray(world.cov)).real
    bures = np.trace(cov_hat) + np.trace(np.asarray(world.cov)) - 2 * np.trace(linalg.sqrtm(s @ cov_hat @ s).real)
    np.testing.assert_allclose(float(metrics["w2"]), np.sum(mean_hat**2) + bures, rtol=1e-10)
    np.testing.assert_allclose(float(metrics["logdet_ratio"]),
                               np.linalg.slogdet(cov_hat)[1] - np.linalg.slogdet(np.asarray(world.cov))[1], rtol=1e-10)
    zero = fam.score(None, world, GaussianParams(world.mu, world.cov, 1, jnp.array(10)))
    assert abs(float(zero["w2"])) < 1e-12


@pytest.mark.parametrize("kw, param", [
    ({"T": 1}, "T"),  # M < 2 with the unbiased estimator
    ({"M": 1}, "M"),
    ({"M_schedule": (4, 1)}, "M_schedule"),
    ({"d": 3, "T": 3}, "T"),  # singular Σ̂
    ({"d": 2, "cov": ((1.0, 2.0), (2.0, 1.0))}, "cov"),  # not positive definite
    ({"d": 2, "cov": ((1.0, 0.5), (0.4, 1.0))}, "cov"),  # not symmetric
    ({"d": 3, "rho": -0.6}, "rho"),
    ({"M": 10, "M_schedule": (5,)}, "M"),
    ({"estimator": "biased"}, "estimator"),
])
def test_degenerate_input_is_refused_in_one_line(kw, param):
    with pytest.raises(ConfigError) as err:
        Gaussian(**kw)
    assert err.value.param == param and "\n" not in str(err.value) and "must be" in str(err.value)


def test_mle_allows_what_unbiased_refuses_only_when_nonsingular():
    Gaussian(T=2, estimator="mle")
    with pytest.raises(ConfigError):
        Gaussian(T=1, estimator="mle")  # d + 1 = 2 still needed for a nonsingular fit
    Gaussian(T=1, refit="mean")  # known covariance: one sample is enough


@pytest.mark.parametrize("argv", [
    ["--model", "gaussian", "--T", "1"],
    ["--model", "gaussian", "--d", "2", "--cov", "1,2;2,1"],
    ["--model", "gaussian", "--M-schedule", "5,x"],
    ["--model", "gmm", "--K", "4", "--M", "3"],
])
def test_cli_exits_2_on_bad_input(argv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:
        code = gen_loop.main([*argv, "--out", str(tmp_path), "--quiet"])
        raise SystemExit(code)
    assert exited.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("gen_loop: error:")


def test_cli_runs_a_gaussian_loop_with_theory(tmp_path, capsys):
    out = tmp_path / "g"
    argv = ["--model", "gaussian", "--T", "10", "--M-schedule", "10,20", "--generations", "4", "--replicates",
            "3000", "--mode", "accumulate", "--estimator", "mle", "--out", str(out), "--quiet"]
    assert gen_loop.main(argv) == 0
    printed = capsys.readouterr().out
    assert "DISAGREES" not in printed and printed.count("AGREES") == 2
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {r["metric"] for r in rows} >= {"w2", "var", "log_var", "sd", "mean_err", "fit_size"}
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["family"]["M_schedule"] == [10, 20]
