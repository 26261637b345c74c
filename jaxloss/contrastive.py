"""Contrastive losses at scale: CLIP, SigLIP, InfoNCE and supervised contrastive.

Each loss scores a batch of ``B`` examples against ``M`` candidates through the similarity
matrix ``S`` (``[B, M]``) and needs only a few statistics of it per row and per column
(log-sum-exps, sums over positives). Three computations give the same values and gradients:

- ``method="dense"``: ``S`` is built whole (``O(B M)`` memory). The default for small
  batches.
- ``method="blockwise"``: ``S`` is visited in column tiles of ``block_size`` with an online
  log-sum-exp over rows and columns; a custom VJP recomputes the tiles in the backward pass,
  so temporary memory is ``O(B x block_size)``, never ``O(B M)``. ``method="auto"`` (the
  default) chooses it once ``B M`` exceeds 2**22 entries (16 MiB in float32).
- ``method="ring"`` (with ``axis_name``, inside ``jax.shard_map``): each device keeps its
  local rows (images, queries, anchors) and passes the blocks of candidates (texts, keys)
  around the devices with ``jax.lax.ppermute``, accumulating the online log-sum-exp; the
  column statistics travel with their block. The backward pass turns the ring again under
  the custom VJP, so no device holds the global feature matrix or a global tile
  (Inf-CL, Cheng et al. 2024). With ``axis_name`` and ``"auto"``, small global batches use
  the gather path instead (``all_gather`` of the candidates, then ``"dense"``), as do
  ``"dense"`` and ``"blockwise"`` (then tiled locally).

Under plain ``jax.jit`` with sharded inputs (GSPMD, no ``axis_name``) every method is
correct; the partitioner then decides the communication.

Features are used as given by `clip_loss`, `sigmoid_contrastive_loss` and `infonce_loss`
(the model normalises them, as open_clip's models do); `supervised_contrastive_loss` uses
cosine similarities (it normalises, as pytorch-metric-learning does).

Reduction, masks and weights (CONTRIBUTING.md, section 4). ``reduction="none"`` (default)
gives one value per example ``[..., B]``. ``where`` removes an example entirely (an image-text
pair, a query-key pair, an anchor): it is neither a row nor a candidate of the others, and its
features may hold anything (NaN padding). ``weights`` weight the per-example values. An
example without a term (a query or anchor without a positive) gives 0 and does not count in
``"mean"``. With ``axis_name`` the reductions are global and every candidate of the global
batch is scored; ``"none"`` gives the local values.

Singular points: duplicated or zero embeddings give finite values and gradients (a zero
vector has similarity 0 with everything), as do a batch of one and all-masked batches (0).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _embedding, _numerics
from jaxloss._contrastive_blocks import (
    DENSE_MAX_ENTRIES,
    EMPTY,
    METHODS,
    Spec,
    batched_statistics,
    resolve_method,
)
from jaxloss.reductions import reduce_loss

__all__ = [
    "clip_loss",
    "infonce_loss",
    "sigmoid_contrastive_loss",
    "supervised_contrastive_loss",
]

_COMMON = """
      reduction: ``"none"`` (default: per example, ``[..., B]``), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static), with `jaxloss.reduce`'s semantics.
      where: optional boolean example mask broadcastable to ``[..., B]``: a ``False`` example
        is removed entirely (not a candidate of the others either; its features are not
        read).
      weights: optional non-negative per-example weights broadcastable to ``[..., B]``.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): every example
        is scored against the candidates of the global batch and the reductions are global
        (see the module docstring).
      method: ``"auto"`` (default), ``"dense"``, ``"blockwise"`` or ``"ring"`` (needs
        ``axis_name``), static; see the module docstring.
      block_size: the number of candidate columns per tile of ``"blockwise"`` and
        ``"ring"`` (static, ``>= 1``)."""


@_dispatch.compiled_when_eager
def clip_loss(
    image_embeddings: ArrayLike,
    text_embeddings: ArrayLike,
    *,
    logit_scale: ArrayLike | None = None,
    temperature: ArrayLike | None = None,
    logit_bias: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
    method: str = "auto",
    block_size: int = 512,
) -> jax.Array:
    r"""Symmetric InfoNCE of CLIP over a batch of paired image and text embeddings.

    With logits :math:`s_{ij} = t\, x_i \cdot y_j + b` (:math:`t` the ``logit_scale``, or
    :math:`1/\tau` for a ``temperature``; :math:`b` the optional ``logit_bias``), each
    image :math:`i` is classified over the texts and each text over the images:

    .. math::
        \ell_i = \tfrac12 \Big[\big(\log\textstyle\sum_j e^{s_{ij}} - s_{ii}\big)
        + \big(\log\textstyle\sum_j e^{s_{ji}} - s_{ii}\big)\Big]

    so ``"mean"`` is open_clip's ``ClipLoss``. With label smoothing :math:`\varepsilon` (as
    torch's ``cross_entropy``), each :math:`s_{ii}` becomes
    :math:`(1 - \varepsilon) s_{ii} + \varepsilon \bar s_{i\cdot}` with :math:`\bar s` the
    mean logit of the row (resp. column). Embeddings are used as given: normalise them in the
    model, as open_clip does. Gradients reach the embeddings, the scale (or temperature) and
    the bias.

    Args:
      image_embeddings: ``[..., B, D]`` floating array.
      text_embeddings: ``[..., B, D]``, text ``i`` paired with image ``i``.
      logit_scale: the multiplier :math:`t > 0`, a scalar (open_clip passes
        ``logit_scale.exp()``, clamped at 100). Exactly one of ``logit_scale`` and
        ``temperature``.
      temperature: the divisor :math:`\tau > 0`, a scalar.
      logit_bias: optional scalar :math:`b` added to every logit.
      label_smoothing: :math:`\varepsilon \in [0, 1]`.{common}

    Returns:
      Per-pair values ``[..., B]`` (``"none"``), or the reduction.

    References:
      A. Radford et al., "Learning Transferable Visual Models From Natural Language
      Supervision", ICML 2021; open_clip ``ClipLoss`` (``gather_with_grad=True`` across
      devices); Inf-CL: Z. Cheng et al., "Breaking the Memory Barrier: Near Infinite Batch
      Size Scaling for Contrastive Loss", 2024 (the ring).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import clip_loss
      >>> images = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> texts = jnp.array([[0.8, 0.6], [0.6, 0.8]])
      >>> clip_loss(images, texts, logit_scale=10.0).round(4)
      Array([0.1269, 0.1269], dtype=float32)
    """
    x, y, dtype, valid, weights, method = _paired_inputs(
        ("image_embeddings", image_embeddings),
        ("text_embeddings", text_embeddings),
        where,
        weights,
        reduction,
        method,
        block_size,
        axis_name,
    )
    _checks.check_scalar_range("label_smoothing", label_smoothing, low=0.0, high=1.0)
    x, y, bias = _scaled(x, y, logit_scale, temperature, logit_bias, required=True)
    spec = Spec(row_lse=True, col_lse=True)
    rows, cols = _statistics(
        x, y, valid, valid, None, spec, method, block_size, axis_name, bias=bias
    )
    diag = jnp.sum(x * y, axis=-1)
    if bias is not None:
        diag = diag + bias
    target_rows = target_cols = diag
    if not _checks.is_concrete_zero(label_smoothing):
        # The uniform part of the smoothed target: the mean logit over the valid candidates.
        count = _global_sum(jnp.sum(valid, axis=-1, dtype=x.dtype), axis_name)[..., None]
        keep = valid[..., None]
        mean_y = _global_sum(jnp.sum(jnp.where(keep, y, 0.0), axis=-2), axis_name)
        mean_x = _global_sum(jnp.sum(jnp.where(keep, x, 0.0), axis=-2), axis_name)
        mean_y, mean_x = (v / jnp.maximum(count, 1) for v in (mean_y, mean_x))
        eps = jnp.asarray(label_smoothing, x.dtype)
        # The bias is in every candidate's logit, so in their mean (when there is one).
        mean_bias = 0.0 if bias is None else bias * jnp.minimum(count[..., 0], 1)[..., None]
        uniform_rows = jnp.sum(x * mean_y[..., None, :], axis=-1) + mean_bias
        uniform_cols = jnp.sum(y * mean_x[..., None, :], axis=-1) + mean_bias
        target_rows = (1 - eps) * diag + eps * uniform_rows
        target_cols = (1 - eps) * diag + eps * uniform_cols
    loss = 0.5 * ((rows["lse"] - target_rows) + (cols["lse"] - target_cols))
    return _reduce(loss, valid, weights, dtype, reduction, axis_name)


@_dispatch.compiled_when_eager
def sigmoid_contrastive_loss(
    image_embeddings: ArrayLike,
    text_embeddings: ArrayLike,
    *,
    logit_scale: ArrayLike,
    logit_bias: ArrayLike,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
    method: str = "auto",
    block_size: int = 512,
) -> jax.Array:
    r"""SigLIP's pairwise sigmoid loss: every image-text pair an independent binary term.

    With :math:`s_{ij} = t\, x_i \cdot y_j + b` and :math:`z_{ij} = 1` for the matching pair
    (:math:`i = j`), :math:`-1` otherwise, image :math:`i` gets

    .. math::
        \ell_i = -\sum_j \log \sigma(z_{ij} s_{ij})

    (the sum over the candidates of the global batch), so ``"mean"`` is
    :math:`-\frac1B \sum_{ij} \log\sigma(z_{ij} s_{ij})`, open_clip's ``SigLipLoss`` and the
    paper's loss. Embeddings are used as given (the model normalises them).

    Args:
      image_embeddings: ``[..., B, D]`` floating array.
      text_embeddings: ``[..., B, D]``, text ``i`` paired with image ``i``.
      logit_scale: the multiplier :math:`t > 0`, a scalar (SigLIP learns
        :math:`t = e^{t'}`, initialised at 10).
      logit_bias: the scalar bias :math:`b` (SigLIP initialises it at -10).{common}

    Returns:
      Per-image values ``[..., B]`` (``"none"``), or the reduction.

    References:
      X. Zhai, B. Mustafa, A. Kolesnikov, L. Beyer, "Sigmoid Loss for Language Image
      Pre-Training", ICCV 2023; open_clip ``SigLipLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid_contrastive_loss
      >>> images = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> texts = jnp.array([[0.8, 0.6], [0.6, 0.8]])
      >>> loss = sigmoid_contrastive_loss(images, texts, logit_scale=10.0, logit_bias=-5.0)
      >>> loss.round(4)
      Array([1.3618, 1.3618], dtype=float32)
    """
    x, y, dtype, valid, weights, method = _paired_inputs(
        ("image_embeddings", image_embeddings),
        ("text_embeddings", text_embeddings),
        where,
        weights,
        reduction,
        method,
        block_size,
        axis_name,
    )
    x, y, bias = _scaled(x, y, logit_scale, None, logit_bias, required=True)
    spec = Spec(positives="diagonal", sigmoid=True)
    rows, _ = _statistics(x, y, valid, valid, None, spec, method, block_size, axis_name, bias=bias)
    return _reduce(rows["sigmoid"], valid, weights, dtype, reduction, axis_name)


@_dispatch.compiled_when_eager
def infonce_loss(
    queries: ArrayLike,
    keys: ArrayLike,
    *,
    positives: ArrayLike | None = None,
    negatives: ArrayLike | None = None,
    temperature: ArrayLike = 0.07,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
    method: str = "auto",
    block_size: int = 512,
) -> jax.Array:
    r"""InfoNCE with in-batch negatives, one or several positives, and an optional bank.

    With :math:`s_{ij} = q_i \cdot k_j / \tau` over the keys of the batch and the extra
    negatives :math:`n_m` of a memory bank (:math:`s_{im} = q_i \cdot n_m / \tau`), and
    :math:`P(i)` the positive keys of query :math:`i`:

    .. math::
        \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
        \log \frac{e^{s_{ip}}}{\sum_j e^{s_{ij}} + \sum_m e^{s_{im}}}

    (the "out" form: each positive against all keys and bank entries). With one positive,
    key :math:`i` of query :math:`i` (the default), this is the InfoNCE of van den Oord et al.
    and MoCo's loss with the batch's other keys as extra negatives. A query without a
    positive gives 0 and does not count in ``"mean"``. Features are used as given.

    Args:
      queries: ``[..., B, D]`` floating array.
      keys: ``[..., B, D]``; example ``i`` is the pair (query ``i``, key ``i``).
      positives: optional boolean ``[..., B, B]``: ``positives[i, j]`` makes key ``j`` a
        positive of query ``i``. Default: the diagonal. With ``axis_name``: the local rows
        against the global keys, ``[..., b, B]``.
      negatives: optional ``[M, D]`` (or ``[..., M, D]``) extra negatives (a queue), the same
        on every device under ``axis_name``; gradients reach them.
      temperature: :math:`\tau > 0`.{common}

    Returns:
      Per-query values ``[..., B]`` (``"none"``), or the reduction.

    References:
      A. van den Oord, Y. Li, O. Vinyals, "Representation Learning with Contrastive
      Predictive Coding", 2018; K. He et al., "Momentum Contrast for Unsupervised Visual
      Representation Learning", CVPR 2020.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import infonce_loss
      >>> q = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> k = jnp.array([[0.8, 0.6], [0.6, 0.8]])
      >>> infonce_loss(q, k, temperature=0.1).round(4)
      Array([0.1269, 0.1269], dtype=float32)
    """
    x, y, dtype, valid, weights, method = _paired_inputs(
        ("queries", queries),
        ("keys", keys),
        where,
        weights,
        reduction,
        method,
        block_size,
        axis_name,
    )
    _checks.check_positive("temperature", temperature)
    x, y, _ = _scaled(x, y, None, temperature, None, required=True)
    kind, pos = "diagonal", None
    if positives is not None:
        kind = "matrix"
        pos = _checks.as_bool("positives", positives)
        devices = 1 if axis_name is None else jax.lax.axis_size(axis_name)
        want = (*x.shape[:-1], x.shape[-2] * devices)
        if pos.shape != want:
            raise ValueError(
                f"`positives` must have shape [..., B, B] (queries x keys), here {want}; got "
                f"{pos.shape}."
            )
    spec = Spec(row_lse=True, positives=kind, pos_sum=True)
    rows, _ = _statistics(x, y, valid, valid, pos, spec, method, block_size, axis_name)
    lse = rows["lse"]
    if negatives is not None:
        bank = _checks.as_float("negatives", negatives).astype(x.dtype)
        if bank.ndim < 2 or bank.shape[-1] != y.shape[-1]:
            raise ValueError(
                f"`negatives` must have shape [M, {y.shape[-1]}] (or [..., M, D]); got "
                f"{bank.shape}."
            )
        bank = jnp.broadcast_to(bank, (*x.shape[:-2], *bank.shape[-2:]))
        bank_valid = jnp.ones(bank.shape[:-1], bool)
        # The bank is the same on every device: each scores its own rows against all of it,
        # in tiles unless the keys' method and the [B, M] matrix are both small.
        small = x.shape[-2] * bank.shape[-2] <= DENSE_MAX_ENTRIES
        local = "dense" if method == "dense" and small else "blockwise"
        bank_rows, _ = _statistics(
            x, bank, valid, bank_valid, None, Spec(row_lse=True), local, block_size, None
        )
        lse = jnp.logaddexp(lse, bank_rows["lse"])
    count = rows["pos_count"]
    has = valid & (count > 0)
    loss = jnp.where(has, lse - rows["pos_sum"] / jnp.where(has, count, 1), 0.0)
    return _reduce(loss, has, weights, dtype, reduction, axis_name)


@_dispatch.compiled_when_eager
def supervised_contrastive_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    temperature: ArrayLike = 0.1,
    form: str = "out",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
    method: str = "auto",
    block_size: int = 512,
) -> jax.Array:
    r"""Supervised contrastive loss (SupCon), both of Khosla et al.'s forms.

    With :math:`s_{ij} = \cos(e_i, e_j) / \tau`, :math:`A(i)` every other example and
    :math:`P(i) \subset A(i)` those with the label of :math:`i`:

    .. math::
        \ell^{out}_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
            \log \frac{e^{s_{ip}}}{\sum_{a \in A(i)} e^{s_{ia}}},\qquad
        \ell^{in}_i = -\log \frac{1}{|P(i)|} \sum_{p \in P(i)}
            \frac{e^{s_{ip}}}{\sum_{a \in A(i)} e^{s_{ia}}}

    An anchor without a positive gives 0 (no NaN) and does not count in ``"mean"``, so
    ``"mean"`` of the "out" form is pytorch-metric-learning's ``SupConLoss`` (whose reducer
    averages the non-zero anchor losses). It differs when the batch has no negative at all
    (a single class): pytorch-metric-learning then returns 0, this function the formula.
    Embeddings are normalised first, :math:`e / \max(\lVert e\rVert, 10^{-12})` (torch's
    ``normalize``): a zero vector has cosine 0 with everything.

    Args:
      embeddings: ``[..., B, D]`` floating array.
      labels: ``[..., B]`` integer class ids; equal labels are positives.
      temperature: :math:`\tau > 0`.
      form: ``"out"`` (default; the paper's recommended :math:`\mathcal{L}^{sup}_{out}`) or
        ``"in"`` (static).{common}

    Returns:
      Per-anchor values ``[..., B]`` (``"none"``), or the reduction.

    References:
      P. Khosla et al., "Supervised Contrastive Learning", NeurIPS 2020, eqs. (2) and (3);
      pytorch-metric-learning ``SupConLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import supervised_contrastive_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])
      >>> supervised_contrastive_loss(e, jnp.array([0, 0, 1]), temperature=0.5).round(4)
      Array([0.1839, 0.513 , 0.    ], dtype=float32)
    """
    _checks.check_choice("form", form, ("out", "in"))
    _checks.check_positive("temperature", temperature)
    x, labels, dtype = _embedding.embeddings_and_labels(embeddings, labels)
    valid, weights, method = _options(where, weights, labels.shape, reduction, method, block_size)
    method = resolve_method(method, x.shape[-2], axis_name)
    (x,) = _embedding.zero_masked_rows(valid, x)
    u = _numerics.unit_normalize(x, floor=1e-24)
    spec = Spec(
        row_lse=True,
        positives="labels",
        pos_sum=form == "out",
        pos_lse=form == "in",
        exclude_self=True,
    )
    x = u / jnp.asarray(temperature, u.dtype)
    rows, _ = _statistics(x, u, valid, valid, None, spec, method, block_size, axis_name, labels)
    count = rows["pos_count"]
    has = valid & (count > 0)
    safe = jnp.where(has, count, 1)
    if form == "out":
        loss = rows["lse"] - rows["pos_sum"] / safe
    else:
        loss = rows["lse"] - rows["pos_lse"] + jnp.log(safe)
    return _reduce(jnp.where(has, loss, 0.0), has, weights, dtype, reduction, axis_name)


for _fn in (clip_loss, sigmoid_contrastive_loss, infonce_loss, supervised_contrastive_loss):
    assert _fn.__doc__ is not None  # each is written above (python -OO strips both)
    _fn.__doc__ = _fn.__doc__.replace("{common}", _COMMON)
del _fn


# Private helpers ----------------------------------------------------------------------------


def _options(where, weights, shape, reduction, method, block_size):
    """Checked static options; the example mask (all True when absent) and the weights."""
    _checks.check_reduction(reduction)
    _checks.check_choice("method", method, METHODS)
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"`block_size` must be a static int >= 1; got {block_size!r}.")
    mask, weights = _embedding.mask_and_weights(where, weights, shape)
    valid = jnp.ones(shape, bool) if mask is None else mask
    return valid, weights, method


def _paired_inputs(first, second, where, weights, reduction, method, block_size, axis_name):
    """The two ``[..., B, D]`` arrays (masked rows zeroed, compute dtype), the result dtype,
    the example mask, the weights and the resolved method."""
    (name_x, x), (name_y, y) = first, second
    x, y = _checks.as_float(name_x, x), _checks.as_float(name_y, y)
    _checks.check_min_rank(name_x, x, 2)
    _checks.check_same_shape(**{name_x: x, name_y: y})
    dtype = _checks.result_dtype(x, y)
    acc = _checks.compute_dtype(dtype)
    valid, weights, method = _options(where, weights, x.shape[:-1], reduction, method, block_size)
    x, y = _embedding.zero_masked_rows(valid, x.astype(acc), y.astype(acc))
    return x, y, dtype, valid, weights, resolve_method(method, x.shape[-2], axis_name)


def _scaled(x, y, logit_scale, temperature, logit_bias, *, required):
    """``x`` times the scale (or over the temperature), and the bias as a scalar of ``x``'s
    dtype (None without one), so that ``x . y + bias`` is the logit."""
    if required and (logit_scale is None) == (temperature is None):
        raise ValueError("Give exactly one of `logit_scale` and `temperature`.")
    if logit_scale is not None:
        scale = _scalar("logit_scale", logit_scale, x.dtype)
        _checks.check_positive("logit_scale", logit_scale)
        x = x * scale
    else:
        _checks.check_positive("temperature", temperature)
        x = x / _scalar("temperature", temperature, x.dtype)
    bias = None if logit_bias is None else _scalar("logit_bias", logit_bias, x.dtype)
    return x, y, bias


def _scalar(name, value, dtype):
    value = _checks.as_float(name, value)
    if value.ndim != 0:
        raise ValueError(f"`{name}` must be a scalar; got shape {value.shape}.")
    return value.astype(dtype)


def _statistics(
    x, y, row_valid, col_valid, positives, spec, method, block_size, axis_name, labels=None,
    bias=None,
):  # fmt: skip
    """The statistics of ``[..., B, D]`` inputs, an empty log-sum-exp replaced by 0; `bias`
    (a scalar) is added to every logit."""
    rows = {"valid": row_valid}
    if bias is not None:
        rows["bias"] = jnp.broadcast_to(bias, row_valid.shape)
    cols = {"valid": col_valid}
    if labels is not None:
        rows["labels"] = cols["labels"] = labels
    row_stats, col_stats = batched_statistics(
        x, y, rows, cols, positives, spec, method=method, block_size=block_size,
        axis_name=axis_name,
    )  # fmt: skip
    for stats in (row_stats, col_stats):
        for key in ("lse", "pos_lse"):
            if key in stats:  # the empty log-sum-exp of an example without candidates
                stats[key] = jnp.where(stats[key] <= EMPTY / 2, 0.0, stats[key])
    return row_stats, col_stats


def _global_sum(value, axis_name):
    return value if axis_name is None else jax.lax.psum(value, axis_name)


def _reduce(loss, valid, weights, dtype, reduction, axis_name):
    loss = jnp.where(valid, loss, 0.0).astype(dtype)
    return reduce_loss(
        loss, dtype, reduction=reduction, where=valid, weights=weights, axis_name=axis_name
    )
