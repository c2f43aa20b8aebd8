"""Training: AdamW with linear warmup + cosine decay and global-norm clipping, whole runs inside ``lax.scan``.

A run is ``steps`` optimizer steps on minibatches drawn (with replacement) from a weighted set of sequences, each
sequence picked with probability ∝ its weight. That one rule implements every data policy: weights 0/1 select
sequences (accumulate-subsample), per-block weights mix real and synthetic (fresh), equal weights pool them
(accumulate, mix). Step s draws its batch with ``fold_in(key, s)``, so a run split into chunks (to checkpoint or
report progress) equals the uninterrupted run exactly.
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from collapse.lm import model as lm
from collapse.nn.train import TrainConfig, optimizer  # noqa: F401 (TrainConfig re-exported)


class TrainState(NamedTuple):
    params: object
    opt_state: object
    step: jax.Array  # int32, optimizer steps taken


def init_state(cfg, tc: TrainConfig, key) -> TrainState:
    params = lm.init(cfg, key)
    return TrainState(params, optimizer(tc).init(params), jnp.zeros((), jnp.int32))


def train_steps(cfg, tc: TrainConfig, state: TrainState, data, weights, key, length: int, mesh_batch=None):
    """Run ``length`` steps from ``state``: data int [N, L], weights [N] (>= 0, not all 0).

    Returns (new state, per-step losses float32 [length]). Pure; jit it with cfg, tc, length static.
    mesh_batch: optional sharding for the [batch, L] minibatch (data parallel over devices).
    """
    tx = optimizer(tc)
    logw = jnp.log(jnp.asarray(weights, jnp.float32))

    def step(st: TrainState, _):
        k_batch, k_drop = jax.random.split(jax.random.fold_in(key, st.step))
        idx = jax.random.categorical(k_batch, logw, shape=(tc.batch,))
        tokens = data[idx]
        if mesh_batch is not None:
            tokens = jax.lax.with_sharding_constraint(tokens, mesh_batch)
        drop = k_drop if cfg.dropout > 0 else None
        loss, grads = jax.value_and_grad(lambda p: lm.nll(cfg, p, tokens, dropout_key=drop))(st.params)
        updates, opt_state = tx.update(grads, st.opt_state, st.params)
        return TrainState(optax.apply_updates(st.params, updates), opt_state, st.step + 1), loss

    return jax.lax.scan(step, state, None, length=length)


def train(cfg, tc: TrainConfig, data, weights, key):
    """A whole run from fresh parameters (init from ``fold_in(key, 0)``, batches from ``fold_in(key, 1)``).

    Returns (params, losses [steps])."""
    state = init_state(cfg, tc, jax.random.fold_in(key, 0))
    state, losses = train_steps(cfg, tc, state, data, weights, jax.random.fold_in(key, 1), tc.steps)
    return state.params, losses
