"""A learned window verifier for linear regression (docs/feedback.md §7): w_v is a ridge / OLS fit on n held-out real
samples, so its offset from the truth is its own estimation error; E_test → E‖w_v − w*‖² + a variance floor."""

import jax
import numpy as np
import pytest

from collapse import ConfigError, LoopConfig
from collapse.engine import run_loop
from collapse.families.linear import LinearRegression
from collapse.selectors import SelectorConfig
from theory.feedback import window_theory


@pytest.mark.slow
def test_learned_verifier_error_is_the_held_out_fits_error():
    """Over many replicates ‖w_v − w*‖² averages σ²d/(n − d − 1) (OLS on n isotropic rows), within 4 SE; the given
    verifier (n = 0) keeps its offset exactly."""
    fam = LinearRegression(d=4, T=50, sigma=0.5, verifier_n=30)
    keys = jax.random.split(jax.random.key(0), 4000)
    world = fam.setup(jax.random.key(1), fam.synth_size)  # Δ's law does not depend on w*: one world, many verifiers
    w_v = jax.jit(jax.vmap(lambda key: fam.verifier_setup(key, world, 0.0)))(keys)
    e = np.sum((np.asarray(w_v) - np.asarray(world.w_star)) ** 2, axis=1)
    want = 0.25 * 4 / (30 - 4 - 1)
    assert abs(e.mean() - want) < 4 * e.std(ddof=1) / np.sqrt(e.size)
    given = LinearRegression(d=4, T=50)
    world = given.setup(jax.random.key(1), 50)
    assert abs(np.linalg.norm(given.verifier_setup(jax.random.key(2), world, 0.3) - world.w_star) - 0.3) < 1e-12


@pytest.mark.parametrize("kwargs, param", [({"verifier_n": -1}, "verifier_n"), ({"verifier_n": 2.5}, "verifier_n"),
                                           ({"verifier_n": 3, "d": 5}, "verifier_ridge"),
                                           ({"verifier_ridge": -1.0}, "verifier_ridge")])
def test_bad_learned_verifier_fields_raise_one_config_error(kwargs, param):
    with pytest.raises(ConfigError) as err:
        LinearRegression(**kwargs)
    assert err.value.param == param


@pytest.mark.slow
@pytest.mark.parametrize("n", [20, 60])
def test_window_with_a_learned_verifier_matches_the_linearized_theory(n):
    """d = 5, T = M = 200, h = 1, OLS verifier on n held-out rows: E_test per generation within 4 SE of the
    linearized formula with ‖Δ‖² replaced by E‖Δ‖² = σ²d/(n − d − 1) (measured: worst 3.3 SE, generation 2)."""
    fam = LinearRegression(d=5, T=200, sigma=1.0, verifier_n=n)
    cfg, sel = LoopConfig(generations=10, replicates=2000, seed=3), SelectorConfig("window", h=1.0)
    e = run_loop(fam, cfg, selector=sel)["E_test"]
    theory = window_theory(fam, cfg, sel).values
    assert np.all(np.abs(e.mean(1) - theory) < 4 * e.std(1, ddof=1) / np.sqrt(e.shape[1]))
    assert abs(theory[-1] - 5 / (n - 6)) < 0.02  # the limit: the verifier's own error plus a small floor
