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

import jax
import jax.numpy as jnp
import numpy as np


def gaussian_window(size: int, sigma: float) -> tuple[float, ...]:
    """The normalized 1-D Gaussian ``g[k] ∝ exp(-(k - size // 2)**2 / (2 sigma**2))``.

    Centred on the middle tap for odd `size` (pytorch-msssim's ``_fspecial_gauss_1d``,
    dm-pix's window, scipy's ``gaussian_filter`` kernel of radius ``size // 2``). Computed in
    float64 from static values: the taps are constants of the compiled program.
    """
    offsets = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-np.square(offsets) / (2 * float(sigma) ** 2))
    return tuple(float(v) for v in g / np.sum(g))


def separable_filter(x: jax.Array, window: tuple[float, ...], axes: Sequence[int]) -> jax.Array:
    """Valid correlation of `x` with the 1-D `window` along each of `axes` in turn.

    Each axis in `axes` must be at least ``len(window)`` long; it shrinks by
    ``len(window) - 1``.
    """
    for axis in axes:
        x = _correlate_valid(x, tuple(window), axis % x.ndim)
    return x


def _taps(x: jax.Array, window: tuple[float, ...], axis: int) -> jax.Array:
    """``sum_k window[k] * x[..., k : k + n, ...]`` along `axis`, ``n = size - len + 1``."""
    n = x.shape[axis] - len(window) + 1
    out = window[0] * jax.lax.slice_in_dim(x, 0, n, axis=axis)
    for k in range(1, len(window)):
        out = out + window[k] * jax.lax.slice_in_dim(x, k, k + n, axis=axis)
    return out


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def _correlate_valid(x: jax.Array, window: tuple[float, ...], axis: int) -> jax.Array:
    return _taps(x, window, axis)


def _correlate_valid_fwd(x, window, axis):
    return _taps(x, window, axis), None


def _correlate_valid_bwd(window, axis, _, cotangent):
    pad = [(0, 0)] * cotangent.ndim
    pad[axis] = (len(window) - 1, len(window) - 1)
    return (_correlate_valid(jnp.pad(cotangent, pad), window[::-1], axis),)


_correlate_valid.defvjp(_correlate_valid_fwd, _correlate_valid_bwd)
