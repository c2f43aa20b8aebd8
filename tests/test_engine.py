"""Reproducibility of the loop: seeds, chunking, resuming, padding, device count."""

import json
import os
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest

from collapse import LinearRegression, Loop, LoopConfig, run_loop

FAM = LinearRegression(d=4, T=10)
CFG = LoopConfig(mode="accumulate-subsample", generations=7, replicates=16, seed=3)


def test_same_seed_same_numbers():
    a, b = run_loop(FAM, CFG), run_loop(FAM, CFG)
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])


def test_different_seed_different_numbers():
    a = run_loop(FAM, CFG)["E_test"]
    b = run_loop(FAM, LoopConfig(**{**CFG.__dict__, "seed": 4}))["E_test"]
    assert not np.allclose(a, b)


def test_chunking_does_not_change_results():
    loop = Loop(FAM, CFG)
    whole = loop.run().metrics["E_test"]
    np.testing.assert_allclose(loop.run(chunk=2).metrics["E_test"], whole, rtol=1e-12)


def test_resume_from_a_saved_state_matches_an_uninterrupted_run():
    loop = Loop(FAM, CFG)
    saved = []
    whole = loop.run(chunk=2, on_chunk=lambda s: saved.append(s)).metrics
    midway = saved[1]
    assert midway.generation == 3
    leaves = jax.tree_util.tree_leaves(midway.carry)  # a checkpoint stores flat leaves
    resumed = Loop(FAM, CFG).run(chunk=2, resume=type(midway)(3, leaves, midway.metrics)).metrics
    for k in whole:
        np.testing.assert_allclose(resumed[k], whole[k], rtol=1e-12)


def test_replicates_are_independent_of_the_replicate_count():
    """Replicate r's numbers depend only on (seed, r): running more replicates extends, not reshuffles."""
    few = run_loop(FAM, LoopConfig(**{**CFG.__dict__, "replicates": 5}))["E_test"]
    many = run_loop(FAM, CFG)["E_test"]
    np.testing.assert_allclose(few, many[:, :5], rtol=1e-12)


SHARDED = textwrap.dedent("""
    import json, jax, numpy as np
    jax.config.update("jax_enable_x64", True)
    from collapse import LinearRegression, LoopConfig, run_loop
    assert len(jax.devices()) == 8, jax.devices()
    out = {}
    for mode, design in [("replace", "fixed"), ("accumulate", "fixed"), ("accumulate-subsample", "fresh")]:
        fam = LinearRegression(d=5, T=20, design=design)
        cfg = LoopConfig(mode=mode, generations=4, replicates=13, seed=1)  # 13: padding to 16
        one = run_loop(fam, cfg, devices=jax.devices()[:1])["E_test"]
        eight = run_loop(fam, cfg)["E_test"]
        out[mode] = float(np.max(np.abs(one - eight) / np.abs(one)))
    print(json.dumps(out))
""")


def test_eight_device_sharded_run_equals_one_device_run():
    """Run in a subprocess (the device count is fixed at JAX start-up) under a timeout, so a
    deadlock of a sharded CPU program fails this test instead of hanging the suite."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu"}
    try:
        proc = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True,
                              timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)))
    except subprocess.TimeoutExpired:
        pytest.fail("the 8-device sharded run did not finish in 300 s (deadlock?)")
    assert proc.returncode == 0, proc.stderr[-2000:]
    rel = json.loads(proc.stdout.strip().splitlines()[-1])
    assert all(v < 1e-10 for v in rel.values()), rel
