"""Several processes (hosts), one run: JAX's multi-controller runtime, not a scheduler of our own.

Every process runs the same program; ``jax.distributed.initialize`` joins them, after which
``jax.devices()`` lists the devices of *all* processes and the engine's replicate mesh spans them. Each
process computes the replicates on its own devices; :func:`gather` brings the results to host NumPy on
every process, and only :func:`is_writer` (process 0) writes files. On CPU the processes exchange data
through gloo (``jax_cpu_collectives_implementation``), set here before the backend starts.

Typical use (what the CLI calls)::

    from collapse import distributed
    distributed.initialize(args.coordinator, args.num_processes, args.process_id)  # before any JAX work
    ... Loop(family, cfg).run() ...                     # identical on every process
    if distributed.is_writer(): write the run folder
"""

import os

import jax
import numpy as np

# Environment variables of launchers whose process groups JAX detects by itself (jax._src.clusters).
_CLUSTER_ENV = {
    "SLURM_STEP_NUM_TASKS": "SLURM (srun)",
    "OMPI_COMM_WORLD_SIZE": "Open MPI (mpirun)",
    "TPU_WORKER_HOSTNAMES": "Cloud TPU",
}


def _launcher_with_several_processes(env) -> str | None:
    for var, name in _CLUSTER_ENV.items():
        value = env.get(var, "")
        several = value.count(",") >= 1 if var == "TPU_WORKER_HOSTNAMES" else value.isdigit() and int(value) > 1
        if several:
            return name
    return None


def initialize(coordinator: str | None = None, num_processes: int | None = None, process_id: int | None = None,
               local_device_ids=None, env=None) -> bool:
    """Join this process to a multi-process run; call before anything else touches JAX devices.

    coordinator: "host:port" of process 0 (every process passes the same). num_processes, process_id:
    the group size and this process's rank in [0, num_processes). Any of them left None is filled in by
    JAX from the environment — ``JAX_COORDINATOR_ADDRESS``, or a SLURM ``srun`` / Open MPI / Cloud TPU
    launch (JAX's cluster auto-detection). With nothing given and no such environment this is a
    single-process run and nothing happens. Returns whether the process is part of a distributed run.
    """
    env = os.environ if env is None else env
    if jax.distributed.is_initialized():
        return True
    given = (coordinator, num_processes, process_id)
    if all(v is None for v in given) and not env.get("JAX_COORDINATOR_ADDRESS") \
            and _launcher_with_several_processes(env) is None:
        return False
    for name, value in (("num_processes", num_processes), ("process_id", process_id)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | np.integer)):
            from collapse.errors import ConfigError
            raise ConfigError(name, value, "an integer")
    if num_processes is not None and num_processes < 1:
        from collapse.errors import ConfigError
        raise ConfigError("num_processes", num_processes, "an integer ≥ 1")
    if process_id is not None and num_processes is not None and not 0 <= process_id < num_processes:
        from collapse.errors import ConfigError
        raise ConfigError("process_id", process_id, f"an integer in [0, {num_processes})")
    if jax.config.jax_cpu_collectives_implementation is None:  # CPU devices of different processes talk via gloo
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=num_processes,
                               process_id=process_id, local_device_ids=local_device_ids)
    return True


def is_writer() -> bool:
    """Whether this process writes results (process 0; always true in a single-process run)."""
    return jax.process_index() == 0


def put_global(host: np.ndarray, sharding) -> jax.Array:
    """A global array with ``sharding`` from a host array every process holds in full: each process
    places only the pieces its own devices keep (no process needs another's memory)."""
    host = np.asarray(host)
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])


def gather(tree):
    """Host NumPy copies of a pytree of (possibly multi-process) arrays, complete on every process."""
    return jax.tree_util.tree_map(_to_numpy, tree)


def _to_numpy(a):
    if isinstance(a, jax.Array) and not a.is_fully_addressable:
        from jax.experimental import multihost_utils
        return np.asarray(multihost_utils.process_allgather(a, tiled=True))
    return np.asarray(a)
