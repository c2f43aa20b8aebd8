"""Training: AdamW with linear warmup + cosine decay and global-norm clipping, whole runs inside ``lax.scan``.

A run is ``steps`` optimizer steps on minibatches drawn (with replacement) from a weighted set of sequences, each
sequence picked with probability ∝ its weight. That one rule implements every data policy: weights 0/1 select
sequences (accumulate-subsample), per-block weights mix real and synthetic (fresh), equal weights pool them
(accumulate, mix). Step s draws its batch with ``fold_in(key, s)``, so a run split into chunks (to checkpoint or
report progress) equals the uninterrupted run exactly.
"""

from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from collapse.errors import require
from collapse.lm import model as lm


@dataclass(frozen=True)
class TrainConfig:
    """steps: optimizer steps; batch: sequences per step; lr: peak learning rate; warmup: linear warmup steps;
    min_lr_ratio: final lr / peak (cosine); weight_decay: AdamW decay (matrices only); clip: max global grad norm;
    b1, b2: Adam moments."""

    steps: int = 200
    batch: int = 32
    lr: float = 3e-3
    warmup: int = 20
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.1
    clip: float = 1.0
    b1: float = 0.9
    b2: float = 0.95

    def __post_init__(self):
        require(isinstance(self.steps, int) and self.steps >= 1, "steps", self.steps, "an integer >= 1")
        require(isinstance(self.batch, int) and self.batch >= 1, "batch", self.batch, "an integer >= 1")
        require(self.lr > 0, "lr", self.lr, "> 0")
        require(isinstance(self.warmup, int) and 0 <= self.warmup <= self.steps, "warmup", self.warmup,
                f"an integer in [0, steps={self.steps}]")
        require(0 <= self.min_lr_ratio <= 1, "min_lr_ratio", self.min_lr_ratio, "in [0, 1]")
        require(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        require(self.clip > 0, "clip", self.clip, "> 0")


def optimizer(tc: TrainConfig) -> optax.GradientTransformation:
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, tc.lr, max(tc.warmup, 1), max(tc.steps, tc.warmup + 1), tc.lr * tc.min_lr_ratio)
    decay_mask = lambda params: jax.tree.map(lambda p: p.ndim >= 2, params)  # noqa: E731 (not norms)
    return optax.chain(optax.clip_by_global_norm(tc.clip),
                       optax.adamw(schedule, tc.b1, tc.b2, weight_decay=tc.weight_decay, mask=decay_mask))


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
