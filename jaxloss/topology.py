"""Topology- and boundary-aware segmentation losses: clDice and the Hausdorff distance-transform
loss.

Maps are those of the overlap family (:mod:`jaxloss.overlap`): channel-last
``predictions`` ``[batch..., spatial..., C]`` (logits, or probabilities with
``activation=None``) and one-hot/soft targets of the same shape or integer labels
``[batch..., spatial...]``; ``activation`` is ``"softmax"`` over the classes (a single channel
goes through the sigmoid), ``"sigmoid"`` or None. ``axis`` names the spatial axes, by default
every axis but the first and the last: ``[B, H, W, C]`` is 2-D, ``[B, D, H, W, C]`` 3-D (give
``axis`` explicitly, e.g. ``(-3, -2)``, for several leading batch axes). Both losses need at
least one spatial axis; they work in any number of them, and 2-D and 3-D are MONAI's.
``ignore_background`` drops class 0 (when ``C > 1``) first, as MONAI's
``include_background=False``.

**Soft skeletons** (Shit et al. 2021, MONAI ``soft_skel``). A soft erosion is the minimum
over the cross-shaped neighbourhood (the 3-element window along each spatial axis, the
minimum of those), a soft dilation the maximum over the full ``3 x ... x 3`` box, both over
the pixels inside the image (MONAI's ``max_pool`` with ``-inf`` padding). With the opening
:math:`o(x) = \\mathrm{dilate}(\\mathrm{erode}(x))`, the skeleton starts at
:math:`S = [x - o(x)]_+` and each of ``iterations`` steps erodes :math:`x` once more and adds
:math:`[\\delta - S \\delta]_+` with :math:`\\delta = [x - o(x)]_+`. Minimum, maximum and
ReLU have kinks only where two compared values tie: the loss is differentiable elsewhere.
At a tie the (sub)gradient is MONAI's: inside a pooling window it goes to the window's first
extremum in row-major order (torch's ``max_pool``), and between the erosion's per-axis
minima it is shared equally (torch's ``min``).
The skeleton costs ``O(iterations * N)`` operations and ``O(N)`` memory per step kept for the
gradient.

**Distance transforms** (Karimi & Salcudean 2019, MONAI ``HausdorffDTLoss``). For a binary
mask :math:`m` (a map thresholded at ``> 0.5``), :math:`d_m` is the exact Euclidean distance,
in pixels, from each pixel to the nearest pixel of the other value (foreground to
background, background to foreground: scipy's ``distance_transform_edt`` of the mask plus
that of its complement), computed inside JAX (``jaxloss._distance_transform``, exact,
``O(N)`` memory) and held constant (``stop_gradient``) as MONAI does. For an empty or a full
mask there is no boundary and :math:`d_m = 0` everywhere (MONAI's definition).

Every loss returns per-example values (``reduction="none"``) and takes ``where``, ``weights``
and ``axis_name`` (CONTRIBUTING.md, sections 4 and 5). Integer labels outside ``[0, C)`` are
pixels of no class; targets and probabilities outside ``[0, 1]`` are used as given; all three
raise in checked mode (CONTRIBUTING.md, section 7).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _distance_transform, _numerics, _overlap

__all__ = ["hausdorff_dt_loss", "soft_cldice_loss", "soft_dice_cldice_loss"]


@_dispatch.compiled_when_eager
def soft_cldice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    iterations: int = 3,
    smooth: ArrayLike = 1.0,
    eps: ArrayLike = 1e-4,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Soft clDice loss (Shit et al. 2021): 1 - the harmonic mean of topology precision and
    topology sensitivity of soft skeletons.

    With probabilities :math:`p`, targets :math:`t` and their soft skeletons :math:`S_p`,
    :math:`S_t` (module docstring), summed over the spatial axes and the kept classes together:

    .. math::
        T_{prec} = \frac{\sum S_p t + s}{\sum S_p + s},\quad
        T_{sens} = \frac{\sum S_t p + s}{\sum S_t + s},\quad
        \ell = 1 - \frac{2\, T_{prec} T_{sens}}{T_{prec} + T_{sens} + \epsilon}

    This is MONAI's ``SoftclDiceLoss`` with ``iter_=iterations``, ``smooth_nr = smooth_dr =
    smooth`` (default 1, MONAI's and the paper's code) and ``smooth=eps`` (default 1e-4), on
    channel-last maps (MONAI's ``reduction="none"`` value per example). Unlike the Dice
    losses, the classes are pooled into one ratio, as MONAI does. MONAI ignores
    ``softmax=True`` on a single channel; here ``activation="softmax"`` with ``C == 1`` is the
    sigmoid (MONAI's ``sigmoid=True``).

    Edge cases: an empty skeleton with ``smooth=0`` gives the ratio 1 (its limit for any
    ``smooth > 0``); with ``eps=0`` and both ratios 0 the loss is 1. Gradients are finite
    everywhere; a target that is a single pixel has a skeleton of that pixel.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``), floating.
      targets: one-hot/soft targets of the shape of ``predictions`` (or without its channel
        axis when ``C == 1``), or integer labels ``[batch..., spatial...]``.
      iterations: number of erosion steps of the soft skeleton (static int ``>= 0``; MONAI's
        ``iter_``). It should exceed the half-width of the thickest structure.
      smooth: :math:`s \ge 0`, added to numerator and denominator of both ratios (default 1).
      eps: :math:`\epsilon \ge 0`, added to the denominator of the harmonic mean (default
        1e-4).
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``) first.
      axis: the spatial axes (static); default all axes but the first and last.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` in ``[0, 1]``, a scalar, or the ``(sum, count)`` pair.

    References:
      Shit et al., "clDice - a Novel Topology-Preserving Loss Function for Tubular Structure
      Segmentation", CVPR 2021; MONAI ``SoftclDiceLoss`` (monai/losses/cldice.py).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import soft_cldice_loss
      >>> vessel = jnp.zeros((1, 5, 5, 1)).at[0, 2, :, 0].set(1.0)  # a horizontal line
      >>> print(f"{float(soft_cldice_loss(vessel, vessel, activation=None)[0]):.4f}")
      0.0000
      >>> broken = vessel.at[0, 2, 2, 0].set(0.0)  # the line cut in the middle
      >>> print(f"{float(soft_cldice_loss(broken, vessel, activation=None)[0]):.4f}")
      0.0910
    """
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, activation, axis, where, axis_name)
    p, t = _kept_classes(maps, ignore_background)
    loss = _cldice(p, t, maps.axes, iterations, smooth, eps)
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


@_dispatch.compiled_when_eager
def soft_dice_cldice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 0.5,
    iterations: int = 3,
    smooth: ArrayLike = 1.0,
    eps: ArrayLike = 1e-4,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Soft Dice loss and soft clDice loss combined (Shit et al. 2021, MONAI
    ``SoftDiceclDiceLoss``).

    .. math::
        \ell = (1 - \alpha)\, \operatorname{mean}_c \Big(1 - \frac{2 I_c + s}{P_c + T_c + s}
        \Big) + \alpha\, \ell_{clDice}

    with the per-class Dice loss of :func:`jaxloss.dice_coefficient` (the same ``smooth``,
    averaged over the kept classes) and :math:`\ell_{clDice}` of :func:`soft_cldice_loss`.
    MONAI's ``SoftDiceclDiceLoss(alpha, iter_=iterations, smooth_nr=smooth_dr=smooth,
    smooth=eps)`` averages the first term over examples and classes and the second over
    examples, which is the ``"mean"`` of these per-example values. Note the defaults: MONAI's
    ``smooth = 1`` here, not the Dice family's 1e-5.

    Edge cases: those of the two terms; empty prediction and empty target give
    :math:`\alpha (1 - 2 / (2 + \epsilon))`, about :math:`\alpha \epsilon / 2` (the Dice
    term is 0, both clDice ratios 1).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``), floating.
      targets: one-hot/soft targets of the shape of ``predictions`` (or without its channel
        axis when ``C == 1``), or integer labels ``[batch..., spatial...]``.
      alpha: weight :math:`\alpha \in [0, 1]` of the clDice term (default 0.5).
      iterations: erosion steps of the soft skeleton (static int ``>= 0``; MONAI's ``iter_``).
      smooth: :math:`s \ge 0` in numerator and denominator of the Dice index and of both
        clDice ratios (default 1).
      eps: :math:`\epsilon \ge 0` in the denominator of clDice's harmonic mean (default 1e-4).
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``) from both terms.
      axis: the spatial axes (static); default all axes but the first and last.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]``, a scalar, or the ``(sum, count)`` pair.

    References:
      Shit et al., "clDice - a Novel Topology-Preserving Loss Function for Tubular Structure
      Segmentation", CVPR 2021; MONAI ``SoftDiceclDiceLoss`` (monai/losses/cldice.py).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import soft_dice_cldice_loss
      >>> vessel = jnp.zeros((1, 5, 5, 1)).at[0, 2, :, 0].set(1.0)
      >>> broken = vessel.at[0, 2, 2, 0].set(0.0)
      >>> print(f"{float(soft_dice_cldice_loss(broken, vessel, activation=None)[0]):.4f}")
      0.0955
    """
    _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, activation, axis, where, axis_name)
    dice = _overlap.dice_index(maps, smooth, squared=False)
    dice, _ = _overlap.drop_background(dice, None, ignore_background)
    p, t = _kept_classes(maps, ignore_background)
    cldice = _cldice(p, t, maps.axes, iterations, smooth, eps)
    loss = (1.0 - alpha) * jnp.mean(1.0 - dice, axis=-1) + alpha * cldice
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


@_dispatch.compiled_when_eager
def hausdorff_dt_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 2.0,
    activation: str | None = "softmax",
    ignore_background: bool = True,
    axis: _checks.Axis = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Hausdorff distance loss by distance transforms (Karimi & Salcudean 2019), MONAI
    ``HausdorffDTLoss``.

    For each class, with :math:`d_p` and :math:`d_t` the distance maps (module docstring) of
    the prediction and the target thresholded at ``> 0.5``, held constant:

    .. math::
        \ell = \operatorname{mean}_c\, \operatorname{mean}_{x}
        (p_{x,c} - t_{x,c})^2 \left(d_{p,c}(x)^{\alpha} + d_{t,c}(x)^{\alpha}\right)

    the mean over the spatial positions :math:`x` and the kept classes. Errors far from
    either boundary weigh most: the loss is a differentiable surrogate of the Hausdorff
    distance between the two boundaries. This is MONAI's ``HausdorffDTLoss(alpha)``
    (``reduction="none"`` averaged over the classes; its ``"mean"`` is the ``"mean"`` of these
    values), with MONAI's default ``ignore_background=True`` (``include_background=False``).
    MONAI ignores ``softmax=True`` on a single channel; here ``activation="softmax"`` with
    ``C == 1`` is the sigmoid (MONAI's ``sigmoid=True``).

    The distance transform is exact and computed inside JAX in ``O(N * sum_i n_i)``
    operations and ``O(N)`` memory for ``N`` pixels and side lengths ``n_i``.

    Edge cases: a class absent from the target, or present everywhere, has :math:`d_t = 0`
    (likewise :math:`d_p` for the thresholded prediction), so an empty prediction against an
    empty target gives 0. The gradient is
    :math:`2 (p - t)(d_p^\alpha + d_t^\alpha)` per pixel (over the number of pixels and
    classes) through the activation: the derivative of the value wherever no probability
    is exactly 0.5 (where :math:`d_p` jumps).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``), floating.
      targets: one-hot/soft targets of the shape of ``predictions`` (or without its channel
        axis when ``C == 1``), or integer labels ``[batch..., spatial...]``.
      alpha: exponent :math:`\alpha \ge 0` of the distances (default 2).
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``) first (default True, MONAI's).
      axis: the spatial axes (static); default all axes but the first and last.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]``, a scalar, or the ``(sum, count)`` pair.

    References:
      Karimi & Salcudean, "Reducing the Hausdorff Distance in Medical Image Segmentation With
      Convolutional Neural Networks", IEEE TMI 39(2), 2019; MONAI ``HausdorffDTLoss``
      (monai/losses/hausdorff_loss.py).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import hausdorff_dt_loss
      >>> target = jnp.zeros((1, 4, 4, 1)).at[0, 1:3, 1:3, 0].set(1.0)  # a 2 x 2 square
      >>> prediction = target.at[0, 0, 3, 0].set(1.0)  # and a stray pixel in a corner
      >>> print(f"{float(hausdorff_dt_loss(prediction, target, activation=None)[0]):.4f}")
      0.1875
    """
    _checks.check_nonnegative("alpha", alpha)
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, activation, axis, where, axis_name)
    p, t = _kept_classes(maps, ignore_background)
    distance_p, distance_t = _squared_distance_maps(p > 0.5, t > 0.5, maps.axes, p.dtype)
    half = jnp.asarray(alpha, p.dtype) / 2
    weight = distance_p**half + distance_t**half
    per_class = jnp.mean(jnp.square(p - t) * weight, axis=maps.axes)
    return _overlap.finish(
        jnp.mean(per_class, axis=-1),
        maps,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=axis_name,
    )


def _prepare(predictions, targets, activation, axis, where, axis_name) -> _overlap.Maps:
    """The family's maps, with at least one spatial axis."""
    maps = _overlap.prepare(
        predictions, targets, activation, axis, False, where=where, axis_name=axis_name
    )
    if not maps.axes:
        raise ValueError(
            "`predictions` must have at least one spatial axis ([batch..., spatial..., C]) "
            f"and `axis` must name it; got shape {maps.probs.shape} and `axis`={axis!r}."
        )
    return maps


def _kept_classes(maps: _overlap.Maps, ignore_background: bool) -> tuple[jax.Array, jax.Array]:
    """Probabilities and targets without class 0 when asked (and ``C > 1``)."""
    p, _ = _overlap.drop_background(maps.probs, None, ignore_background)
    t, _ = _overlap.drop_background(maps.targets, None, ignore_background)
    return p, t


def _cldice(
    p: jax.Array,
    t: jax.Array,
    axes: tuple[int, ...],
    iterations: int,
    smooth: ArrayLike,
    eps: ArrayLike,
) -> jax.Array:
    """Per-example ``1 - 2 T_prec T_sens / (T_prec + T_sens + eps)`` over axes and classes."""
    _checks.check_nonnegative("smooth", smooth)
    _checks.check_nonnegative("eps", eps)
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"`iterations` must be a static int >= 0; got {iterations!r}.")
    summed = (*axes, p.ndim - 1)
    skeleton_p = _soft_skeleton(p, axes, iterations)
    skeleton_t = _soft_skeleton(t, axes, iterations)
    precision = _numerics.safe_divide(
        jnp.sum(skeleton_p * t, axis=summed) + smooth, jnp.sum(skeleton_p, axis=summed) + smooth
    )
    sensitivity = _numerics.safe_divide(
        jnp.sum(skeleton_t * p, axis=summed) + smooth, jnp.sum(skeleton_t, axis=summed) + smooth
    )
    harmonic = _numerics.ratio_or(2.0 * precision * sensitivity, precision + sensitivity + eps, 0.0)
    return 1.0 - harmonic


def _soft_skeleton(x: jax.Array, axes: tuple[int, ...], iterations: int) -> jax.Array:
    r"""MONAI's ``soft_skel``: each step's erosion is reused by the next step's opening.

    MONAI's first term :math:`[x - o(x)]_+` is the step from :math:`S = 0` (it adds
    :math:`[\delta - 0]_+ = \delta`), so ``iterations + 1`` identical steps of a ``lax.scan``
    compute it: one copy of the step in the compiled program (and in its derivatives),
    whatever ``iterations`` is.
    """

    def step(carry: tuple[jax.Array, jax.Array], _: None) -> tuple[tuple, None]:
        x, skeleton = carry
        eroded = _soft_erode(x, axes)
        delta = jax.nn.relu(x - _soft_dilate(eroded, axes))
        return (eroded, skeleton + jax.nn.relu(delta - skeleton * delta)), None

    start = (x, jnp.zeros_like(x))
    (_, skeleton), _ = jax.lax.scan(step, start, None, length=iterations + 1)
    return skeleton


def _soft_erode(x: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Minimum over the cross: the 3-window along each axis, then the minimum over axes."""
    eroded = _window3(x, axes[0], _min_pick, jnp.inf)
    for axis in axes[1:]:
        eroded = jnp.minimum(eroded, _window3(x, axis, _min_pick, jnp.inf))
    return eroded


def _soft_dilate(x: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Maximum over the 3 x ... x 3 box: separable, one 3-window per axis, the last axis
    first, so that at ties the gradient goes to the box's first maximum in row-major order
    (torch's ``max_pool``, which MONAI's dilation is)."""
    for axis in reversed(axes):
        x = _window3(x, axis, _max_pick, -jnp.inf)
    return x


def _window3(x: jax.Array, axis: int, pick, fill: float) -> jax.Array:
    """`pick` (`_min_pick` or `_max_pick`) of each element and its two neighbours along
    `axis`; outside the image is `fill`, the identity of the extremum (the ``-inf`` padding of
    torch's ``max_pool``). The derivative goes to the window's first extremum, torch's
    ``max_pool``'s choice at ties, not shared as ``jnp.minimum``'s: MONAI's soft skeleton,
    and value_and_grad of ``soft_cldice_loss`` compiles 0.15 s faster (one select a pair)."""
    n = x.shape[axis]
    padding = [(0, 0)] * x.ndim
    padding[axis] = (1, 1)
    padded = jnp.pad(x, padding, constant_values=fill)
    left, middle, right = (jax.lax.slice_in_dim(padded, i, i + n, axis=axis) for i in range(3))
    return pick(pick(left, middle), right)


def _first_extremum(op, first_wins):
    """``op(a, b)`` (``jnp.minimum`` or ``jnp.maximum``) whose derivative is ``a``'s where
    ``first_wins(a, b)`` (ties included) and ``b``'s elsewhere."""

    @jax.custom_jvp
    def pick(a: jax.Array, b: jax.Array) -> jax.Array:
        return op(a, b)

    @pick.defjvp
    def _pick_jvp(primals, tangents):
        (a, b), (ta, tb) = primals, tangents
        return op(a, b), jnp.where(first_wins(a, b), ta, tb)

    return pick


_min_pick = _first_extremum(jnp.minimum, jnp.less_equal)
_max_pick = _first_extremum(jnp.maximum, jnp.greater_equal)


def _squared_distance_maps(
    mask_p: jax.Array, mask_t: jax.Array, axes: tuple[int, ...], dtype: jnp.dtype
) -> tuple[jax.Array, jax.Array]:
    """MONAI's squared distance fields of two masks: to the nearest pixel of the other value,
    0 throughout a slice that is all foreground or all background. One transform call for
    the four masks (foreground and background of each)."""
    masks = jnp.stack([mask_p, ~mask_p, mask_t, ~mask_t])
    shifted = tuple(a + 1 for a in axes)
    squared = _distance_transform.squared_edt(masks, shifted)
    fields = []
    for k, mask in ((0, mask_p), (2, mask_t)):
        to_other = jnp.where(mask, squared[k], squared[k + 1])
        boundary = jnp.any(mask, axis=axes, keepdims=True) & ~jnp.all(
            mask, axis=axes, keepdims=True
        )
        fields.append(jnp.where(boundary, to_other, 0.0).astype(dtype))
    return fields[0], fields[1]
