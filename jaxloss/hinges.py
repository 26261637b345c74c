"""Margin losses with torch's semantics: ranking, hinge embedding, soft and multi-class margins.

The margin losses of ``torch.nn.functional`` (``margin_ranking_loss``,
``hinge_embedding_loss``, ``soft_margin_loss``, ``multilabel_soft_margin_loss``,
``multilabel_margin_loss``, ``multi_margin_loss``) with torch's formulas under jaxloss's
contract (CONTRIBUTING.md): per-example values by default (``reduction="none"``), ``where``,
``weights`` and ``axis_name`` with the semantics of `jaxloss.reduce`, the class axis last, and
per-class weights named ``class_weights``. Values are computed in at least float32 and returned
in the promoted floating dtype of the scores.

**Kinks.** Each hinge ``max(0, z)`` has torch's derivative at ``z == 0``: ``margin_ranking_loss``
and ``hinge_embedding_loss`` (torch's ``clamp_min``) pass the gradient there, the multi-class
margins (torch's dedicated kernels) give 0. Labels in ``{-1, 1}`` are checked: concrete ones
outside the set raise, and the checked mode raises under ``jit``; otherwise the formula is
evaluated with the value given, as torch does.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _class_ids, _dispatch
from jaxloss.reductions import reduce_loss

__all__ = [
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
]


@_dispatch.compiled_when_eager
def margin_ranking_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 0.0,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Margin ranking loss: the score of the preferred input should win by ``margin``.

    .. math:: \ell = \max\big(0,\; -y\,(x_1 - x_2) + \mathrm{margin}\big)

    elementwise, with :math:`y = 1` when :math:`x_1` should rank higher and :math:`y = -1` when
    :math:`x_2` should. At the kink (:math:`\ell` exactly 0 at the hinge) the gradient is that
    of the linear side, as torch's.

    Args:
      x1: floating scores ``[...]``.
      x2: floating scores of the shape of ``x1``.
      labels: ``[...]`` (the shape of ``x1``), ``1`` or ``-1``, integer or floating.
      margin: the margin (any real, as torch; default 0).
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the elements.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype of ``x1`` and ``x2``.

    References:
      ``torch.nn.functional.margin_ranking_loss`` (same values and gradients).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import margin_ranking_loss
      >>> margin_ranking_loss(jnp.array([1.0, 1.0]), jnp.array([0.5, 0.5]), jnp.array([1, -1]),
      ...                     margin=0.1)
      Array([0. , 0.6], dtype=float32)
    """
    a = _checks.as_float("x1", x1)
    b = _checks.as_float("x2", x2)
    _checks.check_reduction(reduction)
    _checks.check_same_shape(x1=a, x2=b)
    out = _checks.result_dtype(a, b)
    acc = _checks.compute_dtype(out)
    mask = _mask(where, a.shape)
    y = _sign_labels(labels, a.shape, mask, acc)
    z = -y * (a.astype(acc) - b.astype(acc)) + margin
    if mask is not None:
        z = jnp.where(mask, z, jnp.zeros((), acc))
    loss = jnp.where(z >= 0, z, jnp.zeros((), acc))  # torch's clamp_min: gradient 1 at 0
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def hinge_embedding_loss(
    predictions: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Hinge embedding loss: small for similar pairs, above ``margin`` for dissimilar ones.

    .. math::
        \ell = \begin{cases} x & y = 1 \\ \max(0,\; \mathrm{margin} - x) & y = -1 \end{cases}

    elementwise, with :math:`x` typically a distance between two embeddings. At the kink
    :math:`x = \mathrm{margin}` of a dissimilar pair the gradient is -1, as torch's.

    Args:
      predictions: floating ``[...]`` (e.g. pairwise distances).
      labels: ``[...]`` (the shape of ``predictions``), ``1`` (similar) or ``-1``
        (dissimilar), integer or floating. Another value adds both cases, as torch does.
      margin: the margin (default 1, torch's).
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the elements.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the dtype of
      ``predictions``.

    References:
      ``torch.nn.functional.hinge_embedding_loss`` (same values and gradients).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import hinge_embedding_loss
      >>> hinge_embedding_loss(jnp.array([0.3, 0.3, 2.0]), jnp.array([1, -1, -1]))
      Array([0.3, 0.7, 0. ], dtype=float32)
    """
    x = _checks.as_float("predictions", predictions)
    _checks.check_reduction(reduction)
    out = x.dtype
    acc = _checks.compute_dtype(out)
    mask = _mask(where, x.shape)
    y = _sign_labels(labels, x.shape, mask, acc)
    x = x.astype(acc)
    if mask is not None:
        x = jnp.where(mask, x, jnp.zeros((), acc))
    zero = jnp.zeros((), acc)
    gap = margin - x
    hinge = jnp.where(gap >= 0, gap, zero)  # torch's clamp_min: gradient -1 at the margin
    loss = jnp.where(y != 1, hinge, zero) + jnp.where(y != -1, x, zero)
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def soft_margin_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Soft margin loss: the logistic loss of a score against a label in ``{-1, 1}``.

    .. math:: \ell = \log\big(1 + e^{-y x}\big) = \mathrm{softplus}(-y x)

    elementwise, computed as a softplus, so it stays finite where torch's
    ``log1p(exp(-y x))`` overflows (:math:`-y x \gtrsim 88` in float32: torch gives ``inf``).

    Args:
      logits: floating scores ``[...]``.
      labels: ``[...]`` (the shape of ``logits``), ``1`` or ``-1``, integer or floating.
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the elements.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the dtype of
      ``logits``.

    References:
      ``torch.nn.functional.soft_margin_loss`` (same values and gradients where torch's are
      finite).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import soft_margin_loss
      >>> soft_margin_loss(jnp.array([0.0, 2.0, 2.0]), jnp.array([1, 1, -1]))
      Array([0.6931472, 0.126928 , 2.126928 ], dtype=float32)
    """
    x = _checks.as_float("logits", logits)
    _checks.check_reduction(reduction)
    out = x.dtype
    acc = _checks.compute_dtype(out)
    mask = _mask(where, x.shape)
    y = _sign_labels(labels, x.shape, mask, acc)
    x = x.astype(acc)
    if mask is not None:
        x = jnp.where(mask, x, jnp.zeros((), acc))
    loss = jax.nn.softplus(-y * x)
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def multilabel_soft_margin_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Multi-label soft margin loss: the class-averaged sigmoid cross-entropy of each example.

    .. math::
        \ell = \frac1C \sum_{c=1}^{C} w_c \big(y_c\, \mathrm{sp}(-x_c)
               + (1 - y_c)\, \mathrm{sp}(x_c)\big)

    with :math:`\mathrm{sp}` the softplus, :math:`C` the number of classes (the last axis) and
    :math:`w_c` the class weights (default 1; they do not enter the denominator, as torch's).

    Args:
      logits: floating ``[..., num_classes]``.
      labels: ``[..., num_classes]`` targets in ``[0, 1]`` (multi-hot or soft; bool, integer
        or floating). Targets outside ``[0, 1]`` raise when concrete and in the checked mode;
        otherwise they enter the (linear) formula as given.
      class_weights: optional ``[num_classes]`` non-negative weights (torch's ``weight``).
      where: optional boolean mask of the per-example shape ``[...]``.
      weights: optional non-negative per-example weights (broadcastable to ``[...]``).
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the examples.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (the class axis removed) for ``"none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the dtype of ``logits`` (promoted with floating ``labels``).

    References:
      ``torch.nn.functional.multilabel_soft_margin_loss`` (same values and gradients).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multilabel_soft_margin_loss
      >>> multilabel_soft_margin_loss(jnp.array([[0.0, 2.0]]), jnp.array([[1, 0]]))
      Array([1.4100376], dtype=float32)
    """
    x = _checks.as_float("logits", logits)
    y = jnp.asarray(labels)
    _checks.check_reduction(reduction)
    _checks.check_min_rank("logits", x, 1)
    if not (y.dtype == jnp.bool_ or jnp.issubdtype(y.dtype, jnp.number)):
        raise TypeError(f"`labels` must be a bool, integer or floating array; got {y.dtype}.")
    _checks.check_same_shape(logits=x, labels=y)
    out = _checks.result_dtype(x, y if jnp.issubdtype(y.dtype, jnp.floating) else None)
    acc = _checks.compute_dtype(out)
    mask = _mask(where, x.shape[:-1])
    entries = None if mask is None else jnp.broadcast_to(mask[..., None], x.shape)
    y = y.astype(acc)
    _checks.check_values_in("labels", y, low=0.0, high=1.0, where=entries)
    class_w = _class_ids.class_weights(class_weights, x.shape[-1])
    x = x.astype(acc)
    if entries is not None:
        x = jnp.where(entries, x, jnp.zeros((), acc))
        y = jnp.where(entries, y, jnp.zeros((), acc))
    terms = y * jax.nn.softplus(-x) + (1.0 - y) * jax.nn.softplus(x)
    if class_w is not None:
        terms = terms * jnp.broadcast_to(class_w.astype(acc), terms.shape)
    loss = jnp.sum(terms, axis=-1) / x.shape[-1]
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def multilabel_margin_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Multi-label margin loss: every target class should beat every other class by 1.

    .. math::
        \ell = \frac1C \sum_{j \in J} \sum_{c \notin T} \max\big(0,\; 1 - (x_{y_j} - x_c)\big)

    with :math:`J` the positions of ``labels`` before its first negative entry, :math:`T` the
    set of classes they name and :math:`C` the number of classes, as torch's. A repeated class
    id counts once in :math:`T` and once per position in :math:`J`, as in torch. The gradient
    at a hinge of exactly 0 is 0 (torch's kernel). Memory: one ``[..., C, C]`` array.

    Args:
      logits: floating ``[..., num_classes]``.
      labels: integer ``[..., num_classes]``: the target class ids, padded after the last one
        with ``-1`` (any negative id ends the list; what follows is ignored). An id outside
        ``[0, num_classes)`` before the end raises when concrete and in the checked mode;
        otherwise its example gives NaN.
      where: optional boolean mask of the per-example shape ``[...]``.
      weights: optional non-negative per-example weights (broadcastable to ``[...]``).
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the examples.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (the class axis removed) for ``"none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the dtype of ``logits``.

    References:
      ``torch.nn.functional.multilabel_margin_loss`` (same values and gradients).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multilabel_margin_loss
      >>> multilabel_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([[3, 0, -1, 1]]))
      Array([0.85], dtype=float32)
    """
    x = _checks.as_float("logits", logits)
    labels = _checks.as_integer("labels", labels)
    _checks.check_reduction(reduction)
    _checks.check_min_rank("logits", x, 1)
    if labels.shape != x.shape:
        raise ValueError(
            f"`labels` must have the shape of `logits` {x.shape} (class ids padded with -1); "
            f"got {labels.shape}."
        )
    out = x.dtype
    acc = _checks.compute_dtype(out)
    num_classes = x.shape[-1]
    mask = _mask(where, x.shape[:-1])
    listed = jnp.cumsum(labels < 0, axis=-1) == 0  # positions before the first negative id
    checked = listed if mask is None else listed & mask[..., None]
    _checks.check_class_ids("labels", labels, num_classes, where=checked)
    in_range = labels < num_classes
    safe = jnp.where(listed & in_range, labels, 0)
    x = x.astype(acc)
    if mask is not None:
        x = jnp.where(mask[..., None], x, jnp.zeros((), acc))
    hits = jax.nn.one_hot(safe, num_classes, dtype=jnp.bool_) & listed[..., None]  # [.., J, C]
    is_target = jnp.any(hits, axis=-2)  # [..., C]
    target_scores = jnp.take_along_axis(x, safe, axis=-1)  # [..., J]
    z = 1.0 - target_scores[..., :, None] + x[..., None, :]  # [..., J, C]
    counted = listed[..., :, None] & ~is_target[..., None, :]
    terms = jnp.where(counted & (z > 0), z, jnp.zeros((), acc))  # torch: gradient 0 at z == 0
    loss = jnp.sum(terms, axis=(-2, -1)) / num_classes
    broken = jnp.any(listed & ~in_range, axis=-1)
    loss = jnp.where(broken, jnp.asarray(jnp.nan, acc), loss)
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def multi_margin_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    p: int = 1,
    margin: ArrayLike = 1.0,
    class_weights: ArrayLike | None = None,
    axis: int = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Multi-class margin (hinge) loss: the labelled class should beat each other by ``margin``.

    .. math::
        \ell = \frac1C \sum_{c \ne y} w_y \max\big(0,\; \mathrm{margin} - x_y + x_c\big)^p

    with :math:`C` the number of classes and :math:`w_y` the class weight of the label
    (default 1). As torch, the class weight multiplies the loss but does not enter the
    ``"mean"``: it is the plain (or ``weights``-weighted) mean over the examples, equal to
    torch's ``reduction="mean"``. The gradient at a hinge of exactly 0 is 0 (torch's kernel).
    `jaxloss.multiclass_hinge_loss` (optax's) is the Crammer-Singer maximum instead of the sum.

    Args:
      logits: floating ``[..., num_classes]`` (class axis given by ``axis``).
      labels: integer class ids ``[...]``. An id outside ``[0, num_classes)`` raises when
        concrete and in the checked mode; otherwise its example gives NaN.
      p: the exponent, 1 or 2 (torch's choices; static).
      margin: the margin (default 1, torch's).
      class_weights: optional ``[num_classes]`` non-negative weights (torch's ``weight``).
      axis: the class axis (static).
      where: optional boolean mask of the per-example shape ``[...]``.
      weights: optional non-negative per-example weights (broadcastable to ``[...]``).
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the examples.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the dtype of
      ``logits``.

    References:
      ``torch.nn.functional.multi_margin_loss`` (same values and gradients); Weston & Watkins,
      "Support vector machines for multi-class pattern recognition", 1999.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multi_margin_loss
      >>> multi_margin_loss(jnp.array([[0.1, 0.2, 0.4, 0.8]]), jnp.array([3]))
      Array([0.325], dtype=float32)
    """
    x = _checks.as_float("logits", logits)
    _checks.check_reduction(reduction)
    _checks.check_choice("p", p, (1, 2))
    x, labels = _class_ids.scores_and_labels(x, labels, axis, "logits")
    out = x.dtype
    acc = _checks.compute_dtype(out)
    num_classes = x.shape[-1]
    mask = _mask(where, labels.shape)
    _checks.check_class_ids("labels", labels, num_classes, where=mask)
    class_w = _class_ids.class_weights(class_weights, num_classes)
    x = x.astype(acc)
    if mask is not None:
        x = jnp.where(mask[..., None], x, jnp.zeros((), acc))
    target, safe, in_range = _class_ids.labelled(x, labels)
    z = margin - target[..., None] + x
    others = jax.lax.broadcasted_iota(jnp.int32, x.shape, x.ndim - 1) != safe[..., None]
    hinge = jnp.where(others & (z > 0), z, jnp.zeros((), acc))  # torch: gradient 0 at z == 0
    loss = jnp.sum(hinge if p == 1 else hinge * hinge, axis=-1) / num_classes
    if class_w is not None:
        loss = class_w.astype(acc)[safe] * loss
    loss = jnp.where(in_range, loss, jnp.asarray(jnp.nan, acc))
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _mask(where: ArrayLike | None, shape: tuple[int, ...]) -> jax.Array | None:
    """`where` as a boolean mask of the per-example shape."""
    if where is None:
        return None
    return _checks.broadcast_to("where", _checks.as_bool("where", where), shape)


def _sign_labels(labels: ArrayLike, shape: tuple[int, ...], mask, acc) -> jax.Array:
    """Labels in {-1, 1} (integer or floating) of the given shape, checked, in `acc`."""
    y = jnp.asarray(labels)
    if not (jnp.issubdtype(y.dtype, jnp.integer) or jnp.issubdtype(y.dtype, jnp.floating)):
        raise TypeError(f"`labels` must be an integer or floating array; got dtype {y.dtype}.")
    if y.shape != tuple(shape):
        raise ValueError(f"`labels` must have shape {tuple(shape)}; got {y.shape}.")
    _checks.check_values_among("labels", y, (-1, 1), where=mask)
    y = y.astype(acc)
    if mask is not None:
        y = jnp.where(mask, y, jnp.ones((), acc))
    return y
