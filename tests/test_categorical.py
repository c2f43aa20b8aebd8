"""The categorical family's pieces: bad input, the sampler's exact maps, the multinomial draw."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse.counts import multinomial_counts, sampling_map
from collapse.errors import ConfigError
from collapse.families.categorical import Categorical


@pytest.mark.parametrize("kwargs", [
    {"V": 1}, {"V": True}, {"V": 2.0}, {"T": 0}, {"M": 0}, {"truth": "poisson"}, {"beta": 0.0},
    {"beta": float("nan")}, {"a": 0.0}, {"a": -1.0}, {"temperature": 0.0}, {"temperature": -1.0},
    {"temperature": float("inf")}, {"top_k": 0}, {"top_k": 1.5}, {"top_p": 0.0}, {"top_p": 1.2},
    {"source_alpha": 1.5}, {"kl_eps": 0.0},
])
def test_bad_input_names_the_parameter(kwargs):
    with pytest.raises(ConfigError) as err:
        Categorical(**kwargs)
    assert err.value.param == next(iter(kwargs))
    assert "\n" not in str(err.value)


def test_numpy_integers_are_accepted():
    fam = Categorical(V=np.int64(5), T=np.int32(3), top_k=np.int64(2))
    assert fam.real_size == 3


probs = st.lists(st.floats(0.0, 1.0), min_size=2, max_size=12).filter(lambda v: sum(v) > 1e-3)


@settings(max_examples=12)
@given(w=probs, tau=st.floats(0.2, 3.0), k=st.integers(1, 12), top_p=st.floats(0.05, 1.0))
def test_sampling_map_is_the_exact_map(w, tau, k, top_p):
    p = np.asarray(w) / np.sum(w)
    q = np.asarray(sampling_map(jnp.asarray(p), tau, None, 1.0))
    target = np.where(p > 0, p ** (1 / tau), 0.0)
    np.testing.assert_allclose(q, target / target.sum(), rtol=1e-9, atol=1e-12)
    qk = np.asarray(sampling_map(jnp.asarray(p), 1.0, k, 1.0))
    kept = qk > 0
    assert kept.sum() == min(k, (p > 0).sum()) or k >= len(p)
    assert qk.sum() == pytest.approx(1.0)
    if kept.sum() and (~kept).sum():
        assert p[kept].min() >= p[~kept].max()
    qp = np.asarray(sampling_map(jnp.asarray(p), 1.0, None, top_p))
    kept = qp > 0
    assert qp.sum() == pytest.approx(1.0)
    assert p[kept].sum() >= top_p - 1e-12  # enough mass ...
    assert p[kept].sum() - p[kept].min() < top_p + 1e-12  # ... and minimal: dropping the smallest falls short


def test_multinomial_counts_sum_and_moments():
    p = jnp.asarray([0.5, 0.3, 0.0, 0.2])
    m, R = 7, 40_000
    c = np.asarray(jax.vmap(lambda key: multinomial_counts(key, p, m))(jax.random.split(jax.random.key(0), R)))
    assert np.all(c.sum(1) == m) and np.all(c[:, 2] == 0)
    mean, var = m * np.asarray(p), m * np.asarray(p) * (1 - np.asarray(p))
    assert np.all(np.abs(c.mean(0) - mean) < 4 * np.sqrt(var / R) + 1e-12)
    cov01 = np.cov(c[:, 0], c[:, 1])[0, 1]
    se = np.sqrt(np.var((c[:, 0] - c[:, 0].mean()) * (c[:, 1] - c[:, 1].mean())) / R)
    assert abs(cov01 - (-m * 0.5 * 0.3)) < 4 * se


masses = st.lists(st.one_of(st.just(0.0), st.floats(1e-12, 1.0)), min_size=2, max_size=300).filter(
    lambda v: sum(v) > 0)


@jax.jit
def _guided_and_direct(key, p):
    """Ours, and the textbook inverse CDF by brute force: the first symbol with p_v > 0 and e_v > u, where
    e = cumsum(p) with the last positive symbol's edge at +inf (same uniforms)."""
    u = jax.random.uniform(key, (400,), dtype=p.dtype)
    index = jnp.arange(p.shape[0])
    last = jnp.max(jnp.where(p > 0, index, -1))
    edges = jnp.where(index >= last, jnp.inf, jnp.cumsum(p))
    symbol = jnp.min(jnp.where((p > 0) & (edges > u[:, None]), index, p.shape[0]), axis=1)
    return multinomial_counts(key, p, 400), jnp.zeros(p.shape, p.dtype).at[symbol].add(1.0)


@settings(max_examples=25)
@given(w=masses, seed=st.integers(0, 2**31 - 1), lead=st.integers(0, 5))
def test_guided_multinomial_is_the_plain_inverse_cdf(w, seed, lead):
    """The guide-table search over the positive symbols returns exactly the brute-force inverse CDF for the same
    uniforms (leading and trailing zeros, runs of zeros, tiny masses, rounding in the cumsum included), so the
    draw is the textbook inverse-CDF multinomial. One shape (V = 306 with zero padding, 400 draws): one compile."""
    w = np.concatenate([np.zeros(lead), w, np.zeros(306 - lead - len(w))])
    guided, direct = _guided_and_direct(jax.random.key(seed), jnp.asarray(w / np.sum(w)))
    np.testing.assert_array_equal(np.asarray(guided), np.asarray(direct))


def test_multinomial_counts_chi_square():
    """Pooled over replicates, the draws' frequencies pass a chi-square test against p (small V, fixed seed)."""
    from scipy import stats

    p = jnp.asarray([0.4, 0.25, 0.15, 0.1, 0.06, 0.03, 0.01])
    m, R = 200, 500
    c = np.asarray(jax.vmap(lambda key: multinomial_counts(key, p, m))(jax.random.split(jax.random.key(1), R)))
    observed, expected = c.sum(0), m * R * np.asarray(p)
    assert stats.chisquare(observed, expected).pvalue > 1e-3
