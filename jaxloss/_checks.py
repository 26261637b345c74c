"""Argument validation shared by every family.

Static checks run at trace time on static information (shapes, dtypes, Python numbers).
Traced hyperparameters are accepted unchecked: a value inside `jit` cannot raise.
Messages name the argument, what was given and what was expected.

Data checks (`check_class_ids`, `check_values_in`) look at array values (CONTRIBUTING.md,
section 7). On a concrete array (an eager call) they raise at once. On a traced array they
emit a `jax.experimental.checkify.debug_check`: a no-op that XLA removes entirely unless the
caller wraps the computation in ``checkify.checkify(..., errors=checkify.user_checks)``, the
opt-in checked mode, where it becomes an error naming the argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer
from jax.experimental import checkify
from jax.typing import ArrayLike

REDUCTIONS = ("none", "mean", "sum", "sum_and_count")

# The type of every ``axis`` argument: one axis, several, or None (all, or the function's
# documented default set).
Axis = int | Sequence[int] | None


def check_reduction(reduction: Any) -> None:
    """Raises unless `reduction` is one of "none", "mean", "sum", "sum_and_count"."""
    if not isinstance(reduction, str) or reduction not in REDUCTIONS:
        raise ValueError(f"`reduction` must be one of {REDUCTIONS}; got {reduction!r}.")


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> None:
    """Raises unless the static option `value` is one of `choices`."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {tuple(choices)}; got {value!r}.")


def concrete(value: Any) -> np.ndarray | None:
    """The value as a numpy array when it is known at trace time, else None."""
    if value is None or isinstance(value, Tracer):
        return None
    try:
        return np.asarray(value)
    except (TypeError, jax.errors.ConcretizationTypeError):
        return None


def check_scalar_range(
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raises if a concrete hyperparameter lies outside [low, high] (bounds optional)."""
    v = concrete(value)
    if v is None:
        return
    bad = np.isnan(v)
    if low is not None:
        bad = bad | ((v < low) if low_inclusive else (v <= low))
    if high is not None:
        bad = bad | ((v > high) if high_inclusive else (v >= high))
    if np.any(bad):
        lo = "-inf" if low is None else f"{low}"
        hi = "inf" if high is None else f"{high}"
        interval = f"{'[' if low_inclusive else '('}{lo}, {hi}{']' if high_inclusive else ')'}"
        raise ValueError(f"`{name}` must lie in {interval}; got {value!r}.")


def check_positive(name: str, value: Any) -> None:
    """Raises if a concrete hyperparameter is not > 0."""
    check_scalar_range(name, value, low=0.0, low_inclusive=False)


def check_nonnegative(name: str, value: Any) -> None:
    """Raises if a concrete hyperparameter is < 0."""
    check_scalar_range(name, value, low=0.0)


def as_float(name: str, x: Any) -> jax.Array:
    """`x` as a floating-point array; integer and boolean arrays are refused."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.floating):
        raise TypeError(
            f"`{name}` must be a floating-point array; got dtype {arr.dtype}. "
            f"Cast it, e.g. `{name}.astype(jnp.float32)`."
        )
    return arr


def as_integer(name: str, x: Any) -> jax.Array:
    """`x` as an integer array; floating-point arrays are refused."""
    arr = jnp.asarray(x)
    if not jnp.issubdtype(arr.dtype, jnp.integer):
        raise TypeError(f"`{name}` must be an integer array; got dtype {arr.dtype}.")
    return arr


def as_bool(name: str, x: Any) -> jax.Array:
    """`x` as a boolean array (masks)."""
    arr = jnp.asarray(x)
    if arr.dtype != jnp.bool_:
        raise TypeError(f"`{name}` must be a boolean array; got dtype {arr.dtype}.")
    return arr


def check_same_shape(**arrays: jax.Array) -> None:
    """Raises unless all named arrays have the same shape."""
    shapes = {name: tuple(jnp.shape(a)) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        listing = ", ".join(f"`{n}` {s}" for n, s in shapes.items())
        raise ValueError(f"Shapes must be equal; got {listing}.")


def check_min_rank(name: str, x: jax.Array, rank: int) -> None:
    """Raises unless `x` has at least `rank` dimensions."""
    if jnp.ndim(x) < rank:
        raise ValueError(
            f"`{name}` must have rank >= {rank}; got shape {tuple(jnp.shape(x))} "
            f"(rank {jnp.ndim(x)})."
        )


def check_rank(name: str, x: jax.Array, rank: int) -> None:
    """Raises unless `x` has exactly `rank` dimensions."""
    if jnp.ndim(x) != rank:
        raise ValueError(
            f"`{name}` must have rank {rank}; got shape {tuple(jnp.shape(x))} (rank {jnp.ndim(x)})."
        )


def normalize_axis(name: str, axis: Any, ndim: int) -> int:
    """A static integer axis mapped into [0, ndim)."""
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise TypeError(f"`{name}` must be a static int; got {axis!r}.")
    if not -ndim <= axis < ndim:
        raise ValueError(f"`{name}`={axis} is out of range for an array of rank {ndim}.")
    return int(axis) % ndim


def broadcast_to(name: str, x: Any, shape: tuple[int, ...]) -> jax.Array:
    """Broadcasts `x` explicitly to `shape` (works under rank_promotion="raise")."""
    arr = jnp.asarray(x)
    try:
        np.broadcast_shapes(arr.shape, shape)
    except ValueError:
        raise ValueError(
            f"`{name}` of shape {arr.shape} does not broadcast to shape {tuple(shape)}."
        ) from None
    if np.broadcast_shapes(arr.shape, shape) != tuple(shape):
        raise ValueError(
            f"`{name}` of shape {arr.shape} must broadcast to shape {tuple(shape)} "
            "without enlarging it."
        )
    return jnp.broadcast_to(arr, shape)


def result_dtype(*arrays: ArrayLike | None) -> jnp.dtype:
    """The promoted floating dtype of the floating inputs (float32 if none is floating)."""
    floats = [jnp.asarray(a).dtype for a in arrays if a is not None]
    floats = [d for d in floats if jnp.issubdtype(d, jnp.floating)]
    if not floats:
        return jnp.dtype(jnp.float32)
    return jnp.result_type(*floats)


def compute_dtype(dtype: Any) -> jnp.dtype:
    """The dtype to accumulate in: at least float32 (float64 stays float64)."""
    return jnp.promote_types(dtype, jnp.float32)


def normalize_axes(name: str, axis: Any, ndim: int, *, keep_order: bool = False) -> tuple[int, ...]:
    """Static `axis` (an int, a sequence of ints, or None for all) as sorted distinct axes.

    Every function that reduces over one or more axes normalises them here, so the errors
    read the same everywhere: a non-int, an axis out of range, an empty or repeated list.
    With `keep_order`, a sequence keeps the order given (optax flattens a tuple of class
    axes in that order, and class ids follow it).
    """
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, Sequence) and not isinstance(axis, str):
        normalized = tuple(normalize_axis(name, a, ndim) for a in axis)
        if not normalized:
            raise ValueError(f"`{name}` must name at least one axis; got {axis!r}.")
        if len(set(normalized)) != len(normalized):
            raise ValueError(f"`{name}` must name distinct axes; got {axis!r}.")
        return normalized if keep_order else tuple(sorted(normalized))
    return (normalize_axis(name, axis, ndim),)


def example_weights(
    weights: Any, shape: tuple[int, ...], where: jax.Array | None = None
) -> jax.Array | None:
    """Per-example `weights` broadcast to `shape`, checked non-negative (masked ones free)."""
    if weights is None:
        return None
    w = broadcast_to("weights", as_float("weights", weights), shape)
    check_values_in("weights", w, low=0.0, where=where)
    return w


def broadcast_pair(
    x: Any, y: Any, axis: Any, names: tuple[str, str] = ("x", "y")
) -> tuple[jax.Array, jax.Array, tuple[int, ...]]:
    """Two arrays of equal rank broadcast explicitly to one shape, and their vector axes.

    The vector axes (`axis`, see `normalize_axes`) must have equal sizes; the other
    dimensions broadcast.
    """
    nx, ny = names
    x, y = jnp.asarray(x), jnp.asarray(y)
    check_min_rank(nx, x, 1)
    if x.ndim != y.ndim:
        raise ValueError(
            f"`{ny}` must have the same rank as `{nx}` (add size-1 axes to broadcast); got "
            f"`{nx}` {x.shape} and `{ny}` {y.shape}."
        )
    axes = normalize_axes("axis", axis, x.ndim)
    if any(x.shape[a] != y.shape[a] for a in axes):
        raise ValueError(
            f"`{ny}` must have the same size as `{nx}` along `axis`={axis!r}; got "
            f"`{nx}` {x.shape} and `{ny}` {y.shape}."
        )
    try:
        shape = np.broadcast_shapes(x.shape, y.shape)
    except ValueError:
        raise ValueError(
            f"The leading dimensions of `{nx}` {x.shape} and `{ny}` {y.shape} do not broadcast."
        ) from None
    return jnp.broadcast_to(x, shape), jnp.broadcast_to(y, shape), axes


def float_pair(
    x: Any, y: Any, axis: Any, names: tuple[str, str] = ("x", "y")
) -> tuple[jax.Array, jax.Array, tuple[int, ...], jnp.dtype]:
    """`broadcast_pair` of two floating arrays, in the compute dtype, and the result dtype."""
    x = as_float(names[0], x)
    y = as_float(names[1], y)
    x, y, axes = broadcast_pair(x, y, axis, names)
    dtype = result_dtype(x, y)
    acc = compute_dtype(dtype)
    return x.astype(acc), y.astype(acc), axes, dtype


def mahalanobis_matrix(
    precision: Any | None, covariance: Any | None, size: int, acc: Any
) -> tuple[jax.Array, str]:
    """Validates the metric matrix; returns the (symmetrised) precision or the Cholesky
    factor of the covariance, and which of the two it is."""
    if (precision is None) == (covariance is None):
        raise ValueError(
            "Give exactly one of `precision` and `covariance`; got "
            f"{'both' if precision is not None else 'neither'}."
        )
    name, value = ("precision", precision) if precision is not None else ("covariance", covariance)
    matrix = as_float(name, value)
    if matrix.shape != (size, size):
        raise ValueError(
            f"`{name}` must be a square matrix of shape ({size}, {size}) matching the vector "
            f"size; got shape {matrix.shape}."
        )
    matrix = matrix.astype(acc)
    if name == "precision":
        return 0.5 * (matrix + matrix.T), name
    known = concrete(covariance)
    if known is not None:
        try:
            np.linalg.cholesky(known.astype(np.float64))
        except np.linalg.LinAlgError:
            raise ValueError("`covariance` must be symmetric positive definite.") from None
    return jnp.linalg.cholesky(matrix), name


def is_concrete_zero(value: Any) -> bool:
    """True when `value` is a scalar known at trace time to equal 0 (lets a term be skipped)."""
    v = concrete(value)
    return v is not None and v.size == 1 and float(v) == 0.0


def combine_masks(a: jax.Array | None, b: jax.Array | None) -> jax.Array | None:
    """``a & b``, where None means "everything included"."""
    if a is None:
        return b
    if b is None:
        return a
    return a & b


def _data_check(message: str, x: Any, bad: Callable[[Any], Any], where: jax.Array | None) -> None:
    """Raises (concrete `x`) or emits a checked-mode check (traced `x`) where `bad(x)` holds.

    `bad` maps an array to a boolean array of the same shape with numpy or jax.numpy
    operators alike. Entries where `where` is False are never checked.
    """
    known, known_mask = concrete(x), concrete(where) if where is not None else None
    if known is not None and (where is None or known_mask is not None):
        flags = np.asarray(bad(known))
        if known_mask is not None:
            flags &= np.broadcast_to(known_mask, flags.shape)
        if np.any(flags):
            index = tuple(int(i) for i in np.argwhere(flags)[0])
            raise ValueError(f"{message}; got {known[index].item()!r} at index {index}.")
        return
    flags = bad(x)
    if flags.size == 0:  # nothing to check (and no first bad entry to report)
        return
    if where is not None:
        flags &= jnp.broadcast_to(where, flags.shape)
    checkify.debug_check(~jnp.any(flags), message + "; got {}.", _first_flagged(x, flags))


def _first_flagged(x: jax.Array, flags: jax.Array) -> jax.Array:
    """The entry of `x` at the first True of `flags` in row-major order (0 if none), from
    reductions and elementwise operations only: no ravel or dynamic index, which JAX's
    explicit sharding refuses on a sharded array."""
    x = jnp.broadcast_to(x, flags.shape)
    flat = sum(
        jax.lax.broadcasted_iota(jnp.int32, flags.shape, d) * math.prod(flags.shape[d + 1 :])
        for d in range(flags.ndim)
    )
    first = jnp.min(jnp.where(flags, flat, flags.size))
    return jnp.sum(jnp.where(flat == first, x, jnp.zeros((), x.dtype))).astype(x.dtype)


def check_class_ids(
    name: str,
    labels: jax.Array,
    num_classes: int,
    *,
    ignore_index: int | None = None,
    where: jax.Array | None = None,
) -> None:
    """Class ids must lie in ``[0, num_classes)`` (or equal `ignore_index`; masked ones are free).

    Raises a ValueError on concrete labels; emits a checked-mode check on traced ones.
    """
    ok_range = f"[0, {num_classes})" + (
        "" if ignore_index is None else f" or equal `ignore_index`={ignore_index}"
    )

    def bad(v):
        out = (v < 0) | (v >= num_classes)
        return out if ignore_index is None else out & (v != ignore_index)

    _data_check(f"`{name}` must hold class ids in {ok_range}", labels, bad, where)


def check_values_in(
    name: str,
    x: jax.Array,
    *,
    low: float | None = None,
    high: float | None = None,
    where: jax.Array | None = None,
) -> None:
    """Array values must lie in ``[low, high]`` (NaN counts as outside; masked ones are free).

    For data conditions: non-negative weights, probabilities and binary targets in [0, 1].
    Raises a ValueError on a concrete array; emits a checked-mode check on a traced one.
    """
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"

    def bad(v):
        out = v != v  # NaN
        if low is not None:
            out = out | (v < low)
        if high is not None:
            out = out | (v > high)
        return out

    _data_check(f"`{name}` must lie in [{lo}, {hi}]", x, bad, where)


def check_values_among(
    name: str, x: jax.Array, values: Sequence[float], *, where: jax.Array | None = None
) -> None:
    """Array values must be one of `values` (labels in {-1, 1}; masked ones are free)."""

    def bad(v):
        out = v == v  # True, NaN included
        for allowed in values:
            out = out & (v != allowed)
        return out

    listing = " or ".join(f"{a:g}" for a in values)
    _data_check(f"`{name}` must be {listing}", x, bad, where)
