"""The regression window verifier beyond linearization (Yi, Liu, Cheng, Xu 2026, arXiv 2510.16657; our
regression analogue, docs/feedback.md §4): the exact one-step map of E‖ŵ − w_v‖² under a *fresh* Gaussian
design, and from it an upper bound on the test error at every offset.

Setting: x ~ N(0, I_d) fresh every generation, M synthetic rows y' = xᵀŵ_n + σ₀ε, the verifier keeps a row
iff |y' − xᵀw_v| ≤ h, model n + 1 is OLS on the kept rows. Write e = ŵ_n − w_v, s = ‖e‖, and for a row
z = xᵀe/s ~ N(0, 1), u = y' − xᵀw_v = sz + σ₀ε. The rest of x, x_⊥, is N(0, I_{d−1}) and independent of
(z, u) and so of whether the row is kept: given s the kept rows are iid, and given their number k and their
(z, u) the nuisance block x_⊥ is a Gaussian matrix. Regressing u on (z, x_⊥) then gives, *exactly*
(docs/feedback.md §4b):

    E[‖e_{n+1}‖² | s, k, (z, u)] = b² + ‖r‖²·(d − 1)(1 + 1/S_zz)/((k − 1)(k − d − 1)),

b = S_zu/S_zz the simple slope, ‖r‖² = S_uu − S_zu²/S_zz its residual, S the kept sums. The ratio moments
over the iid kept rows follow from 1/B = ∫₀^∞ e^{−tB} dt (and 1/B² = ∫₀^∞ t e^{−tB} dt), each a product of
one-row transforms ψ(t) computed by quadrature, and k is Binomial(M, π̄(s)). That is ``step_moment`` = g(s²).

Provenance per function: **derived** (by us, docs/feedback.md §4a–4c), **bound** (rigorous given the stated,
numerically checked premise), **approx** (with its measured error). Checked in tests/test_window_bound.py.
All expectations are *restricted* to the event that every generation keeps k ≥ d + 2 rows: with k ≤ d + 1 the
OLS has an infinite mean square (inverse-Wishart), so the unrestricted E_test is formally infinite; the
event's probability is reported by ``small_keep_probability`` (1.6e−87 per generation at s = 0, 4.5e−38 at
s² = 2.25, in the published setting d = 5, M = 200, σ₀ = h = 1).
"""

import functools

import numpy as np
from scipy.special import ndtr
from scipy.stats import binom

from theory.curves import TheoryCurve, TheoryUnavailable
from theory.window import contraction, keep_probability

_Y = np.linspace(-16.0, 32.0, 241)  # log t grid of the Laplace integrals (t from 1e−7 to 8e13)
_T_GRID = np.exp(_Y)
_NZ = 801  # z points per t (trapezoid on a uniform grid: spectrally accurate for these smooth integrands)


def _pdf(x):
    return np.exp(-0.5 * np.square(x)) / np.sqrt(2 * np.pi)


def truncated_moments(a, h):
    """N(a, 1) truncated to [−h, h]: (mean m(a), variance v(a)). [classical; e.g. Johnson, Kotz & Balakrishnan
    1994, §10.1]. v(a) = m'(a) (an exponential family in a) and Lemma 1 (docs/feedback.md §4a): v(a) ≤ v(0) = V_h,
    hence |m(a)| ≤ V_h|a| — checked on a grid in tests/test_window_bound.py."""
    a = np.asarray(a, float)
    lo, hi = -h - a, h - a
    Z = ndtr(hi) - ndtr(lo)
    r1 = (_pdf(lo) - _pdf(hi)) / Z
    r2 = (lo * _pdf(lo) - hi * _pdf(hi)) / Z
    return a + r1, 1 + r2 - r1**2


def _row_weights(z, s, sigma0, h):
    """Unnormalised kept-row moments at z: φ(z)·(P(kept | z), E[u; kept | z], E[u²; kept | z])."""
    mu = s * z
    lo, hi = (-h - mu) / sigma0, (h - mu) / sigma0
    Z = ndtr(hi) - ndtr(lo)
    dphi = _pdf(lo) - _pdf(hi)
    q1 = mu * Z + sigma0 * dphi
    q2 = (mu**2 + sigma0**2) * Z + 2 * mu * sigma0 * dphi + sigma0**2 * (lo * _pdf(lo) - hi * _pdf(hi))
    w = _pdf(z)
    return w * Z, w * q1, w * q2


def _transforms(s, sigma0, h):
    """One kept row's transforms on _T_GRID: ψ_f(t) = E[f e^{−tz²} | kept] for f = 1, u², z²u², zu, z²; and
    π̄ = P(kept). z-grid half-width min(10, 12/√t, (h + 10σ₀)/s): narrow e^{−tz²} and, at large s, the narrow
    kept band |z| ≲ (h + 10σ₀)/s stay resolved (outside it P(kept | z) < Φ(−10))."""
    band = 10.0 if s == 0 else min(10.0, (h + 10 * sigma0) / s)
    half = np.minimum(band, 12.0 / np.sqrt(_T_GRID))[:, None]
    z = np.linspace(-1.0, 1.0, _NZ)[None, :] * half
    dz = (2 * half[:, 0]) / (_NZ - 1)
    q0, q1, q2 = _row_weights(z, s, sigma0, h)
    damp = np.exp(-_T_GRID[:, None] * z**2)

    def integral(f):
        g = f * damp
        return (np.sum(g, axis=1) - 0.5 * (g[:, 0] + g[:, -1])) * dz

    pbar = keep_probability(h / np.sqrt(s**2 + sigma0**2))  # u ~ N(0, s² + σ₀²) before keeping
    psi = {"1": integral(q0), "uu": integral(q2), "zzuu": integral(z**2 * q2), "zu": integral(z * q1),
           "zz": integral(z**2 * q0)}
    return {k: v / pbar for k, v in psi.items()}, pbar


def _laplace(integrand_t):
    """∫₀^∞ f(t) dt on the log grid: ∫ f(e^y) e^y dy by the trapezoid rule. integrand_t: [..., len(_Y)]."""
    g = integrand_t * _T_GRID
    return np.sum((g[..., 1:] + g[..., :-1]) * 0.5 * np.diff(_Y), axis=-1)


def _per_k(s, d, M, sigma0, h):
    """For each kept count k ≥ d + 2: its probability, E[‖e'‖² | s, k] and E[e'·ê | s, k] (the slope's mean)."""
    psi, pbar = _transforms(s, sigma0, h)
    k = np.arange(d + 2, M + 1, dtype=float)
    prob = binom.pmf(k, M, pbar)
    live = prob > 1e-18 * max(prob.max(), 1e-300)
    k, prob = k[live], prob[live]
    kk = k[:, None]
    with np.errstate(divide="ignore", under="ignore"):
        log0 = np.log(psi["1"])[None, :]
        pow1 = np.exp((kk - 1) * log0)  # ψ₀^{k−1}
        pow2 = np.exp((kk - 2) * log0)  # ψ₀^{k−2}
    e_zu2 = kk * psi["zzuu"] * pow1 + kk * (kk - 1) * psi["zu"] ** 2 * pow2  # E[S_zu² e^{−t S_zz}]
    s_zu2_over_zz = _laplace(e_zu2)
    s_zu2_over_zz2 = _laplace(_T_GRID * e_zu2)
    s_uu_over_zz = _laplace(kk * psi["uu"] * pow1)
    s_uu = k * psi["uu"][0] / 1.0  # E S_uu = k E u² (t = 0 limit of ψ_uu; _T_GRID[0] = 1e−7)
    c = (d - 1) / ((k - 1) * (k - d - 1))
    second = s_zu2_over_zz2 + c * (s_uu - s_zu2_over_zz + s_uu_over_zz - s_zu2_over_zz2)
    slope = _laplace(kk * psi["zu"] * pow1)  # E[S_zu/S_zz]
    return k, prob, second, slope, pbar


def _moments(x, d, M, sigma0, h):
    """(g, q) at x = s²: g = E[‖e_{n+1}‖²; k ≥ d + 2 | s], q = E[⟨e_{n+1}, ê⟩; k ≥ d + 2 | s] = E[b; k ≥ d + 2]."""
    if d < 1 or M < d + 2:
        raise TheoryUnavailable("the window bound needs M >= d + 2 synthetic rows")
    return _moments_cached(max(float(x), 0.0), int(d), int(M), float(sigma0), float(h))


@functools.lru_cache(maxsize=8192)  # reports, figures and checks ask for the same curves several times
def _moments_cached(x, d, M, sigma0, h):
    _, prob, second, slope, _ = _per_k(np.sqrt(x), d, M, sigma0, h)
    return float(np.sum(prob * second)), float(np.sum(prob * slope))


def step_moment(x, *, d: int, M: int, sigma0: float, h: float) -> float:
    """g(x) = E[‖e_{n+1}‖²; k_{n+1} ≥ d + 2 | ‖e_n‖² = x] under a fresh design (module docstring).
    [derived, exact up to quadrature error (< 1e−6 relative at s = 0, where it is σ₀²V·E[d/(k − d − 1)]);
    docs/feedback.md §4b]"""
    return _moments(x, d, M, sigma0, h)[0]


def slope_factor(x, *, d: int, M: int, sigma0: float, h: float) -> float:
    """ρ(s) with E[e_{n+1}; k ≥ d + 2 | e_n] = ρ(s)·e_n, s² = x > 0 (by rotational invariance the mean lies
    along e_n; ρ = E[b; k ≥ d + 2]/s). [derived; docs/feedback.md §4b]. ρ(0⁺) = P(k ≥ d + 2 | 0)·V_{h/σ₀}
    (``slope_at_zero``): the linearization's slope."""
    if x <= 0:
        return slope_at_zero(d=d, M=M, sigma0=sigma0, h=h)
    return _moments(x, d, M, sigma0, h)[1] / np.sqrt(x)


def slope_at_zero(*, d: int, M: int, sigma0: float, h: float) -> float:
    """ρ(0⁺) = V_{h/σ₀}·P(k ≥ d + 2) at s = 0 (E[u | z, kept] = V s z + O(s³), k ~ Bin(M, p_{h/σ₀})). [derived]"""
    return float(contraction(h / sigma0) * binom.sf(d + 1, M, keep_probability(h / sigma0)))


def small_keep_probability(x, *, d: int, M: int, sigma0: float, h: float) -> float:
    """P(k ≤ d + 1 | ‖e‖² = x): the event the restricted expectations leave out (one generation)."""
    pbar = keep_probability(h / np.sqrt(max(float(x), 0.0) + sigma0**2))  # u ~ N(0, s² + σ₀²) before keeping
    return float(binom.cdf(d + 1, M, pbar))


def upper_hull(xs, gs):
    """Vertices of the least concave majorant of the points (xs, gs), xs increasing (monotone chain)."""
    hull = []
    for p in zip(xs, gs, strict=True):
        while len(hull) >= 2 and (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0]) <= \
                (p[1] - hull[-2][1]) * (hull[-1][0] - hull[-2][0]):
            hull.pop()
        hull.append(p)
    return np.array(hull)


def keep_horizon(*, d: int, M: int, sigma0: float, h: float, tail: float = 1e-20) -> float:
    """x_max = s² beyond which P(k ≥ d + 2 | s) < ``tail``. A row is kept with probability
    π̄(s) = 2Φ(h/√(s² + σ₀²)) − 1 exactly (u ~ N(0, s² + σ₀²)), decreasing in s."""
    lo, hi = 0.0, 1.0
    while binom.sf(d + 1, M, keep_probability(h / np.sqrt(hi + sigma0**2))) > tail:
        lo, hi = hi, hi * 4
    for _ in range(60):
        mid = np.sqrt(lo * hi) if lo > 0 else hi / 2
        lo, hi = (mid, hi) if binom.sf(d + 1, M, keep_probability(h / np.sqrt(mid + sigma0**2))) > tail else (lo, mid)
    return hi


@functools.lru_cache(maxsize=64)
def _grid(d, M, sigma0, h, per_decade=8):
    """x = s² on {0} ∪ a log grid up to the keep horizon, with g(x) and κ(x) = |ρ(0⁺)s − q(s)| there."""
    x_hi = keep_horizon(d=d, M=M, sigma0=sigma0, h=h)
    xs = np.concatenate([[0.0], np.logspace(-4, np.log10(x_hi), int(per_decade * (np.log10(x_hi) + 4)) + 1)])
    gq = np.array([_moments(x, d, M, sigma0, h) for x in xs])
    rho0 = slope_at_zero(d=d, M=M, sigma0=sigma0, h=h)
    return xs, gq[:, 0], np.abs(rho0 * np.sqrt(xs) - gq[:, 1])


def _hull_at(x, xs, fs, fx):
    i = int(np.searchsorted(xs, x))
    hull = upper_hull(np.insert(xs, i, x), np.insert(fs, i, fx))
    return float(np.interp(x, hull[:, 0], hull[:, 1]))


def majorants(x, *, d: int, M: int, sigma0: float, h: float):
    """(ĝ(x), κ̂(x)): the least concave majorants of g and of κ(x) = |ρ(0⁺)s − q(s)| (s = √x) over the grid of
    ``_grid`` plus x itself, at x. Concave, ≥ the function, and non-decreasing (both are ≥ 0 and a concave
    function that decreased somewhere would go to −∞). [numerical: exact at the grid points and at x; between
    grid points a chord may sit below by f''·Δx²/8; beyond the keep horizon, where P(k ≥ d + 2) < 1e−20, g is
    neglected and κ ≈ ρ(0⁺)s is concave]"""
    xs, gs, ks = _grid(d, M, float(sigma0), float(h))
    if x >= xs[-1]:
        raise TheoryUnavailable("the majorants are tabulated up to the keep horizon")
    g, q = _moments(x, d, M, sigma0, h)
    kappa = abs(slope_at_zero(d=d, M=M, sigma0=sigma0, h=h) * np.sqrt(x) - q)
    return _hull_at(x, xs, gs, g), _hull_at(x, xs, ks, kappa)


def window_error_bound(generations: int, *, d: int, T: int, M: int, sigma: float, sigma0: float, h: float,
                       offset: float):
    """Fresh design, Δ = w_v − w* (‖Δ‖ = offset), e_n = ŵ_n − w_v. Second moment: b_1 = offset² + σ²d/(T − d − 1)
    = E‖e_1‖², b_{n+1} = ĝ(b_n) ≥ E‖e_{n+1}‖² (Jensen on the concave non-decreasing majorant ĝ ≥ g). Drift toward
    w_v: m_1 = −offset² = ⟨E e_1, Δ⟩, m_{n+1} = ρ₀m_n + offset·κ̂(b_n) ≥ ⟨E e_{n+1}, Δ⟩ (E[e_{n+1} | e_n] = ρ(s)e_n,
    ρ(s) = ρ₀ − (ρ₀ − ρ(s)), Cauchy–Schwarz and Jensen on κ̂). Then
    E_test(n) = E‖e_n‖² + 2⟨E e_n, Δ⟩ + offset² ≤ min(b_n + 2m_n + offset², (√b_n + offset)²), and
    E_test(1) = σ²d/(T − d − 1) exactly. Returns (E_test bound [G], b [G]).
    [bound, derived by us (docs/feedback.md §4c); on the event that every generation keeps ≥ d + 2 rows; the
    majorants are tabulated numerically (see ``majorants``)]"""
    if not T > d + 1:
        raise TheoryUnavailable("the real fit needs T > d + 1 rows for a finite mean error")
    rho0 = slope_at_zero(d=d, M=M, sigma0=sigma0, h=h)
    b, m = [offset**2 + sigma**2 * d / (T - d - 1)], [-(offset**2)]
    for _ in range(generations - 1):
        g_hat, kappa_hat = majorants(b[-1], d=d, M=M, sigma0=sigma0, h=h)
        m.append(rho0 * m[-1] + offset * kappa_hat)
        b.append(g_hat)
    b, m = np.array(b), np.array(m)
    bound = np.minimum(b + 2 * m + offset**2, (np.sqrt(b) + offset) ** 2)
    bound[0] = sigma**2 * d / (T - d - 1)
    return bound, b


def window_error_meanfield(generations: int, *, d: int, T: int, M: int, sigma: float, sigma0: float, h: float,
                           offset: float):
    """Approximation of E_test: the exact second-moment map plus the mean's slope at the current size,
    b_{n+1} = g(b_n), c_{n+1} = ρ(√b_n)c_n (c = E⟨ŵ_n − w_v, w_v − w*⟩, c_1 = −offset²),
    E_test ≈ b_n + 2c_n + offset². [approx: replaces E g(s²) by g(E s²) and E ρ(s)⟨e, Δ⟩ by ρ(√E s²)·E⟨e, Δ⟩;
    measured error in docs/feedback.md §4d]"""
    if not T > d + 1:
        raise TheoryUnavailable("the real fit needs T > d + 1 rows for a finite mean error")
    b, c = [offset**2 + sigma**2 * d / (T - d - 1)], [-(offset**2)]
    for _ in range(generations - 1):
        kw = dict(d=d, M=M, sigma0=sigma0, h=h)
        c.append(slope_factor(b[-1], **kw) * c[-1])
        b.append(step_moment(b[-1], **kw))
    return np.array(b) + 2 * np.array(c) + offset**2


def _setting(family, cfg, selector):
    if cfg.mode != "replace" or family.covariance != "isotropic" or family.ridge != 0 or family.verifier_n != 0:
        raise TheoryUnavailable("the exact window map covers replace mode, isotropic OLS, a given verifier")
    if selector.kind == "oracle":  # keep iff |y − xᵀw*| ≤ τ: a window of half-width τ around w_v = w*
        h, offset = selector.tau, 0.0
    elif selector.kind == "window":
        h, offset = selector.h, selector.offset
    else:
        raise TheoryUnavailable(f"no exact window map for the {selector.kind} selector")
    return dict(d=family.d, T=family.T, M=family.synth_size, sigma=family.sigma, sigma0=family.noise_synth,
                h=h, offset=offset)


_SOURCE = "derived (docs/feedback.md §4b–4d) after Yi et al. 2026, arXiv 2510.16657"


def window_bound_curves(family, cfg, selector):
    """The upper bound on E_test (TheoryCurve, kind upper-bound); proven for a fresh design only."""
    if family.design != "fresh":
        raise TheoryUnavailable("the window bound is proven for a fresh design only (docs/feedback.md §4c)")
    bound, _ = window_error_bound(cfg.generations, **_setting(family, cfg, selector))
    return TheoryCurve("window bound (fresh design)", bound, "bound, " + _SOURCE, kind="upper-bound",
                       metric="E_test")


def window_meanfield_curve(family, cfg, selector):
    """The exact-map mean field for E_test (approx; measured error for both designs in docs/feedback.md §4d)."""
    values = window_error_meanfield(cfg.generations, **_setting(family, cfg, selector))
    return TheoryCurve("window exact-map mean field", values, "approx, " + _SOURCE, metric="E_test")


__all__ = ["truncated_moments", "step_moment", "slope_factor", "slope_at_zero", "small_keep_probability",
           "upper_hull", "keep_horizon", "majorants", "window_error_bound",
           "window_error_meanfield", "window_bound_curves", "window_meanfield_curve"]
