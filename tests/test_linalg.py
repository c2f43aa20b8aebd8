import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from collapse.linalg import least_squares_operator, weighted_least_squares

SHAPES = [(30, 5), (12, 12), (6, 15)]  # T > d, T = d, T < d


@pytest.mark.parametrize("T,d", SHAPES)
def test_operator_is_pinv(T, d):
    X = np.random.default_rng(T * d).standard_normal((T, d))
    np.testing.assert_allclose(least_squares_operator(X), np.linalg.pinv(X), atol=1e-9)


@pytest.mark.parametrize("T,d", SHAPES)
def test_ridge_operator_matches_normal_equations(T, d):
    X = np.random.default_rng(1).standard_normal((T, d))
    lam = 0.3
    expected = np.linalg.solve(X.T @ X + lam * T * np.eye(d), X.T)
    np.testing.assert_allclose(least_squares_operator(X, lam), expected, atol=1e-10)


@given(st.sampled_from(SHAPES), st.integers(0, 2**31 - 1))
def test_weighted_matches_lstsq_on_kept_rows(shape, seed):
    """Zero weights remove rows; integer weights repeat them; the min-norm solution is returned."""
    T, d = shape
    rng = np.random.default_rng(seed)
    X, y = rng.standard_normal((T, d)), rng.standard_normal(T)
    w = rng.integers(0, 3, T).astype(float)
    w[:2] = 1.0
    rows = np.repeat(np.arange(T), w.astype(int))
    expected = np.linalg.lstsq(X[rows], y[rows], rcond=None)[0]
    np.testing.assert_allclose(weighted_least_squares(X, y, w), expected, atol=1e-8)


def test_weighted_equals_operator_for_unit_weights():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((20, 8)), rng.standard_normal(20)
    for lam in (0.0, 0.5):
        np.testing.assert_allclose(weighted_least_squares(X, y, np.ones(20), lam),
                                   least_squares_operator(X, lam) @ y, atol=1e-10)
