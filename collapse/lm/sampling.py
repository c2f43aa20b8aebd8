"""Batched sampling with a KV cache inside ``lax.scan``: temperature, top-k, top-p (nucleus)."""

import jax
import jax.numpy as jnp

from collapse.errors import require
from collapse.lm import model as lm
from collapse.lm.tokenizer import BOS


def filter_logits(logits, temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0):
    """Scaled and truncated logits [B, V] (removed tokens get -inf). top_k=0 / top_p=1 turn a filter off."""
    logits = logits.astype(jnp.float32) / temperature
    neg = jnp.finfo(jnp.float32).min
    if top_k > 0:
        kth = jax.lax.top_k(logits, top_k)[0][:, -1:]
        logits = jnp.where(logits < kth, neg, logits)
    if top_p < 1.0:
        order = jnp.argsort(-logits, axis=-1)
        sorted_logits = jnp.take_along_axis(logits, order, axis=-1)
        probs = jax.nn.softmax(sorted_logits, axis=-1)
        before = jnp.cumsum(probs, axis=-1) - probs  # mass strictly above each token: keep while < p
        keep_sorted = before < top_p
        keep = jnp.zeros_like(keep_sorted).at[jnp.arange(logits.shape[0])[:, None], order].set(keep_sorted)
        logits = jnp.where(keep, logits, neg)
    return logits


def check_sampling(temperature, top_k, top_p, vocab):
    require(temperature >= 0, "temperature", temperature, ">= 0 (0 = greedy)")
    require(isinstance(top_k, int) and 0 <= top_k <= vocab, "top_k", top_k, f"an integer in [0, {vocab}] (0 = off)")
    require(0 < top_p <= 1, "top_p", top_p, "in (0, 1] (1 = off)")


def sample(cfg, params, key, batch: int, length: int, *, temperature: float = 1.0, top_k: int = 0,
           top_p: float = 1.0, prompt=None):
    """``batch`` sequences of ``length`` new tokens: int32 [batch, length].

    Each sequence starts at BOS, then ``prompt`` (int [batch, P], optional) is prefilled in one call; the new
    tokens follow. temperature 0 is greedy decoding. Pure and jittable (all arguments but key/params/prompt
    static).
    """
    check_sampling(temperature, top_k, top_p, cfg.vocab_size)
    p = 0 if prompt is None else prompt.shape[1]
    require(1 + p + length - 1 <= cfg.context, "length", length,
            f"at most context − prompt length = {cfg.context - p} (context={cfg.context})")
    dec = lm.model(cfg, params)
    cache = dec.init_cache(batch, cfg.context)
    first = jnp.full((batch, 1), BOS, jnp.int32)
    if prompt is not None:
        first = jnp.concatenate([first, prompt.astype(jnp.int32)], axis=1)
    logits, cache = dec.decode(first, cache)

    def pick(k, logits):
        if temperature == 0:
            return jnp.argmax(logits, axis=-1).astype(jnp.int32)
        return jax.random.categorical(k, filter_logits(logits, temperature, top_k, top_p), axis=-1).astype(jnp.int32)

    def step(carry, k):
        cache, logits = carry
        tok = pick(k, logits)
        new_logits, cache = dec.decode(tok[:, None], cache)
        return (cache, new_logits[:, -1]), tok

    keys = jax.random.split(key, length)
    # the last step's decode is wasted work; it keeps the scan body uniform
    _, toks = jax.lax.scan(step, (cache, logits[:, -1]), keys)
    return toks.T
