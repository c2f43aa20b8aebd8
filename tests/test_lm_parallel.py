"""Issue 21, item 2: data-parallel LM training on 8 virtual CPU devices equals the unsharded computation.

Run in a subprocess (the device count is fixed when JAX starts) under a timeout. float32 model: one model's
sharded batch changes only the order of the gradient all-reduce; vmapped replicates sharded over devices run
the same per-replicate arithmetic in smaller batches. Losses are compared elementwise at relative 1e-5, parameters
by max |Δ| over each tensor relative to the tensor's largest entry, also at 1e-5 (an elementwise relative test
is meaningless for entries near 0, where Adam turns a last-bit gradient difference into a visible one).
Measured: losses 7.5e-8 (batch) and 5.2e-7 (replicates) relative, parameters 2.4e-6 of their scale."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent("""
    import json, jax, jax.numpy as jnp, numpy as np
    from collapse.lm import model as lm, parallel, train as lm_train
    assert len(jax.devices()) == 8
    cfg = lm.lm_config(width=32, depth=2, heads=2, context=16)
    tc = lm_train.TrainConfig(steps=3, batch=16, warmup=1)
    key = jax.random.key(0)
    data = jax.random.randint(jax.random.key(1), (64, 16), 0, 256)
    w = jnp.linspace(0.5, 1.5, 64)
    state = lm_train.init_state(cfg, tc, key)
    ref_state, ref_loss = jax.jit(lambda s, d, w, k: lm_train.train_steps(cfg, tc, s, d, w, k, 3))(state, data, w, key)
    sh_state, sh_loss = parallel.sharded_train_steps(cfg, tc, state, data, w, key, 3, parallel.batch_mesh())
    rel = lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b)) / (np.abs(np.asarray(b)) + 1e-6)))
    scaled = lambda a, b: float(np.max(np.abs(np.asarray(a) - np.asarray(b))) / np.max(np.abs(np.asarray(b))))
    params = max(jax.tree.leaves(jax.tree.map(scaled, sh_state.params, ref_state.params)))
    keys = jax.random.split(jax.random.key(5), 8)
    dataR, wR = jnp.broadcast_to(data, (8,) + data.shape), jnp.broadcast_to(w, (8, 64))
    _, rep_loss = parallel.replicated_train(cfg, tc, dataR, wR, keys)
    _, one_loss = jax.jit(jax.vmap(lambda d, w, k: lm_train.train(cfg, tc, d, w, k)))(dataR, wR, keys)
    print(json.dumps({"batch_loss": rel(sh_loss, ref_loss), "batch_params": params,
                      "replicate_loss": rel(rep_loss, one_loss),
                      "replicates_sharded": rep_loss.sharding.spec == parallel.replicate_sharding().spec,
                      "steps": int(sh_state.step), "finite": bool(np.all(np.isfinite(sh_loss)))}))
""")


def test_sharded_lm_steps_equal_unsharded_on_8_devices():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.pop("NPROC", None)
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                              timeout=400, cwd=root)
    except subprocess.TimeoutExpired:
        pytest.fail("the 8-device data-parallel check did not finish in 400 s")
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(r)
    assert r["steps"] == 3 and r["finite"] and r["replicates_sharded"]
    for k in ("batch_loss", "batch_params", "replicate_loss"):
        assert r[k] < 1e-5, r
