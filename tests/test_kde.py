"""The KDE family: bad input, the closed-form metrics against direct computation, and every data policy."""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import integrate, stats

from collapse import LoopConfig, run_loop
from collapse.config import MODES
from collapse.errors import ConfigError
from collapse.families.base import Segment
from collapse.families.kde import KDE, KDEData, sliced_w2


@pytest.mark.parametrize("kwargs, param", [
    ({"bandwidth": "fixed", "h": 0.0}, "h"), ({"h": -1.0}, "h"), ({"h": float("nan")}, "h"),
    ({"d": 11}, "d"), ({"d": 0}, "d"), ({"d": True}, "d"), ({"truth": "spiral"}, "truth"),
    ({"truth": "moons", "d": 3}, "d"), ({"bandwidth": "lscv"}, "bandwidth"), ({"T": 1}, "T"),
    ({"factor": 1.5}, "factor"), ({"holdout": -1}, "holdout"), ({"score_l2": 1}, "score_l2")])
def test_bad_input_is_one_config_error(kwargs, param):
    with pytest.raises(ConfigError) as err:
        KDE(**kwargs)
    assert err.value.param == param and "\n" not in str(err.value)


def _fit(fam, x, w=None):
    x = jnp.asarray(x, float).reshape(len(x), fam.d)
    uniform = w is None
    w = jnp.ones(len(x)) if w is None else jnp.asarray(w, float)
    world = fam.setup(jax.random.key(0), fam.synth_size)
    return world, fam.fit(world, (Segment(KDEData(x), w, True, uniform),))


def test_l2_and_heldout_ll_match_direct_integration_1d():
    fam = KDE(d=1, T=5, truth="gmm", K=2, separation=2.0, std=0.7, bandwidth="silverman", holdout=50)
    centres = np.array([-1.0, -0.3, 0.2, 1.5, 2.5])
    weights = np.array([1.0, 2.0, 0.0, 1.0, 1.0])
    world, p = _fit(fam, centres, weights)
    h = float(np.sqrt(p.bw[0, 0]))
    wn = weights / weights.sum()
    neff = 1 / np.sum(wn**2)  # the rule's effective size and reliability-weighted variance
    var = np.sum(wn * (centres - wn @ centres) ** 2) / (1 - np.sum(wn**2))
    assert math.isclose(h**2, (neff * 3 / 4) ** (-0.4) * var, rel_tol=1e-10)
    kde = lambda x: np.sum(wn * stats.norm.pdf(x, centres, h))  # noqa: E731
    true = lambda x: 0.5 * (stats.norm.pdf(x, -1, 0.7) + stats.norm.pdf(x, 1, 0.7))  # noqa: E731
    l2 = integrate.quad(lambda x: (kde(x) - true(x)) ** 2, -12, 12, limit=200)[0]
    out = fam.score(jax.random.key(1), world, p)
    assert math.isclose(float(out["l2"]), l2, rel_tol=1e-7)
    ll = np.mean([math.log(kde(x)) for x in np.asarray(world.x_heldout)[:, 0]])
    assert math.isclose(float(out["heldout_ll"]), ll, rel_tol=1e-9)
    trace = np.sum(wn * (centres - wn @ centres) ** 2) + h**2
    assert math.isclose(float(out["trace"]), trace, rel_tol=1e-10)


def test_l2_in_2d_by_monte_carlo_and_zero_weight_padding_changes_nothing():
    fam = KDE(d=2, T=6, truth="gaussian", std=1.3, bandwidth="scott")
    x = np.random.default_rng(0).standard_normal((6, 2))
    world, p = _fit(fam, x)
    padded = fam.pad_params(p, dataclasses.replace(p, centres=jnp.zeros((40, 2)), weights=jnp.zeros(40)))
    assert p.equal and padded.equal and int(padded.count) == 6
    a, b = fam.score(jax.random.key(2), world, p), fam.score(jax.random.key(2), world, padded)
    for k in ("l2", "trace", "heldout_ll", "sw"):
        assert math.isclose(float(a[k]), float(b[k]), rel_tol=1e-9), k
    # ∫(p̂ − p)² = E_{u~U(box)}[(p̂ − p)²]·|box| with a large box
    rng = np.random.default_rng(1)
    u = rng.uniform(-8, 8, (100_000, 2))
    kde = stats.multivariate_normal(cov=np.asarray(p.bw))
    pk = np.mean([kde.pdf(u - c) for c in x], axis=0)
    f = (pk - stats.multivariate_normal(cov=1.69 * np.eye(2)).pdf(u)) ** 2 * 256
    assert abs(f.mean() - float(a["l2"])) < 4 * f.std() / math.sqrt(len(u))


def test_generate_draws_from_the_weighted_mixture():
    fam = KDE(d=1, T=3, bandwidth="fixed", h=0.1)
    world, p = _fit(fam, [0.0, 5.0, 10.0], [1.0, 0.0, 3.0])
    assert not p.equal  # unequal weights: the binary-search path
    x = np.asarray(fam.generate(jax.random.key(3), world, p, 20_000).x)[:, 0]
    near10 = np.mean(np.abs(x - 10) < 1)
    assert np.all((np.abs(x) < 1) | (np.abs(x - 10) < 1))  # the zero-weight centre is never picked
    assert abs(near10 - 0.75) < 4 * math.sqrt(0.75 * 0.25 / x.size)


@pytest.mark.parametrize("truth", ["gaussian", "gmm", "moons", "rings"])
def test_truth_trace_by_sampling(truth):
    fam = KDE(d=2, truth=truth, K=3, noise=0.2)
    x = np.asarray(fam.sample_truth(jax.random.key(4), 200_000, fam._gmm_means()))
    tr = np.sum(x.var(0))
    se = math.sqrt(np.var(np.sum((x - x.mean(0)) ** 2, 1)) / len(x))
    assert abs(tr - fam.truth_trace()) < 4 * se


def test_sliced_w2_of_a_shift_is_its_squared_length():
    a = jax.random.normal(jax.random.key(5), (500, 2))
    assert math.isclose(float(sliced_w2(jax.random.key(6), a, a + jnp.array([3.0, 0.0]), 4000)), 4.5, rel_tol=0.05)
    assert float(sliced_w2(jax.random.key(6), a, a, 10)) == 0.0


@pytest.mark.slow
@pytest.mark.parametrize("mode", [m for m in MODES if m != "edit"] + ["edit"])
def test_every_policy_runs_vmapped(mode):
    fam = KDE(d=2, T=12, truth="moons", sw_samples=16, projections=4, holdout=20)
    m = run_loop(fam, LoopConfig(mode=mode, generations=4, replicates=8, seed=0))
    for name in ("trace", "bw", "heldout_ll", "sw"):
        assert m[name].shape == (4, 8) and np.all(np.isfinite(m[name])), name


@pytest.mark.slow
def test_accumulate_runs_with_a_growing_pool():
    fam = KDE(d=1, T=8, M=4, holdout=10, sw_samples=8, projections=2)
    m = run_loop(fam, LoopConfig(mode="accumulate", generations=4, replicates=4, seed=0))
    assert list(m["train_size"][:, 0]) == [8, 12, 16, 20] and np.all(m["l2"] >= 0)


def test_replace_with_fewer_synthetic_than_real_points():
    """M < T: later fits are padded with zero-weight centres to generation 1's T (one shape for the scan)."""
    fam = KDE(d=1, T=8, M=5, bandwidth="fixed", h=0.2, holdout=0, score_l2=False, sw_samples=2, projections=1)
    m = run_loop(fam, LoopConfig(mode="replace", generations=3, replicates=4, seed=0))
    assert list(m["train_size"][:, 0]) == [8, 5, 5] and np.all(np.isfinite(m["trace"]))


def test_equal_weights_draw_every_centre_uniformly():
    fam = KDE(d=1, T=4, bandwidth="fixed", h=0.01)
    world, p = _fit(fam, [0.0, 1.0, 2.0, 3.0])
    assert p.equal
    x = np.round(np.asarray(fam.generate(jax.random.key(4), world, p, 40_000).x)[:, 0])
    share = np.array([np.mean(x == c) for c in range(4)])
    assert np.all(np.abs(share - 0.25) < 4 * math.sqrt(0.25 * 0.75 / x.size))
