"""The Gaussian family's exact-in-law sampler (sample mean and scatter) against the sample-level path and theory.

Both paths must give the same law of every metric: means and second moments agree within 4 SE (the SE of the
difference of two independent Monte-Carlo estimates) at every generation; and the fast path must match the
closed forms of theory/gaussian.py.
"""

import dataclasses

import jax
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import Loop, LoopConfig
from collapse.errors import ConfigError
from collapse.families.gaussian import Gaussian
from collapse.families.gaussian_stats import wishart_root
from collapse.selectors import SelectorConfig
from collapse.testing import assert_same_law
from collapse.wishart import gamma
from theory import check
from theory.gaussian import gaussian_bounds, gaussian_theory


def _assert_same_law(fam, cfg):
    fast_loop = Loop(dataclasses.replace(fam, sampler="stats"), cfg)
    slow_loop = Loop(dataclasses.replace(fam, sampler="samples"), dataclasses.replace(cfg, seed=cfg.seed + 1))
    fast, slow = fast_loop.run().metrics, slow_loop.run().metrics
    assert_same_law(fast, slow)


SLOW = pytest.mark.slow  # each case compiles two loops (≈ 30–40 s on the loaded shared machine)
CONFIGS = [  # (family, mode): every supported mode, 1-D and d > 1, a schedule, τ ≠ 1; the default run keeps one
    pytest.param(Gaussian(d=1, T=12, estimator="mle", temperature=1.2), "replace", marks=SLOW),
    (Gaussian(d=3, T=10, M=15, rho=0.4), "accumulate"),  # pooled blocks: the between-block scatter term
    pytest.param(Gaussian(d=2, T=12, M_schedule=(5, 30)), "mix", marks=SLOW),
    pytest.param(Gaussian(d=2, T=8, refit="mean", M=3), "fresh", marks=SLOW),
]


@pytest.mark.parametrize("fam, mode", CONFIGS)
def test_fast_and_sample_paths_agree_in_distribution(fam, mode):
    _assert_same_law(fam, LoopConfig(mode=mode, generations=3, replicates=2000, seed=3, real_weight=0.4))


@pytest.mark.slow  # ≈ 2–4 min on the shared machine (16 compiles); run with -m slow
@settings(max_examples=8)
@given(d=st.sampled_from([1, 2, 4]), mode=st.sampled_from(["replace", "accumulate", "mix", "fresh"]),
       M=st.sampled_from([None, 7, 25]), estimator=st.sampled_from(["unbiased", "mle"]),
       refit=st.sampled_from(["mean-cov", "mean"]), temperature=st.sampled_from([1.0, 0.8, 1.3]),
       rho=st.sampled_from([0.0, 0.5]), seed=st.integers(0, 10_000))
def test_fast_and_sample_paths_agree_in_distribution_over_configs(d, mode, M, estimator, refit, temperature, rho,
                                                                  seed):
    fam = Gaussian(d=d, T=10, M=M, estimator=estimator, refit=refit, temperature=temperature, rho=rho, mu=0.5)
    _assert_same_law(fam, LoopConfig(mode=mode, generations=6, replicates=4000, seed=seed, real_weight=0.6))


@pytest.mark.parametrize("fam, mode", [  # slow: tests/test_theory_gaussian.py runs the same checks by default, and
    # there "auto" resolves to this fast path
    pytest.param(Gaussian(d=2, T=12, M=8, rho=0.5, estimator="mle"), "replace", marks=SLOW),
    pytest.param(Gaussian(d=1, T=10), "replace", marks=SLOW),
    pytest.param(Gaussian(d=1, T=10, M=20), "accumulate", marks=SLOW),
    pytest.param(Gaussian(d=1, T=10, estimator="mle", temperature=1.3), "replace", marks=SLOW),
])
def test_fast_path_matches_the_closed_forms(fam, mode):
    cfg = LoopConfig(mode=mode, generations=8, replicates=4000, seed=5)
    loop = Loop(fam, cfg)
    assert loop.family.sampler == "stats"  # "auto" resolves to the fast path here
    metrics = loop.run().metrics
    curves = gaussian_theory(loop.family, cfg) + gaussian_bounds(loop.family, cfg)
    assert curves
    for curve in curves:
        result = check(metrics[curve.metric], curve)
        assert result.agree, f"[{curve.metric}] {result.summary()}"


def test_auto_resolves_and_stats_is_refused_where_it_does_not_apply():
    cfg = LoopConfig(mode="replace", generations=2, replicates=2)
    assert Loop(Gaussian(), cfg).family.sampler == "stats"
    assert Loop(Gaussian(truncation=0.8), cfg).family.sampler == "samples"
    assert Loop(Gaussian(), dataclasses.replace(cfg, mode="accumulate-subsample", budget=50)).family.sampler == \
        "samples"
    assert Loop(Gaussian(), cfg, selector=SelectorConfig(kind="oracle")).family.sampler == "samples"
    with pytest.raises(ConfigError, match="truncation"):
        Gaussian(sampler="stats", truncation=0.5)
    with pytest.raises(ConfigError, match="subsampling"):
        Loop(Gaussian(sampler="stats"), dataclasses.replace(cfg, mode="accumulate-subsample", budget=50))
    with pytest.raises(ConfigError, match="selector"):
        Loop(Gaussian(sampler="stats"), cfg, selector=SelectorConfig(kind="oracle"))
    with pytest.raises(ConfigError, match="sampler"):
        Gaussian(sampler="fast")


def test_bartlett_draw_has_the_wishart_mean_and_variance():
    """E S = kC and Var S_ij = k(C_ii C_jj + C_ij²) for S ~ Wishart(C, k)."""
    c = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])
    root, k, n = np.linalg.cholesky(c), 7, 10_000
    with jax.enable_x64(True):
        draw = jax.vmap(lambda key: (lambda a: a @ a.T)(wishart_root(key, jax.numpy.asarray(root), k)))
        s = np.asarray(draw(jax.random.split(jax.random.key(0), n)))
    var = k * (np.outer(np.diag(c), np.diag(c)) + c**2)
    assert np.all(np.abs(s.mean(0) - k * c) < 4 * np.sqrt(var / n))
    # SE of a sample variance of a Wishart entry: its 4th central moment, estimated from the draws
    dev = s - s.mean(0)
    se_var = np.sqrt(((dev**4).mean(0) - dev.var(0) ** 2) / n)
    assert np.all(np.abs(s.var(0) - var) < 4 * se_var)


@pytest.mark.parametrize("entries, small", [("vector", True), ("single", True), ("single", False)])
def test_marsaglia_tsang_gamma_has_the_gamma_law(entries, small):
    """Mean a, variance a, and the CDF at the median and quartiles (fraction below within 4 SE), a ≥ 1/2 — for a
    vector of shapes (2 candidates a round) and one entry per draw (1 candidate a round; without the boost when
    every shape is ≥ 1)."""
    from scipy import stats

    shape = np.array([0.5, 0.8, 1.5, 30.0, 495.0] if small else [1.0, 3.5, 495.0])
    n = 20_000
    keys = jax.random.split(jax.random.key(4), n)
    with jax.enable_x64(True):
        if entries == "vector":
            g = np.asarray(jax.jit(jax.vmap(lambda k: gamma(k, jax.numpy.asarray(shape))))(keys))
        else:
            one = jax.jit(jax.vmap(lambda k, a: gamma(k, a[None], small=small)[0], in_axes=(0, None)))
            g = np.stack([np.asarray(one(keys, a)) for a in shape], axis=1)
    dev = g - g.mean(0)
    assert np.all(np.abs(g.mean(0) - shape) < 4 * np.sqrt(shape / n))
    assert np.all(np.abs(g.var(0) - shape) < 4 * np.sqrt(((dev**4).mean(0) - dev.var(0) ** 2) / n))
    for q in (0.25, 0.5, 0.75):
        below = (g < stats.gamma(shape).ppf(q)).mean(0)
        assert np.all(np.abs(below - q) < 4 * np.sqrt(q * (1 - q) / n))
