"""Online triplet and quadruplet mining from a batch of ``(embeddings, labels)``.

``batch_all_triplet_loss``, ``batch_hard_triplet_loss``, ``semihard_triplet_loss`` and
``batch_hard_quadruplet_loss`` score every anchor of the batch against every candidate. For
tuples given explicitly see `jaxloss.triplets`; for pair losses and NT-Xent, `jaxloss.pairs`.

Memory. Mining never builds a ``[B, B, B]`` tensor: the distance matrix is ``[B, B]`` and the
per-triplet work is done on sorted rows (a ``searchsorted`` per anchor), so time is
O(B^2 (D + log B)) and memory O(B^2); semi-hard mining on batches with at most 32 positives
per anchor visits the positives in turn instead, O(B^2 (D + K)).

Zero distances. Distances between identical embeddings are 0 with finite (zero) gradients:
the square roots and norms use the double-``where`` trick, so an anchor equal to its positive,
duplicated or collapsed embeddings train without NaN.

Empty sets. An anchor with no positive or no negative has no triplet: its per-anchor loss is
0 and it does not count in ``reduction="mean"``; a batch without any valid triplet gives 0
with zero gradients, never NaN.

Masks and weights. ``where`` (``[..., B]``) leaves examples out *entirely*: a masked example
is neither an anchor nor a candidate (positive or negative) of the others, exactly as if it
were not in the batch, so padded rows of a fixed-size batch change nothing (their embeddings
may even be non-finite). ``weights`` (``[..., B]``) weight the anchors: ``"none"`` and
``"sum"`` multiply each anchor's value by its weight, ``"mean"`` is
``sum(w_a * total_a) / sum(w_a * c_a)`` with ``c_a`` the anchor's count (its positive pairs
for semi-hard, its counted triplets for batch-all, 1 for a valid batch-hard or quadruplet
anchor). A zero weight removes an example as an anchor only: it stays a candidate.
``reduction="sum_and_count"`` returns the pair ``(sum(w_a * total_a), sum(w_a * c_a))``, the
mean's numerator and denominator (CONTRIBUTING.md, section 4); note that ``"sum"`` adds the
per-anchor *values* ``total_a / c_a``.

Across devices. The mining losses (and ``ntxent``, ``contrastive_loss``) take ``axis_name``.
Inside ``jax.shard_map`` (or ``pmap``) with the batch split over that mesh axis, each device
scores its local anchors against the candidates of the *whole* global batch (gathered with
``jax.lax.all_gather(..., tiled=True)``; the anchor itself is recognised by its global index
``axis_index * B_local + i``), and ``"mean"``/``"sum"`` are global: the local numerators and
denominators are ``psum``-ed and divided once by `jaxloss.reductions.weighted_reduce`. The
reduced loss is the same on every device and equals the single-device loss on the
concatenated batch, values and gradients. ``reduction="none"`` returns the local anchors'
values (``out_specs=P(axis_name)`` reassembles the global ``[B]``). A data-parallel Flax step::

    mesh = jax.make_mesh(
        (jax.device_count(),), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))

    @jax.jit
    @functools.partial(
        jax.shard_map, mesh=mesh,
        in_specs=(P(), P("batch"), P("batch")), out_specs=(P(), P()),
    )
    def train_step(params, images, labels):
        def loss_fn(params):
            embeddings = model.apply(params, images)          # local shard [B/n, D]
            return jaxloss.semihard_triplet_loss(
                embeddings, labels, reduction="mean", axis_name="batch")
        return jax.value_and_grad(loss_fn)(params)   # already the full-batch gradient

Under ``shard_map`` (with its default ``check_vma=True``) JAX sums the replicated
parameters' gradient over devices itself, so ``grads`` is exactly the gradient of the global
loss: add no ``psum``/``pmean``. Under ``pmap`` (or ``shard_map(..., check_vma=False)``) use the
usual recipe ``grads = jax.lax.pmean(grads, "batch")``.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _collectives, _embedding, _numerics

__all__ = [
    "batch_all_triplet_loss",
    "batch_hard_quadruplet_loss",
    "batch_hard_triplet_loss",
    "semihard_triplet_loss",
]

_MINING_HEAD = """
      embeddings: ``[..., B, D]`` floating array (leading dimensions are independent
        batches).
      labels: ``[..., B]`` integer class ids."""
_MINING_TAIL = """
      distance: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        (:math:`1 - \\cos`), ``"manhattan"`` or ``"chebyshev"`` via
        `jaxloss.pairwise_distances`, or a callable
        ``f(anchors [..., B, D], candidates [..., M, D]) -> [..., B, M]`` (e.g.
        ``functools.partial(jaxloss.pairwise_distances, metric="minkowski", p=3.0)``).
      reduction: ``"none"`` (default: per anchor, ``[..., B]``), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static; see the module docstring).
      where: optional boolean example mask ``[..., B]``: ``False`` examples are left out
        entirely, as anchors and as candidates (see the module docstring).
      weights: optional non-negative per-anchor weights ``[..., B]``.
      axis_name: inside ``shard_map``/``pmap``, the mesh axis the batch is split over:
        anchors are scored against the global batch and reductions are global (see the
        module docstring)."""


def batch_all_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    distance: _embedding.Distance = "euclidean",
    mean_over: str = "positive",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Batch-all triplet loss: every valid triplet of the batch, averaged.

    Over all triplets :math:`(a, p, n)` with :math:`y_a = y_p`, :math:`a \ne p`,
    :math:`y_n \ne y_a`, the hinge :math:`h_{apn} = [d_{ap} - d_{an} + m]_+`. The per-anchor
    loss is :math:`\sum_{p,n} h_{apn} / c_a`, where :math:`c_a` counts the anchor's triplets
    with :math:`h > 0` (``mean_over="positive"``, the default, as in Hermans et al.'s
    "BA+") or all its valid triplets (``mean_over="valid"``). ``reduction="mean"`` weights
    anchors by :math:`c_a`, so it is the mean over the batch's positive-loss (or valid)
    triplets; anchors with :math:`c_a = 0` count for nothing.

    The :math:`B^3` triplets are never materialised: each anchor's negative distances are
    sorted once, and for each positive the hinge sum is
    :math:`k (d_{ap} + m) - \sum_{i<k} d_{a,(i)}` with :math:`k` from a ``searchsorted``:
    O(B^2 log B) time, O(B^2) memory.

    Args:{head}
      margin: :math:`m \ge 0`.
      mean_over: ``"positive"`` (triplets with a positive loss) or ``"valid"``.{args}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar.

    References:
      A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for Person
      Re-Identification", 2017 (batch all); O. Moindrot, "Triplet Loss and Online Triplet
      Mining in TensorFlow" (mean over positive triplets).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import batch_all_triplet_loss
      >>> e = jnp.array([[0.0, 0.0], [0.0, 1.0], [0.0, 1.5], [0.0, 3.0]])
      >>> loss = batch_all_triplet_loss(e, jnp.array([0, 0, 1, 1]), reduction="mean")
      >>> print(f"{float(loss):.4f}")
      1.1000
    """
    _checks.check_nonnegative("margin", margin)
    _checks.check_choice("mean_over", mean_over, ("positive", "valid"))
    _checks.check_reduction(reduction)
    _embedding.check_distance(distance)
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    mask, weights = _embedding.mask_and_weights(where, weights, labels.shape)
    return _batch_all_kernel(
        embeddings,
        labels,
        margin,
        mask,
        weights,
        distance=distance,
        mean_over=mean_over,
        reduction=reduction,
        axis_name=axis_name,
    )


def batch_hard_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    soft: bool = False,
    distance: _embedding.Distance = "euclidean",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Batch-hard triplet loss: each anchor's hardest positive against its hardest negative.

    .. math::
        \ell_a = [\max_{p \in P(a)} d_{ap} - \min_{n \in N(a)} d_{an} + m]_+
        \quad\text{or, with } ``soft=True``,\quad
        \log(1 + e^{\max_p d_{ap} - \min_n d_{an}})

    TF-Addons' ``triplet_hard_loss`` semantics (Hermans et al. 2017) on every anchor that has
    a positive (:math:`p \ne a`, same label) and a negative. An anchor without either has
    loss 0 and does not count in ``"mean"`` (TF-Addons instead scores it with stand-in
    distances: 0 for a missing positive, the largest distance for a missing negative, and
    averages over all anchors; on batches where every anchor has both, the two agree).

    Args:{head}
      margin: :math:`m \ge 0` (unused with ``soft=True``).
      soft: soft-margin (softplus) form.{args}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over anchors with a valid
      triplet).

    References:
      A. Hermans, L. Beyer, B. Leibe, "In Defense of the Triplet Loss for Person
      Re-Identification", 2017; TF-Addons ``tfa.losses.triplet_hard_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import batch_hard_triplet_loss
      >>> e = jnp.array([[0.0, 0.0], [0.0, 1.0], [0.0, 1.5], [0.0, 3.0]])
      >>> batch_hard_triplet_loss(e, jnp.array([0, 0, 1, 1]))
      Array([0.5, 1.5, 2. , 0.5], dtype=float32)
    """
    _checks.check_nonnegative("margin", margin)
    _checks.check_reduction(reduction)
    _embedding.check_distance(distance)
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    mask, weights = _embedding.mask_and_weights(where, weights, labels.shape)
    return _batch_hard_kernel(
        embeddings,
        labels,
        margin,
        mask,
        weights,
        soft=soft,
        distance=distance,
        reduction=reduction,
        axis_name=axis_name,
    )


def semihard_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    distance: _embedding.Distance = "euclidean",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Semi-hard triplet loss (FaceNet), with TF-Addons' ``triplet_semihard_loss`` semantics.

    For each ordered positive pair :math:`(a, p)` (same label, :math:`a \ne p`), the
    negative distance is the smallest :math:`d_{an}` greater than :math:`d_{ap}` (a
    semi-hard negative), or, if there is none, the anchor's largest negative distance; the
    pair's loss is :math:`[d_{ap} - d_{an} + m]_+`. The per-anchor value is the mean over
    the anchor's positives; ``"mean"`` (weighting anchors by their number of positives) is
    the mean over all positive pairs, TF-Addons' value.

    Differences from TF-Addons: a batch with no positive pair gives 0 with zero gradients
    (TF-Addons: NaN, 0/0); a pair whose anchor has no negative has no triplet and does not
    count (TF-Addons scores it against a stand-in distance 0). Memory is O(B^2) (TF-Addons
    tiles a ``[B^2, B]`` matrix). When no anchor has more than 32 positives (P x K batches),
    the positives are taken in turn, one masked minimum over each anchor's row per turn:
    O(B^2 K) time. Otherwise each anchor's negative distances are sorted once and the
    semi-hard negative of each positive found with ``searchsorted``: O(B^2 log B). Ties
    between negative distances go to the lowest-index negative (the largest-index one for
    the fallback to the largest negative distance), as a stable sort would.

    Args:{head}
      margin: :math:`m \ge 0`.{args}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over positive pairs).

    References:
      F. Schroff, D. Kalenichenko, J. Philbin, "FaceNet: A Unified Embedding for Face
      Recognition and Clustering", CVPR 2015; TF-Addons ``tfa.losses.triplet_semihard_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import semihard_triplet_loss
      >>> e = jnp.array([[0.0, 0.0], [0.0, 1.0], [0.0, 1.5], [0.0, 3.0]])
      >>> loss = semihard_triplet_loss(e, jnp.array([0, 0, 1, 1]), reduction="mean")
      >>> print(f"{float(loss):.4f}")
      0.5000
    """
    _checks.check_nonnegative("margin", margin)
    _checks.check_reduction(reduction)
    _embedding.check_distance(distance)
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    mask, weights = _embedding.mask_and_weights(where, weights, labels.shape)
    return _semihard_kernel(
        embeddings,
        labels,
        margin,
        mask,
        weights,
        distance=distance,
        reduction=reduction,
        axis_name=axis_name,
        max_turns=_SEMIHARD_MAX_TURNS,
    )


def batch_hard_quadruplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    margin2: ArrayLike = 0.5,
    distance: _embedding.Distance = "euclidean",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Batch-hard quadruplet loss: `quadruplet_loss` on each anchor's hardest quadruplet.

    .. math::
        \ell_a = [\max_{p} D_{ap} - \min_{n} D_{an} + m_1]_+
        + [\max_{p} D_{ap} - \min_{(k, l)} D_{kl} + m_2]_+

    with :math:`p` over the anchor's positives, :math:`n` over its negatives, and
    :math:`(k, l)` over the pairs of the batch with :math:`y_k \ne y_l` and both labels
    different from :math:`y_a` (the hardest negative pair not involving the anchor's class,
    the second term of Chen et al.'s eq. (5)). :math:`D` defaults to the Euclidean distance,
    as in the other triplet losses (before jaxloss 1.0: ``"squared_euclidean"``, the paper's
    :math:`g^2`, still available). The hardest pair is found in O(B^2): for each
    :math:`k`, the nearest other-class sample and the nearest sample of a third class.

    An anchor without a positive or a negative has loss 0 and does not count in ``"mean"``;
    when the batch has no negative pair avoiding the anchor's class (fewer than 3 classes),
    the second term is 0.

    Args:{head}
      margin: :math:`m_1 \ge 0`.
      margin2: :math:`m_2 \ge 0`.{args}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over anchors with a valid
      triplet).

    References:
      W. Chen, X. Chen, J. Zhang, K. Huang, "Beyond triplet loss: a deep quadruplet network
      for person re-identification", CVPR 2017; batch-hard mining of Hermans et al. 2017.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import batch_hard_quadruplet_loss
      >>> e = jnp.array([[0.0], [1.0], [2.0], [4.0]])
      >>> batch_hard_quadruplet_loss(e, jnp.array([0, 0, 1, 2]), margin2=3.5)
      Array([2.5, 3.5, 0. , 0. ], dtype=float32)
    """
    _checks.check_nonnegative("margin", margin)
    _checks.check_nonnegative("margin2", margin2)
    _checks.check_reduction(reduction)
    _embedding.check_distance(distance)
    embeddings, labels = jnp.asarray(embeddings), jnp.asarray(labels)
    mask, weights = _embedding.mask_and_weights(where, weights, labels.shape)
    return _batch_hard_quadruplet_kernel(
        embeddings,
        labels,
        margin,
        margin2,
        mask,
        weights,
        distance=distance,
        reduction=reduction,
        axis_name=axis_name,
    )


for _fn in (
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    semihard_triplet_loss,
    batch_hard_quadruplet_loss,
):
    assert _fn.__doc__ is not None  # each is written above (python -OO strips both)
    _fn.__doc__ = _fn.__doc__.replace("{head}", _MINING_HEAD).replace("{args}", _MINING_TAIL)
del _fn


# Private helpers ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("distance", "mean_over", "reduction", "axis_name"))
def _batch_all_kernel(
    embeddings, labels, margin, mask, weights, *, distance, mean_over, reduction, axis_name
):
    """`batch_all_triplet_loss` past its checks, as one kernel."""
    d, pos, neg, dtype = _mining_setup(embeddings, labels, mask, distance, axis_name)
    sorted_neg, n_neg = _sorted_negatives(d, neg)
    finite = jnp.where(_first(n_neg, sorted_neg.shape[-1]), sorted_neg, 0.0)
    prefix = jnp.concatenate(
        [jnp.zeros((*finite.shape[:-1], 1), finite.dtype), jnp.cumsum(finite, axis=-1)], -1
    )
    # k = number of negatives with d_an < d_ap + m: the triplets with a positive hinge.
    k = _row_searchsorted(sorted_neg, d + margin, side="left")
    hinge = k.astype(d.dtype) * (d + margin) - jnp.take_along_axis(prefix, k, axis=-1)
    hinge = jnp.where(pos & (k > 0), hinge, 0.0)
    if mean_over == "positive":
        counts = jnp.where(pos, k, 0)
    else:
        counts = jnp.where(pos, jnp.broadcast_to(n_neg[..., None], k.shape), 0)
    total = jnp.sum(hinge, axis=-1)
    count = jnp.sum(counts, axis=-1).astype(d.dtype)
    return _embedding.reduce_anchors(total, count, count > 0, weights, reduction, axis_name, dtype)


@functools.partial(jax.jit, static_argnames=("soft", "distance", "reduction", "axis_name"))
def _batch_hard_kernel(
    embeddings, labels, margin, mask, weights, *, soft, distance, reduction, axis_name
):
    """`batch_hard_triplet_loss` past its checks, as one kernel."""
    d, pos, neg, dtype = _mining_setup(embeddings, labels, mask, distance, axis_name)
    hard_pos, hard_neg, valid = _hardest(d, pos, neg)
    gap = hard_pos - hard_neg
    loss = jax.nn.softplus(gap) if soft else jax.nn.relu(gap + margin)
    loss = jnp.where(valid, loss, 0.0)
    return _embedding.reduce_anchors(loss, None, valid, weights, reduction, axis_name, dtype)


@functools.partial(jax.jit, static_argnames=("distance", "reduction", "axis_name", "max_turns"))
def _semihard_kernel(
    embeddings, labels, margin, mask, weights, *, distance, reduction, axis_name, max_turns
):
    """`semihard_triplet_loss` past its checks, as one kernel."""
    d, pos, neg, dtype = _mining_setup(embeddings, labels, mask, distance, axis_name)
    lead, size = d.shape[:-1], d.shape[-1]
    margin = jnp.asarray(margin, d.dtype)
    total = _semihard_totals(
        d.reshape(-1, size), pos.reshape(-1, size), neg.reshape(-1, size), margin, max_turns
    )
    total = total.reshape(lead)
    count = jnp.sum(pos & jnp.any(neg, axis=-1, keepdims=True), axis=-1).astype(d.dtype)
    return _embedding.reduce_anchors(total, count, count > 0, weights, reduction, axis_name, dtype)


@functools.partial(jax.jit, static_argnames=("distance", "reduction", "axis_name"))
def _batch_hard_quadruplet_kernel(
    embeddings, labels, margin, margin2, mask, weights, *, distance, reduction, axis_name
):
    """`batch_hard_quadruplet_loss` past its checks, as one kernel."""
    d, pos, neg, dtype, labels, cand_labels = _mining_setup_with_labels(
        embeddings, labels, mask, distance, axis_name
    )
    hard_pos, hard_neg, valid = _hardest(d, pos, neg)
    # For each local sample k: its nearest other-class distance (class c1) and its nearest
    # distance to a third class (neither y_k nor c1); then gathered like the candidates.
    inf = jnp.asarray(jnp.inf, d.dtype)
    masked = jnp.where(neg, d, inf)
    best1 = jnp.min(masked, axis=-1)
    has1 = jnp.any(neg, axis=-1)
    nearest = jnp.argmin(masked, axis=-1)
    class1 = jnp.take_along_axis(cand_labels, nearest, axis=-1)
    third = neg & (cand_labels[..., None, :] != class1[..., :, None])
    best2 = jnp.min(jnp.where(third, d, inf), axis=-1)
    has2 = jnp.any(third, axis=-1)
    best1, best2 = jnp.where(has1, best1, 0.0), jnp.where(has2, best2, 0.0)
    best1, best2, class1, has1, has2 = (
        _collectives.gather(v, axis_name) for v in (best1, best2, class1, has1, has2)
    )
    # The hardest pair (k, l) avoiding class y_a: per k, best1 unless its class is y_a.
    use2 = jnp.broadcast_to(class1[..., None, :], d.shape) == labels[..., :, None]
    k_value = jnp.where(use2, best2[..., None, :], best1[..., None, :])
    k_valid = neg & jnp.where(use2, has2[..., None, :], has1[..., None, :])
    hard_pair = jnp.min(jnp.where(k_valid, k_value, inf), axis=-1)
    has_pair = jnp.any(k_valid, axis=-1) & valid
    hard_pair = jnp.where(has_pair, hard_pair, 0.0)
    term1 = jax.nn.relu(hard_pos - hard_neg + margin)
    term2 = jnp.where(has_pair, jax.nn.relu(hard_pos - hard_pair + margin2), 0.0)
    loss = jnp.where(valid, term1 + term2, 0.0)
    return _embedding.reduce_anchors(loss, None, valid, weights, reduction, axis_name, dtype)


def _mining_setup(embeddings, labels, mask, distance, axis_name):
    """The distance matrix, the positive and negative masks and the loss dtype."""
    d, pos, neg, dtype, _, _ = _mining_setup_with_labels(
        embeddings, labels, mask, distance, axis_name
    )
    return d, pos, neg, dtype


def _mining_setup_with_labels(embeddings, labels, mask, distance, axis_name):
    """`_mining_setup`, then the anchors' labels and the candidates' labels."""
    _embedding.check_distance(distance)
    x, labels, dtype = _embedding.embeddings_and_labels(embeddings, labels)
    x, cand, cand_labels, pos, neg = _embedding.batch_pairs(x, labels, mask, axis_name)
    d = _embedding.distance_matrix(x, None if axis_name is None else cand, distance)
    expected = (*x.shape[:-1], cand.shape[-2])
    if d.shape != expected:
        raise ValueError(
            f"`distance` must return the distance matrix of shape {expected}; got {d.shape}."
        )
    d = d.astype(x.dtype)
    return d, pos, neg, dtype, labels, cand_labels


def _hardest(d, pos, neg):
    """Per anchor: hardest positive, hardest negative (0 where undefined) and validity."""
    valid = jnp.any(pos, axis=-1) & jnp.any(neg, axis=-1)
    hard_pos = jnp.max(jnp.where(pos, d, -jnp.inf), axis=-1)
    hard_neg = jnp.min(jnp.where(neg, d, jnp.inf), axis=-1)
    return jnp.where(valid, hard_pos, 0.0), jnp.where(valid, hard_neg, 0.0), valid


def _sorted_negatives(d, neg):
    """Each row's negative distances in ascending order (then +inf) and their count."""
    return _numerics.sort_last(jnp.where(neg, d, jnp.inf)), jnp.sum(neg, axis=-1)


# Anchors with at most this many positives take the semi-hard path that visits positives in
# turn (O(B^2) per turn); beyond it, sorting each row is cheaper.
_SEMIHARD_MAX_TURNS = 32


@functools.partial(jax.custom_jvp, nondiff_argnums=(4,))
def _semihard_totals(d, pos, neg, margin, max_turns):
    """Per row of ``d`` ``[R, M]``: the sum of the semi-hard hinges of its positives.

    The mining (which negative each positive meets) is piecewise constant in ``d``, so the
    derivative is linear with integer coefficients: the JVP rule below gives it without
    differentiating through the sort or the gathers.
    """
    return _semihard_mine(d, pos, neg, margin, max_turns)[0]


@_semihard_totals.defjvp
def _semihard_totals_jvp(max_turns, primals, tangents):
    d, pos, neg, margin = primals
    d_dot, _, _, margin_dot = tangents
    total, coef, active = _semihard_mine(d, pos, neg, margin, max_turns)
    total_dot = jnp.sum(coef * d_dot, axis=-1) + active * margin_dot
    return total, total_dot


def _semihard_mine(d, pos, neg, margin, max_turns):
    """Totals ``[R]``, ``d(total)/d(d)`` ``[R, M]`` and ``d(total)/d(margin)`` ``[R]``."""
    size = d.shape[-1]
    iota = jnp.arange(size, dtype=jnp.int32)[None, :]
    n_neg = jnp.sum(neg, axis=-1)
    # Fallback when no negative lies beyond d_ap: the largest negative distance, and the
    # last negative holding it (the one a stable ascending sort puts last).
    largest = jnp.max(jnp.where(neg, d, -jnp.inf), axis=-1, keepdims=True)
    inside = jnp.max(jnp.where(neg & (d == largest), iota, 0), axis=-1)
    turns = jnp.max(jnp.sum(pos, axis=-1), initial=0)
    operands = (d, pos, neg, margin, n_neg, inside)
    return jax.lax.cond(turns <= max_turns, _semihard_by_turns, _semihard_by_sorting, *operands)


def _semihard_by_turns(d, pos, neg, margin, n_neg, inside):
    """Each row's positives in column order, one masked minimum per positive."""
    rows, size = d.shape
    iota = jnp.arange(size, dtype=jnp.int32)[None, :]
    row = jnp.arange(rows)
    valid = n_neg > 0

    def next_positive(previous):
        return jnp.min(jnp.where(pos & (iota > previous[:, None]), iota, size), axis=-1)

    def turn(state):
        col, total, coef, active_count = state
        has = col < size
        col = jnp.minimum(col, size - 1)
        d_ap = jnp.take_along_axis(d, col[:, None], axis=-1)
        farther = jnp.where(neg & (d > d_ap), d, jnp.inf)
        # The lowest-index negative among the nearest ties (argmin's choice), as a minimum
        # and a masked minimum of the column index: XLA:CPU's argmin (a variadic reduction)
        # took 1.8 ms per turn at B = 1024, these two 1.2 ms.
        nearest = jnp.min(farther, axis=-1, keepdims=True)
        first = jnp.min(jnp.where(farther == nearest, iota, size), axis=-1)
        n = jnp.where(nearest[:, 0] < jnp.inf, first, inside)
        hinge = (d_ap[:, 0] - jnp.take_along_axis(d, n[:, None], axis=-1)[:, 0]) + margin
        active = has & valid & (hinge > 0)
        one = active.astype(d.dtype)
        coef = coef.at[row, col].add(one).at[row, n].add(-one)
        state = (next_positive(col), total + jnp.where(active, hinge, 0.0), coef)
        return (*state, active_count + one)

    operands = (d, pos, neg, margin)
    zeros = _numerics.match_varying(jnp.zeros((rows,), d.dtype), *operands)
    start = _numerics.match_varying(jnp.full((rows,), -1, jnp.int32), *operands)
    coef = _numerics.match_varying(jnp.zeros(d.shape, d.dtype), *operands)
    state = (next_positive(start), zeros, coef, zeros)
    _, total, coef, active_count = jax.lax.while_loop(
        lambda state: jnp.any(state[0] < size), turn, state
    )
    return total, coef, active_count


def _semihard_by_sorting(d, pos, neg, margin, n_neg, inside):
    """Each row's negatives sorted once; each positive's semi-hard one by ``searchsorted``."""
    size = d.shape[-1]
    order = jnp.argsort(jnp.where(neg, d, jnp.inf), axis=-1, stable=True)
    sorted_neg = jnp.take_along_axis(jnp.where(neg, d, jnp.inf), order, axis=-1)
    # j = number of negatives with d_an <= d_ap: sorted_neg[j] is the semi-hard negative.
    j = _row_searchsorted(sorted_neg, d, side="right")
    beyond = jnp.take_along_axis(order, jnp.minimum(j, size - 1), axis=-1)
    n = jnp.where(j < n_neg[:, None], beyond, inside[:, None])
    hinge = (d - jnp.take_along_axis(d, n, axis=-1)) + margin
    active = pos & (n_neg > 0)[:, None] & (hinge > 0)
    one = active.astype(d.dtype)
    row = jnp.broadcast_to(jnp.arange(d.shape[0])[:, None], d.shape)
    coef = one.at[row, n].add(-one)
    total = jnp.sum(jnp.where(active, hinge, 0.0), axis=-1)
    return total, coef, jnp.sum(one, axis=-1)


def _first(count, size):
    return jnp.broadcast_to(jnp.arange(size), (*count.shape, size)) < count[..., None]


def _row_searchsorted(sorted_rows, queries, side):
    """``searchsorted`` of each row of ``queries`` into the matching row of ``sorted_rows``."""
    lead = sorted_rows.shape[:-1]
    flat_sorted = sorted_rows.reshape(-1, sorted_rows.shape[-1])
    flat_queries = queries.reshape(-1, queries.shape[-1])
    found = jax.vmap(lambda s, q: jnp.searchsorted(s, q, side=side))(flat_sorted, flat_queries)
    return found.reshape(*lead, queries.shape[-1])
