"""Mean errors: per-example means of the squared and absolute residuals (MSE, MAE, RMSE).

The residual is ``a = predictions - targets`` (``predictions`` alone when ``targets`` is None),
as in the elementwise losses of `jaxloss.regression`. Each mean error averages over ``axis``
(all axes by default) and returns one value per example (the entries not on ``axis``).
``where`` and ``weights`` act on entries (the rank of ``predictions``: inside the mean) or on
examples (the per-example rank: with `jaxloss.reduce`'s semantics); a mean over nothing is 0
and that example is not counted. Every value is computed in at least float32 and returned in
the promoted floating dtype of the inputs. ``reduction`` and ``axis_name`` (the data-parallel
batch axis) have the semantics of `jaxloss.reduce` (CONTRIBUTING.md, section 4). Masked entries
count for nothing: their residual is replaced by 0 first, so even a NaN or Inf there reaches
neither the value nor the gradient.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics, _residuals
from jaxloss._checks import Axis
from jaxloss.reductions import mean_from_sum_and_count, reduce_loss, weighted_reduce

__all__ = [
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
]


def mean_squared_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    axis: Axis = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Mean squared error over ``axis``: one value per example (the entries not on ``axis``).

    .. math:: \mathrm{MSE} = \frac{\sum_i m_i w_i a_i^2}{\sum_i m_i w_i}

    over the entries ``i`` along ``axis``, with an entry mask ``m`` and entry weights ``w``
    (both 1 by default). A mean over nothing (all masked or zero weight) is 0, and that
    example is not counted by ``reduction="mean"``.

    ``where`` and ``weights`` act on entries or on examples, told apart by their rank:

    * the rank of ``predictions`` (broadcastable to its shape): entries, inside the mean
      above (``weights`` is scikit-learn's ``sample_weight`` when ``axis=0``);
    * the rank of the per-example shape (``predictions.shape`` without ``axis``): examples,
      with `jaxloss.reduce`'s semantics (``"none"`` gives ``m * w * MSE``).

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      axis: int or tuple of ints to average over (static); None (default) averages over all.
      where: optional boolean mask of entries or of examples (see above).
      weights: optional non-negative weights of entries or of examples (see above).
      reduction: how the examples are reduced: ``"none"`` (default, shape of
        ``predictions`` without ``axis``), ``"mean"`` (over the examples that counted
        anything), ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``predictions.shape`` without ``axis`` (a scalar by default), else a scalar
      (``"sum_and_count"``: a pair), in the promoted floating dtype.

    References:
      ``sklearn.metrics.mean_squared_error`` (``axis=0`` gives ``multioutput="raw_values"``;
      entry ``weights`` are ``sample_weight``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import mean_squared_error
      >>> mean_squared_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array(2.5, dtype=float32)
      >>> p, t = jnp.array([[1.0, 2.0], [3.0, 3.0]]), jnp.zeros((2, 2))
      >>> mean_squared_error(p, t, axis=1, weights=jnp.array([1.0, 0.5]))
      Array([2.5, 4.5], dtype=float32)
    """
    return _mean_error(jnp.square, predictions, targets, axis, where, weights, reduction, axis_name)


def mean_absolute_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    axis: Axis = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Mean absolute error over ``axis``: one value per example.

    .. math:: \mathrm{MAE} = \frac{\sum_i m_i w_i |a_i|}{\sum_i m_i w_i}

    A mean over nothing is 0. The gradient of ``|a|`` is taken as 0 at ``a == 0``.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      axis: int or tuple of ints to average over (static); None (default) averages over all.
      where: optional boolean mask of entries or of examples (see `mean_squared_error`).
      weights: optional non-negative weights of entries or of examples (likewise).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the
        examples (see `mean_squared_error`).
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``predictions.shape`` without ``axis`` (a scalar by default), else a scalar
      (``"sum_and_count"``: a pair), in the promoted floating dtype.

    References:
      ``sklearn.metrics.mean_absolute_error``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import mean_absolute_error
      >>> mean_absolute_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array(1.5, dtype=float32)
    """
    return _mean_error(
        _numerics.abs_zero_grad, predictions, targets, axis, where, weights, reduction, axis_name
    )


def root_mean_squared_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    axis: Axis = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Root mean squared error over ``axis``: one value per example.

    .. math:: \mathrm{RMSE} = \sqrt{\mathrm{MSE}}

    with MSE as in `mean_squared_error`. At zero error the value is 0 and the gradient is
    taken as 0 (a double ``where`` around the square root; the true derivative is unbounded
    there), so training that reaches a perfect fit stays finite. ``reduction="mean"`` averages
    the per-example RMSEs, as scikit-learn does over outputs.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      axis: int or tuple of ints to average over (static); None (default) averages over all.
      where: optional boolean mask of entries or of examples (see `mean_squared_error`).
      weights: optional non-negative weights of entries or of examples (likewise).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the
        examples (see `mean_squared_error`).
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``predictions.shape`` without ``axis`` (a scalar by default), else a scalar
      (``"sum_and_count"``: a pair), in the promoted floating dtype.

    References:
      ``sklearn.metrics.root_mean_squared_error`` (``axis=0`` with ``reduction="mean"`` is its
      ``multioutput="uniform_average"``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import root_mean_squared_error
      >>> root_mean_squared_error(jnp.array([3.0, 4.0]), jnp.array([0.0, 0.0]))
      Array(3.535534, dtype=float32)
    """

    def root(means: jax.Array) -> jax.Array:
        positive = means > 0
        safe = jnp.where(positive, means, jnp.ones((), means.dtype))
        return jnp.where(positive, jnp.sqrt(safe), jnp.zeros((), means.dtype))

    return _mean_error(
        jnp.square, predictions, targets, axis, where, weights, reduction, axis_name, root
    )


def _entries_or_examples(
    name: str,
    x: ArrayLike | None,
    shape: tuple[int, ...],
    axes: tuple[int, ...],
    as_kind: Callable[[str, Any], jax.Array],
) -> tuple[jax.Array | None, jax.Array | None]:
    """`where`/`weights` of the rank of the inputs (entries) or of the examples.

    Returns ``(entries, examples)``, one of them None: an array of ``len(shape)`` dimensions
    broadcast to ``shape``, or one of the per-example rank broadcast to the per-example shape.
    """
    if x is None:
        return None, None
    arr = as_kind(name, x)
    kept = tuple(n for i, n in enumerate(shape) if i not in axes)
    if arr.ndim == len(shape):
        return _checks.broadcast_to(name, arr, shape), None
    if arr.ndim == len(kept):
        return None, _checks.broadcast_to(name, arr, kept)
    raise ValueError(
        f"`{name}` must have the rank of `predictions` ({len(shape)}, entries) or of the "
        f"per-example shape {kept} ({len(kept)}, examples); got shape {arr.shape}."
    )


def _mean_error(
    term: Callable[[jax.Array], jax.Array],
    predictions: ArrayLike,
    targets: ArrayLike | None,
    axis: Axis,
    where: ArrayLike | None,
    weights: ArrayLike | None,
    reduction: str,
    axis_name: Hashable | None,
    post: Callable[[jax.Array], jax.Array] | None = None,
) -> jax.Array:
    """Masked weighted means of ``term(a)`` over `axis`, then `post`, then the reduction.

    Each example's mean is `weighted_reduce` on its own entries (one vmapped call); an example
    whose entries carry no weight has mean 0 and is left out of the reduction.
    """
    _checks.check_reduction(reduction)
    shape = _checks.as_float("predictions", predictions).shape
    axes = _checks.normalize_axes("axis", axis, len(shape))
    entry_where, example_where = _entries_or_examples("where", where, shape, axes, _checks.as_bool)
    entry_weights, example_weights = _entries_or_examples(
        "weights", weights, shape, axes, _checks.as_float
    )
    if example_where is not None:
        # Masked examples lose their entries too, so non-finite padding there stays out.
        spread = jnp.broadcast_to(jnp.expand_dims(example_where, axes), shape)
        entry_where = _checks.combine_masks(entry_where, spread)
    if entry_weights is not None:
        _checks.check_values_in("weights", entry_weights, low=0.0, where=entry_where)
    a, out = _residuals.residual(predictions, targets, entry_where)
    values = term(a)
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    kept_shape = tuple(shape[i] for i in kept)
    rows, width = math.prod(kept_shape), math.prod(shape[i] for i in axes)

    def as_rows(x):
        if x is None:
            return None
        return jnp.transpose(x, kept + axes).reshape((rows, width))

    def row_sum_and_count(v, m, w):
        numerator = v if w is None else w.astype(v.dtype) * v
        return weighted_reduce(numerator, w, m, "sum_and_count")

    pair = jax.vmap(row_sum_and_count)(
        as_rows(values), as_rows(entry_where), as_rows(entry_weights)
    )
    total, count = (x.reshape(kept_shape) for x in pair)
    means = mean_from_sum_and_count((total, count))
    if post is not None:
        means = post(means)
    counted = None if entry_where is None and entry_weights is None else count > 0
    return reduce_loss(
        means,
        out,
        reduction=reduction,
        where=counted,
        weights=example_weights,
        axis_name=axis_name,
    )
