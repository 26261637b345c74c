"""Image quality indices and losses: SSIM, MS-SSIM, MS-SSIM + L1, PSNR.

Images are channel-last, ``[..., H, W, C]`` (``spatial_dims=2``, the default) or volumes
``[..., D, H, W, C]`` (``spatial_dims=3``, MONAI's name for the option); the leading shape
``[...]`` holds the examples. Every function returns one value per image (per volume),
reduced by ``reduction`` with a per-image mask ``where``, per-image ``weights`` and
``axis_name`` as `jaxloss.reduce` does (CONTRIBUTING.md, section 4). A masked image is
replaced by zeros before anything is computed, so a NaN or Inf there reaches neither the
value nor the gradient.

**The SSIM window.** Local statistics are Gaussian-weighted means over a ``window_size``
window of standard deviation ``sigma``, computed by a separable filter (one 1-D pass per
spatial axis, `jaxloss._filters`) with *valid* borders: an axis of size ``n`` gives
``n - window_size + 1`` SSIM values, and the index is their mean. This is what the three
references compute, so the default (``window_size=11, sigma=1.5``) matches each of them:

- pytorch-msssim (``ssim``, ``ms_ssim``): the same window and valid convolution (its window
  is built in float32 even for float64 images, a relative difference of about 1e-8). It
  skips the filter along an axis shorter than the window, with a warning; here that is an
  error naming the minimum size. Its ``data_range`` defaults to 255, here to 1.
- scikit-image ``structural_similarity(gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False)``: scipy's ``gaussian_filter`` (radius
  ``int(3.5 * sigma + 0.5)``, i.e. 11 taps at ``sigma=1.5``) over a reflect-padded image,
  then the border of width ``(win_size - 1) // 2`` is cropped before the mean: the same
  numbers as the valid convolution. (Its own defaults, a 7x7 uniform window with the sample
  covariance, differ.)
- dm-pix ``ssim`` (tf.image.ssim): the same window, valid; it also clips each variance below
  at ``float32 eps**2`` and the covariance to the Cauchy-Schwarz bound, which changes nothing
  but rounding on real images (and makes its gradient at a flat window differ).

**Singular points.** With ``k1, k2 > 0`` both SSIM ratios have denominators at least
``C1 = (k1 * data_range)**2`` and ``C2 = (k2 * data_range)**2``: identical images give
exactly 1 with a zero gradient, flat (constant) images a contrast-structure term of exactly
1, and everything is finite in values and gradients. MS-SSIM raises a negative per-channel
contrast-structure mean to a fractional power; it is clipped at 0 first (pytorch-msssim's
``relu``) and the power is taken with a double ``where``, so its gradient is 0 there, not
NaN. PSNR adds ``eps`` to the mean squared error, so identical images give a finite value.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _filters, _numerics
from jaxloss.reductions import reduce_loss

__all__ = [
    "ms_ssim",
    "ms_ssim_l1_loss",
    "ms_ssim_loss",
    "psnr",
    "ssim",
    "ssim_loss",
]

# Wang, Simoncelli & Bovik 2003, the exponents of the five scales (finest first).
MS_SSIM_POWER_FACTORS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SPATIAL_DIMS = (2, 3)


@_dispatch.compiled_when_eager
def ssim(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Structural similarity index (SSIM) of each image pair: the mean of the SSIM map.

    With Gaussian-weighted local means :math:`\mu`, variances :math:`\sigma^2` and
    covariance :math:`\sigma_{xy}` (population form, ``E[xy] - E[x] E[y]``)::

        SSIM(x, y) = mean_{p, c} (2 mu_x mu_y + C1) (2 sigma_xy + C2)
                                 / ((mu_x**2 + mu_y**2 + C1) (sigma_x**2 + sigma_y**2 + C2))

    over the valid positions ``p`` of the window and the channels ``c``, with
    ``C1 = (k1 * data_range)**2`` and ``C2 = (k2 * data_range)**2``. The window is the
    normalized 1-D Gaussian of ``window_size`` taps and standard deviation ``sigma``, applied
    once per spatial axis; see the module docstring for how this matches pytorch-msssim,
    scikit-image and dm-pix. Identical images give 1 (the maximum) with a zero gradient.

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images.
      targets: floating images of the same shape.
      data_range: the value range of the images (``max - min`` possible value, 1 for
        ``[0, 1]`` images, 255 for 8-bit), ``> 0``; it scales ``C1`` and ``C2``.
      window_size: the odd number of taps of the Gaussian window (static); every spatial
        side must be at least this long.
      sigma: standard deviation of the Gaussian window, in pixels, ``> 0`` (static).
      k1: the luminance constant, ``> 0``.
      k2: the contrast-structure constant, ``> 0``.
      spatial_dims: 2 for images ``[..., H, W, C]``, 3 for volumes ``[..., D, H, W, C]``
        (static).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image SSIM ``[...]`` (in ``[-1, 1]``) for ``reduction="none"``, else a scalar (a
      pair for ``"sum_and_count"``), in the promoted dtype of the images (computed in at
      least float32).

    References:
      Wang, Bovik, Sheikh & Simoncelli, "Image Quality Assessment: From Error Visibility to
      Structural Similarity", IEEE TIP 2004 (eq. 13, Gaussian window of sigma 1.5);
      pytorch-msssim ``ssim(..., size_average=False)``; scikit-image
      ``structural_similarity``; dm-pix ``ssim``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ssim
      >>> x = jnp.linspace(0.0, 1.0, 16 * 16 * 3).reshape(1, 16, 16, 3)
      >>> ssim(x, x)
      Array([1.], dtype=float32)
      >>> print(f"{float(ssim(x, 0.5 * x)[0]):.4f}")
      0.6521
    """
    prep = _prepare(
        predictions, targets, spatial_dims, window_size, sigma, data_range, k1, k2, where
    )
    _check_min_side(prep, window_size, 1)
    ssim_c, _, _ = _ssim_and_cs(prep, prep.x, prep.y, l1=False)
    return prep.finish(jnp.mean(ssim_c, axis=-1), reduction, weights, axis_name)


@_dispatch.compiled_when_eager
def ssim_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""SSIM loss, ``1 - SSIM(x, y)`` per image (`ssim` for the index and its options).

    ::

        loss(x, y) = 1 - SSIM(x, y)

    in ``[0, 2]``; 0 (with a zero gradient) for identical images.

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images.
      targets: floating images of the same shape.
      data_range: the value range of the images, ``> 0``.
      window_size: odd number of taps of the Gaussian window (static).
      sigma: standard deviation of the Gaussian window, ``> 0`` (static).
      k1: the luminance constant, ``> 0``.
      k2: the contrast-structure constant, ``> 0``.
      spatial_dims: 2 (images) or 3 (volumes), static.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image losses ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the promoted dtype of the images.

    References:
      Wang et al., IEEE TIP 2004; Zhao, Gallo, Frosio & Kautz, "Loss Functions for Image
      Restoration with Neural Networks", IEEE TCI 2017 (``L^SSIM = 1 - SSIM``);
      pytorch-msssim ``SSIM``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ssim_loss
      >>> x = jnp.linspace(0.0, 1.0, 2 * 16 * 16 * 3).reshape(2, 16, 16, 3)
      >>> ssim_loss(x, x)
      Array([0., 0.], dtype=float32)
      >>> print(f"{float(ssim_loss(x, 0.5 * x, reduction='mean')):.4f}")
      0.3204
    """
    prep = _prepare(
        predictions, targets, spatial_dims, window_size, sigma, data_range, k1, k2, where
    )
    _check_min_side(prep, window_size, 1)
    ssim_c, _, _ = _ssim_and_cs(prep, prep.x, prep.y, l1=False)
    return prep.finish(1 - jnp.mean(ssim_c, axis=-1), reduction, weights, axis_name)


@_dispatch.compiled_when_eager
def ms_ssim(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    power_factors: Sequence[float] = MS_SSIM_POWER_FACTORS,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Multi-scale SSIM (MS-SSIM) of each image pair.

    With ``M = len(power_factors)`` scales (5 by default), the images halved between scales
    by 2x average pooling, and per channel ``c`` the mean contrast-structure term
    ``cs_j`` at scale ``j`` and the mean SSIM ``s_M`` at the coarsest::

        MS-SSIM(x, y) = mean_c  prod_{j < M} relu(cs_j[c]) ** beta_j  *  relu(s_M[c]) ** beta_M

    with ``cs = (2 sigma_xy + C2) / (sigma_x**2 + sigma_y**2 + C2)`` averaged over the
    valid window positions (`ssim` for the window and constants) and ``beta`` the
    ``power_factors`` (Wang et al.'s 0.0448, 0.2856, 0.3001, 0.2363, 0.1333). This is
    pytorch-msssim's ``ms_ssim``: the ``relu`` of a negative mean (which a fractional power
    cannot take) and its pooling, ``avg_pool(kernel_size=2, padding=size % 2)``, which on an
    odd side prepends a zero row (the first pooled row is half the first image row). A
    clipped term has value 0 and gradient 0.

    Every spatial side must exceed ``(window_size - 1) * 2**(M - 1)`` (160 by default), so
    that the coarsest scale still holds one window; a smaller image raises a ``ValueError``
    naming the minimum size (pytorch-msssim asserts the same on ``H`` and ``W`` only).

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images.
      targets: floating images of the same shape.
      data_range: the value range of the images, ``> 0``.
      window_size: odd number of taps of the Gaussian window (static).
      sigma: standard deviation of the Gaussian window, ``> 0`` (static).
      k1: the luminance constant, ``> 0``.
      k2: the contrast-structure constant, ``> 0``.
      power_factors: the non-negative exponent of each scale, finest first; its length is
        the number of scales (static).
      spatial_dims: 2 (images) or 3 (volumes), static.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image MS-SSIM ``[...]`` in ``[0, 1]`` for ``reduction="none"``, else a scalar (a
      pair for ``"sum_and_count"``), in the promoted dtype of the images. Identical images
      give 1 with a zero gradient.

    References:
      Wang, Simoncelli & Bovik, "Multiscale Structural Similarity for Image Quality
      Assessment", Asilomar 2003; pytorch-msssim ``ms_ssim(..., size_average=False)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ms_ssim
      >>> x = jnp.linspace(0.0, 1.0, 40 * 40).reshape(1, 40, 40, 1)
      >>> ms_ssim(x, x, window_size=3)
      Array([1.], dtype=float32)
      >>> print(f"{float(ms_ssim(x, 0.5 * x, window_size=3)[0]):.4f}")
      0.8069
    """
    factors = _power_factors(power_factors)
    prep = _prepare(
        predictions, targets, spatial_dims, window_size, sigma, data_range, k1, k2, where
    )
    _check_min_side(prep, window_size, len(factors))
    value, _ = _ms_ssim(prep, factors, l1=False)
    return prep.finish(value, reduction, weights, axis_name)


@_dispatch.compiled_when_eager
def ms_ssim_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    power_factors: Sequence[float] = MS_SSIM_POWER_FACTORS,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""MS-SSIM loss, ``1 - MS-SSIM(x, y)`` per image (`ms_ssim` for the index).

    ::

        loss(x, y) = 1 - MS-SSIM(x, y)

    in ``[0, 1]``; 0 with a zero gradient for identical images. Every spatial side must
    exceed ``(window_size - 1) * 2**(len(power_factors) - 1)`` (160 by default).

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images.
      targets: floating images of the same shape.
      data_range: the value range of the images, ``> 0``.
      window_size: odd number of taps of the Gaussian window (static).
      sigma: standard deviation of the Gaussian window, ``> 0`` (static).
      k1: the luminance constant, ``> 0``.
      k2: the contrast-structure constant, ``> 0``.
      power_factors: the exponent of each scale, finest first (static length).
      spatial_dims: 2 (images) or 3 (volumes), static.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image losses ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the promoted dtype of the images.

    References:
      Wang, Simoncelli & Bovik, Asilomar 2003; Zhao et al., IEEE TCI 2017
      (``L^MS-SSIM = 1 - MS-SSIM``); pytorch-msssim ``MS_SSIM``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ms_ssim_loss
      >>> x = jnp.linspace(0.0, 1.0, 40 * 40).reshape(1, 40, 40, 1)
      >>> print(f"{float(ms_ssim_loss(x, 0.5 * x, window_size=3)[0]):.4f}")
      0.1931
    """
    factors = _power_factors(power_factors)
    prep = _prepare(
        predictions, targets, spatial_dims, window_size, sigma, data_range, k1, k2, where
    )
    _check_min_side(prep, window_size, len(factors))
    value, _ = _ms_ssim(prep, factors, l1=False)
    return prep.finish(1 - value, reduction, weights, axis_name)


@_dispatch.compiled_when_eager
def ms_ssim_l1_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: float = 0.84,
    data_range: float = 1.0,
    window_size: int = 11,
    sigma: float = 1.5,
    k1: float = 0.01,
    k2: float = 0.03,
    power_factors: Sequence[float] = MS_SSIM_POWER_FACTORS,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""The mixed MS-SSIM + L1 loss of Zhao et al. (2017), per image.

    ::

        loss(x, y) = alpha * (1 - MS-SSIM(x, y))
                     + (1 - alpha) * mean_{p, c} (G * |x - y|)[p, c] / data_range

    with `ms_ssim` as there and ``G * |x - y|`` the absolute error map filtered by the same
    Gaussian window as the finest MS-SSIM scale (``window_size``, ``sigma``, valid borders),
    averaged over the valid positions and the channels. Zhao et al. weight the L1 error of
    each patch by a Gaussian (``G_{sigma_G^M}``) so that it is computed where the SSIM
    statistics are; filtering the error map with the SSIM window and averaging it is that
    weighting at every position of the image. (The paper's Gaussian is that of its coarsest
    scale, ``sigma_G^M = 8``, because its MS-SSIM filters the full-resolution image with
    Gaussians of growing ``sigma`` instead of pooling; here the scales are pooled, as in
    pytorch-msssim, so the window of the first scale is the one at image resolution.) Dividing by
    ``data_range`` makes the term unitless; it is the paper's for ``[0, 1]`` images. The
    gradient of ``|x - y|`` at ``x == y`` is 0 (torch's ``l1_loss``), so identical images
    give 0 with a zero gradient.

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images.
      targets: floating images of the same shape.
      alpha: the weight of the MS-SSIM term, in ``[0, 1]`` (the paper's 0.84).
      data_range: the value range of the images, ``> 0``.
      window_size: odd number of taps of the Gaussian window (static).
      sigma: standard deviation of the Gaussian window, ``> 0`` (static).
      k1: the luminance constant, ``> 0``.
      k2: the contrast-structure constant, ``> 0``.
      power_factors: the exponent of each MS-SSIM scale, finest first (static length).
      spatial_dims: 2 (images) or 3 (volumes), static.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image losses ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the promoted dtype of the images.

    References:
      Zhao, Gallo, Frosio & Kautz, "Loss Functions for Image Restoration with Neural
      Networks", IEEE TCI 2017 (``L^Mix``, alpha = 0.84).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ms_ssim_l1_loss
      >>> x = jnp.linspace(0.0, 1.0, 40 * 40).reshape(1, 40, 40, 1)
      >>> ms_ssim_l1_loss(x, x, window_size=3)
      Array([0.], dtype=float32)
      >>> print(f"{float(ms_ssim_l1_loss(x, 0.5 * x, window_size=3)[0]):.4f}")
      0.2022
    """
    factors = _power_factors(power_factors)
    _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
    prep = _prepare(
        predictions, targets, spatial_dims, window_size, sigma, data_range, k1, k2, where
    )
    _check_min_side(prep, window_size, len(factors))
    value, l1 = _ms_ssim(prep, factors, l1=True)
    mix = jnp.asarray(alpha, prep.acc)
    loss = mix * (1 - value) + (1 - mix) * l1 / jnp.asarray(data_range, prep.acc)
    return prep.finish(loss, reduction, weights, axis_name)


@_dispatch.compiled_when_eager
def psnr(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    data_range: float = 1.0,
    eps: float = 1e-10,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Peak signal-to-noise ratio of each image pair, in decibels.

    ::

        PSNR(x, y) = 10 * log10(data_range**2 / (MSE(x, y) + eps)),
        MSE(x, y) = mean_{p, c} (x[p, c] - y[p, c])**2

    over the pixels ``p`` and channels ``c`` of each image. ``eps`` (added to the mean
    squared error) keeps identical images finite: they give ``10 * log10(data_range**2 /
    eps)`` (100 dB by default) with a zero gradient. With ``eps=0`` they give ``+inf`` as
    scikit-image does, still with a zero gradient; the other images differ from
    scikit-image's value by ``10 * log10(1 + eps / MSE)`` dB (below 1e-8 dB for
    ``MSE > 1e-3``).

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images.
      targets: floating images of the same shape.
      data_range: the value range of the images (``max - min`` possible value), ``> 0``.
      eps: added to the mean squared error, ``>= 0``.
      spatial_dims: 2 (images) or 3 (volumes), static: the axes averaged over.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image PSNR ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the promoted dtype of the images (computed in at least
      float32). Higher is better: negate it to use it as a loss.

    References:
      Scikit-image ``metrics.peak_signal_noise_ratio``; Wang & Bovik, "Mean Squared Error:
      Love It or Leave It?", IEEE Signal Processing Magazine 2009.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import psnr
      >>> x = jnp.zeros((1, 4, 4, 3))
      >>> print(f"{float(psnr(x, x + 0.1)[0]):.4f}")
      20.0000
      >>> print(f"{float(psnr(x, x)[0]):.1f}")
      100.0
    """
    _checks.check_nonnegative("eps", eps)
    prep = _prepare(predictions, targets, spatial_dims, 1, 1.0, data_range, 1.0, 1.0, where)
    spatial = tuple(range(2, prep.x.ndim))
    mse = jnp.mean(jnp.square(prep.x - prep.y), axis=(1, *spatial))
    denominator = mse + jnp.asarray(eps, prep.acc)
    positive = denominator > 0
    log_ratio = jnp.log10(jnp.square(jnp.asarray(data_range, prep.acc))) - jnp.log10(
        jnp.where(positive, denominator, 1)
    )
    value = jnp.where(positive, 10 * log_ratio, jnp.inf)
    return prep.finish(value, reduction, weights, axis_name)


class _Prepared:
    """Checked images as ``[N, C, *spatial]`` in the compute dtype, and how to finish."""

    def __init__(self, x, y, batch, mask, dtype, window, c1, c2):
        self.x, self.y, self.batch, self.mask, self.dtype = x, y, batch, mask, dtype
        self.acc = x.dtype
        self.window, self.c1, self.c2 = window, c1, c2

    def finish(self, values, reduction, weights, axis_name):
        """Per-image values ``[N]`` reshaped to the leading shape and reduced."""
        return reduce_loss(
            values.reshape(self.batch),
            self.dtype,
            reduction=reduction,
            where=self.mask,
            weights=weights,
            axis_name=axis_name,
        )


def _prepare(predictions, targets, spatial_dims, window_size, sigma, data_range, k1, k2, where):
    """Checks the arguments; images channel-first and flat over examples, masked ones zero."""
    _checks.check_choice("spatial_dims", spatial_dims, SPATIAL_DIMS)
    if (
        not isinstance(window_size, int | np.integer)
        or isinstance(window_size, bool)
        or window_size < 1
        or window_size % 2 == 0
    ):
        raise ValueError(f"`window_size` must be a positive odd int; got {window_size!r}.")
    for name, value in (("sigma", sigma), ("data_range", data_range), ("k1", k1), ("k2", k2)):
        _checks.check_positive(name, value)
    x = _checks.as_float("predictions", predictions)
    y = _checks.as_float("targets", targets)
    _checks.check_min_rank("predictions", x, spatial_dims + 1)
    _checks.check_same_shape(predictions=x, targets=y)
    dtype = _checks.result_dtype(x, y)
    acc = _checks.compute_dtype(dtype)
    batch = x.shape[: x.ndim - spatial_dims - 1]
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), batch)
    x, y = _channels_first(x, batch, mask, acc), _channels_first(y, batch, mask, acc)
    window = _filters.gaussian_window(int(window_size), _static_sigma(sigma))
    data_range = jnp.asarray(data_range, acc)
    c1 = jnp.square(jnp.asarray(k1, acc) * data_range)
    c2 = jnp.square(jnp.asarray(k2, acc) * data_range)
    return _Prepared(x, y, batch, mask, dtype, window, c1, c2)


def _static_sigma(sigma: Any) -> float:
    """`sigma` as a Python float: it builds the window, whose taps are program constants."""
    value = _checks.concrete(sigma)
    if value is None or value.shape != ():
        raise TypeError(f"`sigma` must be a static scalar (it builds the window); got {sigma!r}.")
    return float(value)


def _channels_first(x, batch, mask, acc):
    """``[..., *spatial, C]`` -> ``[N, C, *spatial]`` in `acc`, masked images zeroed."""
    if mask is not None:
        keep = mask.reshape(*batch, *([1] * (x.ndim - len(batch))))
        x = jnp.where(keep, x, jnp.zeros((), x.dtype))
    x = x.reshape(-1, *x.shape[len(batch) :]).astype(acc)
    return jnp.moveaxis(x, -1, 1)


def _check_min_side(prep: _Prepared, window_size: int, levels: int) -> None:
    """Every spatial side must hold one window at the coarsest of `levels` scales."""
    minimum = (window_size - 1) * 2 ** (levels - 1) + 1
    spatial = prep.x.shape[2:]
    if min(spatial) < minimum:
        scales = "" if levels == 1 else f" for {levels} scales (halved {levels - 1} times)"
        raise ValueError(
            f"`predictions` must be at least {minimum} long on every spatial side with "
            f"`window_size`={window_size}{scales}; got spatial shape {tuple(spatial)}."
        )


def _power_factors(power_factors: Any) -> tuple:
    """The exponents as a non-empty tuple (static length), concrete ones checked >= 0."""
    if isinstance(power_factors, str) or np.ndim(power_factors) != 1 or not len(power_factors):
        raise ValueError(
            f"`power_factors` must be a non-empty sequence of exponents; got {power_factors!r}."
        )
    factors = tuple(power_factors)
    for p in factors:
        _checks.check_nonnegative("power_factors", p)
    return factors


def _ssim_and_cs(prep: _Prepared, x: jax.Array, y: jax.Array, *, l1: bool):
    """Per-channel means ``[N, C]`` of the SSIM map and of the contrast-structure map, and
    (with `l1`) of the Gaussian-filtered absolute error."""
    maps = [x, y, x * x, y * y, x * y]
    if l1:
        maps.append(_numerics.abs_zero_grad(x - y))
    spatial = tuple(range(3, x.ndim + 1))
    filtered = _filters.separable_filter(jnp.stack(maps), prep.window, spatial)
    mu_x, mu_y, xx, yy, xy = (filtered[i] for i in range(5))
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    cs_map = (2 * (xy - mu_xy) + prep.c2) / ((xx - mu_xx) + (yy - mu_yy) + prep.c2)
    luminance = (2 * mu_xy + prep.c1) / (mu_xx + mu_yy + prep.c1)
    axes = tuple(range(2, x.ndim))
    ssim_c = jnp.mean(luminance * cs_map, axis=axes)
    cs_c = jnp.mean(cs_map, axis=axes)
    l1_c = jnp.mean(filtered[5], axis=axes) if l1 else None
    return ssim_c, cs_c, l1_c


def _ms_ssim(prep: _Prepared, factors: tuple, *, l1: bool):
    """Per-image MS-SSIM ``[N]`` and (with `l1`) the Gaussian-weighted L1 term ``[N]``."""
    x, y = prep.x, prep.y
    terms = []
    l1_term = jnp.zeros(x.shape[0], prep.acc)
    for level in range(len(factors)):
        ssim_c, cs_c, l1_c = _ssim_and_cs(prep, x, y, l1=l1 and level == 0)
        if l1_c is not None:
            l1_term = jnp.mean(l1_c, axis=-1)
        # The coarsest scale contributes its SSIM, the others their contrast-structure term.
        terms.append(ssim_c if level == len(factors) - 1 else cs_c)
        if level < len(factors) - 1:
            x, y = _downsample(x), _downsample(y)
    value = None
    for term, power in zip(terms, factors, strict=True):
        powered = _clipped_power(term, jnp.asarray(power, prep.acc))
        value = powered if value is None else value * powered
    assert value is not None
    return jnp.mean(value, axis=-1), l1_term


def _clipped_power(value: jax.Array, power: jax.Array) -> jax.Array:
    """``relu(value) ** power`` (``0 ** 0 = 1``), with a zero gradient where ``value <= 0``."""
    positive = value > 0
    safe = jnp.where(positive, value, 1)
    return jnp.where(positive, safe**power, (power == 0).astype(value.dtype))


def _downsample(x: jax.Array) -> jax.Array:
    """2x average pooling of every spatial axis of ``[N, C, *spatial]``; an odd axis gets a
    zero prepended first (pytorch-msssim's ``avg_pool(padding=size % 2)``, the pad counted)."""
    spatial = x.shape[2:]
    x = jnp.pad(x, [(0, 0), (0, 0), *[(s % 2, 0) for s in spatial]])
    split = []
    for s in x.shape[2:]:
        split += [s // 2, 2]
    x = x.reshape(*x.shape[:2], *split)
    return jnp.mean(x, axis=tuple(range(3, 2 + 2 * len(spatial), 2)))
