"""Tale-of-tails closed forms for the memorisation family (collapse.families.zipf); docs/categorical.md §7.

Dohmatob, Feng, Yang, Charton & Kempe 2024, "A tale of tails: model collapse as a change of scaling laws"
(ICML; arXiv 2402.07043). p_i ∝ i^(−β) on i = 1..V (our sums are exact for the finite V the simulation uses;
the asymptotic forms are for V = ∞ and need β > 1). c = 1 − 1/β. Status per docstring: *stated*, *derived*,
*approximate* (measured error in the docs page) or *bound*.
"""

import math

import numpy as np
from scipy import integrate
from scipy.special import gamma, zeta

from collapse.errors import ConfigError
from theory.curves import TheoryCurve, TheoryUnavailable

TALE = "Dohmatob, Feng, Yang, Charton & Kempe 2024 (arXiv 2402.07043)"
EULER_GAMMA = 0.5772156649015329


def _beta_gt_one(beta):
    if not (math.isfinite(beta) and beta > 1):
        raise ConfigError("beta", beta, "> 1 (the Zipf scaling law needs a summable tail: Σ i^(−β) < ∞)")
    return float(beta)


def exponent(beta) -> float:
    """c = 1 − 1/β, the clean scaling exponent (stated)."""
    return 1 - 1 / _beta_gt_one(beta)


def clean_error(p, T) -> np.ndarray:
    """E(T) = Σ_i p_i(1 − p_i)^T: the expected test error of a memoriser trained on T clean samples
    (exact; stated). T may be an array."""
    p = np.asarray(p, float)
    T = np.asarray(T, float)
    return np.sum(p * np.exp(np.multiply.outer(T, np.log1p(-p))), axis=-1)


def clean_constant(beta) -> float:
    """A = Γ(1 − 1/β)/β · ζ(β)^(−1/β), so that E(T) ≈ A·T^(−c) for V = ∞ (stated; *approximate* at finite
    T — the continuum limit of the sum; its measured error is in the docs page)."""
    beta = _beta_gt_one(beta)
    return gamma(1 - 1 / beta) / beta * zeta(beta) ** (-1 / beta)


def clean_asymptote(beta, T) -> np.ndarray:
    """A·T^(−c) (approximate, see :func:`clean_constant`)."""
    return clean_constant(beta) * np.asarray(T, float) ** (-exponent(beta))


def generations_error(p, T, T0, n) -> np.ndarray:
    """E after n synthetic generations (model labeler, π = 0, no cut, τ = 1, replace):
    Σ_i p_i[1 − (1 − (1 − p_i)^T)(1 − (1 − p_i)^T0)^n] — an item is right iff it was in the real sample
    and in every one of the n synthetic samples. Derived (exact; docs/categorical.md §7). n may be an
    array (engine generation g = n + 1)."""
    p = np.asarray(p, float)
    seen_real = -np.expm1(T * np.log1p(-p))
    seen_synth = -np.expm1(T0 * np.log1p(-p))
    n = np.asarray(n, float)
    return np.sum(p * (1 - seen_real * seen_synth ** n[..., None]), axis=-1)


def union_bound(p, T, T0, n) -> np.ndarray:
    """E ≤ E(T) + n·E(T0): the union bound of :func:`generations_error` (a *bound*); its asymptotic form
    A(T^(−c) + n·T0^(−c)) is the published template E ≍ T^(−c) + n·T0^(−c) (Dohmatob et al. 2024, Thm. on
    iterative re-labelling, as stated)."""
    return clean_error(p, T) + np.asarray(n, float) * clean_error(p, T0)


def floor_growth(beta, n) -> np.ndarray:
    """G_n = E[X_(n)^c]/Γ(1 + c), X_(n) the maximum of n Exp(1) variables, by quadrature: the synthetic floor
    lim_{T→∞} E ≈ A·G_n·T0^(−c) for V = ∞ (derived, continuum limit; G_1 = 1). G_n ~ (ln n + γ)^c/Γ(1 + c):
    the floor grows like a power of log n, not like n."""
    beta = _beta_gt_one(beta)
    c = 1 - 1 / beta
    out = []
    for k in np.atleast_1d(n):
        k = int(k)
        if k < 1:
            raise ConfigError("n", k, "an integer >= 1 (synthetic generations)")
        dens = lambda x, k=k: x**c * k * (-np.expm1(-x)) ** (k - 1) * np.exp(-x)  # noqa: E731
        out.append(integrate.quad(dens, 0, np.inf, limit=200)[0] / gamma(1 + c))
    return np.array(out)


def floor_log_law(beta, n) -> np.ndarray:
    """(ln n + γ)^c / Γ(1 + c): the large-n form of :func:`floor_growth` (derived; approximate for small n)."""
    c = exponent(beta)
    return (np.log(np.asarray(n, float)) + EULER_GAMMA) ** c / gamma(1 + c)


def source_probs(p, tail_cut=None, real_fraction=0.0, temperature=1.0) -> np.ndarray:
    """s = πp + (1 − π)q, q ∝ p^(1/τ)·1[i ≤ k]: the input law of a generation ≥ 2 (as in the family)."""
    p = np.asarray(p, float)
    q = p ** (1 / temperature)
    if tail_cut is not None:
        q[tail_cut:] = 0.0
    return real_fraction * p + (1 - real_fraction) * q / q.sum()


def truth_labeled_error(p, T0, tail_cut=None, real_fraction=0.0, temperature=1.0) -> np.ndarray:
    """Σ_i p_i(1 − s_i)^T0: generations ≥ 2 with correctly labelled synthetic data (exact; derived). With a
    tail cut at k and π: Σ_{i≤k} p_i(1 − q_i)^T0 + Σ_{i>k} p_i(1 − πp_i)^T0 — the "grokking" curve: a plateau
    at the cut tail mass Σ_{i>k} p_i until πT0 ≳ k^β·ζ(β), then the clean scaling resumes at rate π."""
    p = np.asarray(p, float)
    s = source_probs(p, tail_cut, real_fraction, temperature)
    return np.sum(p * np.exp(np.multiply.outer(np.asarray(T0, float), np.log1p(-s))), axis=-1)


def cut_tail_mass(p, tail_cut) -> float:
    """Σ_{i>k} p_i: the grokking plateau (derived)."""
    return float(np.sum(np.asarray(p, float)[tail_cut:]))


def temperature_exponent(beta, temperature) -> float:
    """−cτ: the exponent of E(T0) ∝ T0^(−cτ) when inputs come from q ∝ p^(1/τ) (derived, continuum
    limit; needs β/τ > 1 so that the tempered law is still a summable Zipf law)."""
    beta = _beta_gt_one(beta)
    if not (temperature > 0 and beta / temperature > 1):
        raise ConfigError("temperature", temperature, f"in (0, β) = (0, {beta:g}) (the tempered exponent β/τ > 1)")
    return -(1 - 1 / beta) * temperature


# -- the hook the study catalog calls --------------------------------------------------------------
def zipf_theory(family, cfg) -> list[TheoryCurve]:
    """Exact error curves for replace mode: the n-generation sum (model labeler, π = 0, no cut, τ = 1) or the
    truth-labelled source sum (any cut / π / τ)."""
    if cfg.mode != "replace":
        raise TheoryUnavailable(f"closed forms are for replace mode, not mode={cfg.mode!r}")
    p, _ = family.probs()
    G, T, T0 = cfg.generations, family.T, family.synth_size
    first = clean_error(p, T)
    if family.labeler == "truth":
        later = truth_labeled_error(p, T0, family.tail_cut, family.real_fraction, family.temperature)
        values = np.concatenate([[first], np.full(G - 1, later)])
        return [TheoryCurve("E error = Σ p_i(1 − s_i)^T0", values, f"derived for {TALE} (docs/categorical.md §7)",
                            metric="error")]
    if family.real_fraction > 0 or family.tail_cut is not None or family.temperature != 1.0:
        raise TheoryUnavailable("model labeler: closed form only without real fraction, tail cut or temperature")
    n = np.arange(G)
    return [TheoryCurve("E error, exact n-generation sum", generations_error(p, T, T0, n),
                        f"derived for {TALE} (docs/categorical.md §7)", metric="error"),
            TheoryCurve("union bound E(T) + n·E(T0)", union_bound(p, T, T0, n),
                        f"bound: the published template of {TALE}", kind="upper-bound", metric="error")]
