"""Binary and multi-label losses: one independent sigmoid (or probability) per element.

Every loss here is elementwise: the per-example shape is the shape of ``logits`` (or
``probabilities``), one binary prediction per entry, and ``reduction``, the mask ``where`` and
``weights`` refer to it (CONTRIBUTING.md, section 4): ``"none"`` gives ``m * w * l``, ``"mean"``
``sum(m * w * l) / sum(m * w)`` (0 when nothing is counted), ``"sum_and_count"`` the pair, and
``axis_name`` makes the reductions global over a data-parallel batch axis.

Targets (``labels``) may be bool, integer or floating (soft targets), as in optax; they are
used in the compute dtype of the logits. Targets outside ``[0, 1]`` (and probabilities outside
``[0, 1]`` in `binary_cross_entropy`) are data errors: concrete ones raise a ValueError naming
the argument, traced ones raise in the checked mode
(``checkify.checkify(f, errors=checkify.user_checks)``); otherwise each docstring states the
value given. Masked entries are not checked.

The softmax (categorical) losses are in `jaxloss.classification`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics, _vectors
from jaxloss.reductions import reduce_loss

__all__ = [
    "binary_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
]


def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Binary cross-entropy on logits (log loss), elementwise.

    .. math::
        \ell = -\big(p\, y \log\sigma(x) + (1-y) \log(1-\sigma(x))\big)
             = p\,y\,\mathrm{sp}(-x) + (1-y)\,\mathrm{sp}(x)

    with :math:`\mathrm{sp}(\pm x) = \max(\pm x, 0) + \log(1 + e^{-|x|})`, so one ``exp`` and
    one ``log1p`` per element and no cancellation for large :math:`|x|`. At a logit of 0 the
    derivative is :math:`\sigma(0)(1 - y + p y) - p y`, continuous (no kink of :math:`|x|`).

    Args:
      logits: ``[...]``, floating.
      labels: ``[...]`` (same shape), targets in ``[0, 1]``: bool, integer or floating (soft
        labels allowed). A target outside ``[0, 1]`` enters the formula as given (the loss is
        linear in :math:`y` and may be negative); concrete ones raise, and the checked mode
        raises under ``jit``.
      pos_weight: optional weight :math:`p` of the positive term, broadcastable to
        ``logits`` (torch's ``pos_weight``, e.g. ``[num_classes]`` for multi-label).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the
        elements (static).
      where: optional boolean mask broadcastable to ``logits.shape``; masked entries give 0
        and do not count.
      weights: optional non-negative weights broadcastable to ``logits.shape`` (torch's
        ``weight``; ``"mean"`` divides by their sum over the counted entries).
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``: reductions are
        then global over it (section 5).

    Returns:
      Elementwise losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``), in the dtype of ``logits`` (promoted with floating
      ``labels``).

    References:
      optax ``sigmoid_binary_cross_entropy`` (same signature and values);
      ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid_binary_cross_entropy
      >>> sigmoid_binary_cross_entropy(jnp.array([0.0, 1e4]), jnp.array([1.0, 1.0]))
      Array([0.6931472, 0.       ], dtype=float32)
      >>> sigmoid_binary_cross_entropy(jnp.array([0.0, 2.0]), jnp.array([True, False]),
      ...                              reduction="mean", where=jnp.array([True, False]))
      Array(0.6931472, dtype=float32)
    """
    x, y, out_dtype, mask = _binary_inputs("logits", logits, labels, where)
    _checks.check_reduction(reduction)
    pw = _pos_weight(pos_weight, x)
    loss = _sigmoid_bce(x, y, pw)
    return reduce_loss(
        loss.astype(out_dtype),
        out_dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def binary_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    eps: float = math.exp(-100.0),
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Binary cross-entropy (log loss) on probabilities, with clamped logs.

    .. math::
        \ell = -\big(y \max(\log p, \log\epsilon) + (1-y) \max(\log(1-p), \log\epsilon)\big)

    The default :math:`\epsilon = e^{-100}` clamps each log at -100, exactly as
    ``torch.nn.functional.binary_cross_entropy`` does, so probabilities of exactly 0 and 1
    give finite values. Inside the clamp the gradient is 0 (torch returns a large finite
    gradient there instead). Prefer :func:`sigmoid_binary_cross_entropy` on logits.

    Args:
      probabilities: ``[...]`` in ``[0, 1]``, floating. A probability outside ``[0, 1]``
        (or NaN) gives NaN (torch raises); concrete ones raise, and the checked mode raises
        under ``jit``.
      labels: ``[...]`` (same shape), targets in ``[0, 1]``: bool, integer or floating. A
        target outside ``[0, 1]`` enters the formula as given; concrete ones raise, and the
        checked mode raises under ``jit``.
      eps: the smallest probability whose log is taken (``> 0``): each log is
        :math:`\max(\log p, \log\epsilon)`.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` (static).
      where: optional boolean mask broadcastable to the elementwise shape; masked entries
        give 0 and do not count.
      weights: optional non-negative weights broadcastable to the elementwise shape
        (torch's ``weight``; ``"mean"`` divides by their sum over the counted entries).
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap`` (section 5).

    Returns:
      Elementwise losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``).

    References:
      ``torch.nn.functional.binary_cross_entropy``; scikit-learn ``log_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import binary_cross_entropy
      >>> binary_cross_entropy(jnp.array([0.5, 0.0]), jnp.array([1.0, 1.0]))
      Array([  0.6931472, 100.       ], dtype=float32)
      >>> binary_cross_entropy(jnp.array([0.5, 0.0]), jnp.array([1, 1]), reduction="mean")
      Array(50.34657, dtype=float32)
    """
    p, y, out_dtype, mask = _binary_inputs("probabilities", probabilities, labels, where)
    _checks.check_values_in("probabilities", p, low=0.0, high=1.0, where=mask)
    _checks.check_positive("eps", eps)
    _checks.check_reduction(reduction)
    log_min = math.log(eps) if _checks.concrete(eps) is not None else jnp.log(eps)
    loss = -(y * _clamped_log(p, eps, log_min) + (1.0 - y) * _clamped_log(1.0 - p, eps, log_min))
    # NaN compares False both ways, so NaN probabilities stay NaN through the clamps' selects.
    outside = (p < 0) | (p > 1) | jnp.isnan(p)
    loss = jnp.where(outside, jnp.asarray(jnp.nan, loss.dtype), loss)
    return reduce_loss(
        loss.astype(out_dtype),
        out_dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def sigmoid_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: ArrayLike = 2.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Sigmoid focal loss (Lin et al., 2017), elementwise.

    .. math::
        \ell = \alpha_t\, (1 - p_t)^\gamma\, \mathrm{BCE}(x, y),\quad
        1 - p_t = y\,\sigma(-x) + (1-y)\,\sigma(x),\quad \alpha_t = \alpha y + (1-\alpha)(1-y)

    :math:`1 - p_t` is formed from the two sigmoids without cancellation (both from one
    ``exp``), and :math:`(1-p_t)^\gamma` is an integer power for integer :math:`\gamma \le 8`;
    any other :math:`\gamma` is :math:`\exp(\gamma \log(1 - p_t))` with the log taken as a
    ``logaddexp`` of log-sigmoids, so values, gradients and Hessians stay finite and exact
    for :math:`0 < \gamma < 1` at large logits (where :math:`1 - p_t` underflows). Gradients
    with respect to ``labels`` are exact for labels inside :math:`(0, 1)`. Without a mask or
    weights the computation has no select, so ``reduction="mean"`` is one fused loop without
    per-element temporaries. :math:`\gamma = 0`, ``alpha=None`` is
    :func:`sigmoid_binary_cross_entropy`.

    Args:
      logits: ``[...]``, floating.
      labels: ``[...]`` (same shape), targets in ``[0, 1]``: bool, integer or floating (soft
        labels allowed). A target outside ``[0, 1]`` enters the formula as given (NaN for a
        non-integer ``gamma``, whose power of a negative base is undefined); concrete ones
        raise, and the checked mode raises under ``jit``.
      alpha: optional weight of the positive class in ``[0, 1]``.
      gamma: focusing exponent :math:`\gamma \ge 0`.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` (static).
      where: optional boolean mask broadcastable to ``logits.shape``; masked entries give 0
        and do not count.
      weights: optional non-negative weights broadcastable to ``logits.shape``.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap`` (section 5).

    Returns:
      Elementwise losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``).

    References:
      Lin et al., "Focal Loss for Dense Object Detection", 2017; optax ``sigmoid_focal_loss``
      (same signature and values); torchvision ``sigmoid_focal_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid_focal_loss
      >>> sigmoid_focal_loss(jnp.array([0.0]), jnp.array([1.0]), gamma=2.0)
      Array([0.1732868], dtype=float32)
      >>> sigmoid_focal_loss(jnp.array([0.0, 0.0]), jnp.array([1, 0]), reduction="sum")
      Array(0.3465736, dtype=float32)
    """
    x, y, out_dtype, mask = _binary_inputs("logits", logits, labels, where)
    _checks.check_nonnegative("gamma", gamma)
    _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
    _checks.check_reduction(reduction)
    loss = _focal_factor(x, y, gamma) * _sigmoid_bce(x, y, None)
    if alpha is not None:
        loss = (alpha * y + (1.0 - alpha) * (1.0 - y)) * loss
    return reduce_loss(
        loss.astype(out_dtype),
        out_dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _binary_inputs(name: str, x: ArrayLike, labels: ArrayLike, where: ArrayLike | None):
    """`x` and the targets in the compute dtype, the result dtype, and the elementwise mask.

    Targets may be bool, integer or floating (optax casts them to the logits' dtype); only
    floating targets take part in the result dtype. Targets outside [0, 1] are checked.
    """
    x = _checks.as_float(name, x)
    y = jnp.asarray(labels)
    numeric = jnp.issubdtype(y.dtype, jnp.integer) or jnp.issubdtype(y.dtype, jnp.floating)
    if not (y.dtype == jnp.bool_ or numeric):
        raise TypeError(
            f"`labels` must be a boolean, integer or floating-point array; got dtype {y.dtype}."
        )
    _checks.check_same_shape(**{name: x, "labels": y})
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), x.shape)
    if y.dtype != jnp.bool_:
        _checks.check_values_in("labels", y, low=0.0, high=1.0, where=mask)
    out_dtype = _checks.result_dtype(x, y)
    ct = _checks.compute_dtype(out_dtype)
    # Masked entries contribute nothing, even where not finite (CONTRIBUTING.md, section 4).
    x, y = _vectors.zero_masked(mask, (), x.astype(ct), y.astype(ct))
    return x, y, out_dtype, mask


def _pos_weight(pos_weight, x: jax.Array) -> jax.Array | None:
    if pos_weight is None:
        return None
    pw = _checks.as_float("pos_weight", pos_weight)
    return _checks.broadcast_to("pos_weight", pw, x.shape).astype(x.dtype)


def _sigmoid_bce(x: jax.Array, y: jax.Array, pos_weight: jax.Array | None) -> jax.Array:
    softplus_pos, softplus_neg = _numerics.softplus_pair(x)
    positive = y if pos_weight is None else pos_weight * y
    return positive * softplus_neg + (1.0 - y) * softplus_pos


def _focal_factor(x: jax.Array, y: jax.Array, gamma) -> jax.Array:
    """``(1 - p_t)^gamma`` with ``1 - p_t = y sigmoid(-x) + (1 - y) sigmoid(x)``.

    An integer ``gamma`` (0..8) is an integer power of ``1 - p_t`` formed from one ``exp``.
    Any other ``gamma`` goes through ``log(1 - p_t)`` as a ``logaddexp`` of
    ``log(1 - y) - softplus(-x)`` and ``log(y) - softplus(x)``: the composition
    ``b^gamma`` of an underflowing ``b = 1 - p_t`` has a second derivative
    ``gamma (gamma - 1) b^(gamma - 2) (db/dx)^2`` that overflows times underflows (NaN
    Hessians at logits of 50 in float32), while the log form has bounded derivatives.
    """
    v = _checks.concrete(gamma)
    if v is not None and v.size == 1 and float(v) in range(9):
        if int(v) == 0:
            return jnp.ones_like(x)
        sig_pos, sig_neg = _numerics.sigmoid_pair(x)
        return lax.integer_pow(y * sig_neg + (1.0 - y) * sig_pos, int(v))
    sp_pos, sp_neg = _numerics.softplus_pair(x)
    log_q = jnp.logaddexp(jnp.log1p(-y) - sp_neg, jnp.log(y) - sp_pos)
    return jnp.exp(gamma * log_q)


def _clamped_log(p: jax.Array, eps, log_min) -> jax.Array:
    inside = p > eps
    return jnp.where(inside, jnp.log(jnp.where(inside, p, 1.0)), log_min)
