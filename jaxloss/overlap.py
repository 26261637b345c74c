"""Overlap losses: the Dice coefficient, generalized Dice, Tversky, focal Tversky and IoU.

Maps are channel-last: ``predictions`` are ``[batch..., spatial..., C]`` logits (or
probabilities with ``activation=None``); ``targets`` are one-hot/soft maps in ``[0, 1]`` of the
same shape, or integer labels ``[batch..., spatial...]`` (one-hot encoded to ``C`` classes;
with ``C == 1`` they are the binary mask). ``activation`` is ``"softmax"`` over the classes
(the default; a single channel goes through the sigmoid, the two-class softmax of
``[0, x]``), ``"sigmoid"`` (independent channels, multi-label) or None (probabilities).
``axis`` names the spatial axes summed over; by default (``None``, optax's convention) every
axis but the first and the last, so ``[B, H, W, C]`` sums over ``H, W``. Give ``axis``
explicitly (e.g. ``(-3, -2)``) for several leading batch axes.

Per class :math:`c` and example, summed over the spatial axes: :math:`I_c = \\sum p t`,
:math:`P_c = \\sum p`, :math:`T_c = \\sum t` (:math:`\\sum p^2` and :math:`\\sum t^2` with
``squared=True``, the V-Net form). One smoothing :math:`s` (``smooth``, default ``1e-5``,
MONAI's ``smooth_nr = smooth_dr``) enters numerator and denominator of each index
(CONTRIBUTING.md, section 8):

.. math::
    D_c = \\frac{2 I_c + s}{P_c + T_c + s},\\quad
    TI_c = \\frac{I_c + s}{I_c + \\alpha FP_c + \\beta FN_c + s},\\quad
    J_c = \\frac{I_c + s}{P_c + T_c - I_c + s}.

So ``tversky_loss(alpha=beta=0.5, smooth=s) == 1 - dice_coefficient(smooth=2 * s)``,
``tversky_loss(alpha=beta=1, smooth=s) == iou_loss(smooth=s)`` and, at ``smooth=0``,
:math:`J_c = D_c / (2 - D_c)`. optax's own Dice names (:mod:`jaxloss.dice`) keep optax's
``smooth=1`` in the Tversky form.

Every loss returns per-example values (``reduction="none"``) and takes ``where``, ``weights``
and ``axis_name`` (CONTRIBUTING.md, sections 4 and 5). ``batch_dice`` sums over the batch
axes too (one value; with ``axis_name`` over the global batch). Integer labels outside
``[0, C)`` are pixels of no class (a zero one-hot row), targets and probabilities are used as
given; all three raise in checked mode.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics, _overlap

__all__ = [
    "dice_coefficient",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "iou_loss",
    "tversky_loss",
]

WEIGHT_TYPES = ("square", "simple", "uniform")


def dice_coefficient(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    smooth: ArrayLike = 1e-5,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Soft Dice coefficient, averaged over classes.

    .. math::
        D_c = \frac{2 I_c + s}{P_c + T_c + s},\qquad D = \frac{\sum_c w_c D_c}{\sum_c w_c}

    ``squared=True`` uses :math:`\sum p^2, \sum t^2` (V-Net, Milletari et al. 2016). Without
    ``class_weights``, ``1 - dice_coefficient(x, y, smooth=s)`` is MONAI's ``DiceLoss`` with
    ``smooth_nr = smooth_dr = s``, ``1 - tversky_loss(x, y, alpha=0.5, beta=0.5,
    smooth=s / 2)`` and optax's ``dice_loss(x, y, smooth=s / 2)``.

    Edge cases: a class with empty prediction and empty target has :math:`D_c = 1` (with the
    default smoothing, and by definition when the denominator is 0, e.g. ``smooth=0``). If every
    class weight is 0, :math:`D = 1`. Probabilities are not checked to sum to 1.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``), floating.
      targets: one-hot/soft targets of the shape of ``predictions`` (or without its channel
        axis when ``C == 1``), or integer labels ``[batch..., spatial...]``.
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      smooth: smoothing :math:`s \ge 0` added to numerator and denominator (default 1e-5).
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``) before averaging.
      axis: spatial axes summed over (static); default all axes but the first and last.
      squared: squared sums in the denominator (V-Net).
      batch_dice: also sum over the batch axes before dividing (one value per batch).
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example coefficients ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or
      the ``(sum, count)`` pair.

    References:
      Milletari et al., "V-Net", 3DV 2016; MONAI ``DiceLoss`` (``1 -`` this coefficient).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import dice_coefficient
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])  # [batch=1, pixels=2, classes=2]
      >>> t = jnp.array([[0, 1]])  # integer labels
      >>> print(f"{float(dice_coefficient(p, t, activation=None, smooth=0.0)[0]):.4f}")
      0.8496
    """
    _checks.check_reduction(reduction)
    maps = _overlap.prepare(
        predictions, targets, activation, axis, batch_dice, where=where, axis_name=axis_name
    )
    index = _overlap.dice_index(maps, smooth, squared)
    w = _overlap.class_weight_vector(class_weights, maps.num_classes, index.dtype)
    index, w = _overlap.drop_background(index, w, ignore_background)
    if w is None:
        per_example = jnp.mean(index, axis=-1)
    else:
        w = jnp.broadcast_to(w, index.shape)
        per_example = _numerics.safe_divide(jnp.sum(w * index, axis=-1), jnp.sum(w, axis=-1))
    return _overlap.finish(
        per_example, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    weight_type: str = "square",
    smooth: ArrayLike = 1e-5,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
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
        ``activation=None``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      weight_type: ``"square"``, ``"simple"`` or ``"uniform"`` (static).
      smooth: :math:`s \ge 0` in numerator and denominator, MONAI's ``smooth_nr =
        smooth_dr`` (default 1e-5).
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``) before computing the weights.
      axis: spatial axes summed over (static); default all axes but the first and last.
      batch_dice: also sum over the batch axes (MONAI ``batch=True``).
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

    References:
      Sudre et al., "Generalised Dice overlap as a deep learning loss function for highly
      unbalanced segmentations", DLMIA 2017; MONAI ``GeneralizedDiceLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import generalized_dice_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8], [0.7, 0.3]]])
      >>> labels = jnp.array([[0, 1, 0]])
      >>> print(f"{float(generalized_dice_loss(p, labels, activation=None)[0]):.4f}")
      0.2381
    """
    _checks.check_choice("weight_type", weight_type, WEIGHT_TYPES)
    _checks.check_nonnegative("smooth", smooth)
    _checks.check_reduction(reduction)
    maps = _overlap.prepare(
        predictions, targets, activation, axis, batch_dice, where=where, axis_name=axis_name
    )
    sums = _overlap.class_sums(maps, squared=False)
    inter, pred_sum, target_sum = (
        _overlap.drop_background(s, None, ignore_background)[0] for s in sums
    )
    if weight_type == "uniform":
        w = jnp.ones_like(target_sum)
    else:
        present = target_sum > 0
        safe = jnp.where(present, target_sum, 1.0)
        raw = 1.0 / (safe * safe if weight_type == "square" else safe)
        # MONAI replaces every infinite weight (an absent class, or an overflow) by the
        # largest finite weight.
        bad = ~present | jnp.isinf(raw)
        finite = jnp.where(bad, 0.0, raw)
        w = jnp.where(bad, jnp.max(finite, axis=-1, keepdims=True), finite)
    numerator = 2.0 * jnp.sum(w * inter, axis=-1) + smooth
    denominator = jnp.sum(w * (pred_sum + target_sum), axis=-1) + smooth
    loss = 1.0 - _numerics.safe_divide(numerator, denominator)
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Tversky loss (Salehi et al. 2017), MONAI ``TverskyLoss`` semantics.

    .. math::
        TI_c = \frac{TP_c + s}{TP_c + \alpha FP_c + \beta FN_c + s},\quad
        TP_c = \sum p t,\ FP_c = \sum p (1 - t),\ FN_c = \sum (1 - p) t,\quad
        \ell = \operatorname{mean}_c\, w_c (1 - TI_c)

    ``alpha`` weighs false positives and ``beta`` false negatives (MONAI's convention).
    ``alpha = beta = 0.5`` is the Dice loss with smoothing :math:`2s`
    (``1 - dice_coefficient(smooth=2 * s)``); ``alpha = beta = 1`` is ``iou_loss`` with the
    same ``smooth``.

    Edge cases: empty prediction and empty target give 0 (by definition when the
    denominator is 0, e.g. ``smooth=0``).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      alpha: weight of false positives :math:`\ge 0`.
      beta: weight of false negatives :math:`\ge 0`.
      smooth: :math:`s \ge 0` in numerator and denominator, MONAI's ``smooth_nr =
        smooth_dr`` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      batch_dice: also sum over the batch axes (MONAI ``batch=True``).
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

    References:
      Salehi et al., "Tversky loss function for image segmentation using 3D fully
      convolutional deep networks", MLMI 2017; MONAI ``TverskyLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import tversky_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])
      >>> labels = jnp.array([[0, 1]])
      >>> out = tversky_loss(p, labels, alpha=0.3, beta=0.7, activation=None)
      >>> print(f"{float(out[0]):.4f}")
      0.1507
    """
    _checks.check_reduction(reduction)
    maps = _overlap.prepare(
        predictions, targets, activation, axis, batch_dice, where=where, axis_name=axis_name
    )
    loss = 1.0 - _overlap.tversky_index(maps, alpha, beta, smooth, squared=False)
    per_example = _overlap.weighted_class_mean(
        loss, class_weights, maps.num_classes, ignore_background
    )
    return _overlap.finish(
        per_example, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def focal_tversky_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike = 0.3,
    beta: ArrayLike = 0.7,
    gamma: ArrayLike = 0.75,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
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
    average, like the rest of this module. ``gamma=1`` is :func:`tversky_loss`.

    Edge cases: at :math:`TI_c = 1` (perfect or empty-and-empty) the term is 0 and its
    gradient is taken as 0 (the derivative of :math:`x^{\gamma}` is infinite at 0 for
    :math:`\gamma < 1`).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      alpha: weight of false positives :math:`\ge 0`.
      beta: weight of false negatives :math:`\ge 0`.
      gamma: exponent :math:`> 0` applied to :math:`1 - TI_c`.
      smooth: :math:`s \ge 0` in numerator and denominator of :math:`TI_c` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      batch_dice: also sum over the batch axes before dividing.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

    References:
      Abraham & Khan, "A Novel Focal Tversky loss function with improved Attention U-Net for
      lesion segmentation", ISBI 2019; Yeung et al., "Unified Focal loss", 2022.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import focal_tversky_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])
      >>> labels = jnp.array([[0, 1]])
      >>> out = focal_tversky_loss(p, labels, activation=None)
      >>> print(f"{float(out[0]):.4f}")
      0.2413
    """
    _checks.check_positive("gamma", gamma)
    _checks.check_reduction(reduction)
    maps = _overlap.prepare(
        predictions, targets, activation, axis, batch_dice, where=where, axis_name=axis_name
    )
    base = 1.0 - _overlap.tversky_index(maps, alpha, beta, smooth, squared=False)
    positive = base > 0
    loss = jnp.where(positive, jnp.where(positive, base, 1.0) ** gamma, 0.0)
    per_example = _overlap.weighted_class_mean(
        loss, class_weights, maps.num_classes, ignore_background
    )
    return _overlap.finish(
        per_example, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def iou_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1e-5,
    class_weights: ArrayLike | None = None,
    activation: str | None = "softmax",
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Soft Jaccard (IoU) loss (Rahman & Wang 2016).

    .. math::
        J_c = \frac{I_c + s}{P_c + T_c - I_c + s},\qquad
        \ell = \operatorname{mean}_c\, w_c (1 - J_c)

    ``squared=True`` uses :math:`\sum p^2 + \sum t^2 - I_c` as the union. MONAI's
    ``DiceLoss(jaccard=True)`` computes :math:`(2I_c + s)/(2(P_c + T_c - I_c) + s)`, which is
    this loss with smoothing :math:`s/2`. At ``smooth=0``, :math:`J_c = D_c / (2 - D_c)` with
    :math:`D_c` of :func:`dice_coefficient`.

    Edge cases: empty prediction and empty target give 0 (by definition when the union is 0,
    e.g. ``smooth=0``).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``activation=None``).
      targets: one-hot/soft targets of the same shape, or integer labels
        ``[batch..., spatial...]``.
      smooth: :math:`s \ge 0` in numerator and denominator (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights :math:`w_c`.
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` or None (static).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      squared: squared sums in the union.
      batch_dice: also sum over the batch axes before dividing.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

    References:
      Rahman & Wang, "Optimizing Intersection-Over-Union in Deep Neural Networks for Image
      Segmentation", ISVC 2016; MONAI ``DiceLoss(jaccard=True)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import iou_loss
      >>> p = jnp.array([[[0.9, 0.1], [0.2, 0.8]]])
      >>> labels = jnp.array([[0, 1]])
      >>> print(f"{float(iou_loss(p, labels, activation=None)[0]):.4f}")
      0.2614
    """
    _checks.check_nonnegative("smooth", smooth)
    _checks.check_reduction(reduction)
    maps = _overlap.prepare(
        predictions, targets, activation, axis, batch_dice, where=where, axis_name=axis_name
    )
    inter, pred_sum, target_sum = _overlap.class_sums(maps, squared)
    jaccard = _numerics.safe_divide(inter + smooth, pred_sum + target_sum - inter + smooth)
    per_example = _overlap.weighted_class_mean(
        1.0 - jaccard, class_weights, maps.num_classes, ignore_background
    )
    return _overlap.finish(
        per_example, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )
