"""Registration losses: local normalized cross-correlation and deformation regularizers.

Images and volumes are channel-last: ``[..., H, W, C]`` in 2-D and ``[..., D, H, W, C]`` in
3-D (``spatial_dims``, MONAI's name; MONAI is channel-first, ``BCH[WD]``), every leading axis
a batch axis. A displacement field is channel-last too, one
component per spatial axis in the order of the axes, in voxels: ``[..., H, W, 2]`` or
``[..., D, H, W, 3]`` (``u[..., c]`` displaces along spatial axis ``c``), so its last axis
says how many spatial axes it has and every axis before those is a batch axis.

Every function returns one value per example, reduced by ``reduction`` with a per-example
mask ``where``, per-example ``weights`` and ``axis_name`` (the data-parallel batch axis) as
`jaxloss.reduce` does (CONTRIBUTING.md, section 4); a masked example is replaced by zeros
first, so a NaN there reaches neither the value nor the gradient. MONAI's ``"mean"`` (over
every voxel of the batch) is this ``"mean"``; its ``"none"`` (per voxel) and ``"sum"`` (over
voxels) have no counterpart: a per-example value is already a mean over voxels.

The global similarity of the family is `jaxloss.soft_mutual_information` (in
`jaxloss.information`), MONAI's ``GlobalMutualInformationLoss`` negated.

Finite differences are MONAI's: central differences on the interior (every spatial axis
cropped by one voxel at each end) for the bending energy and the diffusion regularizer, and
numpy's ``np.gradient`` scheme (central inside, one-sided at the faces, no cropping) for the
Jacobian determinant.
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _filters
from jaxloss.reductions import reduce_loss

__all__ = [
    "bending_energy_loss",
    "diffusion_regularizer",
    "jacobian_folding_penalty",
    "local_normalized_cross_correlation_loss",
]

KERNELS = ("rectangular", "triangular", "gaussian")


@_dispatch.compiled_when_eager
def local_normalized_cross_correlation_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    kernel: str = "rectangular",
    kernel_size: int = 3,
    smooth_nr: float = 0.0,
    smooth_dr: float = 1e-5,
    spatial_dims: int = 2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Local normalized cross-correlation (LNCC) loss: minus the mean squared local correlation.

    With ``S[f]`` the window sums of ``f`` (the separable, zero-padded correlation with the
    1-D kernel ``w`` along every spatial axis, output of the input's size), ``V = (sum w)^n``
    the volume of the ``n``-D window, ``t`` the targets and ``p`` the predictions, per voxel
    and channel::

        cross = S[t p] - (S[p] / V) S[t]
        var_t = max(S[t^2] - (S[t] / V) S[t], smooth_dr)
        var_p = max(S[p^2] - (S[p] / V) S[p], smooth_dr)
        ncc   = (cross^2 + smooth_nr) / (var_t var_p)

    and the loss of an example is ``-mean(ncc)`` over its voxels and channels: about -1 for
    images that agree up to a local affine change of intensity, about 0 for unrelated ones.
    Channels are filtered independently. The padding counts as zeros inside the windows of
    the border voxels, as in MONAI.

    The kernels (MONAI's, unnormalized): ``"rectangular"`` is ``kernel_size`` ones;
    ``"triangular"`` is a box of odd width ``f`` (``(kernel_size + 1) // 2``, minus one if
    even) of height ``1 / f`` convolved with itself and zero-padded to ``kernel_size`` (so
    ``kernel_size=3`` gives ``[0, 1, 0]``, a one-voxel window); ``"gaussian"`` is
    ``exp(-x^2 / (2 sigma^2))`` at ``x = -r..r`` with ``sigma = kernel_size / 3``.

    Singular point: where a window of both images is constant, ``cross`` is 0 and both
    variances are clamped to ``smooth_dr``: ``ncc = smooth_nr / smooth_dr^2`` (0 by default),
    with finite gradients. A clamped variance passes no gradient (half of it where it equals
    ``smooth_dr`` exactly, as ``torch.max``).

    Precision: the sums are taken of each image minus its mean (per example and channel, a
    constant to differentiation), and the shift's contribution is added back exactly where a
    window overlaps the zero padding (``(1 - S[1] / V)``, computed in float64, is 0 inside).
    The formulas above hold unchanged, but a flat or bright region no longer loses its
    variance and cross term to cancellation: a constant image has exactly zero cross term
    and variance in the interior in float32 too. (MONAI sums the raw intensities, so in
    flat regions its float32 variances can be rounding noise above ``smooth_dr``.)

    The window sums have a custom VJP (the transposed filter, as fast as the forward pass):
    reverse mode works at every order (``jax.grad``, ``jax.jacrev(jax.jacrev(f))``), forward
    mode (``jax.jvp``, ``jax.jacfwd``, ``jax.hessian``) raises a ``TypeError``.

    Differences from MONAI 1.6: a spatial size below ``kernel_size`` is an error (MONAI pads
    it); ``smooth_dr`` must be ``> 0`` (MONAI's 0 gives 0/0 on constant windows); the kernel
    is built in float64 (MONAI rounds it to float32 first, a relative difference of about
    1e-7 for the Gaussian and triangular kernels).

    Args:
      predictions: ``[..., H, W, C]`` (or ``[..., D, H, W, C]``) floating images (e.g. the
        warped moving image).
      targets: floating images of the same shape (the fixed image).
      kernel: ``"rectangular"`` (default), ``"triangular"`` or ``"gaussian"`` (static).
      kernel_size: the odd window width ``>= 1`` along each spatial axis (static; MONAI's
        default 3, VoxelMorph uses 9).
      smooth_nr: ``>= 0``, added to the squared cross term (the numerator).
      smooth_dr: ``> 0``, the floor of each variance in the denominator.
      spatial_dims: the number of spatial axes before the channel axis, 1, 2 (default:
        ``[..., H, W, C]``) or 3 (``[..., D, H, W, C]``), static. MONAI's default is 3.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-example mask broadcastable to the per-example shape.
      weights: optional non-negative per-example weights broadcastable to it.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-example losses ``[...]`` (the leading shape) for ``reduction="none"``, else a
      scalar (a pair for ``"sum_and_count"``), in the promoted dtype of the inputs (computed
      in at least float32). Values lie in ``[-1, 0]`` up to rounding when ``smooth_nr=0``
      (the Cauchy-Schwarz inequality for the weighted window sums; the clamp only lowers
      ``ncc``).

    References:
      MONAI ``LocalNormalizedCrossCorrelationLoss`` (1.6, ``monai.losses.image_dissimilarity``);
      Avants et al., "Symmetric diffeomorphic image registration with cross-correlation",
      Medical Image Analysis 2008; Balakrishnan et al., "VoxelMorph", IEEE TMI 2019.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import local_normalized_cross_correlation_loss as lncc
      >>> x = jnp.arange(25.0).reshape(1, 5, 5, 1) % 7
      >>> print(f"{float(lncc(x, 2.0 * x)[0]):.4f}")
      -1.0000
      >>> print(f"{float(lncc(x, 2.0 * x + 1.0)[0]):.4f}")  # the zero padding is not shifted
      -0.9954
      >>> print(f"{float(lncc(x, x * x, kernel='gaussian', kernel_size=5)[0]):.4f}")
      -0.9173
    """
    _checks.check_reduction(reduction)
    _checks.check_choice("kernel", kernel, KERNELS)
    _check_kernel_size(kernel_size)
    _checks.check_nonnegative("smooth_nr", smooth_nr)
    _checks.check_positive("smooth_dr", smooth_dr)
    predictions = _checks.as_float("predictions", predictions)
    targets = _checks.as_float("targets", targets)
    _checks.check_same_shape(predictions=predictions, targets=targets)
    ndim = predictions.ndim
    spatial = _spatial_axes(spatial_dims, predictions)
    sizes = tuple(predictions.shape[a] for a in spatial)
    if min(sizes) < kernel_size:
        raise ValueError(
            f"`predictions` must have at least kernel_size={kernel_size} voxels along each of "
            f"its {spatial_dims} spatial axes; got spatial shape {sizes} (shape "
            f"{predictions.shape})."
        )
    out_dtype = _checks.result_dtype(predictions, targets)
    acc = _checks.compute_dtype(out_dtype)
    mask = _example_mask(where, predictions.shape[: spatial[0]])
    reduced = (*spatial, ndim - 1)
    p = _zero_masked(predictions, mask, reduced).astype(acc)
    t = _zero_masked(targets, mask, reduced).astype(acc)

    window = _kernel(kernel, kernel_size)
    window_volume = float(np.sum(window)) ** len(spatial)
    volume = jnp.asarray(window_volume, acc)
    # Centred images (see "Precision"): S[x + m] = S[x] + m S[1] for a constant m, so every
    # sum below is the centred sum plus the shift's terms, which vanish where S[1] = V.
    t_shift = jax.lax.stop_gradient(jnp.mean(t, axis=spatial, keepdims=True))
    p_shift = jax.lax.stop_gradient(jnp.mean(p, axis=spatial, keepdims=True))
    t, p = t - t_shift, p - p_shift
    # One filtering pass over the five maps stacked on a new leading axis.
    sums = _filters.zero_padded_filter(
        jnp.stack([t, p, t * t, p * p, t * p]),
        [window] * len(spatial),
        [a + 1 for a in spatial],
    )
    t_sum, p_sum, t2_sum, p2_sum, tp_sum = sums
    t_avg, p_avg = t_sum / volume, p_sum / volume
    inside = _window_fill(window, sizes).reshape((1,) * spatial[0] + sizes + (1,))
    ones_sum = jnp.asarray(window_volume * inside, acc)  # S[1]
    outside = jnp.asarray(1.0 - inside, acc)  # 1 - S[1] / V: 0 where the window is inside
    floor = jnp.asarray(smooth_dr, acc)
    cross = tp_sum - p_avg * t_sum
    cross += outside * (p_shift * t_sum + t_shift * p_sum + p_shift * t_shift * ones_sum)
    t_var = t2_sum - t_avg * t_sum + outside * t_shift * (2 * t_sum + t_shift * ones_sum)
    p_var = p2_sum - p_avg * p_sum + outside * p_shift * (2 * p_sum + p_shift * ones_sum)
    t_var, p_var = jnp.maximum(t_var, floor), jnp.maximum(p_var, floor)
    ncc = (cross * cross + jnp.asarray(smooth_nr, acc)) / (t_var * p_var)
    values = -jnp.mean(ncc, axis=reduced)
    return _reduce(values, out_dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def bending_energy_loss(
    displacement: ArrayLike,
    *,
    normalize: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Bending energy of a displacement field: the mean squared second derivatives.

    Per component ``u_c`` at an interior voxel (every spatial axis cropped by one voxel at
    each end)::

        energy = sum_i (d2u_c / dx_i^2)^2 + 2 sum_{i<j} (d2u_c / dx_i dx_j)^2

    with MONAI's compact central differences, ``d2u/dx_i^2 = u[x + e_i] - 2 u[x] + u[x - e_i]``
    and ``d2u/dx_i dx_j = (u[x+e_i+e_j] - u[x+e_i-e_j] - u[x-e_i+e_j] + u[x-e_i-e_j]) / 4``,
    and the loss of an example is the mean of ``energy`` over its interior voxels and
    components. With ``normalize=True`` the derivatives of component ``c`` along axes ``i, j``
    are multiplied by ``n_i n_j / n_c`` (``n_k`` the size of spatial axis ``k``), MONAI's
    rescaling to coordinates in fractions of the image size, which makes the energy of a
    field resampled to another resolution roughly the same.

    The energy is a quadratic form of the field: 0 with zero gradient for every affine
    field (zero displacement included).

    Args:
      displacement: ``[..., spatial..., n]`` floating displacement field in voxels, ``n`` in
        ``{1, 2, 3}`` components (one per spatial axis: ``[..., H, W, 2]``,
        ``[..., D, H, W, 3]``); at least 3 voxels along every spatial axis.
      normalize: rescale the derivatives by the spatial sizes as above (static).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-example mask broadcastable to ``[...]``.
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-example energies ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the dtype of ``displacement`` (computed in at least float32).

    References:
      MONAI ``BendingEnergyLoss`` (1.6, ``monai.losses.deform``); Rueckert et al.,
      "Nonrigid registration using free-form deformations: application to breast MR
      images", IEEE TMI 1999.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import bending_energy_loss
      >>> h = jnp.arange(4.0)[:, None] * jnp.ones((4, 5))
      >>> u = jnp.stack([0.5 * h**2, jnp.zeros((4, 5))], axis=-1)  # [4, 5, 2], u_0 = h^2 / 2
      >>> print(f"{float(bending_energy_loss(u)):.4f}")  # d2u_0/dh2 = 1 on component 0 only
      0.5000
      >>> print(f"{float(bending_energy_loss(jnp.stack([h, 2 * h], axis=-1))):.4f}")  # affine
      0.0000
    """
    _checks.check_reduction(reduction)
    _check_bool("normalize", normalize)
    u, spatial, mask, dtype = _displacement(displacement, where, minimum=3)
    sizes = [u.shape[a] for a in spatial]
    terms = []
    for i, j in itertools.combinations_with_replacement(range(len(spatial)), 2):
        if i == j:
            d2 = (
                _interior(u, spatial, {i: 1})
                - 2 * _interior(u, spatial, {})
                + _interior(u, spatial, {i: -1})
            )
        else:
            d2 = (
                _interior(u, spatial, {i: 1, j: 1})
                - _interior(u, spatial, {i: 1, j: -1})
                - _interior(u, spatial, {i: -1, j: 1})
                + _interior(u, spatial, {i: -1, j: -1})
            ) / 4
        if normalize:
            d2 = d2 * _component_scale(sizes[i] * sizes[j], sizes, d2)
        terms.append(d2 * d2 if i == j else 2 * d2 * d2)
    values = jnp.mean(sum(terms[1:], start=terms[0]), axis=(*spatial, u.ndim - 1))
    return _reduce(values, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def diffusion_regularizer(
    displacement: ArrayLike,
    *,
    normalize: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Diffusion regularizer of a displacement field: the mean squared first derivatives.

    Per component ``u_c`` at an interior voxel (every spatial axis cropped by one voxel at
    each end)::

        diffusion = sum_i (du_c / dx_i)^2,   du/dx_i = (u[x + e_i] - u[x - e_i]) / 2

    (MONAI's central differences), and the loss of an example is the mean of ``diffusion``
    over its interior voxels and components: VoxelMorph's smoothness term
    ``sum ||grad u||^2``, averaged. With ``normalize=True`` the derivative of component
    ``c`` along axis ``i`` is multiplied by ``n_i / n_c`` (``n_k`` the size of spatial axis
    ``k``), MONAI's rescaling to coordinates in fractions of the image size.

    A quadratic form of the field: 0 with zero gradient for every constant field (zero
    displacement included).

    Args:
      displacement: ``[..., spatial..., n]`` floating displacement field in voxels, ``n`` in
        ``{1, 2, 3}`` components (one per spatial axis: ``[..., H, W, 2]``,
        ``[..., D, H, W, 3]``); at least 3 voxels along every spatial axis.
      normalize: rescale the derivatives by the spatial sizes as above (static).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-example mask broadcastable to ``[...]``.
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-example values ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the dtype of ``displacement`` (computed in at least float32).

    References:
      MONAI ``DiffusionLoss`` (1.6, ``monai.losses.deform``); Balakrishnan et al.,
      "VoxelMorph: A Learning Framework for Deformable Medical Image Registration",
      IEEE TMI 2019 (eq. 3).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import diffusion_regularizer
      >>> h = jnp.arange(4.0)[:, None] * jnp.ones((4, 5))
      >>> u = jnp.stack([0.5 * h, jnp.zeros((4, 5))], axis=-1)  # [4, 5, 2]
      >>> print(f"{float(diffusion_regularizer(u)):.4f}")  # (du_0/dh)^2 = 0.25 on one of 2
      0.1250
      >>> print(f"{float(diffusion_regularizer(u, normalize=True)):.4f}")  # 0.5 * 4 / 4
      0.1250
    """
    _checks.check_reduction(reduction)
    _check_bool("normalize", normalize)
    u, spatial, mask, dtype = _displacement(displacement, where, minimum=3)
    sizes = [u.shape[a] for a in spatial]
    terms = []
    for i in range(len(spatial)):
        g = (_interior(u, spatial, {i: 1}) - _interior(u, spatial, {i: -1})) / 2
        if normalize:
            g = g * _component_scale(sizes[i], sizes, g)
        terms.append(g * g)
    values = jnp.mean(sum(terms[1:], start=terms[0]), axis=(*spatial, u.ndim - 1))
    return _reduce(values, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def jacobian_folding_penalty(
    displacement: ArrayLike,
    *,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Folding penalty: the mean of ``max(-det J, 0)`` of the transformation ``x + u(x)``.

    With ``J[c, i] = delta_ci + du_c / dx_i`` the Jacobian of ``phi(x) = x + u(x)`` at each
    voxel (unit voxel spacing, component ``c`` along spatial axis ``c``)::

        penalty = mean over voxels of max(-det J, 0)

    The derivatives are numpy's ``np.gradient`` scheme (``jnp.gradient``): central
    differences ``(u[x + e_i] - u[x - e_i]) / 2`` inside, one-sided differences
    ``u[1] - u[0]`` and ``u[n-1] - u[n-2]`` on the two faces of each axis, every voxel
    counted. ``det J <= 0`` marks a voxel where the transformation folds (is not locally
    invertible); the penalty is 0 for every field without folding, zero displacement and
    any small smooth field included, with zero gradient there. Where ``det J == 0`` exactly
    the gradient is 0 (the ReLU's convention).

    Args:
      displacement: ``[..., spatial..., n]`` floating displacement field in voxels, ``n`` in
        ``{1, 2, 3}`` components (one per spatial axis: ``[..., H, W, 2]``,
        ``[..., D, H, W, 3]``); at least 2 voxels along every spatial axis.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-example mask broadcastable to ``[...]``.
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-example penalties ``[...]`` (``>= 0``) for ``reduction="none"``, else a scalar (a
      pair for ``"sum_and_count"``), in the dtype of ``displacement`` (computed in at least
      float32).

    References:
      Kuang & Schmah, "FAIM - A ConvNet Method for Unsupervised 3D Medical Image
      Registration", MLMI 2019 (the Jacobian loss); VoxelMorph's ``jacobian_determinant``
      (``np.gradient`` of the deformation); Rohlfing et al., IEEE TMI 2003.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import jacobian_folding_penalty
      >>> h = jnp.arange(5.0)[:, None] * jnp.ones((5, 4))
      >>> smooth = jnp.stack([0.1 * h, jnp.zeros((5, 4))], axis=-1)  # det J = 1.1
      >>> print(f"{float(jacobian_folding_penalty(smooth)):.4f}")
      0.0000
      >>> folded = jnp.stack([-1.5 * h, jnp.zeros((5, 4))], axis=-1)  # det J = -0.5
      >>> print(f"{float(jacobian_folding_penalty(folded)):.4f}")
      0.5000
    """
    _checks.check_reduction(reduction)
    u, spatial, mask, dtype = _displacement(displacement, where, minimum=2)
    n = len(spatial)
    raw = jnp.gradient(u, axis=spatial)
    grads = list(raw) if isinstance(raw, list) else [raw]
    # jac[c][i] = delta_ci + du_c/dx_i, each [..., spatial...]
    jac = [[grads[i][..., c] + (1.0 if i == c else 0.0) for i in range(n)] for c in range(n)]
    det = _determinant(jac)
    values = jnp.mean(jax.nn.relu(-det), axis=spatial)
    return _reduce(values, dtype, reduction, mask, weights, axis_name)


def _check_kernel_size(kernel_size: object) -> None:
    if (
        not isinstance(kernel_size, int | np.integer)
        or isinstance(kernel_size, bool)
        or kernel_size < 1
        or kernel_size % 2 == 0
    ):
        raise ValueError(f"`kernel_size` must be a static odd int >= 1; got {kernel_size!r}.")


def _check_bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a static bool; got {value!r}.")


def _spatial_axes(spatial_dims: object, images: jax.Array) -> tuple[int, ...]:
    """The `spatial_dims` axes before the channel (last) axis of channel-last `images`."""
    if (
        not isinstance(spatial_dims, int)
        or isinstance(spatial_dims, bool)
        or not (1 <= spatial_dims <= 3)
    ):
        raise ValueError(f"`spatial_dims` must be a static 1, 2 or 3; got {spatial_dims!r}.")
    _checks.check_min_rank("predictions", images, spatial_dims + 1)
    return tuple(range(images.ndim - 1 - spatial_dims, images.ndim - 1))


def _window_fill(window: np.ndarray, sizes: tuple[int, ...]) -> np.ndarray:
    """``S[1] / V`` per voxel in float64: the share of each window's weight inside the image.

    1 (exactly) where the window lies inside, less where it overlaps the zero padding. Per
    axis the zero-padded correlation of ones with `window` (odd length ``2 r + 1``), divided
    by ``sum(window)``; the product over the axes for the separable window.
    """
    radius = window.shape[0] // 2
    total = float(np.sum(window))
    fill = np.ones(())
    for n in sizes:
        inner = [sum(w for j, w in enumerate(window) if 0 <= i + j - radius < n) for i in range(n)]
        full = [radius <= i < n - radius for i in range(n)]
        fill = np.multiply.outer(fill, np.where(full, 1.0, np.array(inner) / total))
    return fill


def _kernel(kind: str, size: int) -> np.ndarray:
    """MONAI's 1-D LNCC kernels (``make_*_kernel``), in float64."""
    if kind == "rectangular":
        return np.ones(size)
    if kind == "triangular":
        width = (size + 1) // 2
        width -= 1 if width % 2 == 0 else 0
        box = np.full(width, 1.0 / width)
        tent = np.convolve(box, box)
        pad = (size - tent.shape[0]) // 2
        return np.pad(tent, (pad, pad))
    sigma = size / 3.0
    x = np.arange(-(size // 2), size // 2 + 1, dtype=np.float64)
    return np.exp(-0.5 / (sigma * sigma) * x**2)


def _displacement(
    displacement: ArrayLike, where: ArrayLike | None, *, minimum: int
) -> tuple[jax.Array, tuple[int, ...], jax.Array | None, jnp.dtype]:
    """The checked field in the compute dtype, its spatial axes, the example mask, the dtype."""
    u = _checks.as_float("displacement", displacement)
    _checks.check_min_rank("displacement", u, 2)
    n = u.shape[-1]
    if n not in (1, 2, 3):
        raise ValueError(
            "`displacement` must have 1, 2 or 3 components on its last axis (one per spatial "
            f"axis); got shape {u.shape}."
        )
    _checks.check_min_rank("displacement", u, n + 1)
    spatial = tuple(range(u.ndim - 1 - n, u.ndim - 1))
    sizes = tuple(u.shape[a] for a in spatial)
    if min(sizes) < minimum:
        raise ValueError(
            f"`displacement` must have at least {minimum} voxels along every spatial axis; "
            f"got spatial shape {sizes} (shape {u.shape})."
        )
    mask = _example_mask(where, u.shape[: spatial[0]])
    u = _zero_masked(u, mask, (*spatial, u.ndim - 1))
    return u.astype(_checks.compute_dtype(u.dtype)), spatial, mask, u.dtype


def _interior(u: jax.Array, spatial: tuple[int, ...], shifts: dict[int, int]) -> jax.Array:
    """`u` on the interior voxels moved by ``shifts[i]`` (-1, 0, +1) along spatial axis i."""
    index = [slice(None)] * u.ndim
    for i, a in enumerate(spatial):
        s = shifts.get(i, 0)
        index[a] = slice(1 + s, u.shape[a] - 1 + s)
    return u[tuple(index)]


def _component_scale(numerator: int, sizes: list[int], like: jax.Array) -> jax.Array:
    """MONAI's ``normalize``: ``numerator / n_c`` for component c, on the last axis."""
    scale = np.asarray([numerator / s for s in sizes], np.float64)
    return jnp.asarray(scale.reshape((1,) * (like.ndim - 1) + (-1,)), like.dtype)


def _determinant(m: list[list[jax.Array]]) -> jax.Array:
    """Determinant of a 1x1, 2x2 or 3x3 matrix of arrays (cofactor expansion)."""
    if len(m) == 1:
        return m[0][0]
    if len(m) == 2:
        return m[0][0] * m[1][1] - m[0][1] * m[1][0]
    return (
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
        - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    )


def _example_mask(where: ArrayLike | None, shape: tuple[int, ...]) -> jax.Array | None:
    """The per-example mask from `where`, broadcast to the per-example shape."""
    if where is None:
        return None
    return _checks.broadcast_to("where", _checks.as_bool("where", where), shape)


def _zero_masked(x: jax.Array, mask: jax.Array | None, reduced: tuple[int, ...]) -> jax.Array:
    """`x` with the masked examples replaced by zeros (`reduced`: the non-example axes)."""
    if mask is None:
        return x
    return jnp.where(jnp.expand_dims(mask, reduced), x, jnp.zeros((), x.dtype))


def _reduce(values, dtype, reduction, mask, weights, axis_name):
    """The per-example values reduced as `jaxloss.reduce` does, in the result dtype."""
    return reduce_loss(
        values, dtype, reduction=reduction, where=mask, weights=weights, axis_name=axis_name
    )
