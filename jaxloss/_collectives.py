"""Gathers and cross-device reductions over the data-parallel batch axis (``axis_name``).

Inside ``jax.shard_map`` (or ``pmap``) with the batch split over ``axis_name``, the losses
gather the global batch with a tiled ``all_gather`` and reduce globally: local numerators and
denominators are ``psum``-ed and divided once by `jaxloss.reductions.weighted_reduce`, so the
reduced loss equals the single-device loss on the concatenated batch. ``axis_name=None`` is
the single-device path: every helper here is then the identity or a plain `weighted_reduce`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss.reductions import weighted_reduce


def gather(value, axis_name, axis=-1):
    """The global array along ``axis`` (tiled all-gather), or ``value`` without an axis."""
    if axis_name is None:
        return value
    return jax.lax.all_gather(value, axis_name, axis=axis % value.ndim, tiled=True)


def shard_offset(size, axis_name):
    """Global index of this shard's first row when rows are split in blocks of `size`."""
    return 0 if axis_name is None else jax.lax.axis_index(axis_name) * size


def logsumexp_over(lse, axis_name):
    """The log-sum-exp over `axis_name` of per-shard log-sum-exps (the shift has no gradient)."""
    top = jax.lax.pmax(jax.lax.stop_gradient(lse), axis_name)
    return top + jnp.log(jax.lax.psum(jnp.exp(lse - top), axis_name))


def candidates(x, labels, axis_name):
    """Candidates (the global batch), their labels, and the global index of local row 0."""
    if axis_name is None:
        return x, labels, None
    offset = shard_offset(x.shape[-2], axis_name)
    return gather(x, axis_name, -2), gather(labels, axis_name, -1), offset


def reduce_anchors(total, count, valid, reduction, axis_name, dtype) -> jax.Array:
    """Per-anchor ``total / count`` (0 where invalid), reduced over the (global) anchors.

    ``"mean"`` is ``sum(total) / sum(count)`` over valid anchors (``count=None``: a plain
    mean over valid anchors); ``"sum"`` adds the per-anchor values.
    """
    if count is None:
        values = total
        count = jnp.ones_like(total)
    else:
        values = jnp.where(valid, total / jnp.where(valid, count, 1), 0.0)
    if reduction == "none":
        return weighted_reduce(values, None, valid, "none").astype(dtype)
    # Across devices the shared helper psums the local numerators and denominators (an
    # invariant result whose transpose broadcasts the cotangent back) and divides once.
    if reduction == "sum":
        return weighted_reduce(values, None, valid, "sum", axis_name).astype(dtype)
    if reduction == "sum_and_count":
        return weighted_reduce(total, count, valid, reduction, axis_name)
    return weighted_reduce(total, count, valid, "mean", axis_name).astype(dtype)


def reduce_examples(loss, weights, mask, reduction, axis_name, dtype) -> jax.Array:
    """`weighted_reduce`, over the global batch when ``axis_name`` is given."""
    out = weighted_reduce(loss, weights, mask, reduction, axis_name)
    return out if reduction == "sum_and_count" else out.astype(dtype)
