"""Categorical (next-token) refitting loops: the discrete picture of model collapse (docs/categorical.md).

Truth: a distribution p over V symbols — ``uniform``, ``zipf`` (p_i ∝ i^(−β), i = 1..V) or ``dirichlet``
(p ~ Dirichlet(a, …, a), drawn once per replicate). Each generation fits the (weighted) MLE
p̂_v = Σ_s w_s 1[x_s = v] / Σ_s w_s. Generation 1 fits T real samples; the next generation's synthetic
samples come from the *sampling distribution* q = top-p(top-k(temperature(p̂))) (each knob an exact map on
the vector, applied in that order, like a language model's sampler), optionally contaminated with the truth:
with ``source_alpha`` = α each sample is a fresh real one with probability α, i.e. it is drawn from
αp + (1 − α)q (the contaminated-fresh source of Bakshi & Chakraborty 2026, arXiv 2602.10531).

Representation (exact in law, O(V) per block instead of O(M)): a block of m samples is stored as its
symbol *counts* [V] — a multinomial draw, which is all the MLE reads. Counts are kept in float (the
policies take the weights' dtype from a block's first leaf, and integer weights would be wrong). The
block's first leaf, ``rows``, is a zero-width float array [m, 0]: it costs no memory but gives the policies
the sample axis, so per-sample weights have the right shape and every policy keeps its sample-level meaning:
replace, accumulate and mix (weight 1 per sample), fresh (w/T per real and (1 − w)/M per synthetic
sample), and accumulate-subsample, whose random subset of rows is turned into counts by giving row j of a
block the j-th symbol in sorted order — rows are exchangeable, so a uniformly random subset of them has
exactly the multivariate hypergeometric law of subsampling the block's samples. Edit mode (row-aligned
label editing) has no meaning for symbol counts and is not supported.

Multinomial draws: m uniforms mapped through the inverse CDF and counted with a scatter-add — exact, fully
parallel; the inverse CDF is found through a guide table over the positive symbols (``collapse.counts.
multinomial_counts``: a few fused comparisons per uniform instead of a log₂V binary search; ``jax.random.
multinomial`` is a sequential scan of V binomial draws, and ``jax.random.binomial`` trees of splits measured
≈ 15× slower than the inverse CDF on CPU).

Metrics (per generation, of the fitted p̂ unless said): ``l2_err`` ‖p̂ − p‖², ``l2_norm`` ‖p̂‖², ``tv``
½Σ|p̂ − p|, ``kl`` KL(p ‖ p̃) with p̃ = (1 − ε)p̂ + ε/V (additive smoothing toward uniform, ε = ``kl_eps``,
so that a lost symbol costs a finite log(V/ε)), ``support`` #{v: p̂_v > 0}, ``missing_mass`` Σ_v p_v·1[q_v = 0]
(true mass of the symbols the model no longer produces — its sampler, knobs included), ``entropy`` H(p̂) in
nats, ``samples`` (samples with positive weight in the fit).
"""

from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp
import numpy as np

from collapse.counts import (
    CategoricalData,
    block,
    is_int,
    is_real,
    multinomial_counts,
    positive_samples,
    sampling_map,
    weighted_counts,
    zipf_probs,
)
from collapse.errors import require
from collapse.families.base import RealSynthSizes
from collapse.validate import check_fields

Truth = Literal["uniform", "zipf", "dirichlet"]
TRUTHS = get_args(Truth)


class CategoricalParams(NamedTuple):
    p_hat: jax.Array  # [V], the fitted MLE
    samples: jax.Array  # samples with positive weight in the fit


class CategoricalWorld(NamedTuple):
    p: jax.Array  # [V], the truth
    real_counts: jax.Array  # [V], the real block generation 1 trains on


@dataclass(frozen=True)
class Categorical(RealSynthSizes):
    """Model family: refit a categorical distribution each generation (see the module docstring).

    V: symbols; T: real samples; M: synthetic samples per generation (default T); truth: uniform | zipf |
    dirichlet; beta: Zipf exponent; a: Dirichlet concentration; temperature, top_k (None = off), top_p
    (1 = off): the sampler's knobs; source_alpha: probability that a generated sample is fresh real data;
    kl_eps: smoothing ε of the KL metric.
    """

    main_metric: ClassVar[str] = "missing_mass"  # the metric figures and verdicts use

    V: int = 100
    T: int = 100
    M: int | None = None
    truth: Truth = "zipf"
    beta: float = 1.2
    a: float = 1.0
    temperature: float = 1.0
    top_k: int | None = None
    top_p: float = 1.0
    source_alpha: float = 0.0
    kl_eps: float = 1e-6
    name: str = "categorical"

    def __post_init__(self):
        check_fields(self)
        require(is_int(self.V) and self.V >= 2, "V", self.V, "an integer >= 2")
        require(is_int(self.T) and self.T >= 1, "T", self.T, "an integer >= 1")
        require(self.M is None or (is_int(self.M) and self.M >= 1), "M", self.M, "an integer >= 1 (or unset: T)")
        require(self.truth in TRUTHS, "truth", self.truth, f"one of {TRUTHS}")
        require(is_real(self.beta) and self.beta > 0, "beta", self.beta, "a finite number > 0")
        require(is_real(self.a) and self.a > 0, "a", self.a, "a finite Dirichlet concentration > 0")
        require(is_real(self.temperature) and self.temperature > 0, "temperature", self.temperature,
                "a finite number > 0")
        require(self.top_k is None or (is_int(self.top_k) and 1 <= self.top_k), "top_k", self.top_k,
                "an integer >= 1 (or unset: off)")
        require(is_real(self.top_p) and 0 < self.top_p <= 1, "top_p", self.top_p, "in (0, 1] (1 = off)")
        require(is_real(self.source_alpha) and 0 <= self.source_alpha <= 1, "source_alpha", self.source_alpha,
                "in [0, 1]")
        require(is_real(self.kl_eps) and 0 < self.kl_eps < 1, "kl_eps", self.kl_eps, "in (0, 1)")

    @property
    def plain_sampler(self) -> bool:
        """True when the sampler is p̂ itself (no temperature, top-k or top-p)."""
        return self.temperature == 1.0 and (self.top_k is None or self.top_k >= self.V) and self.top_p == 1.0

    def truth_probs(self, key=None):
        """The true p [V]: fixed for uniform / zipf (NumPy), a Dirichlet draw (JAX) otherwise."""
        if self.truth == "uniform":
            return np.full(self.V, 1.0 / self.V)
        if self.truth == "zipf":
            return zipf_probs(self.V, self.beta)
        return jax.random.dirichlet(key, jnp.full(self.V, float(self.a)))

    def expected_norm(self) -> float:
        """E‖p‖² over the truth's law (exact: (a + 1)/(Va + 1) for a symmetric Dirichlet)."""
        if self.truth == "dirichlet":
            return (self.a + 1) / (self.V * self.a + 1)
        return float(np.sum(self.truth_probs() ** 2))

    def sampler(self, p_hat):
        return sampling_map(p_hat, self.temperature, self.top_k, self.top_p)

    # -- data ------------------------------------------------------------------------------
    def setup(self, key, synth_size: int) -> CategoricalWorld:
        k_truth, k_real = jax.random.split(key)
        # the barrier stops XLA from constant-folding V-long scans of a fixed truth at compile time (seconds)
        p = jax.lax.optimization_barrier(jnp.asarray(self.truth_probs(k_truth), dtype=jnp.result_type(float)))
        return CategoricalWorld(p, multinomial_counts(k_real, p, self.T))

    def initial_real(self, world: CategoricalWorld) -> CategoricalData:
        return block(world.real_counts, self.T)

    def sample_real(self, key, world: CategoricalWorld) -> CategoricalData:
        return block(multinomial_counts(key, world.p, self.T), self.T)

    def generate(self, key, world: CategoricalWorld, params: CategoricalParams, size: int) -> CategoricalData:
        source = self.sampler(params.p_hat)
        if self.source_alpha > 0:
            source = self.source_alpha * world.p + (1 - self.source_alpha) * source
        return block(multinomial_counts(key, source, size), size)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: CategoricalWorld, segments) -> CategoricalParams:
        wc = weighted_counts(segments)
        return CategoricalParams(wc / jnp.sum(wc), positive_samples(segments))

    # -- scoring ---------------------------------------------------------------------------
    def score(self, key, world: CategoricalWorld, params: CategoricalParams):
        del key
        p, ph = world.p, params.p_hat
        smooth = (1 - self.kl_eps) * ph + self.kl_eps / self.V
        log_p = jnp.log(jnp.where(p > 0, p, 1.0))  # p log p = 0 where p = 0
        kept = ph > 0
        log_ph = jnp.log(jnp.where(kept, ph, 1.0))
        lost = (self.sampler(ph) <= 0).astype(p.dtype)
        d = ph - p
        # every sum over V as a dot product: XLA on CPU compiles these far better than seven masked reductions
        return {
            "l2_err": d @ d,
            "l2_norm": ph @ ph,
            "tv": 0.5 * jnp.sum(jnp.abs(d)),
            "kl": p @ (log_p - jnp.log(smooth)),
            "support": jnp.sum(kept.astype(p.dtype)),
            "missing_mass": p @ lost,
            "entropy": -(ph @ log_ph),
            "samples": jnp.asarray(params.samples, p.dtype),
        }
