"""What the sample-set families (`jaxloss.transport`, `jaxloss.kernels`) share: validating two
sets of samples and their masses, the per-example mask and the reduction tail.

A call compares, for every example (the leading axes ``[...]``), the empirical distribution
of the samples ``x[..., i, :]`` with that of ``y[..., j, :]``. The leading axes of the two
sets broadcast; the numbers of samples ``N`` and ``M`` may differ.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks
from jaxloss.reductions import reduce_loss

# The sample masses and reduction options of the sample-set functions, spliced into their
# docstrings.
MASS_ARGS = """
      x_weights: optional non-negative masses of the samples of `x`, ``[..., N]`` (they
        broadcast like `x`'s leading axes); normalized to sum to 1 per example. Default:
        uniform. A set whose masses are all 0 is outside the domain (NaN).
      y_weights: the same for `y`, ``[..., M]``."""

REDUCTION_ARGS = """
      where: optional boolean example mask, broadcastable to ``[...]``: a masked example
        gives 0 and does not count in ``"mean"``. Its samples (and masses) are replaced by
        zeros (ones) first, so a non-finite masked input reaches neither the value nor the
        gradient.
      weights: optional non-negative per-example weights, broadcastable to ``[...]``.
      reduction: ``"none"`` (default: one value per example), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static), with the semantics of `jaxloss.reduce`.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): ``"mean"``,
        ``"sum"`` and ``"sum_and_count"`` are then global (CONTRIBUTING.md, section 5)."""


def splice_docs(*functions) -> None:
    """Puts `MASS_ARGS` and `REDUCTION_ARGS` in place of ``{masses}`` and ``{reduce}``."""
    for fn in functions:
        fn.__doc__ = fn.__doc__.replace("{masses}", MASS_ARGS).replace("{reduce}", REDUCTION_ARGS)


def prepare(
    x: ArrayLike,
    y: ArrayLike,
    *,
    event_rank: int,
    reduction: str,
    where: ArrayLike | None,
    x_weights: ArrayLike | None = None,
    y_weights: ArrayLike | None = None,
) -> tuple[jax.Array, jax.Array, jax.Array | None, jax.Array | None, Any, jax.Array | None]:
    """Validated samples, broadcast over their leading axes, in the compute dtype.

    `event_rank` is 1 for scalar samples (``[..., N]``) and 2 for vectors (``[..., N, D]``).
    Returns ``(x, y, a, b, dtype, mask)``: `a` and `b` are the normalized masses (None when
    not given: uniform), `dtype` the result dtype, `mask` the per-example mask (or None).
    Masked examples hold zeros (samples) and ones (masses).
    """
    _checks.check_reduction(reduction)
    x = _checks.as_float("x", x)
    y = _checks.as_float("y", y)
    _checks.check_min_rank("x", x, event_rank)
    _checks.check_min_rank("y", y, event_rank)
    if event_rank == 2 and x.shape[-1] != y.shape[-1]:
        raise ValueError(
            f"`y` must have the sample size of `x` (the last axis); got `x` {x.shape} and "
            f"`y` {y.shape}."
        )
    if x.ndim != y.ndim:
        raise ValueError(
            f"`y` must have the same rank as `x` (add size-1 axes to broadcast); got `x` "
            f"{x.shape} and `y` {y.shape}."
        )
    lead = x.ndim - event_rank
    try:
        batch = tuple(np.broadcast_shapes(x.shape[:lead], y.shape[:lead]))
    except ValueError:
        raise ValueError(
            f"The leading axes of `x` {x.shape} and `y` {y.shape} do not broadcast."
        ) from None
    dtype = _checks.result_dtype(x, y)
    acc = _checks.compute_dtype(dtype)
    x = jnp.broadcast_to(x, batch + x.shape[lead:]).astype(acc)
    y = jnp.broadcast_to(y, batch + y.shape[lead:]).astype(acc)
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), batch)
    a = _masses("x_weights", x_weights, (*batch, x.shape[lead]), mask, acc)
    b = _masses("y_weights", y_weights, (*batch, y.shape[lead]), mask, acc)
    if mask is not None:
        keep = mask.reshape(batch + (1,) * event_rank)
        x = jnp.where(keep, x, jnp.zeros((), acc))
        y = jnp.where(keep, y, jnp.zeros((), acc))
    return x, y, a, b, dtype, mask


def finish(
    values: jax.Array,
    dtype: Any,
    reduction: str,
    mask: jax.Array | None,
    weights: ArrayLike | None,
    axis_name: Hashable | None,
) -> jax.Array:
    """`jaxloss.reductions.reduce_loss` of the per-example values."""
    return reduce_loss(
        values.astype(dtype),
        dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def _masses(
    name: str, w: ArrayLike | None, shape: tuple[int, ...], mask: jax.Array | None, acc: Any
) -> jax.Array | None:
    """Sample masses broadcast to `shape`, checked ``>= 0``, normalized along the last axis."""
    if w is None:
        return None
    w = _checks.broadcast_to(name, _checks.as_float(name, w), shape).astype(acc)
    keep = None if mask is None else mask[..., None]
    _checks.check_values_in(name, w, low=0.0, where=keep)
    if keep is not None:
        w = jnp.where(keep, w, jnp.ones((), acc))
    return w / jnp.sum(w, axis=-1, keepdims=True)
