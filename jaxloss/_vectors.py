"""What the two-vector families (`jaxloss.distances`, `jaxloss.similarity`) share: the
per-example mask and the reduction tail (CONTRIBUTING.md, section 4)."""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp

from jaxloss import _checks
from jaxloss.reductions import reduce_loss

# The reduction options of every two-vector function, spliced into their docstrings.
REDUCTION_ARGS = """
      reduction: ``"none"`` (default: the per-example values), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static), with the semantics of `jaxloss.reduce`.
      where: optional boolean example mask, broadcastable to the per-example shape
        ``[...]``: a masked example gives 0 and does not count in ``"mean"``. Its vectors are
        replaced by zeros first, so a non-finite masked input reaches neither the value nor
        the gradient.
      weights: optional non-negative per-example weights, broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): ``"mean"``,
        ``"sum"`` and ``"sum_and_count"`` are then global (CONTRIBUTING.md, section 5)."""


def per_example_shape(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, ...]:
    """`shape` without the reduced `axes`."""
    return tuple(s for i, s in enumerate(shape) if i not in axes)


def example_mask(where, shape: tuple[int, ...], axes: tuple[int, ...]) -> jax.Array | None:
    """`where` as a boolean mask of the per-example shape (`shape` without `axes`), or None."""
    if where is None:
        return None
    mask = _checks.as_bool("where", where)
    return _checks.broadcast_to("where", mask, per_example_shape(shape, axes))


def zero_masked(mask: jax.Array | None, axes: tuple[int, ...], *arrays: jax.Array):
    """`arrays` with the vectors of masked-out examples replaced by zeros."""
    if mask is None:
        return arrays
    keep = jnp.expand_dims(mask, axes)
    return tuple(jnp.where(keep, a, jnp.zeros((), a.dtype)) for a in arrays)


def finish(
    values: jax.Array,
    dtype,
    reduction: str,
    mask: jax.Array | None,
    weights,
    axis_name: Hashable | None,
):
    """`jaxloss.reductions.reduce_loss` of the per-example values."""
    return reduce_loss(
        values.astype(dtype),
        dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def splice_docs(*functions) -> None:
    """Puts `REDUCTION_ARGS` in place of ``{reduce}`` in each function's docstring."""
    for fn in functions:
        fn.__doc__ = fn.__doc__.replace("{reduce}", REDUCTION_ARGS)


def float_inputs(x, y, axis, reduction: str, where, names: tuple[str, str] = ("x", "y")):
    """Validated floating inputs (compute dtype, masked examples zeroed), their vector axes,
    the result dtype and the per-example mask."""
    _checks.check_reduction(reduction)
    x, y, axes, dtype = _checks.float_pair(x, y, axis, names)
    mask = example_mask(where, x.shape, axes)
    x, y = zero_masked(mask, axes, x, y)
    return x, y, axes, dtype, mask
