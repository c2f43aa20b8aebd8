"""Closed forms for the categorical family (collapse.families.categorical); derivations in docs/categorical.md.

Conventions (as in the simulation): generation 1 fits T real samples; every later generation draws M
synthetic samples from the previous model. S₀ = ‖p‖² (its expectation E‖p‖² = (a + 1)/(Va + 1) for a
Dirichlet(a) truth: every second-moment formula below is linear in S₀, so it also holds on average over a
random truth). Status in each docstring: *stated* (in the cited paper), *derived* (by us, checked by
tests/test_theory_categorical.py), *approximate* (with its measured error in docs/categorical.md) or *bound*.
"""

import numpy as np
from scipy.stats import binom

from collapse.errors import ConfigError
from theory.curves import TheoryCurve, TheoryUnavailable

SEDDIK = "Seddik, Chen, Hayou, Youssef & Debbah 2024 (arXiv 2404.05090)"
BC = "Bakshi & Chakraborty 2026 (arXiv 2602.10531)"
SURESH = "Suresh, Thangaraj & Khandavally 2025 (AISTATS; arXiv 2412.17646)"
EXACT_CHAIN_BUDGET = 3e8  # V·M²·G operations above which the exact Wright–Fisher chain is not computed


def _gens(G):
    if not (isinstance(G, int | np.integer) and G >= 1):
        raise ConfigError("generations", G, "an integer >= 1")
    return np.arange(1, G + 1)


def _size(name, m):
    if not (isinstance(m, int | np.integer) and m >= 1):
        raise ConfigError(name, m, "an integer >= 1")
    return float(m)


# -- second moments ------------------------------------------------------------------------------
def replace_error(S0, T, M, G, alpha=0.0) -> np.ndarray:
    """E‖p̂_n − p‖², n = 1..G, replace mode with a source that emits fresh real data w.p. α.

    R₁ = (1 − S₀)/T, R_n = (1 − 1/M)(1 − α)²R_{n−1} + (1 − S₀)/M. With α = 0 this is
    (1 − S₀)(1 − (1 − 1/T)(1 − 1/M)^{n−1}): Seddik et al.'s fully synthetic law (stated there for T = M = n
    as S_m = E‖p^(m)‖² = 1 − (1 − 1/n)^m(1 − S₀), the Wright–Fisher decay of 1 − ‖p̂‖²); with α > 0 it is
    the contaminated-fresh recursion R_t = (n₀/n_t)R₀ + ((n_t − 1)/n_t)(1 − α)²R_{t−1} of Bakshi &
    Chakraborty 2026 (stated; n₀ = T, n_t = M). Derived by us for T ≠ M (docs/categorical.md §2)."""
    T, M = _size("T", T), _size("M", M)
    if not 0 <= alpha <= 1:
        raise ConfigError("source_alpha", alpha, "in [0, 1]")
    out = np.empty(len(_gens(G)))
    out[0] = (1 - S0) / T
    for n in range(1, G):
        out[n] = (1 - 1 / M) * (1 - alpha) ** 2 * out[n - 1] + (1 - S0) / M
    return out


def replace_norm(S0, T, M, G, alpha=0.0) -> np.ndarray:
    """E‖p̂_n‖² = S₀ + E‖p̂_n − p‖² (p̂_n is unbiased for p). Seddik et al.'s S_m (stated for T = M, α = 0)."""
    return S0 + replace_error(S0, T, M, G, alpha)


def contaminated_limit(S0, M, alpha) -> float:
    """R_∞ = (1 − S₀)/(M(1 − (1 − α)²(1 − 1/M))): the fixed point of :func:`replace_error` (Bakshi &
    Chakraborty 2026, stated as the limit of their recursion; derived by us as its fixed point). Finite
    for every α > 0 or M = 1 — a contaminated loop never collapses."""
    M = _size("M", M)
    denominator = 1 - (1 - alpha) ** 2 * (1 - 1 / M)
    if denominator <= 0:
        raise ConfigError("source_alpha", alpha, "> 0 for a finite limit (α = 0 collapses to a point mass)")
    return (1 - S0) / (M * denominator)


def accumulate_error(S0, T, M, G) -> np.ndarray:
    """E‖p̂_n − p‖², accumulate mode (all real and synthetic samples pooled, N_n = T + (n − 1)M).

    e₁ = (1 − S₀)/T, e_n = e_{n−1} + (M/N_n²)(1 − S₀ − e_{n−1}). Derived (docs/categorical.md §3): p̂_n =
    p̂_{n−1} + (M/N_n)(f_n − p̂_{n−1}) with f_n the new block's frequencies, a martingale increment."""
    T, M = _size("T", T), _size("M", M)
    out = np.empty(len(_gens(G)))
    out[0] = (1 - S0) / T
    for n in range(1, G):
        N = T + n * M
        out[n] = out[n - 1] + (M / N**2) * (1 - S0 - out[n - 1])
    return out


def mix_drift(S0, N, n_synth, G) -> np.ndarray:
    """D_m = E‖p̂_m − p̂_1‖², a fixed real set of N samples pooled with n synthetic ones per generation
    (α = n/(N + n)): D_m = D*(1 − a^{m−1}), a = α²(1 − 1/n), D* = α²Q/(n(1 − a)), Q = (1 − S₀)(1 − 1/N).

    Derived by us (docs/categorical.md §4) for the mixed loop Seddik et al. 2024 study; their "maximal
    amount of synthetic data" statement is about another quantity (see the docs page): here D* < Q/(2N)."""
    N, n = _size("T", N), _size("M", n_synth)
    al = n / (N + n)
    a = al**2 * (1 - 1 / n)
    Q = (1 - S0) * (1 - 1 / N)
    return al**2 * Q / (n * (1 - a)) * (1 - a ** (_gens(G) - 1))


def mix_error(S0, N, n_synth, G) -> np.ndarray:
    """E‖p̂_m − p‖² = (1 − S₀)/N + D_m (the drift is uncorrelated with p̂_1 − p). Derived."""
    return (1 - S0) / _size("T", N) + mix_drift(S0, N, n_synth, G)


def fresh_error(S0, T, M, G, w, alpha=0.0) -> np.ndarray:
    """E‖p̂_n − p‖², fresh mode: p̂_n = w·f_real + (1 − w)·f_synth with T new real and M synthetic samples
    (synthetic source αp + (1 − α)p̂_{n−1}). R_n = w²(1 − S₀)/T + (1 − w)²[(1 − 1/M)(1 − α)²R_{n−1} +
    (1 − S₀)/M]. Derived (docs/categorical.md §5)."""
    T, M = _size("T", T), _size("M", M)
    out = np.empty(len(_gens(G)))
    out[0] = (1 - S0) / T
    for n in range(1, G):
        out[n] = w**2 * (1 - S0) / T + (1 - w) ** 2 * ((1 - 1 / M) * (1 - alpha) ** 2 * out[n - 1] + (1 - S0) / M)
    return out


# -- survival of a symbol and missing mass ------------------------------------------------------
def branching_g(G, M=None) -> np.ndarray:
    """g_n, n = 1..G: the probability that one sample of generation 1 still has descendants in generation n
    when each sample begets Poisson(1) (M None: g_{k+1} = 1 − e^{−g_k}) or Binomial(M, 1/M) (g_{k+1} =
    1 − (1 − g_k/M)^M) samples in the next generation; g₁ = 1, g_n ≈ 2/(n + 1). Derived (critical
    Galton–Watson extinction; docs/categorical.md §6). Exact for the branching process; the Wright–Fisher
    loop fixes the total M, so for it the value is an approximation (error in the docs)."""
    g = np.empty(len(_gens(G)))
    g[0] = 1.0
    for k in range(1, G):
        g[k] = -np.expm1(-g[k - 1]) if M is None else 1 - (1 - g[k - 1] / M) ** M
    return g


def survival_branching(p, T, G, M=None) -> np.ndarray:
    """P(symbol i is still produced by model n) ≈ 1 − (1 − p_i g_n)^T (M given) or 1 − exp(−T p_i g_n)
    (Poisson limit): [G, len(p)]. *Approximate* (branching approximation of the Wright–Fisher loop; its
    measured error is in docs/categorical.md §6)."""
    p = np.atleast_1d(np.asarray(p, float))
    g = branching_g(G, M)[:, None]
    if M is None:
        return -np.expm1(-T * p * g)
    return 1 - (1 - p * g) ** T


def suresh_survival_bound(expected_count, k) -> np.ndarray:
    """P(a symbol of expected count λ survives k generations) ≥ 1 − exp(−λ/k): a *bound* (Suresh et al.
    2025, as stated in their abstract-level summary; our k = the number of fits, generation n). Follows
    from the branching value since g_n ≥ 1/n."""
    return -np.expm1(-np.asarray(expected_count, float) / np.asarray(k, float))


def wright_fisher_extinction(p, T, M, G) -> np.ndarray:
    """P(p̂_n(i) = 0), n = 1..G, per symbol [G, len(p)]: exact for replace mode with the plain sampler.

    The count of one symbol is a Markov chain (Binomial(T, p_i), then Binomial(M, c/T), then Binomial(M,
    c/M)): a multinomial's margins are binomial. Derived (docs/categorical.md §6); cost len(p)·M²·G."""
    p = np.atleast_1d(np.asarray(p, float))
    T, M = int(_size("T", T)), int(_size("M", M))
    dist = binom.pmf(np.arange(T + 1)[None, :], T, p[:, None])  # [S, T+1]
    first = binom.pmf(np.arange(M + 1)[None, :], M, np.arange(T + 1)[:, None] / T)  # [T+1, M+1]
    step = binom.pmf(np.arange(M + 1)[None, :], M, np.arange(M + 1)[:, None] / M)  # [M+1, M+1]
    out = np.empty((len(_gens(G)), p.size))
    out[0] = dist[:, 0]
    for n in range(1, G):
        dist = dist @ (first if n == 1 else step)
        out[n] = dist[:, 0]
    return out


def missing_mass_exact(p, T, M, G) -> np.ndarray:
    """E Σ_i p_i·1[p̂_n(i) = 0], replace mode, plain sampler: exact (:func:`wright_fisher_extinction`)."""
    p = np.asarray(p, float)
    return wright_fisher_extinction(p, T, M, G) @ p


def missing_mass_branching(p, T, G, M=None) -> np.ndarray:
    """L_n ≈ Σ_i p_i (1 − p_i g_n)^T, or Σ_i p_i exp(−T p_i g_n) with M None — n generations act like a clean
    run on ≈ 2T/(n + 1) samples (g_n ≈ 2/(n + 1)). *Approximate* (error measured in docs/categorical.md §6);
    exact at n = 1 in the binomial form."""
    p = np.asarray(p, float)
    return (1 - survival_branching(p, T, G, M)) @ p


def real_missing_mass(p, T) -> float:
    """E Σ_i p_i (1 − p_i)^T: the missing mass of the real block — in accumulate and mix mode (plain sampler,
    no contamination) the support of p̂_n is exactly the real block's, so this holds at every generation.
    Derived (docs/categorical.md §3)."""
    p = np.asarray(p, float)
    return float(np.sum(p * (1 - p) ** T))


# -- the hook the study catalog calls --------------------------------------------------------------
def categorical_theory(family, cfg) -> list[TheoryCurve]:
    """Curves for l2_err, l2_norm and (fixed truths) missing_mass in every mode with a closed form."""
    if not family.plain_sampler:
        raise TheoryUnavailable("temperature / top-k / top-p: no closed form for the refitted moments")
    G, T, M, mode = cfg.generations, family.T, family.synth_size, cfg.mode
    S0, alpha = family.expected_norm(), family.source_alpha
    fixed = family.truth != "dirichlet"
    p = family.truth_probs() if fixed else None
    curves = []
    if mode == "replace":
        err = replace_error(S0, T, M, G, alpha)
        src = f"{BC}, contaminated-fresh recursion (stated)" if alpha > 0 else \
            f"{SEDDIK}, S_m = 1 − (1 − 1/n)^m(1 − S₀) (stated for T = M; derived for T ≠ M)"
        if alpha == 0 and fixed and family.V * M**2 * G <= EXACT_CHAIN_BUDGET:
            curves.append(TheoryCurve("E missing mass (Wright–Fisher chain, exact)", missing_mass_exact(p, T, M, G),
                                      "derived: per-symbol binomial chain (docs/categorical.md §6)",
                                      metric="missing_mass"))
    elif mode == "accumulate" and alpha == 0:
        err, src = accumulate_error(S0, T, M, G), "derived: martingale increments (docs/categorical.md §3)"
    elif mode == "mix" and alpha == 0:
        n = round(cfg.mix_ratio * T)
        err, src = mix_error(S0, T, n, G), f"derived for {SEDDIK}'s mixed loop (docs/categorical.md §4)"
    elif mode == "fresh":
        err = fresh_error(S0, T, M, G, cfg.real_weight, alpha)
        src = "derived: independent real and synthetic blocks (docs/categorical.md §5)"
    else:
        raise TheoryUnavailable(f"no closed form for mode={mode!r} with source_alpha={alpha}")
    if mode in ("accumulate", "mix") and fixed:
        curves.append(TheoryCurve("E missing mass = Σ p_i(1 − p_i)^T (support frozen at the real block's)",
                                  np.full(G, real_missing_mass(p, T)), "derived (docs/categorical.md §3)",
                                  metric="missing_mass"))
    curves.insert(0, TheoryCurve("E‖p̂_n − p‖²", err, src, metric="l2_err"))
    curves.insert(1, TheoryCurve("E‖p̂_n‖²", S0 + err, src, metric="l2_norm"))
    return curves
