"""What a model family supplies to the engine.

A family is a frozen dataclass with per-replicate pure methods; the engine vmaps them over replicates
and scans them over generations. Data are pytrees whose leaves share a leading sample axis (a
*block*); a policy may stack blocks along extra leading axes.
"""

import dataclasses
from typing import Any, ClassVar, NamedTuple, Protocol, runtime_checkable

from collapse.errors import ConfigError

Array = Any
Data = Any  # pytree of arrays with leading sample axis
World = Any  # per-replicate constants: ground truth, fixed designs, precomputed solvers
Params = Any


class Segment(NamedTuple):
    """A piece of a training set.

    data: a block, or a stack of blocks with leading axes [K, m].
    weight: per-sample weights with the same leading axes as ``data`` (0 = absent).
    real: True for human/real data, False for synthetic (a Python bool, static under jit).
    uniform: True if the weights are constant along the sample axis (they may vary across stacked
        blocks); families may use this to reuse a factorization (static).
    """

    data: Data
    weight: Array
    real: bool
    uniform: bool


class Family(Protocol):
    """Fit / generate / score, all per replicate and pure.

    ``real_size`` is the number of real samples per block; ``synth_size`` the default number of
    synthetic samples a generation produces (a policy may ask for another number).
    """

    name: str
    main_metric: ClassVar[str]  # the metric figures, reports and verdicts use by default
    real_size: int
    synth_size: int

    def setup(self, key, synth_size: int) -> World:
        """Ground truth and everything fixed for one replicate (e.g. a fixed design)."""

    def sample_real(self, key, world: World) -> Data:
        """A fresh block of ``real_size`` real samples."""

    def initial_real(self, world: World) -> Data:
        """The real block generation 1 trains on (drawn in ``setup``)."""

    def fit(self, world: World, segments: tuple[Segment, ...]) -> Params:
        """Train on a weighted training set."""

    def generate(self, key, world: World, params: Params, size: int) -> Data:
        """A block of ``size`` synthetic samples from a fitted model."""

    def score(self, key, world: World, params: Params) -> dict[str, Array]:
        """Scalar metrics of a fitted model against the truth."""


@runtime_checkable
class ConfidenceFamily(Protocol):
    """Optional capability: how well the generating model fits each sample of a block (higher = better); the
    "confidence" edit schedule needs it."""

    def confidence(self, world: World, params: Params, block: Data) -> Array:
        """[m] scores for the m samples of ``block``."""


@runtime_checkable
class EditFamily(Protocol):
    """Optional capability: the model as a token-editing prior over a block (the "tokens" edit schedule)."""

    def edit(self, key, world: World, params: Params, block: Data):
        """(edited block, eligible mask, changed mask)."""


@runtime_checkable
class DesignFamily(Protocol):
    """Optional capability: the fixed design X [T, d] of a regression family (the design-dependent "leverage" and
    "adversarial" edit schedules need it)."""

    def design_matrix(self, world: World) -> Array:
        """[T, d]."""


@runtime_checkable
class LoopResolvingFamily(Protocol):
    """Optional capability: settles loop-dependent choices before the program is built (e.g. the exact-in-law
    sampler's "auto", :class:`ExactInLawSampler`); the engine runs on what it returns."""

    def for_loop(self, cfg, selector=None):
        """This family, resolved for a loop config and selector."""


@runtime_checkable
class SelfSelectingFamily(Protocol):
    """Optional capability: the family applies a selector inside its own generate/fit (gmm-classify, whose
    verifier acts on the labels it generates) instead of the engine's select step."""

    def with_selector(self, cfg):
        """This family with the selector built in."""


@runtime_checkable
class WarmStartFamily(Protocol):
    """Optional capability: model n is fitted from its training set *and* model n − 1 (a warm start for an
    iterative fit, e.g. the mixture family's EM)."""

    def fit_from(self, world: World, segments: tuple[Segment, ...], previous: Params) -> Params:
        """Like ``fit``, starting from ``previous``."""


@runtime_checkable
class PaddedParamsFamily(Protocol):
    """Optional capability: parameters sized by the training set (a KDE's centres); generation 1's are padded to
    the shape of later fits so that the generation scan has one carry shape."""

    def pad_params(self, params: Params, like) -> Params:
        """``params`` padded to the shape/dtype structure ``like``."""


@runtime_checkable
class RowsFamily(Protocol):
    """Optional capability: blocks that are not row-aligned (counts) given as explicit i.i.d. rows, so that a
    chooser (best-of-k, K-choice curation) can pair row j of its candidates, and folded back."""

    def as_rows(self, key, data: Data):
        """The block's samples as rows."""

    def from_rows(self, rows) -> Data:
        """Rows back to a block."""


@runtime_checkable
class TiltFamily(Protocol):
    """Optional capability: exact sampling from the reward-tilted model (the K → ∞ limit of curation)."""

    def generate_tilted(self, key, world: World, centre, params: Params, size: int, gamma) -> Data:
        """A block from the model tilted by e^{γ·reward}."""


@runtime_checkable
class BlockedFamily(Protocol):
    """Optional capability: how many replicates the family runs best with per cache block (``Loop(block="auto")``,
    the default): its per-replicate state is then read from cache, not memory, in every generation."""

    def preferred_block(self) -> int | None:
        """Replicates per block (None: all at once)."""


class RealSynthSizes:
    """``real_size`` = T and ``synth_size`` = M (default T), for families with fields ``T`` and ``M``."""

    @property
    def real_size(self) -> int:
        return self.T

    @property
    def synth_size(self) -> int:
        return self.T if self.M is None else self.M


class ExactInLawSampler:
    """The ``sampler`` switch of a family with an exact-in-law fast path ("auto" | "stats" | "samples").

    The family defines ``_stats_unavailable(cfg, selector) -> str | None`` (why sufficient statistics cannot
    stand in for the samples under that loop, or None); the engine calls :meth:`for_loop` to resolve "auto"."""

    def for_loop(self, cfg, selector=None):
        """This family with ``sampler`` resolved for a loop config and selector ("auto" -> "stats" where it
        applies); forcing "stats" where it does not apply is a ConfigError naming the reason."""
        reason = self._stats_unavailable(cfg, selector)
        if self.sampler == "stats" and reason:
            raise ConfigError("sampler", self.sampler, reason)
        if self.sampler == "auto":
            return dataclasses.replace(self, sampler="samples" if reason else "stats")
        return self

    @property
    def _stats(self) -> bool:
        return self.sampler == "stats"
