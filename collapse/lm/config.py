"""The settings every byte-level LM study shares: corpus, model size, training, precision."""

from dataclasses import dataclass
from typing import Literal

from collapse.errors import require
from collapse.lm import model as lm
from collapse.lm.corpus import DEFAULT_CORPUS
from collapse.lm.train import TrainConfig


@dataclass(frozen=True)
class ByteLMConfig:
    """Base of the byte-level LM configs (the transformer family, the synthetic-share sweep, ToEdit on text).

    corpus: 'pydoc' (Python's reference docs, ships with Python), a folder of .txt files, or a .jsonl file.
    context: window length in bytes; width, depth, heads: model size; steps, batch, lr, warmup: every training
    run; holdout: held-out human windows; dtype: activation dtype (bfloat16 on accelerators; parameters and
    optimizer state stay float32).
    """

    corpus: str = DEFAULT_CORPUS
    context: int = 64
    width: int = 64
    depth: int = 2
    heads: int = 4
    steps: int = 150
    batch: int = 32
    lr: float = 3e-3
    warmup: int = 15
    holdout: int = 128
    dtype: Literal["float32", "bfloat16"] = "float32"

    def check_lm(self) -> None:
        """Sizes are positive integers and the model and training configs build (subclasses call this)."""
        for f in ("context", "width", "depth", "heads", "steps", "batch", "holdout"):
            v = getattr(self, f)
            require(v >= 1, f, v, "an integer >= 1")
        self.model_config  # noqa: B018 (validates width/heads)
        self.train_config  # noqa: B018

    @property
    def model_config(self):
        return lm.lm_config(width=self.width, depth=self.depth, heads=self.heads, context=self.context,
                            dtype=self.dtype)

    @property
    def train_config(self) -> TrainConfig:
        return TrainConfig(steps=self.steps, batch=self.batch, lr=self.lr, warmup=self.warmup)


LM_FIELD_HELP = {
    "corpus": "human corpus: 'pydoc' (Python's reference docs, ships with Python), a folder of .txt files, or a "
              ".jsonl file with a 'text' field",
    "context": "window length in bytes (the model's context)", "width": "model width", "depth": "transformer blocks",
    "heads": "attention heads (must divide width)", "steps": "optimizer steps of every training run",
    "batch": "windows per optimizer step", "lr": "peak AdamW learning rate (linear warmup, cosine decay)",
    "warmup": "warmup steps", "holdout": "held-out human windows (validation split) for perplexity",
    "dtype": "activation dtype: float32, or bfloat16 on accelerators (parameters stay float32)",
}
