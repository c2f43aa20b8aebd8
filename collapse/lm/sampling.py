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
    first = jnp.full((batch, 1), BOS, jnp.int32)
    if prompt is not None:
        first = jnp.concatenate([first, prompt.astype(jnp.int32)], axis=1)
    segments = _segments(length, SEGMENTS)
    # Step i feeds the token at position p + 1 + i, so a segment ending at step s1 needs p + s1 + 1 cache slots
    # (capped at the context: the final step's decode is wasted work that keeps the scan body uniform).
    slots = [min(cfg.context, p + s1 + 1) for _, s1 in segments]
    logits, cache = dec.decode(first, dec.init_cache(batch, slots[0]))

    def pick(logits, noise):
        if temperature == 0:
            return jnp.argmax(logits, axis=-1).astype(jnp.int32)
        return jnp.argmax(filter_logits(logits, temperature, top_k, top_p) + noise, axis=-1).astype(jnp.int32)

    def step(carry, noise):
        cache, logits = carry
        tok = pick(logits, noise)
        new_logits, cache = dec.decode(tok[:, None], cache)
        return (cache, new_logits[:, -1]), tok

    def block(carry, block_keys):
        # jax.random.categorical(k, l) is argmax(l + gumbel(k, l.shape)). A block's noise drawn in one vmapped
        # call has the same bits as drawing it step by step from the same keys (threefry is a function of the key
        # alone), but runs as one wide kernel instead of c narrow ones inside the decode loop, where it cost ~40%
        # of a step on CPU (docs/lm_speed.md). Blocks bound the noise buffer's memory.
        noise = None if temperature == 0 else jax.vmap(
            lambda k: jax.random.gumbel(k, (batch, cfg.vocab_size), jnp.float32))(block_keys)
        return jax.lax.scan(step, carry, noise, length=block_keys.shape[0])

    keys = jax.random.split(key, length)  # one key per step, as ever
    carry, toks = (cache, logits[:, -1]), []
    for (s0, s1), n in zip(segments, slots, strict=True):
        # The cache grows between segments, so a step attends over the slots its segment can fill, not the whole
        # context: attention reads the cache once per step and was half the step's time at a full context.
        carry = (_grow(carry[0], n), carry[1])
        c = _block_steps(s1 - s0, batch * cfg.vocab_size * 4)
        carry, t = jax.lax.scan(block, carry, keys[s0:s1].reshape((s1 - s0) // c, c, *keys.shape[1:]))
        toks.append(t.reshape(s1 - s0, batch))
    return jnp.concatenate(toks).T


SEGMENTS = 4  # decode loops per sample call (at most one per 32 steps): each is compiled separately


def _segments(length: int, n: int) -> list[tuple[int, int]]:
    """[s0, s1) step ranges: ``n`` near-equal segments (fewer when ``length`` is short)."""
    n = max(1, min(n, length // 32))  # short samples (tests, small contexts) keep one loop: one compile
    edges = [round(i * length / n) for i in range(n + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def _grow(cache, slots: int):
    """The cache with its position axis zero-padded to ``slots`` (unfilled slots are masked as future)."""
    extra = slots - cache.layers[0].k.shape[2]
    if extra == 0:
        return cache
    pad = ((0, 0), (0, 0), (0, extra), (0, 0))
    return cache._replace(layers=jax.tree_util.tree_map(lambda a: jnp.pad(a, pad), cache.layers))


def _block_steps(length: int, noise_bytes_per_step: int, max_bytes: int = 32 * 2**20) -> int:
    """The largest divisor of ``length`` whose block of Gumbel noise fits in ``max_bytes`` (at least 1)."""
    fits = [d for d in range(1, length + 1) if length % d == 0 and d * noise_bytes_per_step <= max_bytes]
    return max(fits, default=1)
