"""Private helpers shared by the embedding families (`jaxloss.pairs`, `jaxloss.triplets`,
`jaxloss.mining`): the distance option, ``(embeddings, labels)`` validation, pair masks with
the example mask, and the per-anchor reduction with weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss import _checks, _collectives
from jaxloss.distances import (
    chebyshev_distance,
    euclidean_distance,
    manhattan_distance,
    squared_euclidean_distance,
)
from jaxloss.pairwise import pairwise_distances
from jaxloss.similarity import cosine_distance

Distance = str | Callable[[jax.Array, jax.Array], jax.Array]
# The distance vocabulary (CONTRIBUTING.md, section 3) that the embedding losses accept by
# name; "minkowski" needs an order, so it is passed as a callable (see the docstrings).
DISTANCES = ("euclidean", "squared_euclidean", "cosine", "manhattan", "chebyshev")
_PAIR_DISTANCES = {
    "euclidean": euclidean_distance,
    "squared_euclidean": squared_euclidean_distance,
    "cosine": cosine_distance,
    "manhattan": manhattan_distance,
    "chebyshev": chebyshev_distance,
}


def embeddings_and_labels(embeddings, labels):
    """Validated ``[..., B, D]`` embeddings (in the compute dtype) and ``[..., B]`` labels."""
    embeddings = _checks.as_float("embeddings", embeddings)
    _checks.check_min_rank("embeddings", embeddings, 2)
    labels = _checks.as_integer("labels", labels)
    if labels.shape != embeddings.shape[:-1]:
        raise ValueError(
            f"`labels` must have shape {embeddings.shape[:-1]} (one label per row of "
            f"`embeddings` {embeddings.shape}); got shape {labels.shape}."
        )
    dtype = _checks.result_dtype(embeddings)
    return embeddings.astype(_checks.compute_dtype(dtype)), labels, dtype


def check_distance(distance: Any) -> None:
    """Raises unless ``distance`` is one of `DISTANCES` or a callable."""
    if not callable(distance) and (not isinstance(distance, str) or distance not in DISTANCES):
        raise ValueError(f"`distance` must be one of {DISTANCES} or a callable; got {distance!r}.")


def mask_and_weights(where, weights, shape):
    """The example mask and the weights broadcast to `shape` (None when absent), with the
    checked-mode data check of the weights (non-negative where counted)."""
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), shape)
    if weights is not None:
        weights = _checks.broadcast_to("weights", _checks.as_float("weights", weights), shape)
        _checks.check_values_in("weights", weights, low=0.0, where=mask)
    return mask, weights


def zero_masked_rows(mask, *arrays):
    """``arrays`` ``[..., D]`` with the rows of masked-out examples replaced by zeros."""
    if mask is None:
        return arrays
    return tuple(jnp.where(mask[..., None], a, jnp.zeros((), a.dtype)) for a in arrays)


def self_pairs(shape: tuple[int, ...], offset: Any = None) -> jax.Array:
    """Boolean ``[..., B, M]``: True where anchor ``i`` (global index ``offset + i``; ``offset``
    None is 0) is candidate ``j`` itself."""
    rank = len(shape)
    row = jax.lax.broadcasted_iota(jnp.int32, shape, rank - 2)
    if offset is not None:
        row = row + offset
    return row == jax.lax.broadcasted_iota(jnp.int32, shape, rank - 1)


def pair_masks(labels, cand_labels, offset):
    """``same``, ``pos`` (same label, not self) and ``neg`` masks, ``[..., B, M]``."""
    same = labels[..., :, None] == cand_labels[..., None, :]
    return same, same & ~self_pairs(same.shape, offset), ~same


def batch_pairs(x, labels, mask, axis_name):
    """The candidates of the local anchors (the global batch under ``axis_name``) and the
    ``pos``/``neg`` pair masks, a masked-out example being neither anchor nor candidate.

    Returns ``x`` (masked rows zeroed), the candidates, their labels, ``pos`` and ``neg``.
    """
    (x,) = zero_masked_rows(mask, x)
    cand, cand_labels, offset = _collectives.candidates(x, labels, axis_name)
    _, pos, neg = pair_masks(labels, cand_labels, offset)
    if mask is not None:
        keep = mask[..., :, None] & _collectives.gather(mask, axis_name, -1)[..., None, :]
        pos, neg = pos & keep, neg & keep
    return x, cand, cand_labels, pos, neg


def pair_distance(x, y, distance):
    """Distance between aligned rows along the last axis."""
    check_distance(distance)
    if callable(distance):
        out = jnp.asarray(distance(x, y))
        if out.shape != x.shape[:-1]:
            raise ValueError(
                f"`distance` must return one distance per pair, shape {x.shape[:-1]}; got "
                f"{out.shape}."
            )
        return out.astype(x.dtype)
    return _PAIR_DISTANCES[distance](x, y).astype(x.dtype)


def distance_matrix(x, y, distance):
    """``[..., B, M]`` distances from the rows of ``x`` to those of ``y`` (``None``: ``x``).

    Named metrics come from `jaxloss.pairwise_distances`. For the Gram-matrix forms, values
    below their rounding floor, ``4 eps (|x_i - mu|^2 + |y_j - mu|^2)`` for squared distances
    with ``mu`` the mean candidate (``4 eps`` for cosine), are set to exactly 0 (zero
    gradient): duplicated embeddings are then at distance 0 wherever they sit in the batch
    (the matmul rounds identical rows differently by position). Manhattan and Chebyshev
    distances are computed from the differences, exactly 0 for duplicates.
    """
    if callable(distance):
        return jnp.asarray(distance(x, x if y is None else y))
    if distance in ("manhattan", "chebyshev"):
        return pairwise_distances(x, y, metric=distance).astype(x.dtype)
    cand = x if y is None else y
    eps = jnp.finfo(x.dtype).eps
    if distance == "cosine":
        out = pairwise_distances(x, y, metric="cosine").astype(x.dtype)
        return jnp.where(out <= 4 * eps, 0.0, out)
    # Centre on the candidates' mean (the global batch when sharded), so the floor below is
    # the same on every device; distances are translation invariant.
    mu = jnp.mean(cand, axis=-2, keepdims=True)
    xc = x - mu
    cc = cand - mu
    # The centred candidates are a second array even when they are `x`'s rows: given one
    # array, pairwise_distances makes the matrix exactly symmetric with a transpose, which on
    # XLA:CPU cost more than the rest of the matrix (B = 4096, forward+backward: 391 -> 131
    # ms). The floor below zeroes duplicates wherever they sit, and the diagonal is set to 0
    # in the same pass.
    out = pairwise_distances(xc, cc, metric=distance).astype(x.dtype)
    diagonal = self_pairs(out.shape) if y is None else False
    norms_x = jnp.sum(jnp.square(xc), axis=-1)[..., :, None]
    norms_c = jnp.sum(jnp.square(cc), axis=-1)[..., None, :]
    floor = 4 * eps * (norms_x + norms_c)
    squared = out if distance == "squared_euclidean" else jnp.square(out)
    return jnp.where((squared <= floor) | diagonal, 0.0, out)


def reduce_anchors(total, count, valid, weights, reduction, axis_name, dtype):
    """`_collectives.reduce_anchors` with per-anchor ``weights`` (None: all 1).

    The per-anchor value ``total / count`` (``total`` when ``count`` is None) is multiplied by
    the weight for ``"none"`` and ``"sum"``; ``"mean"`` and ``"sum_and_count"`` weight both
    the numerator and the count: ``sum(w * total) / sum(w * count)``.
    """
    if weights is None:
        return _collectives.reduce_anchors(total, count, valid, reduction, axis_name, dtype)
    w = weights.astype(total.dtype)
    if reduction in ("none", "sum"):
        values = total if count is None else jnp.where(valid, total / jnp.where(valid, count, 1), 0)
        return _collectives.reduce_anchors(w * values, None, valid, reduction, axis_name, dtype)
    count = w if count is None else w * count
    return _collectives.reduce_anchors(w * total, count, valid, reduction, axis_name, dtype)
