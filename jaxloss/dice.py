"""optax's Dice losses: `dice_loss`, `binary_dice_loss`, `multiclass_generalized_dice_loss`.

Drop-in replacements for the functions of ``optax.losses`` with the same names: optax's
signatures, defaults (``smooth=1.0``, ``apply_softmax``/``apply_sigmoid``) and values, and
optax's smoothing,

.. math::
    1 - \\frac{I_c + s}{I_c + \\alpha (P_c - I_c) + \\beta (T_c - I_c) + s}
    \\;=\\; 1 - \\frac{2 I_c + 2s}{P_c + T_c + 2s} \\quad (\\alpha = \\beta = 1/2),

which is the Dice loss of the rest of the family with smoothing :math:`2s`:
``dice_loss(x, y, smooth=s) == 1 - dice_coefficient(x, y, smooth=2 * s)`` per example. The
maps, the sums :math:`I_c, P_c, T_c`, ``axis`` and the data checks are those of the whole
family (see :mod:`jaxloss.overlap`). Added keyword-only options: ``squared``, ``batch_dice``,
``axis`` (where optax lacks it), integer labels, ``where``/``weights`` (and ``axis_name``
where the function reduces over examples).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _overlap
from jaxloss.reductions import reduce_loss

__all__ = ["binary_dice_loss", "dice_loss", "multiclass_generalized_dice_loss"]

# optax's constant in `multiclass_generalized_dice_loss`: weights 1 / (frequency^2 + 1e-7).
_OPTAX_GDL_EPSILON = 1e-7


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
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
) -> jax.Array:
    r"""Soft Dice loss, optax's ``dice_loss`` (signature, defaults and values).

    .. math::
        \ell_c = w_c \Big(1 - \frac{I_c + s}{I_c + \alpha (P_c - I_c) + \beta (T_c - I_c) + s}
        \Big)

    then reduced over the classes. Unlike the rest of jaxloss, ``reduction`` acts on the
    **class axis**, as in optax (CONTRIBUTING.md, section 4): ``"mean"`` (the default) gives
    the per-example loss ``[batch...]``, ``"sum"`` the per-example sum over classes and
    ``"none"`` the per-class losses ``[batch..., C]``; ``"sum_and_count"`` is refused. To
    reduce over examples (a mean, a sum, micro-batch pairs, ``axis_name``), pass the result to
    :func:`jaxloss.reduce`. ``where`` and ``weights`` are per-example (``[batch...]``) and
    multiply the result as in ``jaxloss.reduce(..., reduction="none")``: masked examples are
    0 (per class, with ``"none"``).

    With :math:`\alpha = \beta = 1/2` this is the Dice loss of :func:`dice_coefficient` with
    smoothing :math:`2s`: ``dice_loss(x, y, smooth=s) == 1 - dice_coefficient(x, y,
    smooth=2 * s)`` (no ``class_weights``).

    Differences from optax 0.2.8: with ``apply_softmax=False`` optax checks that the
    probabilities sum to 1 with a Python ``if`` on array values, which raises
    ``TracerBoolConversionError`` under ``jax.jit`` (and rejects every single-channel
    probability map); this function does not (probabilities outside ``[0, 1]`` raise in
    checked mode), so it works under ``jit``. ``class_weights`` must have length ``C``.

    Edge cases: empty prediction and empty target give :math:`\ell_c = 0` with the default
    ``smooth=1`` (and by definition when the denominator is 0). Integer labels outside
    ``[0, C)`` are pixels of no class (a zero one-hot row; checked mode raises).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if
        ``apply_softmax=False``); ``C == 1`` is binary (sigmoid). Binary maps may also omit
        the channel axis when ``targets`` has it (optax).
      targets: one-hot/soft targets in ``[0, 1]`` of the shape of ``predictions`` (binary
        maps may omit the channel axis), or integer labels ``[batch..., spatial...]``.
      class_weights: optional non-negative ``[C]`` weights multiplying the per-class losses.
      smooth: smoothing :math:`s \ge 0` added to the numerator and the denominator above.
      alpha: weight of false positives :math:`\ge 0` (0.5: Dice).
      beta: weight of false negatives :math:`\ge 0` (0.5: Dice).
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      reduction: over the classes: ``"mean"`` (default), ``"sum"`` or ``"none"``.
      ignore_background: drop class 0 (when ``C > 1``) after weighting.
      axis: spatial axes summed over (static); default all axes but the first and last.
      squared: squared sums :math:`\sum p^2, \sum t^2` (V-Net).
      batch_dice: also sum over the batch axes before dividing (one value).
      where: optional boolean example mask, broadcastable to ``[batch...]``.
      weights: optional non-negative per-example weights, broadcastable to ``[batch...]``.

    Returns:
      ``[batch...]`` for ``"mean"``/``"sum"``, ``[batch..., C]`` (``C - 1`` classes with
      ``ignore_background``) for ``"none"``; the batch axes dropped with ``batch_dice``.

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
    _checks.check_choice("reduction", reduction, ("mean", "sum", "none"))
    _overlap.check_flag("apply_softmax", apply_softmax)
    activation = "softmax" if apply_softmax else None
    maps = _overlap.prepare(predictions, targets, activation, axis, batch_dice, where=where)
    loss = 1.0 - _overlap.tversky_index(maps, alpha, beta, smooth, squared)
    w = _overlap.class_weight_vector(class_weights, maps.num_classes, loss.dtype)
    if w is not None:
        loss = loss * jnp.broadcast_to(w, loss.shape)
    loss, _ = _overlap.drop_background(loss, None, ignore_background)
    if reduction == "mean":
        loss = jnp.mean(loss, axis=-1)
    elif reduction == "sum":
        loss = jnp.sum(loss, axis=-1)
    if where is None and weights is None:
        return loss.astype(maps.out_dtype)
    shape = maps.example_shape
    if where is not None:
        where = _checks.broadcast_to("where", _checks.as_bool("where", where), shape)
    if weights is not None:
        weights = _checks.broadcast_to("weights", _checks.as_float("weights", weights), shape)
    if reduction == "none":  # per class: the example's mask and weight on each class
        where = None if where is None else jnp.broadcast_to(where[..., None], loss.shape)
        weights = None if weights is None else jnp.broadcast_to(weights[..., None], loss.shape)
    return reduce_loss(loss, maps.out_dtype, reduction="none", where=where, weights=weights)


def binary_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_sigmoid: bool = True,
    axis: _checks.Axis = None,
    squared: bool = False,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Binary soft Dice loss, optax's ``binary_dice_loss``.

    .. math::
        \ell = 1 - \frac{2 I + 2s}{P + T + 2s},\qquad p = \sigma(x) \text{ if apply\_sigmoid}

    (optax's smoothing: the family's Dice loss with smoothing :math:`2s`). Inputs
    ``[batch..., spatial...]`` whose last axis is not 1 get a channel axis appended (optax's
    rule). ``reduction`` is jaxloss's, over examples, with ``where``, ``weights`` and
    ``axis_name`` (CONTRIBUTING.md, sections 4 and 5); the default ``"none"`` returns optax's
    per-example values. Unlike optax 0.2.8, ``apply_sigmoid=False`` works (optax requires the
    single channel to "sum to 1", so it rejects any probability map other than all ones, and
    fails under ``jit``).

    Edge cases: empty prediction and empty target give 0 with the default ``smooth=1`` (and
    by definition when the denominator is 0).

    Args:
      predictions: ``[batch..., spatial...]`` or ``[batch..., spatial..., 1]`` logits
        (probabilities in ``[0, 1]`` if ``apply_sigmoid=False``).
      targets: binary targets in ``[0, 1]`` of the same shape (or without the channel axis);
        integer or boolean masks are accepted.
      smooth: smoothing :math:`s \ge 0`, in the numerator and the denominator as above.
      apply_sigmoid: apply the sigmoid to ``predictions``.
      axis: spatial axes of the channel-last (``[..., 1]``) maps (static); default all but
        the first and the last.
      squared: squared sums in the denominator (V-Net).
      batch_dice: also sum over the batch axes before dividing (one value; with
        ``axis_name`` the sums run over the global batch).
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to ``[batch...]``.
      weights: optional non-negative per-example weights, broadcastable to ``[batch...]``.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

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
    _overlap.check_flag("apply_sigmoid", apply_sigmoid)
    p, t = jnp.asarray(predictions), jnp.asarray(targets)
    if p.ndim == t.ndim and p.ndim > 0 and p.shape[-1] != 1:
        p, t = p[..., None], t[..., None]
    activation = "sigmoid" if apply_sigmoid else None
    maps = _overlap.prepare(p, t, activation, axis, batch_dice, where=where, axis_name=axis_name)
    loss = 1.0 - _overlap.tversky_index(maps, 0.5, 0.5, smooth, squared)[..., 0]
    return _overlap.finish(
        loss, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def multiclass_generalized_dice_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
    axis: _checks.Axis = None,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""optax's ``multiclass_generalized_dice_loss``: Dice loss with inverse-frequency weights.

    .. math::
        f_c = \sum_{b, i} t_{b,i,c},\quad
        w_c = C \frac{1/(f_c^2 + 10^{-7})}{\sum_k 1/(f_k^2 + 10^{-7})},\quad
        \ell_b = \operatorname{mean}_c\, w_c\,
        \Big(1 - \frac{I_{b,c} + s}{(P_{b,c} + T_{b,c})/2 + s}\Big)

    The frequencies :math:`f_c` are counted over the whole batch (every axis but the class
    axis; with ``axis_name`` over the global batch, so each device's values equal the
    single-device ones), so an example's value depends on the rest of the batch. ``where``
    removes examples: a masked example counts in no frequency and its value is 0 (it
    contributes nothing, CONTRIBUTING.md section 4, even when not finite); ``weights`` weigh
    the per-example values (as :func:`jaxloss.reduce`) and do not change the frequencies.
    The default ``reduction="mean"`` returns optax's scalar (the mean over examples and
    classes, CONTRIBUTING.md section 4); ``"none"`` gives the per-example values
    ``[batch...]``. With ``ignore_background`` the weights are computed
    over all ``C`` classes and class 0 is dropped afterwards (optax). For the weighting of
    Sudre et al. as MONAI implements it, see :func:`generalized_dice_loss`.

    Edge cases: an absent class gets weight :math:`\approx 10^7 / \ldots` (finite); empty
    prediction and empty target give 0.

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities in ``[0, 1]`` if
        ``apply_softmax=False``).
      targets: one-hot targets of the same shape, or integer labels ``[batch..., spatial...]``.
      smooth: smoothing :math:`s \ge 0` (optax's form above).
      apply_softmax: apply softmax over the classes (sigmoid when ``C == 1``).
      ignore_background: drop class 0 (when ``C > 1``).
      axis: spatial axes summed over (static); default all axes but the first and last.
      reduction: ``"mean"`` (default, optax's value), ``"sum"``, ``"none"`` or
        ``"sum_and_count"`` over examples.
      where: optional boolean example mask, broadcastable to ``[batch...]``.
      weights: optional non-negative per-example weights, broadcastable to ``[batch...]``.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``.

    Returns:
      A scalar (or the ``(sum, count)`` pair), or per-example losses ``[batch...]`` for
      ``"none"``.

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
    _overlap.check_flag("apply_softmax", apply_softmax)
    activation = "softmax" if apply_softmax else None
    maps = _overlap.prepare(predictions, targets, activation, axis, False, where=where)
    ct = maps.probs.dtype
    frequencies = jnp.sum(maps.targets, axis=tuple(range(maps.targets.ndim - 1)))
    if axis_name is not None:
        frequencies = jax.lax.psum(frequencies, axis_name)
    inverse = 1.0 / (frequencies**2 + jnp.asarray(_OPTAX_GDL_EPSILON, ct))
    class_weights = inverse / jnp.sum(inverse) * maps.num_classes
    loss = 1.0 - _overlap.tversky_index(maps, 0.5, 0.5, smooth, squared=False)
    loss = loss * jnp.broadcast_to(class_weights, loss.shape)
    loss, _ = _overlap.drop_background(loss, None, ignore_background)
    return _overlap.finish(
        jnp.mean(loss, axis=-1),
        maps,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=axis_name,
    )
