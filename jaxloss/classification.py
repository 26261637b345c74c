"""Softmax (categorical) losses: cross-entropy with soft or integer labels, focal loss.

Class axes may be any axis (or, for cross-entropy, a tuple of axes as in optax): internally they
are moved last, in the order given, and flattened, so every formula reads along the last axis
and a class id indexes the flattened class axes (optax's convention).

The per-example shape is that of ``logits`` without its class axes; ``reduction``, ``weights``
and the example mask refer to it (CONTRIBUTING.md, section 4): ``"none"`` gives ``m * w * l``,
``"mean"`` ``sum(m * w * l) / sum(m * w)`` (0 when nothing is counted), ``"sum_and_count"``
the pair, and ``axis_name`` makes the reductions global over a data-parallel batch axis.
``where`` keeps optax's meaning: a mask of the per-example shape selects examples, one of the
shape of ``logits`` selects classes (excluded classes leave the normalization and the sum; an
example with no included class gives 0 and does not count).

Integer class ids must lie in ``[0, K)``, equal ``ignore_index`` or be masked out. Concrete
ids out of range raise a ValueError naming ``labels``; traced ones raise in the checked mode
(``checkify.checkify(f, errors=checkify.user_checks)``) and otherwise give NaN for their
example (a value that cannot pass for a loss; no out-of-bounds read).

The probability maps are in `jaxloss.probabilities`, the sigmoid losses in `jaxloss.binary`.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _vectors
from jaxloss.reductions import reduce_loss, weighted_reduce

__all__ = [
    "safe_softmax_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal_loss",
]


def softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: _checks.Axis = -1,
    where: ArrayLike | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weights: ArrayLike | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Cross-entropy between soft (or one-hot) labels and softmax(logits).

    .. math::
        \ell = -\sum_c w_c\, y_c \log \mathrm{softmax}(x)_c,\qquad
        y \leftarrow (1-\alpha)\, y + \alpha / K \text{ with label smoothing } \alpha.

    A term with :math:`y_c = 0` contributes exactly 0 even where :math:`x_c = -\infty`
    (value and gradient), following :math:`0 \log 0 = 0`; optax's version returns NaN there.

    Args:
      logits: ``[..., num_classes]`` (class axes given by ``axis``), floating.
      labels: same shape as ``logits``; probabilities along the class axes, floating, or
        integer/bool one-hot arrays (as optax accepts).
      axis: class axis or tuple of axes (optax semantics; ``None`` for all axes).
      where: optax's mask, either the shape of ``logits`` (classes to include: excluded
        classes leave the normalization and the sum) or the per-example shape (examples to
        include). An example with no included class gives 0 and does not count.
      label_smoothing: :math:`\alpha \in [0, 1]`; :math:`K` counts the included classes.
      class_weights: optional ``[num_classes]`` (the shape of the class axes) weights
        :math:`w_c`, as torch's ``weight`` for probability targets (they do not enter the
        mean's denominator, torch's convention for probability targets).
      reduction: ``"none"`` (default: per-example, class axes removed), ``"mean"`` over the
        counted examples, ``"sum"`` or ``"sum_and_count"`` (static).
      weights: optional non-negative per-example weights (broadcastable to the per-example
        shape); ``"mean"`` divides by their sum over the counted examples.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``: reductions are
        then global over it (CONTRIBUTING.md, section 5).

    Returns:
      Per-example losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``); dtype of ``logits`` promoted with floating ``labels``. A
      positive label on a ``-inf`` logit gives ``inf``.

    References:
      optax ``softmax_cross_entropy`` (same signature and values where finite);
      ``torch.nn.functional.cross_entropy`` with probability targets.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import softmax_cross_entropy
      >>> logits = jnp.array([[0.0, -jnp.inf, 0.0], [0.0, 0.0, 0.0]])
      >>> labels = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
      >>> softmax_cross_entropy(logits, labels)
      Array([0.6931472, 1.0986123], dtype=float32)
      >>> softmax_cross_entropy(logits, labels, reduction="mean", weights=jnp.array([3.0, 1.0]))
      Array(0.7945135, dtype=float32)
    """
    logits = _checks.as_float("logits", logits)
    labels = _class_labels(labels)
    _checks.check_same_shape(logits=logits, labels=labels)
    _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    _checks.check_reduction(reduction)
    out_dtype = _checks.result_dtype(logits, labels)
    axes = _checks.normalize_axes("axis", axis, logits.ndim, keep_order=True)
    class_mask, example_mask = _split_where(where, logits.shape, axes)
    (x,) = _zero_masked(class_mask, example_mask, _classes_last(logits, axes))
    (y,) = _zero_masked(class_mask, example_mask, _classes_last(labels, axes))
    class_w = _class_weight_vector(class_weights, logits.shape, axes)

    ct = _checks.compute_dtype(out_dtype)
    x, y = x.astype(ct), y.astype(ct)
    if not _checks.is_concrete_zero(label_smoothing):
        y = (1.0 - label_smoothing) * y + label_smoothing / _num_classes(x, class_mask)
    log_probs = jax.nn.log_softmax(x, axis=-1, where=class_mask)
    keep = (y != 0) | jnp.isfinite(log_probs)
    if class_mask is not None:
        keep = keep & class_mask
    terms = jnp.where(keep, y * jnp.where(keep, log_probs, 0.0), 0.0)
    if class_w is not None:
        terms = terms * jnp.broadcast_to(class_w.astype(ct), terms.shape)
    loss = -jnp.sum(terms, axis=-1)
    return reduce_loss(
        loss.astype(out_dtype),
        out_dtype,
        reduction=reduction,
        where=_example_mask(class_mask, example_mask),
        weights=weights,
        axis_name=axis_name,
    )


def safe_softmax_cross_entropy(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    axis: _checks.Axis = -1,
    where: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    class_weights: ArrayLike | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Softmax cross-entropy with :math:`0 \cdot \log 0 = 0` (optax parity name).

    .. math:: \ell = -\sum_c w_c\, y_c \log \mathrm{softmax}(x)_c

    The same loss as :func:`softmax_cross_entropy`, with the same options and defaults:
    terms with a zero label are 0 even for ``-inf`` logits, in value and gradient. optax's
    positional signature ``(logits, labels)`` is kept; every option is keyword-only.

    Args:
      logits: ``[..., num_classes]`` (class axes given by ``axis``), floating.
      labels: same shape as ``logits``; probabilities along the class axes, floating, or
        integer/bool one-hot arrays.
      axis: class axis or tuple of axes (``None`` for all axes).
      where: optional boolean mask, the shape of ``logits`` (classes to include) or the
        per-example shape (examples to include), as in :func:`softmax_cross_entropy`.
      label_smoothing: :math:`\alpha \in [0, 1]`; :math:`K` counts the included classes.
      class_weights: optional weights :math:`w_c` of the shape of the class axes.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` (static).
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap`` (section 5).

    Returns:
      Per-example losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``).

    References:
      optax ``safe_softmax_cross_entropy``; ``torch.nn.functional.cross_entropy`` with
      probability targets.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import safe_softmax_cross_entropy
      >>> safe_softmax_cross_entropy(jnp.array([[-jnp.inf, 0.0]]), jnp.array([[0.0, 1.0]]))
      Array([0.], dtype=float32)
      >>> safe_softmax_cross_entropy(jnp.zeros((1, 2)), jnp.array([[0, 1]]), label_smoothing=0.5)
      Array([0.6931472], dtype=float32)
    """
    return softmax_cross_entropy(
        logits,
        labels,
        axis,
        where,
        label_smoothing=label_smoothing,
        class_weights=class_weights,
        reduction=reduction,
        weights=weights,
        axis_name=axis_name,
    )


def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike,
    labels: ArrayLike,
    axis: _checks.Axis = -1,
    where: ArrayLike | None = None,
    *,
    label_smoothing: float = 0.0,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Cross-entropy with integer labels, without building a one-hot array.

    .. math::
        \ell_n = (1-\alpha)\, w_{y_n} \big(\mathrm{lse}(x_n) - x_{n, y_n}\big)
                 + \frac{\alpha}{K} \sum_c w_c \big(\mathrm{lse}(x_n) - x_{n,c}\big)

    with :math:`\mathrm{lse}` the log-sum-exp over the included classes. ``"mean"`` divides by
    :math:`\sum_n v_n w_{y_n}` over the counted examples (:math:`v_n` the per-example
    ``weights``, default 1), exactly torch's
    ``cross_entropy(weight=..., ignore_index=..., label_smoothing=...)``; a batch in which every
    example is ignored gives 0 (torch gives NaN).

    The logits are read in their own dtype and upcast element by element inside the fused
    max and exp-sum loops, so bfloat16 logits cost no float32 copy. For bfloat16/float16
    logits without a class mask the gradient is a custom VJP (one fused pass writing
    ``softmax - onehot`` in the logits' dtype); forward-mode differentiation (``jax.jvp``,
    ``jax.hessian``) is therefore available for float32/float64 logits only.

    Args:
      logits: ``[..., num_classes]`` (class axes given by ``axis``), floating.
      labels: integer class ids ``[...]`` in ``[0, num_classes)`` (for a tuple ``axis``,
        indices into the flattened class axes, as in optax). An id out of range that is
        neither ``ignore_index`` nor masked out raises when the labels are concrete and in
        the checked mode; otherwise its example gives NaN.
      axis: class axis or tuple of axes.
      where: optax's mask, the shape of ``logits`` (classes to include) or the per-example
        shape (examples to include).
      label_smoothing: :math:`\alpha \in [0, 1]`, computed from the log-sum-exp and the sum of
        logits (no one-hot).
      class_weights: optional ``[num_classes]`` weights :math:`w_c`.
      ignore_index: a label value whose examples give 0 and do not count.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` (static);
        the count is :math:`\sum_n v_n w_{y_n}` over the counted examples.
      weights: optional non-negative per-example weights :math:`v_n` (broadcastable to the
        per-example shape).
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap``: reductions are
        then global over it (CONTRIBUTING.md, section 5).

    Returns:
      Per-example losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``), in the dtype of ``logits``.

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
    axes = _checks.normalize_axes("axis", axis, logits.ndim, keep_order=True)
    batch_shape = tuple(s for i, s in enumerate(logits.shape) if i not in axes)
    if labels.shape != batch_shape:
        raise ValueError(
            f"`labels` must have the shape of `logits` without its class axes {axes}, "
            f"i.e. {batch_shape}; got {labels.shape} for `logits` of shape {logits.shape}."
        )
    out_dtype = logits.dtype
    class_mask, example_mask = _split_where(where, logits.shape, axes)
    examples = _example_mask(class_mask, example_mask)
    class_w = _class_weight_vector(class_weights, logits.shape, axes)
    # optax reads the label's logit even where `where` masks its class: only excluded
    # examples are zeroed here.
    (raw,) = _zero_masked(None, examples, _classes_last(logits, axes))
    num_classes = raw.shape[-1]
    _checks.check_class_ids(
        "labels", labels, num_classes, ignore_index=ignore_index, where=examples
    )
    acc = _checks.compute_dtype(out_dtype)

    valid = None if ignore_index is None else labels != ignore_index
    safe_labels = labels if valid is None else jnp.where(valid, labels, 0)
    lse, label_logit = _lse_and_label_logit(raw, safe_labels, acc, class_mask)
    x = raw.astype(acc)
    label_weight = None if class_w is None else class_w.astype(x.dtype)[safe_labels]
    nll = lse - label_logit
    loss = nll if label_weight is None else label_weight * nll
    if not _checks.is_concrete_zero(label_smoothing):
        w = jnp.ones(x.shape[-1:], x.dtype) if class_w is None else class_w.astype(x.dtype)
        wb = jnp.broadcast_to(w, x.shape)
        if class_mask is not None:
            wb = jnp.where(class_mask, wb, 0.0)
        weighted_logits = jnp.sum(jnp.where(wb != 0, wb * x, 0.0), axis=-1)
        smooth = lse * jnp.sum(wb, axis=-1) - weighted_logits
        k = _num_classes(x, class_mask)
        k = k if k.ndim == 0 else k[..., 0]
        loss = (1.0 - label_smoothing) * loss + label_smoothing * smooth / k
    out_of_range = (safe_labels < 0) | (safe_labels >= num_classes)
    loss = jnp.where(out_of_range, jnp.asarray(jnp.nan, loss.dtype), loss)
    mask = _checks.combine_masks(examples, valid)
    v = _checks.example_weights(weights, loss.shape, mask)
    count = label_weight if v is None else (v if label_weight is None else v * label_weight)
    numerator = loss if v is None else v.astype(loss.dtype) * loss
    return weighted_reduce(numerator.astype(out_dtype), count, mask, reduction, axis_name)


@_dispatch.compiled_when_eager
def softmax_focal_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: ArrayLike = 2.0,
    axis: int = -1,
    where: ArrayLike | None = None,
    reduction: str = "none",
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
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
      labels: integer class ids ``[...]`` in ``[0, num_classes)``, or one-hot/soft labels
        of the shape of ``logits`` (floating, or bool one-hot). An id out of range that is
        not masked out raises when the labels are concrete and in the checked mode;
        otherwise its example gives NaN.
      alpha: optional scalar or ``[num_classes]`` class weights :math:`\alpha_c` (they do not
        enter the mean's denominator, MONAI's convention).
      gamma: focusing exponent :math:`\gamma \ge 0`.
      axis: the class axis.
      where: optional boolean mask, the shape of ``logits`` (classes to include) or the
        per-example shape (examples to include).
      reduction: ``"none"`` (default), ``"mean"`` over the counted examples, ``"sum"`` or
        ``"sum_and_count"`` (static).
      weights: optional non-negative per-example weights (broadcastable to the per-example
        shape); ``"mean"`` divides by their sum over the counted examples.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap`` (section 5).

    Returns:
      Per-example losses ``[...]`` for ``"none"``, else a scalar (the pair ``(sum, count)``
      for ``"sum_and_count"``).

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
    axes = _checks.normalize_axes("axis", axis, logits.ndim, keep_order=True)
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
        labels = _class_labels(labels)
        _checks.check_same_shape(logits=logits, labels=labels)
        out_dtype = _checks.result_dtype(logits, labels)
    class_mask, example_mask = _split_where(where, logits.shape, axes)
    examples = _example_mask(class_mask, example_mask)
    if integer:
        num_classes = int(np.prod([logits.shape[a] for a in axes]))
        _checks.check_class_ids("labels", labels, num_classes, where=examples)
    alphas = None
    if alpha is not None and jnp.ndim(alpha) > 0:
        alphas = _class_weight_vector(alpha, logits.shape, axes, name="alpha")
    ct = _checks.compute_dtype(out_dtype)
    z = _classes_last(logits, axes).astype(ct)
    # With integer labels the label's class is read even where `where` masks it (optax's
    # integer cross-entropy): only excluded examples are zeroed.
    (z,) = _zero_masked(None, examples, z) if integer else _zero_masked(class_mask, example_mask, z)
    log_probs = jax.nn.log_softmax(z, axis=-1, where=class_mask)
    if integer:
        lp = jnp.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
        loss = -_focal_complement_power(z, log_probs, class_mask, labels, gamma) * lp
        if alphas is not None:
            loss = alphas.astype(ct)[labels] * loss
        # Gathers wrap negative ids and fill (or clamp) large ones: say NaN explicitly.
        out_of_range = (labels < 0) | (labels >= z.shape[-1])
        loss = jnp.where(out_of_range, jnp.asarray(jnp.nan, loss.dtype), loss)
    else:
        (y,) = _zero_masked(class_mask, example_mask, _classes_last(labels, axes).astype(ct))
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
    return reduce_loss(
        loss.astype(out_dtype),
        out_dtype,
        reduction=reduction,
        where=examples,
        weights=weights,
        axis_name=axis_name,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _class_labels(labels: ArrayLike) -> jax.Array:
    """Soft (or one-hot) labels: floating, or integer/bool one-hot arrays as optax accepts."""
    y = jnp.asarray(labels)
    numeric = jnp.issubdtype(y.dtype, jnp.integer) or jnp.issubdtype(y.dtype, jnp.floating)
    if not (y.dtype == jnp.bool_ or numeric):
        raise TypeError(
            f"`labels` must be a floating, integer or boolean array; got dtype {y.dtype}."
        )
    return y


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


def _zero_masked(class_mask, example_mask, *arrays):
    """`arrays` (classes last) with the masked entries zeroed: a masked class or example
    contributes nothing, even where it is not finite (CONTRIBUTING.md, section 4)."""
    if class_mask is not None:
        return _vectors.zero_masked(class_mask, (), *arrays)
    return _vectors.zero_masked(example_mask, (arrays[0].ndim - 1,), *arrays)


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
