"""The one reduction used by every loss: masked, weighted, NaN-free on empty input."""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks

__all__ = ["reduce"]


def reduce(
    values: ArrayLike,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> jax.Array:
    r"""Reduces per-example loss values with an optional mask and weights.

    With mask :math:`m` (from ``where``) and weights :math:`w` (default 1)::

        "none": m * w * l                      (shape of `values`)
        "sum":  sum(m * w * l)
        "mean": sum(m * w * l) / sum(m * w),   and 0 when sum(m * w) == 0

    Masked entries contribute nothing to the value; their gradient is exactly zero as long as
    the masked values themselves are finite (a NaN in a masked slot is replaced, not
    multiplied, so it does not leak into the value either).

    Args:
      values: per-example losses, any shape ``[...]``, floating dtype.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` (static).
      where: optional boolean mask broadcastable to ``values.shape``; ``False`` entries are
        excluded.
      weights: optional non-negative weights broadcastable to ``values.shape``.

    Returns:
      ``values.shape`` for ``"none"``, a scalar otherwise, in the dtype of ``values``. Sums
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
    """
    _checks.check_reduction(reduction)
    values = _checks.as_float("values", values)
    shape = values.shape
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), shape)
    if weights is not None:
        weights = _checks.broadcast_to("weights", _checks.as_float("weights", weights), shape)
    numerator = values if weights is None else weights.astype(values.dtype) * values
    return weighted_reduce(numerator, weights, mask, reduction)


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
    safe_count = jnp.where(count == 0, jnp.ones((), acc), count)
    return jnp.where(count == 0, jnp.zeros((), acc), total / safe_count).astype(out_dtype)
