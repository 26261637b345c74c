"""Margin and average-precision losses over the pairs of a batch of ``(embeddings, labels)``.

``margin_loss`` (Wu et al., with a learnable boundary) and ``fast_ap_loss`` (a histogram
approximation of average precision) score every positive and negative pair of an anchor, as
pytorch-metric-learning (PML) 2.9 defines them. They share the conventions of
`jaxloss.pair_weighting` (its module docstring): unit vectors first, O(B^2) memory, empty
sets, PML's reducers mapped to ``reduction``, ``where`` removing examples entirely,
``weights`` per anchor, and ``axis_name`` for the global batch.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _batch_pairs, _checks, _numerics

__all__ = ["fast_ap_loss", "margin_loss"]


def margin_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    beta: ArrayLike = 1.2,
    margin: ArrayLike = 0.2,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Margin loss (Wu et al. 2017) over all triplets, with a learnable boundary :math:`\beta`.

    With Euclidean distances :math:`d` of unit vectors and :math:`\beta_a` the boundary of
    the anchor's class (or the one scalar :math:`\beta`), every triplet :math:`(a, p, n)`
    contributes :math:`[d_{ap} - \beta_a + m]_+ + [\beta_a - d_{an} + m]_+` (PML's
    ``MarginLoss`` with ``triplets_per_anchor="all"``). The :math:`B^3` triplets are never
    formed: anchor :math:`a` totals :math:`|N(a)| \sum_p [d_{ap} - \beta_a + m]_+ +
    |P(a)| \sum_n [\beta_a - d_{an} + m]_+`, and its count :math:`c_a` is the number of its
    triplet terms that are positive, counted the same way.

    :math:`\beta` is an array argument, so ``jax.grad`` with respect to it gives its
    gradient: hold it in the optimiser's parameters (the paper initialises it to 1.2 and
    trains it with a larger learning rate). PML's regulariser ``nu * beta`` is not part of
    the loss; add it to the objective. Per-class :math:`\beta` (``[C]``) is indexed by the
    anchor's label, which must lie in ``[0, C)`` (out-of-range labels are clipped, and raise
    on concrete input and in checked mode).

    Wu et al. score sampled pairs (distance-weighted sampling) rather than all triplets:
    each positive pair then counts once, where here it counts :math:`|N(a)|` times (and each
    negative pair :math:`|P(a)|` times).

    Reduction: PML's default ``DivisorReducer`` (the sum over triplets divided by the number
    of positive terms) is ``"mean"``.

    Args:{head}
      beta: :math:`\beta`, a scalar or a per-class ``[C]`` array (differentiable).
      margin: :math:`m`, the margin around the boundary (PML ``margin``).{tail}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over the positive terms).

    References:
      C.-Y. Wu, R. Manmatha, A. J. Smola, P. Krähenbühl, "Sampling Matters in Deep Embedding
      Learning", ICCV 2017, eq. (4); PML ``MarginLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import margin_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> loss = margin_loss(e, jnp.array([0, 0, 1, 1]), beta=jnp.array([0.5, 0.7]),
      ...                    reduction="mean")
      >>> print(f"{float(loss):.4f}")
      0.2421
    """
    beta = _checks.as_float("beta", beta)
    if beta.ndim > 1:
        raise ValueError(
            f"`beta` must be a scalar or a per-class vector [C]; got shape {beta.shape}."
        )
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    if beta.ndim == 1:
        _checks.check_class_ids("labels", y, beta.shape[0], where=mask)
    return _margin_kernel(
        e, y, beta, margin, mask, weights, reduction=reduction, axis_name=axis_name
    )


def fast_ap_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    *,
    num_bins: int = 10,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""FastAP (Cakir et al. 2019): one minus a histogram approximation of average precision.

    Squared Euclidean distances of unit vectors, :math:`d \in [0, 4]`, are binned softly
    into ``num_bins + 1`` triangular bins centred at :math:`z_k = 4k / L`
    (:math:`\delta_k(d) = [1 - |d - z_k| / (4 / L)]_+`). With :math:`h^+_k`, :math:`h_k` the
    anchor's positive and total bin counts and :math:`H^+_k`, :math:`H_k` their cumulative
    sums:

    .. math::
        \ell_i = 1 - \frac{1}{|P(i)|} \sum_k \frac{h^+_k H^+_k}{H_k}

    (terms with :math:`h^+_k H^+_k = 0` are 0). An anchor without a positive has loss 0 and
    does not count. Paper, authors' code and PML agree.

    Reduction: PML's default ``MeanReducer`` over the anchors with a positive is ``"mean"``.

    Args:{head}
      num_bins: :math:`L \ge 1`, the number of histogram intervals (static).{tail}

    Returns:
      ``[..., B]`` per-anchor losses, or a scalar (``"mean"``: over anchors with a
      positive).

    References:
      F. Cakir, K. He, X. Xia, B. Kulis, S. Sclaroff, "Deep Metric Learning to Rank", CVPR
      2019; PML ``FastAPLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import fast_ap_loss
      >>> e = jnp.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.6, 0.8]])
      >>> fast_ap_loss(e, jnp.array([0, 0, 1, 1])).round(4)
      Array([0. , 0.5, 0. , 0.5], dtype=float32)
    """
    if not isinstance(num_bins, int | np.integer) or isinstance(num_bins, bool) or num_bins < 1:
        raise ValueError(f"`num_bins` must be a positive int; got {num_bins!r}.")
    e, y, mask, weights = _batch_pairs.inputs(embeddings, labels, where, weights, reduction)
    return _fast_ap_kernel(
        e, y, mask, weights, num_bins=int(num_bins), reduction=reduction, axis_name=axis_name
    )


_batch_pairs.fill_docstrings(margin_loss, fast_ap_loss)


# Private helpers ----------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("reduction", "axis_name"))
def _margin_kernel(e, y, beta, margin, mask, weights, *, reduction, axis_name):
    x, cand, _, pos, neg, dtype = _batch_pairs.setup(e, y, mask, axis_name)
    d = _batch_pairs.euclidean(x, cand, axis_name)
    beta = beta.astype(d.dtype)
    b = beta if beta.ndim == 0 else jnp.take(beta, y, mode="clip")
    b = jnp.broadcast_to(b, y.shape)[..., None]
    pos_hinge = jnp.where(pos, jax.nn.relu(d - b + margin), 0.0)
    neg_hinge = jnp.where(neg, jax.nn.relu(b - d + margin), 0.0)
    n_pos = jnp.sum(pos, axis=-1).astype(d.dtype)
    n_neg = jnp.sum(neg, axis=-1).astype(d.dtype)
    total = n_neg * jnp.sum(pos_hinge, axis=-1) + n_pos * jnp.sum(neg_hinge, axis=-1)
    count = n_neg * jnp.sum(pos_hinge > 0, axis=-1) + n_pos * jnp.sum(neg_hinge > 0, axis=-1)
    return _batch_pairs.reduce(
        total, count.astype(d.dtype), count > 0, weights, reduction, axis_name, dtype
    )


@functools.partial(jax.jit, static_argnames=("num_bins", "reduction", "axis_name"))
def _fast_ap_kernel(e, y, mask, weights, *, num_bins, reduction, axis_name):
    x, cand, _, pos, neg, dtype = _batch_pairs.setup(e, y, mask, axis_name)
    d = _batch_pairs.euclidean(x, cand, axis_name, "squared_euclidean")
    pos_hist, neg_hist = _soft_histograms(d, pos, neg, num_bins)
    product = pos_hist * jnp.cumsum(pos_hist, axis=-1)
    total_hist = jnp.cumsum(pos_hist + neg_hist, axis=-1)
    safe = (product > 0) & (total_hist > 0)
    precision = jnp.where(safe, product / jnp.where(safe, total_hist, 1.0), 0.0)
    n_pos = jnp.sum(pos, axis=-1)
    valid = n_pos > 0
    fast_ap = jnp.sum(precision, axis=-1) / jnp.where(valid, n_pos, 1).astype(d.dtype)
    loss = jnp.where(valid, 1.0 - fast_ap, 0.0)
    return _batch_pairs.reduce(loss, None, valid, weights, reduction, axis_name, dtype)


def _soft_histograms(d, pos, neg, num_bins):
    r"""Each row's positive and negative counts in the triangular bins, ``[..., num_bins + 1]``.

    A distance between the centres :math:`z_k \le d < z_{k+1}` lies in bins ``k`` and ``k + 1``
    only, with weights ``1 - f`` and ``f`` (``f = d / width - k``): the triangular pulses as two
    scatter-adds, O(B^2) memory. At a centre (``f = 0``, duplicated embeddings) the weights
    have zero gradient, as the pulses' ``|d - z_k|`` and ``relu`` have in PML (torch's
    subgradients at 0).
    """
    position = d * (num_bins / 4.0)
    low = jnp.clip(jnp.floor(jax.lax.stop_gradient(position)), 0, num_bins)
    frac = position - low
    frac = jnp.where(frac > 0, frac, jax.lax.stop_gradient(frac))
    lead, size = d.shape[:-1], d.shape[-1]
    rows = int(np.prod(lead, dtype=int))
    row = jnp.arange(rows)[:, None]
    low = low.astype(jnp.int32).reshape(rows, size)

    def histogram(mask):
        lower = jnp.where(mask, 1.0 - frac, 0.0).reshape(rows, size)
        upper = jnp.where(mask, frac, 0.0).reshape(rows, size)
        zeros = _numerics.match_varying(jnp.zeros((rows, num_bins + 2), d.dtype), d)
        counts = zeros.at[row, low].add(lower).at[row, low + 1].add(upper)
        return counts[:, : num_bins + 1].reshape(*lead, num_bins + 1)

    return histogram(pos), histogram(neg)
