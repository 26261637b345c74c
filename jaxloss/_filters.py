"""Separable filters over the spatial axes of channel-last images and volumes.

`separable_filter` (valid correlation, SSIM) and `zero_padded_filter` (same-size output,
LNCC) below.

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

`zero_padded_filter`: one 1-D correlation per axis, with zero padding and an output of the
input's size (MONAI's ``separable_filtering``, the window sums of LNCC). A kernel of ones (a
box) is one ``reduce_window`` sum; another kernel is a sum of shifted slices of the
zero-padded input (``sum_j w_j x[i + j - r]``, zero taps skipped), which XLA fuses into one
loop per axis. Both beat a depthwise convolution on XLA:CPU by an order of magnitude. The
filter is linear and its transpose is the same filter with the kernels reversed, so its VJP
is written as that filter (a symmetric kernel: the filter itself): the backward pass costs
what the forward pass costs, where the transpose JAX derives from the slices (pads summed
one by one) is several times slower. Reverse mode works at every order; forward mode
(``jax.jvp``, ``jax.jacfwd``) does not, as for every ``custom_vjp``.
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


def zero_padded_filter(
    x: jax.Array, kernels: Sequence[np.ndarray], axes: Sequence[int]
) -> jax.Array:
    """Correlates `x` with ``kernels[k]`` along ``axes[k]``: zero padding, output of `x`'s shape.

    Each kernel is a 1-D array of static numbers of odd length ``2 r + 1``, centred: along its
    axis the output is ``y[i] = sum_j w[j] x[i + j - r]`` with ``x`` taken as 0 outside the
    array (torch's ``conv1d`` with padding ``r``; for a symmetric kernel also the
    convolution). The sums run in the dtype of `x`. Differentiable to any order in reverse
    mode (a custom VJP: the transposed filter).
    """
    if len(kernels) != len(axes):
        raise ValueError(f"one kernel per axis; got {len(kernels)} kernels for axes {axes}.")
    taps = []
    for kernel in kernels:
        k = np.asarray(kernel, np.float64)
        if k.ndim != 1 or k.shape[0] % 2 == 0:
            raise ValueError(f"a filter kernel must be 1-D of odd length; got shape {k.shape}.")
        taps.append(tuple(float(w) for w in k))
    axes = tuple(int(a) % x.ndim for a in axes)
    return _linear_filter(tuple(taps), axes)(x)


@functools.cache
def _linear_filter(taps: tuple[tuple[float, ...], ...], axes: tuple[int, ...]):
    """The filter as a function of `x` whose VJP is the transposed filter."""
    transposed = tuple(tuple(reversed(t)) for t in reversed(taps))
    reversed_axes = tuple(reversed(axes))

    @jax.custom_vjp
    def apply(x):
        return _correlate(x, taps, axes)

    def forward(x):
        return apply(x), None

    def backward(_, cotangent):
        return (_linear_filter(transposed, reversed_axes)(cotangent),)

    apply.defvjp(forward, backward)
    return apply


def _correlate(x: jax.Array, taps: tuple[tuple[float, ...], ...], axes: tuple[int, ...]):
    for kernel, axis in zip(taps, axes, strict=True):
        x = _correlate_along(x, kernel, axis)
    return x


def _correlate_along(x: jax.Array, kernel: tuple[float, ...], axis: int) -> jax.Array:
    size = len(kernel)
    radius = size // 2
    if size == 1:
        return x if kernel[0] == 1.0 else x * jnp.asarray(kernel[0], x.dtype)
    pad = [(0, 0)] * x.ndim
    pad[axis] = (radius, radius)
    if all(w == 1.0 for w in kernel):
        window = [1] * x.ndim
        window[axis] = size
        zero = jnp.zeros((), x.dtype)
        return jax.lax.reduce_window(x, zero, jax.lax.add, window, (1,) * x.ndim, pad)
    n = x.shape[axis]
    padded = jnp.pad(x, pad)
    out = None
    for j, w in enumerate(kernel):
        if w == 0.0:
            continue
        term = jax.lax.slice_in_dim(padded, j, j + n, axis=axis)
        if w != 1.0:
            term = term * jnp.asarray(w, x.dtype)
        out = term if out is None else out + term
    return jnp.zeros_like(x) if out is None else out
