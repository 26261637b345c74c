"""All-pairs distance matrices between two sets of row vectors (scipy's ``cdist``)."""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.distances import minkowski_distance
from jaxloss.similarity import hamming_distance

__all__ = ["pairwise_distances"]

METRICS = (
    "euclidean",
    "sqeuclidean",
    "squared_euclidean",
    "minkowski",
    "manhattan",
    "cityblock",
    "chebyshev",
    "mahalanobis",
    "cosine",
    "correlation",
    "jaccard",
    "hamming",
    "inner_product",
    "dot",
)
_ALIASES = {"squared_euclidean": "sqeuclidean", "cityblock": "manhattan", "dot": "inner_product"}
_OPTIONS = {"minkowski": ("p",), "mahalanobis": ("precision", "covariance"), "jaccard": ("soft",)}
# Metrics evaluated row chunk by row chunk: each chunk holds at most this many elements of the
# [..., rows, M, D] broadcast.
_CHUNK_ELEMENTS = 2**18


def pairwise_distances(
    x: ArrayLike, y: ArrayLike | None = None, *, metric: str = "euclidean", **options: Any
) -> jax.Array:
    """Distance matrix ``D[..., i, j] = metric(x[..., i, :], y[..., j, :])``, like ``cdist``.

    Metrics (static string) and their options:

    - ``"euclidean"``, ``"sqeuclidean"`` (or ``"squared_euclidean"``), ``"cosine"``,
      ``"correlation"``, ``"inner_product"`` (or ``"dot"``; a similarity ``<x_i, y_j>``),
      ``"mahalanobis"`` (``precision=`` or ``covariance=``, see `mahalanobis_distance`) and
      ``"jaccard"`` (``soft=``, see `jaccard_distance`) use the Gram matrix
      ``||x||^2 + ||y||^2 - 2 x y^T``: one matmul, no ``[N, M, D]`` intermediate. Squared
      distances are clamped at 0; float32/float64 inputs are centred first (the distance is
      translation invariant; this shrinks the cancellation error) and multiplied at
      ``Precision.HIGHEST`` (no TF32); float16/bfloat16 inputs are multiplied in their own
      dtype with float32 accumulation (``preferred_element_type``).
    - ``"manhattan"`` (or ``"cityblock"``), ``"chebyshev"``, ``"minkowski"`` (``p=``, default
      2) and ``"hamming"`` evaluate `minkowski_distance` / `hamming_distance` on broadcast
      row chunks (``lax.map`` with rematerialisation), so no more than about 2**18 elements
      of the ``[N, M, D]`` difference exist at once, also in the backward pass.

    With ``y=None`` (or ``y`` the very same array object as ``x``, e.g. one traced array
    passed twice) the distances are among the rows of ``x``: the matrix is symmetrised and
    its diagonal is exactly 0 with a zero gradient for every metric except
    ``"inner_product"`` (whose diagonal is ``||x_i||^2``). A zero row therefore has cosine
    self-distance 0 here, though ``cosine_distance(0, 0) == 1`` (similarity 0). Elsewhere the
    conventions of the per-pair functions hold: zero vectors have cosine similarity 0,
    constant rows correlation 0, two empty sets Jaccard distance 0.

    Args:
      x: ``[..., N, D]`` array (floating; boolean or integer allowed for ``"jaccard"`` and
        ``"hamming"``).
      y: ``[..., M, D]`` array of the same rank, or ``None`` for ``y = x``. Leading
        dimensions broadcast.
      metric: one of the names above (static).
      **options: the metric's options listed above; any other raises ``TypeError``.

    Returns:
      ``[..., N, M]`` in the promoted floating dtype of the inputs (float32 for boolean or
      integer inputs).

    References:
      ``scipy.spatial.distance.cdist``; ``sklearn.metrics.pairwise_distances``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import pairwise_distances
      >>> x = jnp.array([[0.0, 0.0], [3.0, 4.0]])
      >>> pairwise_distances(x)
      Array([[0., 5.],
             [5., 0.]], dtype=float32)
      >>> pairwise_distances(x, jnp.array([[0.0, 1.0]]), metric="cityblock")
      Array([[1.],
             [6.]], dtype=float32)
    """
    if not isinstance(metric, str) or metric not in METRICS:
        raise ValueError(f"`metric` must be one of {METRICS}; got {metric!r}.")
    name = _ALIASES.get(metric, metric)
    for key in options:
        if key not in _OPTIONS.get(name, ()):
            raise TypeError(
                f"`{key}` is not an option of metric {metric!r}; it takes "
                f"{_OPTIONS.get(name, ()) or 'no options'}."
            )
    # `y` given as the very object `x` (e.g. one traced array passed twice) is the self case too.
    self_pairs = y is None or y is x
    x, y = _rows(x, None if self_pairs else y)
    if name not in ("jaccard", "hamming"):
        x = _checks.as_float("x", x)
        y = _checks.as_float("y", y)
    dtype = _checks.result_dtype(x, y, options.get("precision"), options.get("covariance"))
    acc = _checks.compute_dtype(dtype)
    if name in ("manhattan", "chebyshev", "minkowski", "hamming"):
        out = _chunked(name, x, y, options)
    elif name == "mahalanobis":
        matrix, kind = _checks.mahalanobis_matrix(
            options.get("precision"), options.get("covariance"), x.shape[-1], acc
        )
        out = _mahalanobis(x, y, acc, matrix, kind)
    else:
        out = _gram_metric(name, x, y, acc, soft=options.get("soft"))
    if self_pairs:
        if name not in ("manhattan", "chebyshev", "minkowski", "hamming"):
            out = 0.5 * (out + jnp.swapaxes(out, -1, -2))
        if name != "inner_product":
            out = jnp.where(jnp.eye(out.shape[-1], dtype=bool), jnp.zeros((), out.dtype), out)
    return out.astype(dtype)


# Private helpers ------------------------------------------------------------------------


def _rows(x, y):
    x = jnp.asarray(x)
    _checks.check_min_rank("x", x, 2)
    if y is None:
        return x, x
    y = jnp.asarray(y)
    _checks.check_min_rank("y", y, 2)
    if y.ndim != x.ndim:
        raise ValueError(
            f"`y` must have the same rank as `x` (add size-1 axes to broadcast); got `x` "
            f"{x.shape} and `y` {y.shape}."
        )
    if y.shape[-1] != x.shape[-1]:
        raise ValueError(
            f"`y` must have as many features (last axis) as `x`; got `x` {x.shape} and "
            f"`y` {y.shape}."
        )
    try:
        batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        raise ValueError(
            f"The leading dimensions of `x` {x.shape} and `y` {y.shape} do not broadcast."
        ) from None
    return jnp.broadcast_to(x, batch + x.shape[-2:]), jnp.broadcast_to(y, batch + y.shape[-2:])


def _gram(a, b, acc):
    """a @ b^T accumulated in `acc`: half types natively, others at HIGHEST precision."""
    bt = jnp.swapaxes(b, -1, -2)
    if a.dtype == b.dtype and jnp.dtype(a.dtype).itemsize < 4:
        return jnp.matmul(a, bt, preferred_element_type=acc)
    return jnp.matmul(a.astype(acc), bt.astype(acc), precision=jax.lax.Precision.HIGHEST).astype(
        acc
    )


def _squared_norms(a, acc):
    return jnp.sum(jnp.square(a.astype(acc)), axis=-1)


def _center(x, y, acc):
    if jnp.dtype(x.dtype).itemsize < 4:
        # Centring would round the exact half-precision inputs; their products are exact in
        # float32 already.
        return x, y
    x, y = x.astype(acc), y.astype(acc)
    mid = 0.5 * (jnp.mean(x, axis=-2, keepdims=True) + jnp.mean(y, axis=-2, keepdims=True))
    return x - mid, y - mid


def _squared_from_gram(x, y, acc, *, clamp=True):
    x, y = _center(x, y, acc)
    nx, ny = _squared_norms(x, acc), _squared_norms(y, acc)
    squared = nx[..., :, None] + ny[..., None, :] - 2 * _gram(x, y, acc)
    return jnp.where(squared > 0, squared, 0) if clamp else squared


@jax.custom_jvp
def _sqrt_of_clamped(squared):
    """``sqrt(max(s, 0))`` with a zero gradient where ``s <= 0`` (as `_numerics.safe_sqrt`).

    Written without a select so that XLA:CPU fuses it into the matmul's epilogue: the
    distance matrix is written once, not written as squares and rewritten as roots.
    """
    return jnp.sqrt(jnp.maximum(squared, 0))


@_sqrt_of_clamped.defjvp
def _sqrt_of_clamped_jvp(primals, tangents):
    (squared,), (tangent,) = primals, tangents
    root = _sqrt_of_clamped(squared)
    positive = squared > 0
    return root, jnp.where(positive, 0.5 * tangent / jnp.where(positive, root, 1), 0)


def _cosine_from_gram(x, y, acc):
    inverse = [_numerics.inverse_norm(v.astype(acc)) for v in (x, y)]
    similarity = _gram(x, y, acc) * inverse[0][..., :, None] * inverse[1][..., None, :]
    return jnp.clip(1 - similarity, 0, 2)


def _mahalanobis(x, y, acc, matrix, kind):
    if kind == "covariance":
        # Whitening by L^-1 (C = L L^T) turns the distance into a Euclidean one.
        x, y = (_whiten(v.astype(acc), matrix) for v in (x, y))
        return _numerics.safe_sqrt(_squared_from_gram(x, y, acc))
    x, y = _center(x.astype(acc), y.astype(acc), acc)
    xs = jnp.matmul(x, matrix, precision=jax.lax.Precision.HIGHEST)
    ys = jnp.matmul(y, matrix, precision=jax.lax.Precision.HIGHEST)
    squared = (
        jnp.sum(xs * x, axis=-1)[..., :, None]
        + jnp.sum(ys * y, axis=-1)[..., None, :]
        - 2 * _gram(xs, y, acc)
    )
    return _numerics.safe_sqrt(jnp.where(squared > 0, squared, 0))


def _gram_metric(name, x, y, acc, *, soft=None):
    if name == "sqeuclidean":
        return _squared_from_gram(x, y, acc)
    if name == "euclidean":
        return _sqrt_of_clamped(_squared_from_gram(x, y, acc, clamp=False))
    if name == "cosine":
        return _cosine_from_gram(x, y, acc)
    if name == "correlation":
        return _cosine_from_gram(
            _numerics.centered(x.astype(acc), -1), _numerics.centered(y.astype(acc), -1), acc
        )
    if name == "inner_product":
        return _gram(x, y, acc)
    # jaccard: |a and b| = a b^T, |a or b| = |a| + |b| - |a and b|.
    if soft is not None and not isinstance(soft, bool):
        raise TypeError(f"`soft` must be None, True or False; got {soft!r}.")
    if soft is None:
        soft = jnp.issubdtype(x.dtype, jnp.floating) or jnp.issubdtype(y.dtype, jnp.floating)
    a, b = ((v.astype(acc) if soft else (v != 0).astype(acc)) for v in (x, y))
    inter = _gram(a, b, acc)
    sa, sb = jnp.sum(a, axis=-1)[..., :, None], jnp.sum(b, axis=-1)[..., None, :]
    return _numerics.ratio_or(sa + sb - 2 * inter, sa + sb - inter, 0)


def _whiten(v, cholesky):
    flat = v.reshape(-1, v.shape[-1]).T
    solved = jax.scipy.linalg.solve_triangular(cholesky, flat, lower=True)
    return solved.T.reshape(v.shape)


def _chunked(name, x, y, options):
    if name == "hamming":
        fn = hamming_distance
    else:
        fixed = {"manhattan": 1.0, "chebyshev": jnp.inf}
        p = fixed[name] if name in fixed else options.get("p", 2.0)
        _checks.check_scalar_range("p", p, low=1.0)
        fn = functools.partial(minkowski_distance, p=p)
    n, m, d = x.shape[-2], y.shape[-2], y.shape[-1]
    per_row = max(1, math.prod(x.shape[:-2]) * m * d)
    chunk = max(1, _CHUNK_ELEMENTS // per_row)
    acc = _checks.compute_dtype(_checks.result_dtype(x, y))
    if chunk >= n:
        return fn(x[..., :, None, :], y[..., None, :, :]).astype(acc)

    @jax.checkpoint
    def row(xi):
        return fn(xi[..., None, :], y).astype(acc)

    out = jax.lax.map(row, jnp.moveaxis(x, -2, 0), batch_size=chunk)
    return jnp.moveaxis(out, 0, -2)
