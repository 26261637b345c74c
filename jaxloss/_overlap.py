"""What the overlap-loss modules (`dice`, `overlap`, `compound`) share.

Maps are channel-last: ``predictions`` (or ``logits``) are ``[batch..., spatial..., C]``;
targets are one-hot/soft maps of the same shape (a binary map may omit its channel axis, as
in optax), or integer labels ``[batch..., spatial...]`` (one-hot encoded to ``C`` classes;
with ``C == 1`` they are the binary mask itself). ``axis`` names the summed (spatial) axes;
by default (``None``, optax's convention) every axis but the first and the last. The
per-example values have the remaining axes (but the class axis); with ``batch_dice`` the
batch axes are summed too and the loss is one value.

Per class and example, with probabilities :math:`p` and targets :math:`t` summed over the
summed axes: :math:`I = \\sum p t`, :math:`P = \\sum p`, :math:`T = \\sum t` (:math:`\\sum p^2`
and :math:`\\sum t^2` with ``squared=True``, the V-Net form). The one smoothing of the family
(CONTRIBUTING.md, section 8) is `dice_index`'s :math:`(2I + s) / (P + T + s)`; optax's names
keep optax's `tversky_index` form :math:`(I + s) / (I + \\alpha (P - I) + \\beta (T - I) + s)`.

Data conditions (CONTRIBUTING.md, section 7), checked by `prepare` with the ``_checks``
helpers (raise on concrete arrays, checked mode under ``jit``): integer labels outside
``[0, C)`` (by default: pixels of no class, a zero one-hot row), binary/soft targets outside
``[0, 1]`` and probabilities outside ``[0, 1]`` (by default: used as given). Examples masked
out by ``where`` are not checked.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.reductions import reduce_loss

ACTIVATIONS = ("softmax", "sigmoid", None)


class Maps(NamedTuple):
    """Channel-last probability and target maps, in the compute dtype."""

    logits: jax.Array  # the (channel-expanded) predictions, compute dtype
    probs: jax.Array  # [..., C]
    targets: jax.Array  # [..., C], one-hot or soft
    labels: jax.Array | None  # the integer class labels [...] (C > 1), else None
    axes: tuple[int, ...]  # the summed axes
    num_classes: int
    out_dtype: jnp.dtype
    example_shape: tuple[int, ...]  # the per-example shape (() with batch_dice)
    sum_axis_name: Hashable | None  # psum the class sums over it (batch_dice with axis_name)
    valid: jax.Array | None = None  # the pixels [...] that count (labels != ignore_index)


def check_flag(name: str, value: Any) -> None:
    """Static boolean options (``squared``, ``batch_dice``, optax's ``apply_*`` flags)."""
    if not isinstance(value, bool):
        raise TypeError(f"`{name}` must be a static bool; got {value!r}.")


def activate(logits: jax.Array, activation: str | None, axis: int = -1) -> jax.Array:
    """`prepare`'s activation of `logits` whose class axis is `axis`: ``"softmax"`` over it
    (the sigmoid when it has one class), ``"sigmoid"`` elementwise, None: the identity."""
    if activation == "sigmoid" or (activation == "softmax" and logits.shape[axis] == 1):
        return jax.nn.sigmoid(logits)
    if activation == "softmax":
        return jax.nn.softmax(logits, axis=axis)
    return logits


def prepare(
    predictions: ArrayLike,
    targets: ArrayLike,
    activation: str | None,
    axis: _checks.Axis,
    batch_dice: bool,
    *,
    where: ArrayLike | None = None,
    axis_name: Hashable | None = None,
    name: str = "predictions",
    target: str = "targets",
    ignore_index: int | None = None,
) -> Maps:
    """Validates shapes and dtypes, checks the data, one-hot encodes labels, applies the
    activation.

    ``activation``: ``"softmax"`` over the last axis (the sigmoid when ``C == 1``: the
    two-class softmax of ``[0, x]``), ``"sigmoid"`` elementwise, or None (probabilities).
    ``name`` and ``target`` are the argument names for errors. Integer labels equal to
    ``ignore_index`` are not checked, have a zero one-hot row and are False in ``Maps.valid``.
    """
    _checks.check_choice("activation", activation, ACTIVATIONS)
    check_flag("batch_dice", batch_dice)
    predictions = _checks.as_float(name, predictions)
    targets = jnp.asarray(targets)
    integer = jnp.issubdtype(targets.dtype, jnp.integer)
    if not integer and targets.dtype != jnp.bool_:
        targets = _checks.as_float(target, targets)
    if integer and targets.ndim == predictions.ndim and predictions.shape[-1:] == (1,):
        integer = False  # a binary mask with its channel axis, not class labels
        mask_given = True
    else:
        mask_given = False
    if ignore_index is not None:
        if not isinstance(ignore_index, int) or isinstance(ignore_index, bool):
            raise TypeError(f"`ignore_index` must be a static int or None; got {ignore_index!r}.")
        if not (integer or mask_given):
            raise ValueError(
                f"`ignore_index` applies to integer class labels ``[batch..., spatial...]``; got "
                f"`{target}` of dtype {targets.dtype} and shape {targets.shape}."
            )
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

    ndim = predictions.ndim
    if batch_dice:
        axes = tuple(range(ndim - 1))
    elif axis is None:
        axes = tuple(range(1, ndim - 1))
    else:
        axes = _checks.normalize_axes("axis", axis, ndim)
        if ndim - 1 in axes:
            raise ValueError(
                f"`axis`={axis!r} must not contain the class axis (the last axis of "
                f"`{name}`, shape {predictions.shape})."
            )
    example_shape = tuple(n for a, n in enumerate(predictions.shape[:-1]) if a not in axes)
    num_classes = predictions.shape[-1]

    # Data checks, on the examples `where` keeps (pixel_mask: rank ndim - 1).
    pixel_mask = None
    if where is not None:
        kept = _checks.broadcast_to("where", _checks.as_bool("where", where), example_shape)
        pixel_mask = jnp.expand_dims(kept, axes)
    channel_mask = None if pixel_mask is None else pixel_mask[..., None]
    valid = None
    if ignore_index is not None:
        valid = (targets[..., 0] if mask_given else targets) != ignore_index
    if integer and num_classes > 1:
        _checks.check_class_ids(
            target, targets, num_classes, ignore_index=ignore_index, where=pixel_mask
        )
    elif integer or mask_given or targets.dtype != jnp.bool_:
        mask = pixel_mask if integer else channel_mask
        if valid is not None:
            mask = _checks.combine_masks(mask, valid if integer else valid[..., None])
        _checks.check_values_in(target, targets, low=0.0, high=1.0, where=mask)
    if activation is None:
        _checks.check_values_in(name, predictions, low=0.0, high=1.0, where=channel_mask)

    if channel_mask is not None:
        # A masked example contributes nothing, even where it is not finite (CONTRIBUTING.md,
        # section 4): zeroed before any arithmetic, no NaN reaches a gradient through the
        # branch the final mask discards (its targets are zeroed in the one-hot map below).
        predictions = jnp.where(channel_mask, predictions, jnp.zeros((), predictions.dtype))

    floats = [predictions] if integer or targets.dtype == jnp.bool_ else [predictions, targets]
    out_dtype = _checks.result_dtype(*floats)
    ct = _checks.compute_dtype(out_dtype)
    if integer and num_classes == 1:
        onehot = targets[..., None].astype(ct)
    elif integer:
        onehot = jax.nn.one_hot(targets, num_classes, dtype=ct)  # out of range: a zero row
    else:
        onehot = targets.astype(ct)
    if valid is not None:
        onehot = onehot * valid[..., None].astype(ct)
    if channel_mask is not None:  # masked examples' labels count nowhere (batch statistics)
        onehot = jnp.where(channel_mask, onehot, jnp.zeros((), ct))
    logits = predictions.astype(ct)
    probs = activate(logits, activation)
    labels = targets if integer and num_classes > 1 else None
    sum_axis_name = axis_name if batch_dice else None
    return Maps(
        logits,
        probs,
        onehot,
        labels,
        axes,
        num_classes,
        out_dtype,
        example_shape,
        sum_axis_name,
        valid,
    )


def class_sums(maps: Maps, squared: bool) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-class intersection, prediction and target sums over the summed axes (and over the
    data-parallel batch axis with ``batch_dice``)."""
    check_flag("squared", squared)
    p, t = maps.probs, maps.targets
    inter = jnp.sum(p * t, axis=maps.axes)
    if squared:
        p, t = p * p, t * t
    sums = (inter, jnp.sum(p, axis=maps.axes), jnp.sum(t, axis=maps.axes))
    if maps.sum_axis_name is not None:
        sums = jax.lax.psum(sums, maps.sum_axis_name)
    return sums


def dice_index(maps: Maps, smooth: ArrayLike, squared: bool) -> jax.Array:
    """The family's Dice: ``(2I + s) / (P + T + s)``, 1 where the denominator is 0."""
    _checks.check_nonnegative("smooth", smooth)
    inter, pred_sum, target_sum = class_sums(maps, squared)
    return _numerics.safe_divide(2.0 * inter + smooth, pred_sum + target_sum + smooth)


def tversky_index(
    maps: Maps, alpha: ArrayLike, beta: ArrayLike, smooth: ArrayLike, squared: bool
) -> jax.Array:
    """``(I + s) / (I + alpha (P - I) + beta (T - I) + s)``, 1 where the denominator is 0."""
    _checks.check_nonnegative("alpha", alpha)
    _checks.check_nonnegative("beta", beta)
    _checks.check_nonnegative("smooth", smooth)
    inter, pred_sum, target_sum = class_sums(maps, squared)
    denominator = inter + alpha * (pred_sum - inter) + beta * (target_sum - inter) + smooth
    return _numerics.safe_divide(inter + smooth, denominator)


def class_weight_vector(class_weights: Any, num_classes: int, dtype: Any) -> jax.Array | None:
    """The validated ``[C]`` class weights in `dtype`, or None."""
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


def drop_background(
    values: jax.Array, weights: jax.Array | None, ignore_background: bool
) -> tuple[jax.Array, jax.Array | None]:
    """Drops class 0 when asked and there is more than one class (optax, MONAI)."""
    check_flag("ignore_background", ignore_background)
    if not ignore_background or values.shape[-1] == 1:
        return values, weights
    return values[..., 1:], None if weights is None else weights[1:]


def weighted_class_mean(
    losses: jax.Array, class_weights: Any, num_classes: int, ignore_background: bool
) -> jax.Array:
    """``mean_c w_c l_c`` over the kept classes (optax and MONAI weight the per-class losses)."""
    weights = class_weight_vector(class_weights, num_classes, losses.dtype)
    if weights is not None:
        losses = losses * jnp.broadcast_to(weights, losses.shape)
    losses, _ = drop_background(losses, None, ignore_background)
    return jnp.mean(losses, axis=-1)


def finish(
    per_example: ArrayLike,
    maps: Maps,
    *,
    reduction: str,
    where: ArrayLike | None,
    weights: ArrayLike | None,
    axis_name: Hashable | None,
) -> jax.Array:
    """The reduction over examples (`reduce_loss`).

    With ``batch_dice`` the one value already covers the global batch (the class sums were
    ``psum``-ed over ``axis_name``), so it is reduced locally: the same on every device, and
    equal to the single-device value.
    """
    global_axis = None if maps.sum_axis_name is not None else axis_name
    return reduce_loss(
        per_example,
        maps.out_dtype,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=global_axis,
    )
