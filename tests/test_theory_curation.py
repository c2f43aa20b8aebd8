"""theory/curation.py against exact algebra and against the curate / tilt selectors (4 SE, drawn parameters)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collapse import LoopConfig
from collapse.engine import Loop
from collapse.families.gaussian import Gaussian, GaussianParams
from collapse.selectors import Choose, SelectionView, SelectorConfig
from theory.curation import (
    expected_reward,
    gaussian_expected_reward,
    gaussian_quadratic_tilt,
    k_choice_update,
    mixed_fixed_point,
    tilt_update,
)


def _case(seed, n):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(n))
    r = rng.normal(scale=1.5, size=n)
    return p, r


@settings(max_examples=6)
@given(st.integers(0, 2**31 - 1), st.integers(2, 4), st.integers(1, 5))
def test_k_choice_update_is_the_law_of_the_luce_choice_within_4_se(seed, n, K):
    """Draw K symbols iid from p per row, let the curate selector pick one (∝ e^{r}); the picked symbols'
    frequencies match the exact update within 4 SE."""
    p, r = _case(seed, n)
    exact = k_choice_update(p, r, K)
    assert np.isclose(exact.sum(), 1.0)
    m = 20000
    key_draw, key_pick = jax.random.split(jax.random.key(seed))
    sym = jax.random.choice(key_draw, n, (K, m), p=jnp.asarray(p))
    # the curate selector with deviation d gives r = −½γd²; d = sqrt(−2(r − max r)) reproduces r up to a constant
    dev = jnp.sqrt(-2 * (jnp.asarray(r)[sym] - r.max()))
    pick = Choose("curate", K, 1.0).choose(jax.random.uniform(key_pick, (m,)), SelectionView(deviation=dev))
    freq = np.bincount(np.asarray(sym[pick, jnp.arange(m)]), minlength=n) / m
    assert np.all(np.abs(freq - exact) <= 4 * np.sqrt(exact * (1 - exact) / m) + 1e-12)


@settings(max_examples=40)
@given(st.integers(0, 2**31 - 1), st.integers(2, 5), st.integers(1, 6))
def test_expected_reward_never_decreases(seed, n, K):
    """Ferbach et al.'s claim, checked exactly: E_{p_{t+1}} r ≥ E_{p_t} r for the K-choice and the tilt updates."""
    p, r = _case(seed, n)
    for _ in range(3):
        q = k_choice_update(p, r, K)
        assert expected_reward(q, r) >= expected_reward(p, r) - 1e-12
        assert expected_reward(tilt_update(p, r), r) >= expected_reward(p, r) - 1e-12
        p = q


def test_k_one_is_the_identity_and_large_k_approaches_the_tilt():
    p, r = _case(7, 3)
    assert np.allclose(k_choice_update(p, r, 1), p)
    gaps = [np.abs(k_choice_update(p, r, K) - tilt_update(p, r)).max() for K in (2, 4, 16, 64)]
    assert all(b < a for a, b in zip(gaps, gaps[1:], strict=False)) and gaps[-1] < 0.05


def test_tilt_iterates_are_p0_times_e_to_the_t_r():
    p, r = _case(3, 4)
    q = p
    for t in range(1, 6):
        q = tilt_update(q, r)
        direct = p * np.exp(t * r)
        assert np.allclose(q, direct / direct.sum())


@settings(max_examples=15)
@given(st.integers(0, 2**31 - 1), st.floats(0.05, 0.9), st.integers(0, 4))
def test_real_data_keeps_every_symbol_alive(seed, lam, K):
    """With a real fraction λ the stationary law is unique (same from any start) and p ≥ λ·p_real (no collapse)."""
    p_real, r = _case(seed, 3)
    fixed, iterations = mixed_fixed_point(p_real, r, K, lam)
    assert iterations < 20000  # converged
    assert np.all(fixed >= lam * p_real - 1e-12) and np.isclose(fixed.sum(), 1)
    update = (lambda q: tilt_update(q, r)) if K == 0 else (lambda q: k_choice_update(q, r, K))
    assert np.allclose(fixed, lam * p_real + (1 - lam) * update(fixed), atol=1e-11)


def test_gaussian_closed_form_is_the_iterated_tilt_of_the_family():
    fam = Gaussian(d=2)
    rng = np.random.default_rng(0)
    a = rng.normal(size=2)
    A = rng.normal(size=(2, 2))
    mu0, cov0 = rng.normal(size=2), A @ A.T + 0.5 * np.eye(2)
    params = GaussianParams(jnp.asarray(mu0), jnp.asarray(cov0), jnp.asarray(1), jnp.asarray(0))
    rewards = []
    for t in range(1, 8):
        params = fam.tilted(params, jnp.asarray(a), 0.7)
        mu_t, cov_t = gaussian_quadratic_tilt(mu0, cov0, 0.7, a, t)
        assert np.allclose(params.mean, mu_t, atol=1e-10) and np.allclose(params.cov, cov_t, atol=1e-10)
        rewards.append(gaussian_expected_reward(mu_t, cov_t, 0.7, a))
    assert np.all(np.diff(rewards) > 0)


@pytest.mark.slow
def test_tilt_loop_follows_the_closed_form_within_4_se():
    """The sampled loop (4000 samples refitted per generation, unbiased covariance): one step is exact in
    expectation — E[μ̂_n, Σ̂_n | model n − 1] = the tilt of model n − 1 — at every generation."""
    fam = Gaussian(d=2, T=4000, mu=0.0, std=1.0)
    sel = SelectorConfig("tilt", gamma=0.5, offset=1.0)
    cfg = LoopConfig(generations=5, replicates=200, seed=4)
    seen = []
    Loop(fam, cfg, selector=sel).run(chunk=1, on_chunk=lambda s: seen.append(s.carry[0]))
    a = np.full(2, 1.0)
    for n in range(2, 6):
        prev, cur = seen[n - 2], seen[n - 1]
        want = [gaussian_quadratic_tilt(m, c, 0.5, a, 1) for m, c in zip(prev.mean, prev.cov, strict=True)]
        for got, expect in ((cur.mean, np.stack([w[0] for w in want])), (cur.cov, np.stack([w[1] for w in want]))):
            diff = (got - expect).reshape(len(want), -1)
            se = diff.std(0, ddof=1) / np.sqrt(diff.shape[0])
            assert np.all(np.abs(diff.mean(0)) < 4 * se)
    # and the variance shrinks toward the reward peak as the closed form says (1/(1 + tγ) per coordinate)
    assert np.trace(seen[-1].cov, axis1=1, axis2=2).mean() < np.trace(seen[0].cov, axis1=1, axis2=2).mean()
