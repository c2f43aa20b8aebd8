"""theory/ridge.py: exact identities to rounding, Monte-Carlo identities within 4 SE, and the asymptotic
deterministic equivalent (DE) with a finite-size allowance justified below. Fixed seeds throughout.
"""

import math

import numpy as np
import pytest

from theory.ridge import (
    make_spectrum,
    ridge_collapse_term,
    ridge_kappa,
    ridge_replace_exact,
    ridge_replace_expected,
    ridge_trace_moments_de,
    ridge_trace_moments_mc,
)

Z = 4.0  # every statistical assertion: |difference| < 4 standard errors


def _design(rng, T, spectrum):
    return rng.standard_normal((T, spectrum.size)) * np.sqrt(spectrum)


def _unit(rng, d):
    u = rng.standard_normal(d)
    return u / np.linalg.norm(u)


# -- the effective regularisation ---------------------------------------------------------------------------
@pytest.mark.parametrize("d,T,lam", [(50, 100, 0.3), (50, 20, 0.01), (50, 20, 0.0), (50, 100, 0.0), (50, 50, 1e-8)])
def test_kappa_solves_the_fixed_point(d, T, lam):
    s = make_spectrum(d, "power-law", 1.2)
    k = ridge_kappa(T, lam, s)
    if lam == 0 and T >= d:
        assert k == 0.0
        return
    assert k >= lam
    assert math.isclose(k - lam, k / T * np.sum(s / (s + k)), rel_tol=1e-12, abs_tol=1e-15)


# -- deterministic equivalents vs Monte Carlo -------------------------------------------------------------
def test_de_exact_limits():
    """λ = 0, T ≥ d: A = I, both traces are d exactly. λ = 0, T < d: A is a rank-T projection, tr(A²) = T
    exactly, and the DE reproduces it (df₁ = T at the root). Σ ∝ I: the two moments coincide."""
    s = make_spectrum(30, "power-law", 1.0)
    assert ridge_trace_moments_de(30, 30, 0.0, s) == (30.0, 30.0, 0.0, 0.0)
    assert math.isclose(ridge_trace_moments_de(30, 12, 0.0, s).tr_a2, 12.0, rel_tol=1e-10)
    iso = ridge_trace_moments_de(30, 45, 0.7)
    assert math.isclose(iso.tr_a2, iso.tr_weighted, rel_tol=1e-12)
    mc = ridge_trace_moments_mc(30, 12, 0.0, s, n_designs=20, seed=3)
    assert abs(mc.tr_a2 - 12.0) < 1e-9 and mc.tr_a2_se < 1e-9


@pytest.mark.parametrize("d,T,lam,covariance", [
    (100, 200, 0.1, "isotropic"),   # under-parameterised
    (100, 50, 0.1, "power-law"),    # over-parameterised
    (100, 100, 0.05, "power-law"),  # interpolation threshold, small ridge
    pytest.param(200, 400, 1.0, "power-law", marks=pytest.mark.slow),
    pytest.param(200, 100, 0.01, "isotropic", marks=pytest.mark.slow),
])
def test_de_of_trace_moments_is_consistent_at_rate_one_over_d(d, T, lam, covariance):
    """The DE is asymptotic. For real Gaussian designs the normalised trace (1/d)E tr f(Σ̂) has a 1/d
    correction, so E tr(A²) − DE (an O(d) quantity) is O(1) in absolute terms, O(1/d) relative. Asserted,
    for both moments, at (d, T) and at (2d, 2T) with the same λ and spectrum family:

    1. consistency at rate 1/d: the absolute gap at 2d does not exceed the gap at d by more than 4 combined
       SE (the gap at d is the finite-size allowance for 2d). A DE off by a fixed relative ε would double
       the gap and fail once ε·DE > 4 SE ≈ 0.1, i.e. ε ≳ 1e-3 here;
    2. a loose O(1/d) size bound with constant 1: |gap| < DE/d at both sizes (observed constants 0.1–0.45).

    The MC (200 designs) is exact in expectation; its SE (≈ 0.02–0.05) resolves gaps of ≈ 0.1–0.2.
    """
    gaps = []
    for scale in (1, 2):
        dd, TT = d * scale, T * scale
        s = make_spectrum(dd, covariance, 1.0)
        de = ridge_trace_moments_de(dd, TT, lam, s)
        mc = ridge_trace_moments_mc(dd, TT, lam, s, n_designs=200, seed=11 + scale)
        for name in ("tr_a2", "tr_weighted"):
            value, est, se = getattr(de, name), getattr(mc, name), getattr(mc, name + "_se")
            assert abs(est - value) < value / dd, (name, dd, est, value)
            gaps.append((name, scale, abs(est - value), se))
    for name in ("tr_a2", "tr_weighted"):
        (_, _, g1, se1), (_, _, g2, se2) = [g for g in gaps if g[0] == name]
        assert g2 - g1 < Z * math.hypot(se1, se2), (name, g1, g2, se1, se2)


# -- the Dohmatob et al. collapse term ----------------------------------------------------------------------
def test_collapse_term_reduces_to_the_stated_ols_term():
    """λ = 0, T ≥ d: n σ₀² d/(T₀ − d − 1) exactly, for any Σ (stated, Dohmatob et al. 2024)."""
    s = make_spectrum(8, "power-law", 2.0)
    n = np.arange(0, 6)
    np.testing.assert_allclose(ridge_collapse_term(n, 8, 20, 0.7, 0.0, 15, s), n * 0.49 * 8 / 11, rtol=1e-14)
    assert ridge_collapse_term(3, 8, 20, 0.7, 0.0, 8) == pytest.approx(3 * 0.49 * 8 / 11, rel=1e-14)


def test_collapse_term_decreases_with_ridge_and_is_linear_in_n():
    terms = [ridge_collapse_term(1, 50, 200, 1.0, lam, 100) for lam in (0.0, 0.01, 0.1, 1.0, 10.0)]
    assert all(a > b for a, b in zip(terms, terms[1:], strict=False))
    np.testing.assert_allclose(ridge_collapse_term(np.arange(5), 50, 200, 1.0, 0.1, 100),
                               np.arange(5) * terms[2], rtol=1e-14)


@pytest.mark.parametrize("covariance", ["isotropic", "power-law"])
def test_collapse_term_structure_by_simulating_the_fresh_design_chain(covariance):
    """The exact (pre-DE) claim: after n OLS generations on fresh designs of T₀ rows with noise σ₀, a ridge
    model on a new design X has extra error E‖Aη‖²_Σ = n σ₀²/(T₀ − d − 1) · E tr(ΣAΣ⁻¹A), η = ŵ_n − w*.
    (The cross term 2⟨Aη, (A − I)w* + RE⟩_Σ has mean zero and is left out; it only adds variance.) Per
    replicate we take ‖Aη‖²_Σ − n σ₀²/(T₀ − d − 1)·tr(ΣAΣ⁻¹A) on the same X, whose mean must be 0 within
    4 SE. For power-law Σ the isotropic form with tr(A²) is rejected by the same test."""
    d, T, T0, n, lam, sigma0, reps = 8, 16, 24, 3, 0.3, 0.8, 20_000
    s = make_spectrum(d, covariance, 1.5)
    rng = np.random.default_rng(7)
    eta = np.zeros((reps, d))
    for _ in range(n):  # ŵ_k = ŵ_{k−1} + (X_kᵀX_k)⁻¹X_kᵀE_k exactly (OLS reproduces its noiseless labels)
        Xk = rng.standard_normal((reps, T0, d)) * np.sqrt(s)
        Ek = sigma0 * rng.standard_normal((reps, T0))
        eta += np.linalg.solve(np.einsum("rti,rtj->rij", Xk, Xk), np.einsum("rti,rt->ri", Xk, Ek)[..., None])[..., 0]
    X = rng.standard_normal((reps, T, d)) * np.sqrt(s)
    gram = np.einsum("rti,rtj->rij", X, X)
    A = np.linalg.solve(gram + lam * T * np.eye(d), gram)  # (XᵀX + λT)⁻¹XᵀX, = XᵀX(XᵀX + λT)⁻¹
    extra = np.einsum("i,ri->r", s, np.einsum("rij,rj->ri", A, eta) ** 2)
    weighted = np.einsum("rij,ij->r", A**2, s[:, None] / s[None, :])
    pref = n * sigma0**2 / (T0 - d - 1)
    for trace, should_agree in ((weighted, True), (np.einsum("rij,rji->r", A, A), covariance == "isotropic")):
        diff = extra - pref * trace
        z = diff.mean() / (diff.std(ddof=1) / math.sqrt(reps))
        assert (abs(z) < Z) == should_agree, z


# -- the fixed-design ridge chain ---------------------------------------------------------------------------
def _chain_monte_carlo(X, w_star, s, lam, sigma, sigma0, G, draws, seed):
    """Direct simulation of ŵ_n = H(Xŵ_{n−1} + E_n), H = (XᵀX + λT)⁻¹Xᵀ (pinv at λ = 0): [G] mean and SE."""
    T, d = X.shape
    H = np.linalg.pinv(X) if lam == 0 else np.linalg.solve(X.T @ X + lam * T * np.eye(d), X.T)
    rng = np.random.default_rng(seed)
    W = np.broadcast_to(w_star, (draws, d))
    mean, se = np.empty(G), np.empty(G)
    for g in range(G):
        Y = W @ X.T + (sigma if g == 0 else sigma0) * rng.standard_normal((draws, T))
        W = Y @ H.T
        err = ((W - w_star) ** 2) @ s
        mean[g], se[g] = err.mean(), err.std(ddof=1) / math.sqrt(draws)
    return mean, se


CHAINS = [  # d, T, λ, covariance
    (20, 40, 0.5, "isotropic"),
    (20, 40, 0.2, "power-law"),
    (20, 12, 0.1, "power-law"),  # over-parameterised ridge
    (20, 40, 0.0, "isotropic"),  # OLS
    (20, 12, 0.0, "power-law"),  # min-norm OLS: the bias (I − P)w* is frozen after one fit
]


@pytest.mark.parametrize("d,T,lam,covariance", CHAINS)
def test_replace_exact_matches_a_direct_chain_monte_carlo(d, T, lam, covariance):
    """Fixed X and w*, 20,000 independent noise paths of 6 generations: the path mean of E_test is within
    4 SE of the conditional expectation at every generation."""
    s = make_spectrum(d, covariance, 1.0)
    rng = np.random.default_rng(d * T + int(100 * lam))
    X, w = _design(rng, T, s), _unit(rng, d)
    G, sigma, sigma0 = 6, 1.0, 0.7
    exact = ridge_replace_exact(X, w, s, lam, sigma, sigma0, G)
    mean, se = _chain_monte_carlo(X, w, s, lam, sigma, sigma0, G, 20_000, seed=1)
    assert np.all(np.abs(mean - exact) < Z * se), ((mean - exact) / se)


def test_replace_exact_equals_the_dense_matrix_formula():
    """Eigenbasis implementation vs the formula written with explicit matrices and matrix powers."""
    d, T, lam, G, sigma, sigma0 = 15, 25, 0.3, 7, 1.3, 0.6
    s = make_spectrum(d, "power-law", 1.0)
    rng = np.random.default_rng(2)
    X, w = _design(rng, T, s), 2.0 * _unit(rng, d)
    M = X.T @ X + lam * T * np.eye(d)
    A, R = np.linalg.solve(M, X.T @ X), np.linalg.solve(M, X.T)
    S = np.diag(s)
    dense = []
    for n in range(1, G + 1):
        b = (np.linalg.matrix_power(A, n) - np.eye(d)) @ w
        val = b @ S @ b
        for k in range(1, n + 1):
            P = np.linalg.matrix_power(A, n - k) @ R
            val += (sigma if k == 1 else sigma0) ** 2 * np.trace(S @ P @ P.T)
        dense.append(val)
    np.testing.assert_allclose(ridge_replace_exact(X, w, s, lam, sigma, sigma0, G), dense, rtol=1e-10)


@pytest.mark.parametrize("covariance", ["isotropic", "power-law"])
def test_replace_exact_at_zero_ridge_is_the_ols_formula(covariance):
    """λ = 0, T > d: A = I, RRᵀ = (XᵀX)⁻¹, so E[E_test_n | X] = (σ² + (n − 1)σ₀²) tr(Σ(XᵀX)⁻¹), to 1e-10."""
    d, T, G, sigma, sigma0 = 12, 30, 8, 0.9, 1.7
    s = make_spectrum(d, covariance, 1.0)
    rng = np.random.default_rng(4)
    X, w = _design(rng, T, s), _unit(rng, d)
    base = np.trace(np.diag(s) @ np.linalg.inv(X.T @ X))
    expected = (sigma**2 + np.arange(G) * sigma0**2) * base
    np.testing.assert_allclose(ridge_replace_exact(X, w, s, 0.0, sigma, sigma0, G), expected, rtol=1e-10)


def test_replace_expected_at_zero_ridge_matches_the_wishart_mean():
    """Averaged over designs, λ = 0: (σ² + (n − 1)σ₀²) d/(T − d − 1) within 4 SE (Dohmatob et al. 2024)."""
    d, T, G, sigma, sigma0 = 5, 20, 4, 1.0, 0.5
    mean, se = ridge_replace_expected(d, T, 0.0, sigma, sigma0, G, make_spectrum(d, "power-law", 1.0),
                                      n_designs=4000, seed=9)
    target = (sigma**2 + np.arange(G) * sigma0**2) * d / (T - d - 1)
    assert np.all(np.abs(mean - target) < Z * se), (mean, target, se)


def test_replace_expected_is_reproducible_and_averages_the_conditional_formula():
    d, T, lam, G = 6, 10, 0.2, 3
    m1, s1 = ridge_replace_expected(d, T, lam, 1.0, 1.0, G, n_designs=5, seed=3)
    m2, s2 = ridge_replace_expected(d, T, lam, 1.0, 1.0, G, n_designs=5, seed=3)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    assert m1.shape == s1.shape == (G,) and np.all(s1 > 0)
    rng = np.random.default_rng(3)  # the documented draw order: w*, then X, per design
    vals = []
    for _ in range(5):
        u = rng.standard_normal(d)
        w = u / np.linalg.norm(u)
        vals.append(ridge_replace_exact(rng.standard_normal((T, d)), w, None, lam, 1.0, 1.0, G))
    np.testing.assert_allclose(m1, np.mean(vals, axis=0), rtol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("d,T,lam,covariance,sigma,sigma0", [
    (10, 20, 0.3, "isotropic", 1.0, 0.7),
    (10, 6, 0.05, "power-law", 0.5, 1.0),  # over-parameterised
])
def test_replace_expected_matches_the_engine(d, T, lam, covariance, sigma, sigma0):
    """End to end: collapse.run_loop (LinearRegression, ridge, fixed design, replace, M = T) against
    ridge_replace_expected through theory.check, combining both SEs (|z| < 4 at every generation)."""
    from collapse import LinearRegression, LoopConfig, run_loop
    from theory import check
    from theory.curves import TheoryCurve

    fam = LinearRegression(d=d, T=T, ridge=lam, covariance=covariance, sigma=sigma, sigma0=sigma0, design="fixed")
    cfg = LoopConfig(mode="replace", generations=5, replicates=4000, seed=3)
    mean, se = ridge_replace_expected(d, T, lam, sigma, sigma0, 5, make_spectrum(d, covariance, fam.alpha),
                                      fam.w_norm, n_designs=4000, seed=1)
    result = check(run_loop(fam, cfg)["E_test"], TheoryCurve("ridge replace", mean, "derived", se=se))
    assert result.agree, result.summary()


# -- input validation ---------------------------------------------------------------------------------------
X0, W0 = np.ones((6, 3)), np.ones(3)


@pytest.mark.parametrize("call,param", [
    (lambda: ridge_collapse_term(1, 10, 10, 1.0, 0.1, 20), "T0"),
    (lambda: ridge_collapse_term(-1, 10, 30, 1.0, 0.1, 20), "n"),
    (lambda: ridge_collapse_term(1.5, 10, 30, 1.0, 0.1, 20), "n"),
    (lambda: ridge_collapse_term(1, 10, 30, -1.0, 0.1, 20), "sigma0"),
    (lambda: ridge_collapse_term(1, 10, 30, 1.0, -0.1, 20), "lam_ridge"),
    (lambda: ridge_collapse_term(1, 10, 30, 1.0, 0.1, 0), "T"),
    (lambda: ridge_collapse_term(1, 3, 30, 1.0, 0.1, 20, [1.0, 0.0, 1.0]), "spectrum"),
    (lambda: ridge_collapse_term(1, 3, 30, 1.0, 0.1, 20, [1.0, 1.0]), "spectrum"),
    (lambda: ridge_trace_moments_mc(3, 5, 0.1, None, n_designs=1), "n_designs"),
    (lambda: ridge_trace_moments_de(0, 5, 0.1), "d"),
    (lambda: ridge_replace_exact(np.ones(6), W0, None, 0.1, 1.0, 1.0, 3), "X"),
    (lambda: ridge_replace_exact(X0, np.ones(4), None, 0.1, 1.0, 1.0, 3), "w_star"),
    (lambda: ridge_replace_exact(X0, W0, None, 0.1, 1.0, 1.0, 0), "generations"),
    (lambda: ridge_replace_exact(X0, W0, None, 0.1, float("nan"), 1.0, 3), "sigma"),
    (lambda: ridge_replace_exact(X0, W0, None, np.inf, 1.0, 1.0, 3), "lam_ridge"),
    (lambda: ridge_replace_expected(3, 6, 0.1, 1.0, 1.0, 3, w_norm=-1.0), "w_norm"),
    (lambda: ridge_replace_expected(3, 6, 0.1, 1.0, 1.0, True), "generations"),
    (lambda: make_spectrum(5, "cubic"), "covariance"),
    (lambda: ridge_kappa(10, 0.1, None), "spectrum"),
    (lambda: ridge_kappa(10, 0.1, [1.0, -1.0]), "spectrum"),
])
def test_bad_input_raises_value_error_naming_the_parameter(call, param):
    with pytest.raises(ValueError, match=rf"^{param} must"):
        call()
