"""Segmentation losses: Dice, Tversky, IoU, generalized Dice, and Dice combined with (B)CE/focal.

Maps are channel-last: ``predictions`` are ``[batch..., spatial..., C]`` logits (or
probabilities with ``apply_softmax=False``); ``targets`` are one-hot/soft maps of the same shape,
or integer labels ``[batch..., spatial...]`` (one-hot encoded to ``C`` classes; with ``C == 1``
they are the binary mask). ``axis`` names the spatial axes summed over; by default (``None``,
optax's convention) every axis but the first and the last, so ``[B, H, W, C]`` sums over
``H, W``. Give ``axis`` explicitly (e.g. ``(-3, -2)``) for several leading batch axes.

Per class :math:`c` and example, with probabilities :math:`p` and targets :math:`t` summed over
the spatial axes: :math:`I_c = \\sum p t`, :math:`P_c = \\sum p` and :math:`T_c = \\sum t`
(:math:`\\sum p^2` and :math:`\\sum t^2` with ``squared=True``, the V-Net form).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.classification import (
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    softmax_focal_loss,
)
from jaxloss.reductions import reduce, weighted_reduce

__all__ = [
    "binary_dice_loss",
    "dice_bce_loss",
    "dice_coefficient",
    "dice_cross_entropy_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "iou_loss",
    "multiclass_generalized_dice_loss",
    "tversky_loss",
]

Axis = int | Sequence[int] | None

WEIGHT_TYPES = ("square", "simple", "uniform")

# optax's constant in `multiclass_generalized_dice_loss`: weights 1 / (frequency^2 + 1e-7).
_OPTAX_GDL_EPSILON = 1e-7


def dice_coefficient(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    smooth: ArrayLike = 1.0,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Soft Dice coefficient (Tversky index with ``alpha = beta = 0.5``), averaged over classes.

    .. math::
        D_c = \frac{I_c + s}{I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s},\qquad
        D = \frac{\sum_c w_c D_c}{\sum_c w_c}

    With :math:`\alpha = \beta = 1/2` this is :math:`(2I_c + 2s) / (P_c + T_c + 2s)`, the Dice
    coefficient of optax's ``dice_loss``; ``dice_loss(...) == 1 - dice_coefficient(...)`` per
    example for the same options whenever ``class_weights`` is None or averages to 1.
    ``squared=True`` uses :math:`\sum p^2, \sum t^2` (V-Net, Milletari et al. 2016).

    Edge cases: a class with empty prediction and empty target has :math:`D_c = 1` (with the
    default smoothing, and by definition when the denominator is 0, e.g. ``smooth=0``). If every
    class weight is 0, :math:`D = 1`. Probabilities are not checked to sum to 1.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``), floating. ``C == 1`` is binary (sigmoid).
      targets: one-hot/soft targets of the shape of ``predictions`` (or without its channel
        axis when ``C == 1``), or integer labels ``[batch..., spatial...]``.
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      smooth: smoothing :math:`s \ge 0` added to numerator and denominator.
      alpha: weight of false positives, :math:`\ge 0`.
      beta: weight of false negatives, :math:`\ge 0`.
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``) before averaging.
      axis: spatial axes summed over (static); default all axes but the first and last.
      squared: squared sums in the denominator (V-Net).
      batch_dice: also sum over the batch axes before dividing (one value per batch).
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example coefficients ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      Milletari et al., "V-Net", 3DV 2016; optax ``dice_loss`` (the coefficient it subtracts
      from 1).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import dice_coefficient
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])  # [batch=1, pixels=2, classes=2]
      >>> t = jnp.array([[0, 1]])  # integer labels
      >>> print(f"{float(dice_coefficient(p, t, apply_softmax=False, smooth=0.0)[0]):.4f}")
      0.8496
    """
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice)
    index = _tversky_index(maps, alpha, beta, smooth, squared)
    weights = _class_weights(class_weights, maps.num_classes, index.dtype)
    index, weights = _drop_background(index, weights, ignore_background)
    if weights is None:
        per_example = jnp.mean(index, axis=-1)
    else:
        w = jnp.broadcast_to(weights, index.shape)
        per_example = _numerics.safe_divide(jnp.sum(w * index, axis=-1), jnp.sum(w, axis=-1))
    return reduce(per_example.astype(maps.out_dtype), reduction=reduction)


def dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    smooth: ArrayLike = 1.0,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    apply_softmax: bool = True,
    reduction: str = "mean",
    ignore_background: bool = False,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
) -> jax.Array:
    r"""Soft Dice loss, optax's ``dice_loss`` (signature, defaults and values).

    .. math::
        \ell_c = w_c \Big(1 - \frac{I_c + s}{I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s}
        \Big)

    then reduced over the classes. Unlike the rest of jaxloss, ``reduction`` acts on the
    **class axis**, as in optax: ``"mean"`` (the default) gives the per-example loss
    ``[batch...]``, ``"sum"`` the per-example sum over classes and ``"none"`` the per-class
    losses ``[batch..., C]``. Average over examples with :func:`jaxloss.reduce`.

    Differences from optax 0.2.8: with ``apply_softmax=False`` optax checks that the
    probabilities sum to 1 with a Python ``if`` on array values, which raises
    ``TracerBoolConversionError`` under ``jax.jit`` (and rejects every single-channel
    probability map); this function does not check (a data-dependent check cannot raise
    under ``jit``), so it works under ``jit``. ``class_weights`` must have length ``C``.
    Added keyword-only options: ``squared`` and ``batch_dice``; integer labels.

    Edge cases: empty prediction and empty target give :math:`\ell_c = 0` with the default
    ``smooth=1`` (and by definition when the denominator is 0).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``); ``C == 1`` is binary (sigmoid). Binary maps may also omit
        the channel axis when ``targets`` has it (optax).
      targets: one-hot/soft targets of the shape of ``predictions`` (binary maps may omit the
        channel axis), or integer labels ``[batch..., spatial...]``.
      class_weights: optional non-negative ``[C]`` weights multiplying the per-class losses.
      smooth: smoothing :math:`s \ge 0`.
      alpha: weight of false positives :math:`\ge 0` (0.5: Dice).
      beta: weight of false negatives :math:`\ge 0` (0.5: Dice).
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      reduction: over the classes: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      ignore_background: drop class 0 (when ``C > 1``) after weighting.
      axis: spatial axes summed over (static); default all axes but the first and last.
      squared: squared sums :math:`\sum p^2, \sum t^2` (V-Net).
      batch_dice: also sum over the batch axes before dividing.

    Returns:
      ``[batch...]`` for ``"mean"``/``"sum"``, ``[batch..., C]`` for ``"none"`` (batch axes
      dropped with ``batch_dice``).

    References:
      optax ``dice_loss`` (0.2.8); Milletari et al., "V-Net", 3DV 2016; Salehi et al.,
      "Tversky loss function for image segmentation", 2017.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import dice_loss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])  # [batch=1, pixels=2, classes=2]
      >>> t = jnp.array([[[1.0, 0.0], [0.0, 1.0]]])
      >>> print(f"{float(dice_loss(logits, t)[0]):.4f}")
      0.0793
    """
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice)
    loss = 1.0 - _tversky_index(maps, alpha, beta, smooth, squared)
    weights = _class_weights(class_weights, maps.num_classes, loss.dtype)
    if weights is not None:
        loss = loss * jnp.broadcast_to(weights, loss.shape)
    loss, _ = _drop_background(loss, None, ignore_background)
    if reduction == "mean":
        loss = jnp.mean(loss, axis=-1)
    elif reduction == "sum":
        loss = jnp.sum(loss, axis=-1)
    return loss.astype(maps.out_dtype)


def binary_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_sigmoid: bool = True,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Binary soft Dice loss, optax's ``binary_dice_loss``.

    .. math::
        \ell = 1 - \frac{2 I + 2s}{P + T + 2s},\qquad p = \sigma(x) \text{ if apply\_sigmoid}

    Inputs ``[batch..., spatial...]`` whose last axis is not 1 get a channel axis appended
    (optax's rule). ``reduction`` is jaxloss's, over examples; the default ``"none"`` returns
    optax's per-example values. Unlike optax 0.2.8, ``apply_sigmoid=False`` works (optax
    requires the single channel to "sum to 1", so it rejects any probability map other than
    all ones, and fails under ``jit``).

    Edge cases: empty prediction and empty target give 0 with the default ``smooth=1``.

    Args:
      predictions: ``[batch..., spatial...]`` or ``[batch..., spatial..., 1]`` logits
        (probabilities if ``apply_sigmoid=False``).
      targets: binary targets of the same shape (or without the channel axis); integer or
        boolean masks are accepted.
      smooth: smoothing :math:`s \ge 0`.
      apply_sigmoid: apply the sigmoid to ``predictions``.
      axis: spatial axes of the channel-last (``[..., 1]``) maps (static); default all but
        the first and the last.
      squared: squared sums in the denominator (V-Net).
      batch_dice: also sum over the batch axes before dividing.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` or a scalar.

    References:
      optax ``binary_dice_loss`` (0.2.8); Milletari et al., "V-Net", 3DV 2016.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import binary_dice_loss
      >>> p = jnp.array([[0.9, 0.2, 0.0]])
      >>> t = jnp.array([[1.0, 0.0, 0.0]])
      >>> print(f"{float(binary_dice_loss(p, t, apply_sigmoid=False)[0]):.4f}")
      0.0732
    """
    _checks.check_reduction(reduction)
    p = jnp.asarray(predictions)
    t = jnp.asarray(targets)
    if p.ndim == t.ndim and p.ndim > 0 and p.shape[-1] != 1:
        p, t = p[..., None], t[..., None]
    if jnp.issubdtype(t.dtype, jnp.integer) and t.ndim == p.ndim:
        t = t.astype(jnp.bool_)  # a binary mask with its channel axis, not class labels
    loss = dice_loss(
        p,
        t,
        smooth=smooth,
        apply_softmax=apply_sigmoid,
        reduction="mean",
        axis=axis,
        squared=squared,
        batch_dice=batch_dice,
    )
    return reduce(loss, reduction=reduction)


def multiclass_generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: Axis = None,
    reduction: str = "mean",
) -> jax.Array:
    r"""optax's ``multiclass_generalized_dice_loss``: Dice loss with inverse-frequency weights.

    .. math::
        f_c = \sum_{b, i} t_{b,i,c},\quad
        w_c = C \frac{1/(f_c^2 + 10^{-7})}{\sum_k 1/(f_k^2 + 10^{-7})},\quad
        \ell_b = \operatorname{mean}_c\, w_c\,
        \Big(1 - \frac{I_{b,c} + s}{(P_{b,c} + T_{b,c})/2 + s}\Big)

    The frequencies :math:`f_c` are counted over the whole batch (every axis but the class
    axis), so an example's value depends on the rest of the batch. The default
    ``reduction="mean"`` returns optax's scalar (the mean over examples and classes);
    ``"none"`` gives the per-example values ``[batch...]``. With ``ignore_background`` the
    weights are computed over all ``C`` classes and class 0 is dropped afterwards (optax).
    For the weighting of Sudre et al. as MONAI implements it, see
    :func:`generalized_dice_loss`.

    Edge cases: an absent class gets weight :math:`\approx 10^7 / \ldots` (finite); empty
    prediction and empty target give 0.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``).
      targets: one-hot targets of the same shape, or integer labels ``[batch..., spatial...]``.
      smooth: smoothing :math:`s \ge 0`.
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      reduction: ``"mean"`` (default, optax's value), ``"sum"`` or ``"none"`` over examples.

    Returns:
      A scalar, or per-example losses ``[batch...]`` for ``"none"``.

    References:
      optax ``multiclass_generalized_dice_loss`` (0.2.8); Sudre et al., "Generalised Dice
      overlap as a deep learning loss function for highly unbalanced segmentations", 2017.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multiclass_generalized_dice_loss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0], [1.0, 0.0]]])
      >>> labels = jnp.array([[0, 1, 0]])
      >>> print(f"{float(multiclass_generalized_dice_loss(logits, labels)):.4f}")
      0.1354
    """
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice=False)
    ct = maps.probs.dtype
    frequencies = jnp.sum(maps.targets, axis=tuple(range(maps.targets.ndim - 1)))
    inverse = 1.0 / (frequencies**2 + jnp.asarray(_OPTAX_GDL_EPSILON, ct))
    weights = inverse / jnp.sum(inverse) * maps.num_classes
    loss = 1.0 - _tversky_index(maps, 0.5, 0.5, smooth, squared=False)
    loss = loss * jnp.broadcast_to(weights, loss.shape)
    loss, _ = _drop_background(loss, None, ignore_background)
    return reduce(jnp.mean(loss, axis=-1).astype(maps.out_dtype), reduction=reduction)


def generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight_type: str = "square",
    smooth: ArrayLike = 1e-5,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Generalized Dice loss (Sudre et al. 2017), MONAI ``GeneralizedDiceLoss`` semantics.

    .. math::
        \ell = 1 - \frac{2 \sum_c w_c I_c + s}{\sum_c w_c (P_c + T_c) + s},\qquad
        w_c = 1/T_c^2\ (\text{"square"}),\ 1/T_c\ (\text{"simple"}),\ 1\ (\text{"uniform"})

    A class absent from the target (:math:`T_c = 0`, infinite weight) gets the largest finite
    weight of the example (of the batch with ``batch_dice``), as MONAI does; if every class is
    absent all weights are 0 and the loss is :math:`1 - s/s = 0`. Gradients stay finite.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      weight_type: ``"square"``, ``"simple"`` or ``"uniform"`` (static).
      smooth: :math:`s \ge 0`, MONAI's ``smooth_nr = smooth_dr`` (default 1e-5).
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``) before computing the weights.
      axis: spatial axes summed over (static); default all axes but the first and last.
      batch_dice: also sum over the batch axes (MONAI ``batch=True``).
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      Sudre et al., "Generalised Dice overlap as a deep learning loss function for highly
      unbalanced segmentations", DLMIA 2017; MONAI ``GeneralizedDiceLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import generalized_dice_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]])
      >>> labels = jnp.array([[0, 1, 0]])
      >>> print(f"{float(generalized_dice_loss(p, labels, apply_softmax=False)[0]):.4f}")
      0.2381
    """
    _checks.check_choice("weight_type", weight_type, WEIGHT_TYPES)
    _checks.check_nonnegative("smooth", smooth)
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice)
    inter, pred_sum, target_sum = _sums(maps, squared=False)
    inter, _ = _drop_background(inter, None, ignore_background)
    pred_sum, _ = _drop_background(pred_sum, None, ignore_background)
    target_sum, _ = _drop_background(target_sum, None, ignore_background)
    if weight_type == "uniform":
        weights = jnp.ones_like(target_sum)
    else:
        present = target_sum > 0
        safe = jnp.where(present, target_sum, 1.0)
        raw = 1.0 / (safe * safe if weight_type == "square" else safe)
        # MONAI replaces every infinite weight (an absent class, or an overflow) by the
        # largest finite weight.
        bad = ~present | jnp.isinf(raw)
        finite = jnp.where(bad, 0.0, raw)
        weights = jnp.where(bad, jnp.max(finite, axis=-1, keepdims=True), finite)
    numerator = 2.0 * jnp.sum(weights * inter, axis=-1) + smooth
    denominator = jnp.sum(weights * (pred_sum + target_sum), axis=-1) + smooth
    loss = 1.0 - _numerics.safe_divide(numerator, denominator)
    return reduce(loss.astype(maps.out_dtype), reduction=reduction)


def tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Tversky loss (Salehi et al. 2017), MONAI ``TverskyLoss`` semantics.

    .. math::
        TI_c = \frac{TP_c + s}{TP_c + \alpha FP_c + \beta FN_c + s},\quad
        TP_c = \sum p t,\ FP_c = \sum p (1 - t),\ FN_c = \sum (1 - p) t,\quad
        \ell = \operatorname{mean}_c\, w_c (1 - TI_c)

    ``alpha`` weighs false positives and ``beta`` false negatives (MONAI's convention);
    ``alpha = beta = 0.5`` is the Dice loss, ``alpha = beta = 1`` the Jaccard loss.

    Edge cases: empty prediction and empty target give 0 (by definition when the
    denominator is 0, e.g. ``smooth=0``).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      alpha: weight of false positives :math:`\ge 0`.
      beta: weight of false negatives :math:`\ge 0`.
      smooth: :math:`s \ge 0`, MONAI's ``smooth_nr = smooth_dr`` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      batch_dice: also sum over the batch axes (MONAI ``batch=True``).
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      Salehi et al., "Tversky loss function for image segmentation using 3D fully
      convolutional deep networks", MLMI 2017; MONAI ``TverskyLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import tversky_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])
      >>> labels = jnp.array([[0, 1]])
      >>> out = tversky_loss(p, labels, alpha=0.3, beta=0.7, apply_softmax=False)
      >>> print(f"{float(out[0]):.4f}")
      0.1507
    """
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice)
    loss = 1.0 - _tversky_index(maps, alpha, beta, smooth, squared=False)
    per_example = _weighted_class_mean(loss, class_weights, maps.num_classes, ignore_background)
    return reduce(per_example.astype(maps.out_dtype), reduction=reduction)


def focal_tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 0.3,
    beta: ArrayLike = 0.7,
    gamma: ArrayLike = 0.75,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Focal Tversky loss (Abraham & Khan 2019): the Tversky loss raised to ``gamma``.

    .. math::
        \ell = \operatorname{mean}_c\, w_c (1 - TI_c)^{\gamma}

    with :math:`TI_c` of :func:`tversky_loss`. **The exponent is ``gamma`` itself**: Abraham
    & Khan write :math:`(1 - TI_c)^{1/\gamma}` with their best :math:`\gamma = 4/3`; the
    default ``gamma=0.75`` is that exponent :math:`3/4`, following the convention of Yeung et
    al.'s Unified Focal loss (and ``segmentation_models_pytorch``). The defaults
    ``alpha=0.3`` (false positives) and ``beta=0.7`` (false negatives) are the paper's
    (its :math:`\alpha = 0.7` weighs false negatives). The paper sums over classes; we
    average, like the rest of this module.

    Edge cases: at :math:`TI_c = 1` (perfect or empty-and-empty) the term is 0 and its
    gradient is taken as 0 (the derivative of :math:`x^{\gamma}` is infinite at 0 for
    :math:`\gamma < 1`).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      alpha: weight of false positives :math:`\ge 0`.
      beta: weight of false negatives :math:`\ge 0`.
      gamma: exponent :math:`> 0` applied to :math:`1 - TI_c`.
      smooth: :math:`s \ge 0` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      batch_dice: also sum over the batch axes before dividing.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      Abraham & Khan, "A Novel Focal Tversky loss function with improved Attention U-Net for
      lesion segmentation", ISBI 2019; Yeung et al., "Unified Focal loss", 2022.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import focal_tversky_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])
      >>> labels = jnp.array([[0, 1]])
      >>> out = focal_tversky_loss(p, labels, apply_softmax=False)
      >>> print(f"{float(out[0]):.4f}")
      0.2413
    """
    _checks.check_positive("gamma", gamma)
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice)
    base = 1.0 - _tversky_index(maps, alpha, beta, smooth, squared=False)
    positive = base > 0
    loss = jnp.where(positive, jnp.where(positive, base, 1.0) ** gamma, 0.0)
    per_example = _weighted_class_mean(loss, class_weights, maps.num_classes, ignore_background)
    return reduce(per_example.astype(maps.out_dtype), reduction=reduction)


def iou_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Soft Jaccard (IoU) loss (Rahman & Wang 2016).

    .. math::
        J_c = \frac{I_c + s}{P_c + T_c - I_c + s},\qquad
        \ell = \operatorname{mean}_c\, w_c (1 - J_c)

    ``squared=True`` uses :math:`\sum p^2 + \sum t^2 - I_c` as the union (MONAI
    ``DiceLoss(jaccard=True, squared_pred=True)``, up to the scaling of ``smooth``).

    Edge cases: empty prediction and empty target give 0 (by definition when the union is 0,
    e.g. ``smooth=0``).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      smooth: :math:`s \ge 0` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      squared: squared sums in the union.
      batch_dice: also sum over the batch axes before dividing.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      Rahman & Wang, "Optimizing Intersection-Over-Union in Deep Neural Networks for Image
      Segmentation", ISVC 2016; MONAI ``DiceLoss(jaccard=True)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import iou_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])
      >>> labels = jnp.array([[0, 1]])
      >>> print(f"{float(iou_loss(p, labels, apply_softmax=False)[0]):.4f}")
      0.2614
    """
    _checks.check_nonnegative("smooth", smooth)
    _checks.check_reduction(reduction)
    maps = _prepare(predictions, targets, apply_softmax, axis, batch_dice)
    inter, pred_sum, target_sum = _sums(maps, squared)
    jaccard = _numerics.safe_divide(inter + smooth, pred_sum + target_sum - inter + smooth)
    per_example = _weighted_class_mean(
        1.0 - jaccard, class_weights, maps.num_classes, ignore_background
    )
    return reduce(per_example.astype(maps.out_dtype), reduction=reduction)


def dice_bce_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    lambda_dice: ArrayLike = 1.0,
    lambda_bce: ArrayLike = 1.0,
    smooth: ArrayLike = 1e-5,
    pos_weight: ArrayLike | None = None,
    class_weights: ArrayLike | None = None,
    ignore_background: bool = False,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Sigmoid Dice loss plus binary cross-entropy (multi-label), weighted per term.

    .. math::
        \ell = \lambda_{dice}\, \operatorname{mean}_c w_c
        \Big(1 - \frac{2 I_c + s}{P_c + T_c + s}\Big)
        + \lambda_{bce}\, \operatorname{mean}_{i, c} \mathrm{BCE}(x_{i,c}, t_{i,c}),
        \qquad p = \sigma(x)

    Every channel is an independent binary map (sigmoid); the BCE term is
    :func:`jaxloss.sigmoid_binary_cross_entropy` averaged over the spatial axes and channels,
    as MONAI ``DiceCELoss(sigmoid=True)`` with one channel (``BCEWithLogitsLoss``).
    ``ignore_background`` and ``class_weights`` act on the Dice term only.

    Edge cases: all values and gradients are finite for finite logits; a perfect, confident
    prediction gives a loss near 0.

    Args:
      logits: ``[batch..., spatial..., C]`` logits, floating.
      labels: binary/soft targets of the same shape (or without the channel axis when
        ``C == 1``), or integer labels ``[batch..., spatial...]`` (one-hot encoded; the mask
        itself when ``C == 1``).
      lambda_dice: weight of the Dice term, :math:`\ge 0`.
      lambda_bce: weight of the BCE term, :math:`\ge 0`.
      smooth: :math:`s \ge 0`, MONAI's ``smooth_nr = smooth_dr`` (default 1e-5).
      pos_weight: optional weight of the positive BCE term, broadcastable to ``logits``
        (e.g. ``[C]``).
      class_weights: optional non-negative ``[C]`` weights of the per-class Dice losses.
      ignore_background: drop class 0 (when ``C > 1``) from the Dice term.
      axis: spatial axes (static); default all axes but the first and last.
      squared: squared sums in the Dice denominator (V-Net).
      batch_dice: also sum (Dice) and average (BCE) over the batch axes.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      MONAI ``DiceCELoss`` (``lambda_dice``, ``lambda_ce``); Milletari et al., "V-Net", 2016.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import dice_bce_loss
      >>> logits = jnp.array([[[2.0], [-1.0], [0.5]]])  # [batch=1, pixels=3, channels=1]
      >>> labels = jnp.array([[1, 0, 1]])
      >>> print(f"{float(dice_bce_loss(logits, labels)[0]):.4f}")
      0.5077
    """
    _checks.check_nonnegative("lambda_dice", lambda_dice)
    _checks.check_nonnegative("lambda_bce", lambda_bce)
    _checks.check_reduction(reduction)
    maps = _prepare(logits, labels, "sigmoid", axis, batch_dice, name="logits", target="labels")
    dice = _dice_term(maps, smooth, squared, class_weights, ignore_background)
    pw = None if pos_weight is None else _checks.as_float("pos_weight", pos_weight)
    bce = sigmoid_binary_cross_entropy(maps.logits, maps.targets, pos_weight=pw)
    bce = _spatial_mean(bce, None, (*maps.axes, maps.logits.ndim - 1))
    loss = lambda_dice * dice + lambda_bce * bce
    return reduce(loss.astype(maps.out_dtype), reduction=reduction)


def dice_cross_entropy_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    lambda_dice: ArrayLike = 1.0,
    lambda_ce: ArrayLike = 1.0,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    ignore_background: bool = False,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Softmax Dice loss plus cross-entropy, weighted per term (MONAI ``DiceCELoss``).

    .. math::
        \ell = \lambda_{dice}\, \operatorname{mean}_c w_c
        \Big(1 - \frac{2 I_c + s}{P_c + T_c + s}\Big)
        + \lambda_{ce} \frac{\sum_i \mathrm{CE}_i}{\sum_i w_{y_i}},\qquad
        p = \mathrm{softmax}(x)

    :math:`\mathrm{CE}_i` is :func:`jaxloss.softmax_cross_entropy_with_integer_labels` (integer
    labels) or :func:`jaxloss.softmax_cross_entropy` (one-hot/soft labels) at pixel :math:`i`,
    with ``class_weights`` and ``label_smoothing``; the spatial mean divides by the summed
    pixel weights :math:`w_{y_i}` (:math:`\sum_c w_c t_{i,c}` for soft labels), torch's
    ``cross_entropy(weight=...)`` mean, which MONAI uses. Without weights it is the plain
    mean. With ``C == 1`` the map is binary: sigmoid Dice and binary cross-entropy (MONAI).
    ``class_weights`` weigh both terms; ``ignore_background`` acts on the Dice term only.

    Edge cases: values and gradients are finite for finite logits; pixels whose weights sum
    to 0 give a cross-entropy term of 0.

    Args:
      logits: ``[batch..., spatial..., C]`` logits, floating.
      labels: integer labels ``[batch..., spatial...]`` or one-hot/soft labels of the shape
        of ``logits``.
      lambda_dice: weight of the Dice term, :math:`\ge 0`.
      lambda_ce: weight of the cross-entropy term, :math:`\ge 0`.
      smooth: :math:`s \ge 0`, MONAI's ``smooth_nr = smooth_dr`` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights.
      label_smoothing: cross-entropy label smoothing in ``[0, 1]`` (unused when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``) from the Dice term.
      axis: spatial axes (static); default all axes but the first and last.
      squared: squared sums in the Dice denominator (V-Net).
      batch_dice: also sum (Dice) and average (cross-entropy) over the batch axes.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      MONAI ``DiceCELoss`` (``lambda_dice``, ``lambda_ce``); Milletari et al., "V-Net", 2016;
      ``torch.nn.functional.cross_entropy``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import dice_cross_entropy_loss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])  # [batch=1, pixels=2, classes=2]
      >>> labels = jnp.array([[0, 1]])
      >>> print(f"{float(dice_cross_entropy_loss(logits, labels)[0]):.4f}")
      0.3411
    """
    _checks.check_nonnegative("lambda_dice", lambda_dice)
    _checks.check_nonnegative("lambda_ce", lambda_ce)
    _checks.check_reduction(reduction)
    maps = _prepare(logits, labels, True, axis, batch_dice, name="logits", target="labels")
    dice = _dice_term(maps, smooth, squared, class_weights, ignore_background)
    weights = _class_weights(class_weights, maps.num_classes, maps.logits.dtype)
    if maps.num_classes == 1:
        _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
        ce = sigmoid_binary_cross_entropy(maps.logits, maps.targets)[..., 0]
        pixel_weights = None
        if weights is not None:
            ce = weights[0] * ce
            pixel_weights = jnp.broadcast_to(weights[0], ce.shape)
    else:
        if maps.labels is not None:
            ce = softmax_cross_entropy_with_integer_labels(
                maps.logits, maps.labels, label_smoothing=label_smoothing, class_weights=weights
            )
        else:
            ce = softmax_cross_entropy(
                maps.logits, maps.targets, label_smoothing=label_smoothing, class_weights=weights
            )
        pixel_weights = None
        if weights is not None:
            pixel_weights = jnp.sum(
                maps.targets * jnp.broadcast_to(weights, maps.targets.shape), -1
            )
    ce = _spatial_mean(ce, pixel_weights, maps.axes)
    loss = lambda_dice * dice + lambda_ce * ce
    return reduce(loss.astype(maps.out_dtype), reduction=reduction)


def dice_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    lambda_dice: ArrayLike = 1.0,
    lambda_focal: ArrayLike = 1.0,
    gamma: ArrayLike = 2.0,
    alpha: ArrayLike | None = None,
    smooth: ArrayLike = 1e-5,
    sigmoid: bool = False,
    class_weights: ArrayLike | None = None,
    ignore_background: bool = False,
    axis: Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
) -> jax.Array:
    r"""Dice loss plus focal loss, weighted per term (MONAI ``DiceLoss`` + ``FocalLoss``).

    .. math::
        \ell = \lambda_{dice}\, \operatorname{mean}_c w_c
        \Big(1 - \frac{2 I_c + s}{P_c + T_c + s}\Big)
        + \lambda_{focal}\, \operatorname{mean}_{i, c} \mathrm{FL}_{i,c}

    Two modes, each equal to MONAI's two components on the same options:

    - ``sigmoid=True`` (or ``C == 1``): every channel is a binary map, :math:`p = \sigma(x)`
      in the Dice term and :math:`\mathrm{FL}` is :func:`jaxloss.sigmoid_focal_loss`
      (``alpha`` a scalar in ``[0, 1]``). This is MONAI 1.6's
      ``DiceFocalLoss(sigmoid=True)``.
    - ``sigmoid=False`` (``C > 1``, the default): :math:`p = \mathrm{softmax}(x)` over all
      classes in the Dice term (MONAI ``DiceLoss(softmax=True)``) and the focal term is MONAI
      ``FocalLoss(use_softmax=True)``: :math:`\mathrm{FL}_{i,c} = -\alpha_c t_{i,c}
      (1 - q_{i,c})^\gamma \log q_{i,c}` with :math:`q = \mathrm{softmax}` over the **kept**
      classes (class 0 is dropped *before* this softmax when ``ignore_background``), averaged
      over pixels and kept classes. A scalar ``alpha`` means :math:`\alpha_0 = 1 - \alpha`
      and :math:`\alpha_c = \alpha` for the other classes (MONAI); with
      ``ignore_background`` a scalar is ambiguous and raises (MONAI ignores it with a
      warning); a ``[C]`` vector loses its class-0 entry. (MONAI 1.6's ``DiceFocalLoss``
      itself always uses the sigmoid focal term, also with ``softmax=True``; this mode is the
      softmax composition its docstring describes.)

    ``ignore_background`` drops class 0 from both terms; ``class_weights`` weigh the Dice
    term.

    Edge cases: values and gradients are finite for finite logits, also for
    :math:`0 < \gamma < 1` (see the focal losses) and ``smooth=0``.

    Args:
      logits: ``[batch..., spatial..., C]`` logits, floating.
      labels: integer labels ``[batch..., spatial...]`` or one-hot/soft labels of the shape
        of ``logits`` (without the channel axis when ``C == 1``).
      lambda_dice: weight of the Dice term, :math:`\ge 0`.
      lambda_focal: weight of the focal term, :math:`\ge 0`.
      gamma: focal exponent :math:`\ge 0`.
      alpha: optional focal class balance: a scalar in ``[0, 1]`` (both modes) or ``[C]``
        weights (softmax mode).
      smooth: :math:`s \ge 0`, MONAI's ``smooth_nr = smooth_dr`` (default 1e-5).
      sigmoid: independent sigmoid channels (multi-label) instead of the softmax (static).
      class_weights: optional non-negative ``[C]`` weights of the per-class Dice losses.
      ignore_background: drop class 0 (when ``C > 1``) from both terms.
      axis: spatial axes (static); default all axes but the first and last.
      squared: squared sums in the Dice denominator (V-Net).
      batch_dice: also sum (Dice) and average (focal) over the batch axes.
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over the examples.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), or a scalar.

    References:
      MONAI 1.6 ``DiceFocalLoss`` (sigmoid mode), ``DiceLoss(softmax=True)`` +
      ``FocalLoss(use_softmax=True)`` (softmax mode); Lin et al., "Focal Loss for Dense
      Object Detection", 2017; Milletari et al., "V-Net", 2016.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import dice_focal_loss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0]]])  # [batch=1, pixels=2, classes=2]
      >>> labels = jnp.array([[0, 1]])
      >>> print(f"{float(dice_focal_loss(logits, labels)[0]):.4f}")
      0.1658
    """
    _checks.check_nonnegative("lambda_dice", lambda_dice)
    _checks.check_nonnegative("lambda_focal", lambda_focal)
    _checks.check_reduction(reduction)
    if not isinstance(sigmoid, bool):
        raise TypeError(f"`sigmoid` must be a static bool; got {sigmoid!r}.")
    activation = "sigmoid" if sigmoid else True
    maps = _prepare(logits, labels, activation, axis, batch_dice, name="logits", target="labels")
    dice = _dice_term(maps, smooth, squared, class_weights, ignore_background)
    drop = ignore_background and maps.num_classes > 1
    logits_kept, targets_kept = maps.logits, maps.targets
    if drop:
        logits_kept, targets_kept = logits_kept[..., 1:], targets_kept[..., 1:]
    if sigmoid or maps.num_classes == 1:
        focal = sigmoid_focal_loss(logits_kept, targets_kept, alpha=alpha, gamma=gamma)
        focal = _spatial_mean(focal, None, (*maps.axes, maps.logits.ndim - 1))
    else:
        alphas = _softmax_focal_alpha(alpha, maps.num_classes, drop)
        focal = softmax_focal_loss(logits_kept, targets_kept, alpha=alphas, gamma=gamma)
        focal = _spatial_mean(focal, None, maps.axes) / logits_kept.shape[-1]
    loss = lambda_dice * dice + lambda_focal * focal
    return reduce(loss.astype(maps.out_dtype), reduction=reduction)


# ---------------------------------------------------------------------------------------------
# helpers


class _Maps(NamedTuple):
    """Channel-last probability and target maps, in the compute dtype."""

    logits: jax.Array  # the (channel-expanded) predictions, compute dtype
    probs: jax.Array  # [..., C]
    targets: jax.Array  # [..., C], one-hot or soft
    labels: jax.Array | None  # the integer labels [...] when given as such
    axes: tuple[int, ...]  # the axes summed over
    num_classes: int
    out_dtype: jnp.dtype


def _prepare(
    predictions: ArrayLike,
    targets: ArrayLike,
    activation: bool | str,
    axis: Axis,
    batch_dice: bool,
    *,
    name: str = "predictions",
    target: str = "targets",
) -> _Maps:
    """Validates shapes and dtypes, one-hot encodes labels, applies the activation.

    ``activation``: True (softmax, sigmoid when C == 1), False (probabilities given), or
    "sigmoid" (elementwise). ``name`` and ``target`` are the argument names for errors.
    """
    predictions = _checks.as_float(name, predictions)
    targets = jnp.asarray(targets)
    integer = jnp.issubdtype(targets.dtype, jnp.integer)
    if not integer and targets.dtype != jnp.bool_:
        targets = _checks.as_float(target, targets)
    if integer:
        _checks.check_min_rank(name, predictions, 2)
        if targets.shape != predictions.shape[:-1]:
            raise ValueError(
                f"integer `{target}` (class labels) must have the shape of `{name}` without "
                f"its class axis, {predictions.shape[:-1]}; got {targets.shape}."
            )
    else:
        # optax: a binary map may omit its channel axis in either argument.
        if predictions.ndim == targets.ndim - 1:
            predictions = predictions[..., None]
        elif targets.ndim == predictions.ndim - 1:
            targets = targets[..., None]
        _checks.check_min_rank(name, predictions, 2)
        if targets.ndim != predictions.ndim:
            raise ValueError(
                f"`{target}` must have the rank of `{name}` ({predictions.ndim}, one-hot) "
                f"or one less (labels); got shapes `{target}` {targets.shape} and "
                f"`{name}` {predictions.shape}."
            )
        if targets.shape[-1] != predictions.shape[-1]:
            raise ValueError(
                f"channel mismatch: `{name}` has {predictions.shape[-1]} channels (last "
                f"axis) but `{target}` has {targets.shape[-1]}; got shapes {predictions.shape} "
                f"and {targets.shape}."
            )
        _checks.check_same_shape(**{name: predictions, target: targets})
    if not isinstance(activation, bool | str):
        raise TypeError(f"`apply_softmax` must be a static bool; got {activation!r}.")
    if not isinstance(batch_dice, bool):
        raise TypeError(f"`batch_dice` must be a static bool; got {batch_dice!r}.")

    floats = [predictions] if integer or targets.dtype == jnp.bool_ else [predictions, targets]
    out_dtype = _checks.result_dtype(*floats)
    ct = _checks.compute_dtype(out_dtype)
    num_classes = predictions.shape[-1]
    if integer:
        if num_classes == 1:
            onehot = targets[..., None].astype(ct)
        else:
            onehot = jax.nn.one_hot(targets, num_classes, dtype=ct)
    else:
        onehot = targets.astype(ct)
    logits = predictions.astype(ct)
    if activation == "sigmoid" or (activation is True and num_classes == 1):
        probs = jax.nn.sigmoid(logits)
    elif activation is True:
        probs = jax.nn.softmax(logits, axis=-1)
    else:
        probs = logits
    ndim = predictions.ndim
    if batch_dice:
        axes = tuple(range(ndim - 1))
    elif axis is None:
        axes = tuple(range(1, ndim - 1))
    else:
        raw = (axis,) if isinstance(axis, int) else tuple(axis)
        axes = tuple(sorted({_checks.normalize_axis("axis", a, ndim) for a in raw}))
        if ndim - 1 in axes:
            raise ValueError(
                f"`axis`={axis!r} must not contain the class axis (the last axis of "
                f"`{name}`, shape {predictions.shape})."
            )
    labels = targets if integer and num_classes > 1 else None
    return _Maps(logits, probs, onehot, labels, axes, num_classes, out_dtype)


def _sums(maps: _Maps, squared: bool) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-class intersection, prediction and target sums over the summed axes."""
    if not isinstance(squared, bool):
        raise TypeError(f"`squared` must be a static bool; got {squared!r}.")
    p, t = maps.probs, maps.targets
    inter = jnp.sum(p * t, axis=maps.axes)
    if squared:
        p, t = p * p, t * t
    return inter, jnp.sum(p, axis=maps.axes), jnp.sum(t, axis=maps.axes)


def _tversky_index(maps: _Maps, alpha, beta, smooth, squared: bool) -> jax.Array:
    """(I + s) / (I + alpha (P - I) + beta (T - I) + s), 1 where the denominator is 0."""
    _checks.check_nonnegative("alpha", alpha)
    _checks.check_nonnegative("beta", beta)
    _checks.check_nonnegative("smooth", smooth)
    inter, pred_sum, target_sum = _sums(maps, squared)
    denominator = inter + alpha * (pred_sum - inter) + beta * (target_sum - inter) + smooth
    return _numerics.safe_divide(inter + smooth, denominator)


def _class_weights(class_weights, num_classes: int, dtype) -> jax.Array | None:
    if class_weights is None:
        return None
    # Checked before conversion: under `jit`, `jnp.asarray` of a NumPy array is a tracer.
    _checks.check_nonnegative("class_weights", class_weights)
    w = jnp.asarray(class_weights)
    if not (jnp.issubdtype(w.dtype, jnp.floating) or jnp.issubdtype(w.dtype, jnp.integer)):
        raise TypeError(f"`class_weights` must be a numeric array; got dtype {w.dtype}.")
    if w.shape != (num_classes,):
        raise ValueError(
            f"`class_weights` must have shape ({num_classes},) (one weight per class); "
            f"got {w.shape}."
        )
    return w.astype(dtype)


def _drop_background(
    values: jax.Array, weights: jax.Array | None, ignore_background: bool
) -> tuple[jax.Array, jax.Array | None]:
    """Drops class 0 when asked and there is more than one class (optax, MONAI)."""
    if not isinstance(ignore_background, bool):
        raise TypeError(f"`ignore_background` must be a static bool; got {ignore_background!r}.")
    if not ignore_background or values.shape[-1] == 1:
        return values, weights
    return values[..., 1:], None if weights is None else weights[1:]


def _weighted_class_mean(
    losses: jax.Array, class_weights, num_classes: int, ignore_background: bool
) -> jax.Array:
    """mean_c w_c l_c over the kept classes (optax and MONAI weight the per-class losses)."""
    weights = _class_weights(class_weights, num_classes, losses.dtype)
    if weights is not None:
        losses = losses * jnp.broadcast_to(weights, losses.shape)
    losses, _ = _drop_background(losses, None, ignore_background)
    return jnp.mean(losses, axis=-1)


def _dice_term(maps: _Maps, smooth, squared: bool, class_weights, ignore_background) -> jax.Array:
    """MONAI's per-example Dice loss mean_c w_c (1 - (2I + s) / (P + T + s))."""
    _checks.check_nonnegative("smooth", smooth)
    # (2I + s) / (P + T + s) is the Tversky index at alpha = beta = 1/2 with smoothing s / 2.
    loss = 1.0 - _tversky_index(maps, 0.5, 0.5, 0.5 * smooth, squared)
    return _weighted_class_mean(loss, class_weights, maps.num_classes, ignore_background)


def _softmax_focal_alpha(alpha, num_classes: int, drop: bool) -> jax.Array | None:
    """MONAI's softmax focal ``alpha``: a scalar is ``[1 - a, a, ..., a]``; ``[C]`` as given."""
    if alpha is None:
        return None
    if jnp.ndim(alpha) == 0:
        if drop:
            raise ValueError(
                "a scalar `alpha` weighs the background class by 1 - alpha, so it is ambiguous "
                "with `ignore_background=True` in the softmax mode; pass [C] weights instead."
            )
        _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
        a = jnp.asarray(alpha)
        return jnp.concatenate([(1 - a)[None], jnp.broadcast_to(a, (num_classes - 1,))])
    _checks.check_nonnegative("alpha", alpha)
    a = _checks.as_float("alpha", alpha)
    if a.shape != (num_classes,):
        raise ValueError(f"`alpha` must be a scalar or have shape ({num_classes},); got {a.shape}.")
    return a[1:] if drop else a


def _spatial_mean(values: jax.Array, weights: jax.Array | None, axes: tuple[int, ...]) -> jax.Array:
    """The (weighted) mean of `values` over `axes`, per remaining position, via `weighted_reduce`.

    With `weights`, `values` are already weighted and the mean divides by the summed weights
    (0 where they sum to 0).
    """
    kept = tuple(a for a in range(values.ndim) if a not in axes)
    shape = tuple(values.shape[a] for a in kept)

    def flat(x):
        return jnp.transpose(x, kept + tuple(axes)).reshape(math.prod(shape), -1)

    def mean(v, w):
        return weighted_reduce(v, w, None, "mean")

    if weights is None:
        out = jax.vmap(lambda v: mean(v, None))(flat(values))
    else:
        out = jax.vmap(mean)(flat(values), flat(weights))
    return out.reshape(shape)
