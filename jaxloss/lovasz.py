"""Lovász losses: the Lovász-Softmax and Lovász hinge surrogates of the Jaccard (IoU) loss.

Berman, Rannen Triki & Blaschko (CVPR 2018) optimise the Jaccard loss
:math:`\\Delta_J = 1 - |X \\cap Y| / |X \\cup Y|` of a class through its Lovász extension, a
piecewise-linear convex function of the per-pixel errors :math:`m \\in \\mathbb{R}^N`:

.. math::
    \\overline{\\Delta_J}(m) = \\sum_{i=1}^{N} m_{\\pi_i}\\, g_i,\\qquad
    g_i = J(i) - J(i - 1),\\qquad
    J(i) = 1 - \\frac{G - \\sum_{k \\le i} t_{\\pi_k}}{G + \\sum_{k \\le i} (1 - t_{\\pi_k})}

with :math:`\\pi` the permutation sorting the errors in decreasing order, :math:`t` the
foreground indicator of the class, :math:`G = \\sum_i t_i` and :math:`J(0) = 0` (the paper's
Algorithm 1, ``lovasz_grad`` of the authors' code). The weights :math:`g` depend only on the
labels, so the gradient with respect to :math:`m_{\\pi_i}` is :math:`g_i` (pixels with tied
errors share the mean of their weights: a subgradient independent of how the sort orders
ties). Every class (and example) is one row: the rows are sorted together, no Python loop over
classes. The sort is of one integer key per pixel (the error's bits with the foreground bit
in the last place, a relative change of one ulp of the error) with its permutation
(`jaxloss._numerics.sorted_with_order`: numpy's SIMD sort on CPU); the backward pass forms
the weights in sorted order and scatters them back through the permutation.

Maps are channel-last, as in the rest of the segmentation family (:mod:`jaxloss.overlap`):
``[batch..., spatial..., C]`` for 2-D images and ``[batch..., D, H, W, C]`` for volumes; ``axis``
names the spatial axes (by default every axis but the first and the last). The authors'
``per_image=True`` is the default here (one value per example, then ``reduction``); their
``per_image=False`` (all pixels of the batch in one sort) is ``batch_dice=True``, the family's
spelling. Pixels whose label equals ``ignore_index`` are left out of the sort (they are neither
foreground nor background of any class), as the authors drop them. Sorting costs
:math:`O(N \\log N)` per row and memory :math:`O(N C)`.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _collectives, _dispatch, _numerics, _overlap

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]

CLASSES = ("present", "all")
# The longest block of tied sort keys the backward's elementwise path handles (longer blocks
# take the general path: running extrema and gathers).
SHORT_BLOCK = 4


@_dispatch.compiled_when_eager
def lovasz_softmax_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    classes: str = "present",
    class_weights: ArrayLike | None = None,
    activation: str | None = "softmax",
    ignore_index: int | None = None,
    axis: _checks.Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Lovász-Softmax loss (Berman et al. 2018): the Lovász extension of the Jaccard loss.

    .. math::
        \ell = \frac{1}{|\mathcal{C}|} \sum_{c \in \mathcal{C}} w_c\,
        \overline{\Delta_{J_c}}\big(m^{(c)}\big),\qquad
        m^{(c)}_i = |t_{i,c} - p_{i,c}|

    with :math:`p` the softmax of ``predictions`` over the classes (see the module docstring
    for :math:`\overline{\Delta_J}`). :math:`\mathcal{C}` is every class with
    ``classes="all"`` and, with ``classes="present"`` (the authors' default), the classes that
    occur in the example's (the batch's, with ``batch_dice``) non-ignored labels. An absent
    class enters ``"all"`` with its largest probability, :math:`\max_i p_{i,c}`.

    Mapping to the references: the authors' ``lovasz_softmax(probas, labels, classes,
    per_image, ignore)`` takes probabilities (``activation=None``) and pools the batch by
    default (``per_image=False``: here ``batch_dice=True``); ``per_image=True`` is the mean of
    this function's per-example values (``reduction="mean"``). kornia's
    ``lovasz_softmax_loss(pred, target, weight)`` (0.9) takes logits, scores each image over
    all classes and averages: ``reduction="mean", classes="all"``, its ``weight`` being
    ``class_weights`` (a weighted sum divided by :math:`C`, as here). A list of class ids
    (the authors' third form of ``classes``) is ``classes="all"`` with zero
    ``class_weights`` elsewhere, up to the divisor :math:`C`.

    Edge cases: an example without a present class (every pixel ignored, or an empty
    foreground with ``classes="present"``) gives 0. Tied errors give the same value in any
    order (the extension is continuous); their gradient is the mean of their Lovász weights.
    The loss is piecewise smooth: it has kinks where two errors swap their order. Soft
    targets enter the errors as given; the Jaccard weights take :math:`t > 1/2` as
    foreground. Integer labels
    outside ``[0, C)`` that are not ``ignore_index`` are background of every class (checked
    mode raises).

    Args:
      predictions: ``[batch..., spatial..., C]`` logits (probabilities if ``activation=None``);
        ``C == 1`` is one binary class (sigmoid).
      targets: integer labels ``[batch..., spatial...]``, or one-hot targets of the shape of
        ``predictions`` (binary maps may omit the channel axis).
      classes: ``"present"`` (classes present in the labels) or ``"all"``; static.
      class_weights: optional non-negative ``[C]`` weights :math:`w_c` of the class terms.
      activation: ``"softmax"`` (sigmoid when ``C == 1``), ``"sigmoid"`` (independent
        channels) or None (probabilities); static.
      ignore_index: a label value whose pixels are left out (integer labels only), or None.
      axis: spatial axes (static); default all axes but the first and the last.
      batch_dice: sort the pixels of the whole batch together (the authors'
        ``per_image=False``): one value.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap`` (with
        ``batch_dice``, the pixels of every device are gathered and sorted together).

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

    References:
      Berman, Rannen Triki & Blaschko, "The Lovász-Softmax loss: A tractable surrogate for the
      optimization of the intersection-over-union measure in neural networks", CVPR 2018
      (Algorithm 1; the authors' ``lovasz_softmax``); kornia ``lovasz_softmax_loss`` (0.9).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import lovasz_softmax_loss
      >>> logits = jnp.array([[[2.0, -1.0], [0.0, 1.0], [1.0, 0.5]]])  # [batch=1, pixels=3, C=2]
      >>> labels = jnp.array([[0, 1, 1]])
      >>> print(f"{float(lovasz_softmax_loss(logits, labels)[0]):.4f}")
      0.4088
    """
    _checks.check_choice("classes", classes, CLASSES)
    _checks.check_reduction(reduction)
    maps = _overlap.prepare(
        predictions,
        targets,
        activation,
        axis,
        batch_dice,
        where=where,
        axis_name=axis_name,
        ignore_index=ignore_index,
    )
    # The errors in the sort's layout, [*kept axes, C, N]: the logits are transposed before
    # the activation rather than the errors after it (a softmax over a short last axis and
    # the transpose of its output and gradient: forward+backward 27 -> 16 ms at
    # [8, 128, 128, 21] on XLA:CPU); the targets' transpose fuses with their one-hot encoding.
    logits, targets = (_rows(a, maps.axes) for a in (maps.logits, maps.targets))
    errors = jnp.abs(targets - _overlap.activate(logits, activation, axis=-2))
    losses, present = _lovasz_rows(errors, targets, maps)
    w = _overlap.class_weight_vector(class_weights, maps.num_classes, losses.dtype)
    if w is not None:
        losses = losses * jnp.broadcast_to(w, losses.shape)
    if classes == "all":
        per_example = jnp.mean(losses, axis=-1)
    else:
        count = jnp.sum(present, axis=-1)
        total = jnp.sum(jnp.where(present, losses, 0.0), axis=-1)
        per_example = total / jnp.maximum(count, 1).astype(total.dtype)
    return _finish(
        per_example, maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


@_dispatch.compiled_when_eager
def lovasz_hinge_loss(
    logits: ArrayLike,
    labels: ArrayLike,
    *,
    ignore_index: int | None = None,
    axis: _checks.Axis = None,
    batch_dice: bool = False,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Lovász hinge loss (Berman et al. 2018): the binary Jaccard loss's Lovász extension at
    the hinge errors.

    .. math::
        \ell = \sum_{i=1}^{N} \max(0, m_{\pi_i})\, g_i,\qquad m_i = 1 - x_i (2 t_i - 1)

    with :math:`x` the logits, :math:`t \in \{0, 1\}` the foreground labels, :math:`\pi` sorting
    :math:`m` in decreasing order and :math:`g` the Lovász weights of the foreground (module
    docstring). Correct logits of magnitude at least 1 give 0; logits of :math:`\pm 1` give
    twice the Jaccard loss of their prediction.

    Inputs ``[batch..., spatial...]`` whose last axis is not 1 get a channel axis appended
    (the rule of :func:`binary_dice_loss`); ``axis`` then names the spatial axes of the
    channel-last ``[..., 1]`` maps. Mapping to the references: the authors'
    ``lovasz_hinge(logits, labels, per_image=True, ignore)`` is ``reduction="mean"``
    (``per_image=False`` is ``batch_dice=True``); kornia's ``lovasz_hinge_loss(pred, target)``
    (0.9, ``pred`` ``[B, 1, H, W]``) is ``reduction="mean"``.

    Edge cases: an example whose pixels are all ignored gives 0; an empty foreground gives
    the largest positive error (the Jaccard loss of a false positive is 1). The loss has kinks
    at :math:`m_i = 0` (a logit of :math:`\pm 1`, the hinge: gradient 0 there, as torch's
    ``relu``) and where two errors swap their order.

    Args:
      logits: ``[batch..., spatial...]`` or ``[batch..., spatial..., 1]`` logits, floating.
      labels: binary labels (bool, integer or float in ``[0, 1]``) of the same shape (or
        without the channel axis); integer labels may hold ``ignore_index``.
      ignore_index: a label value whose pixels are left out (integer labels only), or None.
      axis: spatial axes of the ``[..., 1]`` maps (static); default all but the first and
        the last.
      batch_dice: sort the pixels of the whole batch together (the authors'
        ``per_image=False``): one value.
      reduction: ``"none"``, ``"mean"``, ``"sum"`` or ``"sum_and_count"`` over the examples.
      where: optional boolean example mask, broadcastable to the per-example shape.
      weights: optional non-negative per-example weights.
      axis_name: the data-parallel batch axis inside ``shard_map``/``pmap`` (with
        ``batch_dice``, the pixels of every device are gathered and sorted together).

    Returns:
      Per-example losses ``[batch...]`` (a scalar with ``batch_dice``), a scalar, or the
      ``(sum, count)`` pair.

    References:
      Berman, Rannen Triki & Blaschko, "The Lovász-Softmax loss", CVPR 2018 (the authors'
      ``lovasz_hinge``); Yu & Blaschko, "Learning submodular losses with the Lovász hinge",
      ICML 2015; kornia ``lovasz_hinge_loss`` (0.9).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import lovasz_hinge_loss
      >>> logits = jnp.array([[2.0, -0.5, 0.3, -1.5]])  # [batch=1, pixels=4]
      >>> labels = jnp.array([[1, 1, 0, 0]])
      >>> print(f"{float(lovasz_hinge_loss(logits, labels)[0]):.4f}")
      0.9667
    """
    _checks.check_reduction(reduction)
    x, t = jnp.asarray(logits), jnp.asarray(labels)
    if x.ndim == t.ndim and x.ndim > 0 and x.shape[-1] != 1:
        x, t = x[..., None], t[..., None]
    maps = _overlap.prepare(
        x,
        t,
        "sigmoid",
        axis,
        batch_dice,
        where=where,
        axis_name=axis_name,
        name="logits",
        target="labels",
        ignore_index=ignore_index,
    )
    logits, targets = (_rows(a, maps.axes) for a in (maps.logits, maps.targets))
    errors = 1.0 - logits * (2.0 * targets - 1.0)
    losses, _ = _lovasz_rows(errors, targets, maps, hinge=True)
    return _finish(
        losses[..., 0], maps, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _lovasz_rows(
    errors: jax.Array, targets: jax.Array, maps: _overlap.Maps, hinge: bool = False
) -> tuple[jax.Array, jax.Array]:
    """The Lovász extension per example and class, ``[*example_shape, C]``, and whether the
    class has a (non-ignored) foreground pixel there, from the errors and targets in `_rows`
    layout."""
    rows = [errors, targets]
    valid_rows = None
    if maps.valid is not None:
        valid = jnp.broadcast_to(maps.valid[..., None], maps.logits.shape)
        valid_rows = _rows(valid, maps.axes)
    if maps.sum_axis_name is not None:  # batch_dice across devices: sort every pixel together
        rows = [_collectives.gather(r, maps.sum_axis_name) for r in rows]
        if valid_rows is not None:
            valid_rows = _collectives.gather(valid_rows, maps.sum_axis_name)
    return _lovasz_extension(rows[0], rows[1], valid_rows, hinge)


def _finish(per_example: jax.Array, maps: _overlap.Maps, **reduce_options) -> jax.Array:
    """`_overlap.finish`; with ``batch_dice`` across devices, every device holds the same
    global value, which ``pmean`` makes invariant: its transpose hands each device the
    gradient of its own pixels (the gathers' transposes add the devices' cotangents)."""
    if maps.sum_axis_name is not None:
        per_example = jax.lax.pmean(per_example, maps.sum_axis_name)
    return _overlap.finish(per_example, maps, **reduce_options)


def _rows(x: jax.Array, axes: tuple[int, ...]) -> jax.Array:
    """``[..., C]`` -> ``[*kept axes, C, N]``: the summed axes flattened last."""
    kept = tuple(a for a in range(x.ndim - 1) if a not in axes)
    x = jnp.transpose(x, (*kept, x.ndim - 1, *axes))
    return x.reshape(*x.shape[: len(kept) + 1], -1)


def _lovasz_extension(
    errors: jax.Array, foreground: jax.Array, valid: jax.Array | None, hinge: bool
) -> tuple[jax.Array, jax.Array]:
    """``sum_i m_(i) g_i`` over the last axis (errors sorted decreasingly), and ``G > 0``.

    Ignored pixels sort last and enter neither cumulative count, so their weights are 0 and
    the sum equals the sum over the kept pixels alone.
    """
    kept = jnp.ones(errors.shape, bool) if valid is None else valid
    fg = (foreground > 0.5) & kept
    keys = _sort_keys(errors, fg, kept)
    value = jnp.asarray(_lovasz_sum(errors, keys, jnp.sum(kept, axis=-1), hinge))
    return value, jnp.any(fg, axis=-1)


def _sort_keys(errors: jax.Array, fg: jax.Array, kept: jax.Array) -> jax.Array:
    """Integer keys whose ascending order is the errors' decreasing order, with the
    foreground bit in the last place and ignored pixels last.

    XLA:CPU sorts one integer operand several times faster than floats or several operands,
    so the foreground indicator rides in the key's lowest bit (the error loses its last
    mantissa bit: a relative change of one ulp, below the rounding of the sum). The map
    from a float's bits to an integer of the same order flips the magnitude bits of negative
    floats; ``~`` reverses the order without overflow.
    """
    int_type = jnp.int32 if errors.dtype.itemsize == 4 else jnp.int64
    ordered = _numerics.order_bits(jax.lax.bitcast_convert_type(errors, int_type))
    keys = (~ordered & ~1) | fg.astype(int_type)
    return jnp.where(kept, keys, jnp.iinfo(int_type).max)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3,))
def _lovasz_sum(errors: jax.Array, keys: jax.Array, count: jax.Array, hinge: bool) -> jax.Array:
    """The Lovász extension at the errors encoded in `keys` (`count` kept pixels per row);
    its gradient with respect to `errors` is the Lovász weight at each pixel's rank."""
    value, _ = _lovasz_forward(errors, keys, count, hinge)
    return value


def _lovasz_forward(errors, keys, count, hinge):
    """One integer sort (with its permutation); the weights from the foreground bits, the
    errors from the keys."""
    ordered, order = _numerics.sorted_with_order(keys)
    position = jax.lax.broadcasted_iota(jnp.int32, keys.shape, keys.ndim - 1)
    kept = position < count[..., None]
    # the foreground pixels up to each position; the kept ones are min(position + 1, count)
    seen_fg = _prefix_count(jnp.where(kept, ordered & 1, 0))
    total = seen_fg[..., -1]
    jaccard = _jaccard(total[..., None], seen_fg, jnp.minimum(position + 1, count[..., None]),
                       errors.dtype)  # fmt: skip
    lovasz_weights = jnp.concatenate(
        [jaccard[..., :1], jaccard[..., 1:] - jaccard[..., :-1]], axis=-1
    )
    # Decode the errors from the keys (the map of `_sort_keys` is an involution).
    bits = _numerics.order_bits(~ordered)
    sorted_errors = jnp.where(kept, jax.lax.bitcast_convert_type(bits, errors.dtype), 0.0)
    if hinge:
        sorted_errors = jax.nn.relu(sorted_errors)
    value = jnp.sum(sorted_errors * lovasz_weights, axis=-1)
    return value, (ordered, order, jaccard, lovasz_weights, count)


def _prefix_count(bits: jax.Array, block: int = 128) -> jax.Array:
    """Inclusive prefix sums of 0/1 integers along the last axis: within blocks of `block` a
    matmul with a triangular matrix of ones (exact: every partial sum is an integer below
    2**24), plus the running total of the blocks before."""
    n = bits.shape[-1]
    if n >= 2**24 or n <= block:
        return jax.lax.associative_scan(jnp.add, bits, axis=-1)
    padded = -(-n // block) * block
    x = jnp.pad(bits.astype(jnp.float32), [(0, 0)] * (bits.ndim - 1) + [(0, padded - n)])
    x = x.reshape(*bits.shape[:-1], padded // block, block)
    triangle = jnp.triu(jnp.ones((block, block), jnp.float32))
    within = jnp.matmul(x, triangle, precision=jax.lax.Precision.HIGHEST)
    totals = within[..., -1]
    before = jnp.cumsum(totals, axis=-1) - totals
    out = (within + before[..., None]).reshape(*bits.shape[:-1], padded)[..., :n]
    return out.astype(bits.dtype)


def _jaccard(total: jax.Array, seen_fg: jax.Array, seen: jax.Array, dtype) -> jax.Array:
    """``J = 1 - (G - F) / (G + S - F)`` after ``S`` kept pixels of which ``F`` foreground
    (``G`` in all); 1 where the union is empty (a row without kept pixels, whose weights
    are masked), as the authors' formula at ``0 / 0`` is undefined."""
    seen_fg = seen_fg.astype(dtype)
    total = total.astype(dtype)
    intersection = total - seen_fg
    union = total + seen.astype(dtype) - seen_fg
    ratio = jnp.where(union > 0, intersection / jnp.where(union > 0, union, 1.0), 0.0)
    return 1.0 - ratio


def _lovasz_sum_fwd(errors, keys, count, hinge):
    value, residuals = _lovasz_forward(errors, keys, count, hinge)
    return value, (errors, *residuals)


def _lovasz_sum_bwd(hinge, residuals, cotangent):
    """Each pixel's weight is ``g`` at its rank; tied keys share the mean of their block's
    weights, a subgradient that does not depend on the order the sort leaves ties in.

    The weights are formed in sorted order and scattered back through the sort's
    permutation. A ``lax.switch`` picks the cheapest exact path: without tied kept keys the
    forward's weights as they are; with blocks of at most `SHORT_BLOCK` equal keys (float
    errors: a few dozen pairs per row of 16384) an elementwise pass; otherwise (saturated
    probabilities, quantized inputs) running extrema and gathers.
    """
    errors, ordered, order, jaccard, lovasz_weights, count = residuals
    n = ordered.shape[-1]
    position = jax.lax.broadcasted_iota(jnp.int32, ordered.shape, ordered.ndim - 1)
    kept = position < count[..., None]

    # 0: no tied kept keys; 1: tie blocks of at most SHORT_BLOCK keys; 2: longer ones
    def spans(k):  # some block of tied kept keys spans more than k positions
        return jnp.any((ordered[..., k:] == ordered[..., :-k]) & kept[..., k:])

    paths, case = [lambda o, j: lovasz_weights], jnp.int32(0)
    if n > 1:
        paths, case = [*paths, _short_tie_block_means], case + spans(1)
    if n > SHORT_BLOCK:
        paths, case = [*paths, _tie_block_means], case + spans(SHORT_BLOCK)
    per_rank = jax.lax.switch(case, paths, ordered, jaccard)
    per_rank = jnp.where(kept, per_rank, 0.0)
    weights = _numerics.unpermute(per_rank, order)
    if hinge:
        weights = jnp.where(errors > 0, weights, 0.0)
    grad = cotangent[..., None] * weights
    return grad.astype(errors.dtype), None, None


def _short_tie_block_means(ordered: jax.Array, jaccard: jax.Array) -> jax.Array:
    """`_tie_block_means` where no block of equal keys is longer than `SHORT_BLOCK`: each
    position's distances to its block's ends are counts of equal neighbours within that
    window, and ``J`` at the ends is selected from shifted copies: one elementwise pass, no
    scan or gather (on XLA:CPU 4x cheaper than the general path; float errors tie in short
    blocks: about 64 pairs in each row of 16384 softmax errors)."""

    def shifted(x, k, fill):  # x[..., p + k], `fill` outside the row (a pad: it fuses)
        fill = jnp.asarray(fill, x.dtype)
        if abs(k) >= x.shape[-1]:
            return jnp.full(x.shape, fill)
        edge = (0, 0, 0)
        return jax.lax.pad(x, fill, [edge] * (x.ndim - 1) + [(-k, k, 0)])

    before = sum(
        (shifted(ordered, -k, 0) == ordered) & shifted(jnp.ones_like(ordered, bool), -k, False)
        for k in range(1, SHORT_BLOCK)
    )
    after = sum(
        (shifted(ordered, k, 0) == ordered) & shifted(jnp.ones_like(ordered, bool), k, False)
        for k in range(1, SHORT_BLOCK)
    )
    # J(hi) = jaccard[p + after]; J(lo) = jaccard[p - before - 1] (J(0) = 0 before the row)
    j_hi = sum(jnp.where(after == k, shifted(jaccard, k, 0.0), 0.0) for k in range(SHORT_BLOCK))
    j_lo = sum(
        jnp.where(before == k, shifted(jaccard, -k - 1, 0.0), 0.0) for k in range(SHORT_BLOCK)
    )
    return (j_hi - j_lo) / jnp.asarray(before + after + 1, jaccard.dtype)


def _tie_block_means(ordered: jax.Array, jaccard: jax.Array) -> jax.Array:
    """The mean Lovász weight of each sorted position's block of equal keys: a block at
    sorted positions ``[lo, hi)`` has ``(J(hi) - J(lo)) / (hi - lo)``, ``J(k)`` the Jaccard
    term after ``k`` sorted pixels (``jaccard[k - 1]``; ``J(0) = 0``). A block holds pixels of
    one foreground bit (the key's last bit). Ignored pixels (the largest key) may tie: their
    weights are masked."""
    n = ordered.shape[-1]
    axis = ordered.ndim - 1
    position = jax.lax.broadcasted_iota(jnp.int32, ordered.shape, axis)
    change = ordered[..., 1:] != ordered[..., :-1]
    first = jnp.concatenate([jnp.ones_like(change[..., :1]), change], axis=-1)
    last = jnp.concatenate([change, jnp.ones_like(change[..., :1])], axis=-1)
    lo = jax.lax.cummax(jnp.where(first, position, 0), axis=axis)
    hi = jax.lax.cummin(jnp.where(last, position + 1, n), axis=axis, reverse=True)
    j_hi = jnp.take_along_axis(jaccard, hi - 1, -1, mode="promise_in_bounds")
    j_lo = jnp.take_along_axis(jaccard, jnp.maximum(lo - 1, 0), -1, mode="promise_in_bounds")
    j_lo = jnp.where(lo > 0, j_lo, 0.0)
    return (j_hi - j_lo) / (hi - lo).astype(jaccard.dtype)


_lovasz_sum.defvjp(_lovasz_sum_fwd, _lovasz_sum_bwd)
