"""Separable filters over the spatial axes of images and volumes (shared by the image families).

A separable filter is one 1-D correlation per spatial axis, each written as a weighted sum of
shifted slices (``len(window)`` fused multiply-adds per output element, no ``conv``
primitive: XLA:CPU runs a depthwise convolution an order of magnitude slower). The
correlation is "valid": an axis of size ``n`` becomes ``n - len(window) + 1``, so no border
value is invented (pytorch-msssim's ``gaussian_filter``, scikit-image's cropped SSIM maps).

Its derivative is given by a `jax.custom_vjp`: the transpose of a valid correlation is a
"full" correlation with the reversed window, i.e. the same kernel on the zero-padded
cotangent. Autodiff's own transpose (a sum of ``len(window)`` padded copies) costs about six
times more on CPU. Reverse mode at every order works (the backward pass calls the same
kernel); forward mode (``jax.jvp``, ``jax.jacfwd``) does not, as for every ``custom_vjp``.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp


def gaussian_window(size: int, sigma: Any, dtype: Any) -> jax.Array:
    """The normalized 1-D Gaussian ``g[k] ∝ exp(-(k - size // 2)**2 / (2 sigma**2))``, ``[size]``.

    Centred on the middle tap for odd `size` (pytorch-msssim's ``_fspecial_gauss_1d``,
    dm-pix's window, scipy's ``gaussian_filter`` kernel of radius ``size // 2``).
    """
    offsets = jnp.arange(size, dtype=dtype) - size // 2
    sigma = jnp.asarray(sigma, dtype)
    g = jnp.exp(-jnp.square(offsets) / (2 * jnp.square(sigma)))
    return g / jnp.sum(g)


def separable_filter(x: jax.Array, window: jax.Array, axes: Sequence[int]) -> jax.Array:
    """Valid correlation of `x` with the 1-D `window` along each of `axes` in turn.

    Each axis in `axes` must be at least ``len(window)`` long; it shrinks by
    ``len(window) - 1``. `window` is differentiable (its cotangent is dropped by XLA when
    unused).
    """
    for axis in axes:
        x = _correlate_valid(x, window, axis % x.ndim)
    return x


def _taps(x: jax.Array, window: jax.Array, axis: int) -> jax.Array:
    """``sum_k window[k] * x[..., k : k + n, ...]`` along `axis`, ``n = size - len + 1``."""
    size = window.shape[0]
    n = x.shape[axis] - size + 1
    out = window[0] * jax.lax.slice_in_dim(x, 0, n, axis=axis)
    for k in range(1, size):
        out = out + window[k] * jax.lax.slice_in_dim(x, k, k + n, axis=axis)
    return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
def _correlate_valid(x: jax.Array, window: jax.Array, axis: int) -> jax.Array:
    return _taps(x, window, axis)


def _correlate_valid_fwd(x, window, axis):
    return _taps(x, window, axis), (x, window)


def _correlate_valid_bwd(axis, residuals, cotangent):
    x, window = residuals
    size = window.shape[0]
    pad = [(0, 0)] * cotangent.ndim
    pad[axis] = (size - 1, size - 1)
    x_bar = _correlate_valid(jnp.pad(cotangent, pad), window[::-1], axis)
    n = cotangent.shape[axis]
    window_bar = jnp.stack(
        [jnp.vdot(cotangent, jax.lax.slice_in_dim(x, k, k + n, axis=axis)) for k in range(size)]
    )
    return x_bar, window_bar.astype(window.dtype)


_correlate_valid.defvjp(_correlate_valid_fwd, _correlate_valid_bwd)
