"""The self-consuming loop, written once for every vectorizable family.

Per replicate: ``setup`` → fit generation 1 on real data → for n = 2..G (``lax.scan``): generate a
synthetic block from model n−1, push it into the policy's pool, form the training set, fit model n,
score it. An optional selector (collapse/selectors.py) filters each synthetic block between ``generate`` and
``push``; its keep weights travel with the block through the policy (``Kept``) and multiply the synthetic
Segment weights. Replicates are ``vmap`` ped and sharded over all devices. Every random draw is keyed by
(seed, replicate index, generation), so results do not depend on the device count or on how the
generations are chunked — which is what lets a run report progress and resume after an interruption.
"""

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec

from collapse.config import LoopConfig
from collapse.distributed import gather, put_global
from collapse.errors import require
from collapse.families.base import (
    BlockedFamily,
    ConfidenceFamily,
    DesignFamily,
    EditFamily,
    LoopResolvingFamily,
    PaddedParamsFamily,
    RowsFamily,
    Segment,
    SelfSelectingFamily,
    WarmStartFamily,
)
from collapse.policies import StepContext, make_policy, weight_dtype
from collapse.selectors import (
    Kept,
    SelectorConfig,
    check_support,
    make_selector,
    resolve,
    select_block,
    selection_metrics,
)
from collapse.sharding import cpu_pool_deadlock_risk, padded_count, replicate_sharding

TRAIN_SIZE = "train_size"


@dataclass
class LoopState:
    """Where a run stands after ``generation`` generations: host copies, first ``replicates`` rows only."""

    generation: int
    carry: object  # (params, pool) pytree of np.ndarray [R, ...], or its flat list of leaves
    metrics: dict  # name -> np.ndarray [generation, R]


def _replicate_keys(base_key, index):
    return jax.random.split(jax.random.fold_in(base_key, index))  # setup key, loop key


def _train_size(segments):
    return sum(jnp.sum(s.weight > 0) for s in segments)


def _unwrap(segments, fresh):
    """Segments over Kept blocks -> segments over the data with weight × keep. Under the fresh policy
    (per-block normalised weights) a synthetic block keeps its total weight, spread over the kept samples
    (the mean synthetic loss over kept samples); with nothing kept it weighs 0."""
    out = []
    for s in segments:
        w = s.weight * s.data.keep
        if fresh and not s.real:
            total, kept = jnp.sum(s.weight), jnp.sum(w)
            w = jnp.where(kept > 0, w * total / jnp.where(kept > 0, kept, 1.0), 0.0)
        out.append(Segment(s.data.data, w, s.real, uniform=False))
    return tuple(out)


class _Program:
    """The jitted functions of one (family, config without seed, devices); shared between Loops, so a
    seed sweep or a repeated config compiles once. The seed enters as a traced key."""

    def __init__(self, family, cfg: LoopConfig, devices, selector: SelectorConfig, block: int | None = None):
        self.family, self.cfg, self.selector, self.block = family, cfg, selector, block
        self.selecting = selector.active and not isinstance(family, SelfSelectingFamily)
        self.policy = make_policy(cfg, family)
        self.synth_size = self.policy.synth_size(family)
        risk = cpu_pool_deadlock_risk(devices)
        if risk is not None:  # fail loudly instead of hanging (issue 22; see collapse/sharding.py)
            raise RuntimeError(risk)
        self.sharding = replicate_sharding(devices)
        self.padded = padded_count(cfg.replicates, self.sharding)
        self.init = jax.jit(jax.vmap(self._init_one, in_axes=(None, 0)), out_shardings=self.sharding)
        self._chunks = {}

    # -- per replicate ---------------------------------------------------------------------
    def _init_one(self, base_key, index):
        fam, pol = self.family, self.policy
        k_setup, k_loop = _replicate_keys(base_key, index)
        world = fam.setup(k_setup, self.synth_size)
        real = fam.initial_real(world)
        first = (Segment(real, jnp.ones(_n(real), _dtype(real)), real=True, uniform=True),)
        params = fam.fit(world, first)
        metrics = dict(fam.score(jax.random.fold_in(k_loop, 1), world, params))
        metrics[TRAIN_SIZE] = _train_size(first)
        template = jax.eval_shape(lambda: fam.generate(k_loop, world, params, self.synth_size))
        blank = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), template)
        if self.selecting:
            # generation 1 selects nothing: its statistics are those of the real block, all kept
            verifier = fam.verifier_setup(jax.random.fold_in(k_setup, 1), world, self.selector.offset)
            view = fam.selection_view(world, verifier, real, True)
            metrics.update(selection_metrics(self.selector, view, jnp.ones(_n(real))))
            metrics["fit_skipped"] = jnp.zeros(())
            real, blank = Kept(real, jnp.ones(_n(real))), Kept(blank, jnp.zeros(_n(blank)))
            world = (world, verifier)
        pool = pol.init_pool(real, blank, self.cfg.generations)
        if isinstance(fam, PaddedParamsFamily):  # params sized by the training set (a KDE's centres): match later fits
            later = pol.training_set(k_loop, pool, real if pol.fresh_real else None, 2)
            params = fam.pad_params(params, jax.eval_shape(lambda: fam.fit(world, later)))
        metrics.update(_policy_metrics(pol, pool))
        return world, (params, pool), metrics

    def _step(self, world, k_loop, carry, n):
        if self.selecting:
            return self._step_selected(world, k_loop, carry, n)
        fam, pol = self.family, self.policy
        params, pool = carry
        k_gen, k_real, k_select, k_score, k_push = jax.random.split(jax.random.fold_in(k_loop, n), 5)
        ctx = StepContext(
            k_push,
            (lambda block: fam.confidence(world, params, block)) if isinstance(fam, ConfidenceFamily) else None,
            (lambda key, block: fam.edit(key, world, params, block)) if isinstance(fam, EditFamily) else None,
            (lambda: fam.design_matrix(world)) if isinstance(fam, DesignFamily) else None)
        if getattr(pol, "uses_synth", True):
            synth = fam.generate(k_gen, world, params, self.synth_size)
        else:  # token editing rewrites the pool itself; skip sampling a block nobody reads
            template = jax.eval_shape(lambda: fam.generate(k_gen, world, params, self.synth_size))
            synth = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), template)
        pool = pol.push(pool, synth, n, ctx)
        real = fam.sample_real(k_real, world) if pol.fresh_real else None
        segments = pol.training_set(k_select, pool, real, n)
        params = _fit(fam, world, segments, params)
        metrics = dict(fam.score(k_score, world, params))
        metrics[TRAIN_SIZE] = _train_size(segments)
        metrics.update(_policy_metrics(pol, pool))
        return (params, pool), metrics

    def has_chunk(self, length: int) -> bool:
        """Whether the program for ``length`` generations per call is built (else the next call compiles it)."""
        return length in self._chunks

    def _step_selected(self, both, k_loop, carry, n):
        """_step with a selector: generate candidates, select, push the block with its keep weights."""
        fam, pol, sel = self.family, self.policy, self.selector
        world, verifier = both
        old, pool = carry
        k_gen, k_real, k_select, k_score, k_push = jax.random.split(jax.random.fold_in(k_loop, n), 5)
        ctx = StepContext(k_push, None if not isinstance(fam, ConfidenceFamily) else
                          lambda block: fam.confidence(world, old, block.data if isinstance(block, Kept) else block))
        m = self.synth_size
        if sel.kind == "tilt":
            generate = lambda k: fam.generate_tilted(k, world, verifier, old, m, sel.gamma)  # noqa: E731
        else:
            generate = lambda k: fam.generate(k, world, old, m)  # noqa: E731
        # a chooser pairs row j of its K candidates; a family whose blocks are not row-aligned (counts) gives
        # the samples as explicit iid rows for the choice (``as_rows``) and folds the chosen ones back
        rows = make_selector(sel).candidates > 1 and isinstance(fam, RowsFamily)
        if rows:
            plain = generate
            generate = lambda k: fam.as_rows(jax.random.fold_in(k, 1), plain(k))  # noqa: E731
        view_of = lambda block: fam.selection_view(world, verifier, block, False)  # noqa: E731
        synth, keep, view, before = select_block(sel, k_gen, generate, view_of, m)
        if rows:
            synth = fam.from_rows(synth)
        pool = pol.push(pool, Kept(synth, keep), n, ctx)
        real = None
        if pol.fresh_real:
            real = fam.sample_real(k_real, world)
            real = Kept(real, jnp.ones(_n(real)))
        segments = _unwrap(pol.training_set(k_select, pool, real, n), pol.fresh_real)
        size = _train_size(segments)
        # a selection that leaves too little to fit keeps the previous model (recorded as fit_skipped)
        skip = size < getattr(fam, "min_fit_size", 1)
        new = _fit(fam, world, segments, old)
        params = jax.tree_util.tree_map(lambda a, b: jnp.where(skip, a, b), old, new)
        metrics = dict(fam.score(k_score, world, params))
        metrics[TRAIN_SIZE] = size
        metrics.update(selection_metrics(sel, view, keep, before))
        metrics["fit_skipped"] = skip.astype(keep.dtype)
        metrics.update(_policy_metrics(pol, pool))
        return (params, pool), metrics

    def chunk_fn(self, length: int):
        if length not in self._chunks:
            def one(base_key, index, world, carry, start):
                _, k_loop = _replicate_keys(base_key, index)
                step = lambda c, n: self._step(world, k_loop, c, n)  # noqa: E731
                return jax.lax.scan(step, carry, start + jnp.arange(length))
            batched = jax.vmap(one, in_axes=(None, 0, 0, 0, None))
            if self.block is not None:
                batched = _blocked(one, self.block, self.sharding)
            self._chunks[length] = jax.jit(batched, out_shardings=self.sharding)
        return self._chunks[length]


_PROGRAMS: dict = {}
_MAX_PROGRAMS = 32


def _blocked(one, block: int, sharding):
    """The generation scan run for ``block`` replicates at a time (``lax.map`` over blocks of a vmapped scan),
    each device over its own shard: a block's state (designs, factors, pools) stays in cache across all the
    generations of a call instead of being streamed from memory once per generation. Same numbers as the
    plain vmap, because every draw is keyed by (replicate, generation), never by position in a batch."""
    spec = sharding.spec

    def local(base_key, index, world, carry, start):
        n = index.shape[0]
        count = -(-n // min(block, n))
        size = -(-n // count)  # the fewest blocks of at most ``block``, balanced: as little padding as possible
        # pad to whole blocks (repeating the first replicate; its copies are dropped), then [count, size, ...];
        # explicit shapes, because a family may carry zero-size leaves that a reshape(-1, ...) cannot infer
        split = lambda a: jnp.concatenate([a, jnp.repeat(a[:1], count * size - n, 0)]).reshape(  # noqa: E731
            (count, size) + a.shape[1:])
        xs = jax.tree_util.tree_map(split, (index, world, carry))
        step = jax.vmap(lambda i, w, c: one(base_key, i, w, c, start))
        out = jax.lax.map(lambda x: step(*x), xs)
        return jax.tree_util.tree_map(lambda a: a.reshape((count * size,) + a.shape[2:])[:n], out)

    return jax.shard_map(local, mesh=sharding.mesh, in_specs=(PartitionSpec(), spec, spec, spec, PartitionSpec()),
                         out_specs=spec, check_vma=False)


def _program(family, cfg: LoopConfig, devices, selector: SelectorConfig, block: int | None = None) -> _Program:
    devices = tuple(jax.devices() if devices is None else devices)
    key = (family, dataclasses.replace(cfg, seed=0), devices, selector, block)
    if key not in _PROGRAMS:
        if len(_PROGRAMS) >= _MAX_PROGRAMS:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))
        _PROGRAMS[key] = _Program(family, key[1], devices, selector, block)
    return _PROGRAMS[key]


class Loop:
    """One run of the self-consuming loop for (family, config); ``run`` executes it, optionally in chunks.

    selector: how each synthetic block is filtered (collapse/selectors.py; default: keep everything). A
    family that selects inside its own sampler (``with_selector``, e.g. gmm-classify) receives it as a
    modified family instead. ConfigError if the family cannot support the selector.
    block: replicates processed together through all generations of a call (None: all at once, vmapped).
    A block small enough for the cache keeps each replicate's state resident across generations; the results
    are the same either way (up to the last bit of rounding). "auto" (default): the family's
    ``preferred_block()`` if it has one (``BlockedFamily``), else None.
    """

    def __init__(self, family, cfg: LoopConfig, devices=None, selector: SelectorConfig | None = None,
                 block: int | str | None = "auto"):
        selector = resolve(SelectorConfig() if selector is None else selector, family)
        if selector.active and isinstance(family, SelfSelectingFamily):
            family = family.with_selector(selector)
        else:
            check_support(selector, family)
        # a family may settle config-dependent choices first (e.g. the linear family's exact-in-law sampler,
        # which falls back to samples when a selector filters rows); self.family is what a run record stores
        if isinstance(family, LoopResolvingFamily):
            family = family.for_loop(cfg, selector)
        require(block is None or block == "auto"
                or (isinstance(block, int | np.integer) and not isinstance(block, bool) and block >= 1),
                "block", block, "'auto', None (all replicates at once) or an integer >= 1 (replicates per cache block)")
        if block == "auto":
            block = family.preferred_block() if isinstance(family, BlockedFamily) else None
        self.family, self.cfg, self.selector = family, cfg, selector
        self.program = _program(family, cfg, devices, selector, block)
        self.sharding, self.padded = self.program.sharding, self.program.padded

    def memory_bytes(self) -> int:
        """Bytes of the arrays the loop keeps for all replicates (every replicate's world, model and data pool,
        plus one generated block), found by tracing the first generation — nothing is allocated or compiled.
        Temporaries inside fit come on top, so treat it as a lower bound."""
        with jax.enable_x64(True):
            index = jax.ShapeDtypeStruct((self.padded,), jnp.int32)
            world, carry, _ = jax.eval_shape(self.program.init, jax.random.key(0), index)
        leaves = jax.tree_util.tree_leaves((world, carry))
        total = sum(math.prod(a.shape) * a.dtype.itemsize for a in leaves)
        pool = jax.tree_util.tree_leaves(carry[1])
        return int(total + sum(math.prod(a.shape) * a.dtype.itemsize for a in pool) // max(self.cfg.generations, 1))

    def run(self, chunk: int | None = None, resume: LoopState | None = None,
            on_chunk: Callable[[LoopState], None] | None = None) -> LoopState:
        """Run all generations; returns the final state (``metrics``: name -> [G, R]).

        chunk: generations per compiled call (default: all at once). on_chunk: called with the
        state after each call (host copies), e.g. to save a checkpoint or advance a progress bar.
        resume: a state saved by a previous run of the same family and config.

        The loop always runs with 64-bit types enabled, whatever the process-wide ``jax_enable_x64`` flag: theory
        checks need float64 (a float32 Gaussian refit reaches σ̂² = 0 within a few hundred generations). Families
        that train in lower precision (transformers) set their own dtypes explicitly.
        """
        with jax.enable_x64(True):
            return self._run(chunk, resume, on_chunk)

    def _run(self, chunk, resume, on_chunk) -> LoopState:
        G, R = self.cfg.generations, self.cfg.replicates
        base_key = jax.random.key(self.cfg.seed)
        # Global arrays (every process places its own shards), so a run may span several processes.
        index = put_global(np.arange(self.padded, dtype=jax.dtypes.canonicalize_dtype(np.int64)), self.sharding)
        world, carry, first = self.program.init(base_key, index)
        if resume is None:
            state = LoopState(1, _to_host(carry, R), {k: v[None, :R] for k, v in gather(first).items()})
            if on_chunk is not None:
                on_chunk(state)
        else:
            state = resume
            saved = resume.carry
            if isinstance(saved, list):  # flat leaves, as a checkpoint stores them
                saved = jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(carry), saved)
            carry = jax.tree_util.tree_map(lambda a: put_global(a, self.sharding), _pad(saved, self.padded))
        chunk = max(1, chunk or G)
        done = state.generation
        while done < G:
            length = min(chunk, G - done)
            carry, metrics = self.program.chunk_fn(length)(base_key, index, world, carry, done + 1)
            done += length
            new = {k: np.swapaxes(v[:R], 0, 1) for k, v in gather(metrics).items()}
            state = LoopState(done, None, {k: np.concatenate([state.metrics[k], new[k]]) for k in new})
            if on_chunk is not None or done == G:
                state.carry = _to_host(carry, R)
            if on_chunk is not None:
                on_chunk(state)
        return state


def _fit(fam, world, segments, previous):
    """Model n from its training set; a family that defines ``fit_from`` also receives model n − 1 (e.g. a warm
    start for an iterative fit such as the mixture family's EM)."""
    if isinstance(fam, WarmStartFamily):
        return fam.fit_from(world, segments, previous)
    return fam.fit(world, segments)


def _policy_metrics(policy, pool):
    return policy.metrics(pool) if hasattr(policy, "metrics") else {}


def _n(block):
    return jax.tree_util.tree_leaves(block)[0].shape[0]


def _dtype(block):
    return weight_dtype(block)


def _to_host(tree, R):
    return jax.tree_util.tree_map(lambda a: a[:R], gather(tree))  # complete on every process


def _pad(tree, padded):
    def pad(a):
        extra = padded - a.shape[0]
        return a if extra == 0 else np.concatenate([a, np.repeat(a[:1], extra, axis=0)])
    return jax.tree_util.tree_map(pad, tree)


def run_loop(family, cfg: LoopConfig, devices=None, selector: SelectorConfig | None = None, **kwargs) -> dict:
    """Convenience: run and return ``{metric: np.ndarray [G, R]}``."""
    return Loop(family, cfg, devices, selector).run(**kwargs).metrics


def chunk_for_progress(generations: int, updates: int = 10) -> int:
    """The longest chunk that divides G − 1 and still gives at least ``updates`` progress updates
    (dividing G − 1 means every call has the same length, so the loop compiles once)."""
    steps = generations - 1
    target = max(1, math.ceil(steps / updates))
    return max([c for c in range(1, target + 1) if steps % c == 0] or [1])
