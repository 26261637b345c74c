"""Pair-weighting metric-learning losses over a batch of ``(embeddings, labels)``.

``multi_similarity_loss``, ``circle_loss``, ``lifted_structure_loss``, ``npairs_loss`` and
``angular_loss`` weigh every positive and negative pair of an anchor with the rest of the
batch by log-sum-exps, as pytorch-metric-learning (PML) 2.9 defines them. ``margin_loss`` and
``fast_ap_loss`` (`jaxloss.pair_ranking`) follow the conventions below too. For triplet mining
see `jaxloss.mining`; for NT-Xent, `jaxloss.pairs`.

Similarities and distances. Unless a function says otherwise the embeddings are first
L2-normalised as PML's distances do (``x / max(|x|, 1e-12)``, torch's ``F.normalize``), then
compared by cosine similarity or Euclidean distance. Duplicated and collapsed embeddings are
at distance 0 with finite (zero) gradients.

Memory. Every loss is O(B^2) in memory: the similarity matrix of the anchors with their
candidates. ``angular_loss``'s sum over negatives for each positive pair is one matrix
product of two ``[B, B]`` factors, never a ``[B, B, B]`` tensor (PML builds one); PML's
all-triplet ``MarginLoss`` is rewritten as sums over pairs weighted by counts.

Empty sets. A log-sum-exp over an empty set of pairs is 0, PML's convention. An anchor that
has no term (no positive pair, for the losses defined per positive pair) has loss 0 and does
not count in ``"mean"``; a batch with no positive pair gives 0 with zero gradients.

Reductions. Each docstring maps PML's default reducer to ``reduction``: ``"mean"`` equals PML's
reduced value. The per-anchor values (``"none"``, ``[..., B]``) and the counts follow
CONTRIBUTING.md section 4 for losses that compare examples with each other: ``"mean"`` is
``sum(w_a * total_a) / sum(w_a * c_a)``, ``"sum"`` adds the per-anchor values
``w_a * total_a / c_a`` and ``"sum_and_count"`` returns ``(sum(w_a * total_a),
sum(w_a * c_a))``, with ``c_a`` the anchor's count (1 unless a function says otherwise).

Masks and weights. ``where`` (``[..., B]``) removes examples entirely, as anchors and as
candidates, as if they were not in the batch (their embeddings may be non-finite);
``weights`` (``[..., B]``) weight the anchors (a zero weight keeps the example a candidate).

Across devices. With ``axis_name`` (inside ``shard_map``/``pmap``, the batch split over that
mesh axis) each device scores its local anchors against the candidates of the global batch
(``all_gather``) and the reductions are global: the reduced loss and its gradient equal the
one-device loss on the concatenated batch. `jaxloss.mining` shows a data-parallel Flax step.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _batch_pairs, _checks, _collectives, _numerics

__all__ = [
    "angular_loss",
    "circle_loss",
    "lifted_structure_loss",
    "multi_similarity_loss",
    "npairs_loss",
]


def multi_similarity_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike = 2.0,
    beta: ArrayLike = 50.0,
    margin: ArrayLike = 0.5,
    mine: bool = False,
    margin2: ArrayLike = 0.1,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Multi-similarity loss (Wang et al. 2019), optionally with its pair miner.

    With cosine similarities :math:`S_{ij}`, positives :math:`P(i)` and negatives
    :math:`N(i)` of anchor :math:`i`:

    .. math::
        \ell_i = \frac{1}{\alpha} \log\Bigl(1 + \sum_{p \in P(i)} e^{-\alpha (S_{ip} - \lambda)}
        \Bigr) + \frac{1}{\beta} \log\Bigl(1 + \sum_{n \in N(i)} e^{\beta (S_{in} - \lambda)}
        \Bigr)

    With ``mine=True`` the sums run over the pairs PML's ``MultiSimilarityMiner`` keeps (the
    paper's pair mining): positives with :math:`S_{ip} - \epsilon < \max_{n} S_{in}` and
    negatives with :math:`S_{in} + \epsilon > \min_{p} S_{ip}`; an anchor without a positive
    or a negative then keeps no pair and has loss 0.

    Reduction: PML's default ``MeanReducer`` over all anchors is ``"mean"`` (every anchor
    counts, including those whose loss is 0). One difference: PML returns 0 for the whole
    batch when the miner keeps at most one positive and one negative pair; here those pairs
    still count.

    Args:{head}
      alpha: :math:`\alpha > 0`, the positive scale (PML ``alpha``).
      beta: :math:`\beta > 0`, the negative scale (PML ``beta``).
      margin: :math:`\lambda`, the similarity threshold (PML ``base``).
      mine: apply the multi-similarity miner first (static).
      margin2: :math:`\epsilon \ge 0`, the miner's margin (PML ``MultiSimilarityMiner``'s
        ``epsilon``); unused without ``mine``.{tail}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over all unmasked anchors).

    References:
      X. Wang, X. Han, W. Huang, D. Dong, M. R. Scott, "Multi-Similarity Loss with General
      Pair Weighting for Deep Metric Learning", CVPR 2019; PML ``MultiSimilarityLoss`` and
      ``MultiSimilarityMiner``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import multi_similarity_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> loss = multi_similarity_loss(e, jnp.array([0, 0, 1, 1]), reduction="mean")
      >>> print(f"{float(loss):.4f}")
      0.4988
    """
    _checks.check_positive("alpha", alpha)
    _checks.check_positive("beta", beta)
    _checks.check_nonnegative("margin2", margin2)
    _checks.check_choice("mine", mine, (True, False))
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    return _multi_similarity_kernel(
        e,
        y,
        alpha,
        beta,
        margin,
        margin2,
        mask,
        weights,
        mine=bool(mine),
        reduction=reduction,
        axis_name=axis_name,
    )


def circle_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 0.4,
    gamma: ArrayLike = 80.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Circle loss (Sun et al. 2020) with pair-wise labels.

    With cosine similarities :math:`s`, the relaxation :math:`m` and the scale :math:`\gamma`:

    .. math::
        \ell_i = \operatorname{softplus}\Bigl(\log \sum_{p \in P(i)}
        e^{-\gamma \alpha_p (s_{ip} - \Delta_p)} + \log \sum_{n \in N(i)}
        e^{\gamma \alpha_n (s_{in} - \Delta_n)}\Bigr)

    with :math:`\alpha_p = [1 + m - s_{ip}]_+`, :math:`\alpha_n = [s_{in} + m]_+`,
    :math:`\Delta_p = 1 - m`, :math:`\Delta_n = m`. The weights :math:`\alpha` are constants
    of the gradient (stop-gradient), as in the paper's code and PML. The paper's formula and
    PML's agree, except that torch's ``Softplus`` returns its input above 20 (a difference
    below :math:`e^{-20} \approx 2 \cdot 10^{-9}`); here the softplus is exact. An anchor
    without a positive or a negative has loss 0.

    Reduction: PML's default ``AvgNonZeroReducer`` is ``"mean"``: the mean over the anchors
    whose loss is positive (the count ``c_a`` is 1 for those, 0 otherwise; the softplus is 0
    only where it underflows).

    Args:{head}
      margin: :math:`m`, the relaxation (PML ``m``; the paper suggests 0.25 for faces,
        0.4 for fine-grained retrieval).
      gamma: :math:`\gamma > 0`, the scale.{tail}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over anchors with a positive
      loss).

    References:
      Y. Sun, C. Cheng, Y. Zhang, C. Zhang, L. Zheng, Z. Wang, Y. Wei, "Circle Loss: A
      Unified Perspective of Pair Similarity Optimization", CVPR 2020; PML ``CircleLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import circle_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> loss = circle_loss(e, jnp.array([0, 0, 1, 1]), gamma=10.0, reduction="mean")
      >>> print(f"{float(loss):.4f}")
      3.8055
    """
    _checks.check_positive("gamma", gamma)
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    return _circle_kernel(
        e, y, margin, gamma, mask, weights, reduction=reduction, axis_name=axis_name
    )


def lifted_structure_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    margin2: ArrayLike = 0.0,
    normalize: bool = True,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Generalized lifted structure loss (Hermans et al. 2017, PML's
    ``GeneralizedLiftedStructureLoss``).

    With Euclidean distances :math:`d`:

    .. math::
        \ell_i = \Bigl[\log \sum_{p \in P(i)} e^{d_{ip} - m_2}
        + \log \sum_{n \in N(i)} e^{m - d_{in}}\Bigr]_+

    An empty sum's log is 0 (PML's convention), so an anchor without a positive keeps its
    negative term, and one without a negative its positive term.

    PML's ``LiftedStructureLoss`` is the original form of Song et al. 2016, defined per
    positive pair :math:`(i, j)` with the negatives of both ends,
    :math:`\tfrac12 [\log(\sum_{k \in N(i)} e^{m - d_{ik}} + \sum_{l \in N(j)} e^{m - d_{jl}})
    + d_{ij}]_+^2` averaged over ordered positive pairs; this is its generalisation to
    anchors, with a log-sum-exp over positives instead of one positive at a time.

    Reduction: PML's default ``MeanReducer`` over all anchors is ``"mean"``.

    Args:{head}
      margin: :math:`m`, the negative margin (PML ``neg_margin``).
      margin2: :math:`m_2`, the positive margin (PML ``pos_margin``).
      normalize: L2-normalise the embeddings first (static; PML's default distance). The
        paper's form is ``normalize=False``.{tail}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over all unmasked anchors).

    References:
      A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for Person
      Re-Identification", 2017, eq. (4); H. O. Song, Y. Xiang, S. Jegelka, S. Savarese,
      "Deep Metric Learning via Lifted Structured Feature Embedding", CVPR 2016; PML
      ``GeneralizedLiftedStructureLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import lifted_structure_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> loss = lifted_structure_loss(e, jnp.array([0, 0, 1, 1]), reduction="mean")
      >>> print(f"{float(loss):.4f}")
      1.4938
    """
    _checks.check_choice("normalize", normalize, (True, False))
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    return _lifted_kernel(
        e,
        y,
        margin,
        margin2,
        mask,
        weights,
        normalize=bool(normalize),
        reduction=reduction,
        axis_name=axis_name,
    )


def npairs_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    normalize: bool = True,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Multi-class N-pair loss (Sohn 2016) on one pair per class, as PML selects them.

    Each class with at least two examples contributes one pair: its first example in batch
    order is the anchor :math:`a_c`, its second the positive :math:`p_c` (PML's
    ``convert_to_pos_pairs_with_unique_labels``). With :math:`s_{cc'} = a_c \cdot p_{c'}`:

    .. math::
        \ell_{a_c} = -\log \frac{e^{s_{cc}}}{\sum_{c'} e^{s_{cc'}}}
        = \log\Bigl(1 + \sum_{c' \ne c} e^{s_{cc'} - s_{cc}}\Bigr)

    Every other example has no term (loss 0, not counted). ``normalize=True`` (PML's
    default distance) uses unit vectors, so :math:`s` is a cosine; the paper's inner product
    of raw embeddings is ``normalize=False`` (the paper also adds an L2 penalty on the
    embeddings, which is not part of this loss: `jaxloss.l2_penalty` adds it).

    Reduction: PML's default ``MeanReducer`` over the pairs is ``"mean"``.

    Args:{head}
      normalize: L2-normalise the embeddings first (static).{tail}

    Returns:
      ``[..., B]`` per-anchor losses (non-zero only at each class's first example), or a
      scalar (``"mean"``: over the classes with a pair).

    References:
      K. Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective",
      NeurIPS 2016, eq. (6); PML ``NPairsLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import npairs_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> npairs_loss(e, jnp.array([0, 0, 1, 1])).round(4)
      Array([0.5981, 0.    , 0.5981, 0.    ], dtype=float32)
    """
    _checks.check_choice("normalize", normalize, (True, False))
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    return _npairs_kernel(
        e, y, mask, weights, normalize=bool(normalize), reduction=reduction, axis_name=axis_name
    )


def angular_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    alpha: ArrayLike = 40.0,
    normalize: bool | str = True,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Angular loss (Wang et al. 2017), the N-pair form over every positive pair.

    With unit vectors :math:`x` and :math:`t = \tan^2 \alpha`, each ordered positive pair
    :math:`(a, p)` has

    .. math::
        \ell_{ap} = \log\Bigl(1 + \sum_{n \in N(a)} e^{4t (x_a + x_p)^\top x_n
        - 2 (1 + t) x_a^\top x_p}\Bigr)

    and anchor :math:`a`'s value is the mean over its positives (count :math:`c_a = |P(a)|`).
    An anchor without a positive, or a batch of one class, gives 0.

    PML 2.9's ``AngularLoss`` normalises the anchors and positives but multiplies them with
    the *raw* negative embeddings :math:`e_n` instead of :math:`x_n`: that is
    ``normalize="pairs"``, equal to PML. The default, ``normalize=True``, is the paper's
    formula (every embedding a unit vector): with raw negatives the loss can be lowered by
    growing the negatives' norms rather than their angles.

    The inner sum over negatives is :math:`\sum_n e^{4t x_a^\top x_n} e^{4t x_p^\top x_n}`,
    one ``[B, B] @ [B, B]`` product (PML builds the ``[B, B, B]`` tensor); each factor is
    shifted by its row maximum, so nothing overflows. A pair whose every term underflows
    (float32: exponents more than about 87 below the shifts, which needs :math:`\alpha`
    above about 72 degrees with unit vectors, or large raw negatives with
    ``normalize="pairs"``) gives 0 instead of a tiny positive value.

    Reduction: PML's default ``MeanReducer`` over positive pairs is ``"mean"``.

    Args:{head}
      alpha: :math:`\alpha` in degrees, in ``(0, 90)`` (PML ``alpha``; the paper uses 36 to
        55).
      normalize: ``True`` (every embedding a unit vector, the paper) or ``"pairs"`` (only
        anchors and positives, PML 2.9) (static).{tail}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over positive pairs).

    References:
      J. Wang, F. Zhou, S. Wen, X. Liu, Y. Lin, "Deep Metric Learning with Angular Loss",
      ICCV 2017, eq. (8) (N-pair form); PML ``AngularLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import angular_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> loss = angular_loss(e, jnp.array([0, 0, 1, 1]), reduction="mean")
      >>> print(f"{float(loss):.4f}")
      1.8947
    """
    _checks.check_scalar_range(
        "alpha", alpha, low=0.0, high=90.0, low_inclusive=False, high_inclusive=False
    )
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    if normalize is not True and normalize != "pairs":
        raise ValueError(f'`normalize` must be True or "pairs"; got {normalize!r}.')
    return _angular_kernel(
        e, y, alpha, mask, weights, normalize=normalize, reduction=reduction, axis_name=axis_name
    )


_batch_pairs.fill_docstrings(
    multi_similarity_loss, circle_loss, lifted_structure_loss, npairs_loss, angular_loss
)


# Private helpers ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("mine", "reduction", "axis_name"))
def _multi_similarity_kernel(
    e, y, alpha, beta, margin, margin2, mask, weights, *, mine, reduction, axis_name
):
    x, cand, _, pos, neg, dtype = _batch_pairs.setup(e, y, mask, axis_name)
    s = _batch_pairs.cosine(x, cand)
    if mine:
        hardest_neg = jnp.max(jnp.where(neg, s, -jnp.inf), axis=-1, keepdims=True)
        easiest_pos = jnp.min(jnp.where(pos, s, jnp.inf), axis=-1, keepdims=True)
        pos, neg = pos & (s - margin2 < hardest_neg), neg & (s + margin2 > easiest_pos)
    pos_term = _batch_pairs.log1p_sum_exp(-alpha * (s - margin), pos) / alpha
    neg_term = _batch_pairs.log1p_sum_exp(beta * (s - margin), neg) / beta
    valid = _batch_pairs.anchors_mask(mask, y.shape)
    return _batch_pairs.reduce(
        pos_term + neg_term, None, valid, weights, reduction, axis_name, dtype
    )


@functools.partial(jax.jit, static_argnames=("reduction", "axis_name"))
def _circle_kernel(e, y, margin, gamma, mask, weights, *, reduction, axis_name):
    x, cand, _, pos, neg, dtype = _batch_pairs.setup(e, y, mask, axis_name)
    s = _batch_pairs.cosine(x, cand)
    fixed = jax.lax.stop_gradient(s)
    pos_logits = -gamma * jax.nn.relu(1.0 + margin - fixed) * (s - (1.0 - margin))
    neg_logits = gamma * jax.nn.relu(fixed + margin) * (s - margin)
    both = jnp.any(pos, axis=-1) & jnp.any(neg, axis=-1)
    inner = _batch_pairs.masked_logsumexp(pos_logits, pos) + _batch_pairs.masked_logsumexp(
        neg_logits, neg
    )
    loss = jnp.where(both, jax.nn.softplus(inner), 0.0)
    return _batch_pairs.reduce(loss, None, both & (loss > 0), weights, reduction, axis_name, dtype)


@functools.partial(jax.jit, static_argnames=("normalize", "reduction", "axis_name"))
def _lifted_kernel(e, y, margin, margin2, mask, weights, *, normalize, reduction, axis_name):
    x, cand, _, pos, neg, dtype = _batch_pairs.setup(e, y, mask, axis_name, normalize)
    d = _batch_pairs.euclidean(x, cand, axis_name)
    inner = _batch_pairs.masked_logsumexp(d - margin2, pos) + _batch_pairs.masked_logsumexp(
        margin - d, neg
    )
    valid = _batch_pairs.anchors_mask(mask, y.shape)
    return _batch_pairs.reduce(
        jax.nn.relu(inner), None, valid, weights, reduction, axis_name, dtype
    )


@functools.partial(jax.jit, static_argnames=("normalize", "reduction", "axis_name"))
def _npairs_kernel(e, y, mask, weights, *, normalize, reduction, axis_name):
    x, cand, cand_labels, pos, _, dtype = _batch_pairs.setup(e, y, mask, axis_name, normalize)
    rows, size = y.shape[-1], cand_labels.shape[-1]
    cand_mask = _collectives.gather(_batch_pairs.anchors_mask(mask, y.shape), axis_name, -1)
    offset = _collectives.shard_offset(rows, axis_name)
    # Each candidate's rank in its class (earlier unmasked examples with its label): the
    # class's anchor has rank 0, its positive rank 1.
    iota = jnp.arange(size)
    earlier = iota[None, :] < iota[:, None]
    same = cand_labels[..., :, None] == cand_labels[..., None, :]
    same = same & cand_mask[..., :, None] & cand_mask[..., None, :]
    second = (jnp.sum(same & jnp.broadcast_to(earlier, same.shape), axis=-1) == 1) & cand_mask
    local_earlier = iota[None, :] < (offset + jnp.arange(rows))[:, None]
    first = ~jnp.any(pos & jnp.broadcast_to(local_earlier, pos.shape), axis=-1)
    target = pos & second[..., None, :]
    valid = first & jnp.any(target, axis=-1)
    logits = _batch_pairs.cosine(x, cand)
    lse = _batch_pairs.masked_logsumexp(
        logits, jnp.broadcast_to(second[..., None, :], logits.shape)
    )
    loss = lse - jnp.sum(jnp.where(target, logits, 0.0), axis=-1)
    loss = jnp.where(valid, loss, 0.0)
    return _batch_pairs.reduce(loss, None, valid, weights, reduction, axis_name, dtype)


@functools.partial(jax.jit, static_argnames=("normalize", "reduction", "axis_name"))
def _angular_kernel(e, y, alpha, mask, weights, *, normalize, reduction, axis_name):
    x, cand, _, pos, neg, dtype = _batch_pairs.setup(e, y, mask, axis_name, normalize=False)
    u = _numerics.unit_normalize(x, floor=_batch_pairs.NORM_FLOOR)
    v = _numerics.unit_normalize(cand, floor=_batch_pairs.NORM_FLOOR)
    others = v if normalize is True else cand  # "pairs": PML 2.9's raw negatives
    t = jnp.square(jnp.tan(jnp.deg2rad(jnp.asarray(alpha, x.dtype))))
    s_ap = _batch_pairs.cosine(u, v)  # [..., B, M]
    s_an = _batch_pairs.cosine(u, others)  # [..., B, M]
    s_pn = _batch_pairs.cosine(v, others)  # [..., M, M]
    # sum_n e^{4t s_an} e^{4t s_pn} over the anchor's negatives, each factor shifted by a
    # constant of its row (no gradient), as one matrix product.
    shift_a = jnp.max(jnp.where(neg, s_an, -jnp.inf), axis=-1, keepdims=True)
    shift_a = jax.lax.stop_gradient(jnp.where(jnp.isfinite(shift_a), shift_a, 0.0))
    shift_p = jax.lax.stop_gradient(jnp.max(s_pn, axis=-1, keepdims=True))
    left = jnp.exp(jnp.where(neg, 4 * t * (s_an - shift_a), -jnp.inf))
    right = jnp.exp(4 * t * (s_pn - shift_p))
    sums = jnp.einsum("...an,...pn->...ap", left, right)
    has = sums > 0
    shifts = 4 * t * (shift_a + jnp.swapaxes(shift_p, -1, -2))
    logits = jnp.log(jnp.where(has, sums, 1.0)) + shifts - 2 * (1 + t) * s_ap
    pair = jnp.where(has, jax.nn.softplus(logits), 0.0)
    total = jnp.sum(jnp.where(pos, pair, 0.0), axis=-1)
    count = jnp.sum(pos, axis=-1).astype(s_ap.dtype)
    return _batch_pairs.reduce(total, count, count > 0, weights, reduction, axis_name, dtype)
