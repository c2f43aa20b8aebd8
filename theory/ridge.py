"""Ridge regression in the self-consuming loop: the Dohmatob et al. collapse term and the exact fixed-design chain.

Conventions (as in collapse.families.linear): x ~ N(0, Σ) with Σ = diag(spectrum) (default isotropic, all ones);
y = xᵀw* + noise; ridge ŵ = (XᵀX + λT I)⁻¹Xᵀy with λ = ``lam_ridge`` and T = rows of X (λ = 0: min-norm OLS);
E_test(w) = ‖w − w*‖²_Σ. Real labels carry noise σ, synthetic labels σ₀. Generations n = 1..G; generation 1
fits the real labels, generation n ≥ 2 fits labels produced by model n − 1 at the same design ("replace").

Two matrices of the design recur: A = (XᵀX + λT I)⁻¹XᵀX (= XᵀX(XᵀX + λT I)⁻¹, symmetric) and
R = (XᵀX + λT I)⁻¹Xᵀ, with RRᵀ = (XᵀX + λT I)⁻¹XᵀX(XᵀX + λT I)⁻¹. Both are functions of XᵀX = V diag(g) Vᵀ:
A = V diag(g/(g+λT)) Vᵀ and RRᵀ = V diag(g/(g+λT)²) Vᵀ; at λ = 0 they are the projection on the row space and
(XᵀX)⁺ (eigenvalues below the cutoff of collapse.linalg dropped, as in the simulation).

Deterministic equivalents use the effective regularisation κ of the ridge fixed point
κ − λ = (κ/T)·df₁(κ), df₁(κ) = tr Σ(Σ+κI)⁻¹, df₂(κ) = tr Σ²(Σ+κI)⁻²; λ is the ridge of Σ̂ = XᵀX/T,
which is exactly our λ because the penalty is λT on XᵀX. Derivations: docs/ridge.md. Pure numpy/scipy, float64.
"""

from typing import NamedTuple

import numpy as np
from scipy import optimize

_CHUNK_BYTES = 32 * 2**20  # memory per batch of Monte-Carlo designs


class TraceMoments(NamedTuple):
    """E tr(A²) and E tr(ΣAΣ⁻¹A) of the ridge operator A, with Monte-Carlo standard errors (0 for the DE)."""

    tr_a2: float
    tr_weighted: float
    tr_a2_se: float = 0.0
    tr_weighted_se: float = 0.0


# -- validation ----------------------------------------------------------------------------------------------
def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {name}={value!r}")


def _check_nonneg(name, value):
    try:
        ok = np.isfinite(value) and value >= 0
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be a finite number >= 0; got {name}={value!r}")


def _check_spectrum(spectrum, d):
    """Σ's eigenvalues as a float64 [d] array (None: isotropic, all ones); positive and finite."""
    if spectrum is None:
        return np.ones(d)
    s = np.asarray(spectrum, dtype=np.float64)
    if s.shape != (d,):
        raise ValueError(f"spectrum must be a 1-D array of length d={d}; got shape {s.shape}")
    if not np.all(np.isfinite(s)) or not np.all(s > 0):
        raise ValueError(f"spectrum must be finite and > 0 (Σ must be invertible); got min={s.min()!r}")
    return s


def make_spectrum(d: int, covariance: str = "isotropic", alpha: float = 1.0) -> np.ndarray:
    """Σ's eigenvalues in float64, as collapse.families.linear.covariance_spectrum: all ones, or i^(−α)
    scaled to tr Σ = d. Convention of the simulation (not a formula)."""
    _check_int("d", d, 1)
    if covariance == "isotropic":
        return np.ones(d)
    if covariance != "power-law":
        raise ValueError(f"covariance must be one of ('isotropic', 'power-law'); got covariance={covariance!r}")
    _check_nonneg("alpha", alpha)
    lam = np.arange(1, d + 1, dtype=np.float64) ** (-float(alpha))
    return lam * (d / lam.sum())


# -- the design's spectral factors ---------------------------------------------------------------------------
def _gram_factors(gram_eigvals, ridge_total):
    """Eigenvalues of A and of RRᵀ from those of XᵀX (last axis), ridge_total = λT.

    λT = 0 follows collapse.linalg._spectral_inverse: eigenvalues below d·eps·max are treated as zero (min-norm).
    """
    g = np.maximum(gram_eigvals, 0.0)
    if ridge_total > 0:
        denom = g + ridge_total
        return g / denom, g / denom**2
    cutoff = g.shape[-1] * np.finfo(np.float64).eps * np.max(g, axis=-1, keepdims=True)
    keep = g > cutoff
    return keep.astype(np.float64), np.where(keep, 1.0 / np.where(keep, g, 1.0), 0.0)


# -- deterministic equivalents ------------------------------------------------------------------------------
def ridge_kappa(T: int, lam_ridge: float, spectrum) -> float:
    """Effective regularisation κ ≥ λ of ridge on T samples: κ − λ = (κ/T)·tr Σ(Σ + κI)⁻¹.

    Stated: the standard Marchenko–Pastur / Silverstein fixed point of ridge regression (e.g. Bach 2024,
    arXiv:2303.01372, §2), written for Σ̂ = XᵀX/T and ridge λ, i.e. our
    (XᵀX + λT I). κ = 0 when λ = 0 and T ≥ d (A = I exactly). Solved by Brent's method on
    h(κ) = 1 − df₁(κ)/T − λ/κ, which is strictly increasing, so the root is unique.
    """
    _check_int("T", T, 1)
    _check_nonneg("lam_ridge", lam_ridge)
    if spectrum is None:
        raise ValueError("spectrum must be an array of Σ's eigenvalues; got spectrum=None")
    s = _check_spectrum(spectrum, np.size(spectrum))
    d = s.size
    if lam_ridge == 0 and T >= d:
        return 0.0

    def h(k):
        return 1.0 - np.sum(s / (s + k)) / T - lam_ridge / k

    hi = lam_ridge + s.sum() / T  # h(hi) > 0 since df₁(κ) < tr Σ/κ
    # λ > 0: h(λ) = −df₁/T < 0. λ = 0, T < d: df₁(κ) ≥ d·s_min/(s_min+κ) > T for κ < s_min(d−T)/T.
    lo = lam_ridge if lam_ridge > 0 else 0.5 * s.min() * (d - T) / T
    return float(optimize.brentq(h, lo, hi, xtol=1e-300, rtol=4 * np.finfo(np.float64).eps, maxiter=500))


def ridge_trace_moments_de(d: int, T: int, lam_ridge: float, spectrum=None) -> TraceMoments:
    """Deterministic equivalents of E tr(A²) and E tr(ΣAΣ⁻¹A), A = XᵀX(XᵀX + λT I)⁻¹, X: T rows N(0, Σ).

    Derived (docs/ridge.md §2) from the standard first-order equivalent λ(Σ̂ + λI)⁻¹ ≍ κ(Σ + κI)⁻¹: tr(A²) by
    differentiating in λ, tr(ΣAΣ⁻¹A) by differentiating in a perturbation tΣ⁻¹ of the regulariser:
      tr(A²)      ≍ df₂ + (df₁ − df₂)²/(T − df₂),
      tr(ΣAΣ⁻¹A) ≍ df₂ (T + d − 2df₁)/(T − df₂),
    at κ = ridge_kappa(T, λ, Σ). The two coincide for Σ ∝ I. Asymptotic (d, T → ∞, d/T fixed): for real
    Gaussian designs the error is O(1) in absolute terms, i.e. O(1/d) relative (tests/test_theory_ridge.py).
    Exact (= d) when λ = 0 and T ≥ d.
    """
    _check_int("d", d, 1)
    _check_int("T", T, 1)
    _check_nonneg("lam_ridge", lam_ridge)
    s = _check_spectrum(spectrum, d)
    kappa = ridge_kappa(T, lam_ridge, s)
    if kappa == 0.0:
        return TraceMoments(float(d), float(d))
    frac = s / (s + kappa)
    df1, df2 = frac.sum(), (frac**2).sum()
    tr_a2 = df2 + (df1 - df2) ** 2 / (T - df2)
    tr_weighted = df2 * (T + d - 2 * df1) / (T - df2)
    return TraceMoments(float(tr_a2), float(tr_weighted))


def ridge_collapse_term(n, d: int, T0: int, sigma0: float, lam_ridge: float, T: int, spectrum=None):
    """Extra test error of a downstream ridge model after n synthetic OLS generations (fresh designs).

    Dohmatob, Feng & Kempe 2024, "Model collapse demystified" (ridge; docs/papers/dohmatob2024.md): each generation
    refits OLS on T₀ fresh samples labelled by the previous model with noise σ₀; a ridge model (T samples,
    ridge λ) trained on labels of generation n has E_test = E_test(n = 0) + Δ_n with

        Δ_n = n σ₀²/(T₀ − d − 1) · E tr(ΣAΣ⁻¹A),   A = XᵀX(XᵀX + λT I)⁻¹.

    Stated for Σ ∝ I as n σ₀² E tr(A²)/(T₀ − d − 1); the general-Σ form (tr(ΣAΣ⁻¹A) ≠ tr(A²) unless Σ ∝ I)
    is derived (docs/ridge.md §1): ŵ_n = w* + η with Cov η = n σ₀² E(X₀ᵀX₀)⁻¹ = n σ₀² Σ⁻¹/(T₀ − d − 1)
    (exact inverse-Wishart mean), independent of the downstream design and noise. The trace is evaluated
    with its deterministic equivalent (ridge_trace_moments_de: asymptotic, O(1/d) relative error); the
    prefactor is exact. λ = 0 and T ≥ d give n σ₀² d/(T₀ − d − 1), the stated OLS term, exactly.

    n: integer ≥ 0 or array of them (returns float or array).
    """
    n_arr = np.asarray(n)
    if n_arr.dtype.kind not in "iu" or np.any(n_arr < 0):
        raise ValueError(f"n must be an integer >= 0 (or an array of them); got n={n!r}")
    _check_int("d", d, 1)
    _check_int("T0", T0, 1)
    _check_int("T", T, 1)
    _check_nonneg("sigma0", sigma0)
    _check_nonneg("lam_ridge", lam_ridge)
    if T0 <= d + 1:
        raise ValueError(f"T0 must exceed d+1 for the OLS collapse term; got T0={T0}, d={d}")
    trace = ridge_trace_moments_de(d, T, lam_ridge, spectrum).tr_weighted
    out = n_arr * sigma0**2 / (T0 - d - 1) * trace
    return float(out) if out.ndim == 0 else out


# -- Monte Carlo over designs --------------------------------------------------------------------------------
def ridge_trace_moments_mc(d: int, T: int, lam_ridge: float, spectrum=None, n_designs: int = 200,
                           seed: int = 0) -> TraceMoments:
    """Monte-Carlo estimate of E tr(A²) and E tr(ΣAΣ⁻¹A) over n_designs designs X (T rows N(0, Σ)),
    with standard errors std/√n_designs. Exact in expectation (no asymptotics); the finite-size reference
    for ridge_trace_moments_de. numpy Generator(PCG64) seeded with ``seed``.
    """
    _check_int("d", d, 1)
    _check_int("T", T, 1)
    _check_nonneg("lam_ridge", lam_ridge)
    _check_int("n_designs", n_designs, 2)
    s = _check_spectrum(spectrum, d)
    rng = np.random.default_rng(seed)
    ratio = s[:, None] / s[None, :]
    batch = max(1, _CHUNK_BYTES // (8 * (T * d + 2 * d * d)))
    tr_a2, tr_w = [], []
    for start in range(0, n_designs, batch):
        b = min(batch, n_designs - start)
        X = rng.standard_normal((b, T, d)) * np.sqrt(s)
        g, V = np.linalg.eigh(np.matmul(X.transpose(0, 2, 1), X))
        a, _ = _gram_factors(g, lam_ridge * T)
        A = np.matmul(V * a[:, None, :], V.transpose(0, 2, 1))
        tr_a2.append(np.sum(a**2, axis=-1))
        tr_w.append(np.einsum("bij,ij->b", A**2, ratio))
    tr_a2, tr_w = np.concatenate(tr_a2), np.concatenate(tr_w)
    root = np.sqrt(n_designs)
    return TraceMoments(float(tr_a2.mean()), float(tr_w.mean()),
                        float(tr_a2.std(ddof=1) / root), float(tr_w.std(ddof=1) / root))


# -- the fixed-design ridge chain (replace) ------------------------------------------------------------------
def ridge_replace_exact(X, w_star, spectrum, lam_ridge: float, sigma: float, sigma0: float,
                        generations: int) -> np.ndarray:
    """E[E_test(ŵ_n) | X, w*] for n = 1..G of the fixed-design ridge chain in replace mode. Returns [G].

    Derived (docs/ridge.md §3; exact, no asymptotics). With ŵ₀ = w*, ŵ_n = Aŵ_{n−1} + R E_n, E₁ ~ N(0, σ²I),
    E_k ~ N(0, σ₀²I) for k ≥ 2, all independent:
        ŵ_n − w* = (Aⁿ − I)w* + Σ_{k≤n} A^{n−k} R E_k,
        E[E_test | X] = ‖(Aⁿ − I)w*‖²_Σ + Σ_{k≤n} σ_k² tr(Σ A^{n−k} RRᵀ A^{n−k}).
    In the eigenbasis of XᵀX (A, RRᵀ diagonal there) the noise sum obeys S_n = a²∘S_{n−1} + σ_n² r, so the
    cost is O(Td² + d³) for the factorisation plus O(G d) for the noise terms and O(G d²) for the bias
    (O(G d) when Σ ∝ I). λ = 0 and T > d gives (σ² + (n − 1)σ₀²) tr(Σ(XᵀX)⁻¹), the OLS formula.

    X: [T, d] design; w_star: [d]; spectrum: Σ's eigenvalues [d] (None: isotropic).
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or not np.all(np.isfinite(X)):
        raise ValueError(f"X must be a finite 2-D array [T, d]; got shape {X.shape}")
    T, d = X.shape
    w = np.asarray(w_star, dtype=np.float64)
    if w.shape != (d,) or not np.all(np.isfinite(w)):
        raise ValueError(f"w_star must be a finite 1-D array of length d={d}; got shape {w.shape}")
    s = _check_spectrum(spectrum, d)
    _check_nonneg("lam_ridge", lam_ridge)
    _check_nonneg("sigma", sigma)
    _check_nonneg("sigma0", sigma0)
    _check_int("generations", generations, 1)

    g, V = np.linalg.eigh(X.T @ X)
    a, r = _gram_factors(g, lam_ridge * T)
    n = np.arange(1, generations + 1)
    shrink = a[None, :] ** n[:, None] - 1.0  # [G, d]: eigenvalues of Aⁿ − I
    z = V.T @ w
    isotropic = np.all(s == s[0])
    if isotropic:
        bias = s[0] * np.sum((shrink * z) ** 2, axis=1)
        m = np.full(d, s[0])
    else:
        B = (V.T * s) @ V  # VᵀΣV
        D = shrink * z
        bias = np.einsum("gi,ij,gj->g", D, B, D)
        m = np.diag(B).copy()
    var = np.empty(generations)
    S = sigma**2 * r  # per-eigendirection noise variance of ŵ_n, in the eigenbasis
    var[0] = m @ S
    a2 = a**2
    for i in range(1, generations):
        S = a2 * S + sigma0**2 * r
        var[i] = m @ S
    return bias + var


def ridge_replace_expected(d: int, T: int, lam_ridge: float, sigma: float, sigma0: float, generations: int,
                           spectrum=None, w_norm: float = 1.0, n_designs: int = 200,
                           seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """E_test of the fixed-design ridge chain (replace, M = T), averaged over designs: (mean [G], se [G]).

    Derived: the average of ridge_replace_exact over n_designs independent draws of X (T rows N(0, Σ)) and
    w* (uniform on the sphere of radius w_norm, one per design) — what the simulation's replicates estimate.
    se is the Monte-Carlo standard error std/√n_designs of that average (combine it with the simulation's).
    numpy Generator(PCG64) seeded with ``seed`` (independent of the simulation's JAX stream).
    """
    _check_int("d", d, 1)
    _check_int("T", T, 1)
    _check_nonneg("lam_ridge", lam_ridge)
    _check_nonneg("sigma", sigma)
    _check_nonneg("sigma0", sigma0)
    _check_int("generations", generations, 1)
    _check_nonneg("w_norm", w_norm)
    _check_int("n_designs", n_designs, 2)
    s = _check_spectrum(spectrum, d)
    rng = np.random.default_rng(seed)
    vals = np.empty((n_designs, generations))
    for i in range(n_designs):
        u = rng.standard_normal(d)
        w_star = w_norm * u / np.linalg.norm(u)
        X = rng.standard_normal((T, d)) * np.sqrt(s)
        vals[i] = ridge_replace_exact(X, w_star, s, lam_ridge, sigma, sigma0, generations)
    return vals.mean(axis=0), vals.std(axis=0, ddof=1) / np.sqrt(n_designs)
