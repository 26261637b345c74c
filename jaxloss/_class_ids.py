"""What the torch-parity families (`jaxloss.likelihoods`, `jaxloss.hinges`) share: per-class
weights and the gather of the labelled class's score, with torch's checks.

Class ids out of range read class 0 here (never out of bounds); the callers turn those
examples into NaN, the value that cannot pass for a loss (CONTRIBUTING.md, section 7).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxloss import _checks


def class_weights(weights: Any, num_classes: int) -> jax.Array | None:
    """``[num_classes]`` non-negative class weights, checked (None passes through)."""
    if weights is None:
        return None
    w = _checks.as_float("class_weights", weights)
    if w.shape != (num_classes,):
        raise ValueError(
            f"`class_weights` must have shape ({num_classes},) (one per class); got {w.shape}."
        )
    _checks.check_values_in("class_weights", w, low=0.0)
    return w


def scores_and_labels(
    scores: jax.Array, labels: Any, axis: Any, scores_name: str
) -> tuple[jax.Array, jax.Array]:
    """Scores with their class axis moved last, and integer labels of the per-example shape."""
    labels = _checks.as_integer("labels", labels)
    _checks.check_min_rank(scores_name, scores, 1)
    class_axis = _checks.normalize_axis("axis", axis, scores.ndim)
    scores = jnp.moveaxis(scores, class_axis, -1)
    if labels.shape != scores.shape[:-1]:
        raise ValueError(
            f"`labels` must have the shape of `{scores_name}` without its class axis, i.e. "
            f"{scores.shape[:-1]}; got {labels.shape}."
        )
    return scores, labels


def labelled(scores: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``scores[..., label]``, the clipped labels and the in-range mask."""
    in_range = (labels >= 0) & (labels < scores.shape[-1])
    safe = jnp.where(in_range, labels, 0)
    picked = jnp.take_along_axis(scores, safe[..., None], axis=-1)[..., 0]
    return picked, safe, in_range
