"""Transformer blocks: shapes, no future leakage, KV-cache decoding = full recomputation, encoder–decoder."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from collapse.errors import ConfigError
from collapse.nn import Decoder, Encoder, TransformerConfig, count_params

CFG = TransformerConfig(vocab_size=17, width=32, depth=2, heads=4, context=16)


@nnx.jit
def _apply(model, *args, **kw):
    return model(*args, **kw)


@nnx.jit
def _decode(model, tokens, cache, **kw):
    return model.decode(tokens, cache, **kw)


def _tokens(seed, b=2, t=12, v=17):
    return jax.random.randint(jax.random.key(seed), (b, t), 0, v, dtype=jnp.int32)


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_decoder_shapes_and_dtype(positions):
    cfg = TransformerConfig(vocab_size=17, width=32, depth=2, heads=4, context=16, positions=positions)
    dec = Decoder(cfg, rngs=nnx.Rngs(0))
    logits = _apply(dec, _tokens(0))
    assert logits.shape == (2, 12, 17) and logits.dtype == jnp.float32
    assert count_params(dec) > 0


@pytest.mark.parametrize("positions", ["rope", "learned"])
def test_causal_mask_no_future_leakage(positions):
    cfg = TransformerConfig(vocab_size=17, width=32, depth=2, heads=4, context=16, positions=positions)
    dec = Decoder(cfg, rngs=nnx.Rngs(1))
    x = _tokens(1)
    y = x.at[:, 7].set((x[:, 7] + 1) % 17)  # change token 7 only
    a, b = _apply(dec, x), _apply(dec, y)
    np.testing.assert_array_equal(np.asarray(a[:, :7]), np.asarray(b[:, :7]))
    assert np.abs(np.asarray(a[:, 7:] - b[:, 7:])).max() > 1e-6


@pytest.mark.parametrize("cross", [False, True])
def test_kv_cache_decoding_equals_recomputation(cross):
    dec = Decoder(CFG, rngs=nnx.Rngs(2), cross_attention=cross)
    x = _tokens(2)
    kw = {}
    if cross:
        enc = Encoder(CFG, rngs=nnx.Rngs(3))
        src = _tokens(4, t=9)
        mask = jnp.arange(9)[None, :] < jnp.array([[9], [5]])
        kw = dict(encoder_out=_apply(enc, src, mask=mask), encoder_mask=mask)
    full = _apply(dec, x, **kw)
    cache = dec.init_cache(2, 16)
    logits, cache = _decode(dec, x[:, :5], cache, **kw)  # prefill
    steps = [logits]
    for t in range(5, 12):
        logits, cache = _decode(dec, x[:, t:t + 1], cache, **kw)
        steps.append(logits)
    np.testing.assert_allclose(np.asarray(jnp.concatenate(steps, 1)), np.asarray(full), atol=2e-5, rtol=2e-5)
    assert int(cache.index) == 12


def test_encoder_bidirectional_and_padding_ignored():
    enc = Encoder(CFG, rngs=nnx.Rngs(5))
    x = _tokens(5, t=10)
    y = x.at[:, 8].set((x[:, 8] + 3) % 17)
    # earlier positions see later ones
    assert np.abs(np.asarray(_apply(enc, x)[:, 0] - _apply(enc, y)[:, 0])).max() > 1e-6
    mask = jnp.arange(10)[None, :] < 8  # positions 8, 9 are padding
    np.testing.assert_allclose(np.asarray(_apply(enc, x, mask=mask)[:, :8]),
                               np.asarray(_apply(enc, y, mask=mask)[:, :8]),
                               atol=1e-6)


def test_encoder_on_float_features():
    enc = Encoder(CFG, rngs=nnx.Rngs(6), embed_tokens=False)
    h = _apply(enc, jax.random.normal(jax.random.key(0), (3, 7, 32)))
    assert h.shape == (3, 7, 32)


def test_bad_config_and_too_long_input():
    with pytest.raises(ConfigError, match="heads"):
        TransformerConfig(width=30, heads=4)
    with pytest.raises(ConfigError, match="positions"):
        TransformerConfig(positions="alibi")
    with pytest.raises(ConfigError, match="context=16"):
        Decoder(CFG, rngs=nnx.Rngs(0))(_tokens(0, t=17))


def test_bf16_activations():
    cfg = TransformerConfig(vocab_size=17, width=32, depth=1, heads=4, context=16, dtype="bfloat16")
    logits = _apply(Decoder(cfg, rngs=nnx.Rngs(0)), _tokens(0))
    assert logits.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(logits)))
