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

The values are integers held in float32: exact while below ``2**24`` (any image with
``sum_i (n_i - 1)**2 < 2**24``, e.g. up to 2365 pixels per side in 3-D). The transform is a
function of a boolean mask: it has no gradient, and callers treat it as a constant.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks

# The most elements one step of a pass adds and compares at once (16 MiB of float32).
_BLOCK_ELEMENTS = 1 << 22


def squared_edt(mask: ArrayLike, spatial_axes: int | Sequence[int]) -> jax.Array:
    """Squared Euclidean distance from each ``True`` element to the nearest ``False`` one.

    Args:
      mask: boolean array; the slices along `spatial_axes` are transformed independently.
      spatial_axes: the axes the distance is measured along (at least one).

    Returns:
      float32 array of the shape of `mask`: 0 at ``False`` elements, the exact squared
      distance (an integer) at ``True`` elements, ``inf`` throughout a slice that has no
      ``False`` element.
    """
    mask = _checks.as_bool("mask", mask)
    axes = _checks.normalize_axes("spatial_axes", spatial_axes, mask.ndim)
    if not axes:
        raise ValueError(f"`spatial_axes` must name at least one axis; got {spatial_axes!r}.")
    f = jnp.where(mask, jnp.inf, 0.0).astype(jnp.float32)
    for axis in axes:
        f = _lower_envelope(f, axis)
    return jax.lax.stop_gradient(f)


def _lower_envelope(f: jax.Array, axis: int) -> jax.Array:
    """``g[x] = min_y f[y] + (x - y)^2`` along `axis` (one exact pass of the separable EDT).

    The output positions ``x`` are taken in blocks of at most `_BLOCK_ELEMENTS` / ``f.size``
    (all at once for small maps), so the broadcast sum never exceeds that many elements.
    """
    n = f.shape[axis]
    lines = jnp.moveaxis(f, axis, 0)  # [y, ...]
    y = jnp.arange(n, dtype=jnp.float32).reshape((n,) + (1,) * (lines.ndim - 1))

    def envelope_at(x: jax.Array) -> jax.Array:
        return jnp.min(lines + jnp.square(y - x), axis=0)

    x = jnp.arange(n, dtype=jnp.float32)
    block = max(1, min(n, _BLOCK_ELEMENTS // max(1, lines.size)))
    if block == n:
        g = jax.vmap(envelope_at)(x)  # [x, ...]
    else:
        g = jax.lax.map(envelope_at, x, batch_size=block)
    return jnp.moveaxis(g, 0, axis)
