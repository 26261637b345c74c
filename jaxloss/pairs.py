"""Pair losses: two aligned batches scored pair by pair, and NT-Xent over a batch's pairs.

``cosine_similarity_loss``, ``cosine_embedding_loss`` and ``contrastive_loss`` take two aligned
batches ``x1``, ``x2`` (the last two with one label per pair: similar or dissimilar);
``ntxent`` takes ``(embeddings, labels)`` and contrasts every positive pair of the batch with
the anchor's negatives, in O(B^2) memory, or blockwise / as a ring over devices without the
B x B matrix (``method=``, as the losses of `jaxloss.contrastive`). Triplets and quadruplets
are in `jaxloss.triplets` (given tuples) and `jaxloss.mining` (mined from a batch).

Singular points. A zero vector has cosine 0 with everything and identical pairs have distance
0, with finite gradients. A batch without a positive pair gives NT-Xent 0 with zero
gradients, never NaN.

Reduction, masks and weights. Every loss here takes ``reduction`` (``"none"`` by default,
except ``ntxent``: ``"mean"``, optax's scalar), ``where`` and ``weights`` with
`jaxloss.reduce`'s semantics (CONTRIBUTING.md, section 4). For the pair losses they are
per pair; a masked pair's vectors are replaced by zeros first, so a non-finite masked input
reaches neither the value nor the gradient. For ``ntxent`` ``where`` removes an example
entirely (as an anchor and as a candidate, as `jaxloss.mining` does) and ``weights`` weight
the anchors.

Across devices. Every loss here takes ``axis_name``, the data-parallel batch axis: inside
``jax.shard_map`` (or ``pmap``) with the batch split over that mesh axis, ``"mean"``,
``"sum"`` and ``"sum_and_count"`` are global (the local numerators and denominators are
``psum``-ed and divided once), and ``ntxent`` scores its local anchors against the candidates
of the whole global batch (gathered with ``jax.lax.all_gather(..., tiled=True)``). The reduced
loss is the same on every device and equals the single-device loss on the concatenated batch,
values and gradients; ``reduction="none"`` returns the local values. `jaxloss.mining` shows a
data-parallel Flax step.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _contrastive_blocks, _embedding, _numerics
from jaxloss.pairwise import pairwise_distances
from jaxloss.reductions import reduce_loss
from jaxloss.similarity import cosine_similarity

__all__ = [
    "contrastive_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "ntxent",
]

_PAIR_REDUCTION = """
      reduction: ``"none"`` (default: per pair, ``[...]``), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static), with `jaxloss.reduce`'s semantics.
      where: optional boolean pair mask broadcastable to ``[...]``: a masked pair gives 0,
        does not count in ``"mean"``, and its (possibly non-finite) inputs are not read.
      weights: optional non-negative per-pair weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): the
        reductions are then global (see the module docstring)."""


def cosine_similarity_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Cosine similarity loss :math:`1 - \cos(p, t)`.

    .. math::
        \ell = 1 - \frac{\langle p, t\rangle}{\max(\lVert p\rVert, \epsilon)\,
        \max(\lVert t\rVert, \epsilon)}

    A zero vector has cosine 0 with everything (loss 1) and a finite gradient.

    Args:
      predictions: ``[..., D]`` floating array (vector axis ``axis``).
      targets: same shape as ``predictions``.
      axis: the vector axis (static).
      eps: lower bound on each norm, ``> 0`` (the :math:`\epsilon` of the formula).{reduce}

    Returns:
      Per-example losses in ``[0, 2]`` with ``axis`` removed (``"none"``), or the reduction.

    References:
      ``1 - torch.nn.functional.cosine_similarity(p, t, eps=eps)``; optax
      ``cosine_distance(p, t, epsilon=eps**2)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import cosine_similarity_loss
      >>> cosine_similarity_loss(jnp.array([[1.0, 0.0]]), jnp.array([[0.0, 2.0]]))
      Array([1.], dtype=float32)
    """
    predictions = _checks.as_float("predictions", predictions)
    targets = _checks.as_float("targets", targets)
    _checks.check_same_shape(predictions=predictions, targets=targets)
    _checks.check_min_rank("predictions", predictions, 1)
    axis = _checks.normalize_axis("axis", axis, predictions.ndim)
    _checks.check_positive("eps", eps)
    _checks.check_reduction(reduction)
    dtype = _checks.result_dtype(predictions, targets)
    acc = _checks.compute_dtype(dtype)
    p, t = (jnp.moveaxis(v.astype(acc), axis, -1) for v in (predictions, targets))
    mask = _pair_mask(where, p.shape[:-1])
    p, t = _embedding.zero_masked_rows(mask, p, t)
    loss = 1.0 - cosine_similarity(p, t, epsilon=eps**2)
    return _reduce(loss, dtype, reduction, mask, weights, axis_name)


def cosine_embedding_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 0.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Cosine embedding loss: pull similar pairs to cosine 1, push dissimilar below a margin.

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
        \max(0, \cos(x_1, x_2) - m) & y = -1 \end{cases},\qquad
        \cos = \frac{\langle x_1, x_2\rangle}
        {\sqrt{(\lVert x_1\rVert^2 + 10^{-12})(\lVert x_2\rVert^2 + 10^{-12})}}

    Exactly torch's formula, including its :math:`10^{-12}`: a zero vector has cosine 0 and
    a finite gradient. Labels other than :math:`\pm 1` give 0 (as in torch); they raise on
    concrete labels and in checked mode (`jax.experimental.checkify` with
    ``errors=checkify.user_checks``; CONTRIBUTING.md, section 7).

    Args:
      x1: ``[..., D]`` floating array.
      x2: same shape as ``x1``.
      labels: ``[...]`` with values in ``{1, -1}`` (integer or floating).
      margin: :math:`m \in [-1, 1]`.{reduce}

    Returns:
      Per-pair losses ``[...]`` (``"none"``), or the reduction.

    References:
      ``torch.nn.functional.cosine_embedding_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import cosine_embedding_loss
      >>> x1 = jnp.array([[1.0, 0.0], [1.0, 0.0]])
      >>> x2 = jnp.array([[1.0, 1.0], [1.0, 1.0]])
      >>> loss = cosine_embedding_loss(x1, x2, jnp.array([1, -1]), margin=0.5)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.2929', '0.2071']
    """
    x1 = _checks.as_float("x1", x1)
    x2 = _checks.as_float("x2", x2)
    _checks.check_same_shape(x1=x1, x2=x2)
    _checks.check_min_rank("x1", x1, 1)
    labels = _pair_labels(labels, x1.shape[:-1])
    _checks.check_scalar_range("margin", margin, low=-1.0, high=1.0)
    _checks.check_reduction(reduction)
    dtype = _checks.result_dtype(x1, x2)
    acc = _checks.compute_dtype(dtype)
    mask = _pair_mask(where, labels.shape)
    _checks.check_values_among("labels", labels, (-1, 1), where=mask)
    a, b = _embedding.zero_masked_rows(mask, x1.astype(acc), x2.astype(acc))
    # torch: prod / sqrt((|a|^2 + EPSILON) * (|b|^2 + EPSILON)), EPSILON = 1e-12.
    cos = jnp.sum(a * b, axis=-1) / jnp.sqrt(
        (jnp.sum(a * a, axis=-1) + 1e-12) * (jnp.sum(b * b, axis=-1) + 1e-12)
    )
    loss = jnp.where(labels == 1, 1.0 - cos, 0.0) + jnp.where(
        labels == -1, jax.nn.relu(cos - margin), 0.0
    )
    return _reduce(loss, dtype, reduction, mask, weights, axis_name)


def contrastive_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 1.0,
    distance: _embedding.Distance = "euclidean",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Contrastive loss of Hadsell et al.: similar pairs close, dissimilar pairs past a margin.

    .. math::
        \ell = y\, d(x_1, x_2)^2 + (1 - y) \max(0, m - d(x_1, x_2))^2

    with :math:`y = 1` for a similar pair and :math:`0` for a dissimilar one (soft labels in
    ``[0, 1]`` interpolate). Hadsell et al. write :math:`\tfrac12` in front of both terms
    and :math:`Y = 0` for similar pairs; we follow the issue's (and pytorch-metric-learning's)
    form without the halves. Identical pairs give :math:`d = 0` with a finite gradient.

    Labels outside :math:`[0, 1]` are used as given (the formula extends linearly); they
    raise on concrete labels and in checked mode (CONTRIBUTING.md, section 7).

    Args:
      x1: ``[..., D]`` floating array.
      x2: same shape as ``x1``.
      labels: ``[...]``, 1 for similar and 0 for dissimilar pairs (bool, integer or float
        in :math:`[0, 1]`).
      margin: :math:`m \ge 0`.
      distance: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        (:math:`1 - \cos`), ``"manhattan"``, ``"chebyshev"`` or a callable
        ``f(x1, x2) -> [...]`` along the last axis (e.g.
        ``functools.partial(jaxloss.minkowski_distance, p=3.0)``).{reduce}

    Returns:
      Per-pair losses ``[...]`` (``"none"``), or the reduction.

    References:
      R. Hadsell, S. Chopra, Y. LeCun, "Dimensionality Reduction by Learning an Invariant
      Mapping", CVPR 2006, eq. (4).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import contrastive_loss
      >>> x1 = jnp.array([[0.0, 0.0], [0.0, 0.0]])
      >>> x2 = jnp.array([[0.3, 0.4], [0.3, 0.4]])
      >>> contrastive_loss(x1, x2, jnp.array([1, 0])).round(4)
      Array([0.25, 0.25], dtype=float32)
    """
    x1 = _checks.as_float("x1", x1)
    x2 = _checks.as_float("x2", x2)
    _checks.check_same_shape(x1=x1, x2=x2)
    _checks.check_min_rank("x1", x1, 1)
    labels = _pair_labels(labels, x1.shape[:-1])
    _checks.check_nonnegative("margin", margin)
    _checks.check_reduction(reduction)
    _embedding.check_distance(distance)
    dtype = _checks.result_dtype(x1, x2)
    acc = _checks.compute_dtype(dtype)
    mask = _pair_mask(where, labels.shape)
    y = labels.astype(acc)
    _checks.check_values_in("labels", y, low=0.0, high=1.0, where=mask)
    a, b = _embedding.zero_masked_rows(mask, x1.astype(acc), x2.astype(acc))
    d = _embedding.pair_distance(a, b, distance)
    loss = y * jnp.square(d) + (1.0 - y) * jnp.square(jax.nn.relu(margin - d))
    return _reduce(loss, dtype, reduction, mask, weights, axis_name)


def ntxent(
    embeddings: ArrayLike,
    labels: ArrayLike,
    temperature: ArrayLike = 0.07,
    *,
    reduction: str = "mean",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
    method: str = "auto",
    block_size: int = 512,
) -> jax.Array:
    r"""Normalized temperature-scaled cross-entropy (NT-Xent, SimCLR), optax's signature.

    With :math:`s_{ij} = \cos(e_i, e_j) / \tau`, positives :math:`P(i)` (same label,
    :math:`j \ne i`) and negatives :math:`N(i)` (different label), every ordered positive pair
    contributes

    .. math::
        \ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k \in N(i)} e^{s_{ik}}}

    (the other positives of :math:`i` are not in the denominator, as in optax and
    pytorch-metric-learning). The per-anchor loss is the mean of :math:`\ell_{ij}` over
    :math:`P(i)`; ``"mean"`` (the default, optax's value) is the mean over all positive pairs,
    i.e. anchors weighted by :math:`|P(i)|`. Cosines clip squared norms at the dtype's
    machine epsilon, as optax does, so zero vectors are finite.

    A batch without positive pairs gives 0 with zero gradients (optax: NaN). Computed in
    O(B^2) memory with one matmul and one log-sum-exp per anchor (``method="dense"``), or
    without the B x B matrix as `jaxloss.clip_loss` is (``"blockwise"``: column tiles with
    an online log-sum-exp of the negatives, then a second pass over the positive pairs, both
    recomputed in the backward pass; ``"ring"`` under ``axis_name``: the candidates passed
    around the devices); ``"auto"`` goes blockwise (ring) above 2**22 similarities.

    Args:
      embeddings: ``[..., B, D]`` floating array (optax: ``[B, D]`` only).
      labels: ``[..., B]`` integer group ids; equal labels are positive pairs.
      temperature: :math:`\tau > 0`.
      reduction: ``"mean"`` (default, optax) over positive pairs, ``"sum"`` of the
        per-anchor values, ``"none"``: per-anchor ``[..., B]``, or ``"sum_and_count"``:
        the mean's numerator and denominator, the (weighted) number of positive pairs.
      where: optional boolean example mask ``[..., B]``: a ``False`` example is left out
        entirely, as an anchor and as a candidate (as if it were not in the batch; its
        embedding may be non-finite).
      weights: optional non-negative per-anchor weights ``[..., B]``: ``"none"`` and
        ``"sum"`` multiply the anchor's value by its weight, ``"mean"`` weights its
        positive pairs. A zero weight removes an example as an anchor only.
      axis_name: inside ``shard_map``/``pmap``, the mesh axis the batch is split over;
        candidates are gathered from the global batch (see the module docstring).
      method: ``"auto"`` (default), ``"dense"``, ``"blockwise"`` or ``"ring"`` (needs
        ``axis_name``), static.
      block_size: candidate columns per tile of ``"blockwise"`` and ``"ring"`` (static).

    Returns:
      A scalar, ``[..., B]`` for ``reduction="none"``, a pair for ``"sum_and_count"``.

    References:
      T. Chen et al., "A Simple Framework for Contrastive Learning of Visual
      Representations", ICML 2020; optax ``ntxent`` (same signature and values).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ntxent
      >>> e = jnp.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
      >>> print(f"{float(ntxent(e, jnp.array([0, 0, 1, 1]), 0.5)):.4f}")
      0.2965
    """
    _checks.check_positive("temperature", temperature)
    _checks.check_reduction(reduction)
    _checks.check_choice("method", method, _contrastive_blocks.METHODS)
    if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
        raise ValueError(f"`block_size` must be a static int >= 1; got {block_size!r}.")
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    mask, weights = _embedding.mask_and_weights(where, weights, labels.shape)
    rows = embeddings.shape[-2] if embeddings.ndim >= 2 else 1
    method = _contrastive_blocks.resolve_method(method, rows, axis_name)
    if method != "dense":
        return _ntxent_blocks(
            embeddings, labels, temperature, mask, weights, reduction=reduction,
            axis_name=axis_name, method=method, block_size=block_size,
        )  # fmt: skip
    return _ntxent_kernel(
        embeddings, labels, temperature, mask, weights, reduction=reduction, axis_name=axis_name
    )


for _fn in (cosine_similarity_loss, cosine_embedding_loss, contrastive_loss):
    assert _fn.__doc__ is not None  # each is written above (python -OO strips both)
    _fn.__doc__ = _fn.__doc__.replace("{reduce}", _PAIR_REDUCTION)
del _fn


# Private helpers ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("reduction", "axis_name"))
def _ntxent_kernel(embeddings, labels, temperature, mask, weights, *, reduction, axis_name):
    """`ntxent` past its checks, as one kernel."""
    x, labels, dtype = _embedding.embeddings_and_labels(embeddings, labels)
    x, cand, _, pos, neg = _embedding.batch_pairs(x, labels, mask, axis_name)
    eps = float(jnp.finfo(dtype).eps)
    u = _numerics.unit_normalize(x, floor=eps)
    v = _numerics.unit_normalize(cand, floor=eps)
    similarity = pairwise_distances(u, v, metric="inner_product").astype(x.dtype)
    logits = similarity / jnp.asarray(temperature, x.dtype)
    has_neg = jnp.any(neg, axis=-1, keepdims=True)
    # Rows without a negative get a finite dummy row so that logsumexp's gradient is finite;
    # their pair losses are exactly 0 (log(e^s / e^s)).
    neg_logits = jnp.where(has_neg, jnp.where(neg, logits, -jnp.inf), 0.0)
    lse_neg = jax.nn.logsumexp(neg_logits, axis=-1, keepdims=True)
    lse_neg = jnp.broadcast_to(lse_neg, logits.shape)
    pair = jnp.where(has_neg, jnp.logaddexp(logits, lse_neg) - logits, 0.0)
    total = jnp.sum(jnp.where(pos, pair, 0.0), axis=-1)
    count = jnp.sum(pos, axis=-1).astype(x.dtype)
    return _embedding.reduce_anchors(total, count, count > 0, weights, reduction, axis_name, dtype)


@functools.partial(jax.jit, static_argnames=("reduction", "axis_name", "method", "block_size"))
def _ntxent_blocks(
    embeddings, labels, temperature, mask, weights, *, reduction, axis_name, method, block_size
):
    """`ntxent` without the B x B matrix: pass 1, each anchor's log-sum-exp over its
    negatives N; pass 2, the sum over its positive pairs of softplus(N - s) (=
    logaddexp(s, N) - s), both by `_contrastive_blocks` (gradients reach N through pass 2)."""
    x, labels, dtype = _embedding.embeddings_and_labels(embeddings, labels)
    valid = jnp.ones(labels.shape, bool) if mask is None else mask
    (x,) = _embedding.zero_masked_rows(mask, x)
    u = _numerics.unit_normalize(x, floor=float(jnp.finfo(dtype).eps))
    scaled = u / jnp.asarray(temperature, u.dtype)
    rows = {"valid": valid, "labels": labels}
    cols = dict(rows)
    options = {"method": method, "block_size": block_size, "axis_name": axis_name}
    spec = _contrastive_blocks.Spec(positives="labels", neg_lse=True, exclude_self=True)
    first, _ = _contrastive_blocks.batched_statistics(scaled, u, rows, cols, None, spec, **options)
    # Without a negative, N is the empty log-sum-exp (-1e30): every pair term is exactly 0.
    rows = {**rows, "shift": first["neg_lse"]}
    spec = _contrastive_blocks.Spec(positives="labels", pos_softplus=True, exclude_self=True)
    second, _ = _contrastive_blocks.batched_statistics(scaled, u, rows, cols, None, spec, **options)
    count = second["pos_count"]
    total = second["pos_softplus"]
    return _embedding.reduce_anchors(total, count, count > 0, weights, reduction, axis_name, dtype)


def _pair_mask(where, shape):
    if where is None:
        return None
    return _checks.broadcast_to("where", _checks.as_bool("where", where), shape)


def _reduce(loss, dtype, reduction, mask, weights, axis_name):
    return reduce_loss(
        loss.astype(dtype),
        dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def _pair_labels(labels: ArrayLike, shape: tuple[int, ...]) -> jax.Array:
    labels = jnp.asarray(labels)
    if labels.shape != tuple(shape):
        raise ValueError(
            f"`labels` must have the per-pair shape {tuple(shape)} (the inputs without their "
            f"last axis); got shape {labels.shape}."
        )
    return labels
