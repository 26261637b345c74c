"""Metric-learning losses: pair, triplet and quadruplet losses, with O(B^2) online mining.

Pair losses take two aligned batches (``cosine_embedding_loss``, ``contrastive_loss``); triplet
and quadruplet losses take aligned tuples (``triplet_margin_loss``, ``quadruplet_loss``); the
mining losses take ``(embeddings, labels)`` and score every anchor against every candidate of
the batch (``batch_all_triplet_loss``, ``batch_hard_triplet_loss``, ``semihard_triplet_loss``,
``batch_hard_quadruplet_loss``, ``ntxent``).

Memory. Mining never builds a ``[B, B, B]`` tensor: the distance matrix is ``[B, B]`` and the
per-triplet work is done on sorted rows (a ``searchsorted`` per anchor), so time is
O(B^2 (D + log B)) and memory O(B^2); semi-hard mining on batches with at most 32 positives
per anchor visits the positives in turn instead, O(B^2 (D + K)).

Zero distances. Distances between identical embeddings are 0 with finite (zero) gradients:
the square roots and norms use the double-``where`` trick, so an anchor equal to its positive,
duplicated or collapsed embeddings train without NaN.

Empty sets. An anchor with no positive or no negative has no triplet: its per-anchor loss is
0 and it does not count in ``reduction="mean"``; a batch without any valid triplet (or, for
NT-Xent, any positive pair) gives 0 with zero gradients, never NaN.

Across devices. The mining losses, ``ntxent`` and ``contrastive_loss`` take ``axis_name``.
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

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.distances import euclidean_distance, minkowski_distance, squared_euclidean_distance
from jaxloss.pairwise import pairwise_distances
from jaxloss.reductions import weighted_reduce
from jaxloss.similarity import cosine_distance, cosine_similarity

__all__ = [
    "batch_all_triplet_loss",
    "batch_hard_quadruplet_loss",
    "batch_hard_triplet_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "ntxent",
    "quadruplet_loss",
    "semihard_triplet_loss",
    "triplet_margin_loss",
]

Distance = str | Callable[[jax.Array, jax.Array], jax.Array]
DISTANCES = ("euclidean", "squared_euclidean", "cosine")


# Pair losses ---------------------------------------------------------------------------------


def cosine_similarity_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: int = -1,
    eps: float = 1e-8,
    reduction: str = "none",
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
      eps: lower bound on each norm, ``> 0``.
      reduction: ``"none"`` (shape ``[...]``), ``"mean"`` or ``"sum"``.

    Returns:
      Per-example losses in ``[0, 2]`` with ``axis`` removed, or a scalar.

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
    p, t = predictions.astype(acc), targets.astype(acc)
    cos = cosine_similarity(p, t, epsilon=eps**2, axis=axis)
    return weighted_reduce((1.0 - cos).astype(dtype), None, None, reduction)


def cosine_embedding_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 0.0,
    reduction: str = "none",
) -> jax.Array:
    r"""Cosine embedding loss: pull similar pairs to cosine 1, push dissimilar below a margin.

    .. math::
        \ell = \begin{cases} 1 - \cos(x_1, x_2) & y = 1 \\
        \max(0, \cos(x_1, x_2) - m) & y = -1 \end{cases},\qquad
        \cos = \frac{\langle x_1, x_2\rangle}
        {\sqrt{(\lVert x_1\rVert^2 + 10^{-12})(\lVert x_2\rVert^2 + 10^{-12})}}

    Exactly torch's formula, including its :math:`10^{-12}`: a zero vector has cosine 0 and
    a finite gradient. Labels other than :math:`\pm 1` give 0 (as in torch).

    Args:
      x1: ``[..., D]`` floating array.
      x2: same shape as ``x1``.
      labels: ``[...]`` with values in ``{1, -1}`` (integer or floating).
      margin: :math:`m \in [-1, 1]`.
      reduction: ``"none"`` (shape ``[...]``), ``"mean"`` or ``"sum"``.

    Returns:
      Per-pair losses ``[...]`` or a scalar.

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
    a, b = x1.astype(acc), x2.astype(acc)
    # torch: prod / sqrt((|a|^2 + EPSILON) * (|b|^2 + EPSILON)), EPSILON = 1e-12.
    cos = jnp.sum(a * b, axis=-1) / jnp.sqrt(
        (jnp.sum(a * a, axis=-1) + 1e-12) * (jnp.sum(b * b, axis=-1) + 1e-12)
    )
    loss = jnp.where(labels == 1, 1.0 - cos, 0.0) + jnp.where(
        labels == -1, jax.nn.relu(cos - margin), 0.0
    )
    return weighted_reduce(loss.astype(dtype), None, None, reduction)


def contrastive_loss(
    x1: ArrayLike,
    x2: ArrayLike,
    labels: ArrayLike,
    *,
    margin: float = 1.0,
    distance: Distance = "euclidean",
    reduction: str = "none",
    axis_name: Any = None,
) -> jax.Array:
    r"""Contrastive loss of Hadsell et al.: similar pairs close, dissimilar pairs past a margin.

    .. math::
        \ell = y\, d(x_1, x_2)^2 + (1 - y) \max(0, m - d(x_1, x_2))^2

    with :math:`y = 1` for a similar pair and :math:`0` for a dissimilar one (soft labels in
    ``[0, 1]`` interpolate). Hadsell et al. write :math:`\tfrac12` in front of both terms
    and :math:`Y = 0` for similar pairs; we follow the issue's (and pytorch-metric-learning's)
    form without the halves. Identical pairs give :math:`d = 0` with a finite gradient.

    Args:
      x1: ``[..., D]`` floating array.
      x2: same shape as ``x1``.
      labels: ``[...]``, 1 for similar and 0 for dissimilar pairs (bool, integer or float).
      margin: :math:`m \ge 0`.
      distance: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        (:math:`1 - \cos`) or a callable ``f(x1, x2) -> [...]`` along the last axis.
      reduction: ``"none"`` (shape ``[...]``), ``"mean"`` or ``"sum"``.
      axis_name: inside ``shard_map``/``pmap``, the mesh axis the batch is split over:
        ``"mean"`` and ``"sum"`` then run over the global batch (see the module docstring).

    Returns:
      Per-pair losses ``[...]`` or a scalar.

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
    dtype = _checks.result_dtype(x1, x2)
    acc = _checks.compute_dtype(dtype)
    y = labels.astype(acc)
    d = _pair_distance(x1.astype(acc), x2.astype(acc), distance)
    loss = y * jnp.square(d) + (1.0 - y) * jnp.square(jax.nn.relu(margin - d))
    return _reduce_examples(loss, None, None, reduction, axis_name, dtype)


def ntxent(
    embeddings: ArrayLike,
    labels: ArrayLike,
    temperature: ArrayLike = 0.07,
    *,
    reduction: str = "mean",
    axis_name: Any = None,
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
    O(B^2) memory with one matmul and one log-sum-exp per anchor.

    Args:
      embeddings: ``[..., B, D]`` floating array (optax: ``[B, D]`` only).
      labels: ``[..., B]`` integer group ids; equal labels are positive pairs.
      temperature: :math:`\tau > 0`.
      reduction: ``"mean"`` (default, optax) over positive pairs, ``"sum"`` of the
        per-anchor values, or ``"none"``: per-anchor ``[..., B]``.
      axis_name: inside ``shard_map``/``pmap``, the mesh axis the batch is split over;
        candidates are gathered from the global batch (see the module docstring).

    Returns:
      A scalar, or ``[..., B]`` for ``reduction="none"``.

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
    x, labels, dtype = _embeddings_and_labels(embeddings, labels)
    cand, cand_labels, offset = _candidates(x, labels, axis_name)
    _, pos, neg = _pair_masks(labels, cand_labels, offset)
    eps = float(jnp.finfo(dtype).eps)
    u, v = _unit_rows(x, eps), _unit_rows(cand, eps)
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
    return _reduce_anchors(total, count, count > 0, reduction, axis_name, dtype)


# Triplet and quadruplet losses on given tuples ---------------------------------------------


def triplet_margin_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    axis: int = -1,
    norm_degree: ArrayLike = 2,
    margin: ArrayLike = 1.0,
    eps: ArrayLike = 1e-6,
    *,
    swap: bool = False,
    soft: bool = False,
    distance: Distance | None = None,
    reduction: str = "none",
) -> jax.Array:
    r"""Triplet margin loss on given (anchor, positive, negative) triplets; optax's signature.

    .. math::
        \ell = \max(0,\ d(a, p) - d(a, n) + m),\qquad
        d(x, y) = \lVert x - y + \epsilon \rVert_q

    with :math:`q` = ``norm_degree``, exactly torch's ``triplet_margin_loss(p=q, eps=eps,
    swap=swap)`` (torch's ``pairwise_distance`` adds :math:`\epsilon` to the difference).
    ``swap=True`` uses :math:`\min(d(a, n), d(p, n))` as the negative distance (Balntas et
    al.); ``soft=True`` replaces the hinge by :math:`\log(1 + e^{d(a,p) - d(a,n)})`
    (Hermans et al.) and ignores ``margin``.

    Differences from optax: optax computes :math:`(\sum_i (a_i - p_i)^q + \epsilon)^{1/q}`,
    i.e. without the absolute value (wrong for odd :math:`q`: with ``norm_degree=1``,
    :math:`a = (0, 0)`, :math:`p = (1, -1)`, :math:`n = (3, 0)` and margin 0.5 optax gives 3.5,
    the correct value is 0) and with :math:`\epsilon` added to the sum of powers instead of
    the difference; the two agree to :math:`O(\epsilon)` for even :math:`q`. With ``eps=0``
    identical points have distance exactly 0 and a finite (zero) gradient here.

    Args:
      anchors: ``[..., D]`` floating array (vector axis ``axis``).
      positives: same shape as ``anchors``.
      negatives: same shape as ``anchors``.
      axis: the vector axis (static).
      norm_degree: :math:`q \ge 1` (``jnp.inf`` allowed when concrete).
      margin: :math:`m \ge 0`.
      eps: added to every coordinate difference (torch); ignored with ``distance``.
      swap: use the distance swap of Balntas et al.
      soft: use the soft-margin (softplus) form.
      distance: instead of the :math:`q`-norm, ``"euclidean"``, ``"squared_euclidean"``,
        ``"cosine"`` or a callable ``f(x, y) -> [...]`` (torch's
        ``triplet_margin_with_distance_loss``); requires ``axis=-1``.
      reduction: ``"none"`` (shape ``[...]``), ``"mean"`` or ``"sum"``.

    Returns:
      Per-triplet losses ``[...]`` or a scalar.

    References:
      ``torch.nn.functional.triplet_margin_loss`` and ``triplet_margin_with_distance_loss``;
      V. Balntas et al., "Learning local feature descriptors with triplets and shallow
      convolutional neural networks", BMVC 2016; optax ``triplet_margin_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import triplet_margin_loss
      >>> a = jnp.array([[0.0, 0.0]])
      >>> p = jnp.array([[1.0, -1.0]])
      >>> n = jnp.array([[3.0, 0.0]])
      >>> triplet_margin_loss(a, p, n, norm_degree=1, margin=0.5, eps=0.0)
      Array([0.], dtype=float32)
    """
    anchors = _checks.as_float("anchors", anchors)
    positives = _checks.as_float("positives", positives)
    negatives = _checks.as_float("negatives", negatives)
    _checks.check_same_shape(anchors=anchors, positives=positives, negatives=negatives)
    _checks.check_min_rank("anchors", anchors, 1)
    axis = _checks.normalize_axis("axis", axis, anchors.ndim)
    _checks.check_scalar_range("norm_degree", norm_degree, low=1.0)
    _checks.check_nonnegative("margin", margin)
    _checks.check_reduction(reduction)
    dtype = _checks.result_dtype(anchors, positives, negatives)
    acc = _checks.compute_dtype(dtype)
    a, p, n = (jnp.moveaxis(v.astype(acc), axis, -1) for v in (anchors, positives, negatives))
    if distance is None:
        eps = jnp.asarray(eps, acc)

        def dist(x, y):
            diff = x - y + eps
            return minkowski_distance(diff, jnp.zeros_like(diff), p=norm_degree)

    else:
        if axis != anchors.ndim - 1:
            raise ValueError(f"`distance` requires `axis`=-1; got `axis`={axis}.")

        def dist(x, y):
            return _pair_distance(x, y, distance)

    d_ap = dist(a, p)
    d_an = dist(a, n)
    if swap:
        d_an = jnp.minimum(d_an, dist(p, n))
    loss = jax.nn.softplus(d_ap - d_an) if soft else jax.nn.relu(d_ap - d_an + margin)
    return weighted_reduce(loss.astype(dtype), None, None, reduction)


def quadruplet_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    negatives2: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    margin2: ArrayLike = 0.5,
    distance: Distance = "squared_euclidean",
    reduction: str = "none",
) -> jax.Array:
    r"""Quadruplet loss of Chen et al. 2017 on given (anchor, positive, negative, negative2).

    .. math::
        \ell = [D(a, p) - D(a, n) + m_1]_+ + [D(a, p) - D(n, n_2) + m_2]_+

    where :math:`a, p` share a label, :math:`n, n_2` have two other, different labels, and
    :math:`D` is the paper's squared distance :math:`g^2` (``distance="squared_euclidean"``,
    the default: :math:`D = \lVert x - y\rVert^2`). The second term pushes apart pairs of
    negatives that do not involve the anchor (the paper's eq. (5) with :math:`x_l, x_k` =
    ``negatives2``, ``negatives``), and should use a smaller margin :math:`m_2 < m_1`.
    The paper learns :math:`g` with a small network; here :math:`D` is a fixed distance on
    the embeddings and both margins are fixed (not the paper's adaptive margins).

    Args:
      anchors: ``[..., D]`` floating array.
      positives: same shape, same label as the anchors.
      negatives: same shape, labels different from the anchors'.
      negatives2: same shape, labels different from both the anchors' and the negatives'.
      margin: :math:`m_1 \ge 0`.
      margin2: :math:`m_2 \ge 0`.
      distance: :math:`D`: ``"squared_euclidean"`` (default), ``"euclidean"``,
        ``"cosine"`` or a callable ``f(x, y) -> [...]`` along the last axis.
      reduction: ``"none"`` (shape ``[...]``), ``"mean"`` or ``"sum"``.

    Returns:
      Per-quadruplet losses ``[...]`` or a scalar.

    References:
      W. Chen, X. Chen, J. Zhang, K. Huang, "Beyond triplet loss: a deep quadruplet network
      for person re-identification", CVPR 2017, eq. (5).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import quadruplet_loss
      >>> a, p = jnp.array([[0.0, 0.0]]), jnp.array([[1.0, 0.0]])
      >>> n, n2 = jnp.array([[0.0, 1.0]]), jnp.array([[0.0, 2.0]])
      >>> quadruplet_loss(a, p, n, n2)
      Array([1.5], dtype=float32)
    """
    arrays = {
        name: _checks.as_float(name, v)
        for name, v in (
            ("anchors", anchors),
            ("positives", positives),
            ("negatives", negatives),
            ("negatives2", negatives2),
        )
    }
    _checks.check_same_shape(**arrays)
    _checks.check_min_rank("anchors", arrays["anchors"], 1)
    _checks.check_nonnegative("margin", margin)
    _checks.check_nonnegative("margin2", margin2)
    _checks.check_reduction(reduction)
    dtype = _checks.result_dtype(*arrays.values())
    acc = _checks.compute_dtype(dtype)
    a, p, n, n2 = (v.astype(acc) for v in arrays.values())
    d_ap = _pair_distance(a, p, distance)
    loss = jax.nn.relu(d_ap - _pair_distance(a, n, distance) + margin) + jax.nn.relu(
        d_ap - _pair_distance(n, n2, distance) + margin2
    )
    return weighted_reduce(loss.astype(dtype), None, None, reduction)


# Online mining from (embeddings, labels) ----------------------------------------------------

_MINING_HEAD = """
      embeddings: ``[..., B, D]`` floating array (leading dimensions are independent
        batches).
      labels: ``[..., B]`` integer class ids."""
_MINING_TAIL = """
      distance: ``"euclidean"`` (default), ``"squared_euclidean"``, ``"cosine"``
        (:math:`1 - \\cos`) via `jaxloss.pairwise_distances`, or a callable
        ``f(anchors [..., B, D], candidates [..., M, D]) -> [..., B, M]``.
      reduction: ``"none"`` (per anchor, ``[..., B]``), ``"mean"`` or ``"sum"``.
      axis_name: inside ``shard_map``/``pmap``, the mesh axis the batch is split over:
        anchors are scored against the global batch and reductions are global (see the
        module docstring)."""


def batch_all_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    distance: Distance = "euclidean",
    mean_over: str = "positive",
    reduction: str = "none",
    axis_name: Any = None,
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
    d, pos, neg, dtype = _mining_setup(embeddings, labels, distance, axis_name)
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
    return _reduce_anchors(total, count, count > 0, reduction, axis_name, dtype)


def batch_hard_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    soft: bool = False,
    distance: Distance = "euclidean",
    reduction: str = "none",
    axis_name: Any = None,
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
    d, pos, neg, dtype = _mining_setup(embeddings, labels, distance, axis_name)
    hard_pos, hard_neg, valid = _hardest(d, pos, neg)
    gap = hard_pos - hard_neg
    loss = jax.nn.softplus(gap) if soft else jax.nn.relu(gap + margin)
    loss = jnp.where(valid, loss, 0.0)
    return _reduce_anchors(loss, None, valid, reduction, axis_name, dtype)


def semihard_triplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    distance: Distance = "euclidean",
    reduction: str = "none",
    axis_name: Any = None,
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
    d, pos, neg, dtype = _mining_setup(embeddings, labels, distance, axis_name)
    lead, size = d.shape[:-1], d.shape[-1]
    margin = jnp.asarray(margin, d.dtype)
    total = _semihard_totals(
        d.reshape(-1, size), pos.reshape(-1, size), neg.reshape(-1, size), margin
    )
    total = total.reshape(lead)
    count = jnp.sum(pos & jnp.any(neg, axis=-1, keepdims=True), axis=-1).astype(d.dtype)
    return _reduce_anchors(total, count, count > 0, reduction, axis_name, dtype)


def batch_hard_quadruplet_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    margin2: ArrayLike = 0.5,
    distance: Distance = "squared_euclidean",
    reduction: str = "none",
    axis_name: Any = None,
) -> jax.Array:
    r"""Batch-hard quadruplet loss: `quadruplet_loss` on each anchor's hardest quadruplet.

    .. math::
        \ell_a = [\max_{p} D_{ap} - \min_{n} D_{an} + m_1]_+
        + [\max_{p} D_{ap} - \min_{(k, l)} D_{kl} + m_2]_+

    with :math:`p` over the anchor's positives, :math:`n` over its negatives, and
    :math:`(k, l)` over the pairs of the batch with :math:`y_k \ne y_l` and both labels
    different from :math:`y_a` (the hardest negative pair not involving the anchor's class,
    the second term of Chen et al.'s eq. (5)). :math:`D` defaults to the squared Euclidean
    distance, the paper's :math:`g^2`. The hardest pair is found in O(B^2): for each
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
      Array([0.5, 1.5, 0. , 0. ], dtype=float32)
    """
    _checks.check_nonnegative("margin", margin)
    _checks.check_nonnegative("margin2", margin2)
    _checks.check_reduction(reduction)
    d, pos, neg, dtype, labels, cand_labels = _mining_setup(
        embeddings, labels, distance, axis_name, with_labels=True
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
        _gather(v, axis_name) for v in (best1, best2, class1, has1, has2)
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
    return _reduce_anchors(loss, None, valid, reduction, axis_name, dtype)


for _fn in (
    batch_all_triplet_loss,
    batch_hard_triplet_loss,
    semihard_triplet_loss,
    batch_hard_quadruplet_loss,
):
    _fn.__doc__ = _fn.__doc__.replace("{head}", _MINING_HEAD).replace("{args}", _MINING_TAIL)
del _fn


# Private helpers ----------------------------------------------------------------------------


def _pair_labels(labels: ArrayLike, shape: tuple[int, ...]) -> jax.Array:
    labels = jnp.asarray(labels)
    if labels.shape != tuple(shape):
        raise ValueError(
            f"`labels` must have the per-pair shape {tuple(shape)} (the inputs without their "
            f"last axis); got shape {labels.shape}."
        )
    return labels


def _embeddings_and_labels(embeddings, labels):
    """Validated ``[..., B, D]`` embeddings (in the compute dtype) and ``[..., B]`` labels."""
    embeddings = _checks.as_float("embeddings", embeddings)
    _checks.check_min_rank("embeddings", embeddings, 2)
    labels = _checks.as_integer("labels", labels)
    if labels.shape != embeddings.shape[:-1]:
        raise ValueError(
            f"`labels` must have shape {embeddings.shape[:-1]} (one label per row of "
            f"`embeddings` {embeddings.shape}); got shape {labels.shape}."
        )
    dtype = _checks.result_dtype(embeddings)
    return embeddings.astype(_checks.compute_dtype(dtype)), labels, dtype


def _check_distance(distance):
    if not callable(distance) and (not isinstance(distance, str) or distance not in DISTANCES):
        raise ValueError(f"`distance` must be one of {DISTANCES} or a callable; got {distance!r}.")


def _gather(value, axis_name, axis=-1):
    """The global array along ``axis`` (tiled all-gather), or ``value`` without an axis."""
    if axis_name is None:
        return value
    return jax.lax.all_gather(value, axis_name, axis=axis % value.ndim, tiled=True)


def _candidates(x, labels, axis_name):
    """Candidates (the global batch), their labels, and the global index of local row 0."""
    if axis_name is None:
        return x, labels, None
    offset = jax.lax.axis_index(axis_name) * x.shape[-2]
    return _gather(x, axis_name, -2), _gather(labels, axis_name, -1), offset


def _pair_masks(labels, cand_labels, offset):
    """``same``, ``pos`` (same label, not self) and ``neg`` masks, ``[..., B, M]``."""
    same = labels[..., :, None] == cand_labels[..., None, :]
    rows, cols = labels.shape[-1], cand_labels.shape[-1]
    start = 0 if offset is None else offset
    not_self = (start + jnp.arange(rows))[:, None] != jnp.arange(cols)[None, :]
    not_self = jnp.broadcast_to(not_self, same.shape)
    return same, same & not_self, ~same


def _mining_setup(embeddings, labels, distance, axis_name, *, with_labels=False):
    _check_distance(distance)
    x, labels, dtype = _embeddings_and_labels(embeddings, labels)
    cand, cand_labels, offset = _candidates(x, labels, axis_name)
    d = _pairwise(x, None if axis_name is None else cand, distance)
    expected = (*x.shape[:-1], cand.shape[-2])
    if d.shape != expected:
        raise ValueError(
            f"`distance` must return the distance matrix of shape {expected}; got {d.shape}."
        )
    d = d.astype(x.dtype)
    _, pos, neg = _pair_masks(labels, cand_labels, offset)
    if with_labels:
        return d, pos, neg, dtype, labels, cand_labels
    return d, pos, neg, dtype


def _hardest(d, pos, neg):
    """Per anchor: hardest positive, hardest negative (0 where undefined) and validity."""
    valid = jnp.any(pos, axis=-1) & jnp.any(neg, axis=-1)
    hard_pos = jnp.max(jnp.where(pos, d, -jnp.inf), axis=-1)
    hard_neg = jnp.min(jnp.where(neg, d, jnp.inf), axis=-1)
    return jnp.where(valid, hard_pos, 0.0), jnp.where(valid, hard_neg, 0.0), valid


def _sorted_negatives(d, neg):
    """Each row's negative distances in ascending order (then +inf) and their count."""
    return jnp.sort(jnp.where(neg, d, jnp.inf), axis=-1), jnp.sum(neg, axis=-1)


# Anchors with at most this many positives take the semi-hard path that visits positives in
# turn (O(B^2) per turn); beyond it, sorting each row is cheaper.
_SEMIHARD_MAX_TURNS = 32


@jax.custom_jvp
def _semihard_totals(d, pos, neg, margin):
    """Per row of ``d`` ``[R, M]``: the sum of the semi-hard hinges of its positives.

    The mining (which negative each positive meets) is piecewise constant in ``d``, so the
    derivative is linear with integer coefficients: the JVP rule below gives it without
    differentiating through the sort or the gathers.
    """
    return _semihard_mine(d, pos, neg, margin)[0]


@_semihard_totals.defjvp
def _semihard_totals_jvp(primals, tangents):
    d, pos, neg, margin = primals
    d_dot, _, _, margin_dot = tangents
    total, coef, active = _semihard_mine(d, pos, neg, margin)
    total_dot = jnp.sum(coef * d_dot, axis=-1) + active * margin_dot
    return total, total_dot


def _semihard_mine(d, pos, neg, margin):
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
    return jax.lax.cond(
        turns <= _SEMIHARD_MAX_TURNS, _semihard_by_turns, _semihard_by_sorting, *operands
    )


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
        farther = neg & (d > d_ap)
        # argmin returns the first minimum: the lowest-index negative among ties.
        nearest = jnp.argmin(jnp.where(farther, d, jnp.inf), axis=-1).astype(jnp.int32)
        n = jnp.where(jnp.any(farther, axis=-1), nearest, inside)
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


def _reduce_anchors(total, count, valid, reduction, axis_name, dtype):
    """Per-anchor ``total / count`` (0 where invalid), reduced over the (global) anchors.

    ``"mean"`` is ``sum(total) / sum(count)`` over valid anchors (``count=None``: a plain
    mean over valid anchors); ``"sum"`` adds the per-anchor values.
    """
    if count is None:
        values = total
        count = jnp.ones_like(total)
    else:
        values = jnp.where(valid, total / jnp.where(valid, count, 1), 0.0)
    if reduction == "none":
        return weighted_reduce(values, None, valid, "none").astype(dtype)
    # Across devices the shared helper psums the local numerators and denominators (an
    # invariant result whose transpose broadcasts the cotangent back) and divides once.
    if reduction == "sum":
        return weighted_reduce(values, None, valid, "sum", axis_name).astype(dtype)
    return weighted_reduce(total, count, valid, "mean", axis_name).astype(dtype)


def _reduce_examples(loss, weights, mask, reduction, axis_name, dtype):
    """`weighted_reduce`, over the global batch when ``axis_name`` is given."""
    return weighted_reduce(loss, weights, mask, reduction, axis_name).astype(dtype)


def _unit_rows(x, eps):
    """Rows scaled to unit norm, squared norms clipped at ``eps`` (optax's cosine)."""
    return x / jnp.sqrt(jnp.maximum(jnp.sum(jnp.square(x), axis=-1, keepdims=True), eps))


def _pair_distance(x, y, distance):
    """Distance between aligned rows along the last axis."""
    _check_distance(distance)
    if callable(distance):
        out = jnp.asarray(distance(x, y))
        if out.shape != x.shape[:-1]:
            raise ValueError(
                f"`distance` must return one distance per pair, shape {x.shape[:-1]}; got "
                f"{out.shape}."
            )
        return out.astype(x.dtype)
    fn = {
        "euclidean": euclidean_distance,
        "squared_euclidean": squared_euclidean_distance,
        "cosine": cosine_distance,
    }[distance]
    return fn(x, y).astype(x.dtype)


def _pairwise(x, y, distance):
    """``[..., B, M]`` distances from the rows of ``x`` to those of ``y`` (``None``: ``x``).

    Named metrics come from `jaxloss.pairwise_distances` (a Gram-matrix form). Values below
    that form's rounding floor, ``4 eps (|x_i - mu|^2 + |y_j - mu|^2)`` for squared distances
    with ``mu`` the mean candidate (``4 eps`` for cosine), are set to exactly 0 (zero
    gradient): duplicated embeddings are then at distance 0 wherever they sit in the batch
    (the matmul rounds identical rows differently by position).
    """
    if callable(distance):
        return jnp.asarray(distance(x, x if y is None else y))
    cand = x if y is None else y
    eps = jnp.finfo(x.dtype).eps
    if distance == "cosine":
        out = pairwise_distances(x, y, metric="cosine").astype(x.dtype)
        return jnp.where(out <= 4 * eps, 0.0, out)
    # Centre on the candidates' mean (the global batch when sharded), so the floor below is
    # the same on every device; distances are translation invariant.
    mu = jnp.mean(cand, axis=-2, keepdims=True)
    xc = x - mu
    cc = cand - mu
    out = pairwise_distances(xc, None if y is None else cc, metric=distance).astype(x.dtype)
    norms_x = jnp.sum(jnp.square(xc), axis=-1)[..., :, None]
    norms_c = jnp.sum(jnp.square(cc), axis=-1)[..., None, :]
    floor = 4 * eps * (norms_x + norms_c)
    squared = out if distance == "squared_euclidean" else jnp.square(out)
    return jnp.where(squared <= floor, 0.0, out)
