"""Replicates sharded over every visible device: one mesh axis, the replicate axis.

The same program runs on 1 CPU, 8 GPUs or a TPU slice; only the number of padded replicates changes.
"""

import math

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "replicates"


def replicate_sharding(devices=None) -> NamedSharding:
    """Shard the leading (replicate) axis of every array over ``devices`` (default: all)."""
    devices = jax.devices() if devices is None else list(devices)
    return NamedSharding(Mesh(np.array(devices), (AXIS,)), PartitionSpec(AXIS))


def padded_count(replicates: int, sharding: NamedSharding) -> int:
    """Replicates rounded up to a multiple of the device count (padding rows are computed, then dropped)."""
    n = sharding.mesh.size
    return math.ceil(replicates / n) * n
