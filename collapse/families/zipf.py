"""Tale-of-tails memorisation loops (Dohmatob, Feng, Yang, Charton & Kempe 2024, arXiv 2402.07043;
docs/categorical.md §7).

Items i = 1..V with p_i ∝ i^(−β); every item has one deterministic correct label. The learner memorises:
it answers item i correctly iff its training set holds item i with the correct label and never with a wrong
one; unseen items are answered wrongly. Generation 1 trains on T real (correctly labelled) samples.
Generation n ≥ 2 trains on T0 samples whose inputs come from the source s = πp + (1 − π)q, where a real
sample (probability π = ``real_fraction``) carries its correct label and a synthetic one is drawn from
q ∝ p_i^(1/τ)·1[i ≤ k] (temperature τ, tail cut at rank k = ``tail_cut``) and labelled by

* ``labeler="model"``: model n − 1 (wrong wherever model n − 1 is wrong — errors are inherited), or
* ``labeler="truth"``: the correct label (the idealised tail-cut / tempered generator of the paper's
  tail-cutting and tail-narrowing sections).

Blocks store counts (exact in law, as in collapse.families.categorical): ``counts`` [2V] = samples with the
correct label per item, then samples with a wrong label per item, in float; ``rows`` [m, 0] carries the
sample axis for the policies. Metrics: ``error`` = Σ_i p_i·1[item i answered wrongly], exactly (a sum over
items, not a test sample); ``known`` = items answered correctly; ``known_mass`` = 1 − error.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp

from collapse.counts import (
    CategoricalData,
    block,
    is_int,
    is_real,
    multinomial_counts,
    weighted_counts,
    zipf_probs,
)
from collapse.errors import require
from collapse.validate import check_fields

Labeler = Literal["model", "truth"]
LABELERS = get_args(Labeler)


class ZipfParams(NamedTuple):
    known: jax.Array  # [V] 1.0 where the model answers the item correctly


class ZipfWorld(NamedTuple):
    p: jax.Array  # [V]
    q: jax.Array  # [V], the synthetic generator's input distribution (tail cut, temperature)
    real_counts: jax.Array  # [2V], the real block generation 1 trains on


@dataclass(frozen=True)
class ZipfMemorise:
    """Model family: a memorising learner on Zipf-distributed items (see the module docstring).

    V: items; beta: Zipf exponent β; T: real samples (generation 1); T0: samples per later generation
    (default T); labeler: model | truth; tail_cut: synthetic inputs only from ranks ≤ k (None = off);
    real_fraction: π, the share of real samples in generations ≥ 2; temperature: τ of the synthetic inputs.
    """

    main_metric: ClassVar[str] = "error"  # the metric figures and verdicts use

    V: int = 10_000
    beta: float = 1.5
    T: int = 1000
    T0: int | None = None
    labeler: Labeler = "model"
    tail_cut: int | None = None
    real_fraction: float = 0.0
    temperature: float = 1.0
    name: str = "zipf"

    def __post_init__(self):
        check_fields(self)
        require(is_int(self.V) and self.V >= 2, "V", self.V, "an integer >= 2")
        require(is_real(self.beta) and self.beta > 0, "beta", self.beta, "a finite number > 0")
        require(is_int(self.T) and self.T >= 1, "T", self.T, "an integer >= 1")
        require(self.T0 is None or (is_int(self.T0) and self.T0 >= 1), "T0", self.T0, "an integer >= 1 (or unset)")
        require(self.labeler in LABELERS, "labeler", self.labeler, f"one of {LABELERS}")
        require(self.tail_cut is None or (is_int(self.tail_cut) and 1 <= self.tail_cut), "tail_cut",
                self.tail_cut, "an integer rank >= 1 (or unset: no cut)")
        require(is_real(self.real_fraction) and 0 <= self.real_fraction <= 1, "real_fraction", self.real_fraction,
                "in [0, 1]")
        require(is_real(self.temperature) and self.temperature > 0, "temperature", self.temperature,
                "a finite number > 0")

    @property
    def real_size(self) -> int:
        return self.T

    @property
    def synth_size(self) -> int:
        return self.T if self.T0 is None else self.T0

    def probs(self):
        """(p, q) as NumPy float64 vectors: the truth and the synthetic generator's input distribution."""
        p = zipf_probs(self.V, self.beta)
        q = p ** (1 / self.temperature)
        if self.tail_cut is not None:
            q[self.tail_cut:] = 0.0
        return p, q / q.sum()

    # -- data ------------------------------------------------------------------------------
    def setup(self, key, synth_size: int) -> ZipfWorld:
        # the barrier stops XLA from constant-folding V-long scans of the fixed laws at compile time (seconds)
        p, q = jax.lax.optimization_barrier(tuple(jnp.asarray(v, jnp.result_type(float)) for v in self.probs()))
        right = multinomial_counts(key, p, self.T)
        return ZipfWorld(p, q, jnp.concatenate([right, jnp.zeros_like(right)]))

    def initial_real(self, world: ZipfWorld) -> CategoricalData:
        return block(world.real_counts, self.T)

    def sample_real(self, key, world: ZipfWorld) -> CategoricalData:
        right = multinomial_counts(key, world.p, self.T)
        return block(jnp.concatenate([right, jnp.zeros_like(right)]), self.T)

    def generate(self, key, world: ZipfWorld, params: ZipfParams, size: int) -> CategoricalData:
        pi = self.real_fraction
        both = multinomial_counts(key, jnp.concatenate([pi * world.p, (1 - pi) * world.q]), size)
        real, synth = both[: self.V], both[self.V:]
        correct = params.known if self.labeler == "model" else jnp.ones_like(params.known)
        return block(jnp.concatenate([real + synth * correct, synth * (1 - correct)]), size)

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, world: ZipfWorld, segments) -> ZipfParams:
        wc = weighted_counts(segments)
        right, wrong = wc[: self.V], wc[self.V:]
        return ZipfParams(((right > 0) & (wrong == 0)).astype(world.p.dtype))

    def score(self, key, world: ZipfWorld, params: ZipfParams):
        del key
        error = jnp.sum(world.p * (1 - params.known))
        return {"error": error, "known": jnp.sum(params.known), "known_mass": 1 - error}
