"""The one reduction used by every loss: masked, weighted, NaN-free on empty input."""

from __future__ import annotations

from collections.abc import Hashable
from typing import cast

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks

__all__ = ["mean_from_sum_and_count", "reduce"]


def reduce(
    values: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Reduces per-example loss values with an optional mask and weights.

    With mask :math:`m` (from ``where``) and weights :math:`w` (default 1)::

        "none":          m * w * l                      (shape of `values`)
        "sum":           sum(m * w * l)
        "mean":          sum(m * w * l) / sum(m * w),   and 0 when sum(m * w) == 0
        "sum_and_count": (sum(m * w * l), sum(m * w))

    Every reducing loss of jaxloss ends with exactly this reduction (CONTRIBUTING.md,
    section 4). ``"sum_and_count"`` gives the two halves of the mean, so that micro-batches or
    shards combine exactly: add the pairs, then divide once with `mean_from_sum_and_count`.

    Masked entries contribute nothing to the value; their gradient is exactly zero as long as
    the masked values themselves are finite (a NaN in a masked slot is replaced, not
    multiplied, so it does not leak into the value either).

    Args:
      values: per-example losses, any shape ``[...]``, floating dtype.
      reduction: ``"mean"`` (default: this function *is* the reduction), ``"none"``,
        ``"sum"`` or ``"sum_and_count"`` (static).
      where: optional boolean mask broadcastable to ``values.shape``; ``False`` entries are
        excluded.
      weights: optional non-negative weights broadcastable to ``values.shape``.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): ``"sum"``,
        ``"mean"`` and ``"sum_and_count"`` then run over the global batch (local sums are
        ``psum``-ed before the one division); ``"none"`` stays local.

    Returns:
      ``values.shape`` for ``"none"``, a scalar for ``"mean"`` and ``"sum"``, in the dtype of
      ``values``; for ``"sum_and_count"`` the pair of scalars ``(sum, count)`` in the
      accumulation dtype (at least float32), ready to be added across micro-batches. Sums
      accumulate in at least float32.

    References:
      The ``weight`` semantics of ``torch.nn.functional.nll_loss`` (weighted mean divides by
      the sum of the weights of the counted examples).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import reduce
      >>> reduce(jnp.array([1.0, 2.0, 6.0]), where=jnp.array([True, True, False]))
      Array(1.5, dtype=float32)
      >>> reduce(jnp.array([1.0, 3.0]), weights=jnp.array([3.0, 1.0]))
      Array(1.5, dtype=float32)
      >>> reduce(jnp.array([1.0, 3.0]), where=jnp.array([False, False]))
      Array(0., dtype=float32)
      >>> reduce(jnp.array([1.0, 2.0, 6.0]), reduction="sum_and_count")
      (Array(9., dtype=float32), Array(3., dtype=float32))
    """
    _checks.check_reduction(reduction)
    values = _checks.as_float("values", values)
    shape = values.shape
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), shape)
    weights = _checks.example_weights(weights, shape, mask)
    numerator = values if weights is None else weights.astype(values.dtype) * values
    return weighted_reduce(numerator, weights, mask, reduction, axis_name)


def reduce_loss(
    values: ArrayLike,
    dtype: jnp.dtype,
    *,
    reduction: str,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """The tail of every reducing loss: `reduce`, then the cast to the loss's result dtype.

    The ``"sum_and_count"`` pair stays in the accumulation dtype (it is meant to be added
    across micro-batches before the one division).
    """
    out = reduce(values, reduction=reduction, where=where, weights=weights, axis_name=axis_name)
    return out if reduction == "sum_and_count" else out.astype(dtype)


def mean_from_sum_and_count(sum_and_count: tuple[ArrayLike, ArrayLike] | jax.Array) -> jax.Array:
    r"""The mean from a ``(sum, count)`` pair: ``sum / count``, and 0 when ``count == 0``.

    Any loss called with ``reduction="sum_and_count"`` returns such a pair. Pairs from
    micro-batches (or from shards) are added elementwise and divided once here, which equals
    the ``"mean"`` of the concatenated batch exactly, however unequal the counts of masked or
    ignored examples; averaging per-batch means does not. The count never depends on the
    parameters, so the gradient of the full-batch mean is the sum of the gradients of the
    micro-batch sums divided by the total count (README, "Scaling out").

    Args:
      sum_and_count: a pair ``(sum, count)``; the count broadcasts to the shape of the sum
        (a scalar count divides a whole gradient array).

    Returns:
      ``sum / count`` where ``count != 0`` and 0 elsewhere, in the dtype of ``sum``. The
      gradient with respect to ``sum`` is ``1 / count`` (0 where the count is 0), never NaN.

    References:
      The ``divide_no_nan`` of TensorFlow; the weighted mean of
      ``torch.nn.functional.nll_loss``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import mean_from_sum_and_count, reduce
      >>> a = reduce(jnp.array([1.0, 2.0]), reduction="sum_and_count")
      >>> b = reduce(jnp.array([6.0]), reduction="sum_and_count")
      >>> mean_from_sum_and_count(jax.tree.map(jnp.add, a, b))
      Array(3., dtype=float32)
      >>> mean_from_sum_and_count((jnp.array(0.0), jnp.array(0.0)))
      Array(0., dtype=float32)
    """
    if not isinstance(sum_and_count, tuple | list) or len(sum_and_count) != 2:
        raise TypeError(
            "`sum_and_count` must be a pair (sum, count), as returned by "
            f'reduction="sum_and_count"; got {type(sum_and_count).__name__}.'
        )
    total = _checks.as_float("sum_and_count[0]", sum_and_count[0])
    count = _checks.as_float("sum_and_count[1]", sum_and_count[1])
    count = _checks.broadcast_to("sum_and_count[1]", count, total.shape)
    empty = count == 0
    safe = jnp.where(empty, jnp.ones((), count.dtype), count)
    return jnp.where(empty, jnp.zeros((), total.dtype), total / safe.astype(total.dtype))


def weighted_reduce(
    numerator: jax.Array,
    denominator: jax.Array | None,
    mask: jax.Array | None,
    reduction: str,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Core of `reduce` for losses that weight inside their own formula.

    `numerator` holds the already-weighted per-example losses; the mean divides their masked
    sum by the masked sum of `denominator` (the per-example weights; None means a count).
    Used directly by losses whose weighted value is not `w * l` (e.g. cross-entropy with class
    weights and label smoothing, which follows torch).

    With `axis_name` (inside ``shard_map``/``pmap``, the mesh axis or axes the examples are
    split over), ``"sum"`` and ``"mean"`` run over the global batch: the local sums of the
    numerator and of the denominator are ``psum``-ed before the one division, so the mean is
    the global weighted mean, the same on every device. ``"none"`` stays local.
    ``"sum_and_count"`` returns the (global) sum and count before the division, in the
    accumulation dtype.
    """
    _checks.check_reduction(reduction)
    out_dtype = numerator.dtype
    if mask is not None:
        numerator = jnp.where(mask, numerator, jnp.zeros((), numerator.dtype))
    if reduction == "none":
        return numerator
    acc = _checks.compute_dtype(out_dtype)
    total = jnp.sum(numerator, dtype=acc)
    if axis_name is not None:
        total = jax.lax.psum(total, axis_name)
    if reduction == "sum":
        return total.astype(out_dtype)
    if denominator is None:
        denominator = jnp.ones(numerator.shape, acc)
    if mask is not None:
        denominator = jnp.where(mask, denominator, jnp.zeros((), denominator.dtype))
    count = jnp.sum(denominator, dtype=acc)
    if axis_name is not None:
        count = jax.lax.psum(count, axis_name)
    if reduction == "sum_and_count":
        # The (sum, count) pair is typed as an array: it unpacks like a length-2 array, and a
        # union return type would make every user's `loss(...).mean()` a type error.
        return cast(jax.Array, (total, count))
    safe_count = jnp.where(count == 0, jnp.ones((), acc), count)
    return jnp.where(count == 0, jnp.zeros((), acc), total / safe_count).astype(out_dtype)
