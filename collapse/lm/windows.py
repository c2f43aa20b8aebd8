"""The byte-corpus data of the LM families (the transformer and its counting limit, the n-gram model): human
windows of the training split, the held-out windows, and the engine's world / real-data methods over them.

A family mixes in :class:`CorpusWindows` and has the fields ``corpus``, ``context``, ``holdout``,
``diag_samples`` and ``T``; it shares the same windows, held-out text and rare-bigram reference as every other
LM family on that corpus, so their loops are comparable window for window.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse.errors import require
from collapse.lm.corpus import load_corpus, windows
from collapse.lm.ngrams import bigram_counts


class LMWorld(NamedTuple):
    key: jax.Array  # the replicate's training key
    real: jax.Array  # float32 [T, L] human windows generation 1 trains on


@functools.lru_cache(maxsize=8)
def human_data(corpus: str, context: int, holdout: int, diag_samples: int):
    """Train stream, held-out windows, rare-bigram mask and the human tail-recall reference (host arrays)."""
    c = load_corpus(corpus)
    train_tokens = c.split("train").tokens()
    val = c.split("validation").tokens()
    require(len(train_tokens) >= 2 * context, "context", context,
            f"at most half the train split's length ({len(train_tokens)} tokens of corpus {corpus!r})")
    held = windows(val, context, holdout, source=f"validation split of corpus {corpus!r}")
    counts = np.asarray(bigram_counts(train_tokens[None, :]))
    rare = (counts >= 1) & (counts <= 2)
    ref = windows(val, context, min(diag_samples, len(val) // context), source="validation split")
    ref_recall = float(np.sum((np.asarray(bigram_counts(ref)) > 0) & rare) / max(rare.sum(), 1))
    return train_tokens, held, rare, ref_recall


class CorpusWindows:
    """setup / sample_real / initial_real of a family trained on random windows of a byte corpus."""

    def _human(self):
        return human_data(self.corpus, self.context, self.holdout, self.diag_samples)

    def _random_windows(self, key, count):
        stream = jnp.asarray(self._human()[0])
        starts = jax.random.randint(key, (count,), 0, stream.shape[0] - self.context + 1, dtype=jnp.int32)
        # float32 blocks: the policies give per-sample weights the data's dtype, and fresh mode needs fractions
        return stream[starts[:, None] + jnp.arange(self.context, dtype=jnp.int32)].astype(jnp.float32)

    def setup(self, key, synth_size: int) -> LMWorld:
        k_fit, k_real = jax.random.split(key)
        return LMWorld(k_fit, self._random_windows(k_real, self.T))

    def sample_real(self, key, world: LMWorld):
        return self._random_windows(key, self.T)

    def initial_real(self, world: LMWorld):
        return world.real
