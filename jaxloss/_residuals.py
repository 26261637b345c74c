"""What the regression families (`jaxloss.regression`, `jaxloss.mean_errors`) share: the
residual ``predictions - targets``, checked and computed in the compute dtype.

The residual is computed in at least float32 (`jaxloss._checks.compute_dtype`) and comes with
the promoted floating dtype of the inputs, the dtype the loss returns. Entries masked out by
``where`` are replaced by 0 here, before any loss sees them, so a NaN or Inf there reaches
neither the value nor the gradient.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from jaxloss import _checks


def residual(predictions: Any, targets: Any, where: Any) -> tuple[jax.Array, jnp.dtype]:
    """``predictions - targets`` in the compute dtype, and the dtype of the result.

    ``targets=None`` means zeros (the residual is ``predictions``). Masked-out residuals are
    replaced by 0 so that non-finite padding under a False `where` reaches neither the values
    nor the gradients.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import _residuals
      >>> a, out = _residuals.residual(
      ...     jnp.array([1.0, 2.0], jnp.float16), jnp.array([0.0, 4.0]), jnp.array([True, False])
      ... )
      >>> a, out
      (Array([1., 0.], dtype=float32), dtype('float32'))
    """
    predictions = _checks.as_float("predictions", predictions)
    out = predictions.dtype
    acc = _checks.compute_dtype(out)
    if targets is None:
        a = predictions.astype(acc)
    else:
        a, out = difference(predictions, targets)
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), a.shape)
        a = jnp.where(mask, a, jnp.zeros((), a.dtype))
    return a, out


def difference(predictions: jax.Array, targets: Any) -> tuple[jax.Array, jnp.dtype]:
    """Checks `targets` against `predictions`; their difference in the compute dtype.

    `targets` must be floating or integer and of the shape of `predictions`; the second value
    is the promoted floating dtype of the two (the dtype of the loss).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import _residuals
      >>> _residuals.difference(jnp.array([1.0, 2.0]), jnp.array([0, 4]))
      (Array([ 1., -2.], dtype=float32), dtype('float32'))
    """
    targets = jnp.asarray(targets)
    if not (
        jnp.issubdtype(targets.dtype, jnp.floating) or jnp.issubdtype(targets.dtype, jnp.integer)
    ):
        raise TypeError(
            f"`targets` must be a floating-point or integer array; got dtype {targets.dtype}."
        )
    _checks.check_same_shape(predictions=predictions, targets=targets)
    out = _checks.result_dtype(predictions, targets)
    acc = _checks.compute_dtype(out)
    return predictions.astype(acc) - targets.astype(acc), out
