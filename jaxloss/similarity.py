"""Similarities and distances between two vectors: angular (cosine, correlation) and
set-based (Jaccard, Hamming), reduced over `axis`.

The calling conventions are those of `jaxloss.distances`: ``x`` and ``y`` of equal rank, the
vector axis or axes reduced, the leading dimensions broadcast explicitly, arithmetic in at
least float32. A zero vector has cosine similarity 0 and a constant vector has correlation 0,
with finite gradients; two empty sets have Jaccard index 1 (distance 0).

Reduction. As in `jaxloss.distances`: per-example values by default, and ``reduction``,
``where`` (an example mask), ``weights`` and ``axis_name`` with `jaxloss.reduce`'s semantics.
`cosine_similarity` and `cosine_distance` keep optax's ``where`` as well: a mask of the
inputs' rank selects *elements* (optax's meaning), one of the per-example rank selects
examples (CONTRIBUTING.md, section 4).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics, _vectors
from jaxloss._checks import Axis

__all__ = [
    "correlation_distance",
    "cosine_distance",
    "cosine_similarity",
    "hamming_distance",
    "jaccard_distance",
    "jaccard_index",
    "pearson_correlation",
]


def cosine_similarity(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 0.0,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Cosine similarity ``<a, b> / (max(||a||^2, eps) * max(||b||^2, eps)) ** 0.5``.

    Drop-in for ``optax.losses.cosine_similarity`` (same signature and values), except that a
    zero vector (with the default ``epsilon=0``) gives a similarity of 0 and finite gradients
    where optax gives NaN.

    Args:
      predictions: ``[..., D]`` floating array.
      targets: ``[..., D]`` floating array, same rank; leading dimensions broadcast.
      epsilon: lower bound on each *squared* norm (optax's convention), ``>= 0``.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.
      where: optional boolean mask, either of the inputs' rank (broadcastable to them:
        optax's element mask: ``False`` elements are left out of the norms and the inner
        product; an example with no included element has similarity 0, as in optax, and
        still counts in the reductions) or of the per-example rank (an example mask, see
        below). optax also broadcasts a lower-rank element mask; here such a mask needs
        its leading size-1 axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction. Not clipped: rounding may put it a few ulps outside ``[-1, 1]``.

    References:
      ``optax.losses.cosine_similarity``; ``torch.nn.functional.cosine_similarity``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import cosine_similarity
      >>> cosine_similarity(jnp.array([1.0, 0.0]), jnp.array([1.0, 1.0]))
      Array(0.70710677, dtype=float32)
      >>> cosine_similarity(jnp.array([0.0, 0.0]), jnp.array([1.0, 1.0]))
      Array(0., dtype=float32)
    """
    sim, dtype, mask = _cosine(predictions, targets, epsilon, axis, where, reduction)
    return _vectors.finish(sim, dtype, reduction, mask, weights, axis_name)


def cosine_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 0.0,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Cosine distance ``1 - cosine_similarity``, clipped to ``[0, 2]``.

    Drop-in for ``optax.losses.cosine_distance``. Differences: a zero vector gives distance 1
    (similarity 0) with finite gradients, and the result is clipped to ``[0, 2]`` against
    rounding, as scipy does.

    Args:
      predictions: ``[..., D]`` floating array.
      targets: ``[..., D]`` floating array, same rank; leading dimensions broadcast.
      epsilon: lower bound on each *squared* norm (optax's convention), ``>= 0``.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.
      where: optional boolean element mask (the inputs' rank, optax's meaning) or example
        mask (the per-example rank); see `cosine_similarity`.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    References:
      ``optax.losses.cosine_distance``; ``scipy.spatial.distance.cosine``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import cosine_distance
      >>> cosine_distance(jnp.array([1.0, 0.0]), jnp.array([-1.0, 0.0]))
      Array(2., dtype=float32)
    """
    sim, dtype, mask = _cosine(predictions, targets, epsilon, axis, where, reduction)
    return _vectors.finish(jnp.clip(1 - sim, 0, 2), dtype, reduction, mask, weights, axis_name)


def pearson_correlation(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Pearson correlation: the cosine similarity of the mean-centred vectors.

    ``r = <x - mean(x), y - mean(y)> / (||x - mean(x)|| ||y - mean(y)||)``.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    A constant vector (all entries equal, detected exactly) has correlation 0 with finite
    gradients, where numpy and scipy give NaN.

    References:
      ``numpy.corrcoef``; ``scipy.stats.pearsonr``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import pearson_correlation
      >>> r = pearson_correlation(jnp.array([1.0, 2.0, 3.0]), jnp.array([2.0, 4.0, 6.5]))
      >>> print(f"{float(r):.4f}")
      0.9979
      >>> pearson_correlation(jnp.array([1.0, 1.0, 1.0]), jnp.array([2.0, 4.0, 6.5]))
      Array(0., dtype=float32)
    """
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    values = _pearson(x, y, axes)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def correlation_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Correlation distance ``1 - pearson_correlation(x, y)``, clipped to ``[0, 2]``.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    A constant vector gives distance 1 (correlation 0) where scipy gives NaN.

    References:
      ``scipy.spatial.distance.correlation``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import correlation_distance
      >>> correlation_distance(jnp.array([1.0, 2.0, 3.0]), jnp.array([3.0, 2.0, 1.0]))
      Array(2., dtype=float32)
    """
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    values = jnp.clip(1 - _pearson(x, y, axes).astype(dtype), 0, 2)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def jaccard_index(
    x: ArrayLike,
    y: ArrayLike,
    *,
    soft: bool | None = None,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Jaccard index (intersection over union) ``sum(a b) / sum(a + b - a b)``.

    Binary mode: ``a = (x != 0)``, ``b = (y != 0)``, so the index is
    ``|a and b| / |a or b|``. Soft mode: ``a = x``, ``b = y`` taken as memberships in
    ``[0, 1]`` (the soft IoU, differentiable; equal to the binary value on 0/1 inputs).
    Two empty (all-zero) vectors have index 1.

    Args:
      x: ``[..., D]`` boolean, integer or floating array.
      y: ``[..., D]`` array of the same rank; leading dimensions broadcast.
      soft: ``None`` (default) picks soft mode when ``x`` or ``y`` is floating and binary mode
        otherwise; ``True``/``False`` forces it. Soft values outside ``[0, 1]`` are not
        checked and give meaningless results. Pass ``soft=False`` for scipy's exact
        semantics on non-binary floats.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction; float32 for
      boolean or integer inputs.

    References:
      ``1 - scipy.spatial.distance.jaccard``; M. A. Rahman and Y. Wang, "Optimizing
      intersection-over-union in deep neural networks for image segmentation", ISVC 2016.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import jaccard_index
      >>> jaccard_index(jnp.array([True, True, False]), jnp.array([True, False, True]))
      Array(0.33333334, dtype=float32)
      >>> jaccard_index(jnp.array([0.5, 1.0]), jnp.array([1.0, 0.0]))
      Array(0.25, dtype=float32)
    """
    inter, union, _, mask = _jaccard_terms(x, y, soft, axis, reduction, where)
    values = _numerics.ratio_or(inter, union, 1)
    dtype = _checks.result_dtype(x, y)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def jaccard_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    soft: bool | None = None,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Jaccard distance ``sum(a + b - 2 a b) / sum(a + b - a b)`` (``1 - jaccard_index``).

    In binary mode this is scipy's ``|a xor b| / |a or b|``; two all-zero vectors have
    distance 0. See `jaccard_index` for the binary and soft modes.

    Args:
      x: ``[..., D]`` boolean, integer or floating array.
      y: ``[..., D]`` array of the same rank; leading dimensions broadcast.
      soft: ``None`` (soft for floating inputs), ``True`` or ``False``; see `jaccard_index`.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction; float32 for
      boolean or integer inputs.

    References:
      ``scipy.spatial.distance.jaccard``; P. Jaccard, 1912.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import jaccard_distance
      >>> jaccard_distance(jnp.array([1, 1, 0]), jnp.array([1, 0, 1]))
      Array(0.6666667, dtype=float32)
      >>> jaccard_distance(jnp.array([0, 0]), jnp.array([0, 0]))
      Array(0., dtype=float32)
    """
    _, union, differ, mask = _jaccard_terms(x, y, soft, axis, reduction, where)
    values = _numerics.ratio_or(differ, union, 0)
    dtype = _checks.result_dtype(x, y)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def hamming_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Hamming distance: the fraction of positions where ``x != y``.

    Args:
      x: ``[..., D]`` array of any dtype.
      y: ``[..., D]`` array of the same rank; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]`` in ``[0, 1]`` (``"none"``), or the reduction; float32 for boolean or integer
      inputs. Piecewise constant, so its gradient is zero.

    References:
      ``scipy.spatial.distance.hamming``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import hamming_distance
      >>> hamming_distance(jnp.array([1, 0, 0, 2]), jnp.array([1, 1, 0, 3]))
      Array(0.5, dtype=float32)
    """
    x, y, axes, mask = _any_pair(x, y, axis, reduction, where)
    dtype = _checks.result_dtype(x, y)
    values = jnp.mean((x != y).astype(_checks.compute_dtype(dtype)), axis=axes)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


_vectors.splice_docs(
    cosine_similarity,
    cosine_distance,
    pearson_correlation,
    correlation_distance,
    jaccard_index,
    jaccard_distance,
    hamming_distance,
)


# Private helpers ------------------------------------------------------------------------


def _cosine(predictions, targets, epsilon, axis, where, reduction):
    """Cosine similarities ``[...]``, the result dtype and the per-example mask."""
    _checks.check_nonnegative("epsilon", epsilon)
    _checks.check_reduction(reduction)
    names = ("predictions", "targets")
    a, b, axes, dtype = _checks.float_pair(predictions, targets, axis, names)
    elements, mask = _split_where(where, a.shape, axes)
    if elements is None:
        a, b = _vectors.zero_masked(mask, axes, a, b)
    else:
        # Excluded elements are zeros: out of the norms and the inner product, as in optax.
        a, b = (jnp.where(elements, v, jnp.zeros((), v.dtype)) for v in (a, b))
    ua = _numerics.unit_normalize(a, axes, floor=epsilon)
    ub = _numerics.unit_normalize(b, axes, floor=epsilon)
    return jnp.sum(ua * ub, axis=axes), dtype, mask


def _split_where(where, shape, axes):
    """optax's element mask (the inputs' rank) or an example mask (the per-example rank)."""
    if where is None:
        return None, None
    where = _checks.as_bool("where", where)
    if where.ndim == len(shape):
        return _checks.broadcast_to("where", where, shape), None
    if where.ndim == len(shape) - len(axes):
        return None, _vectors.example_mask(where, shape, axes)
    raise ValueError(
        f"`where` must have the rank of the inputs ({len(shape)}, an element mask) or of the "
        f"per-example shape ({len(shape) - len(axes)}, an example mask); got shape "
        f"{where.shape}."
    )


def _pearson(x, y, axes):
    ux = _numerics.unit_normalize(_numerics.centered(x, axes), axes)
    uy = _numerics.unit_normalize(_numerics.centered(y, axes), axes)
    return jnp.sum(ux * uy, axis=axes)


def _any_pair(x, y, axis, reduction, where):
    """`broadcast_pair` of arrays of any dtype, masked examples zeroed, and the mask."""
    _checks.check_reduction(reduction)
    x, y, axes = _checks.broadcast_pair(x, y, axis)
    mask = _vectors.example_mask(where, x.shape, axes)
    x, y = _vectors.zero_masked(mask, axes, x, y)
    return x, y, axes, mask


def _jaccard_terms(x, y, soft, axis, reduction, where):
    if soft is not None and not isinstance(soft, bool):
        raise TypeError(f"`soft` must be None, True or False; got {soft!r}.")
    x, y, axes, mask = _any_pair(x, y, axis, reduction, where)
    if soft is None:
        soft = jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(y.dtype, jnp.floating)
    acc = _checks.compute_dtype(_checks.result_dtype(x, y))
    a = x.astype(acc) if soft else (x != 0).astype(acc)
    b = y.astype(acc) if soft else (y != 0).astype(acc)
    both = a * b
    inter = jnp.sum(both, axis=axes)
    union = jnp.sum(a + b - both, axis=axes)
    differ = jnp.sum(a + b - 2 * both, axis=axes)
    return inter, union, differ, mask
