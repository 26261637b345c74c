"""Private helpers shared by the embedding families (`jaxloss.pairs`, `jaxloss.triplets`,
`jaxloss.mining`): the distance option, ``(embeddings, labels)`` validation and pair masks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from jaxloss import _checks
from jaxloss.distances import euclidean_distance, squared_euclidean_distance
from jaxloss.similarity import cosine_distance

Distance = str | Callable[[jax.Array, jax.Array], jax.Array]
DISTANCES = ("euclidean", "squared_euclidean", "cosine")


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


def pair_masks(labels, cand_labels, offset):
    """``same``, ``pos`` (same label, not self) and ``neg`` masks, ``[..., B, M]``."""
    same = labels[..., :, None] == cand_labels[..., None, :]
    rows, cols = labels.shape[-1], cand_labels.shape[-1]
    start = 0 if offset is None else offset
    not_self = (start + jnp.arange(rows))[:, None] != jnp.arange(cols)[None, :]
    not_self = jnp.broadcast_to(not_self, same.shape)
    return same, same & not_self, ~same


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
    fn = {
        "euclidean": euclidean_distance,
        "squared_euclidean": squared_euclidean_distance,
        "cosine": cosine_distance,
    }[distance]
    return fn(x, y).astype(x.dtype)
