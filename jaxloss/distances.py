"""Metric distances between two vectors (Lp and Mahalanobis), reduced over `axis`.

Every function here and in `jaxloss.similarity` takes two arrays ``x`` and ``y`` of equal
rank, reduces the vector axis (``axis``, default -1; a tuple of axes or ``None`` for all axes,
except for `mahalanobis_distance`) and broadcasts the remaining (leading) dimensions
explicitly: ``[3, 1, D]`` and ``[1, 4, D]`` give ``[3, 4]``. The reduced dimensions must match
exactly. Arithmetic runs in at least float32 and the result has the promoted floating dtype of
the inputs.

A zero difference gives a distance of exactly 0 with a zero gradient (double ``where``). For
all-pairs distance matrices see `jaxloss.pairwise_distances`.

Reduction. The per-example values are the default (``reduction="none"``); ``"mean"``,
``"sum"`` and ``"sum_and_count"`` reduce them with `jaxloss.reduce`'s semantics, under an
optional example mask ``where`` and per-example ``weights`` of the per-example shape, and
globally over ``axis_name`` inside ``shard_map`` (CONTRIBUTING.md, sections 4 and 5).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics, _vectors
from jaxloss._checks import Axis

__all__ = [
    "chebyshev_distance",
    "euclidean_distance",
    "mahalanobis_distance",
    "manhattan_distance",
    "minkowski_distance",
    "squared_euclidean_distance",
]


def euclidean_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Euclidean (L2) distance ``sqrt(sum((x - y) ** 2))``.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    Identical points give exactly 0 with a zero gradient (the gradient of the norm at 0 is
    undefined; we pick the zero subgradient).

    References:
      ``scipy.spatial.distance.euclidean``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import euclidean_distance
      >>> euclidean_distance(jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0]))
      Array(5., dtype=float32)
      >>> x, y = jnp.zeros((3, 2)), jnp.array([[3.0, 4.0], [0.0, 1.0], [jnp.nan, 0.0]])
      >>> euclidean_distance(x, y, reduction="mean", where=jnp.array([True, True, False]))
      Array(3., dtype=float32)
    """
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    values = _numerics.safe_sqrt(jnp.sum(jnp.square(x - y), axis=axes))
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def squared_euclidean_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Squared Euclidean distance ``sum((x - y) ** 2)``.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    References:
      ``scipy.spatial.distance.sqeuclidean``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import squared_euclidean_distance
      >>> squared_euclidean_distance(jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0]))
      Array(25., dtype=float32)
    """
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    values = jnp.sum(jnp.square(x - y), axis=axes)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def minkowski_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    p: ArrayLike = 2.0,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Minkowski (Lp) distance ``sum(|x - y| ** p) ** (1 / p)`` for ``p >= 1``.

    Evaluated as ``m * sum((|x - y| / m) ** p) ** (1 / p)`` with ``m = max |x - y|`` so large
    ``p`` neither overflows nor underflows; ``p = inf`` (concrete) is the Chebyshev distance.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      p: the order, ``>= 1`` (``jnp.inf`` allowed). A traced ``p`` is not checked.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    Identical points give exactly 0 with a zero gradient; a zero coordinate difference
    contributes a zero (sub)gradient, also for ``p = 1``.

    References:
      ``scipy.spatial.distance.minkowski``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import minkowski_distance
      >>> x, y = jnp.array([0.0, 0.0]), jnp.array([3.0, 4.0])
      >>> print(f"{float(minkowski_distance(x, y, p=1.0)):.4f}")
      7.0000
      >>> print(f"{float(minkowski_distance(x, y, p=jnp.inf)):.4f}")
      4.0000
    """
    _checks.check_scalar_range("p", p, low=1.0)
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    concrete_p = _checks.concrete(p)
    if concrete_p is not None and concrete_p.ndim == 0 and np.isinf(concrete_p):
        values = jnp.max(_numerics.abs_zero_grad(x - y), axis=axes)
    else:
        values = _scaled_minkowski(_numerics.abs_zero_grad(x - y), p, axes)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def manhattan_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Manhattan (city block, L1) distance ``sum(|x - y|)``.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    The gradient of ``|t|`` at ``t = 0`` is taken as 0 (``sign(0)``).

    References:
      ``scipy.spatial.distance.cityblock``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import manhattan_distance
      >>> manhattan_distance(jnp.array([0.0, 0.0]), jnp.array([3.0, -4.0]))
      Array(7., dtype=float32)
    """
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    values = jnp.sum(_numerics.abs_zero_grad(x - y), axis=axes)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def chebyshev_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    axis: Axis = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Chebyshev (L-infinity) distance ``max(|x - y|)``.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      axis: the vector axis or axes (static), default -1; ``None`` reduces all axes.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with the reduced axes removed (``"none"``), or
      the reduction.

    Ties for the maximum share the gradient equally (``jnp.max``); identical points give a
    zero gradient.

    References:
      ``scipy.spatial.distance.chebyshev``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import chebyshev_distance
      >>> chebyshev_distance(jnp.array([0.0, 0.0]), jnp.array([3.0, -4.0]))
      Array(4., dtype=float32)
    """
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    values = jnp.max(_numerics.abs_zero_grad(x - y), axis=axes)
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


def mahalanobis_distance(
    x: ArrayLike,
    y: ArrayLike,
    *,
    precision: ArrayLike | None = None,
    covariance: ArrayLike | None = None,
    axis: int = -1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    """Mahalanobis distance ``sqrt((x - y)^T P (x - y))`` with ``P = covariance^-1``.

    Give exactly one of ``precision`` (``P``, scipy's ``VI``) or ``covariance`` (``C``).
    With ``covariance`` the inverse is never formed: ``C = L L^T`` (Cholesky) and the
    distance is ``||L^-1 (x - y)||`` by a triangular solve.

    Args:
      x: ``[..., D]`` floating array.
      y: ``[..., D]`` floating array, same rank as ``x``; leading dimensions broadcast.
      precision: ``[D, D]`` symmetric positive semi-definite matrix. Only its symmetric
        part enters the quadratic form; a negative form (not PSD) is clamped to 0.
      covariance: ``[D, D]`` symmetric positive-definite matrix (only its lower triangle is
        read). A concrete matrix that is not positive definite raises; a traced one gives
        NaN.
      axis: the vector axis (static int), default -1.{reduce}

    Returns:
      ``[...]``: the broadcast leading shape with ``axis`` removed (``"none"``), or the
      reduction.

    Identical points give exactly 0 with a zero gradient.

    References:
      ``scipy.spatial.distance.mahalanobis`` (``VI`` is ``precision``); P. C. Mahalanobis,
      "On the generalised distance in statistics", 1936.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import mahalanobis_distance
      >>> cov = jnp.array([[4.0, 0.0], [0.0, 1.0]])
      >>> x, y = jnp.array([0.0, 0.0]), jnp.array([2.0, 1.0])
      >>> print(f"{float(mahalanobis_distance(x, y, covariance=cov)):.4f}")
      1.4142
    """
    if not isinstance(axis, int | np.integer) or isinstance(axis, bool):
        raise TypeError(f"`axis` must be a static int; got {axis!r}.")
    x, y, axes, dtype, mask = _vectors.float_inputs(x, y, axis, reduction, where)
    dtype = jnp.promote_types(dtype, _checks.result_dtype(precision, covariance))
    acc = _checks.compute_dtype(dtype)
    diff = jnp.moveaxis(x.astype(acc) - y.astype(acc), axes[0], -1)
    matrix, kind = _checks.mahalanobis_matrix(precision, covariance, diff.shape[-1], acc)
    if kind == "precision":
        quad = jnp.einsum(
            "...i,ij,...j->...", diff, matrix, diff, precision=jax.lax.Precision.HIGHEST
        )
    else:
        flat = diff.reshape(-1, diff.shape[-1]).T
        z = jax.scipy.linalg.solve_triangular(matrix, flat, lower=True)
        quad = jnp.sum(jnp.square(z), axis=0).reshape(diff.shape[:-1])
    values = _numerics.safe_sqrt(jnp.where(quad > 0, quad, 0))
    return _vectors.finish(values, dtype, reduction, mask, weights, axis_name)


_vectors.splice_docs(
    euclidean_distance,
    squared_euclidean_distance,
    minkowski_distance,
    manhattan_distance,
    chebyshev_distance,
    mahalanobis_distance,
)


# Private helpers ----------------------------------------------------------------------------


def _scaled_minkowski(magnitude, p, axes):
    # The norm is homogeneous in the scale, so its derivative through `largest` is exactly 0;
    # stopping it keeps autodiff from forming magnitude / largest**2, which overflows (1e30
    # coordinates in float32) and left a wrong, doubled gradient.
    largest = lax.stop_gradient(jnp.max(magnitude, axis=axes, keepdims=True))
    nonzero = largest > 0
    ratio = magnitude / jnp.where(nonzero, largest, 1)
    positive = ratio > 0
    powered = jnp.where(positive, jnp.where(positive, ratio, 1) ** p, 0)
    total = jnp.where(jnp.squeeze(nonzero, axes), jnp.sum(powered, axis=axes), 1)
    root = total ** (1 / jnp.asarray(p, total.dtype))
    return jnp.where(jnp.squeeze(nonzero, axes), jnp.squeeze(largest, axes) * root, 0)
