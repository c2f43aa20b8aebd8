"""Token editing in the linear model (Zhu et al. 2025, "How to Synthesize Text Data without Model
Collapse?", §4; docs/papers/zhu2025.md): the published expressions, and the exact recursion that decides them.

Setting: one fixed design X [T, d] (T > d), H = (XᵀX)⁻¹Xᵀ, P = XH, Q = I − P. Labels Ỹ₁ = Xw* + E₁
(noise σ); generation k+1 trains on Ỹ_{k+1} = M_k Ŷ_{k+1} + (I − M_k) Ỹ_k with Ŷ_{k+1} = Xŵ_k + E_{k+1}
(noise σ₀) and diagonal 0/1 masks M_k. Our generation n trains on Ỹ_n, so generation n's mask is
M_{n−1}; generation 1 is the clean fit. E_test = E‖ŵ_n − w*‖²_Σ.
"""

import math

import numpy as np

from collapse.errors import ConfigError
from collapse.spectra import covariance_spectrum
from theory.curves import TheoryCurve, TheoryUnavailable
from theory.regression import ols_noise_factor


# -- the paper's expressions -----------------------------------------------------------------------
def inv_gram_sq_moment(d: int, T: int) -> float:
    """E tr((XᵀX)⁻²) = d(T−1)/((T−d)(T−d−1)(T−d−3)) for X with T i.i.d. N(0, I_d) rows, T ≥ d + 4.

    Derived (docs/papers/zhu2025.md; from the second moments of the inverse Wishart W⁻¹ with T degrees of
    freedom); checked against Monte Carlo in tests/test_theory_toedit.py.
    """
    if T < d + 4:
        raise ConfigError("T", T, ">= d+4", f"T must be at least d+4 for E tr((XᵀX)⁻²); got T={T}, d={d}")
    return d * (T - 1) / ((T - d) * (T - d - 1) * (T - d - 3))


def theorem1_printed(d: int, T: int, sigma: float, edited_per_generation, sigma0: float | None = None) -> np.ndarray:
    """E_test implied by Theorem 1 *as printed*: ŵ_{n+1} = w* + H(E₁ + Σ_{i≤n} M_iE_{i+1}).

    Its expectation is σ²c + σ₀²c·Σ_{i<n}|M_i|/T with c = d/(T−d−1), because E‖He_j‖² = c/T for every
    row j by exchangeability (derived from the printed statement, isotropic or any Σ). Stated by the paper
    only for disjoint masks; it equals the exact recursion only when every M_i ∈ {0, I}.
    edited_per_generation: [G] expected |M_{n−1}| for generations n = 1..G (the first entry is 0).
    """
    sigma0 = sigma if sigma0 is None else sigma0
    sizes = np.asarray(edited_per_generation, float)
    return ols_noise_factor(d, T) * (sigma**2 + sigma0**2 * np.cumsum(sizes) / T)


def eq6_bound(d: int, T: int, sigma: float) -> float:
    """Eq. 6 (Theorem 2): E_test(ŵ_{n+1}) ≤ 2σ²d/(T−d−1) for disjoint masks. Stated bound."""
    return 2 * sigma**2 * ols_noise_factor(d, T)


def eta_bound(d: int, T: int, sigma: float, first_fraction: float, eta: float) -> float:
    """The η-bound for ‖M_i‖ = η‖M_{i−1}‖: σ²d/(T−d−1) + σ²·sqrt(E tr((XᵀX)⁻²))·sqrt(E tr M₁)/(1 − η),
    with E tr M₁ = f₁T. Stated bound (Zhu et al. 2025, Theorem 2)."""
    if not 0 < eta < 1:
        raise ConfigError("edit_eta", eta, "in (0, 1) for the η-bound")
    return sigma**2 * ols_noise_factor(d, T) + sigma**2 * math.sqrt(inv_gram_sq_moment(d, T)) * math.sqrt(
        first_fraction * T) / (1 - eta)


# -- the exact recursion ----------------------------------------------------------------------------
def _operators(X, spectrum):
    H = np.linalg.solve(np.einsum("btd,bte->bde", X, X), np.swapaxes(X, 1, 2))  # [B, d, T]
    Q = np.eye(X.shape[1]) - X @ H
    HtSH = np.swapaxes(H, 1, 2) @ (spectrum[:, None] * H)  # Hᵀ Σ H, so E_test = tr(C HᵀΣH)
    return H, Q, HtSH


def exact_recursion(X, masks, sigma: float, sigma0: float, spectrum=None) -> np.ndarray:
    """E[E_test | X, masks] for generations 1..G: C₁ = σ²I, C_{k+1} = A_kC_kA_kᵀ + σ₀²M_k with
    A_k = I − M_kQ, and E_test = tr(ΣHC_kHᵀ). Derived (docs/toedit.md).

    X: [B, T, d] designs; masks: [B, G−1, T] of 0/1 (row k−1 is M_k, forming generation k+1);
    spectrum: [d] eigenvalues of Σ (X's rows must have that covariance). Returns [B, G].
    """
    X = np.asarray(X, float)
    masks = np.asarray(masks, float)
    B, T, d = X.shape
    spectrum = np.ones(d) if spectrum is None else np.asarray(spectrum, float)
    _, Q, HtSH = _operators(X, spectrum)
    C = np.broadcast_to(sigma**2 * np.eye(T), (B, T, T)).copy()
    out = [np.einsum("bij,bji->b", C, HtSH)]
    for k in range(masks.shape[1]):
        m = masks[:, k]
        QC = Q @ C
        C = C - m[:, :, None] * QC - np.swapaxes(QC, 1, 2) * m[:, None, :] \
            + m[:, :, None] * (QC @ Q) * m[:, None, :]
        C[:, np.arange(T), np.arange(T)] += sigma0**2 * m
        out.append(np.einsum("bij,bji->b", C, HtSH))
    return np.stack(out, axis=1)


def iid_recursion(X, fraction: float, generations: int, sigma: float, sigma0: float, spectrum=None) -> np.ndarray:
    """E[E_test | X] for i.i.d. Bernoulli(f) masks, averaged over the masks exactly. Derived:
    E[MBM] = f²B + f(1−f)Diag(B) turns the recursion into
    C' = C − f(QC + CQ) + f²QCQ + f(1−f)Diag(QCQ) + σ₀²fI. X: [B, T, d]; returns [B, G]."""
    X = np.asarray(X, float)
    B, T, d = X.shape
    spectrum = np.ones(d) if spectrum is None else np.asarray(spectrum, float)
    _, Q, HtSH = _operators(X, spectrum)
    f = fraction
    C = np.broadcast_to(sigma**2 * np.eye(T), (B, T, T)).copy()
    out = [np.einsum("bij,bji->b", C, HtSH)]
    idx = np.arange(T)
    for _ in range(generations - 1):
        QC = Q @ C
        QCQ = QC @ Q
        C = C - f * (QC + np.swapaxes(QC, 1, 2)) + f**2 * QCQ
        C[:, idx, idx] += f * (1 - f) * QCQ[:, idx, idx] + sigma0**2 * f
        out.append(np.einsum("bij,bji->b", C, HtSH))
    return np.stack(out, axis=1)


def iid_growth_rate(X, fraction: float, sigma0: float, spectrum=None) -> np.ndarray:
    """Asymptotic increase of E[E_test | X] per generation under i.i.d. Bernoulli(f) masks, 0 < f < 1:
    σ₀²f·tr(ΣHHᵀ) + f(1−f)·Σᵢ sᵢ(HᵀΣH)ᵢᵢ, where s solves ((2−f)I − (1−f)(Q∘Q))s = σ₀²diag(Q)
    (the stationary diagonal of QCQ). Derived (docs/toedit.md): A_k is the identity on col(X), so the
    error there is a random walk and grows linearly without bound. X: [B, T, d]; returns [B]."""
    X = np.asarray(X, float)
    B, T, d = X.shape
    spectrum = np.ones(d) if spectrum is None else np.asarray(spectrum, float)
    _, Q, HtSH = _operators(X, spectrum)
    f = fraction
    system = (2 - f) * np.eye(T) - (1 - f) * Q**2
    s = np.linalg.solve(system, (sigma0**2 * np.diagonal(Q, axis1=1, axis2=2))[..., None])[..., 0]
    diag = np.diagonal(HtSH, axis1=1, axis2=2)
    return sigma0**2 * f * np.trace(HtSH, axis1=1, axis2=2) + f * (1 - f) * np.sum(s * diag, axis=1)


# -- schedules, as the simulation draws them ----------------------------------------------------------
def schedule_sizes(schedule: str, T: int, fraction: float, eta: float, generations: int) -> np.ndarray:
    """Expected number of labels edited to form generations 1..G (entry 0 is 0)."""
    sizes = np.zeros(generations)
    left = T
    for n in range(2, generations + 1):
        if schedule == "iid":
            sizes[n - 1] = fraction * T
            continue
        want = round(fraction * T * eta ** (n - 2)) if schedule == "geometric" else round(fraction * T)
        sizes[n - 1] = min(want, left)
        left -= sizes[n - 1]
    return sizes


def sample_masks(rng, schedule: str, T: int, fraction: float, eta: float, generations: int, batch: int):
    """Masks [batch, G−1, T] with the simulation's distribution for disjoint / geometric schedules:
    each generation edits the next block of a uniformly random order of the rows."""
    sizes = schedule_sizes(schedule, T, fraction, eta, generations)[1:].astype(int)
    ends = np.cumsum(sizes)
    order = np.argsort(rng.random((batch, T)), axis=1)
    position = np.argsort(order, axis=1)  # the rank of each row in the random order
    starts = ends - sizes
    pos = position[:, None, :]
    return ((pos >= starts[None, :, None]) & (pos < ends[None, :, None])).astype(float)


DESIGN_SCHEDULES = ("leverage", "adversarial")


def leverages(X) -> np.ndarray:
    """hᵢ = xᵢᵀ(XᵀX)⁻¹xᵢ for designs X [B, T, d]: [B, T] (Σᵢ hᵢ = d)."""
    G = np.einsum("btd,bte->bde", X, X)
    return np.einsum("btd,btd->bt", X, np.linalg.solve(G, np.swapaxes(X, 1, 2)).transpose(0, 2, 1))


def design_priority(X, schedule: str) -> np.ndarray:
    """[B, T] edit priorities as collapse.policies draws them: leverage, or (adversarial) (uᵀxᵢ)² with u the
    eigenvector of XᵀX of smallest eigenvalue."""
    if schedule == "leverage":
        return leverages(X)
    _, vecs = np.linalg.eigh(np.einsum("btd,bte->bde", X, X))
    return np.einsum("btd,bd->bt", X, vecs[:, :, 0]) ** 2


def design_masks(X, schedule: str, fraction: float, generations: int) -> np.ndarray:
    """[B, G−1, T] disjoint masks editing round(f·T) never-edited rows per generation in decreasing priority."""
    B, T, _ = X.shape
    size = round(fraction * T)
    order = np.argsort(-design_priority(X, schedule), axis=1, kind="stable")
    masks = np.zeros((B, generations - 1, T))
    for k in range(generations - 1):
        rows = order[:, k * size:(k + 1) * size]
        if rows.shape[1] == 0:
            break
        np.put_along_axis(masks[:, k], rows, 1.0, axis=1)
    return masks


def draw_designs(rng, d: int, T: int, spectrum, batch: int):
    return rng.standard_normal((batch, T, d)) * np.sqrt(spectrum)


def expected_edit_curve(d, T, sigma, sigma0, schedule, fraction, eta, generations, spectrum=None, masks=None,
                        n_designs=400, seed=0, batch=100):
    """E_test per generation under an edit schedule, averaged over random designs (and mask positions):
    (mean [G], standard error [G]). Exact recursion per design; Monte Carlo over designs only."""
    if schedule == "confidence":
        raise TheoryUnavailable("confidence-selected masks depend on the label noise: no exact recursion; "
                                "the simulation alone measures this schedule")
    spectrum = np.ones(d) if spectrum is None else np.asarray(spectrum, float)
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, n_designs, batch):
        b = min(batch, n_designs - start)
        X = draw_designs(rng, d, T, spectrum, b)
        if schedule == "iid":
            values.append(iid_recursion(X, fraction, generations, sigma, sigma0, spectrum))
            continue
        if schedule == "explicit":
            M = np.broadcast_to(np.asarray(masks, float), (b, generations - 1, T))
        elif schedule in DESIGN_SCHEDULES:
            M = design_masks(X, schedule, fraction, generations)
        else:
            M = sample_masks(rng, schedule, T, fraction, eta, generations, b)
        values.append(exact_recursion(X, M, sigma, sigma0, spectrum))
    v = np.concatenate(values)
    return v.mean(0), v.std(0, ddof=1) / math.sqrt(v.shape[0])


# -- what replaces Eq. 6 for disjoint masks ---------------------------------------------------------------
def disjoint_growth_factors(fractions, sigma: float, sigma0: float) -> np.ndarray:
    """Φ_n for generations 1..G: the large-T limit of E_test / (d/T) under disjoint masks editing fractions
    f_1, f_2, … of the rows (``fractions`` [G−1], Σf ≤ 1). Derived (docs/toedit.md):

    for disjoint masks the edited rows still hold their original noise, so F_k = ŵ_k − w* obeys exactly
    F_{k+1} = (I + W_k)F_k + HM_k(ε_k − E₁), W_k = (XᵀX)⁻¹XᵀM_kX; for T ≫ d, W_k → f_k I, and
    Φ_n = σ²Σ_{k<n} f_k(Π_{<n} − Π_{k<j<n})² + σ²(1 − Σ_{k<n}f_k)Π_{<n}² + σ₀²Σ_{k<n} f_kΠ_{k<j<n}²
    with Π_{A} = Π_{j∈A}(1+f_j); E_test → (d/T)·Φ_n.
    Uniform steps f → 0 give Φ → 2e − 1 ≈ 4.44; f = 1 gives 2, the paper's Eq. 6.
    """
    f = np.asarray(fractions, float)
    if np.any(f < 0) or f.sum() > 1 + 1e-12:
        raise ConfigError("edit_fraction", f.tolist(), "non-negative fractions summing to at most 1 (disjoint masks)")
    growth = np.cumprod(1 + f)  # Π_{j≤k}
    out = [sigma**2]
    for n in range(2, len(f) + 2):
        steps, total = f[: n - 1], growth[n - 2]
        after = total / growth[: n - 1]  # Π_{k<j<n}
        phi = (sigma**2 * np.sum(steps * (total - after) ** 2) + sigma**2 * (1 - steps.sum()) * total**2
               + sigma0**2 * np.sum(steps * after**2))
        out.append(phi)
    return np.asarray(out)


def disjoint_edit_bound(d: int, T: int, sigma: float, sigma0: float, schedule: str, fraction: float, eta: float,
                        generations: int) -> np.ndarray:
    """Our replacement for Eq. 6: c·Φ_n with c = d/(T−d−1) in place of d/T (see
    :func:`disjoint_growth_factors`), for the disjoint and geometric schedules **with rows drawn in a uniformly
    random order** (masks independent of the design as well as of the noise).

    Status: the T → ∞ limit is derived; at finite T it is a *conjectured* upper bound for random masks — it held
    for every (d, T, σ, σ₀, f, η) that the exact recursion and the simulation were run at, and it is tight at f = 1
    (= 2σ²c, Eq. 6) and as T/d → ∞; docs/toedit.md §2 says which step of a proof is open. It is **false for
    disjoint masks chosen from the design** (issue 15): editing the highest-leverage rows first exceeds it by
    0.35·c at d = 5, T = 40, f = 0.1 (generation 5), and the excess grows with T (0.09·c at T = 40, 0.26·c at
    T = 100 for d = 10); see :func:`leverage_weighted_bound`. Its supremum over random schedules,
    (2e − 1)σ²c at σ₀ = σ, is 2.2× the published bound.
    """
    if schedule not in ("disjoint", "geometric"):
        raise TheoryUnavailable(f"the disjoint-mask bound needs disjoint masks; got edit_schedule={schedule!r}")
    sizes = schedule_sizes(schedule, T, fraction, eta, generations)[1:] / T
    return ols_noise_factor(d, T) * disjoint_growth_factors(sizes, sigma, sigma0)


def leverage_weighted_bound(X, masks, sigma: float, sigma0: float) -> np.ndarray:
    """c·Φ_n(φ₁, …, φ_{n−1}) per design with the *leverage-weighted* fractions φ_k = Σ_{i∈M_k} hᵢ / d = tr(W_k)/d
    in place of |M_k|/T (for random masks E φ_k = f_k). X: [B, T, d]; masks: [B, G−1, T] disjoint. Returns [B, G];
    its mean over designs is compared with the mean error. [conjecture, derived by us, docs/toedit.md §2b] It held
    for leverage-ordered masks (both orders) and random masks; the adversarial (weakest-direction) schedule
    exceeds it by ≈ 3–5 SE of 300 designs (0.04–0.07·c), so it is not a bound over all noise-independent masks."""
    B, T, d = X.shape
    phi = np.einsum("bkt,bt->bk", np.asarray(masks, float), leverages(X)) / d
    c = ols_noise_factor(d, T)
    return np.stack([c * disjoint_growth_factors(np.minimum(p, 1.0) / max(1.0, p.sum()), sigma, sigma0)
                     for p in phi])


def edit_theory(family, cfg, n_designs: int = 400) -> tuple[list[TheoryCurve], list[TheoryCurve]]:
    """(equality curves, bounds) for a LinearRegression family in edit mode.

    Equalities: the exact recursion averaged over designs (not for confidence-selected masks, which
    depend on the noise) and Theorem 1 as printed (the audit: it should match if the theorem held).
    Bounds: Eq. 6, the η-bound (geometric), our disjoint-mask bound.
    """
    d, T, s, s0, G = family.d, family.T, family.sigma, family.noise_synth, cfg.generations
    if family.design != "fixed" or family.synth_size != T or family.ridge > 0:
        raise TheoryUnavailable("the edit theory is for OLS on one fixed design with M = T")
    if T < d + 4:
        raise ConfigError("T", T, ">= d+4", f"T must be at least d+4 for the edit theory; got T={T}, d={d}")
    spectrum = np.asarray(covariance_spectrum(d, family.covariance, family.alpha))
    sched, f, eta = cfg.edit_schedule, cfg.edit_fraction, cfg.edit_eta
    equal = []
    if sched != "confidence":
        mean, se = expected_edit_curve(d, T, s, s0, sched, f, eta, G, spectrum, cfg.edit_masks, n_designs,
                                       seed=cfg.seed + 1)
        equal.append(TheoryCurve("exact recursion", mean, "derived (docs/toedit.md), "
                                 f"averaged over {n_designs} designs", se=se))
    sizes = (np.concatenate([[0.0], np.asarray(cfg.edit_masks, float).sum(1)]) if sched == "explicit"
             else schedule_sizes(sched, T, f, eta, G))
    equal.append(TheoryCurve("Theorem 1 as printed", theorem1_printed(d, T, s, sizes, s0),
                             "Zhu et al. 2025, Theorem 1 (stated for disjoint masks; its expectation derived)"))
    bounds = [TheoryCurve("Eq. 6: 2σ²d/(T−d−1)", np.full(G, eq6_bound(d, T, s)),
                          "Zhu et al. 2025, Eq. 6 (stated bound, disjoint masks)", kind="upper-bound")]
    if sched == "geometric" and eta < 1:
        bounds.append(TheoryCurve("η-bound", np.full(G, eta_bound(d, T, s, f, eta)),
                                  "Zhu et al. 2025, Theorem 2 (stated bound)", kind="upper-bound"))
    if sched in ("disjoint", "geometric"):
        bounds.append(TheoryCurve("c·Φ_n (ours)", disjoint_edit_bound(d, T, s, s0, sched, f, eta, G),
                                  "ours: large-T limit derived, finite-T bound conjectured for random masks "
                                  "(docs/toedit.md)", kind="upper-bound"))
    if sched in DESIGN_SCHEDULES:  # the audit: the random-mask bound applied where its assumption fails
        bounds.append(TheoryCurve("c·Φ_n (ours, random masks only)",
                                  disjoint_edit_bound(d, T, s, s0, "disjoint", f, eta, G),
                                  "ours: conjectured for masks independent of the design; shown here where they "
                                  "are not (docs/toedit.md §2b)", kind="upper-bound"))
    return equal, bounds
