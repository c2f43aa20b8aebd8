"""Kernel density estimators refitted on their own samples (docs/kde.md).

Fit: the model is the training set itself, p̂(x) = Σᵢ w̄ᵢ N(x; xᵢ, H) with the policy's weights normalised
(w̄ = w/Σw), so accumulate / subsample / mix / fresh / edit all work. Bandwidth matrix H:
``bandwidth="fixed"``: H = h²I; ``"silverman"`` / ``"scott"``: H = f² Σ̂ with Σ̂ the weighted unbiased sample
covariance (reliability weights, divisor 1 − Σw̄²) and f = (n(d + 2)/4)^(−1/(d+4)) or n^(−1/(d+4)) at the
effective size n = 1/Σw̄² (the conventions of scipy.stats.gaussian_kde; in 1-D Silverman's f is 1.059 n^(−1/5)).
Generate: pick a centre ∝ w̄ (inverse CDF) and add N(0, H) noise.

Truths (``truth``): "gaussian" N(0, std² I_d); "gmm" K equal-weight components N(mₖ, std² I) with
mₖ = (k − (K − 1)/2)·separation·e₁; the 2-D shapes "moons" (two interleaved half circles, as in
scikit-learn's make_moons) and "rings" (circles of radius 1 and ``factor``), each point plus N(0, noise² I),
drawn in JAX.

Metrics (per generation): ``trace`` = tr Cov(p̂) = tr Σ̂_MLE(centres) + tr H (what the theory predicts);
``bw`` = tr H / d; ``l2`` = ∫(p̂ − p)² in closed form for the gaussian / gmm truths (∫N(x; a, A)N(x; b, B)dx =
N(a; b, A + B); O(N²) per fit, computed in row chunks; off with ``score_l2=False``); ``heldout_ll`` = mean
log p̂ of ``holdout`` real points drawn once per replicate (0 = off); ``sw`` = sliced Wasserstein-2² between
``sw_samples`` draws of p̂ and as many true points drawn once per replicate, over ``projections`` random
directions (a finite-sample estimate: positive even for p̂ = p, ≈ O(1/sw_samples)).
"""

import dataclasses
import math
from dataclasses import dataclass
from typing import Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

from collapse.errors import require
from collapse.families.base import RealSynthSizes
from collapse.validate import check_fields

Bandwidth = Literal["fixed", "silverman", "scott"]
Truth = Literal["gaussian", "gmm", "moons", "rings"]
BANDWIDTHS = get_args(Bandwidth)
TRUTHS = get_args(Truth)
SHAPES = ("moons", "rings")
MAX_DIM = 10  # the closed-form metrics and the bandwidth rules are meant for low dimensions
LOG_2PI = math.log(2 * math.pi)
CHUNK = 256  # rows per step of the pairwise sums (memory ∝ CHUNK·N per replicate)


class KDEData(NamedTuple):
    x: jax.Array  # [m, d]


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class KDEParams:
    centres: jax.Array  # [N, d]
    weights: jax.Array  # [N], normalised (0 = absent)
    bw: jax.Array  # [d, d] bandwidth matrix H
    chol: jax.Array  # [d, d] lower Cholesky factor of H
    count: jax.Array  # int: centres before any zero-weight padding
    # static: the first ``count`` centres share one weight and the rest are padding (one unstacked block with
    # row-constant weights), so a centre is drawn by one randint instead of a vmapped binary search (the loop's
    # CPU bottleneck)
    equal: bool = dataclasses.field(default=False, metadata={"static": True})


class KDEWorld(NamedTuple):
    x_real: jax.Array  # [T, d]
    x_heldout: jax.Array  # [holdout, d]
    x_ref: jax.Array  # [sw_samples, d], true points for the sliced Wasserstein distance
    gmm_means: jax.Array  # [K, d] (a single zero mean for the gaussian truth)


def bandwidth_factor(rule: str, n, d: int):
    """f in H = f²Σ̂: Silverman (n(d + 2)/4)^(−1/(d+4)), Scott n^(−1/(d+4)) (n may be an array)."""
    if rule == "silverman":
        return (n * (d + 2) / 4.0) ** (-1.0 / (d + 4))
    return n ** (-1.0 / (d + 4))


@dataclass(frozen=True)
class KDE(RealSynthSizes):
    """Model family: a Gaussian KDE refitted each generation (see the module docstring).

    d: dimension (≤ 10; 2 for the shapes); T: real samples; M: synthetic samples per generation (default T);
    bandwidth: fixed | silverman | scott; h: the fixed kernel standard deviation (H = h²I); truth: gaussian |
    gmm | moons | rings; std: std of the gaussian truth / of each gmm component; K, separation: the gmm truth;
    noise: shape noise std; factor: inner ring radius; holdout: held-out real points for heldout_ll;
    sw_samples, projections: the sliced Wasserstein estimate; score_l2: compute the O(N²) closed-form L2.
    """

    d: int = 1
    T: int = 100
    M: int | None = None
    bandwidth: Bandwidth = "silverman"
    h: float = 0.1
    truth: Truth = "gaussian"
    std: float = 1.0
    K: int = 2
    separation: float = 3.0
    noise: float = 0.1
    factor: float = 0.5
    holdout: int = 200
    sw_samples: int = 256
    projections: int = 32
    score_l2: bool = True
    name: str = "kde"

    def __post_init__(self):
        check_fields(self)  # types: ints, finite floats, the Literal choices, bool
        require(1 <= self.d <= MAX_DIM, "d", self.d,
                f"in 1..{MAX_DIM} (bandwidth rules and closed-form L2 / held-out metrics are for low dimensions)")
        require(self.truth not in SHAPES or self.d == 2, "d", self.d, f"2 for the 2-D shape truth {self.truth!r}")
        require(self.h > 0, "h", self.h, "> 0 (the fixed kernel standard deviation)")
        least = self.d + 1 if self.bandwidth != "fixed" else 1  # the rules need a nonsingular sample covariance
        require(self.T >= least, "T", self.T, f">= {least}")
        require(self.M is None or self.M >= least, "M", self.M, f">= {least}")
        require(self.std > 0, "std", self.std, "> 0")
        require(self.K >= 1, "K", self.K, ">= 1")
        require(self.noise >= 0, "noise", self.noise, ">= 0")
        require(0 < self.factor < 1, "factor", self.factor, "in (0, 1)")
        require(self.holdout >= 0, "holdout", self.holdout, ">= 0 (0 = no heldout_ll)")
        require(self.sw_samples >= 2, "sw_samples", self.sw_samples, ">= 2")
        require(self.projections >= 1, "projections", self.projections, ">= 1")

    # -- truth -----------------------------------------------------------------------------
    def truth_trace(self) -> float:
        """tr Cov of the true law (closed form; docs/kde.md)."""
        if self.truth == "gaussian":
            return self.d * self.std**2
        if self.truth == "gmm":
            return self.d * self.std**2 + self.separation**2 * (self.K**2 - 1) / 12
        if self.truth == "moons":  # x: ½ + ¼ (cos²θ mean ½, centres 0 and 1); y: sinθ has variance ½ − 4/π²
            var_y = 0.5 - 4 / math.pi**2 + (4 / math.pi - 0.5) ** 2 / 4
            return 0.75 + var_y + 2 * self.noise**2
        return (1 + self.factor**2) / 2 + 2 * self.noise**2  # rings: E r²/2 per coordinate

    def _gmm_means(self):
        if self.truth != "gmm":
            return jnp.zeros((1, self.d))
        k = jnp.arange(self.K) - (self.K - 1) / 2
        return jnp.zeros((self.K, self.d)).at[:, 0].set(k * self.separation)

    def sample_truth(self, key, size, means):
        k_pick, k_noise, k_angle = jax.random.split(key, 3)
        z = jax.random.normal(k_noise, (size, self.d))
        if self.truth == "gaussian":
            return self.std * z
        if self.truth == "gmm":
            return means[jax.random.randint(k_pick, (size,), 0, self.K)] + self.std * z
        inner = jax.random.bernoulli(k_pick, 0.5, (size,))
        theta = jax.random.uniform(k_angle, (size,)) * (jnp.pi if self.truth == "moons" else 2 * jnp.pi)
        if self.truth == "moons":
            outer = jnp.stack([jnp.cos(theta), jnp.sin(theta)], 1)
            lower = jnp.stack([1 - jnp.cos(theta), 0.5 - jnp.sin(theta)], 1)
            x = jnp.where(inner[:, None], lower, outer)
        else:
            r = jnp.where(inner, self.factor, 1.0)
            x = r[:, None] * jnp.stack([jnp.cos(theta), jnp.sin(theta)], 1)
        return x + self.noise * z

    # -- data ------------------------------------------------------------------------------
    def setup(self, key, synth_size: int) -> KDEWorld:
        k_real, k_hold, k_ref = jax.random.split(key, 3)
        means = self._gmm_means()
        return KDEWorld(self.sample_truth(k_real, self.T, means), self.sample_truth(k_hold, self.holdout, means),
                        self.sample_truth(k_ref, self.sw_samples, means), means)

    def initial_real(self, world: KDEWorld) -> KDEData:
        return KDEData(world.x_real)

    def sample_real(self, key, world: KDEWorld) -> KDEData:
        return KDEData(self.sample_truth(key, self.T, world.gmm_means))

    def _draw(self, key, params: KDEParams, size):
        k_pick, k_noise = jax.random.split(key)
        if params.equal:
            # floor(U·count): exact up to float64 rounding, and several times cheaper than jax.random.randint
            idx = jnp.minimum(jnp.floor(jax.random.uniform(k_pick, (size,)) * params.count).astype(jnp.int32),
                              params.count - 1)
        else:
            cdf = jnp.cumsum(params.weights)
            u = jax.random.uniform(k_pick, (size,)) * cdf[-1]
            idx = jnp.clip(jnp.searchsorted(cdf, u, side="right"), 0, cdf.shape[0] - 1)
        z = jax.random.normal(k_noise, (size, self.d))
        # z Lᵀ as a broadcast sum: a [size, d] × [d, d] matmul per replicate is slow on CPU once vmapped (d ≤ 10)
        return params.centres[idx] + jnp.sum(z[:, None, :] * params.chol[None], axis=2)

    def generate(self, key, world: KDEWorld, params: KDEParams, size: int) -> KDEData:
        return KDEData(self._draw(key, params, size))

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: KDEWorld, segments) -> KDEParams:
        x = jnp.concatenate([s.data.x.reshape(-1, self.d) for s in segments])
        w = jnp.concatenate([s.weight.reshape(-1) for s in segments])
        rows = x.shape[0]
        short = self.T - rows  # fewer centres than generation 1's T (replace with M < T): pad with weight 0,
        if short > 0:  # so that every fit of a run has one shape
            x, w = jnp.pad(x, ((0, short), (0, 0))), jnp.pad(w, (0, short))
        w = w / jnp.sum(w)
        if self.bandwidth == "fixed":
            bw = self.h**2 * jnp.eye(self.d, dtype=x.dtype)
        else:
            mean = w @ x
            xc = x - mean
            sum_w2 = jnp.sum(w**2)
            cov = (xc * w[:, None]).T @ xc / (1 - sum_w2)  # reliability weights: unbiased when uniform
            bw = bandwidth_factor(self.bandwidth, 1 / sum_w2, self.d) ** 2 * cov
        chol = jnp.sqrt(bw) if self.d == 1 else jnp.linalg.cholesky(bw)
        equal = len(segments) == 1 and segments[0].uniform and segments[0].weight.ndim == 1
        return KDEParams(x, w, bw, chol, jnp.asarray(rows, jnp.int32), equal)

    def pad_params(self, params: KDEParams, template: KDEParams) -> KDEParams:
        """Zero-weight padding up to the centre count of a later fit (the engine's scan needs one shape; a
        centre of weight 0 is never drawn and adds nothing to any metric)."""
        extra = template.centres.shape[0] - params.centres.shape[0]
        return dataclasses.replace(params, centres=jnp.pad(params.centres, ((0, extra), (0, 0))),
                                   weights=jnp.pad(params.weights, (0, extra)),
                                   equal=template.equal)  # generation 1's fit is one equal-weight block

    # -- scoring ---------------------------------------------------------------------------
    def score(self, key, world: KDEWorld, params: KDEParams):
        k_draw, k_dir = jax.random.split(key)
        x, w = params.centres, params.weights
        mean = w @ x
        spread = jnp.sum(w * jnp.sum((x - mean) ** 2, axis=1))
        out = {"trace": spread + jnp.trace(params.bw), "bw": jnp.trace(params.bw) / self.d}
        if self.holdout > 0:
            out["heldout_ll"] = jnp.mean(kde_logpdf(world.x_heldout, params))
        if self.score_l2 and self.truth in ("gaussian", "gmm"):
            out["l2"] = self._l2(world, params)
        out["sw"] = sliced_w2(k_dir, self._draw(k_draw, params, self.sw_samples), world.x_ref, self.projections)
        return out

    def _l2(self, world, params: KDEParams):
        """∫(p̂ − p)² = Σᵢⱼ w̄ᵢw̄ⱼ N(xᵢ; xⱼ, 2H) − 2 Σᵢₖ w̄ᵢ/K N(xᵢ; mₖ, H + s²I) + Σₖₗ N(mₖ; mₗ, 2s²I)/K²."""
        d, s2 = self.d, self.std**2
        eye = jnp.eye(d, dtype=params.centres.dtype)
        means = world.gmm_means
        kk = means.shape[0]
        self_term = _weighted_pair_sum(params.centres, params.weights, params.centres, params.weights,
                                       2 * params.bw)
        cross = _weighted_pair_sum(params.centres, params.weights, means, jnp.full(kk, 1.0 / kk),
                                   params.bw + s2 * eye)
        truth = _weighted_pair_sum(means, jnp.full(kk, 1.0 / kk), means, jnp.full(kk, 1.0 / kk), 2 * s2 * eye)
        return jnp.clip(self_term - 2 * cross + truth, 0.0)  # clip: rounding only


def _gauss_log_kernel(a, b, cov):
    """log N(aᵢ; bⱼ, cov) for a [n, d], b [m, d] → [n, m]."""
    chol = jnp.linalg.cholesky(cov)
    ia = jax.scipy.linalg.solve_triangular(chol, a.T, lower=True).T
    ib = jax.scipy.linalg.solve_triangular(chol, b.T, lower=True).T
    sq = jnp.sum(ia**2, 1)[:, None] + jnp.sum(ib**2, 1)[None] - 2 * ia @ ib.T
    half_logdet = jnp.sum(jnp.log(jnp.diagonal(chol)))
    return -0.5 * (a.shape[1] * LOG_2PI + jnp.clip(sq, 0.0)) - half_logdet


def _chunks(a, fill):
    """Rows of a padded to a multiple of CHUNK and reshaped to [chunks, CHUNK, ...] (pad rows = fill)."""
    n = a.shape[0]
    size = min(CHUNK, n)
    pad = (-n) % size
    a = jnp.concatenate([a, jnp.full((pad,) + a.shape[1:], fill, a.dtype)])
    return a.reshape((-1, size) + a.shape[1:])


def _weighted_pair_sum(a, wa, b, wb, cov):
    """Σᵢⱼ waᵢ wbⱼ N(aᵢ; bⱼ, cov), in row chunks of a."""
    def one(chunk):
        rows, wrows = chunk
        return wrows @ jnp.exp(_gauss_log_kernel(rows, b, cov)) @ wb
    return jnp.sum(jax.lax.map(one, (_chunks(a, 0.0), _chunks(wa, 0.0))))


def kde_logpdf(points, params: KDEParams):
    """log p̂(points) [n] of a fitted KDE (chunked over the points)."""
    logw = jnp.log(jnp.clip(params.weights, 1e-300))
    logw = jnp.where(params.weights > 0, logw, -jnp.inf)

    def one(rows):
        return logsumexp(_gauss_log_kernel(rows, params.centres, params.bw) + logw, axis=1)
    return jax.lax.map(one, _chunks(points, 0.0)).reshape(-1)[: points.shape[0]]


def sliced_w2(key, a, b, projections: int):
    """Sliced W₂² between two equal-size point clouds: mean over random unit directions θ of the 1-D W₂²
    of the projections (sorted-sample matching)."""
    theta = jax.random.normal(key, (projections, a.shape[1]))
    theta = theta / jnp.linalg.norm(theta, axis=1, keepdims=True)
    pa, pb = jnp.sort(a @ theta.T, axis=0), jnp.sort(b @ theta.T, axis=0)
    return jnp.mean((pa - pb) ** 2)
