"""Replicates sharded over every visible device: one mesh axis, the replicate axis.

The same program runs on 1 CPU, 8 GPUs or a TPU slice; only the number of padded replicates changes.

CPU thread-pool headroom (the sharded-run deadlock of issue 22). jaxlib 0.10.0–0.11.0 runs a batched
LAPACK call (Cholesky, triangular solve, eigh, …) of enough work by splitting the batch into tasks on
XLA:CPU's intra-op thread pool and *blocking the calling pool thread* until they finish. That pool has
max(schedulable CPUs, local CPU devices) threads. With D forced host devices and D ≥ CPUs, the D
device programs of one sharded call occupy every pool thread, all reach the same batched solve, all
block, and no thread is left to run their tasks: a hang at 0% CPU (seen with 4 devices × 250
replicates on a 2-core machine; small batches stay under jaxlib's 2·10⁵-FLOP threshold and run inline,
which is why small runs worked). XLA sizes the pool from the ``NPROC`` environment variable when it is
set, so :func:`reserve_cpu_pool_thread` sets it — before the CPU backend starts — to one thread more
than the device count (raising a smaller inherited value), which always leaves a thread free to run the
tasks. jaxlib ≥ 0.11.1 no longer takes the blocking path in its open-source builds.
"""

import math
import os
import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = "replicates"
_AFFECTED_JAXLIB = ((0, 10, 0), (0, 11, 1))  # [first, fixed) versions with the blocking LAPACK batch path


def replicate_sharding(devices=None) -> NamedSharding:
    """Shard the leading (replicate) axis of every array over ``devices`` (default: all)."""
    devices = jax.devices() if devices is None else list(devices)
    return NamedSharding(Mesh(np.array(devices), (AXIS,)), PartitionSpec(AXIS))


def padded_count(replicates: int, sharding: NamedSharding) -> int:
    """Replicates rounded up to a multiple of the device count (padding rows are computed, then dropped)."""
    n = sharding.mesh.size
    return math.ceil(replicates / n) * n


def _jaxlib_affected() -> bool:
    import jaxlib

    version = tuple(int(p) for p in re.findall(r"\d+", jaxlib.__version__)[:3])
    return _AFFECTED_JAXLIB[0] <= version < _AFFECTED_JAXLIB[1]


def _schedulable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def forced_cpu_devices(env=None) -> int:
    """CPU devices the backend will create, from ``XLA_FLAGS`` / ``JAX_NUM_CPU_DEVICES`` (default 1)."""
    env = os.environ if env is None else env
    found = re.findall(r"--xla_force_host_platform_device_count=(\d+)", env.get("XLA_FLAGS", ""))
    count = int(found[-1]) if found else 1
    jax_count = env.get("JAX_NUM_CPU_DEVICES", "")
    return int(jax_count) if jax_count.strip().isdigit() and int(jax_count) > 0 else count


def reserve_cpu_pool_thread(env=None) -> bool:
    """Before the CPU backend starts, make XLA's intra-op pool one thread larger than the device count
    (``NPROC``), so a blocked batched LAPACK call always has a free thread to finish on. A smaller ``NPROC``
    already set (e.g. inherited from a parent process with fewer devices) is raised; a larger one is kept.
    Does nothing when jaxlib is not affected or once the backend has started (too late: see
    :func:`cpu_pool_deadlock_risk`). Returns whether it set the variable."""
    from jax._src import xla_bridge  # backends_are_initialized has no public alias

    env = os.environ if env is None else env
    if not _jaxlib_affected() or xla_bridge.backends_are_initialized():
        return False
    needed = max(_schedulable_cpus(), forced_cpu_devices(env)) + 1
    current = env.get("NPROC", "")
    if current.strip().isdigit() and int(current) >= needed:
        return False
    env["NPROC"] = str(needed)
    return True


def cpu_pool_deadlock_risk(devices) -> str | None:
    """Why a sharded CPU call over ``devices`` can hang (see the module docstring), or None if it cannot.

    The pool has max(NPROC or schedulable CPUs, local CPU devices) threads; a call is safe when at least
    one thread is left over after every local device program has taken one."""
    local = [d for d in devices if d.platform == "cpu" and d.process_index == jax.process_index()]
    if len(local) < 2 or not _jaxlib_affected():
        return None
    nproc = os.environ.get("NPROC", "")
    base = int(nproc) if nproc.strip().isdigit() and int(nproc) > 0 else _schedulable_cpus()
    pool = max(base, len(jax.local_devices(backend="cpu")))
    if pool > len(local):
        return None
    return (f"{len(local)} CPU devices share an XLA thread pool of {pool} threads, and jaxlib "
            f"{_jaxlib_version()} can deadlock there in batched linear algebra; start Python with "
            f"NPROC={len(local) + 1} (or import collapse before JAX starts, which sets it), or upgrade "
            f"jaxlib to 0.11.1 or later")


def _jaxlib_version() -> str:
    import jaxlib

    return jaxlib.__version__


reserve_cpu_pool_thread()
