"""Neural-network pieces (Flax NNX): reusable transformer blocks; see :mod:`collapse.nn.blocks`."""

from collapse.nn.blocks import (
    MLP,
    Attention,
    Block,
    DecodeCache,
    Decoder,
    Embedder,
    Encoder,
    KVCache,
    TransformerConfig,
    count_params,
    rope,
)

__all__ = [
    "MLP",
    "Attention",
    "Block",
    "DecodeCache",
    "Decoder",
    "Embedder",
    "Encoder",
    "KVCache",
    "TransformerConfig",
    "count_params",
    "rope",
]
