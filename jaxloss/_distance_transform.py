"""Exact Euclidean distance transforms of boolean masks, inside JAX.

`squared_edt(mask, spatial_axes)` is the squared distance from each ``True`` element to the
nearest ``False`` element of its slice (the other axes index independent slices), ``0`` at
the ``False`` elements: the square of ``scipy.ndimage.distance_transform_edt(mask)`` on each
slice, with unit spacing. A slice without any ``False`` element has no such distance; its
elements are ``inf`` (scipy returns an implementation artefact there).

The squared Euclidean distance is a sum of per-axis squares, so the transform is separable
(Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions", Theory of
Computing 2012): starting from ``f = 0`` at ``False`` and ``inf`` at ``True``, one pass per
axis replaces each line by its lower envelope of parabolas,

    g[x] = min_y f[y] + (x - y)^2,

and after the last pass ``g`` is the exact squared distance. Each pass is written here as a minimum
over all ``(x, y)`` pairs of a line (instead of the paper's sequential envelope construction,
which has no vectorised form), for a block of output positions ``x`` at a time. Cost:
``N * sum_i n_i`` additions and comparisons for ``N`` elements and axis lengths ``n_i`` (a
128 x 128 image: 2 * 128 per pixel, the paper's algorithm needs O(1)); memory: the input and
output plus one block of at most ``_BLOCK_ELEMENTS`` (16 MiB), ``O(N)`` overall. Small maps
(``N * n_i <= 2**22``) are one vectorised step per axis; larger ones loop over
``N * n_i / 2**22`` blocks.

Without a pixel spacing the values are integers held in float32: exact while below ``2**24``
(any image with ``sum_i (n_i - 1)**2 < 2**24``, e.g. up to 2365 pixels per side in 3-D).
With a spacing (``sampling``, scipy's name) each pass adds ``(s_i * (x - y))**2`` in the
spacing's dtype, and the transform is differentiable with respect to the spacing (the mask
itself has no gradient).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks

# The most elements one step of a pass adds and compares at once (16 MiB of float32).
_BLOCK_ELEMENTS = 1 << 22


def squared_edt(
    mask: ArrayLike,
    spatial_axes: int | Sequence[int],
    *,
    sampling: jax.Array | None = None,
) -> jax.Array:
    """Squared Euclidean distance from each ``True`` element to the nearest ``False`` one.

    Args:
      mask: boolean array; the slices along `spatial_axes` are transformed independently.
      spatial_axes: the axes the distance is measured along (at least one).
      sampling: optional floating ``[len(spatial_axes)]`` pixel spacing, one value per axis
        in the order of `spatial_axes` (scipy's ``sampling``); the distances are then in its
        units and dtype, and differentiable with respect to it (pixels equidistant from
        several nearest ``False`` elements share their gradients, as ``jnp.min``).

    Returns:
      Array of the shape of `mask` (float32, or the dtype of `sampling`): 0 at ``False``
      elements, the exact squared distance at ``True`` elements (an integer without
      `sampling`), ``inf`` throughout a slice that has no ``False`` element.
    """
    mask = _checks.as_bool("mask", mask)
    axes = _checks.normalize_axes("spatial_axes", spatial_axes, mask.ndim)
    if not axes:
        raise ValueError(f"`spatial_axes` must name at least one axis; got {spatial_axes!r}.")
    dtype = jnp.float32 if sampling is None else sampling.dtype
    # Elements without a False element yet hold a finite sentinel above every distance of
    # the map (an ``inf`` in the arithmetic turns the gradient NaN on some XLA:CPU builds).
    extent = jnp.asarray([mask.shape[a] for a in axes], dtype)
    scale = extent if sampling is None else jax.lax.stop_gradient(sampling) * extent
    sentinel = 1.0 + jnp.sum(jnp.square(scale))
    f = jnp.where(mask, sentinel, jnp.zeros((), dtype))
    for i, axis in enumerate(axes):
        f = _lower_envelope(f, axis, None if sampling is None else sampling[i])
    return jnp.where(f < sentinel, f, jnp.inf)


def _lower_envelope(f: jax.Array, axis: int, step: jax.Array | None) -> jax.Array:
    """``g[x] = min_y f[y] + (step * (x - y))^2`` along `axis` (one exact pass of the
    separable EDT; ``step`` 1 when None)."""
    if step is None:
        return _envelope_pass(f, jnp.ones((), f.dtype), axis)
    return _envelope_pass(f, step, axis)


@functools.partial(jax.custom_jvp, nondiff_argnums=(2,))
def _envelope_pass(f: jax.Array, step: jax.Array, axis: int) -> jax.Array:
    return _blocks(f, step, axis, with_nearest=False)[0]


@_envelope_pass.defjvp
def _envelope_pass_jvp(axis, primals, tangents):
    """The tangent through each output's first minimiser ``y*``: ``f'[y*] + 2 step step'
    (x - y*)^2`` (``jnp.min``'s rule, which shares it among ties, turned NaN in jitted
    programs on XLA:CPU at ``--xla_backend_optimization_level=0``)."""
    f, step = primals
    f_dot, step_dot = tangents
    g, nearest = _blocks(f, step, axis, with_nearest=True)
    assert nearest is not None
    n = f.shape[axis]
    x = jnp.arange(n, dtype=f.dtype).reshape((n,) + (1,) * (f.ndim - 1))
    lines_dot = jnp.moveaxis(f_dot, axis, 0)
    at_nearest = jnp.take_along_axis(lines_dot, nearest, axis=0)
    offset = nearest.astype(f.dtype) - x
    g_dot = at_nearest + 2.0 * step * step_dot * jnp.square(offset)
    return g, jnp.moveaxis(g_dot, 0, axis)


def _blocks(
    f: jax.Array, step: jax.Array, axis: int, *, with_nearest: bool
) -> tuple[jax.Array, jax.Array | None]:
    """The pass's values (and, for the tangent, each output's first minimiser ``y*`` as
    ``[x, ...]`` indices, the pass axis first).

    The output positions ``x`` are taken in blocks of at most `_BLOCK_ELEMENTS` / ``f.size``
    (all at once for small maps), so the broadcast sum never exceeds that many elements.
    """
    n = f.shape[axis]
    lines = jnp.moveaxis(f, axis, 0)  # [y, ...]
    y = jnp.arange(n, dtype=f.dtype).reshape((n,) + (1,) * (lines.ndim - 1))

    def envelope_at(x: jax.Array):
        total = lines + jnp.square(step * (y - x))
        if not with_nearest:
            return jnp.min(total, axis=0), None
        nearest = jnp.argmin(total, axis=0)
        return jnp.take_along_axis(total, nearest[None], axis=0)[0], nearest

    x = jnp.arange(n, dtype=f.dtype)
    block = max(1, min(n, _BLOCK_ELEMENTS // max(1, lines.size)))
    if block == n:
        g, nearest = jax.vmap(envelope_at)(x)  # [x, ...]
    else:
        g, nearest = jax.lax.map(envelope_at, x, batch_size=block)
    return jnp.moveaxis(g, 0, axis), nearest
