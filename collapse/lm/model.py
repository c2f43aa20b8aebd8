"""A decoder-only byte-level language model as pure functions of (graphdef, params).

The model is :class:`collapse.nn.Decoder`; ``init`` splits it into a static graphdef and a params pytree so
training, sampling and scoring are plain jitted / scanned / vmapped functions. A sequence of ``L`` tokens is
modelled as p(x_1 | BOS) p(x_2 | BOS, x_1) … p(x_L | BOS, x_<L), so the model's context is L.
"""

import functools

import jax
import jax.numpy as jnp
from flax import nnx

from collapse.errors import require
from collapse.lm.tokenizer import BOS, VOCAB_SIZE
from collapse.nn import Decoder, TransformerConfig


def lm_config(**kw) -> TransformerConfig:
    """A TransformerConfig with the byte vocabulary (257)."""
    return TransformerConfig(vocab_size=VOCAB_SIZE, **kw)


@functools.lru_cache(maxsize=32)
def graphdef(cfg: TransformerConfig):
    """The static structure of ``Decoder(cfg)`` (no parameters are materialised)."""
    gdef, _ = nnx.split(nnx.eval_shape(lambda: Decoder(cfg, rngs=nnx.Rngs(0))))
    return gdef


def init(cfg: TransformerConfig, key) -> nnx.State:
    """Fresh parameters of ``Decoder(cfg)`` (works under jit/vmap with a traced key)."""
    _, params = nnx.split(Decoder(cfg, rngs=nnx.Rngs(key)))
    return params


def model(cfg: TransformerConfig, params) -> Decoder:
    return nnx.merge(graphdef(cfg), params)


def with_bos(tokens):
    """[B, L] → inputs [B, L]: BOS followed by tokens[:, :-1]."""
    return jnp.concatenate([jnp.full(tokens.shape[:1] + (1,), BOS, tokens.dtype), tokens[:, :-1]], axis=1)


def token_logprobs(cfg: TransformerConfig, params, tokens, dropout_key=None):
    """log p(x_t | BOS, x_<t) for every token: tokens int [B, L] → float32 [B, L]."""
    require(tokens.shape[-1] <= cfg.context, "sequence length", tokens.shape[-1],
            f"at most the configured context={cfg.context}")
    logits = model(cfg, params)(with_bos(tokens), dropout_key=dropout_key)
    logp = jax.nn.log_softmax(logits, axis=-1)
    return jnp.take_along_axis(logp, tokens[..., None].astype(jnp.int32), axis=-1)[..., 0]


def nll(cfg: TransformerConfig, params, tokens, weights=None, dropout_key=None):
    """Mean negative log-likelihood per token (weights [B] per sequence, optional)."""
    lp = token_logprobs(cfg, params, tokens, dropout_key)
    if weights is None:
        return -jnp.mean(lp)
    return -jnp.sum(lp * weights[:, None]) / (jnp.sum(weights) * tokens.shape[1])
