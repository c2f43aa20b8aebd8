"""The fast LM sampler (growing heads-major KV cache, Gumbel noise drawn per block of steps) against the plain one:
identical tokens for a fixed key, and token frequencies in law with the model's softmax."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from collapse.lm import model as lm
from collapse.lm import sampling
from collapse.lm.sampling import filter_logits, sample
from collapse.lm.tokenizer import BOS

CFG = lm.lm_config(width=16, depth=2, heads=2, context=72)  # 64+ steps: two growing-cache segments
PARAMS = lm.init(CFG, jax.random.key(0))


def _reference(params, key, batch, length, temperature, top_k, prompt):
    """The sampler as it was: a full-context cache and one jax.random.categorical per step."""
    dec = lm.model(CFG, params)
    first = jnp.full((batch, 1), BOS, jnp.int32)
    if prompt is not None:
        first = jnp.concatenate([first, prompt], axis=1)
    logits, cache = dec.decode(first, dec.init_cache(batch, CFG.context))

    def step(carry, k):
        cache, logits = carry
        if temperature == 0:
            tok = jnp.argmax(logits, axis=-1).astype(jnp.int32)
        else:
            tok = jax.random.categorical(k, filter_logits(logits, temperature, top_k), axis=-1).astype(jnp.int32)
        new_logits, cache = dec.decode(tok[:, None], cache)
        return (cache, new_logits[:, -1]), tok

    return jax.lax.scan(step, (cache, logits[:, -1]), jax.random.split(key, length))[1].T


def _both(length, temperature, top_k, prompt_len):
    prompt = None if prompt_len == 0 else jax.random.randint(jax.random.key(3), (3, prompt_len), 0, 256)
    kw = dict(batch=3, length=length, temperature=temperature, top_k=top_k)
    fast = jax.jit(lambda p, k, x: sample(CFG, p, k, kw["batch"], length, temperature=temperature, top_k=top_k,
                                          prompt=x))(PARAMS, jax.random.key(7), prompt)
    ref = jax.jit(functools.partial(_reference, **kw, prompt=prompt))(PARAMS, jax.random.key(7))
    return np.asarray(fast), np.asarray(ref)


def test_segments_cover_the_steps_in_order():
    assert sampling._segments(16, 4) == [(0, 16)]  # short: one loop, one compile
    assert sampling._segments(128, 4) == [(0, 32), (32, 64), (64, 96), (96, 128)]
    for length in (1, 31, 64, 70, 127):
        seg = sampling._segments(length, 4)
        assert seg[0][0] == 0 and seg[-1][1] == length and all(a[1] == b[0] for a, b in zip(seg, seg[1:], strict=False))
    assert sampling._block_steps(70, 100, max_bytes=999) == 7  # largest divisor of 70 with 100·c <= 999
    assert sampling._block_steps(7, 100, max_bytes=10) == 1


def test_fast_sampler_draws_the_same_tokens_as_per_step_categorical(monkeypatch):
    # several noise blocks per segment, so block boundaries are exercised too
    blocks = sampling._block_steps
    monkeypatch.setattr(sampling, "_block_steps", lambda n, per_step: blocks(n, per_step, max_bytes=5 * per_step))
    fast, ref = _both(length=70, temperature=0.8, top_k=20, prompt_len=0)
    assert fast.shape == (3, 70)
    np.testing.assert_array_equal(fast, ref)


@pytest.mark.slow
@pytest.mark.parametrize("length, temperature, top_k, prompt_len", [(64, 1.0, 0, 5), (71, 0.0, 0, 0),
                                                                     (40, 1.3, 0, 31)])
def test_fast_sampler_same_tokens_more_settings(length, temperature, top_k, prompt_len):
    fast, ref = _both(length, temperature, top_k, prompt_len)
    np.testing.assert_array_equal(fast, ref)


@pytest.mark.slow
def test_token_frequencies_follow_the_models_softmax():
    """χ² goodness of fit (α = 1e-4) of the first sampled token, and of the second given the commonest first,
    against softmax(filtered logits) of a full forward pass."""
    n, temperature, top_k = 4000, 0.5, 6
    toks = np.asarray(jax.jit(lambda p, k: sample(CFG, p, k, n, 2, temperature=temperature, top_k=top_k))(
        PARAMS, jax.random.key(11)))
    dec = lm.model(CFG, PARAMS)
    first_tok = int(np.bincount(toks[:, 0]).argmax())
    logits = dec(jnp.array([[BOS, first_tok]], jnp.int32))[0]  # [2, V]: after BOS, after BOS + first_tok
    for observed, row in ((toks[:, 0], logits[0]), (toks[toks[:, 0] == first_tok, 1], logits[1])):
        probs = np.asarray(jax.nn.softmax(filter_logits(row[None], temperature, top_k)[0]), np.float64)
        support = np.flatnonzero(probs > 1e-12)
        assert np.isin(observed, support).all()  # nothing outside the top k
        counts = np.bincount(observed, minlength=CFG.vocab_size)[support]
        expected = probs[support] / probs[support].sum() * observed.size
        chi2 = ((counts - expected) ** 2 / expected).sum()
        assert chi2 < stats.chi2.ppf(1 - 1e-4, support.size - 1), (chi2, counts, expected)
