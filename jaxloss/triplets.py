"""Triplet and quadruplet losses on given tuples.

Aligned batches of anchors, positives and negatives (and, for the quadruplet loss, second
negatives) are scored tuple by tuple: ``triplet_margin_loss`` (optax's signature, torch's
values) and ``quadruplet_loss``. To mine the tuples from a batch of ``(embeddings, labels)``,
use `jaxloss.mining`. Identical points are at distance exactly 0 with finite (zero) gradients.

Both losses take ``reduction`` (default ``"none"``: per tuple), ``where`` (a tuple mask: a
masked tuple gives 0, does not count in ``"mean"`` and its vectors are replaced by zeros
first, so non-finite masked inputs reach neither the value nor the gradient), per-tuple
``weights`` and ``axis_name`` (global reductions inside ``shard_map``), with
`jaxloss.reduce`'s semantics (CONTRIBUTING.md, sections 4 and 5).

Distances. Both default to the Euclidean distance, as torch's ``triplet_margin_loss``,
pytorch-metric-learning's ``TripletMarginLoss`` and the mining losses of `jaxloss.mining`
(Hermans et al. found the plain distance trains better than its square); Chen et al.'s
quadruplet paper uses a squared (learned) distance, ``distance="squared_euclidean"``.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _embedding
from jaxloss.distances import minkowski_distance
from jaxloss.reductions import reduce_loss

__all__ = [
    "quadruplet_loss",
    "triplet_margin_loss",
]

_TUPLE_REDUCTION = """
      reduction: ``"none"`` (default: per tuple, ``[...]``), ``"mean"``, ``"sum"`` or
        ``"sum_and_count"`` (static), with `jaxloss.reduce`'s semantics.
      where: optional boolean tuple mask broadcastable to ``[...]`` (see the module
        docstring).
      weights: optional non-negative per-tuple weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): the
        reductions are then global."""


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
    distance: _embedding.Distance | None = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
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
        ``"cosine"``, ``"manhattan"``, ``"chebyshev"`` or a callable ``f(x, y) -> [...]``
        (torch's ``triplet_margin_with_distance_loss``); requires ``axis=-1``.{reduce}

    Returns:
      Per-triplet losses ``[...]`` (``"none"``), or the reduction.

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
    mask = _tuple_mask(where, a.shape[:-1])
    a, p, n = _embedding.zero_masked_rows(mask, a, p, n)
    if distance is None:
        eps = jnp.asarray(eps, acc)

        def norm_dist(x, y):
            diff = x - y + eps
            return minkowski_distance(diff, jnp.zeros_like(diff), p=norm_degree)

        dist = norm_dist
    else:
        if axis != anchors.ndim - 1:
            raise ValueError(f"`distance` requires `axis`=-1; got `axis`={axis}.")

        def given_dist(x, y):
            return _embedding.pair_distance(x, y, distance)

        dist = given_dist

    d_ap = dist(a, p)
    d_an = dist(a, n)
    if swap:
        d_an = jnp.minimum(d_an, dist(p, n))
    loss = jax.nn.softplus(d_ap - d_an) if soft else jax.nn.relu(d_ap - d_an + margin)
    return _reduce(loss, dtype, reduction, mask, weights, axis_name)


def quadruplet_loss(
    anchors: ArrayLike,
    positives: ArrayLike,
    negatives: ArrayLike,
    negatives2: ArrayLike,
    *,
    margin: ArrayLike = 1.0,
    margin2: ArrayLike = 0.5,
    distance: _embedding.Distance = "euclidean",
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Quadruplet loss of Chen et al. 2017 on given (anchor, positive, negative, negative2).

    .. math::
        \ell = [D(a, p) - D(a, n) + m_1]_+ + [D(a, p) - D(n, n_2) + m_2]_+

    where :math:`a, p` share a label, :math:`n, n_2` have two other, different labels, and
    :math:`D` is the Euclidean distance by default, as in the other triplet losses (the
    paper's squared distance :math:`g^2` is ``distance="squared_euclidean"``; the default
    was ``"squared_euclidean"`` before jaxloss 1.0). The second term pushes apart pairs of
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
      distance: :math:`D`: ``"euclidean"`` (default), ``"squared_euclidean"``,
        ``"cosine"``, ``"manhattan"``, ``"chebyshev"`` or a callable ``f(x, y) -> [...]``
        along the last axis.{reduce}

    Returns:
      Per-quadruplet losses ``[...]`` (``"none"``), or the reduction.

    References:
      W. Chen, X. Chen, J. Zhang, K. Huang, "Beyond triplet loss: a deep quadruplet network
      for person re-identification", CVPR 2017, eq. (5).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import quadruplet_loss
      >>> a, p = jnp.array([[0.0, 0.0]]), jnp.array([[2.0, 0.0]])
      >>> n, n2 = jnp.array([[0.0, 1.0]]), jnp.array([[0.0, 3.0]])
      >>> quadruplet_loss(a, p, n, n2)
      Array([2.5], dtype=float32)
      >>> quadruplet_loss(a, p, n, n2, distance="squared_euclidean")
      Array([4.5], dtype=float32)
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
    _embedding.check_distance(distance)
    dtype = _checks.result_dtype(*arrays.values())
    acc = _checks.compute_dtype(dtype)
    mask = _tuple_mask(where, arrays["anchors"].shape[:-1])
    a, p, n, n2 = _embedding.zero_masked_rows(mask, *(v.astype(acc) for v in arrays.values()))
    d_ap = _embedding.pair_distance(a, p, distance)
    loss = jax.nn.relu(d_ap - _embedding.pair_distance(a, n, distance) + margin) + jax.nn.relu(
        d_ap - _embedding.pair_distance(n, n2, distance) + margin2
    )
    return _reduce(loss, dtype, reduction, mask, weights, axis_name)


for _fn in (triplet_margin_loss, quadruplet_loss):
    assert _fn.__doc__ is not None  # each is written above (python -OO strips both)
    _fn.__doc__ = _fn.__doc__.replace("{reduce}", _TUPLE_REDUCTION)
del _fn


# Private helpers ----------------------------------------------------------------------------


def _tuple_mask(where, shape):
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
