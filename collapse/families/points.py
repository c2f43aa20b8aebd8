"""Blocks of d-dimensional point samples, shared by the density families (gaussian, gmm)."""

from typing import NamedTuple

import jax
import jax.numpy as jnp


class GaussianData(NamedTuple):
    """A block of samples. x: [m, d]; valid: [m] (1 = a sample, 0 = padding beyond this generation's M_n);
    gen: [m] int32, the generation that first trains on the sample (1 = the initial real block)."""

    x: jax.Array
    valid: jax.Array
    gen: jax.Array


def flatten_segments(segments, d):
    """All samples of a training set: x [N, d], weights [N] (policy weight × validity) and the largest
    generation stamp in it (the generation being fitted)."""
    xs, ws, gen = [], [], []
    for s in segments:
        xs.append(s.data.x.reshape(-1, d))
        ws.append((s.weight * s.data.valid).reshape(-1))
        gen.append(jnp.max(s.data.gen))
    return jnp.concatenate(xs), jnp.concatenate(ws), jnp.max(jnp.stack(gen))
