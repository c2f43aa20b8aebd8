"""Long training runs in resumable chunks: orbax checkpoints of the whole train state, progress in tokens/s.

``fit(...)`` runs :func:`collapse.lm.train.train_steps` in chunks of ``chunk`` steps; after each chunk it saves
(params, optimizer state, step) with an orbax ``CheckpointManager``. Called again with the same directory it
restores the latest checkpoint and continues; because step s always draws its minibatch from ``fold_in(key, s)``,
the resumed run equals the uninterrupted one exactly.
"""

import functools
import time
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp

from collapse.lm.train import TrainConfig, TrainState, init_state, train_steps


def _manager(directory, keep: int = 2) -> ocp.CheckpointManager:
    opts = ocp.CheckpointManagerOptions(max_to_keep=keep, enable_async_checkpointing=False)
    return ocp.CheckpointManager(Path(directory).absolute(), options=opts)


@functools.lru_cache(maxsize=16)
def _runner(cfg, tc: TrainConfig, length: int, batch_sharding=None):
    return jax.jit(lambda s, d, w, k: train_steps(cfg, tc, s, d, w, k, length, batch_sharding))


def batch_sharding(batch: int):
    """Data parallelism: the minibatch split over all visible devices (None on one device or when the batch does
    not divide evenly). Parameters and optimizer state stay replicated; XLA inserts the gradient all-reduce."""
    devices = jax.devices()
    if len(devices) < 2 or batch % len(devices):
        return None
    mesh = jax.sharding.Mesh(np.asarray(devices), ("data",))
    return jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("data"))


def _as_dict(state: TrainState) -> dict:
    return {f"{i:05d}": np.asarray(x) for i, x in enumerate(jax.tree.leaves(state))}


def fit(cfg, tc: TrainConfig, data, weights, key, *, checkpoint_dir=None, chunk: int = 100,
        on_chunk: Callable[[int, float, float], None] | None = None, max_chunks: int | None = None,
        data_parallel: bool = True):
    """Train ``Decoder(cfg)`` from scratch (init from ``fold_in(key, 0)``) for ``tc.steps`` steps.

    data int [N, L], weights [N]. checkpoint_dir: save after every chunk and resume from the latest save.
    on_chunk(step, mean loss of the chunk, tokens/s of the chunk). max_chunks: stop after that many chunks
    (to test resuming). data_parallel: split each minibatch over all devices (:func:`batch_sharding`).
    Returns (TrainState, losses float32 [steps taken in this call]).
    """
    state = init_state(cfg, tc, jax.random.fold_in(key, 0))
    treedef = jax.tree.structure(state)
    mngr = _manager(checkpoint_dir) if checkpoint_dir is not None else None
    if mngr is not None and mngr.latest_step() is not None:
        saved = mngr.restore(mngr.latest_step(), args=ocp.args.StandardRestore(_as_dict(state)))
        state = jax.tree.unflatten(treedef, [jnp.asarray(saved[k]) for k in sorted(saved)])
    data, weights = jnp.asarray(data, jnp.int32), jnp.asarray(weights, jnp.float32)
    k_batch = jax.random.fold_in(key, 1)
    sharding = batch_sharding(tc.batch) if data_parallel else None
    losses, done_chunks = [], 0
    while int(state.step) < tc.steps and (max_chunks is None or done_chunks < max_chunks):
        length = min(chunk, tc.steps - int(state.step))
        t0 = time.perf_counter()
        state, chunk_losses = _runner(cfg, tc, length, sharding)(state, data, weights, k_batch)
        chunk_losses = np.asarray(chunk_losses)
        dt = time.perf_counter() - t0
        losses.append(chunk_losses)
        done_chunks += 1
        if mngr is not None:
            mngr.save(int(state.step), args=ocp.args.StandardSave(_as_dict(state)))
            mngr.wait_until_finished()
        if on_chunk is not None:
            on_chunk(int(state.step), float(chunk_losses.mean()), length * tc.batch * data.shape[1] / dt)
    if mngr is not None:
        mngr.close()
    return state, (np.concatenate(losses) if losses else np.zeros(0, np.float32))
