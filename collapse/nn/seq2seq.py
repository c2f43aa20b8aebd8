"""An encoder–decoder transformer built from the shared blocks (:mod:`collapse.nn`), its teacher-forced training
with optax, and greedy and beam-search decoding with a KV cache — all jit-compiled and batched.

Why encoder–decoder (and not decoder-only with a prompt): it is the architecture of the experiment we reproduce
(Charton 2022; Feng et al. 2025 §2.2: encoder 6 layers / decoder 1 layer), the matrix is read bidirectionally,
and a 1-layer decoder makes each decoding step — the cost that beam search multiplies by k — cheap.

Targets have a fixed length (``tgt_len``: the task's grammar fixes how many tokens an answer has), so training
needs no padding mask and decoding runs exactly ``tgt_len`` steps; a decode that puts EOS or any other token in
the wrong place is simply undecodable, hence wrong.

Functional style: a model is ``(graphdef, params)`` from ``nnx.split``; training runs a chunk of optimizer steps
inside one ``lax.scan`` (per-step dispatch dominates small models on CPU, ENVIRONMENT.md).
"""

from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from collapse.errors import check_losses, require
from collapse.nn import Decoder, Encoder, TransformerConfig
from collapse.nn.train import TrainConfig, optimizer
from collapse.tasks.numbers import BOS


@dataclass(frozen=True)
class Seq2SeqConfig:
    """Sizes of an encoder–decoder. The paper's: width 512, 8 heads, encoder 6 / decoder 1 layers."""

    vocab_size: int
    src_len: int
    tgt_len: int
    width: int = 64
    heads: int = 4
    enc_depth: int = 6
    dec_depth: int = 1
    mlp_ratio: float = 4.0
    dtype: str = "float32"

    def __post_init__(self):
        for name in ("enc_depth", "dec_depth", "src_len", "tgt_len"):
            v = getattr(self, name)
            require(isinstance(v, int) and v >= 1, name, v, "a positive integer")

    def encoder_config(self) -> TransformerConfig:
        return TransformerConfig(vocab_size=self.vocab_size, width=self.width, depth=self.enc_depth,
                                 heads=self.heads, mlp_ratio=self.mlp_ratio, context=self.src_len,
                                 dtype=self.dtype)

    def decoder_config(self) -> TransformerConfig:
        return TransformerConfig(vocab_size=self.vocab_size, width=self.width, depth=self.dec_depth,
                                 heads=self.heads, mlp_ratio=self.mlp_ratio, context=self.tgt_len,
                                 dtype=self.dtype)


class Seq2Seq(nnx.Module):
    """Encoder (bidirectional, rotary) + decoder (causal, cross-attention, tied head)."""

    def __init__(self, cfg: Seq2SeqConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        self.encoder = Encoder(cfg.encoder_config(), rngs=rngs)
        self.decoder = Decoder(cfg.decoder_config(), rngs=rngs, cross_attention=True)

    def __call__(self, src, tgt_in):
        """Teacher forcing: src int [B, S], tgt_in int [B, T] → logits float32 [B, T, V]."""
        return self.decoder(tgt_in, encoder_out=self.encoder(src))


def init_model(cfg: Seq2SeqConfig, seed: int):
    """(graphdef, params) of a freshly initialized model."""
    return nnx.split(Seq2Seq(cfg, rngs=nnx.Rngs(seed)))


def shift_right(tgt):
    """Decoder inputs: BOS followed by the target without its last token."""
    return jnp.concatenate([jnp.full((tgt.shape[0], 1), BOS, tgt.dtype), tgt[:, :-1]], axis=1)


def loss_fn(graphdef, params, src, tgt):
    """Mean token cross-entropy of the target under teacher forcing."""
    logits = nnx.merge(graphdef, params)(src, shift_right(tgt))
    return optax.softmax_cross_entropy_with_integer_labels(logits, tgt).mean()


def train_config(steps: int, batch: int, lr: float) -> TrainConfig:
    """The encoder–decoders' training: warmup over min(100, steps/10) steps, cosine decay to lr/20, AdamW without
    weight decay (β₂ = 0.999)."""
    return TrainConfig(steps=steps, batch=batch, lr=lr, warmup=min(100, max(1, steps // 10)), min_lr_ratio=0.05,
                       weight_decay=0.0, b2=0.999)


@partial(jax.jit, static_argnames=("graphdef", "tx", "length", "batch"))
def _train_chunk(graphdef, tx, params, opt_state, src, tgt, count, key, start, *, length, batch):
    """``length`` optimizer steps in one scan; minibatches are drawn uniformly from the first ``count`` rows of
    (src, tgt) — the arrays keep a fixed capacity so every training set compiles once."""

    def step(carry, t):
        params, opt_state = carry
        idx = jax.random.randint(jax.random.fold_in(key, t), (batch,), 0, count)
        loss, grads = jax.value_and_grad(loss_fn, argnums=1)(graphdef, params, src[idx], tgt[idx])
        updates, opt_state = tx.update(grads, opt_state, params)
        return (optax.apply_updates(params, updates), opt_state), loss

    (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), start + jnp.arange(length))
    return params, opt_state, losses


def train(graphdef, params, src, tgt, cfg: TrainConfig, key, count=None, on_chunk=None, chunk: int = 250):
    """Train on rows [0, count) of (src [N, S], tgt [N, T]); returns (params, losses [steps]).

    on_chunk(steps_done, mean_loss) is called after every compiled chunk of ``chunk`` steps (progress, logging).
    """
    count = src.shape[0] if count is None else int(count)
    require(count >= 1, "training set", count, "at least one example")
    tx = optimizer(cfg)
    opt_state = tx.init(params)
    src, tgt = jnp.asarray(src), jnp.asarray(tgt)
    losses, done = [], 0
    while done < cfg.steps:
        length = min(chunk, cfg.steps - done)
        params, opt_state, loss = _train_chunk(graphdef, tx, params, opt_state, src, tgt, jnp.int32(count), key,
                                               jnp.int32(done), length=length, batch=cfg.batch)
        check_losses(loss, "encoder–decoder", done)  # stop at the first non-finite chunk, not after the run
        done += length
        losses.append(np.asarray(loss))
        if on_chunk is not None:
            on_chunk(done, float(losses[-1].mean()))
    return params, np.concatenate(losses)


# --- decoding -----------------------------------------------------------------------------------------
def _start(graphdef, params, src, rows):
    model = nnx.merge(graphdef, params)
    memory = model.encoder(src)
    memory = jnp.repeat(memory, rows, axis=0)  # each source's beams sit next to each other
    return model.decoder, memory


@partial(jax.jit, static_argnames=("graphdef", "length"))
def greedy(graphdef, params, src, *, length):
    """Greedy decoding: src int [B, S] → (tokens int [B, length], log-probability [B])."""
    decoder, memory = _start(graphdef, params, src, 1)
    b = src.shape[0]

    def step(carry, _):
        tok, cache, score = carry
        logits, cache = decoder.decode(tok[:, None], cache, encoder_out=memory)
        logp = jax.nn.log_softmax(logits[:, 0].astype(jnp.float32))
        nxt = jnp.argmax(logp, axis=-1).astype(jnp.int32)
        return (nxt, cache, score + jnp.take_along_axis(logp, nxt[:, None], 1)[:, 0]), nxt

    init = (jnp.full((b,), BOS, jnp.int32), decoder.init_cache(b, length), jnp.zeros((b,), jnp.float32))
    (_, _, score), toks = jax.lax.scan(step, init, None, length=length)
    return toks.T, score


@partial(jax.jit, static_argnames=("graphdef", "length", "k"))
def beam_search(graphdef, params, src, *, length, k):
    """Beam search: src int [B, S] → (tokens int [B, k, length], scores [B, k]).

    Every sequence has exactly ``length`` tokens; the k returned sequences per source are distinct and sorted by
    score (sum of token log-probabilities), best first. k = 1 is greedy decoding. Requires k ≤ vocabulary size.
    """
    decoder, memory = _start(graphdef, params, src, k)
    b = src.shape[0]
    vocab = decoder.cfg.vocab_size
    rows = jnp.arange(b)[:, None]

    def step(carry, t):
        tok, cache, scores, seqs = carry  # tok [B·k], scores [B, k], seqs [B, k, length]
        logits, cache = decoder.decode(tok[:, None], cache, encoder_out=memory)
        logp = jax.nn.log_softmax(logits[:, 0].astype(jnp.float32)).reshape(b, k, vocab)
        cand = (scores[:, :, None] + logp).reshape(b, k * vocab)
        scores, flat = jax.lax.top_k(cand, k)  # distinct (parent, token) pairs of distinct parents
        parent, nxt = flat // vocab, (flat % vocab).astype(jnp.int32)
        seqs = seqs[rows, parent].at[:, :, t].set(nxt)
        order = (rows * k + parent).reshape(-1)
        cache = cache._replace(layers=jax.tree_util.tree_map(lambda a: a[order], cache.layers))
        return (nxt.reshape(-1), cache, scores, seqs), None

    # Only beam 0 is live at the start, so the first expansion yields k distinct first tokens.
    scores = jnp.where(jnp.arange(k) == 0, 0.0, -jnp.inf)[None].repeat(b, 0).astype(jnp.float32)
    init = (jnp.full((b * k,), BOS, jnp.int32), decoder.init_cache(b * k, length), scores,
            jnp.zeros((b, k, length), jnp.int32))
    (_, _, scores, seqs), _ = jax.lax.scan(step, init, jnp.arange(length))
    return seqs, scores


def batched(fn, src, batch: int, **kw):
    """Apply a decoder ``fn(src_chunk, **kw)`` over src [N, S] in fixed-size chunks (the last one padded, so one
    compilation serves any N); returns the outputs concatenated along the first axis as NumPy arrays."""
    src = np.asarray(src)
    n = src.shape[0]
    outs = []
    for i in range(0, n, batch):
        chunk = src[i:i + batch]
        pad = batch - chunk.shape[0]
        if pad:
            chunk = np.concatenate([chunk, np.repeat(chunk[:1], pad, axis=0)])
        res = fn(jnp.asarray(chunk), **kw)
        keep = batch - pad
        outs.append(jax.tree_util.tree_map(lambda a, keep=keep: np.asarray(a)[:keep], res))
    return jax.tree_util.tree_map(lambda *xs: np.concatenate(xs), *outs)
