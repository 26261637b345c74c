"""Probability maps and classification losses: softmax, cross-entropy, BCE, focal.

Class axes may be any axis (or, for cross-entropy, a tuple of axes as in optax); internally the
class axes are moved last and flattened, so every formula below reads along the last axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.reductions import weighted_reduce

__all__ = [
    "binary_cross_entropy",
    "log_sigmoid",
    "log_softmax",
    "safe_softmax_cross_entropy",
    "sigmoid",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal_loss",
]

Axis = int | Sequence[int]


def softmax(x: ArrayLike, axis: Axis = -1, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Softmax with temperature: :math:`\exp(x_i/T) / \sum_j \exp(x_j/T)`.

    Args:
      x: logits ``[..., num_classes, ...]``, floating.
      axis: class axis or axes.
      temperature: :math:`T > 0`; higher is flatter.

    Returns:
      Probabilities of the shape and dtype of ``x``.

    References:
      Wraps ``jax.nn.softmax`` (Bridle, 1990).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import softmax
      >>> softmax(jnp.array([0.0, 0.0, 0.0, 0.0]))
      Array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.softmax(xt, axis=_axis_arg(axis)).astype(dtype)


def log_softmax(x: ArrayLike, axis: Axis = -1, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Log-softmax with temperature: :math:`x_i/T - \log\sum_j \exp(x_j/T)`.

    Args:
      x: logits ``[..., num_classes, ...]``, floating.
      axis: class axis or axes.
      temperature: :math:`T > 0`.

    Returns:
      Log-probabilities of the shape and dtype of ``x``; ``-inf`` logits give ``-inf``.

    References:
      Wraps ``jax.nn.log_softmax``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import log_softmax
      >>> log_softmax(jnp.array([0.0, 0.0]))
      Array([-0.6931472, -0.6931472], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.log_softmax(xt, axis=_axis_arg(axis)).astype(dtype)


def sigmoid(x: ArrayLike, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Logistic sigmoid with temperature: :math:`1 / (1 + \exp(-x/T))`.

    Args:
      x: logits ``[...]``, floating.
      temperature: :math:`T > 0`.

    Returns:
      Probabilities of the shape and dtype of ``x``.

    References:
      Wraps ``jax.nn.sigmoid``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid
      >>> sigmoid(jnp.array([0.0]))
      Array([0.5], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.sigmoid(xt).astype(dtype)


def log_sigmoid(x: ArrayLike, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Log of the sigmoid, stable for large :math:`|x|`: :math:`-\mathrm{softplus}(-x/T)`.

    Args:
      x: logits ``[...]``, floating.
      temperature: :math:`T > 0`.

    Returns:
      Log-probabilities of the shape and dtype of ``x``.

    References:
      Wraps ``jax.nn.log_sigmoid``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import log_sigmoid
      >>> log_sigmoid(jnp.array([-1e4]))
      Array([-10000.], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.log_sigmoid(xt).astype(dtype)


def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weights: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Cross-entropy between soft (or one-hot) labels and softmax(logits).

    .. math::
        \ell = -\sum_c w_c\, y_c \log \mathrm{softmax}(x)_c,\qquad
        y \leftarrow (1-\alpha)\, y + \alpha / K \text{ with label smoothing } \alpha.

    A term with :math:`y_c = 0` contributes exactly 0 even where :math:`x_c = -\infty`
    (value and gradient), following :math:`0 \log 0 = 0`; optax's version returns NaN there.

    Args:
      logits: ``[..., num_classes]`` (class axes given by ``axis``), floating.
      labels: same shape as ``logits``; probabilities along the class axes.
      axis: class axis or tuple of axes (optax semantics).
      where: boolean mask, either the shape of ``logits`` (classes to include: excluded
        classes leave the normalization and the sum, as in optax) or the per-example shape
        (examples to include). An example with no included class has loss 0 and does not
        count in the mean.
      label_smoothing: :math:`\alpha \in [0, 1]`; :math:`K` counts the included classes.
      class_weights: optional ``[num_classes]`` (the shape of the class axes) weights
        :math:`w_c`, as torch's ``weight`` for probability targets.
      reduction: ``"none"`` (per-example, class axes removed), ``"mean"`` over counted
        examples (unweighted, torch's convention for probability targets) or ``"sum"``.

    Returns:
      Per-example losses ``[...]``, or a scalar; dtype of ``logits``/``labels`` promoted.
      A positive label on a ``-inf`` logit gives ``inf``.

    References:
      optax ``softmax_cross_entropy`` (same signature and values where finite);
      ``torch.nn.functional.cross_entropy`` with probability targets.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import softmax_cross_entropy
      >>> logits = jnp.array([[0.0, -jnp.inf, 0.0]])
      >>> softmax_cross_entropy(logits, jnp.array([[1.0, 0.0, 0.0]]))
      Array([0.6931472], dtype=float32)
    """
    logits = _checks.as_float("logits", logits)
    labels = _checks.as_float("labels", labels)
    _checks.check_same_shape(logits=logits, labels=labels)
    _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    _checks.check_reduction(reduction)
    out_dtype = _checks.result_dtype(logits, labels)
    axes = _class_axes(axis, logits.ndim)
    x = _classes_last(logits, axes)
    y = _classes_last(labels, axes)
    class_mask, example_mask = _split_where(where, logits.shape, axes)
    weights = _class_weight_vector(class_weights, logits.shape, axes)

    ct = _checks.compute_dtype(out_dtype)
    x, y = x.astype(ct), y.astype(ct)
    if not _checks.is_concrete_zero(label_smoothing):
        y = (1.0 - label_smoothing) * y + label_smoothing / _num_classes(x, class_mask)
    log_probs = jax.nn.log_softmax(x, axis=-1, where=class_mask)
    keep = (y != 0) | jnp.isfinite(log_probs)
    if class_mask is not None:
        keep = keep & class_mask
    terms = jnp.where(keep, y * jnp.where(keep, log_probs, 0.0), 0.0)
    if weights is not None:
        terms = terms * jnp.broadcast_to(weights.astype(ct), terms.shape)
    loss = -jnp.sum(terms, axis=-1)
    mask = _example_mask(class_mask, example_mask)
    return weighted_reduce(loss.astype(out_dtype), None, mask, reduction)


def safe_softmax_cross_entropy(logits: ArrayLike, labels: ArrayLike) -> jax.Array:
    r"""Softmax cross-entropy with :math:`0 \cdot \log 0 = 0` (optax parity alias).

    .. math:: \ell = -\sum_c y_c \log \mathrm{softmax}(x)_c

    Identical to :func:`softmax_cross_entropy` with its defaults: terms with a zero label are
    0 even for ``-inf`` logits, in value and gradient.

    Args:
      logits: ``[..., num_classes]``, floating.
      labels: ``[..., num_classes]``, probabilities.

    Returns:
      Per-example losses ``[...]``.

    References:
      optax ``safe_softmax_cross_entropy``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import safe_softmax_cross_entropy
      >>> safe_softmax_cross_entropy(jnp.array([[-jnp.inf, 0.0]]), jnp.array([[0.0, 1.0]]))
      Array([0.], dtype=float32)
    """
    return softmax_cross_entropy(logits, labels)


def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Cross-entropy with integer labels, without building a one-hot array.

    .. math::
        \ell_n = (1-\alpha)\, w_{y_n} \big(\mathrm{lse}(x_n) - x_{n, y_n}\big)
                 + \frac{\alpha}{K} \sum_c w_c \big(\mathrm{lse}(x_n) - x_{n,c}\big)

    with :math:`\mathrm{lse}` the log-sum-exp over the included classes. ``"mean"`` divides by
    :math:`\sum_n w_{y_n}` over the counted examples, exactly torch's
    ``cross_entropy(weight=..., ignore_index=..., label_smoothing=...)``; a batch in which every
    example is ignored gives 0 (torch gives NaN).

    The logits are read in their own dtype and upcast element by element inside the fused
    max and exp-sum loops, so bfloat16 logits cost no float32 copy. For bfloat16/float16
    logits without a class mask the gradient is a custom VJP (one fused pass writing
    ``softmax - onehot`` in the logits' dtype); forward-mode differentiation (``jax.jvp``,
    ``jax.hessian``) is therefore available for float32/float64 logits only.

    Args:
      logits: ``[..., num_classes]`` (class axes given by ``axis``), floating.
      labels: integer class indices ``[...]`` (for a tuple ``axis``, indices into the
        flattened class axes, as in optax).
      axis: class axis or tuple of axes.
      where: boolean mask, the shape of ``logits`` (classes to include, optax semantics) or
        the per-example shape (examples to include).
      label_smoothing: :math:`\alpha \in [0, 1]`, computed from the log-sum-exp and the sum of
        logits (no one-hot).
      class_weights: optional ``[num_classes]`` weights :math:`w_c`.
      ignore_index: a label value whose examples give 0 and do not count in the mean.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Per-example losses ``[...]`` or a scalar, in the dtype of ``logits``. A label outside
      ``[0, num_classes)`` that is not ``ignore_index`` gives NaN (it cannot raise under jit).

    References:
      optax ``softmax_cross_entropy_with_integer_labels``;
      ``torch.nn.functional.cross_entropy``; Szegedy et al., "Rethinking the Inception
      Architecture", 2016 (label smoothing).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import softmax_cross_entropy_with_integer_labels as ce
      >>> logits = jnp.array([[2.0, 0.0], [0.0, 0.0]])
      >>> ce(logits, jnp.array([0, -100]), ignore_index=-100, reduction="mean")
      Array(0.126928, dtype=float32)
    """
    logits = _checks.as_float("logits", logits)
    labels = _checks.as_integer("labels", labels)
    _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    _checks.check_reduction(reduction)
    axes = _class_axes(axis, logits.ndim)
    batch_shape = tuple(s for i, s in enumerate(logits.shape) if i not in axes)
    if labels.shape != batch_shape:
        raise ValueError(
            f"`labels` must have the shape of `logits` without its class axes {axes}, "
            f"i.e. {batch_shape}; got {labels.shape} for `logits` of shape {logits.shape}."
        )
    out_dtype = logits.dtype
    class_mask, example_mask = _split_where(where, logits.shape, axes)
    weights = _class_weight_vector(class_weights, logits.shape, axes)
    raw = _classes_last(logits, axes)
    acc = _checks.compute_dtype(out_dtype)

    valid = None if ignore_index is None else labels != ignore_index
    safe_labels = labels if valid is None else jnp.where(valid, labels, 0)
    lse, label_logit = _lse_and_label_logit(raw, safe_labels, acc, class_mask)
    x = raw.astype(acc)
    label_weight = None if weights is None else weights.astype(x.dtype)[safe_labels]
    nll = lse - label_logit
    loss = nll if label_weight is None else label_weight * nll
    if not _checks.is_concrete_zero(label_smoothing):
        w = jnp.ones(x.shape[-1:], x.dtype) if weights is None else weights.astype(x.dtype)
        wb = jnp.broadcast_to(w, x.shape)
        if class_mask is not None:
            wb = jnp.where(class_mask, wb, 0.0)
        weighted_logits = jnp.sum(jnp.where(wb != 0, wb * x, 0.0), axis=-1)
        smooth = lse * jnp.sum(wb, axis=-1) - weighted_logits
        k = _num_classes(x, class_mask)
        k = k if k.ndim == 0 else k[..., 0]
        loss = (1.0 - label_smoothing) * loss + label_smoothing * smooth / k
    mask = _checks.combine_masks(_example_mask(class_mask, example_mask), valid)
    return weighted_reduce(loss.astype(out_dtype), label_weight, mask, reduction)


def smooth_labels(
    labels: ArrayLike,
    alpha: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""Label smoothing: :math:`(1-\alpha)\, y + \alpha / K`.

    Args:
      labels: one-hot or soft labels ``[..., num_classes]``, floating.
      alpha: smoothing in ``[0, 1]``.
      axis: class axis or axes; :math:`K` is their size.
      where: optional boolean mask of ``labels``'s shape; :math:`K` counts the included
        classes (optax semantics).

    Returns:
      Smoothed labels, the shape and dtype of ``labels``.

    References:
      optax ``smooth_labels``; Müller et al., "When does label smoothing help?", 2019.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import smooth_labels
      >>> smooth_labels(jnp.array([1.0, 0.0, 0.0, 0.0]), 0.2)
      Array([0.85, 0.05, 0.05, 0.05], dtype=float32)
    """
    labels = _checks.as_float("labels", labels)
    _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
    axes = _class_axes(axis, labels.ndim)
    if where is None:
        k = float(np.prod([labels.shape[a] for a in axes]))
    else:
        where = _checks.broadcast_to("where", _checks.as_bool("where", where), labels.shape)
        k = jnp.sum(where, axis=axes, keepdims=True).astype(labels.dtype)
    return ((1.0 - alpha) * labels + alpha / k).astype(labels.dtype)


def sigmoid_binary_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Binary cross-entropy on logits (log loss), elementwise.

    .. math::
        \ell = -\big(p\, y \log\sigma(x) + (1-y) \log(1-\sigma(x))\big)
             = p\,y\,\mathrm{sp}(-x) + (1-y)\,\mathrm{sp}(x)

    with :math:`\mathrm{sp}(\pm x) = \max(\pm x, 0) + \log(1 + e^{-|x|})`, so one ``exp`` and
    one ``log1p`` per element and no cancellation for large :math:`|x|`.

    Args:
      logits: ``[...]``, floating.
      labels: ``[...]`` (same shape), targets in ``[0, 1]`` (soft labels allowed).
      pos_weight: optional weight :math:`p` of the positive term, broadcastable to
        ``logits`` (torch's ``pos_weight``, e.g. ``[num_classes]`` for multi-label).
      reduction: ``"none"``, ``"mean"`` or ``"sum"`` over all elements.

    Returns:
      Elementwise losses ``[...]`` or a scalar.

    References:
      optax ``sigmoid_binary_cross_entropy``;
      ``torch.nn.functional.binary_cross_entropy_with_logits``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid_binary_cross_entropy
      >>> sigmoid_binary_cross_entropy(jnp.array([0.0, 1e4]), jnp.array([1.0, 1.0]))
      Array([0.6931472, 0.       ], dtype=float32)
    """
    x, y, out_dtype = _binary_inputs("logits", logits, labels)
    _checks.check_reduction(reduction)
    pw = _pos_weight(pos_weight, x)
    loss = _sigmoid_bce(x, y, pw)
    return weighted_reduce(loss.astype(out_dtype), None, None, reduction)


def binary_cross_entropy(
    probabilities: ArrayLike,
    labels: ArrayLike,
    *,
    eps: float = math.exp(-100.0),
    reduction: str = "none",
) -> jax.Array:
    r"""Binary cross-entropy (log loss) on probabilities, with clamped logs.

    .. math::
        \ell = -\big(y \max(\log p, \log\epsilon) + (1-y) \max(\log(1-p), \log\epsilon)\big)

    The default :math:`\epsilon = e^{-100}` clamps each log at -100, exactly as
    ``torch.nn.functional.binary_cross_entropy`` does, so probabilities of exactly 0 and 1
    give finite values. Inside the clamp the gradient is 0 (torch returns a large finite
    gradient there instead). Prefer :func:`sigmoid_binary_cross_entropy` on logits.

    Args:
      probabilities: ``[...]`` in ``[0, 1]``, floating.
      labels: ``[...]`` (same shape), targets in ``[0, 1]``.
      eps: the smallest probability whose log is taken (``> 0``).
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Elementwise losses ``[...]`` or a scalar.

    References:
      ``torch.nn.functional.binary_cross_entropy``; scikit-learn ``log_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import binary_cross_entropy
      >>> binary_cross_entropy(jnp.array([0.5, 0.0]), jnp.array([1.0, 1.0]))
      Array([  0.6931472, 100.       ], dtype=float32)
    """
    p, y, out_dtype = _binary_inputs("probabilities", probabilities, labels)
    _checks.check_positive("eps", eps)
    _checks.check_reduction(reduction)
    log_min = math.log(eps) if _checks.concrete(eps) is not None else jnp.log(eps)
    loss = -(y * _clamped_log(p, eps, log_min) + (1.0 - y) * _clamped_log(1.0 - p, eps, log_min))
    return weighted_reduce(loss.astype(out_dtype), None, None, reduction)


def sigmoid_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: ArrayLike = 2.0,
    reduction: str = "none",
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
    with respect to ``labels`` are exact for labels inside :math:`(0, 1)`. The computation has no
    select, so ``reduction="mean"`` is one fused loop without per-element temporaries.
    :math:`\gamma = 0`, ``alpha=None`` is :func:`sigmoid_binary_cross_entropy`.

    Args:
      logits: ``[...]``, floating.
      labels: ``[...]`` (same shape), targets in ``[0, 1]``.
      alpha: optional weight of the positive class in ``[0, 1]``.
      gamma: focusing exponent :math:`\gamma \ge 0`.
      reduction: ``"none"``, ``"mean"`` or ``"sum"``.

    Returns:
      Elementwise losses ``[...]`` or a scalar.

    References:
      Lin et al., "Focal Loss for Dense Object Detection", 2017; optax ``sigmoid_focal_loss``
      (same signature and values); torchvision ``sigmoid_focal_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid_focal_loss
      >>> sigmoid_focal_loss(jnp.array([0.0]), jnp.array([1.0]), gamma=2.0)
      Array([0.1732868], dtype=float32)
    """
    x, y, out_dtype = _binary_inputs("logits", logits, labels)
    _checks.check_nonnegative("gamma", gamma)
    _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
    _checks.check_reduction(reduction)
    loss = _focal_factor(x, y, gamma) * _sigmoid_bce(x, y, None)
    if alpha is not None:
        loss = (alpha * y + (1.0 - alpha) * (1.0 - y)) * loss
    return weighted_reduce(loss.astype(out_dtype), None, None, reduction)


def softmax_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: ArrayLike = 2.0,
    axis: int = -1,
    where: ArrayLike | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Multi-class focal loss on softmax probabilities.

    .. math::
        \ell = -\sum_c \alpha_c\, y_c\, (1 - p_c)^\gamma \log p_c,\qquad p = \mathrm{softmax}(x)

    With integer labels only the labelled class is evaluated (no one-hot is built).
    :math:`(1-p_c)^\gamma = \exp(\gamma \log(1 - p_c))` with :math:`\log(1 - p_c)` taken
    from the logits: for the most probable class as
    :math:`\operatorname{logsumexp}_{j \ne c} x_j - \operatorname{logsumexp}_j x_j` (exact
    when :math:`p_c` rounds to 1), for the others (:math:`p_c \le 1/2`) as
    :math:`\log(-\operatorname{expm1}(\log p_c))`. So values, gradients and Hessians stay
    finite and exact for saturated logits, also for :math:`0 < \gamma < 1` (where the
    derivatives of :math:`u^\gamma` in :math:`u = 1 - p_c` alone are unbounded).
    :math:`\gamma = 0` and no ``alpha`` give the softmax cross-entropy.

    Args:
      logits: ``[..., num_classes]`` (class axis given by ``axis``), floating.
      labels: integer labels ``[...]``, or one-hot/soft labels of the shape of ``logits``.
      alpha: optional scalar or ``[num_classes]`` class weights :math:`\alpha_c`.
      gamma: focusing exponent :math:`\gamma \ge 0`.
      axis: the class axis.
      where: optional boolean mask, the shape of ``logits`` (classes to include) or the
        per-example shape (examples to include).
      reduction: ``"none"``, ``"mean"`` over counted examples, or ``"sum"``.

    Returns:
      Per-example losses ``[...]`` or a scalar.

    References:
      Lin et al., "Focal Loss for Dense Object Detection", 2017 (the multi-class form of
      their eq. 5, as in MONAI ``FocalLoss(use_softmax=True)``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import softmax_focal_loss
      >>> softmax_focal_loss(jnp.array([[0.0, 0.0]]), jnp.array([0]), gamma=1.0)
      Array([0.346574], dtype=float32)
    """
    logits = _checks.as_float("logits", logits)
    labels = jnp.asarray(labels)
    _checks.check_nonnegative("gamma", gamma)
    _checks.check_reduction(reduction)
    axes = _class_axes(axis, logits.ndim)
    integer = jnp.issubdtype(labels.dtype, jnp.integer)
    if integer:
        expected = tuple(s for i, s in enumerate(logits.shape) if i not in axes)
        if labels.shape != expected:
            raise ValueError(
                f"integer `labels` must have shape {expected} (logits without the class axis); "
                f"got {labels.shape}."
            )
        out_dtype = logits.dtype
    else:
        labels = _checks.as_float("labels", labels)
        _checks.check_same_shape(logits=logits, labels=labels)
        out_dtype = _checks.result_dtype(logits, labels)
    class_mask, example_mask = _split_where(where, logits.shape, axes)
    alphas = None
    if alpha is not None and jnp.ndim(alpha) > 0:
        alphas = _class_weight_vector(alpha, logits.shape, axes, name="alpha")
    ct = _checks.compute_dtype(out_dtype)
    z = _classes_last(logits, axes).astype(ct)
    log_probs = jax.nn.log_softmax(z, axis=-1, where=class_mask)
    if integer:
        lp = jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
        loss = -_focal_complement_power(z, log_probs, class_mask, labels, gamma) * lp
        if alphas is not None:
            loss = alphas.astype(ct)[labels] * loss
    else:
        y = _classes_last(labels, axes).astype(ct)
        keep = (y != 0) | jnp.isfinite(log_probs)
        if class_mask is not None:
            keep = keep & class_mask
        lp = jnp.where(keep, log_probs, 0.0)
        power = _focal_complement_power(z, log_probs, class_mask, None, gamma)
        terms = jnp.where(keep, y * power * lp, 0.0)
        if alphas is not None:
            terms = terms * jnp.broadcast_to(alphas.astype(ct), terms.shape)
        loss = -jnp.sum(terms, axis=-1)
    if alpha is not None and alphas is None:
        loss = alpha * loss
    mask = _example_mask(class_mask, example_mask)
    return weighted_reduce(loss.astype(out_dtype), None, mask, reduction)


# ---------------------------------------------------------------------------------------------
# helpers


def _tempered(name: str, x: ArrayLike, temperature: ArrayLike) -> tuple[jax.Array, jnp.dtype]:
    """x / temperature in the compute dtype (at least float32), and the dtype to return."""
    x = _checks.as_float(name, x)
    _checks.check_positive("temperature", temperature)
    xc = x.astype(_checks.compute_dtype(x.dtype))
    return (xc if _is_one(temperature) else xc / temperature), x.dtype


def _axis_arg(axis: Axis) -> int | tuple[int, ...]:
    return axis if isinstance(axis, int) else tuple(axis)


def _is_one(value) -> bool:
    v = _checks.concrete(value)
    return v is not None and v.size == 1 and float(v) == 1.0


def _class_axes(axis: Axis, ndim: int) -> tuple[int, ...]:
    axes = (axis,) if isinstance(axis, int | np.integer) else tuple(axis)
    if not axes:
        raise ValueError("`axis` must name at least one class axis.")
    normalized = tuple(_checks.normalize_axis("axis", a, ndim) for a in axes)
    if len(set(normalized)) != len(normalized):
        raise ValueError(f"`axis` has repeated entries: {axis!r}.")
    return normalized


def _lse_and_label_logit(
    raw: jax.Array, labels: jax.Array, acc, class_mask: jax.Array | None
) -> tuple[jax.Array, jax.Array]:
    """``logsumexp(raw)`` over the last axis and ``raw[..., label]``, both in `acc`.

    The label logit is gathered in the logits' own dtype, behind an optimization barrier:
    without it XLA shares one upcast copy of the whole logits between the gather and the
    reductions (for bfloat16 logits a float32 temporary twice their size, and 4x slower).
    Logits narrower than `acc` (bfloat16, float16) take a custom VJP whose backward pass is one
    fused loop writing ``softmax - onehot`` in the logits' dtype; autodiff would store float32
    copies of the logits (512 MiB at 2048 x 32768) and run 2x slower.
    """
    if class_mask is None and jnp.dtype(raw.dtype).itemsize < jnp.dtype(acc).itemsize:
        return _narrow_lse_and_label_logit(raw, labels)
    label_logit = jnp.take_along_axis(raw, labels[..., None], axis=-1)[..., 0]
    raw, label_logit = lax.optimization_barrier((raw, label_logit))
    return _logsumexp_last(raw, acc, class_mask), label_logit.astype(acc)


@jax.custom_vjp
def _narrow_lse_and_label_logit(raw: jax.Array, labels: jax.Array):
    label_logit = jnp.take_along_axis(raw, labels[..., None], axis=-1)[..., 0]
    raw, label_logit = lax.optimization_barrier((raw, label_logit))
    return _logsumexp_last(raw, jnp.float32, None), label_logit.astype(jnp.float32)


def _narrow_lse_and_label_logit_fwd(raw, labels):
    lse, label_logit = _narrow_lse_and_label_logit(raw, labels)
    return (lse, label_logit), (raw, labels, lse)


def _narrow_lse_and_label_logit_bwd(residuals, cotangents):
    raw, labels, lse = residuals
    g_lse, g_label = cotangents
    softmax = jnp.exp(raw.astype(jnp.float32) - lse[..., None])
    hit = lax.broadcasted_iota(labels.dtype, raw.shape, raw.ndim - 1) == labels[..., None]
    d_raw = softmax * g_lse[..., None] + jnp.where(hit, g_label[..., None], 0.0)
    return d_raw.astype(raw.dtype), np.zeros(labels.shape, jax.dtypes.float0)


_narrow_lse_and_label_logit.defvjp(_narrow_lse_and_label_logit_fwd, _narrow_lse_and_label_logit_bwd)


def _logsumexp_last(raw: jax.Array, acc, where: jax.Array | None) -> jax.Array:
    """logsumexp over the last axis, accumulated in `acc`, with `jax.nn.logsumexp`'s semantics.

    Without a class mask the shift (the row maximum, exact in any float dtype) is taken on the
    logits in their own dtype and each element is upcast inside the exp-sum loop, so no upcast
    copy of the logits is ever stored (XLA would otherwise share one between the two passes).
    """
    if where is not None:
        return jax.nn.logsumexp(raw.astype(acc), axis=-1, where=where)
    shift = lax.stop_gradient(jnp.max(raw, axis=-1).astype(acc))
    shift = jnp.where(jnp.isfinite(shift), shift, jnp.zeros((), acc))
    total = jnp.sum(jnp.exp(raw.astype(acc) - shift[..., None]), axis=-1)
    return shift + jnp.log(total)


def _classes_last(x: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """Moves the class axes to the end (in order) and flattens them into one."""
    batch = [i for i in range(x.ndim) if i not in axes]
    if axes == tuple(range(x.ndim - len(axes), x.ndim)) and len(axes) == 1:
        return x
    moved = jnp.transpose(x, (*batch, *axes))
    return moved.reshape((*moved.shape[: len(batch)], -1))


def _split_where(where, shape, axes):
    """Splits optax's `where` into a class mask ``[..., K]`` and an example mask ``[...]``."""
    if where is None:
        return None, None
    where = _checks.as_bool("where", where)
    batch_shape = tuple(s for i, s in enumerate(shape) if i not in axes)
    if where.ndim == len(shape):
        full = _checks.broadcast_to("where", where, shape)
        return _classes_last(full, axes), None
    if where.ndim == len(batch_shape):
        return None, _checks.broadcast_to("where", where, batch_shape)
    raise ValueError(
        f"`where` must have the rank of `logits` ({len(shape)}, a class mask) or of the "
        f"per-example shape ({len(batch_shape)}); got shape {where.shape}."
    )


def _class_weight_vector(weights, shape, axes, name="class_weights") -> jax.Array | None:
    if weights is None:
        return None
    weights = _checks.as_float(name, weights)
    class_shape = tuple(shape[a] for a in axes)
    if weights.shape != class_shape:
        raise ValueError(
            f"`{name}` must have the shape of the class axes {class_shape}; got {weights.shape}."
        )
    return weights.reshape(-1)


def _num_classes(x: jax.Array, class_mask: jax.Array | None):
    if class_mask is None:
        return jnp.asarray(float(x.shape[-1]), x.dtype)
    return jnp.maximum(jnp.sum(class_mask, axis=-1, keepdims=True), 1).astype(x.dtype)


def _example_mask(class_mask, example_mask):
    row = None if class_mask is None else jnp.any(class_mask, axis=-1)
    return _checks.combine_masks(row, example_mask)


def _binary_inputs(name: str, x: ArrayLike, labels: ArrayLike):
    x = _checks.as_float(name, x)
    y = _checks.as_float("labels", labels)
    _checks.check_same_shape(**{name: x, "labels": y})
    out_dtype = _checks.result_dtype(x, y)
    ct = _checks.compute_dtype(out_dtype)
    return x.astype(ct), y.astype(ct), out_dtype


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


def _focal_complement_power(z, log_probs, class_mask, labels, gamma) -> jax.Array:
    """``(1 - p_c)^gamma`` from logits ``z [..., C]`` (classes last), see `softmax_focal_loss`.

    With integer ``labels`` for the labelled class (``[...]``), else for every class.
    """
    if _checks.is_concrete_zero(gamma):
        return jnp.ones(z.shape[:-1] if labels is not None else z.shape, z.dtype)
    classes = lax.broadcasted_iota(jnp.int32, z.shape, z.ndim - 1)
    if labels is not None:
        chosen = labels[..., None]
    else:
        masked = z if class_mask is None else jnp.where(class_mask, z, -jnp.inf)
        chosen = jnp.argmax(masked, axis=-1, keepdims=True)
    other = classes != chosen
    valid = other if class_mask is None else other & class_mask
    # log(1 - p_chosen) = logsumexp over the other classes - logsumexp over all; a row with no
    # other class has p_chosen = 1, so its complement is -inf (a factor of 0).
    any_other = jnp.any(valid, axis=-1, keepdims=True)
    lse = jax.nn.logsumexp(z, axis=-1, where=class_mask, keepdims=True)
    rest = jax.nn.logsumexp(
        jnp.where(valid, z, 0), axis=-1, where=valid | ~any_other, keepdims=True
    )
    log_rest = jnp.where(any_other, rest - lse, -jnp.inf)
    if labels is not None:
        return jnp.exp(gamma * log_rest[..., 0])
    # The other classes have p <= 1/2, where log(-expm1(log p)) is well conditioned.
    safe = jnp.where(other, log_probs, -1.0)
    log_complement = jnp.where(other, jnp.log(-jnp.expm1(safe)), log_rest)
    return jnp.exp(gamma * log_complement)


def _clamped_log(p: jax.Array, eps, log_min) -> jax.Array:
    inside = p > eps
    return jnp.where(inside, jnp.log(jnp.where(inside, p, 1.0)), log_min)
