"""Gaussian-mixture densities in the self-consuming loop, fitted by EM written in JAX.

Truth: K equally weighted components N(m_k, std² I) in d dimensions with means on the first axis,
m_k = (k − (K − 1)/2)·separation·e₁. Each generation fits a K-component full-covariance mixture by weighted
EM (the policy's sample weights enter every M-step sum, so accumulate / subsample / mix / fresh work as
for the other families) and samples the next synthetic block from it. Generation 1 fits the T real
samples (the engine's convention, as in collapse.families.gaussian).

EM: k-means++ seeding drawn from a key that depends only on the replicate and the generation (so a fit is
a pure function of its inputs), then at most ``em_iters`` EM steps in ``lax.while_loop``, stopping when the
weighted mean log-likelihood changes by less than ``em_tol``·(1 + |ℓ|). Every covariance gets
``cov_floor``·I added, so no component can collapse onto a point.

Metrics: ``l2`` = ∫(p̂ − p)² in closed form (∫N(x; a, A)N(x; b, B)dx = N(a; b, A + B)), ``heldout_ll`` =
mean log p̂ of a held-out real sample drawn once per replicate in ``setup``, ``em_iters`` used, ``fit_size``.
"""

import functools
from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular
from jax.scipy.special import logsumexp

from collapse.errors import require
from collapse.families.base import RealSynthSizes
from collapse.families.points import GaussianData, flatten_segments
from collapse.validate import check_fields

LOG_2PI = float(np.log(2 * np.pi))
EmStart = Literal["warm", "seeded"]
EM_STARTS = get_args(EmStart)


class MixtureParams(NamedTuple):
    weights: jax.Array  # [K]
    means: jax.Array  # [K, d]
    covs: jax.Array  # [K, d, d]
    generation: jax.Array  # int, the generation this model was fitted in
    count: jax.Array  # samples with positive weight in the fit
    iters: jax.Array  # EM iterations used


class MixtureWorld(NamedTuple):
    truth: MixtureParams
    x_real: jax.Array  # [T, d]
    x_heldout: jax.Array  # [H, d]
    key: jax.Array  # seeds each generation's k-means++ initialisation


def component_logpdf(x, means, covs):
    """log N(x_i; m_k, C_k) for x [N, d], means [K, d], covs [K, d, d] → [N, K]."""
    d = x.shape[-1]
    if d == 1:
        var = covs[:, 0, 0]
        return -0.5 * (LOG_2PI + jnp.log(var) + (x - means[:, 0]) ** 2 / var)
    chol = jnp.linalg.cholesky(covs)  # [K, d, d]
    diff = x[None] - means[:, None]  # [K, N, d]
    sol = jax.vmap(lambda L, r: solve_triangular(L, r.T, lower=True))(chol, diff)  # [K, d, N]
    half_logdet = jnp.sum(jnp.log(jnp.diagonal(chol, axis1=1, axis2=2)), axis=1)
    return (-0.5 * (d * LOG_2PI + jnp.sum(sol**2, axis=1)) - half_logdet[:, None]).T


def mixture_logpdf(x, p: MixtureParams):
    """log p(x_i) of a mixture, x [N, d] → [N]."""
    return logsumexp(component_logpdf(x, p.means, p.covs) + jnp.log(jnp.clip(p.weights, 1e-300)), axis=1)


def _cross(p: MixtureParams, q: MixtureParams):
    """∫ p q = Σ_ij a_i b_j N(m_i; n_j, A_i + B_j)."""
    covs = p.covs[:, None] + q.covs[None]  # [K, K', d, d]
    diff = p.means[:, None] - q.means[None]  # [K, K', d]
    d = diff.shape[-1]
    if d == 1:
        var = covs[..., 0, 0]
        log_n = -0.5 * (LOG_2PI + jnp.log(var) + diff[..., 0] ** 2 / var)
    else:
        _, logdet = jnp.linalg.slogdet(covs)
        maha = jnp.einsum("ijk,ijk->ij", diff, jnp.linalg.solve(covs, diff[..., None])[..., 0])
        log_n = -0.5 * (d * LOG_2PI + logdet + maha)
    return jnp.sum(p.weights[:, None] * q.weights[None] * jnp.exp(log_n))


def l2_distance(p: MixtureParams, q: MixtureParams):
    """∫(p − q)² in closed form (clipped at 0 against rounding)."""
    return jnp.clip(_cross(p, p) + _cross(q, q) - 2 * _cross(p, q), 0.0)


def kmeans_pp(key, x, w, K):
    """K seeds from the rows of x: the first ∝ w, each next ∝ w·(squared distance to the nearest seed)."""
    keys = jax.random.split(key, K)
    logw = jnp.log(jnp.clip(w, 1e-300))
    centers = [x[jax.random.categorical(keys[0], jnp.where(w > 0, logw, -jnp.inf))]]
    d2 = jnp.sum((x - centers[0]) ** 2, axis=1)
    for k in range(1, K):
        score = jnp.where((w > 0) & (d2 > 0), logw + jnp.log(jnp.clip(d2, 1e-300)), -jnp.inf)
        # all remaining points coincide with a seed: fall back to the weights
        score = jnp.where(jnp.any(jnp.isfinite(score)), score, jnp.where(w > 0, logw, -jnp.inf))
        c = x[jax.random.categorical(keys[k], score)]
        centers.append(c)
        d2 = jnp.minimum(d2, jnp.sum((x - c) ** 2, axis=1))
    return jnp.stack(centers)


def iterate(step, init, iters: int, tol: float, masked: bool):
    """Run ``step`` (params -> (next params, ℓ of the given params)) up to ``iters`` times, stopping a replicate once
    ℓ changes by less than tol·(1 + |ℓ|) after at least 2 steps (tol = 0: always ``iters``). Returns (params, steps).

    masked=False: a ``lax.while_loop`` (vmapped, it runs until the slowest replicate of the batch converges).
    masked=True: a ``fori_loop`` of exactly ``iters`` steps whose updates stop, per replicate, once converged — the
    same numbers and step counts, at a fixed cost (benchmarks/gmm_em.py measures which is faster)."""
    def going(i, prev, ll):
        return (i < 2) | (jnp.abs(ll - prev) > tol * (1 + jnp.abs(ll)))

    dtype = jax.tree_util.tree_leaves(init)[0].dtype
    start = (jnp.array(0), init, jnp.array(-jnp.inf, dtype), jnp.array(-jnp.inf, dtype))
    if tol <= 0:  # a fixed iteration count (tol is static)
        params = jax.lax.fori_loop(0, iters, lambda _, p: step(p)[0], init)
        return params, jnp.array(iters)
    if masked:
        def body(_, state):
            i, params, prev, ll = state
            on = going(i, prev, ll)
            new, new_ll = step(params)
            params = jax.tree_util.tree_map(lambda a, b: jnp.where(on, a, b), new, params)
            return i + on, params, jnp.where(on, ll, prev), jnp.where(on, new_ll, ll)

        i, params, _, _ = jax.lax.fori_loop(0, iters, body, start)
        return params, i

    def body(state):
        i, params, _, ll = state
        params, new_ll = step(params)
        return i + 1, params, ll, new_ll

    i, params, _, _ = jax.lax.while_loop(lambda st: (st[0] < iters) & going(*st[:1], *st[2:]), body, start)
    return params, i


def em(x, w, init_means, iters: int, tol: float, floor: float, start=None, masked: bool = False):
    """Weighted EM for a full-covariance mixture. x [N, d], w [N] ≥ 0 (0 = absent), init_means [K, d].

    Returns (weights [K], means [K, d], covs [K, d, d], iterations used). Starts from ``start`` = (weights, means,
    covs) when given (a warm start), else from equal weights, ``init_means`` and the data covariance for every
    component; stops after ``iters`` steps or when the weighted mean log-likelihood ℓ changes by less than
    tol·(1 + |ℓ|) (tol = 0: always ``iters`` steps; ``masked``: see :func:`iterate`).
    """
    K, d = init_means.shape if start is None else start[1].shape
    if d == 1:
        return _em_1d(x[:, 0], w, init_means, iters, tol, floor, start, masked)
    wn = w / jnp.sum(w)
    eye = floor * jnp.eye(d)

    def step(params):
        pi, means, covs = params
        logp = component_logpdf(x, means, covs) + jnp.log(jnp.clip(pi, 1e-300))
        norm = logsumexp(logp, axis=1)
        ll = jnp.sum(wn * norm)
        r = jnp.exp(logp - norm[:, None]) * wn[:, None]  # [N, K] weighted responsibilities
        nk = jnp.sum(r, axis=0)
        safe = jnp.clip(nk, 1e-300)
        means = (r.T @ x) / safe[:, None]
        diff = x[None] - means[:, None]  # [K, N, d]
        covs = jnp.einsum("nk,kni,knj->kij", r, diff, diff) / safe[:, None, None] + eye
        return (nk, means, covs), ll

    if start is None:
        center = wn @ x
        data_cov = ((x - center) * wn[:, None]).T @ (x - center) + eye
        start = (jnp.full(K, 1.0 / K, x.dtype), init_means, jnp.broadcast_to(data_cov, (K, d, d)))
    (pi, means, covs), i = iterate(step, tuple(start), iters, tol, masked)
    return pi, means, covs, i


def _em_1d(x, w, init_means, iters, tol, floor, start, masked):
    """:func:`em` for d = 1: K = 2 takes :func:`two_component_step`, other K :func:`mixture_1d_step` (both the
    same EM step; the first is cheaper per point)."""
    wn = w / jnp.sum(w)
    if start is None:
        K = init_means.shape[0]
        center = wn @ x
        init = (jnp.full(K, 1.0 / K, x.dtype), init_means[:, 0], jnp.full(K, wn @ (x - center) ** 2 + floor))
    else:
        init = (start[0], start[1][:, 0], start[2][:, 0, 0])
    step = two_component_step if init[0].shape[0] == 2 else mixture_1d_step
    (pi, means, var), i = iterate(functools.partial(step, x, wn, floor, tol > 0), init, iters, tol, masked)
    return pi, means[:, None], var[:, None, None], i


def mixture_1d_step(x, wn, floor, with_ll, params):
    """One EM step for a 1-D K-component mixture: x, wn [N] (wn sums to 1); params = (weights [K], means [K],
    variances [K]); returns (next params, ℓ of the given params, or 0 when ``with_ll`` is False). [K, N] arrays
    (the sample axis innermost, so it vectorizes), one exp per point and component, the two-pass variance."""
    pi, means, var = params
    logc = jnp.log(jnp.clip(pi, 1e-300)) - 0.5 * (LOG_2PI + jnp.log(var))
    logp = logc[:, None] - 0.5 * (x[None] - means[:, None]) ** 2 / var[:, None]  # [K, N]
    top = jnp.max(logp, axis=0)
    e = jnp.exp(logp - top)
    total = jnp.sum(e, axis=0)
    r = e * (wn / total)  # weighted responsibilities [K, N]
    nk = jnp.sum(r, axis=1)
    safe = jnp.clip(nk, 1e-300)
    means = (r @ x) / safe
    var = jnp.sum(r * (x[None] - means[:, None]) ** 2, axis=1) / safe + floor
    ll = jnp.sum(wn * (top + jnp.log(total))) if with_ll else jnp.zeros((), x.dtype)
    return (nk, means, var), ll


def _sum_each(terms):
    """The sums of several [N] arrays in ONE pass over the points (a variadic reduce: XLA:CPU emits a single
    loop with one accumulator per term, instead of one loop per term)."""
    zero = jnp.zeros((), terms[0].dtype)
    return jax.lax.reduce(tuple(terms), (zero,) * len(terms),
                          lambda a, b: tuple(p + q for p, q in zip(a, b, strict=True)), (0,))


_ATANH_TERMS = 10  # 1/(2k + 1) for k < 10: with |s| ≤ 0.1716, truncation z¹⁰/21 < 3e-17, below rounding
_LN2 = float(np.log(2.0))


def _log1p_unit(e):
    """log(1 + e) for 0 ≤ e ≤ 1 in vectorisable operations: in the engine's loop XLA:CPU emits float64 log / log1p
    as scalar calls (a loop over the points 3× as long as the exp loop; the GaussianMixture loop ran 1.35–1.6×
    slower with jnp.log1p). Where XLA instead hands the whole dot to YNNPACK (benchmarks/gmm_em.py's blocked EM)
    YNNPACK's own log1p is faster than this polynomial (0.27 vs 0.44 s there).

    log(1 + e) = 2·atanh(s) = 2·Σ s^(2k+1)/(2k + 1) with s = e/(2 + e), or, for e > √2 − 1, ln 2 + 2·atanh(s) with
    s = (e − 1)/(e + 3) — so |s| ≤ 3 − 2√2 ≈ 0.1716 and ten terms reach full precision (Abramowitz & Stegun 1964,
    eq. 4.1.28). The polynomial in z = s² is summed by Estrin's scheme (pairs, then pairs of pairs), a dependency
    chain 4 multiply-adds deep instead of Horner's 9. Error ≤ 3 eps relative (measured: tests/test_gmm_em2.py)."""
    upper = e > np.sqrt(2.0) - 1
    s = jnp.where(upper, e - 1, e) / jnp.where(upper, e + 3, e + 2)
    z = s * s
    terms = [1.0 / (4 * j + 1) + 1.0 / (4 * j + 3) * z for j in range(_ATANH_TERMS // 2)]  # c₂ⱼ + c₂ⱼ₊₁·z
    power = z
    while len(terms) > 1:
        power = power * power
        paired = [terms[j] + terms[j + 1] * power for j in range(0, len(terms) - 1, 2)]
        terms = paired + terms[len(paired) * 2:]  # an odd last term waits for the next level
    return jnp.where(upper, _LN2, 0.0) + 2 * s * terms[0]


def two_component_step(x, wn, floor, with_ll, params):
    """:func:`mixture_1d_step` for K = 2, cheaper per point (docs/gaussian.md, "EM for K = 2 in one dimension";
    the same iterates up to rounding: tests/test_gmm_em2.py).

    E-step: with d = log(π₁p₁(x)) − log(π₀p₀(x)) and e = exp(−|d|) ≤ 1, the responsibilities are
    r₁ = 1/(1 + e) and r₀ = e/(1 + e) when d ≥ 0 (swapped when d < 0): one exp per point instead of K, and both
    keep full relative accuracy (neither is formed as 1 − the other). M-step: with u = x − m per component (m =
    this step's mean), the sums n = Σr, a = Σr·u, b = Σr·u², all six in one pass; then m' = m + δ with δ = a/n
    and σ'² = b/n − δ² — the shifted-data form of the two-pass variance Σr·(x − m')²/n, equal to it in exact
    arithmetic and without its cancellation near the fixed point, where δ → 0. (With n below the 1e-300 clip of
    a dead component, the same algebra reproduces the general step's Σr·x/1e-300 and Σr·(x − m')²/1e-300.)

    Layout for XLA:CPU, which gives each materialised array its own loop (no multi-output fusion) and emits a
    fused reduction as one scalar loop: e is one vectorised loop, r₀ and r₁ one each (their divisions keep XLA
    from fusing them — and their data-dependent selects, which would become mispredicted branches — into the
    reduction), and the six sums one scalar loop of 15 flops per point (docs/gaussian.md has the profile)."""
    pi, means, var = params
    logc = jnp.log(jnp.clip(pi, 1e-300)) - 0.5 * (LOG_2PI + jnp.log(var))
    half_prec = 0.5 / var
    u0, u1 = x - means[0], x - means[1]
    logp0 = logc[0] - half_prec[0] * (u0 * u0)
    logp1 = logc[1] - half_prec[1] * (u1 * u1)
    d = logp1 - logp0
    e = jnp.exp(-jnp.abs(d))
    first = d >= 0
    r1 = wn * jnp.where(first, 1.0, e) / (1 + e)
    r0 = wn * jnp.where(first, e, 1.0) / (1 + e)
    ru0, ru1 = r0 * u0, r1 * u1
    sums = _sum_each([r0, r1, ru0, ru1, ru0 * u0, ru1 * u1])
    ll = jnp.zeros((), x.dtype)
    if with_ll:  # log(π₀p₀ + π₁p₁) = max(log π₀p₀, log π₁p₁) + log(1 + e), the general step's top + log(total)
        ll = jnp.dot(wn, jnp.maximum(logp0, logp1) + _log1p_unit(e))
    nk, a, b = jnp.stack(sums[0:2]), jnp.stack(sums[2:4]), jnp.stack(sums[4:6])
    safe = jnp.clip(nk, 1e-300)
    shift = (a - means * (safe - nk)) / safe  # a/n, since safe − n = 0 unless the component is dead
    spread = jnp.maximum((b - shift * (2 * a - shift * nk)) / safe, 0.0)  # b/n − δ² when safe = n
    return (nk, means + shift, spread + floor), ll


@dataclass(frozen=True)
class GaussianMixture(RealSynthSizes):
    """Model family: a K-component Gaussian mixture refitted by EM (see the module docstring).

    d: dimension; T: real samples; M: synthetic samples per generation (default T); K: components (of the
    truth and of the fit); separation: distance between neighbouring true means; std: true component std;
    em_iters: EM iteration budget; em_tol: relative log-likelihood tolerance (0 = run every iteration);
    cov_floor: added to every fitted covariance's diagonal; holdout: held-out real samples per replicate.
    em_start: "warm" (default) starts generation n ≥ 2's EM at model n − 1's parameters (the engine passes them to
    :meth:`fit_from`); "seeded" starts every generation afresh from k-means++ seeds and the data covariance.
    Generation 1 is always seeded.
    """

    main_metric: ClassVar[str] = "l2"  # the metric figures and verdicts use

    d: int = 1
    T: int = 200
    M: int | None = None
    K: int = 2
    separation: float = 4.0
    std: float = 1.0
    em_iters: int = 200
    em_tol: float = 1e-8
    cov_floor: float = 1e-6
    holdout: int = 1000
    em_start: EmStart = "warm"
    name: str = "gmm"

    def __post_init__(self):
        check_fields(self)
        require(isinstance(self.d, int) and self.d >= 1, "d", self.d, "an integer >= 1")
        require(isinstance(self.K, int) and self.K >= 1, "K", self.K, "an integer >= 1")
        require(isinstance(self.T, int) and self.T >= self.K, "T", self.T,
                f"an integer >= K = {self.K} (each component needs a sample)")
        require(self.M is None or (isinstance(self.M, int) and self.M >= self.K), "M", self.M,
                f"an integer >= K = {self.K} (each component needs a sample)")
        require(self.separation >= 0, "separation", self.separation, ">= 0")
        require(self.std > 0, "std", self.std, "> 0")
        require(isinstance(self.em_iters, int) and self.em_iters >= 1, "em_iters", self.em_iters, "an integer >= 1")
        require(self.em_tol >= 0, "em_tol", self.em_tol, ">= 0")
        require(self.cov_floor > 0, "cov_floor", self.cov_floor, "> 0 (it keeps every covariance nonsingular)")
        require(isinstance(self.holdout, int) and self.holdout >= 1, "holdout", self.holdout, "an integer >= 1")
        require(self.em_start in EM_STARTS, "em_start", self.em_start, f"one of {EM_STARTS}")

    def truth(self) -> MixtureParams:
        K, d = self.K, self.d
        means = np.zeros((K, d))
        means[:, 0] = (np.arange(K) - (K - 1) / 2) * self.separation
        return MixtureParams(jnp.full(K, 1.0 / K), jnp.asarray(means),
                             jnp.asarray(np.broadcast_to(self.std**2 * np.eye(d), (K, d, d)).copy()),
                             jnp.array(0), jnp.array(0), jnp.array(0))

    # -- data ------------------------------------------------------------------------------
    def _sample(self, key, p: MixtureParams, size):
        k_c, k_z = jax.random.split(key)
        comp = jax.random.categorical(k_c, jnp.log(jnp.clip(p.weights, 1e-300)), shape=(size,))
        z = jax.random.normal(k_z, (size, self.d))
        chol = jnp.sqrt(p.covs) if self.d == 1 else jnp.linalg.cholesky(p.covs)
        return p.means[comp] + jnp.einsum("nij,nj->ni", chol[comp], z)

    def setup(self, key, synth_size: int) -> MixtureWorld:
        k_real, k_held, k_init = jax.random.split(key, 3)
        truth = self.truth()
        return MixtureWorld(truth, self._sample(k_real, truth, self.T), self._sample(k_held, truth, self.holdout),
                            k_init)

    def _real_block(self, x):
        return GaussianData(x, jnp.ones(x.shape[0], x.dtype), jnp.ones(x.shape[0], jnp.int32))

    def initial_real(self, world: MixtureWorld) -> GaussianData:
        return self._real_block(world.x_real)

    def sample_real(self, key, world: MixtureWorld) -> GaussianData:
        return self._real_block(self._sample(key, world.truth, self.T))

    def generate(self, key, world: MixtureWorld, params: MixtureParams, size: int) -> GaussianData:
        x = self._sample(key, params, size)
        n = params.generation + 1
        return GaussianData(x, jnp.ones(size, x.dtype), jnp.full(size, n, jnp.int32))

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: MixtureWorld, segments) -> MixtureParams:
        x, w, gen = flatten_segments(segments, self.d)
        seeds = kmeans_pp(jax.random.fold_in(world.key, gen), x, w, self.K)
        pi, means, covs, iters = em(x, w, seeds, self.em_iters, self.em_tol, self.cov_floor)
        return MixtureParams(pi, means, covs, gen, jnp.sum(w > 0), iters)

    def fit_from(self, world: MixtureWorld, segments, previous: MixtureParams) -> MixtureParams:
        """Fit generation n ≥ 2 given model n − 1 (the engine calls this when a family defines it): with
        em_start="warm", EM starts at model n − 1's parameters — its samples' MLE is close to them, so EM needs
        few steps — and a component whose weight died stays dead, as in continued training; else :meth:`fit`."""
        if self.em_start != "warm":
            return self.fit(world, segments)
        x, w, gen = flatten_segments(segments, self.d)
        start = (previous.weights, previous.means, previous.covs)
        pi, means, covs, iters = em(x, w, None, self.em_iters, self.em_tol, self.cov_floor, start=start)
        return MixtureParams(pi, means, covs, gen, jnp.sum(w > 0), iters)

    # -- scoring ---------------------------------------------------------------------------
    def score(self, key, world: MixtureWorld, params: MixtureParams):
        del key
        l2 = l2_distance(params, world.truth)
        return {"l2": l2, "heldout_ll": jnp.mean(mixture_logpdf(world.x_heldout, params)),
                "em_iters": params.iters.astype(l2.dtype), "fit_size": params.count.astype(l2.dtype)}
