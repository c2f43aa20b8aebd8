"""Data policies: what generation n trains on (papers.md §4).

A policy keeps a *pool* (a pytree carried through the generation scan) and turns it into a tuple of
weighted :class:`Segment` s. Pools have static shapes so the loop compiles once; accumulation uses a
buffer with one slot per generation and a fill mask.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from collapse.config import LoopConfig
from collapse.errors import require
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


def _ones_like_block(block, value=1.0):
    leaf = jax.tree_util.tree_leaves(block)[0]
    return jnp.full(leaf.shape[:1], value, dtype=leaf.dtype)


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
        # disjoint / geometric: the `size` never-edited rows with the highest random priority
        size = jnp.round(self.fraction * T * self.eta ** (n - 2)) if self.schedule == "geometric" \
            else round(self.fraction * T)
        priority = jnp.where(pool["edited"], -1.0, jax.random.uniform(ctx.key, (T,)))
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


def make_policy(cfg: LoopConfig, family):
    """The policy object for ``cfg.mode``."""
    if cfg.mode == "replace":
        return Replace()
    if cfg.mode == "accumulate":
        return Accumulate()
    if cfg.mode == "accumulate-subsample":
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
