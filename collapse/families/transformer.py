"""A byte-level transformer language model in the self-consuming loop (docs/papers/zhu2025.md; Shumailov et al. 2024,
Gerstgrasser et al. 2024 for the modes).

One sample is a window of ``context`` bytes. Generation 1 trains on ``T`` windows drawn at random from the human
corpus's train split; generation n trains on windows *sampled* from model n − 1 (unconditionally, from BOS),
combined with human windows as the engine's mode says. Every generation trains a fresh model for the same number
of optimizer steps (matched compute; accumulate therefore sees each window fewer times as the pool grows).

Everything is a pure JAX function, so the engine vmaps replicates and scans generations exactly as for the
closed-form families: the whole loop — training in a ``lax.scan`` over steps, KV-cache sampling in a ``lax.scan``
over positions, scoring — is one compiled program. (fit() gets no key from the engine, so every generation of a
replicate starts from the same initialization and draws minibatch indices from the same key stream; only the
data differ between generations.)

Metrics per generation: ``heldout_ppl`` (human validation windows, the main metric), ``heldout_nll``,
``train_loss`` (mean over the last 10% of steps), n-gram diagnostics of a fresh sample of ``diag_samples``
windows (:func:`collapse.lm.ngrams.text_stats`; ``tail_recall_human`` is the same recall for as many held-out
human windows, a reference), and ``tokprob_bin0..9``: the 10-bin histogram of the model's probability of each
held-out human token.
"""

from dataclasses import dataclass
from typing import ClassVar, Literal, NamedTuple, get_args

import jax
import jax.numpy as jnp

from collapse.errors import require
from collapse.families.base import RealSynthSizes, Segment
from collapse.lm import model as lm
from collapse.lm.config import ByteLMConfig
from collapse.lm.corpus import DEFAULT_CORPUS
from collapse.lm.edit import EditRule, edit_from_logprobs, fit_bigram, ngram_logprobs, transformer_logprobs
from collapse.lm.ngrams import text_stats
from collapse.lm.sampling import check_sampling, sample
from collapse.lm.scoring import probability_histogram
from collapse.lm.tokenizer import VOCAB_SIZE
from collapse.lm.train import train
from collapse.lm.windows import CorpusWindows, LMWorld
from collapse.validate import check_fields

Prior = Literal["model", "bigram"]
PRIORS = get_args(Prior)  # editing prior: model n − 1 (iterated ToEdit) or a byte bigram of the block


class LMParams(NamedTuple):
    params: object
    train_loss: jax.Array


@dataclass(frozen=True)
class TransformerLM(CorpusWindows, ByteLMConfig, RealSynthSizes):
    """Model family: a decoder-only byte-level transformer (see module docstring).

    T: human windows per block; M: synthetic windows per generation (default T).
    steps, batch, lr, warmup: training of each generation. temperature, top_k, top_p: sampling.
    edit_threshold, edit_direction, edit_top_k, edit_top_p, edit_beta, prior: token editing in edit mode with the
    "tokens" schedule (:class:`collapse.lm.edit.EditRule`; prior "model" = model n − 1, "bigram" = a byte bigram
    of the block being edited).
    """

    main_metric: ClassVar[str] = "heldout_ppl"  # the metric figures and verdicts use

    corpus: str = DEFAULT_CORPUS
    context: int = 64
    T: int = 256
    M: int | None = None
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 1.0
    holdout: int = 128
    diag_samples: int = 64
    edit_threshold: float = 0.99
    edit_direction: Literal["above", "below"] = "above"
    edit_top_k: int = 8
    edit_top_p: float = 1.0
    edit_beta: float = 1.5
    prior: Prior = "model"
    dtype: Literal["float32", "bfloat16"] = "float32"
    name: str = "transformer"

    def __post_init__(self):
        check_fields(self)
        self.check_lm()
        for f in ("T", "diag_samples"):
            require(getattr(self, f) >= 1, f, getattr(self, f), "an integer >= 1")
        require(self.M is None or (isinstance(self.M, int) and self.M >= 1), "M", self.M, "an integer >= 1")
        check_sampling(self.temperature, self.top_k, self.top_p, VOCAB_SIZE)
        require(self.prior in PRIORS, "prior", self.prior, f"one of {', '.join(PRIORS)}")
        self.edit_rule  # noqa: B018 (validates the edit_* fields)
        self._human()  # corpus errors surface here

    @property
    def edit_rule(self) -> EditRule:
        return EditRule(self.edit_threshold, self.edit_direction, self.edit_top_k, self.edit_top_p, self.edit_beta)

    def tokens_per_generation(self) -> int:
        """Training tokens one replicate processes per generation (for progress reports)."""
        return self.steps * self.batch * self.context

    # -- model -----------------------------------------------------------------------------
    def fit(self, world: LMWorld, segments: tuple[Segment, ...]) -> LMParams:
        data = jnp.concatenate([s.data.reshape(-1, self.context) for s in segments]).astype(jnp.int32)
        weights = jnp.concatenate([s.weight.reshape(-1).astype(jnp.float32) for s in segments])
        params, losses = train(self.model_config, self.train_config, data, weights, world.key)
        tail = max(1, self.steps // 10)
        return LMParams(params, jnp.mean(losses[-tail:]))

    def _sample(self, key, params: LMParams, size: int):
        return sample(self.model_config, params.params, key, size, self.context, temperature=self.temperature,
                      top_k=self.top_k, top_p=self.top_p)

    def generate(self, key, world: LMWorld, params: LMParams, size: int):
        return self._sample(key, params, size).astype(jnp.float32)

    def score(self, key, world: LMWorld, params: LMParams) -> dict:
        _, held, rare, ref_recall = self._human()
        lp = lm.token_logprobs(self.model_config, params.params, jnp.asarray(held))
        nll = -jnp.mean(lp)
        out = {"heldout_ppl": jnp.exp(nll), "heldout_nll": nll, "train_loss": params.train_loss}
        out.update(text_stats(self._sample(key, params, self.diag_samples), jnp.asarray(rare)))
        out["tail_recall_human"] = jnp.float32(ref_recall)
        hist = probability_histogram(lp, 10)
        out.update({f"tokprob_bin{i}": hist[i] for i in range(10)})
        return out

    # -- token editing (edit mode, schedule "tokens"; collapse/lm/edit.py) ----------------------------------
    def edit(self, key, world: LMWorld, params: LMParams, block):
        """ToEdit one block of windows with model n − 1 (prior "model") or a byte bigram fitted to the block
        (prior "bigram") as the prior: (edited block, eligible [T, L], changed [T, L]). Windows are edited one
        at a time under lax.map (bounded memory: the prior's [L, V] log-probabilities per window)."""
        tokens = block.astype(jnp.int32)
        rule = self.edit_rule
        if self.prior == "model":
            logprobs, state = transformer_logprobs(self.model_config), params.params
        else:
            logprobs, state = ngram_logprobs(2), fit_bigram(tokens)

        def one(args):
            k, row = args
            e = edit_from_logprobs(k, row[None], logprobs(state, row[None]), rule)
            return e.tokens[0], e.eligible[0], e.changed[0]

        keys = jax.random.split(key, tokens.shape[0])
        new, eligible, changed = jax.lax.map(one, (keys, tokens), batch_size=min(64, tokens.shape[0]))
        return new.astype(block.dtype), eligible, changed
