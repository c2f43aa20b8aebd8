"""Issue 22: the default CLI run (linear, replace, d = 10, T = 40, 2,000 replicates, 10 generations) on 4 and
8 forced host devices finishes and gives the 1-device numbers: bit for bit on 4 devices; on 8 devices
(250 replicates per device) E_test differs from the 1-device run in the last bits (max |Δ| 1.2e-14 on values
~1, measured with jaxlib 0.10.2), so there the test allows a relative difference of 1e-12.

It used to hang at 0% CPU: jaxlib 0.10's batched LAPACK kernels block an XLA:CPU pool thread while their
batch tasks wait for a free one, and with as many devices as pool threads none is free (collapse/sharding.py).
Each run is a subprocess (the device count is fixed when JAX starts) under a timeout, so a regression fails
instead of hanging the suite."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, sys, jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from collapse import LinearRegression, LoopConfig, run_loop
    devices = int(sys.argv[1])
    assert len(jax.devices()) == devices, jax.devices()
    fam = LinearRegression(d=10, T=40)
    cfg = LoopConfig(mode="replace", generations=10, replicates=2000, seed=0)
    one = run_loop(fam, cfg, devices=jax.devices()[:1])
    many = run_loop(fam, cfg)
    print(json.dumps({k: {"identical": bool(np.array_equal(one[k], many[k])),
                          "max_rel_diff": float(np.max(np.abs(one[k] - many[k]) / np.maximum(np.abs(one[k]), 1e-300))),
                          "shape": list(many[k].shape)} for k in one}))
""")


def run_forced(devices: int, timeout: float = 300):
    env = {k: v for k, v in os.environ.items() if k != "NPROC"}
    env.update(XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}", JAX_PLATFORMS="cpu")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT, str(devices)], env=env, capture_output=True,
                              text=True, timeout=timeout, cwd=root)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the default run on {devices} forced host devices did not finish in {timeout:.0f} s "
                    "(the issue-22 deadlock?)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_default_run_on_4_forced_host_devices_equals_one_device_bit_for_bit():
    result = run_forced(4)
    assert result["E_test"]["shape"] == [10, 2000]
    for metric, r in result.items():
        assert r["identical"], (metric, r)


@pytest.mark.slow
def test_default_run_on_8_forced_host_devices_equals_one_device_to_1e_12():
    result = run_forced(8)
    assert result["E_test"]["shape"] == [10, 2000]
    for metric, r in result.items():
        assert r["max_rel_diff"] <= 1e-12, (metric, r)


def test_forced_device_count_is_read_from_the_environment():
    from collapse.sharding import forced_cpu_devices

    assert forced_cpu_devices({}) == 1
    assert forced_cpu_devices({"XLA_FLAGS": "--foo --xla_force_host_platform_device_count=8"}) == 8
    assert forced_cpu_devices({"XLA_FLAGS": "--xla_force_host_platform_device_count=8",
                               "JAX_NUM_CPU_DEVICES": "3"}) == 3


def test_pool_headroom_is_not_changed_once_jax_has_started():
    import jax

    from collapse.sharding import reserve_cpu_pool_thread

    jax.devices()  # the backend is running: NPROC would no longer be read
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=4"}
    assert not reserve_cpu_pool_thread(env) and "NPROC" not in env


def test_an_inherited_small_nproc_is_raised_above_the_device_count():
    """A child started with more devices than its parent inherits the parent's NPROC; it must not keep it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "NPROC": "2", "XLA_FLAGS": "--xla_force_host_platform_device_count=8",
           "JAX_PLATFORMS": "cpu", "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    code = "import os, collapse, jax; print(os.environ['NPROC'], len(jax.devices()))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    nproc, devices = map(int, proc.stdout.split())
    assert devices == 8 and nproc >= 9
