"""Compound losses: the Dice loss plus a pixel loss (BCE, cross-entropy, focal), per term.

Each loss is ``lambda_dice * dice + lambda_<pixel> * pixel`` per example, with the Dice term
:math:`\\operatorname{mean}_c w_c (1 - D_c)` and :math:`D_c = (2 I_c + s) / (P_c + T_c + s)`,
the family's one smoothing (``smooth``, default ``1e-5``, MONAI's ``smooth_nr = smooth_dr``;
see :mod:`jaxloss.overlap`). So with the pixel weight 0 each loss is
``1 - dice_coefficient(...)`` with the same ``smooth`` and activation, and with
``lambda_dice=0`` its pixel term: the mean over the spatial axes (and channels) of
:func:`jaxloss.sigmoid_binary_cross_entropy`, the softmax cross-entropy or the focal loss.
Maps, ``axis``, ``batch_dice`` and the data checks are those of the family. Every loss takes
``reduction`` (default ``"none"``), ``where``, ``weights`` and ``axis_name`` (CONTRIBUTING.md,
sections 4 and 5); with ``batch_dice`` and ``axis_name`` both terms cover the global batch.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _overlap
from jaxloss.binary import sigmoid_binary_cross_entropy, sigmoid_focal_loss
from jaxloss.classification import (
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    softmax_focal_loss,
)
from jaxloss.reductions import weighted_reduce

__all__ = ["dice_bce_loss", "dice_cross_entropy_loss", "dice_focal_loss"]


@_dispatch.compiled_when_eager
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
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
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
    ``ignore_background`` and ``class_weights`` act on the Dice term only. With
    ``lambda_bce=0`` this is ``1 - dice_coefficient(logits, labels, activation="sigmoid")``.

    Edge cases: all values and gradients are finite for finite logits; a perfect, confident
    prediction gives a loss near 0.

    Args:
      logits: ``[batch..., spatial..., C]`` logits, floating.
      labels: binary/soft targets in ``[0, 1]`` of the same shape (or without the channel
        axis when ``C == 1``), or integer labels ``[batch..., spatial...]`` (one-hot encoded;
        the mask itself when ``C == 1``).
      lambda_dice: weight of the Dice term, :math:`\ge 0`.
      lambda_bce: weight of the BCE term, :math:`\ge 0`.
      smooth: :math:`s \ge 0` in numerator and denominator of the Dice term, MONAI's
        ``smooth_nr = smooth_dr`` (default 1e-5).
      pos_weight: optional weight of the positive BCE term, broadcastable to ``logits``
        (e.g. ``[C]``).
      class_weights: optional non-negative ``[C]`` weights of the per-class Dice losses.
      ignore_background: drop class 0 (when ``C > 1``) from the Dice term.
      axis: spatial axes (static); default all axes but the first and last.
      squared: squared sums in the Dice denominator (V-Net).
      batch_dice: also sum (Dice) and average (BCE) over the batch axes.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

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
    maps = _overlap.prepare(
        logits,
        labels,
        "sigmoid",
        axis,
        batch_dice,
        where=where,
        axis_name=axis_name,
        name="logits",
        target="labels",
    )
    dice = _dice_term(maps, smooth, squared, class_weights, ignore_background)
    pw = None if pos_weight is None else _checks.as_float("pos_weight", pos_weight)
    bce = sigmoid_binary_cross_entropy(maps.logits, maps.targets, pos_weight=pw)
    bce = _pixel_mean(bce, None, (*maps.axes, maps.logits.ndim - 1), maps.sum_axis_name)
    loss = lambda_dice * dice + lambda_bce * bce
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


@_dispatch.compiled_when_eager
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
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
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
    With ``lambda_ce=0`` (and no ``class_weights``) this is ``1 - dice_coefficient(logits,
    labels)``.

    Edge cases: values and gradients are finite for finite logits; pixels whose weights sum
    to 0 give a cross-entropy term of 0. Integer labels outside ``[0, C)`` (checked mode
    raises) are pixels of no class: they add nothing to the Dice sums and are left out of the
    cross-entropy mean, as torch's ``ignore_index``.

    Args:
      logits: ``[batch..., spatial..., C]`` logits, floating.
      labels: integer labels ``[batch..., spatial...]`` or one-hot/soft labels in ``[0, 1]``
        of the shape of ``logits``.
      lambda_dice: weight of the Dice term, :math:`\ge 0`.
      lambda_ce: weight of the cross-entropy term, :math:`\ge 0`.
      smooth: :math:`s \ge 0` in numerator and denominator of the Dice term, MONAI's
        ``smooth_nr = smooth_dr`` (default 1e-5).
      class_weights: optional non-negative ``[C]`` weights.
      label_smoothing: cross-entropy label smoothing in ``[0, 1]`` (unused when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``) from the Dice term.
      axis: spatial axes (static); default all axes but the first and last.
      squared: squared sums in the Dice denominator (V-Net).
      batch_dice: also sum (Dice) and average (cross-entropy) over the batch axes.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

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
    maps = _overlap.prepare(
        logits,
        labels,
        "softmax",
        axis,
        batch_dice,
        where=where,
        axis_name=axis_name,
        name="logits",
        target="labels",
    )
    dice = _dice_term(maps, smooth, squared, class_weights, ignore_background)
    w = _overlap.class_weight_vector(class_weights, maps.num_classes, maps.logits.dtype)
    pixel_weights = None
    if maps.num_classes == 1:
        _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
        ce = sigmoid_binary_cross_entropy(maps.logits, maps.targets)[..., 0]
        if w is not None:
            ce = w[0] * ce
            pixel_weights = jnp.broadcast_to(w[0], ce.shape)
    elif maps.labels is not None:
        # Labels outside [0, C) are ignored (torch's ignore_index): out of both sums.
        valid = (maps.labels >= 0) & (maps.labels < maps.num_classes)
        safe = jnp.where(valid, maps.labels, 0)
        ce = softmax_cross_entropy_with_integer_labels(
            maps.logits, safe, label_smoothing=label_smoothing, class_weights=w
        )
        ce = jnp.where(valid, ce, 0.0)
        pixel = jnp.ones(ce.shape, ce.dtype) if w is None else w[safe]
        pixel_weights = jnp.where(valid, pixel, 0.0)
    else:
        ce = softmax_cross_entropy(
            maps.logits, maps.targets, label_smoothing=label_smoothing, class_weights=w
        )
        if w is not None:
            pixel_weights = jnp.sum(maps.targets * jnp.broadcast_to(w, maps.targets.shape), -1)
    ce = _pixel_mean(ce, pixel_weights, maps.axes, maps.sum_axis_name)
    loss = lambda_dice * dice + lambda_ce * ce
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


@_dispatch.compiled_when_eager
def dice_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    lambda_dice: ArrayLike = 1.0,
    lambda_focal: ArrayLike = 1.0,
    gamma: ArrayLike = 2.0,
    alpha: ArrayLike | None = None,
    smooth: ArrayLike = 1e-5,
    activation: str = "softmax",
    class_weights: ArrayLike | None = None,
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Dice loss plus focal loss, weighted per term (MONAI ``DiceLoss`` + ``FocalLoss``).

    .. math::
        \ell = \lambda_{dice}\, \operatorname{mean}_c w_c
        \Big(1 - \frac{2 I_c + s}{P_c + T_c + s}\Big)
        + \lambda_{focal}\, \operatorname{mean}_{i, c} \mathrm{FL}_{i,c}

    Two modes, each equal to MONAI's two components on the same options:

    - ``activation="sigmoid"`` (or ``C == 1``): every channel is a binary map,
      :math:`p = \sigma(x)` in the Dice term and :math:`\mathrm{FL}` is
      :func:`jaxloss.sigmoid_focal_loss` (``alpha`` a scalar in ``[0, 1]``). This is MONAI
      1.6's ``DiceFocalLoss(sigmoid=True)``.
    - ``activation="softmax"`` (``C > 1``, the default): :math:`p = \mathrm{softmax}(x)` over
      all classes in the Dice term (MONAI ``DiceLoss(softmax=True)``) and the focal term is
      MONAI ``FocalLoss(use_softmax=True)``: :math:`\mathrm{FL}_{i,c} = -\alpha_c t_{i,c}
      (1 - q_{i,c})^\gamma \log q_{i,c}` with :math:`q = \mathrm{softmax}` over the **kept**
      classes (class 0 is dropped *before* this softmax when ``ignore_background``), averaged
      over pixels and kept classes. A scalar ``alpha`` means :math:`\alpha_0 = 1 - \alpha`
      and :math:`\alpha_c = \alpha` for the other classes (MONAI); with
      ``ignore_background`` a scalar is ambiguous and raises (MONAI ignores it with a
      warning); a ``[C]`` vector loses its class-0 entry. (MONAI 1.6's ``DiceFocalLoss``
      itself always uses the sigmoid focal term, also with ``softmax=True``; this mode is the
      softmax composition its docstring describes.)

    ``ignore_background`` drops class 0 from both terms; ``class_weights`` weigh the Dice
    term. With ``lambda_focal=0`` (and no ``class_weights``) this is ``1 -
    dice_coefficient(logits, labels, activation=activation)``.

    Edge cases: values and gradients are finite for finite logits, also for
    :math:`0 < \gamma < 1` (see the focal losses) and ``smooth=0``.

    Args:
      logits: ``[batch..., spatial..., C]`` logits, floating.
      labels: integer labels ``[batch..., spatial...]`` or one-hot/soft labels in ``[0, 1]``
        of the shape of ``logits`` (without the channel axis when ``C == 1``).
      lambda_dice: weight of the Dice term, :math:`\ge 0`.
      lambda_focal: weight of the focal term, :math:`\ge 0`.
      gamma: focal exponent :math:`\ge 0`.
      alpha: optional focal class balance: a scalar in ``[0, 1]`` (both modes) or ``[C]``
        weights (softmax mode).
      smooth: :math:`s \ge 0` in numerator and denominator of the Dice term, MONAI's
        ``smooth_nr = smooth_dr`` (default 1e-5).
      activation: ``"softmax"`` or ``"sigmoid"`` (independent channels, multi-label);
        static. The focal term needs logits, so None is refused.
      class_weights: optional non-negative ``[C]`` weights of the per-class Dice losses.
      ignore_background: drop class 0 (when ``C > 1``) from both terms.
      axis: spatial axes (static); default all axes but the first and last.
      squared: squared sums in the Dice denominator (V-Net).
      batch_dice: also sum (Dice) and average (focal) over the batch axes.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

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
    _checks.check_choice("activation", activation, ("softmax", "sigmoid"))
    maps = _overlap.prepare(
        logits,
        labels,
        activation,
        axis,
        batch_dice,
        where=where,
        axis_name=axis_name,
        name="logits",
        target="labels",
    )
    dice = _dice_term(maps, smooth, squared, class_weights, ignore_background)
    drop = ignore_background and maps.num_classes > 1
    logits_kept, targets_kept = maps.logits, maps.targets
    if drop:
        logits_kept, targets_kept = logits_kept[..., 1:], targets_kept[..., 1:]
    if activation == "sigmoid" or maps.num_classes == 1:
        focal = sigmoid_focal_loss(logits_kept, targets_kept, alpha=alpha, gamma=gamma)
        axes = (*maps.axes, maps.logits.ndim - 1)
        focal = _pixel_mean(focal, None, axes, maps.sum_axis_name)
    else:
        alphas = _softmax_focal_alpha(alpha, maps.num_classes, drop)
        focal = softmax_focal_loss(logits_kept, targets_kept, alpha=alphas, gamma=gamma)
        focal = _pixel_mean(focal, None, maps.axes, maps.sum_axis_name) / logits_kept.shape[-1]
    loss = lambda_dice * dice + lambda_focal * focal
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _dice_term(
    maps: _overlap.Maps, smooth, squared: bool, class_weights, ignore_background: bool
) -> jax.Array:
    """MONAI's per-example Dice loss ``mean_c w_c (1 - (2I + s) / (P + T + s))``."""
    loss = 1.0 - _overlap.dice_index(maps, smooth, squared)
    return _overlap.weighted_class_mean(loss, class_weights, maps.num_classes, ignore_background)


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


def _pixel_mean(
    values: jax.Array,
    weights: jax.Array | None,
    axes: tuple[int, ...],
    axis_name: Hashable | None,
) -> jax.Array:
    """The (weighted) mean of `values` over `axes`, per remaining position (`weighted_reduce`).

    With `weights`, `values` are already weighted and the mean divides by the summed weights
    (0 where they sum to 0). `axis_name` (``batch_dice`` inside ``shard_map``) makes the mean,
    then over every axis, global.
    """
    kept = tuple(a for a in range(values.ndim) if a not in axes)
    if not kept:
        return weighted_reduce(values, weights, None, "mean", axis_name)
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
