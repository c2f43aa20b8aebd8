"""Data policies: what generation n trains on (docs/papers/README.md, loop vocabulary).

A policy keeps a *pool* (a pytree carried through the generation scan) and turns it into a tuple of
weighted :class:`Segment` s. Pools have static shapes so the loop compiles once; accumulation uses a
buffer with one slot per generation and a fill mask.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import jax
import jax.numpy as jnp

from collapse.config import MODES, LoopConfig
from collapse.errors import ConfigError, require
from collapse.families.base import Segment
from collapse.selectors import Kept


class StepContext(NamedTuple):
    """What a policy may use when it takes in generation n − 1's synthetic block.

    key: a fresh key for this step. confidence: block -> [m] scores of how well the generating model
    (model n − 1) fits each sample of a block, higher = better (None if the family has no such score).
    edit: (key, block) -> (edited block, eligible, changed) — model n − 1 as a token-editing prior over a
    block (None if the family has no edit operator).
    """

    key: Any
    confidence: Callable | None
    edit: Callable | None = None
    design: Any = None  # () -> the fixed design X [T, d] of a regression family (design-dependent masks), or None


def weight_dtype(block):
    """Weights are always floating point: the dtype of the block's first floating leaf (so a float32 block keeps
    float32 weights), else the default float — never an integer dtype, which would round fractional weights to 0."""
    leaves = jax.tree_util.tree_leaves(block)
    floating = [a.dtype for a in leaves if jnp.issubdtype(a.dtype, jnp.floating)]
    return floating[0] if floating else jnp.result_type(float)


def _ones_like_block(block, value=1.0):
    leaf = jax.tree_util.tree_leaves(block)[0]
    return jnp.full(leaf.shape[:1], value, dtype=weight_dtype(block))


def _stack_slots(block, slots):
    return jax.tree_util.tree_map(lambda a: jnp.zeros((slots,) + a.shape, a.dtype), block)


def _write_slot(buffer, block, slot):
    return jax.tree_util.tree_map(lambda b, a: b.at[slot].set(a), buffer, block)


@dataclass(frozen=True)
class Replace:
    """Generation n trains only on the synthetic data of generation n − 1."""

    fresh_real = False

    def synth_size(self, family):
        return family.synth_size

    def init_pool(self, real, synth, generations):
        return synth

    def push(self, pool, synth, n, ctx):
        return synth

    def training_set(self, key, pool, real, n):
        return (Segment(pool, _ones_like_block(pool), real=False, uniform=True),)


@dataclass(frozen=True)
class Accumulate:
    """Generation n trains on the real data and every synthetic block so far."""

    fresh_real = False

    def synth_size(self, family):
        return family.synth_size

    def init_pool(self, real, synth, generations):
        slots = max(generations - 1, 1)
        return {"real": real, "synth": _stack_slots(synth, slots), "filled": jnp.zeros(slots, bool)}

    def push(self, pool, synth, n, ctx):
        slot = n - 2  # generation 2 holds the first synthetic block
        return {"real": pool["real"], "synth": _write_slot(pool["synth"], synth, slot),
                "filled": pool["filled"].at[slot].set(True)}

    def training_set(self, key, pool, real, n):
        real_w = _ones_like_block(pool["real"])
        slots_by_size = jax.tree_util.tree_leaves(pool["synth"])[0].shape[:2]
        synth_w = jnp.broadcast_to(pool["filled"][:, None], slots_by_size).astype(real_w.dtype)
        return (Segment(pool["real"], real_w, real=True, uniform=True),
                Segment(pool["synth"], synth_w, real=False, uniform=True))


def _present(segment):
    """Samples a subsample may draw: positive weight, and kept by the selector when the engine attached keep
    weights to the block (collapse.engine.Kept), so the budget is drawn from kept samples only."""
    if isinstance(segment.data, Kept):
        return (segment.weight > 0) & (segment.data.keep > 0)
    return segment.weight > 0


@dataclass(frozen=True)
class AccumulateSubsample(Accumulate):
    """Accumulate, but train on ``budget`` samples drawn without replacement from the whole pool."""

    budget: int = 0

    def training_set(self, key, pool, real, n):
        real_seg, synth_seg = super().training_set(key, pool, real, n)
        valid = jnp.concatenate([_present(real_seg).reshape(-1), _present(synth_seg).reshape(-1)])
        priority = jnp.where(valid, jax.random.uniform(key, valid.shape), -1.0)
        k = min(self.budget, valid.shape[0])
        _, chosen = jax.lax.top_k(priority, k)
        picked = jnp.zeros(valid.shape, bool).at[chosen].set(True) & valid
        picked = picked.astype(real_seg.weight.dtype)
        n_real = real_seg.weight.shape[0]
        return (real_seg._replace(weight=picked[:n_real], uniform=False),
                synth_seg._replace(weight=picked[n_real:].reshape(synth_seg.weight.shape), uniform=False))


@dataclass(frozen=True)
class Mix:
    """A fixed real set plus round(λ·T) synthetic samples from the previous generation."""

    mix_ratio: float = 1.0
    fresh_real = False

    def synth_size(self, family):
        m = round(self.mix_ratio * family.real_size)
        require(m >= 1, "mix_ratio", self.mix_ratio, f">= 1/(2T) so that round(λ·T) >= 1 (T={family.real_size})")
        return m

    def init_pool(self, real, synth, generations):
        return {"real": real, "synth": synth}

    def push(self, pool, synth, n, ctx):
        return {"real": pool["real"], "synth": synth}

    def training_set(self, key, pool, real, n):
        return (Segment(pool["real"], _ones_like_block(pool["real"]), real=True, uniform=True),
                Segment(pool["synth"], _ones_like_block(pool["synth"]), real=False, uniform=True))


@dataclass(frozen=True)
class Fresh:
    """A new real sample each generation (weight w) plus the previous generation's synthetic data (1 − w).

    Weights are normalised per block, so the fit minimises w·(mean real loss) + (1 − w)·(mean synthetic
    loss), as in the fresh-data loop of Alemohammad et al. (2023).
    """

    real_weight: float = 0.5
    fresh_real = True

    def synth_size(self, family):
        return family.synth_size

    def init_pool(self, real, synth, generations):
        return synth

    def push(self, pool, synth, n, ctx):
        return synth

    def training_set(self, key, pool, real, n):
        n_real = _ones_like_block(real).shape[0]
        n_synth = _ones_like_block(pool).shape[0]
        return (Segment(real, _ones_like_block(real, self.real_weight / n_real), real=True, uniform=True),
                Segment(pool, _ones_like_block(pool, (1 - self.real_weight) / n_synth), real=False,
                        uniform=True))


def _ranks(scores):
    """Rank of each entry in decreasing order of score (0 = largest)."""
    return jnp.argsort(jnp.argsort(-scores))


def _where_rows(mask, new, old):
    def pick(a, b):
        return jnp.where(mask.reshape(mask.shape + (1,) * (a.ndim - 1)), a, b)
    return jax.tree_util.tree_map(pick, new, old)


@dataclass(frozen=True)
class Edit:
    """Token-editing analogue (Zhu et al. 2025, Eq. 3): Ỹ_n = M_{n−1}Ŷ_n + (I − M_{n−1})Ỹ_{n−1}.

    The pool is the current training block (real at generation 1); each generation replaces the
    masked rows with rows of the synthetic block, which must align with the real block (same size; the
    same fixed design in the linear family). See LoopConfig for the schedules. Records
    ``edit_fraction`` (|M_{n−1}|/T) and ``edited_ever`` (fraction of rows edited at least once).

    Schedule "tokens" (text): the mask is token-level and chosen by the family's edit rule (ctx.edit);
    ``edit_fraction`` is then the changed fraction of tokens, plus ``eligible_fraction``, and the overlap of
    this generation's masks with the previous ones (``eligible_overlap`` = |E_n ∩ E_{n−1}|/|E_n|,
    ``changed_overlap`` = |C_n ∩ ∪_{m<n} C_m|/|C_n|; disjoint masks give 0, i.i.d. masks the previous
    mask's / the ever-edited fraction, ``edited_ever`` here).
    """

    schedule: str = "disjoint"
    fraction: float = 0.1
    eta: float = 1.0
    masks: tuple | None = None
    fresh_real = False

    def synth_size(self, family):
        require(family.synth_size == family.real_size, "M", family.synth_size,
                f"equal to T = {family.real_size} in edit mode (edited labels replace real ones row by row)")
        return family.real_size

    @property
    def uses_synth(self):
        return self.schedule != "tokens"

    def init_pool(self, real, synth, generations):
        if self.schedule == "tokens":
            none = jnp.zeros(real.shape, bool)
            return {"block": real, "edited": none, "mask": none, "eligible": none,
                    "eligible_overlap": jnp.zeros((), jnp.float32), "changed_overlap": jnp.zeros((), jnp.float32)}
        none = jnp.zeros(_ones_like_block(real).shape[0], bool)
        return {"block": real, "edited": none, "mask": none}

    def _push_tokens(self, pool, n, ctx):
        require(ctx.edit is not None, "edit_schedule", self.schedule,
                "used with a family that defines edit(key, world, params, block) (e.g. transformer)")
        block, eligible, changed = ctx.edit(ctx.key, pool["block"])

        def share(a, b):
            return (jnp.sum(a & b) / jnp.maximum(jnp.sum(a), 1)).astype(jnp.float32)

        return {"block": block, "edited": pool["edited"] | changed, "mask": changed, "eligible": eligible,
                "eligible_overlap": share(eligible, pool["eligible"]),
                "changed_overlap": share(changed, pool["edited"])}

    def _mask(self, pool, n, ctx):
        T = pool["edited"].shape[0]
        if self.schedule == "iid":
            return jax.random.uniform(ctx.key, (T,)) < self.fraction
        if self.schedule == "explicit":
            return jnp.asarray(self.masks, bool)[n - 2]
        if self.schedule == "confidence":
            require(ctx.confidence is not None, "edit_schedule", self.schedule,
                    "used with a family that defines confidence(world, params, block)")
            return _ranks(ctx.confidence(pool["block"])) < round(self.fraction * T)
        # disjoint / geometric / leverage / adversarial: the `size` never-edited rows of highest priority
        size = jnp.round(self.fraction * T * self.eta ** (n - 2)) if self.schedule == "geometric" \
            else round(self.fraction * T)
        if self.schedule in ("leverage", "adversarial"):
            require(ctx.design is not None, "edit_schedule", self.schedule,
                    "used with a family on one fixed design that exposes it (linear, design=fixed)")
            score = _design_priority(ctx.design(), self.schedule)
        else:
            score = jax.random.uniform(ctx.key, (T,))
        priority = jnp.where(pool["edited"], -jnp.inf, score)
        return (_ranks(priority) < size) & ~pool["edited"]

    def push(self, pool, synth, n, ctx):
        if self.schedule == "tokens":
            return self._push_tokens(pool, n, ctx)
        mask = self._mask(pool, n, ctx)
        return {"block": _where_rows(mask, synth, pool["block"]), "edited": pool["edited"] | mask, "mask": mask}

    def training_set(self, key, pool, real, n):
        return (Segment(pool["block"], _ones_like_block(pool["block"]), real=True, uniform=True),)

    def metrics(self, pool):
        out = {"edit_fraction": jnp.mean(pool["mask"]), "edited_ever": jnp.mean(pool["edited"])}
        if self.schedule == "tokens":  # fractions of the editable tokens (a window's first token is kept)
            scored = pool["mask"][..., 1:].size
            out = {"edit_fraction": jnp.sum(pool["mask"]) / scored, "edited_ever": jnp.sum(pool["edited"]) / scored,
                   "eligible_fraction": jnp.sum(pool["eligible"]) / scored,
                   "eligible_overlap": pool["eligible_overlap"], "changed_overlap": pool["changed_overlap"]}
        return out


def _design_priority(X, schedule):
    """Noise-independent edit priorities from the design: leverage hᵢ = xᵢᵀ(XᵀX)⁻¹xᵢ, or (adversarial) the
    squared component (uᵀxᵢ)² along the eigenvector u of XᵀX with the smallest eigenvalue (docs/toedit.md §2b)."""
    gram = X.T @ X
    if schedule == "leverage":
        return jnp.sum(X * jnp.linalg.solve(gram, X.T).T, axis=1)
    _, vecs = jnp.linalg.eigh(gram)
    return (X @ vecs[:, 0]) ** 2


class Policy(Protocol):
    """What the engine asks of a data policy (see the module docstring). A policy is a frozen dataclass;
    ``fresh_real``: whether ``training_set`` receives a new real block each generation. Optional: ``metrics(pool)
    -> dict`` of per-generation scalars, and ``uses_synth`` (False: the engine skips sampling a synthetic block)."""

    fresh_real: bool

    def synth_size(self, family) -> int:
        """Synthetic samples the family must generate per generation."""

    def init_pool(self, real, synth, generations: int):
        """The pool before generation 2 (``synth`` is a zero block with the generated block's shape)."""

    def push(self, pool, synth, n: int, ctx: StepContext):
        """Take in generation n − 1's synthetic block; returns the new pool."""

    def training_set(self, key, pool, real, n: int) -> tuple[Segment, ...]:
        """Generation n's weighted training set."""


def _builtin(cfg: LoopConfig, family):
    if cfg.mode == "replace":
        return Replace()
    if cfg.mode == "accumulate":
        return Accumulate()
    if cfg.mode == "accumulate-subsample":
        pool = family.real_size + (cfg.generations - 1) * family.synth_size
        require(cfg.budget is None or cfg.budget <= pool, "budget", cfg.budget,
                f"at most the final pool size T + (G−1)·M = {pool} (a larger budget is not a subsample)")
        return AccumulateSubsample(budget=cfg.budget or family.real_size)
    if cfg.mode == "mix":
        return Mix(mix_ratio=cfg.mix_ratio)
    if cfg.mode == "edit":
        T = family.real_size
        if cfg.edit_masks is not None:
            lengths = sorted({len(r) for r in cfg.edit_masks})
            require(lengths == [T], "edit_masks", f"rows of length {lengths}", f"rows of length T = {T}")
        return Edit(cfg.edit_schedule, cfg.edit_fraction, cfg.edit_eta, cfg.edit_masks)
    return Fresh(real_weight=cfg.real_weight)


_REGISTRY: dict[str, Callable] = {mode: _builtin for mode in MODES}


def register_policy(name: str, factory: Callable) -> None:
    """Make ``LoopConfig(mode=name)`` run ``factory(cfg, family) -> Policy``: a data policy from outside the package.
    Re-registering a name replaces it; the built-in modes cannot be replaced."""
    require(isinstance(name, str) and name and name not in MODES, "name", name,
            f"a new mode name (not one of the built-in {', '.join(MODES)})")
    require(callable(factory), "factory", factory, "a callable (cfg, family) -> Policy")
    _REGISTRY[name] = factory


def policy_names() -> tuple[str, ...]:
    """Every mode LoopConfig accepts: the built-in ones, then the registered ones."""
    return tuple(_REGISTRY)


def make_policy(cfg: LoopConfig, family) -> Policy:
    """The policy object for ``cfg.mode`` (a built-in mode or one added with :func:`register_policy`)."""
    factory = _REGISTRY.get(cfg.mode)
    if factory is None:
        raise ConfigError("mode", cfg.mode, f"one of {', '.join(_REGISTRY)}")
    return factory(cfg, family)
