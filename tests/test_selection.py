"""Selection accounting (collapse/selection.py): exact identities, empty cases, jit/vmap, the (ϕ, ψ) keeper."""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from collapse.selection import EMPTY_P_STAR, EMPTY_Q, best_of_k, keep_phi_psi, selection_stats

M = 64
_stats = jax.jit(selection_stats)


@given(st.integers(0, 2**31 - 1), st.floats(0, 1), st.floats(0, 1))
def test_measured_quantities_obey_the_papers_identities(seed, p_wrong, p_keep):
    rng = np.random.default_rng(seed)
    correct = rng.random(M) >= p_wrong
    kept = rng.random(M) < p_keep
    s = _stats(correct, kept)
    # Direct counts.
    assert np.isclose(s.p, np.mean(~correct)) and np.isclose(s.r, np.mean(kept))
    # r = (1−p)ϕ + pψ holds exactly for measured values.
    assert np.isclose(s.r, (1 - s.p) * s.phi + s.p * s.psi)
    if kept.any():
        assert np.isclose(s.q, np.mean(~correct[kept]))
        assert np.isclose(s.q, s.p * s.psi / s.r)
        # q < 1/2 ⇔ p < p⋆ (strict both ways; equality at the boundary).
        assert (s.q < 0.5) == (s.p < s.p_star - 1e-12) or np.isclose(s.q, 0.5)
    for v in s:
        assert np.isfinite(v)


def test_empty_denominators_give_the_documented_values():
    none = np.zeros(M, bool)
    s = selection_stats(np.ones(M, bool), none)  # nothing kept, everything correct
    assert s.r == 0 and s.q == EMPTY_Q and s.phi == 0 and s.psi == 0 and s.p_star == EMPTY_P_STAR
    s = selection_stats(np.zeros(M, bool), np.ones(M, bool))  # all wrong, all kept
    assert s.p == 1 and s.phi == 0 and s.psi == 1 and s.q == 1 and s.p_star == 0
    s = selection_stats(np.ones(M, bool), np.ones(M, bool), weight=np.zeros(M))  # no samples at all
    assert s.n == 0 and s.p == 0 and s.r == 0 and s.q == EMPTY_Q
    grad = jax.grad(lambda w: selection_stats(none, none, w).q)(jnp.zeros(M))
    assert np.all(np.isfinite(grad))


def test_weights_select_a_class():
    rng = np.random.default_rng(0)
    correct, kept, y = rng.random(M) < 0.7, rng.random(M) < 0.5, rng.random(M) < 0.5
    s = selection_stats(correct, kept, weight=y.astype(float))
    ref = selection_stats(correct[y], kept[y])
    for a, b in zip(s, ref, strict=True):
        assert np.isclose(a, b)


def test_vmap_matches_a_python_loop():
    rng = np.random.default_rng(1)
    correct, kept = rng.random((5, M)) < 0.6, rng.random((5, M)) < 0.4
    batched = jax.vmap(selection_stats)(correct, kept)
    for i in range(5):
        one = selection_stats(correct[i], kept[i])
        for a, b in zip(batched, one, strict=True):
            assert np.isclose(a[i], b)


def test_phi_psi_keeper_has_the_requested_rates():
    n, phi, psi = 200_000, 0.8, 0.3
    correct = jnp.arange(n) % 4 != 0  # p = 1/4
    s = selection_stats(correct, keep_phi_psi(jax.random.key(0), correct, phi, psi))
    se_phi = np.sqrt(phi * (1 - phi) / (0.75 * n))
    se_psi = np.sqrt(psi * (1 - psi) / (0.25 * n))
    assert abs(s.phi - phi) < 4 * se_phi and abs(s.psi - psi) < 4 * se_psi


def test_best_of_k_picks_the_highest_score():
    scores = jnp.array([[0.1, 0.9, 0.3], [2.0, 2.0, -1.0]])
    np.testing.assert_array_equal(best_of_k(scores), [1, 0])
