"""The linear family's exact-in-law sampler (sufficient statistics) against the sample-level path and theory.

Both paths must give the same law of every metric: means and second moments agree within 4 SE (the SE of
the difference of two independent Monte-Carlo estimates) at every generation, over hypothesis-drawn
configs; and the fast path must match the closed forms of theory/regression.py.
"""

import dataclasses

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import LinearRegression, Loop, LoopConfig
from collapse.errors import ConfigError
from collapse.families.linear_stats import bartlett_factor
from collapse.testing import assert_same_law
from theory import check
from theory.regression import linear_theory

R = 2000
SHAPES = [(3, 12), (5, 20)]


def _run(family, cfg):
    return Loop(family, cfg).run().metrics


@pytest.mark.slow  # ≈ 5 min on the loaded shared machine (15 compiles); run with -m slow
@settings(max_examples=5)
@given(shape=st.sampled_from(SHAPES), mode=st.sampled_from(["replace", "accumulate", "mix", "fresh"]),
       M=st.sampled_from([None, 16]), design=st.sampled_from(["fixed", "fresh"]), ridge=st.sampled_from([0.0, 0.3]),
       ratio=st.sampled_from([0.5, 1.0, 1.5]), covariance=st.sampled_from(["isotropic", "power-law"]),
       seed=st.integers(0, 10_000))
def test_fast_and_sample_paths_agree_in_distribution(shape, mode, M, design, ridge, ratio, covariance, seed):
    d, T = shape
    fam = LinearRegression(d=d, T=T, M=M, sigma=1.0, sigma0=ratio, ridge=ridge, covariance=covariance,
                           design=design, sampler="stats")
    cfg = LoopConfig(mode=mode, generations=4, replicates=R, seed=seed, real_weight=0.4)
    fast = _run(fam, cfg)
    slow = _run(dataclasses.replace(fam, sampler="samples"), dataclasses.replace(cfg, seed=seed + 1))
    assert_same_law(fast, slow)


@settings(max_examples=4)
@given(shape=st.sampled_from(SHAPES), mode=st.sampled_from(["replace", "accumulate", "mix", "fresh"]),
       ratio=st.sampled_from([0.5, 1.5]), covariance=st.sampled_from(["isotropic", "power-law"]),
       seed=st.integers(0, 10_000))
def test_fast_path_matches_the_closed_forms(shape, mode, ratio, covariance, seed):
    d, T = shape
    fam = LinearRegression(d=d, T=T, sigma=1.0, sigma0=ratio, covariance=covariance, sampler="stats")
    cfg = LoopConfig(mode=mode, generations=5, replicates=3000, seed=seed, real_weight=0.6)
    result = check(_run(fam, cfg)["E_test"], linear_theory(fam, cfg))
    assert result.agree, result.summary()


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_fast_path_matches_replace_with_m_unequal_t(design):
    """σ²d/(T−d−1) + (n−1)σ₀²d/(M−d−1): two fixed designs (or fresh ones) of different sizes."""
    fam = LinearRegression(d=4, T=15, M=30, sigma=1.0, sigma0=0.6, design=design, sampler="stats")
    cfg = LoopConfig(mode="replace", generations=5, replicates=4000, seed=11)
    result = check(_run(fam, cfg)["E_test"], linear_theory(fam, cfg))
    assert result.agree, result.summary()


def test_bartlett_draw_has_the_wishart_mean_and_variance():
    """E[XᵀX] = mΣ and Var[(XᵀX)_ij] = m(Σ_iiΣ_jj + Σ_ij²) for m rows N(0, Σ), Σ = diag(s²)."""
    d, m, n = 3, 7, 40_000
    scale = np.sqrt(np.array([0.5, 1.0, 2.0]))
    keys = jax.random.split(jax.random.key(5), n)
    chol = jax.vmap(lambda k: bartlett_factor(k, d, m, jax.numpy.asarray(scale)))(keys)
    gram = np.asarray(chol @ np.swapaxes(chol, 1, 2))
    sigma = np.diag(scale**2)
    mean = m * sigma
    var = m * (np.outer(np.diag(sigma), np.diag(sigma)) + sigma**2)
    se_mean = np.sqrt(var / n)
    assert np.all(np.abs(gram.mean(0) - mean) < 4 * se_mean)
    fourth = ((gram - mean) ** 2).std(0, ddof=1) / np.sqrt(n)  # SE of the sample variance
    assert np.all(np.abs(gram.var(0, ddof=1) - var) < 4 * fourth)


def test_auto_resolves_to_the_fast_path_only_where_it_applies():
    fam = LinearRegression(d=5, T=20)
    assert fam.for_loop(LoopConfig(mode="replace")).sampler == "stats"
    assert fam.for_loop(LoopConfig(mode="fresh")).sampler == "stats"
    assert fam.for_loop(LoopConfig(mode="edit")).sampler == "samples"
    assert fam.for_loop(LoopConfig(mode="accumulate-subsample")).sampler == "samples"
    assert fam.for_loop(LoopConfig(mode="mix", mix_ratio=0.1)).sampler == "samples"  # 2 synthetic rows < d
    assert LinearRegression(d=5, T=4).for_loop(LoopConfig()).sampler == "samples"
    assert Loop(fam, LoopConfig(mode="replace", generations=2, replicates=2)).family.sampler == "stats"
    assert LinearRegression(sampler="samples").for_loop(LoopConfig()).sampler == "samples"


@pytest.mark.parametrize("kwargs, mode", [(dict(d=5, T=4), "replace"), (dict(d=5, T=20, M=3), "replace"),
                                          (dict(d=5, T=20), "edit"), (dict(d=5, T=20), "accumulate-subsample")])
def test_explicit_fast_path_refuses_configs_it_cannot_run(kwargs, mode):
    with pytest.raises(ConfigError, match="sampler"):
        LinearRegression(sampler="stats", **kwargs).for_loop(LoopConfig(mode=mode))


def test_unknown_sampler_is_refused():
    with pytest.raises(ConfigError, match="sampler"):
        LinearRegression(sampler="fast")


def test_fast_path_does_not_depend_on_chunking():
    loop = Loop(LinearRegression(d=4, T=12, M=20, sampler="stats"),
                LoopConfig(mode="accumulate", generations=7, replicates=16, seed=3))
    whole = loop.run().metrics["E_test"]
    np.testing.assert_allclose(loop.run(chunk=2).metrics["E_test"], whole, rtol=1e-12)


@pytest.mark.parametrize("sampler", ["stats", "samples"])
def test_cache_blocked_replicates_give_the_same_numbers(sampler):
    """Loop(block=B) maps the generation scan over blocks of B replicates: the plain vmap's results, for a replicate
    count that is not a multiple of B and with chunked generations — equal up to the last bit of rounding (XLA
    compiles the Gamma sampler's arithmetic differently per batch shape; one entry in 185 differs by 1 ulp)."""
    fam = LinearRegression(d=4, T=12, sampler=sampler)
    cfg = LoopConfig(mode="replace", generations=5, replicates=37, seed=2)
    whole = Loop(fam, cfg).run().metrics
    blocked = Loop(fam, cfg, block=8).run(chunk=2).metrics
    for name in whole:
        np.testing.assert_allclose(blocked[name], whole[name], rtol=1e-14, atol=0)


def test_block_size_is_validated():
    with pytest.raises(ConfigError, match="block"):
        Loop(LinearRegression(), LoopConfig(), block=0)


def test_lower_inverse_inverts_triangular_factors():
    """lower_inverse(L)·L = I for lower-triangular factors of every size around the unrolled leaf (≤ 8 rows) and the
    block recursion above it (one and two levels)."""
    from collapse.wishart import lower_inverse

    rng = np.random.default_rng(0)
    for d in (1, 2, 7, 8, 9, 17):
        chol = np.tril(rng.normal(size=(d, d)), -1) + np.diag(rng.uniform(0.5, 2.0, d))
        inverse = np.asarray(jax.jit(lower_inverse)(jax.numpy.asarray(chol)))
        assert np.allclose(inverse @ chol, np.eye(d), atol=1e-10)


def test_auto_block_is_the_family_preference():
    """Loop(block="auto") (the default) runs a fixed design in blocks of ≈ 4 MiB of resident state (the fast
    path's d×d factors; the sample path's designs and factor), and a fresh design unblocked."""
    cfg = LoopConfig(mode="replace", generations=2, replicates=8, seed=0)
    assert Loop(LinearRegression(d=50, T=60, sampler="stats"), cfg).program.block == (4 << 20) // (8 * 50 * 50)
    assert Loop(LinearRegression(d=50, T=60, ridge=0.1, sampler="stats"), cfg).program.block == (4 << 20) // (16 * 2500)
    assert Loop(LinearRegression(d=50, T=200, sampler="samples"), cfg).program.block == (4 << 20) // (8 * 12700)
    assert Loop(LinearRegression(d=5, T=20, design="fresh"), cfg).program.block is None
    assert Loop(LinearRegression(d=5, T=20), cfg, block=None).program.block is None
