"""Issue 21: one engine run spread over several processes (JAX's multi-controller runtime, gloo on CPU).

Two processes × 4 forced CPU devices must give the numbers of one process × 8 devices and of one device,
and a run resumed from a mid-run state must match. Every process is a subprocess under a timeout."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

WORKER = textwrap.dedent("""
    import json, sys, jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from collapse import LinearRegression, Loop, LoopConfig, distributed
    mode, out = sys.argv[1], sys.argv[2]
    if mode == "multi":
        pid, port = int(sys.argv[3]), sys.argv[4]
        assert distributed.initialize(f"127.0.0.1:{port}", 2, pid)
        assert jax.process_count() == 2 and len(jax.local_devices()) == 4 and len(jax.devices()) == 8
    fam = LinearRegression(d=5, T=20, design="fresh")
    cfg = LoopConfig(mode="accumulate-subsample", generations=5, replicates=13, seed=2)  # 13: padding to 16
    saved = []
    whole = Loop(fam, cfg).run(chunk=2, on_chunk=saved.append)
    mid = saved[1]  # after generation 3, as a checkpoint would hold it
    resumed = Loop(fam, cfg).run(chunk=2, resume=type(mid)(mid.generation, jax.tree_util.tree_leaves(mid.carry),
                                                          mid.metrics))
    result = {"whole": whole.metrics, "resumed": resumed.metrics}
    if mode == "single":
        result["one_device"] = Loop(fam, cfg, devices=jax.devices()[:1]).run().metrics
    if distributed.is_writer():
        np.savez(out, **{f"{run}.{k}": v for run, m in result.items() for k, v in m.items()})
    print(json.dumps({"process": jax.process_index(), "devices": len(jax.devices()),
                      "writer": distributed.is_writer()}))
""")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env(devices):
    env = {k: v for k, v in os.environ.items() if k not in ("NPROC", "JAX_COORDINATOR_ADDRESS")}
    env.update(XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu",
               PYTHONPATH=ROOT + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _finish(procs, timeout):
    outs = []
    try:
        for p in procs:
            out, err = p.communicate(timeout=timeout)
            assert p.returncode == 0, err[-3000:]
            outs.append(json.loads(out.strip().splitlines()[-1]))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        pytest.fail(f"a process did not finish in {timeout} s")
    return outs


def test_two_processes_of_four_devices_equal_one_process_of_eight_and_one_device(tmp_path):
    port = _free_port()
    multi = [subprocess.Popen([sys.executable, "-c", WORKER, "multi", str(tmp_path / "multi.npz"), str(i),
                               str(port)], env=_env(4), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    single = subprocess.Popen([sys.executable, "-c", WORKER, "single", str(tmp_path / "single.npz")], env=_env(8),
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    reports = _finish([*multi, single], timeout=240)
    assert [r["process"] for r in reports] == [0, 1, 0] and [r["writer"] for r in reports] == [True, False, True]
    assert all(r["devices"] == 8 for r in reports)
    assert not (tmp_path / "multi.npz.npz").exists()
    with np.load(tmp_path / "multi.npz") as m, np.load(tmp_path / "single.npz") as s:
        assert m["whole.E_test"].shape == (5, 13)
        for key in m.files:  # whole and resumed runs, every metric
            np.testing.assert_array_equal(m[key], s[key], err_msg=key)
            run, metric = key.split(".", 1)
            np.testing.assert_array_equal(m[key], s[f"one_device.{metric}"], err_msg=key)


def test_initialize_is_a_no_op_for_a_single_process_and_rejects_bad_ranks():
    from collapse import distributed
    from collapse.errors import ConfigError

    assert distributed.initialize(env={}) is False
    assert distributed.initialize(env={"SLURM_STEP_NUM_TASKS": "1"}) is False
    assert distributed.is_writer()
    with pytest.raises(ConfigError, match="process_id"):
        distributed.initialize("127.0.0.1:1", 2, 2, env={})
    with pytest.raises(ConfigError, match="num_processes"):
        distributed.initialize("127.0.0.1:1", True, 0, env={})
