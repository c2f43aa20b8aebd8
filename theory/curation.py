"""Iterated curation by a reward model (Ferbach, Bertrand, Bose, Gidel 2024, "Self-consuming generative models
with curated data provably optimize human preferences", NeurIPS, arXiv 2407.09499). Simulated by the
``curate`` / ``tilt`` selectors of collapse/selectors.py. Derivations: docs/feedback.md.

A user is shown K samples X₁..X_K ~ p_t and keeps one, X_j with probability e^{r(X_j)}/Σ_i e^{r(X_i)} (the
Bradley–Terry / Luce choice); the next model is the law of the kept sample. Provenance per function:
**stated** (in the paper), **derived** (by us; docs/feedback.md), **approx**. Each is checked in
tests/test_theory_curation.py.
"""

import itertools
import math

import numpy as np
from scipy.special import gammaln, logsumexp


def _compositions(n: int, total: int):
    """All count vectors c ∈ ℕⁿ with Σc = total."""
    for cut in itertools.combinations(range(total + n - 1), n - 1):
        edges = (-1,) + cut + (total + n - 1,)
        yield np.array([edges[i + 1] - edges[i] - 1 for i in range(n)])


def k_choice_update(p, r, K: int) -> np.ndarray:
    """One exact step of K-choice curation on a finite support:
    p_{t+1}(x) = p_t(x)·K·E[e^{r(x)}/(e^{r(x)} + Σ_{j<K} e^{r(X_j)})], X_j iid ~ p_t.

    [stated as the K-choice update in Ferbach et al. 2024 (arXiv 2407.09499, Sec. 2); the expectation is
    computed here exactly by enumerating the multinomial counts of the K − 1 competitors (derived,
    docs/feedback.md §1).] p, r: [n]. Cost: C(K + n − 2, n − 1) terms (small n, K).
    """
    p, r = np.asarray(p, float), np.asarray(r, float)
    require_k(K)
    p = p / p.sum()  # the map is homogeneous of degree K in p: renormalise so rounding cannot compound
    n = p.shape[0]
    logp = np.log(np.where(p > 0, p, 1.0))
    out = np.zeros(n)
    for c in _compositions(n, K - 1):
        if np.any((c > 0) & (p <= 0)):
            continue
        log_prob = gammaln(K) - np.sum(gammaln(c + 1)) + np.sum(np.where(c > 0, c * logp, 0.0))
        competitors = logsumexp(np.where(c > 0, r + np.log(np.maximum(c, 1)), -np.inf)) if K > 1 else -np.inf
        share = np.exp(r - np.logaddexp(r, competitors))  # e^{r(x)}/(e^{r(x)} + Σ e^{r(X_j)})
        out += np.exp(log_prob) * share
    out = p * K * out
    return out / out.sum()


def require_k(K):
    if not (isinstance(K, int | np.integer) and not isinstance(K, bool) and K >= 1):
        raise ValueError(f"K must be an integer >= 1; got K={K!r}")


def tilt_update(p, r) -> np.ndarray:
    """K → ∞: p_{t+1} ∝ p_t·e^{r} [stated, Ferbach et al. 2024, Sec. 2 (the K → ∞ limit of the K-choice
    update); hence p_t ∝ p₀e^{t r}]."""
    p, r = np.asarray(p, float), np.asarray(r, float)
    w = np.log(np.where(p > 0, p, 1.0)) + r
    w = np.where(p > 0, w, -np.inf)
    return np.exp(w - logsumexp(w))


def expected_reward(p, r) -> float:
    return float(np.dot(p, r))


def mixed_fixed_point(p_real, r, K: int, lam: float, tol: float = 1e-13, max_iter: int = 20000):
    """Stationary law of curation with a real-data fraction λ: p = λ·p_real + (1 − λ)·U_K(p), U_K the K-choice
    update (K = 0 stands for the K → ∞ tilt). Found by iterating the map, which is how the loop evolves in
    law. [derived: docs/feedback.md §2; Ferbach et al. 2024 claim stability with real data (Sec. 3)]
    Returns (p, iterations)."""
    if not 0 < lam <= 1:
        raise ValueError(f"lam must be in (0, 1]; got lam={lam!r}")
    update = lambda q: curation_update(q, r, K)  # noqa: E731
    p = np.asarray(p_real, float)
    for i in range(max_iter):
        nxt = lam * np.asarray(p_real, float) + (1 - lam) * update(p)
        if np.max(np.abs(nxt - p)) < tol:
            return nxt, i + 1
        p = nxt
    return p, max_iter


def gaussian_quadratic_tilt(mu0, cov0, gamma: float, a, t: int):
    """p₀ = N(μ₀, Σ₀), r(x) = −½γ‖x − a‖², K → ∞: p_t = N(μ_t, Σ_t) with Σ_t⁻¹ = Σ₀⁻¹ + tγI and
    μ_t = Σ_t(Σ₀⁻¹μ₀ + tγa) — variance collapses like 1/(tγ) toward the reward peak a.
    [derived by conjugacy (p_t ∝ p₀e^{t r} is Gaussian); docs/feedback.md §1]. Returns (μ_t, Σ_t)."""
    mu0, cov0, a = np.atleast_1d(np.asarray(mu0, float)), np.atleast_2d(np.asarray(cov0, float)), np.asarray(a, float)
    prec0 = np.linalg.inv(cov0)
    cov = np.linalg.inv(prec0 + t * gamma * np.eye(mu0.shape[0]))
    return cov @ (prec0 @ mu0 + t * gamma * a), cov


def gaussian_expected_reward(mu, cov, gamma: float, a) -> float:
    """E r(X) for X ~ N(μ, Σ), r = −½γ‖x − a‖²: −½γ(‖μ − a‖² + tr Σ)."""
    mu, cov = np.atleast_1d(np.asarray(mu, float)), np.atleast_2d(np.asarray(cov, float))
    return -0.5 * gamma * (float(np.sum((mu - np.asarray(a, float)) ** 2)) + float(np.trace(cov)))


def luce_probabilities(r) -> np.ndarray:
    """The Luce choice among K shown items with rewards r: e^{r_j}/Σ e^{r_i}."""
    r = np.asarray(r, float)
    return np.exp(r - logsumexp(r))


def n_compositions(n: int, total: int) -> int:
    return math.comb(total + n - 1, n - 1)


def k_choice_update_fast(p, r, K: int) -> np.ndarray:
    """The exact K-choice update of :func:`k_choice_update` for any support size, through the Laplace identity
    1/(a + S) = ∫₀^∞ e^{−u(a + S)} du: with S = Σ_{j<K} e^{r(X_j)}, X_j iid ~ p,

        p_{t+1}(x) = K·p(x)·e^{r(x)}·∫₀^∞ e^{−u e^{r(x)}}·φ(u)^{K−1} du,   φ(u) = Σ_y p(y)·e^{−u e^{r(y)}}.

    [derived by us, docs/feedback.md §1; exact up to the quadrature (adaptive, relative error ≤ 1e-12; checked
    against the enumeration in tests/test_theory_curation.py).] Cost O(V) per quadrature node, any K."""
    from scipy.integrate import quad_vec

    p, r = np.asarray(p, float), np.asarray(r, float)
    require_k(K)
    p = p / p.sum()
    if K == 1:
        return p
    r = r - np.max(r[p > 0])  # e^{r} ≤ 1 on the support: the integrand decays at least like e^{−u}
    e = np.exp(np.where(p > 0, r, 0.0))

    def integrand(u):
        phi = np.sum(p * np.exp(-u * e))
        return e * np.exp(-u * e) * phi ** (K - 1)

    # the integrand falls like e^{−u(e(x) + (K − 1)·min e)}; the change u = s/(1 − s) maps [0, ∞) to [0, 1)
    val, _ = quad_vec(lambda s: integrand(s / (1 - s)) / (1 - s) ** 2 if s < 1 else 0 * e, 0.0, 1.0,
                      epsrel=1e-12, epsabs=1e-14, limit=2000)
    out = K * p * val
    return out / out.sum()


def curation_update(p, r, K: int) -> np.ndarray:
    """One step of curation in law: K-choice (K ≥ 1, exact) or the tilt (K = 0 stands for K → ∞)."""
    if K == 0:
        return tilt_update(p, r)
    if n_compositions(np.asarray(p).shape[0], K - 1) <= 200:  # small: the enumeration is faster than quadrature
        return k_choice_update(p, r, K)
    return k_choice_update_fast(p, r, K)


def mean_field_curve(p0, p_real, r, K: int, lam: float, generations: int) -> np.ndarray:
    """p_1 = p0, p_{n+1} = λ·p_real + (1 − λ)·U_K(p_n) for n = 1..G − 1 ([G, V]). This is the population law of
    the loop (M → ∞). With finite M it is the *mean-field* approximation of E[p̂_n]: one step is exact in
    expectation (E[p̂_{n+1} | p̂_n] = λp_real + (1 − λ)U_K(p̂_n) under replace / fresh, since the refit is the
    unbiased empirical law), but U_K is nonlinear for K ≥ 2 and for the tilt, so E U_K(p̂_n) ≠ U_K(E p̂_n) from the
    second step on (the gap is O(1/M); measured in docs/feedback.md §2). [derived by us]"""
    out = [np.asarray(p0, float)]
    for _ in range(generations - 1):
        out.append(lam * np.asarray(p_real, float) + (1 - lam) * curation_update(out[-1], r, K))
    return np.array(out)


def _multinomial_pmf(states, q):
    """P(counts = s) for every row s of ``states`` [S, V] under Multinomial(Σs, q)."""
    n = states.sum(1)
    logq = np.log(np.where(q > 0, q, 1.0))
    logp = gammaln(n + 1) - gammaln(states + 1).sum(1) + np.sum(np.where(states > 0, states * logq, 0.0), 1)
    impossible = np.any((states > 0) & (q <= 0), axis=1)
    return np.where(impossible, 0.0, np.exp(logp))


def curation_chain_mean(p, r, K: int, T: int, M: int, generations: int, real_weight: float = 0.0) -> np.ndarray:
    """E[p̂_n] exactly, for finite T and M, of the categorical loop with curation (replace: ``real_weight`` = 0;
    fresh with weight w: p̂_n = w·R_n/T + (1 − w)·S_n/M, R_n ~ Multinomial(T, p) fresh each generation).

    The synthetic counts S_{n+1} ~ Multinomial(M, U_K(p̂_n)) form a Markov chain over the C(M + V − 1, V − 1)
    count vectors; its law is propagated exactly (generation 1: p̂_1 = R_1/T). [derived by us, docs/feedback.md §2;
    exact, small V, T, M only.] K = 0: the tilt. Returns [G, V]."""
    p, r = np.asarray(p, float), np.asarray(r, float)
    V = p.shape[0]
    real_states = np.array(list(_compositions(V, T)), float)
    real_pmf = _multinomial_pmf(real_states, p)
    synth_states = np.array(list(_compositions(V, M)), float)

    def step_from(q):  # law of S' given the current estimate q
        return _multinomial_pmf(synth_states, curation_update(q, r, K))

    law = real_pmf @ np.array([step_from(c / T) for c in real_states])  # law of S_2
    out = [p.copy()]  # E p̂_1 = p
    w = real_weight
    trans = None
    for _ in range(generations - 1):
        out.append(w * p + (1 - w) * (law @ synth_states) / M)
        if len(out) == generations:
            break
        if trans is None:
            if w == 0:
                trans = np.array([step_from(s / M) for s in synth_states])
            else:
                trans = np.array([real_pmf @ np.array([step_from(w * c / T + (1 - w) * s / M) for c in real_states])
                                  for s in synth_states])
        law = law @ trans
    return np.array(out)


def tilt_fixed_point(p_real, r, lam: float) -> np.ndarray:
    """The fixed point of p = λ·p_real + (1 − λ)·p·e^{r}/Z(p), Z(p) = Σ p e^{r}, in closed form up to one root:
    coordinate-wise p_v = λ·p_real,v/(1 − (1 − λ)e^{r_v}/Z), and Z solves Σ_v p_v(Z) = 1 on
    Z > (1 − λ)·max e^{r} (the sum decreases strictly from +∞ to λ < 1 there, so the root is unique).
    [derived by us, docs/feedback.md §2] λ ∈ (0, 1]."""
    from scipy.optimize import brentq

    p_real, r = np.asarray(p_real, float), np.asarray(r, float)
    if not 0 < lam <= 1:
        raise ValueError(f"lam must be in (0, 1]; got lam={lam!r}")
    on = p_real > 0
    e = np.exp(r - np.max(r[on]))
    lo = (1 - lam) * np.max(e[on])

    def excess(z):
        return np.sum(lam * p_real[on] / (1 - (1 - lam) * e[on] / z)) - 1

    z = brentq(excess, lo * (1 + 1e-15) + 1e-300, max(1.0, lo) * 2 + 1, xtol=1e-15, rtol=1e-15, maxiter=500)
    out = np.zeros_like(p_real)
    out[on] = lam * p_real[on] / (1 - (1 - lam) * e[on] / z)
    return out / out.sum()
