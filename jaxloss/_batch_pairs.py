"""Private helpers shared by the losses that weigh every pair of a batch
(`jaxloss.pair_weighting`, `jaxloss.pair_ranking`): argument checks, unit vectors, the
similarity and distance matrices against the (global) candidates, log-sum-exps over masked
pairs with PML's empty-set convention, and the per-anchor reduction. The conventions they
implement are described in `jaxloss.pair_weighting`'s module docstring."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxloss import _checks, _embedding, _numerics
from jaxloss.pairwise import pairwise_distances

HEAD = """
      embeddings: ``[..., B, D]`` floating array (leading dimensions are independent
        batches).
      labels: ``[..., B]`` integer class ids; equal labels make positive pairs."""
TAIL = """
      reduction: ``"none"`` (default: per anchor, ``[..., B]``), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static; see `jaxloss.pair_weighting`).
      where: optional boolean example mask ``[..., B]``: ``False`` examples are left out
        entirely, as anchors and as candidates.
      weights: optional non-negative per-anchor weights ``[..., B]``.
      axis_name: inside ``shard_map``/``pmap``, the mesh axis the batch is split over:
        anchors are scored against the global batch and reductions are global."""

# torch.nn.functional.normalize's eps = 1e-12 on the norm, a floor of 1e-24 on its square.
NORM_FLOOR = 1e-24


def fill_docstrings(*functions):
    """Replaces ``{head}`` and ``{tail}`` in each docstring by the shared argument lines."""
    for fn in functions:
        assert fn.__doc__ is not None  # each is written in its module (python -OO strips both)
        fn.__doc__ = fn.__doc__.replace("{head}", HEAD).replace("{tail}", TAIL)


def inputs(embeddings, labels, where, weights, reduction):
    """Trace-time checks shared by every loss: the arrays, the mask and the weights."""
    _checks.check_reduction(reduction)
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    _embedding.embeddings_and_labels(embeddings, labels)  # raises on bad shapes and dtypes
    mask, weights = _embedding.mask_and_weights(where, weights, labels.shape)
    return embeddings, labels, mask, weights


def setup(embeddings, labels, mask, axis_name, normalize=True):
    """Anchors, candidates (unit vectors when `normalize`), their labels, pair masks, dtype."""
    x, labels, dtype = _embedding.embeddings_and_labels(embeddings, labels)
    x, cand, cand_labels, pos, neg = _embedding.batch_pairs(x, labels, mask, axis_name)
    if normalize:
        x = _numerics.unit_normalize(x, floor=NORM_FLOOR)
        cand = _numerics.unit_normalize(cand, floor=NORM_FLOOR)
    return x, cand, cand_labels, pos, neg, dtype


def cosine(x, cand):
    return pairwise_distances(x, cand, metric="inner_product").astype(x.dtype)


def euclidean(x, cand, axis_name, distance="euclidean"):
    d = _embedding.distance_matrix(x, None if axis_name is None else cand, distance)
    return d.astype(x.dtype)


def masked_logsumexp(x, keep):
    """``log sum_{keep} e^x`` along the last axis; 0 (zero gradient) for an empty row."""
    has = jnp.any(keep, axis=-1)
    z = jnp.where(keep, x, -jnp.inf)
    z = jnp.where(has[..., None], z, 0.0)
    return jnp.where(has, jax.nn.logsumexp(z, axis=-1), 0.0)


def log1p_sum_exp(x, keep):
    """``log(1 + sum_{keep} e^x)`` along the last axis (PML's ``add_one``); 0 when empty."""
    has = jnp.any(keep, axis=-1)
    return jnp.where(has, jnp.logaddexp(0.0, masked_logsumexp(x, keep)), 0.0)


def anchors_mask(mask, shape):
    return jnp.ones(shape, bool) if mask is None else mask


def reduce(total, count, valid, weights, reduction, axis_name, dtype):
    return _embedding.reduce_anchors(total, count, valid, weights, reduction, axis_name, dtype)
