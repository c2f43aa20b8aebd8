"""Transformer building blocks in Flax NNX, shared by every sequence model in the project.

Shapes: ``B`` batch, ``T`` query length, ``S`` key/value (or encoder) length, ``L`` cache length, ``W`` width,
``H`` heads, ``D = W // H`` head size, ``V`` vocabulary.

Pieces
------
- :class:`TransformerConfig` — one frozen config for every stack (validated on construction).
- :class:`Attention` — multi-head attention: self-attention (causal or bidirectional, rotary or no positions) or
  cross-attention (queries from the decoder, keys/values from an encoder output, no rotation: the encoder output
  already carries its positions). Self-attention supports a KV cache (:class:`KVCache`) for incremental decoding.
- :class:`MLP` (GELU), :class:`Block` (pre-norm: ``x + attn(norm(x))``, optional ``x + cross(norm(x), enc)``,
  ``x + mlp(norm(x))``), :class:`Embedder` (token embedding, optional learned positions, tied output head).
- :class:`Encoder` — bidirectional stack over tokens (``int [B, S]``) or already-embedded inputs
  (``float [B, S, W]``, when built with ``embed_tokens=False``); returns hidden states ``[B, S, W]``.
- :class:`Decoder` — causal stack with tied head; optional cross-attention to an encoder output.
  ``decoder(tokens)`` gives logits ``[B, T, V]``; ``decoder.init_cache(B, L)`` + ``decoder.decode(tokens, cache)``
  decode incrementally (prefill a prompt, then one token at a time) and equal the full recomputation.

Building an encoder–decoder (e.g. matrix entries in, eigenvalue tokens out)::

    cfg = TransformerConfig(vocab_size=V, width=256, depth=4, heads=8, context=128)
    enc = Encoder(cfg, rngs=nnx.Rngs(0), embed_tokens=True)   # or False, and feed float [B, S, W] features
    dec = Decoder(cfg, rngs=nnx.Rngs(1), cross_attention=True)
    memory = enc(src_tokens, mask=src_mask)                     # [B, S, W]; src_mask: bool [B, S], True = real
    logits = dec(tgt_in, encoder_out=memory, encoder_mask=src_mask)  # teacher forcing, [B, T, V]
    # greedy/sampled decoding: cache = dec.init_cache(B, max_len); logits, cache = dec.decode(tok, cache,
    #     encoder_out=memory, encoder_mask=src_mask), feeding one token [B, 1] per step (inside lax.scan).

Encoder and decoder may use different configs (depth, vocabulary) as long as their widths agree. Dropout is
driven by an explicit ``dropout_key`` argument (``None`` = deterministic), so modules hold no RNG state and
``nnx.split``/``nnx.merge`` round-trips through ``jax.jit``/``lax.scan``/``jax.vmap`` stay pure. Attention
softmax and norms run in float32 whatever ``dtype`` is (bf16 activations on accelerators).
"""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from collapse.errors import require

POSITIONS = ("rope", "learned")
NORMS = ("rms", "layer")
DTYPES = ("float32", "bfloat16", "float16")


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """Size and numerics of one transformer stack.

    vocab_size: tokens V (ignored by an :class:`Encoder` built with ``embed_tokens=False``).
    width: model width W; heads: H (must divide W); depth: number of blocks.
    mlp_ratio: hidden width of the MLP as a multiple of W.
    context: longest sequence (positions 0..context-1); longer inputs raise.
    dropout: rate on attention output, MLP output and embeddings (0 = none).
    positions: 'rope' (rotary, in self-attention) or 'learned' (absolute, added to embeddings).
    norm: 'rms' (RMSNorm) or 'layer' (LayerNorm).
    dtype: activation dtype; param_dtype: parameter dtype (keep float32 for training).
    rope_base: rotary frequency base.
    """

    vocab_size: int = 256
    width: int = 128
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    context: int = 128
    dropout: float = 0.0
    positions: str = "rope"
    norm: str = "rms"
    dtype: str = "float32"
    param_dtype: str = "float32"
    rope_base: float = 10_000.0

    def __post_init__(self):
        for name in ("vocab_size", "width", "depth", "heads", "context"):
            v = getattr(self, name)
            require(isinstance(v, int) and v >= 1, name, v, "a positive integer")
        require(self.width % self.heads == 0, "heads", self.heads, f"a divisor of width={self.width}")
        require(self.positions != "rope" or (self.width // self.heads) % 2 == 0, "heads", self.heads,
                "such that width/heads is even (rotary positions rotate pairs of dimensions)")
        require(self.mlp_ratio > 0, "mlp_ratio", self.mlp_ratio, "> 0")
        require(0.0 <= self.dropout < 1.0, "dropout", self.dropout, "in [0, 1)")
        require(self.positions in POSITIONS, "positions", self.positions, f"one of {POSITIONS}")
        require(self.norm in NORMS, "norm", self.norm, f"one of {NORMS}")
        require(self.dtype in DTYPES, "dtype", self.dtype, f"one of {DTYPES}")
        require(self.param_dtype in DTYPES, "param_dtype", self.param_dtype, f"one of {DTYPES}")

    @property
    def head_dim(self) -> int:
        return self.width // self.heads

    @property
    def mlp_width(self) -> int:
        return int(round(self.mlp_ratio * self.width))

    @property
    def jdtype(self):
        return jnp.dtype(self.dtype)

    @property
    def jparam_dtype(self):
        return jnp.dtype(self.param_dtype)


class KVCache(NamedTuple):
    """Keys and values of one self-attention layer for positions ``0..L-1``: ``k, v: [B, H, L, D]``.

    Heads-major, so each step's attention reads the cache as a batched [L, D] matrix per (sequence, head) in
    place. Sequence-major ([B, L, H, D], the projections' natural order) made XLA on CPU transpose every
    layer's whole cache once per decoded token to feed its batched dot (docs/lm_speed.md).
    """

    k: jax.Array
    v: jax.Array


class DecodeCache(NamedTuple):
    """A decoder's cache: one :class:`KVCache` per block and ``index``, the number of positions filled (int32)."""

    layers: tuple[KVCache, ...]
    index: jax.Array


def _heads_major(x: jax.Array, dtype) -> jax.Array:
    """[B, T, H, D] → [B, H, T, D] in the cache's dtype (only this step's T positions are moved)."""
    return jnp.swapaxes(x, 1, 2).astype(dtype)


def rope(x: jax.Array, positions: jax.Array, base: float) -> jax.Array:
    """Rotary position embedding (Su et al. 2021, RoFormer, Eq. 34), half-split convention.

    x: [B, T, H, D]; positions: int [B, T] or [T]. Returns x rotated, same dtype.
    """
    d = x.shape[-1]
    freq = base ** (-jnp.arange(0, d // 2, dtype=jnp.float32) * 2.0 / d)  # [D/2]
    pos = jnp.broadcast_to(positions, x.shape[:2]).astype(jnp.float32)
    angle = pos[:, :, None, None] * freq  # [B, T, 1, D/2]
    sin, cos = jnp.sin(angle), jnp.cos(angle)
    x1, x2 = jnp.split(x.astype(jnp.float32), 2, axis=-1)
    out = jnp.concatenate([x1 * cos - x2 * sin, x2 * cos + x1 * sin], axis=-1)
    return out.astype(x.dtype)


def _norm(cfg: TransformerConfig, rngs: nnx.Rngs) -> nnx.Module:
    cls = nnx.RMSNorm if cfg.norm == "rms" else nnx.LayerNorm
    return cls(cfg.width, epsilon=1e-6, dtype=jnp.float32, param_dtype=cfg.jparam_dtype, rngs=rngs)


def _dropout(x: jax.Array, rate: float, key: jax.Array | None) -> jax.Array:
    if key is None or rate == 0.0:
        return x
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0).astype(x.dtype)


def _split(key: jax.Array | None, n: int):
    return [None] * n if key is None else list(jax.random.split(key, n))


class Attention(nnx.Module):
    """Multi-head attention (no biases).

    Self-attention: ``attn(x, positions=..., causal=...)``; cross-attention (built with ``cross=True``):
    ``attn(x, kv=encoder_out, kv_mask=encoder_mask)``.
    """

    def __init__(self, cfg: TransformerConfig, *, rngs: nnx.Rngs, cross: bool = False):
        self.cfg, self.cross = cfg, cross
        lin = dict(use_bias=False, dtype=cfg.jdtype, param_dtype=cfg.jparam_dtype, rngs=rngs)
        self.q = nnx.Linear(cfg.width, cfg.width, **lin)
        self.k = nnx.Linear(cfg.width, cfg.width, **lin)
        self.v = nnx.Linear(cfg.width, cfg.width, **lin)
        # Residual projections start small so a deep pre-norm stack begins near the identity (GPT-2 style).
        out_init = nnx.initializers.normal(0.02 / (2 * cfg.depth) ** 0.5)
        self.o = nnx.Linear(cfg.width, cfg.width, kernel_init=out_init, **lin)

    def _heads(self, y: jax.Array) -> jax.Array:
        return y.reshape(*y.shape[:2], self.cfg.heads, self.cfg.head_dim)

    def __call__(
        self,
        x: jax.Array,
        *,
        positions: jax.Array | None = None,
        causal: bool = False,
        mask: jax.Array | None = None,
        kv: jax.Array | None = None,
        kv_mask: jax.Array | None = None,
        cache: KVCache | None = None,
        cache_index: jax.Array | None = None,
        dropout_key: jax.Array | None = None,
    ) -> tuple[jax.Array, KVCache | None]:
        """x: [B, T, W]. Returns (out [B, T, W], updated cache or None).

        positions: int [B, T] or [T] (self-attention; default 0..T-1, or cache_index + 0..T-1 with a cache).
        mask: bool [B, T, S] extra self-attention mask (True = may attend), combined with ``causal``.
        kv / kv_mask: encoder output [B, S, W] and bool [B, S] (True = real token), cross-attention only.
        cache / cache_index: write this call's keys/values at ``cache_index`` and attend over the whole cache
            (slots past the current position are masked causally), for incremental decoding.
        """
        cfg = self.cfg
        b, t, _ = x.shape
        q = self._heads(self.q(x))
        if self.cross:
            require(kv is not None, "kv", None, "an encoder output [B, S, W] for cross-attention")
            k, v = self._heads(self.k(kv)), self._heads(self.v(kv))
            allowed = None if kv_mask is None else kv_mask[:, None, None, :]  # [B, 1, 1, S]
        else:
            k, v = self._heads(self.k(x)), self._heads(self.v(x))
            start = jnp.zeros((), jnp.int32) if cache_index is None else cache_index
            if positions is None:
                positions = start + jnp.arange(t, dtype=jnp.int32)
            positions = jnp.broadcast_to(positions, (b, t))
            if cfg.positions == "rope":
                q, k = rope(q, positions, cfg.rope_base), rope(k, positions, cfg.rope_base)
            if cache is not None:
                zero = jnp.zeros((), jnp.int32)
                at = (zero, zero, start.astype(jnp.int32), zero)
                k = jax.lax.dynamic_update_slice(cache.k, _heads_major(k, cache.k.dtype), at)
                v = jax.lax.dynamic_update_slice(cache.v, _heads_major(v, cache.v.dtype), at)
                cache = KVCache(k, v)
                key_pos = jnp.arange(k.shape[2], dtype=jnp.int32)[None, None, :]  # [1, 1, L]
                allowed = key_pos <= positions[:, :, None]  # unfilled slots lie in the future
            else:
                key_pos = positions[:, None, :]
                allowed = (key_pos <= positions[:, :, None]) if causal else None
            if mask is not None:
                allowed = mask if allowed is None else allowed & mask
            if allowed is not None:
                allowed = allowed[:, None, :, :]  # [B, 1, T, S]
        # A cache is stored heads-major (see KVCache), everything else sequence-major.
        kv_spec = "bhsd" if cache is not None else "bshd"
        logits = jnp.einsum(f"bthd,{kv_spec}->bhts", q, k, preferred_element_type=jnp.float32)
        logits = logits / jnp.sqrt(jnp.float32(cfg.head_dim))
        if allowed is not None:
            logits = jnp.where(allowed, logits, jnp.finfo(jnp.float32).min)
        probs = jax.nn.softmax(logits, axis=-1).astype(v.dtype)
        out = jnp.einsum(f"bhts,{kv_spec}->bthd", probs, v).reshape(b, t, cfg.width)
        out = _dropout(self.o(out.astype(cfg.jdtype)), cfg.dropout, dropout_key)
        return out, cache


class MLP(nnx.Module):
    """Two-layer GELU MLP, W → mlp_width → W."""

    def __init__(self, cfg: TransformerConfig, *, rngs: nnx.Rngs):
        self.cfg = cfg
        lin = dict(use_bias=False, dtype=cfg.jdtype, param_dtype=cfg.jparam_dtype, rngs=rngs)
        self.up = nnx.Linear(cfg.width, cfg.mlp_width, **lin)
        out_init = nnx.initializers.normal(0.02 / (2 * cfg.depth) ** 0.5)
        self.down = nnx.Linear(cfg.mlp_width, cfg.width, kernel_init=out_init, **lin)

    def __call__(self, x: jax.Array, dropout_key: jax.Array | None = None) -> jax.Array:
        return _dropout(self.down(jax.nn.gelu(self.up(x))), self.cfg.dropout, dropout_key)


class Block(nnx.Module):
    """Pre-norm transformer block: self-attention, optional cross-attention, MLP, each with a residual."""

    def __init__(self, cfg: TransformerConfig, *, rngs: nnx.Rngs, causal: bool, cross_attention: bool = False):
        self.cfg, self.causal, self.has_cross = cfg, causal, cross_attention
        self.norm1 = _norm(cfg, rngs)
        self.attn = Attention(cfg, rngs=rngs)
        if cross_attention:
            self.norm_cross = _norm(cfg, rngs)
            self.cross = Attention(cfg, rngs=rngs, cross=True)
        self.norm2 = _norm(cfg, rngs)
        self.mlp = MLP(cfg, rngs=rngs)

    def __call__(
        self,
        x: jax.Array,
        *,
        positions: jax.Array | None = None,
        mask: jax.Array | None = None,
        encoder_out: jax.Array | None = None,
        encoder_mask: jax.Array | None = None,
        cache: KVCache | None = None,
        cache_index: jax.Array | None = None,
        dropout_key: jax.Array | None = None,
    ) -> tuple[jax.Array, KVCache | None]:
        """x: [B, T, W] → ([B, T, W], updated self-attention cache or None)."""
        k_attn, k_cross, k_mlp = _split(dropout_key, 3)
        dt = self.cfg.jdtype
        h, cache = self.attn(self.norm1(x).astype(dt), positions=positions, causal=self.causal, mask=mask,
                             cache=cache, cache_index=cache_index, dropout_key=k_attn)
        x = x + h
        if self.has_cross:
            h, _ = self.cross(self.norm_cross(x).astype(dt), kv=encoder_out, kv_mask=encoder_mask,
                              dropout_key=k_cross)
            x = x + h
        return x + self.mlp(self.norm2(x).astype(dt), k_mlp), cache


class Embedder(nnx.Module):
    """Token embedding (and learned positions if configured); ``attend`` is the tied output head."""

    def __init__(self, cfg: TransformerConfig, *, rngs: nnx.Rngs, embed_tokens: bool = True):
        self.cfg, self.embed_tokens = cfg, embed_tokens
        init = nnx.initializers.normal(cfg.width ** -0.5)
        if embed_tokens:
            self.tokens = nnx.Embed(cfg.vocab_size, cfg.width, dtype=cfg.jdtype, param_dtype=cfg.jparam_dtype,
                                    embedding_init=init, rngs=rngs)
        if cfg.positions == "learned":
            self.positions = nnx.Embed(cfg.context, cfg.width, dtype=cfg.jdtype, param_dtype=cfg.jparam_dtype,
                                       embedding_init=nnx.initializers.normal(0.02), rngs=rngs)

    def __call__(self, inputs: jax.Array, positions: jax.Array) -> jax.Array:
        """inputs: int [B, T] (or float [B, T, W] without token embedding); positions: int [B, T] or [T]."""
        x = self.tokens(inputs) if self.embed_tokens else inputs.astype(self.cfg.jdtype)
        if self.cfg.positions == "learned":
            x = x + self.positions(jnp.broadcast_to(positions, x.shape[:2]))
        return x

    def attend(self, x: jax.Array) -> jax.Array:
        """Tied output head: hidden [B, T, W] → float32 logits [B, T, V]."""
        emb = self.tokens.embedding[...].astype(self.cfg.jdtype)
        return jnp.einsum("btw,vw->btv", x.astype(self.cfg.jdtype), emb, preferred_element_type=jnp.float32)


def _check_length(cfg: TransformerConfig, length: int, what: str) -> None:
    require(length <= cfg.context, what, length, f"at most the configured context={cfg.context}")


class Encoder(nnx.Module):
    """Bidirectional transformer stack: inputs → hidden states [B, S, W] (final norm applied)."""

    def __init__(self, cfg: TransformerConfig, *, rngs: nnx.Rngs, embed_tokens: bool = True):
        self.cfg = cfg
        self.embed = Embedder(cfg, rngs=rngs, embed_tokens=embed_tokens)
        self.blocks = nnx.List([Block(cfg, rngs=rngs, causal=False) for _ in range(cfg.depth)])
        self.norm = _norm(cfg, rngs)

    def __call__(self, inputs: jax.Array, *, mask: jax.Array | None = None,
                 dropout_key: jax.Array | None = None) -> jax.Array:
        """inputs: int [B, S] or float [B, S, W]; mask: bool [B, S], True = real (padding is never attended)."""
        s = inputs.shape[1]
        _check_length(self.cfg, s, "sequence length")
        pos = jnp.arange(s, dtype=jnp.int32)
        keys = _split(dropout_key, self.cfg.depth + 1)
        x = _dropout(self.embed(inputs, pos), self.cfg.dropout, keys[0])
        pair = None if mask is None else (mask[:, None, :] & jnp.ones((1, s, 1), bool))  # [B, S, S]
        for blk, k in zip(self.blocks, keys[1:], strict=True):
            x, _ = blk(x, positions=pos, mask=pair, dropout_key=k)
        return self.norm(x).astype(self.cfg.jdtype)


class Decoder(nnx.Module):
    """Causal transformer stack with tied output head; optional cross-attention to an encoder output.

    A decoder-only language model is ``Decoder(cfg, rngs=...)``.
    """

    def __init__(self, cfg: TransformerConfig, *, rngs: nnx.Rngs, cross_attention: bool = False):
        self.cfg, self.cross_attention = cfg, cross_attention
        self.embed = Embedder(cfg, rngs=rngs)
        self.blocks = nnx.List([Block(cfg, rngs=rngs, causal=True, cross_attention=cross_attention)
                                for _ in range(cfg.depth)])
        self.norm = _norm(cfg, rngs)

    def _run(self, tokens, positions, encoder_out, encoder_mask, cache, dropout_key):
        keys = _split(dropout_key, self.cfg.depth + 1)
        x = _dropout(self.embed(tokens, positions), self.cfg.dropout, keys[0])
        new_layers = []
        for i, blk in enumerate(self.blocks):
            layer_cache = None if cache is None else cache.layers[i]
            x, layer_cache = blk(x, positions=positions, encoder_out=encoder_out, encoder_mask=encoder_mask,
                                 cache=layer_cache, cache_index=None if cache is None else cache.index,
                                 dropout_key=keys[i + 1])
            new_layers.append(layer_cache)
        return self.embed.attend(self.norm(x)), new_layers

    def __call__(self, tokens: jax.Array, *, encoder_out: jax.Array | None = None,
                 encoder_mask: jax.Array | None = None, dropout_key: jax.Array | None = None) -> jax.Array:
        """tokens: int [B, T] → logits float32 [B, T, V]; position t sees tokens 0..t only."""
        t = tokens.shape[1]
        _check_length(self.cfg, t, "sequence length")
        logits, _ = self._run(tokens, jnp.arange(t, dtype=jnp.int32), encoder_out, encoder_mask, None, dropout_key)
        return logits

    def init_cache(self, batch: int, length: int | None = None, dtype=None) -> DecodeCache:
        """An empty cache for ``batch`` sequences of up to ``length`` (default: context) positions."""
        length = self.cfg.context if length is None else length
        _check_length(self.cfg, length, "cache length")
        shape = (batch, self.cfg.heads, length, self.cfg.head_dim)  # heads-major, see KVCache
        dtype = self.cfg.jdtype if dtype is None else dtype
        layers = tuple(KVCache(jnp.zeros(shape, dtype), jnp.zeros(shape, dtype)) for _ in range(self.cfg.depth))
        return DecodeCache(layers, jnp.zeros((), jnp.int32))

    def decode(self, tokens: jax.Array, cache: DecodeCache, *, encoder_out: jax.Array | None = None,
               encoder_mask: jax.Array | None = None) -> tuple[jax.Array, DecodeCache]:
        """Incremental decoding: tokens [B, T] at positions ``cache.index .. cache.index + T - 1``.

        Returns (logits [B, T, V], cache advanced by T). Prefill a prompt with T = prompt length, then feed one
        token per step. Writing past the cache length is not checked inside jit (the caller sizes the cache).
        """
        t = tokens.shape[1]
        pos = cache.index + jnp.arange(t, dtype=jnp.int32)
        logits, layers = self._run(tokens, pos, encoder_out, encoder_mask, cache, None)
        return logits, DecodeCache(tuple(layers), cache.index + t)


def count_params(module: nnx.Module) -> int:
    """Number of parameters (nnx.Param leaves) in ``module``."""
    return sum(int(p.size) for p in jax.tree.leaves(nnx.state(module, nnx.Param)))
