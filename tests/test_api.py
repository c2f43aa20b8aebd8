"""The library as a user meets it: precision, weights, extension points and the public names (docs/api.md)."""

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import collapse
import theory
from collapse import ConfigError, Gaussian, LinearRegression, LoopConfig, Replace, run_loop
from collapse.policies import Fresh, _ones_like_block, weight_dtype
from collapse.testing import assert_agrees


def test_the_engine_runs_in_float64_whatever_the_global_flag():
    """Shumailov's setting (T = 10, 200 generations) reached var == 0 in float32; the loop now enables x64 itself."""
    fam, cfg = Gaussian(d=1, T=10), LoopConfig(generations=200, replicates=200)
    with jax.enable_x64(False):
        metrics = run_loop(fam, cfg)
    assert metrics["var"].dtype == np.float64 and np.all(metrics["var"] > 0)
    assert np.isfinite(metrics["log_var"]).all()
    curve = next(c for c in theory.gaussian_theory(fam, cfg) if c.metric == "log_var")
    assert_agrees(metrics["log_var"], curve)


def test_weights_are_float_even_when_the_first_leaf_is_integer():
    block = {"a_counts": jnp.arange(6, dtype=jnp.int32), "b": jnp.ones(6, jnp.float32)}
    assert weight_dtype(block) == jnp.float32 and _ones_like_block(block).dtype == jnp.float32
    only_ints = {"counts": jnp.arange(4, dtype=jnp.int32)}
    assert jnp.issubdtype(weight_dtype(only_ints), jnp.floating)
    real, synth = Fresh(real_weight=0.3).training_set(None, only_ints, only_ints, 2)
    np.testing.assert_allclose(np.asarray(real.weight), 0.3 / 4)  # an integer dtype would have rounded these to 0
    np.testing.assert_allclose(np.asarray(synth.weight), 0.7 / 4)


def test_an_unknown_mode_is_an_error_naming_the_valid_ones():
    with pytest.raises(ConfigError, match="mode must be one of replace, accumulate"):
        LoopConfig(mode="sideways")


@dataclass(frozen=True)
class ReplaceHalf(Replace):
    """Replace, training on the first half of each synthetic block only (a user's policy)."""

    def training_set(self, key, pool, real, n):
        (seg,) = super().training_set(key, pool, real, n)
        half = (jnp.arange(seg.weight.shape[0]) < seg.weight.shape[0] // 2).astype(seg.weight.dtype)
        return (seg._replace(weight=seg.weight * half, uniform=False),)


def test_a_policy_registered_from_outside_runs_in_the_engine():
    collapse.register_policy("replace-half", lambda cfg, family: ReplaceHalf())
    assert "replace-half" in collapse.policy_names()
    fam = LinearRegression(d=3, T=40)
    m = run_loop(fam, LoopConfig(mode="replace-half", generations=3, replicates=500))
    assert np.all(m["train_size"][1:] == 20)  # the policy's weights reached the fit
    # replace on 20 of the 40 synthetic labels: σ²d/(T−d−1) + (n−1)σ²d/(M/2−d−1)
    c = lambda size: 3 / (size - 3 - 1)  # noqa: E731
    expected = np.array([c(40), c(40) + c(20), c(40) + 2 * c(20)])
    assert_agrees(m["E_test"], theory.TheoryCurve("replace on half", expected, "derived in this test"))
    with pytest.raises(ConfigError, match="not one of the built-in"):
        collapse.register_policy("replace", lambda cfg, family: ReplaceHalf())


def test_every_family_names_its_main_metric_and_theory_sets_metrics():
    for fam in (LinearRegression(), Gaussian(), collapse.GaussianMixture(), collapse.GMMClassify()):
        assert isinstance(type(fam).main_metric, str) and type(fam).main_metric
    curve = theory.linear_theory(LinearRegression(d=10, T=40), LoopConfig(generations=3))
    assert curve.metric == "E_test"


def test_sizes_accept_numpy_integers():
    fam = LinearRegression(d=np.int64(4), T=np.int32(20))
    assert type(fam.d) is int and type(fam.T) is int
    assert LoopConfig(generations=np.int64(3), replicates=np.int16(4)).generations == 3
