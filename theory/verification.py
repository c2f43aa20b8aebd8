"""Closed forms for Gaussian-mixture classification with synthesized labels and verifiers (Feng et al. 2025,
"Beyond Model Collapse", arXiv 2406.07515; docs/papers/feng2025.md). Simulated by collapse/families/gmm_classify.py.

Setting: y = ±1 (π₊, π₋), x | y ~ N(yμ, Σ), Σ diagonal here. A generator's label is wrong with probability p
(p_y per class), independently of x; a verifier keeps a correct label with probability ϕ and a wrong one with ψ
(ϕ_y, ψ_y per class). Provenance per function: **stated** (in the paper), **derived**
(by us; docs/verification.md), **approx** (derived under a stated approximation). Every derived result is
checked against simulation in tests/test_theory_verification.py.
"""

import functools
import math

import numpy as np
from scipy.special import ndtr, roots_genlaguerre, roots_hermitenorm

from theory import binomial_sums as _bs
from theory import verification_chain as chain
from theory.curves import TheoryCurve, TheoryUnavailable

_NORMAL = 40  # Gauss–Hermite nodes for the along-μ noise
_CHI2 = 40  # generalized Gauss–Laguerre nodes for the χ² of the orthogonal noise
_COUNTS = 12  # Gauss–Hermite nodes for each of the kept count K and the kept agreement a


def bayes_accuracy(mu, cov_diag) -> float:
    """Φ(sqrt(μᵀΣ⁻¹μ)) for balanced classes. [stated: Feng et al. 2025]"""
    mu, cov_diag = np.asarray(mu, float), np.asarray(cov_diag, float)
    return float(ndtr(math.sqrt(np.sum(mu**2 / cov_diag))))


def selection_rates(p, phi, psi):
    """(r, q, p⋆): kept fraction r = (1−p)ϕ + pψ, error after selection q = pψ/r, p⋆ = ϕ/(ϕ+ψ); q < ½ ⇔ p < p⋆.
    [stated: Feng et al. 2025] Empty cases as collapse.selection: q = ½ if r = 0, p⋆ = ½ if
    ϕ = ψ = 0."""
    r = (1 - p) * phi + p * psi
    q = p * psi / r if r > 0 else 0.5
    p_star = phi / (phi + psi) if phi + psi > 0 else 0.5
    return r, q, p_star


def class_rates(pi_pos, p_class, phi_class, psi_class):
    """Class-specific selection (by true class): (r, q, c) with r = Σ_y π_y r_y, r_y = (1−p_y)ϕ_y + p_yψ_y,
    q = Σ_y π_y p_yψ_y / r and c = Σ_y π_y r_y(1 − 2q_y) / r = 1 − 2q, the mean of y'y over kept samples.
    The class-specific condition for the centroid and least-squares students (no intercept) is c > 0, i.e.
    Σ_y π_y[(1−p_y)ϕ_y − p_yψ_y] > 0. [derived: docs/verification.md §1]"""
    pis = (pi_pos, 1 - pi_pos)
    r_y = [(1 - p) * f + p * s for p, f, s in zip(p_class, phi_class, psi_class, strict=True)]
    r = sum(w * ry for w, ry in zip(pis, r_y, strict=True))
    wrong = sum(w * p * s for w, p, s in zip(pis, p_class, psi_class, strict=True))
    if r <= 0:
        return 0.0, 0.5, 0.0
    q = wrong / r
    return r, q, 1 - 2 * q


def centroid_limit_accuracy(mu, cov_diag, c) -> float:
    """N → ∞ accuracy of the centroid student ŵ = mean(y'x) (no intercept): ŵ → (c/r)·r·μ ∝ sign(c)·μ, so
    accuracy → Φ(sign(c)·‖μ‖²/sqrt(μᵀΣμ)); ½ at c = 0. Equals Bayes / ½ / 1 − Bayes only when μ is an
    eigenvector of Σ (e.g. Σ = σ²I). [derived: docs/verification.md §2]"""
    mu, cov_diag = np.asarray(mu, float), np.asarray(cov_diag, float)
    if c == 0:
        return 0.5
    return float(ndtr(math.copysign(1.0, c) * np.sum(mu**2) / math.sqrt(np.sum(mu**2 * cov_diag))))


def ls_limit(mu, cov_diag, c):
    """N → ∞ least squares on ±1 labels (no intercept): ŵ → c/(1 + μᵀΣ⁻¹μ) · Σ⁻¹μ, accuracy
    Φ(sign(c)·sqrt(μᵀΣ⁻¹μ)) = Bayes / ½ / 1 − Bayes as c = 1 − 2q >, =, < 0. Returns (w∞ [d], accuracy).
    [stated by Feng et al. 2025 for c = 1 − 2q; class-specific c derived: docs/verification.md §2]"""
    mu, cov_diag = np.asarray(mu, float), np.asarray(cov_diag, float)
    m = mu / cov_diag
    s2 = float(mu @ m)
    acc = 0.5 if c == 0 else float(ndtr(math.copysign(math.sqrt(s2), c)))
    return c / (1 + s2) * m, acc


def centroid_finite_paper(mu_norm, d, N, r, q) -> float:
    """Finite-N centroid, Σ = I: acc ≈ Φ((1−2q)‖μ‖² / sqrt((1−2q)²‖μ‖² + γ)), γ = d/(rN). [stated by Feng et al.
    §2.1 as an approximation: it drops the noise along μ and the fluctuations of the kept count]"""
    if r * N <= 0:
        return 0.5
    a, m2, gamma = 1 - 2 * q, mu_norm**2, d / (r * N)
    den = math.sqrt(a * a * m2 + gamma)
    return float(ndtr(a * m2 / den)) if den > 0 else 0.5


def _hermite(n):
    x, w = roots_hermitenorm(n)
    return x, w / w.sum()


def _chi2_nodes(k, n):
    """Nodes and weights of χ²_k (k > 0) by generalized Gauss–Laguerre on Gamma(k/2, 2)."""
    t, w = roots_genlaguerre(n, k / 2 - 1)
    return 2 * t, w / w.sum()


def centroid_accuracy_given(mu_norm, d, K, a, extra_perp=0.0) -> np.ndarray:
    """E acc of ŵ = aμ + g/√K + b, g ~ N(0, I_d), with a fixed part b ⊥ μ of squared norm ``extra_perp``:
    E_g Φ(‖μ‖ (a‖μ‖ + g₁/√K) / sqrt((a‖μ‖ + g₁/√K)² + extra_perp + χ²_{d−1}/K)) by quadrature. For Σ = I,
    a label-noise generator and a verifier that sees only (y, y'), the centroid of K kept samples is exactly
    this with a = the mean of y'y over kept samples and b = 0. Broadcasts over K and a. [derived:
    docs/verification.md §3]"""
    K, a = np.broadcast_arrays(np.asarray(K, float), np.asarray(a, float))
    if d == 1 and extra_perp == 0:
        # One dimension: acc is Φ(±‖μ‖) by the sign of a‖μ‖ + g₁/√K, a step that Gauss–Hermite integrates only
        # to ~1e-6; exactly, P(sign +) = Φ(a‖μ‖√K).
        up = ndtr(a * mu_norm * np.sqrt(np.maximum(K, 0.0)))
        out = ndtr(mu_norm) * up + ndtr(-mu_norm) * (1 - up)
        return np.where(K > 0, out, 0.5)
    g, wg = _hermite(_NORMAL)
    if d > 1:
        chi, wc = _chi2_nodes(d - 1, _CHI2)
    else:
        chi, wc = np.zeros(1), np.ones(1)
    Ke = np.maximum(K, 1e-300)[..., None, None]
    along = a[..., None, None] * mu_norm + g[:, None] / np.sqrt(Ke)
    norm2 = along**2 + extra_perp + chi[None, :] / Ke
    val = np.where(norm2 > 0, ndtr(mu_norm * along / np.sqrt(np.where(norm2 > 0, norm2, 1.0))), 0.5)
    out = np.einsum("...ij,i,j->...", val, wg, wc)
    return np.where(K > 0, out, 0.5)


def centroid_finite(mu_norm, d, N, r, q) -> float:
    """Expected accuracy of the centroid student on N synthesized samples, Σ = I, label-noise generator, a
    verifier that sees only (y, y'), no intercept: E over the kept count K ~ Bin(N, r) and the wrong kept count
    W | K ~ Bin(K, q) (a = 1 − 2W/K) of centroid_accuracy_given, by exact binomial sums (K = 0 gives the zero
    rule, ½). [derived: docs/verification.md §3] Numerical error only: the binomial tails beyond 2·10⁻¹³ of
    the mass are dropped, centroid_accuracy_given is a 40 × 40-node quadrature, and when a count's support has
    more than 64 points the sum runs over a Chebyshev interpolant of the smooth integrand (64 nodes in a, 32 in
    K; measured against the direct sum in tests/test_theory_verification.py)."""
    if r <= 0 or N <= 0:
        return 0.5
    Ks, pK = _bs.support(int(N), float(r))
    zero = float(pK[Ks == 0].sum())
    Ks, pK = Ks[Ks > 0], pK[Ks > 0]
    total = 0.5 * zero
    if Ks.size > _DIRECT and Ks.min() >= _SMOOTH_K and d > 1:
        total += _sum_interpolating_k(mu_norm, d, Ks, pK, q)
    else:
        total += sum(w * _mean_over_wrong(mu_norm, d, K, q) for K, w in zip(Ks, pK, strict=True))
    return float(total / (zero + pK.sum()))


_DIRECT = 64  # more support points than this: sum over a Chebyshev interpolant
_SMOOTH_K = 30  # interpolate in K only where every K is at least this (1/√K is smooth there)
_CHEB_K = 32


def _wrong_support(K, q):
    W, pW = _bs.support(int(K), float(q))
    return 1 - 2 * W / K, pW / pW.sum()


def _mean_over_wrong(mu_norm, d, K, q):
    """E over W ~ Bin(K, q) of centroid_accuracy_given(K, 1 − 2W/K)."""
    a, pW = _wrong_support(K, q)
    if a.size <= _DIRECT or d == 1:
        return float(pW @ centroid_accuracy_given(mu_norm, d, K, a))
    nodes = _bs.cheb_nodes(a.min(), a.max(), _DIRECT)
    return float(pW @ _bs.cheb_basis(nodes, a) @ centroid_accuracy_given(mu_norm, d, K, nodes))


def _sum_interpolating_k(mu_norm, d, Ks, pK, q):
    """Σ_K P(K) E_W g(K, a) with g interpolated on a Chebyshev grid in (K, a) spanning every (K, W) in the
    supports; the binomial weights themselves are exact."""
    per_k = [_wrong_support(K, q) for K in Ks]
    a_lo = min(a.min() for a, _ in per_k)
    a_hi = max(a.max() for a, _ in per_k)
    if a_hi - a_lo < 1e-12:  # q ∈ {0, 1}: a is constant
        return float(pK @ centroid_accuracy_given(mu_norm, d, Ks.astype(float), a_lo))
    a_nodes = _bs.cheb_nodes(a_lo, a_hi, _DIRECT)
    k_nodes = _bs.cheb_nodes(float(Ks.min()), float(Ks.max()), _CHEB_K)
    grid = centroid_accuracy_given(mu_norm, d, k_nodes[:, None], a_nodes[None, :])  # [nK, na]
    a_moments = np.stack([pW @ _bs.cheb_basis(a_nodes, a) for a, pW in per_k])  # [K, na]
    k_basis = _bs.cheb_basis(k_nodes, Ks.astype(float))  # [K, nK]
    return float(np.einsum("k,kj,ji,ki->", pK, k_basis, grid, a_moments))


def centroid_finite_normal(mu_norm, d, N, r, q) -> float:
    """The fast approximation of centroid_finite: both binomials (K and W | K) by their normal approximation
    with 12 × 12 Gauss–Hermite nodes. [approx: derived, docs/verification.md §3] It was labelled exact until
    issue 15; its error is largest when few samples are kept (rN ≲ 30): the measured worst error over the grid
    of tests/test_theory_verification.py::test_normal_approximation_error_is_as_stated is stated there and in
    docs/verification.md §3."""
    if r <= 0 or N <= 0:
        return 0.5
    x, w = _hermite(_COUNTS)
    mean_k, sd_k = r * N, math.sqrt(N * r * (1 - r))
    K = np.maximum(mean_k + sd_k * x, 1.0)
    sd_a = 2 * np.sqrt(q * (1 - q) / K)
    a = (1 - 2 * q) + sd_a[:, None] * x[None, :]
    acc = centroid_accuracy_given(mu_norm, d, K[:, None], np.clip(a, -1, 1))
    return float(w @ acc @ w)


def linear_verifier_rates(pi_pos, p_class, acc_class):
    """(ϕ, ψ, p⋆) of the verifier 'keep iff sign(w_vᵀx) = y'' on a label-noise generator: with a_y the
    verifier's accuracy on class y, ϕ = Σπ_y(1−p_y)a_y / Σπ_y(1−p_y), ψ = Σπ_y p_y(1−a_y) / Σπ_y p_y; balanced
    classes and symmetric noise give ϕ = acc_v, ψ = 1 − acc_v, p⋆ = acc_v. [derived: docs/verification.md §4]
    Its selection depends on x, so the (ϕ, ψ) limits above do not apply to the student."""
    pis = (pi_pos, 1 - pi_pos)
    right = sum(w * (1 - p) for w, p in zip(pis, p_class, strict=True))
    wrong = sum(w * p for w, p in zip(pis, p_class, strict=True))
    phi = sum(w * (1 - p) * a for w, p, a in zip(pis, p_class, acc_class, strict=True)) / right if right else 0.0
    psi = sum(w * p * (1 - a) for w, p, a in zip(pis, p_class, acc_class, strict=True)) / wrong if wrong else 0.0
    return phi, psi, (phi / (phi + psi) if phi + psi > 0 else 0.5)


def best_of_k_error(p, k, acc_v):
    """Error after best-of-k on binary labels: k candidates, each wrong independently with probability p; the
    verifier sign(w_vᵀx) picks a candidate that agrees with it when there is one. The chosen label is wrong when
    all k are wrong, or when both labels occur and the verifier is wrong:
    q = p^k + (1 − p^k − (1−p)^k)(1 − acc_v), for balanced classes and symmetric noise. [derived:
    docs/verification.md §4] Only label-independent-of-x noise makes this exact."""
    mixed = 1 - p**k - (1 - p) ** k
    return p**k + mixed * (1 - acc_v)


def _phi_density(s):
    return math.exp(-s * s / 2) / math.sqrt(2 * math.pi)


def iterated_centroid(mu_norm, d, N, phi, psi, rounds, along, perp2, n_first):
    """One deterministic path of the iterated loop (the *typical* replicate, not the mean): the centroid student
    (Σ = I, balanced, no intercept) of round t labels round t+1's N fresh inputs by sign(ŵ_tᵀx), a (ϕ, ψ)
    verifier keyed on the label's correctness selects, and the next centroid is fitted. With ŵ_t = α u + β v
    (u = μ/‖μ‖, v ⊥ u), cos θ = α/sqrt(α²+β²), s = ‖μ‖cos θ, A = Φ(s), the population centroid of the kept data
    is [(ϕA − ψ(1−A))μ + (ϕ+ψ)φ(s)ŵ/‖ŵ‖]/r with r = ϕA + ψ(1−A), and the sample centroid adds N(0, I/(rN))
    noise. Tracking α and E β² (β² replaced by its mean, α's round-to-round randomness ignored) gives
    α' = [(ϕA − ψ(1−A))‖μ‖ + (ϕ+ψ)φ(s)cos θ]/r, β'² = [(ϕ+ψ)φ(s) sin θ / r]² + (d−1)/(rN).
    Returns accuracies of rounds 1..rounds (round 1 = the given model at (along, perp2), fitted on n_first).
    [approx: derived in docs/verification.md §5] Issue 15: this follows one path, so it tracks the *median*
    replicate roughly and misses the mean by tens of SE in the transient (p = 0.6, d = 50, N = 500) and
    everywhere at small d·N; the mean (and any quantile) is theory.verification_chain, which the CLI uses."""
    if n_first <= 0:  # nothing kept in round 1: the zero rule, and it labels with fair coins afterwards
        return np.full(rounds, 0.5)
    acc = [float(centroid_accuracy_given(mu_norm, d, n_first, along / mu_norm if mu_norm else 0.0, perp2))]
    alpha, beta2 = along, perp2 + (d - 1) / n_first
    for _ in range(rounds - 1):
        norm = math.sqrt(alpha**2 + beta2)
        cos, sin = (alpha / norm, math.sqrt(beta2) / norm) if norm > 0 else (0.0, 1.0)
        s = mu_norm * cos
        A = float(ndtr(s))
        r = phi * A + psi * (1 - A)
        if r <= 0:
            acc.extend([0.5] * (rounds - len(acc)))
            break
        dens = _phi_density(s)
        alpha = ((phi * A - psi * (1 - A)) * mu_norm + (phi + psi) * dens * cos) / r
        carried = ((phi + psi) * dens * sin / r) ** 2
        acc.append(float(centroid_accuracy_given(mu_norm, d, r * N, alpha / mu_norm if mu_norm else 0.0,
                                                 carried)))
        beta2 = carried + (d - 1) / (r * N)
    return np.asarray(acc)


# -- the CLI's theory hook ------------------------------------------------------------------------------
_RATE_VERIFIERS = ("none", "oracle", "phi-psi", "random")


def _rates_of(f):
    phi_c, psi_c = f.keep_rates
    if f.verifier == "none":
        return (1.0, 1.0), (1.0, 1.0)
    if f.verifier == "oracle":
        return (1.0, 1.0), (0.0, 0.0)
    return phi_c, psi_c


@functools.lru_cache(maxsize=64)  # the chain costs seconds; mean, SD and quantiles of one family share it
def _chain_run(f, G):
    """(index of the first linear rule, distributions [G − index, grid + 1], state accuracies) of the θ-chain
    for a gmm-classify family, or None where it does not apply: Σ = I, balanced, centroid without intercept,
    symmetric rate verifier, d ≥ 3, and a first rule whose angle law is known (label-noise generator → its
    student; a linear generator at a given angle, or fitted to n_real real samples, without flips)."""
    phi_c, psi_c = _rates_of(f)
    if not (f.covariance == "isotropic" and f.student == "centroid" and not f.intercept and f.pi_pos == 0.5
            and f.verifier in _RATE_VERIFIERS and phi_c[0] == phi_c[1] and psi_c[0] == psi_c[1] and f.d >= 3):
        return None
    flips = f.flips
    if f.generator == "label-noise":
        if flips[0] != flips[1]:
            return None
        first = 1
        r, q, _ = selection_rates(flips[0], phi_c[0], psi_c[0])
        start = chain.start_from_label_noise(f.mu_norm, f.d, f.N, r, q)
    elif f.p == 0 and f.p_class is None:
        first = 0
        start = (chain.point_mass(math.radians(f.generator_angle)) if f.generator_angle is not None
                 else chain.start_from_label_noise(f.mu_norm, f.d, f.n_real, 1.0, 0.0))
    else:
        return None
    if G <= first + 1:
        return None
    _, dist, state_acc = chain.iterated_distribution(f.mu_norm, f.d, f.N, phi_c[0], psi_c[0], G - first, start)
    return first, dist, state_acc


def iterated_sd(family, generations):
    """[G] standard deviation of the accuracy across replicates per generation under the θ-chain (NaN where it
    makes no claim). Under the theory, the mean of R replicates has SE = sd/√R *including* rare modes that a
    run may not have sampled (e.g. 0.07 % of p = 0.6 students landing on the Bayes side); the sample SE misses
    them, so checks of this mean use this null SE (docs/verification.md §5)."""
    out = np.full(generations, np.nan)
    run = _chain_run(family, generations)
    if run is not None:
        first, dist, state_acc = run
        mean = dist @ state_acc
        out[first + 1:] = np.sqrt(np.maximum(dist @ state_acc**2 - mean**2, 0.0))[1:]
    return out


def iterated_quantiles(family, generations, probs):
    """[G, len(probs)] quantiles of the accuracy per generation from the θ-chain (NaN where it makes no claim:
    generations before the first student). [derived, approx: docs/verification.md §5]"""
    out = np.full((generations, len(probs)), np.nan)
    run = _chain_run(family, generations)
    if run is not None:
        first, dist, state_acc = run
        out[first + 1:] = chain.quantiles(dist, state_acc, probs)[1:]
    return out


def gmm_classify_theory(family, cfg):
    """Theory curves for the CLI (replace mode): accuracy per generation and, for generation 2, the kept
    fraction r and the error after selection q.

    Generation 1: the generator (label noise: 1 − p̄, exact; a given linear generator: exact; a centroid fitted
    to n_real real samples, Σ = I: centroid_accuracy_given). Generation 2 with a label-noise generator, a rate
    verifier and the centroid student without intercept, Σ = I: centroid_finite. Later generations with the
    centroid, Σ = I, balanced classes, symmetric rates, d ≥ 3: the mean of theory.verification_chain
    (approximate, error measured in docs/verification.md §5). Elsewhere NaN (no claim; the N → ∞ limits are
    checked by the tests)."""
    if cfg.mode != "replace":
        raise TheoryUnavailable("closed forms cover replace mode (each generation trains on its own synthesized "
                                "data) only")
    G = cfg.generations
    acc, r_curve, q_curve = np.full(G, np.nan), np.full(G, np.nan), np.full(G, np.nan)
    f = family
    iso = f.covariance == "isotropic"
    pis = (f.pi_pos, 1 - f.pi_pos)
    flips = f.flips
    p_bar = sum(w * p for w, p in zip(pis, flips, strict=True))
    phi_c, psi_c = f.keep_rates
    if f.verifier == "none":
        phi_c = psi_c = (1.0, 1.0)
    elif f.verifier == "oracle":
        phi_c, psi_c = (1.0, 1.0), (0.0, 0.0)
    if f.generator == "label-noise":
        acc[0] = 1 - p_bar
        r_curve[0], q_curve[0] = 1.0, 0.0
        if G >= 2 and f.verifier in _RATE_VERIFIERS:
            r, q, _ = class_rates(f.pi_pos, flips, phi_c, psi_c)
            r_curve[1], q_curve[1] = r, q
            if iso and f.student == "centroid" and not f.intercept:
                acc[1] = centroid_finite(f.mu_norm, f.d, f.N, r, q)
    elif f.p == 0 and f.p_class is None:
        r_curve[0], q_curve[0] = 1.0, 0.0
        if f.generator_angle is not None:
            t = math.radians(f.generator_angle)
            # a unit rule at angle t from Σ⁻¹μ; exact only when Σ = I (otherwise it depends on the draw)
            if iso:
                acc[0] = float(ndtr(f.mu_norm * math.cos(t)))
        elif iso and f.student == "centroid" and not f.intercept and f.pi_pos == 0.5:
            acc[0] = float(centroid_accuracy_given(f.mu_norm, f.d, f.n_real, 1.0))
    run = _chain_run(f, G)
    if run is not None:
        first, dist, state_acc = run
        acc[first + 1:] = (dist @ state_acc)[1:]
    if np.all(np.isnan(acc)):
        raise TheoryUnavailable("no closed form for this generator / verifier / student / covariance (the "
                                "tests check the N → ∞ limits of the centroid and least squares)")
    src = "Feng et al. 2025 setting (arXiv 2406.07515 §2); finite-N centroid (exact sums) and the θ-chain of " \
          "the iterated loop derived, docs/verification.md §3, §5"
    # Deterministic entries (the generator's exact accuracy, r = 1 and q = 0 on real data) have zero simulated
    # variance: a 1e-12 allowance absorbs float64 rounding between the JAX and NumPy evaluations.
    tiny = np.full(G, 1e-12)
    return [TheoryCurve("accuracy (exact generator; finite-N centroid; iterated loop: mean of the θ-chain, "
                        "approx.)", acc, src,
                        metric="accuracy", se=tiny),
            TheoryCurve("kept fraction r = Σπ_y r_y", r_curve, "stated (Feng et al. 2025)", metric="r", se=tiny),
            TheoryCurve("error after selection q", q_curve, "stated (Feng et al. 2025)", metric="q", se=tiny)]
