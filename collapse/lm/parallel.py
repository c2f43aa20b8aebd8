"""Data-parallel training of the byte-level LM over a device mesh (``jax.sharding`` with ``NamedSharding``).

Two ways to use many devices, matching the two shapes of the neural studies:

- **one model, batch sharded** (:func:`sharded_train_steps`): the minibatch of each step is split over the
  ``batch`` mesh axis, parameters and optimizer state are replicated; XLA's SPMD partitioner inserts the
  gradient all-reduce. Same numbers as one device up to float reassociation of that reduction.
- **many small models, replicates sharded** (:func:`replicated_train`): independent runs are ``vmap`` ped and
  their leading axis sharded over the devices exactly as the engine shards replicates
  (:func:`collapse.sharding.replicate_sharding`); no communication at all.

Both work on a multi-process mesh after :func:`collapse.distributed.initialize`.
"""

import functools

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from collapse.errors import require
from collapse.lm import train as lm_train
from collapse.sharding import replicate_sharding

__all__ = ["batch_mesh", "replicate_sharding", "replicated_train", "sharded_train_steps"]

BATCH = "batch"


def batch_mesh(devices=None) -> Mesh:
    """A one-axis mesh (``batch``) over ``devices`` (default: all)."""
    devices = jax.devices() if devices is None else list(devices)
    return Mesh(np.array(devices), (BATCH,))


@functools.lru_cache(maxsize=16)
def _sharded_steps_fn(cfg, tc: lm_train.TrainConfig, length: int, mesh: Mesh):
    replicated = NamedSharding(mesh, PartitionSpec())
    batch = NamedSharding(mesh, PartitionSpec(BATCH, None))
    run = functools.partial(lm_train.train_steps, cfg, tc, length=length, mesh_batch=batch)
    return jax.jit(lambda state, data, weights, key: run(state, data, weights, key),
                   in_shardings=replicated, out_shardings=replicated)


def sharded_train_steps(cfg, tc: lm_train.TrainConfig, state, data, weights, key, length: int, mesh: Mesh):
    """``lm.train.train_steps`` with each step's [batch, L] minibatch split over the mesh's ``batch`` axis.

    The batch must divide evenly (tc.batch a multiple of the mesh size). Returns (state, losses [length])."""
    require(tc.batch % mesh.size == 0, "batch", tc.batch, f"a multiple of the {mesh.size} devices of the mesh")
    return _sharded_steps_fn(cfg, tc, length, mesh)(state, data, weights, key)


@functools.lru_cache(maxsize=16)
def _replicated_fn(cfg, tc: lm_train.TrainConfig, sharding):
    one = lambda data, weights, key: lm_train.train(cfg, tc, data, weights, key)  # noqa: E731
    return jax.jit(jax.vmap(one), in_shardings=sharding, out_shardings=sharding)


def replicated_train(cfg, tc: lm_train.TrainConfig, data, weights, keys, devices=None):
    """R independent runs of ``lm.train.train``: data [R, N, L], weights [R, N], keys [R] (typed keys).

    Runs are vmapped and sharded over ``devices`` along R (R a multiple of the device count).
    Returns (params with leading axis R, losses [R, steps])."""
    sharding = replicate_sharding(devices)
    R = keys.shape[0]
    require(R % sharding.mesh.size == 0, "replicates", R, f"a multiple of the {sharding.mesh.size} devices")
    return _replicated_fn(cfg, tc, sharding)(data, weights, keys)
