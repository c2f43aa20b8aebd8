"""The one training configuration of every transformer in the toolkit (byte LMs, the eigenvalue and summarization
encoder–decoders): AdamW with linear warmup, cosine decay and global-norm clipping."""

from dataclasses import dataclass
from functools import lru_cache

import jax
import optax

from collapse.errors import require
from collapse.validate import check_fields


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
        check_fields(self)
        require(self.steps >= 1, "steps", self.steps, "an integer >= 1")
        require(self.batch >= 1, "batch", self.batch, "an integer >= 1")
        require(self.lr > 0, "lr", self.lr, "> 0")
        require(0 <= self.warmup <= self.steps, "warmup", self.warmup, f"an integer in [0, steps={self.steps}]")
        require(0 <= self.min_lr_ratio <= 1, "min_lr_ratio", self.min_lr_ratio, "in [0, 1]")
        require(self.weight_decay >= 0, "weight_decay", self.weight_decay, ">= 0")
        require(self.clip > 0, "clip", self.clip, "> 0")


@lru_cache(maxsize=32)
def optimizer(tc: TrainConfig) -> optax.GradientTransformation:
    """One optax object per config (cached, so jitted steps that take it as a static argument compile once)."""
    schedule = optax.warmup_cosine_decay_schedule(
        0.0, tc.lr, max(tc.warmup, 1), max(tc.steps, tc.warmup + 1), tc.lr * tc.min_lr_ratio)
    decay_mask = lambda params: jax.tree.map(lambda p: p.ndim >= 2, params)  # noqa: E731 (not norms)
    return optax.chain(optax.clip_by_global_norm(tc.clip),
                       optax.adamw(schedule, tc.b1, tc.b2, weight_decay=tc.weight_decay, mask=decay_mask))
