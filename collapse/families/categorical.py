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

import math
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
from collapse.selectors import SelectionView
from collapse.validate import check_fields

Truth = Literal["uniform", "zipf", "dirichlet"]
TRUTHS = get_args(Truth)
RewardKind = Literal["rank", "random"]
REWARDS = get_args(RewardKind)


class CategoricalParams(NamedTuple):
    p_hat: jax.Array  # [V], the fitted MLE
    samples: jax.Array  # samples with positive weight in the fit


class CategoricalWorld(NamedTuple):
    p: jax.Array  # [V], the truth
    real_counts: jax.Array  # [V], the real block generation 1 trains on


class CategoricalVerifier(NamedTuple):
    reward: jax.Array  # [V] r
    correct: jax.Array  # [V] bool, the "correct" subset


class SymbolRows(NamedTuple):
    symbols: jax.Array  # [m] int, one sample per row


@dataclass(frozen=True)
class Categorical(RealSynthSizes):
    """Model family: refit a categorical distribution each generation (see the module docstring).

    V: symbols; T: real samples; M: synthetic samples per generation (default T); truth: uniform | zipf |
    dirichlet; beta: Zipf exponent; a: Dirichlet concentration; temperature, top_k (None = off), top_p
    (1 = off): the sampler's knobs; source_alpha: probability that a generated sample is fresh real data;
    kl_eps: smoothing ε of the KL metric. Selection (collapse/selectors.py, docs/feedback.md §5): reward:
    the reward r over symbols — ``rank``: r_v = −(v − 1)/(V − 1) (favours the low ranks, Zipf's head),
    ``random``: r_v iid N(0, 1) drawn once from ``reward_seed`` (the same for every replicate); correct_frac:
    the "correct" subset is the ⌈correct_frac·V⌉ symbols of highest reward (ties: lower index first).
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
    # selection (appended; docs/feedback.md §5): the reward over symbols and the "correct" subset
    reward: RewardKind = "rank"
    reward_seed: int = 0
    correct_frac: float = 0.1

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
        require(self.reward in REWARDS, "reward", self.reward, f"one of {REWARDS}")
        require(is_int(self.reward_seed) and self.reward_seed >= 0, "reward_seed", self.reward_seed,
                "an integer >= 0")
        require(is_real(self.correct_frac) and 0 < self.correct_frac <= 1, "correct_frac", self.correct_frac,
                "in (0, 1]")

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
            "reward_mean": jnp.sum(ph * jnp.asarray(self.reward_vector(), p.dtype)),  # E_p̂ r (selection)
            "correct_mass": jnp.sum(jnp.where(jnp.asarray(self.correct_set()), ph, 0.0)),  # p̂ on the subset
        }

    # -- selection (collapse/selectors.py; docs/feedback.md §5) -------------------------------------
    selection_fields = ("error", "deviation")
    default_tau = 0.5  # error is 0 (correct symbol) or 1

    def reward_vector(self) -> np.ndarray:
        """r [V] (NumPy, fixed by the config): rank r_v = −(v − 1)/(V − 1), or random r_v iid N(0, 1)."""
        if self.reward == "rank":
            return -np.arange(self.V, dtype=float) / (self.V - 1)
        return np.random.default_rng(self.reward_seed).standard_normal(self.V)

    def correct_set(self) -> np.ndarray:
        """bool [V]: the ⌈correct_frac·V⌉ symbols of highest reward (ties: lower index first)."""
        n = min(self.V, math.ceil(self.correct_frac * self.V - 1e-9))
        order = np.argsort(-self.reward_vector(), kind="stable")
        out = np.zeros(self.V, bool)
        out[order[:n]] = True
        return out

    def verifier_setup(self, key, world: CategoricalWorld, offset: float) -> CategoricalVerifier:
        """The reward vector and the correct subset (fixed by the config; ``offset`` has no meaning here)."""
        del key, offset
        dtype = world.p.dtype
        return CategoricalVerifier(jnp.asarray(self.reward_vector(), dtype), jnp.asarray(self.correct_set()))

    def selection_view(self, world: CategoricalWorld, verifier: CategoricalVerifier, block, real: bool):
        """Per sample (row j of a count block = its j-th symbol in sorted order, as the policies read it; an
        explicit ``SymbolRows`` block names its symbols): error = 0 for a correct symbol, 1 otherwise;
        deviation = √(2(max r − r(x))), so the curate selector's −½γ·deviation² = γ(r(x) − max r)."""
        del world, real
        sym = block.symbols if isinstance(block, SymbolRows) else row_symbols(block)
        r = verifier.reward
        return SelectionView(error=jnp.where(verifier.correct[sym], 0.0, 1.0).astype(r.dtype),
                             deviation=jnp.sqrt(jnp.maximum(2.0 * (jnp.max(r) - r[sym]), 0.0)))

    def tilted_source(self, world: CategoricalWorld, verifier: CategoricalVerifier, params, gamma):
        """The sampling distribution tilted by e^{γr} (K → ∞ curation, Ferbach et al. 2024, arXiv 2407.09499)."""
        source = self.sampler(params.p_hat)
        if self.source_alpha > 0:
            source = self.source_alpha * world.p + (1 - self.source_alpha) * source
        logw = jnp.where(source > 0, jnp.log(jnp.where(source > 0, source, 1.0)) + gamma * verifier.reward, -jnp.inf)
        return jax.nn.softmax(logw)

    def generate_tilted(self, key, world: CategoricalWorld, verifier: CategoricalVerifier, params, size: int,
                        gamma):
        """A block drawn exactly from the tilted source q·e^{γr}/Z (the tilt *is* the selection)."""
        return block(multinomial_counts(key, self.tilted_source(world, verifier, params, gamma), size), size)

    def as_rows(self, key, data: CategoricalData) -> SymbolRows:
        """The block's samples as explicit symbols in uniformly random order — exactly an iid sequence from
        the block's source (a multinomial count vector, expanded and uniformly permuted). A chooser
        (best-of-k, curate) pairs row j of its K candidate blocks, which needs independent rows: the
        sorted-order rows of count blocks would pair equal quantiles."""
        return SymbolRows(jax.random.permutation(key, row_symbols(data)))

    def from_rows(self, rows: SymbolRows) -> CategoricalData:
        """A count block from explicit symbols."""
        m = rows.symbols.shape[0]
        counts = jnp.zeros(self.V, jnp.result_type(float)).at[rows.symbols].add(1.0)
        return block(counts, m)


def row_symbols(data: CategoricalData):
    """int [m]: row j's symbol = the j-th sample in sorted symbol order (the convention of collapse/counts.py)."""
    m = data.rows.shape[0]
    sym = jnp.searchsorted(jnp.cumsum(data.counts), jnp.arange(m, dtype=data.counts.dtype), side="right")
    return jnp.minimum(sym, data.counts.shape[0] - 1)
