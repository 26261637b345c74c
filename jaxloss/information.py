"""Mutual information (natural log, nats): from two discrete labelings, from a joint table, and
a differentiable Parzen-window estimate for continuous signals (image registration).

These functions return one value per labeling (or table, or pair of signals), a statistic of
all its samples, not per-example losses: they take no ``reduction``, ``where`` or
``axis_name`` (CONTRIBUTING.md, section 4). Sample ``weights`` enter the contingency table.

Data conditions (CONTRIBUTING.md, section 7): class labels outside ``[0, num_classes)``,
negative sample weights and negative table entries raise a ValueError naming the argument on
concrete (eager) arrays, and in the checked mode under ``jit``
(``checkify.checkify(f, errors=checkify.user_checks)``). Unchecked, the documented default
applies.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _numerics
from jaxloss._checks import Axis

__all__ = [
    "mutual_information",
    "mutual_information_from_joint",
    "normalized_mutual_information",
    "soft_mutual_information",
]

AVERAGES = ("arithmetic", "geometric", "min", "max")


@_dispatch.compiled_when_eager
def mutual_information(
    labels_a: ArrayLike,
    labels_b: ArrayLike,
    *,
    num_classes_a: int,
    num_classes_b: int,
    weights: ArrayLike | None = None,
) -> jax.Array:
    """Mutual information of two labelings of the same samples, ``I(A; B)`` in nats.

    With the contingency table ``n_ij`` (number, or total weight, of samples labelled ``i`` by
    ``a`` and ``j`` by ``b``), ``p_ij = n_ij / sum(n)`` and marginals ``p_i``, ``p_j``::

        I = sum_ij p_ij log(p_ij / (p_i p_j))        (terms with p_ij = 0 are 0)

    Equal to scikit-learn's ``mutual_info_score``, including its conventions: a labeling with
    a single cluster gives exactly 0, and the result is clipped at 0 against rounding. One
    value per labeling pair, not per sample: there is no ``reduction``.

    Labels outside ``[0, num_classes)`` of a sample with positive weight are an error: a
    ValueError naming the argument for concrete labels, an error in the checked mode under
    ``jit``. Unchecked under ``jit`` such a sample is dropped from the table (as if its weight
    were 0; scikit-learn would count -1 as a label of its own). To leave samples out (padding),
    give them weight 0: their labels are then not checked.

    Args:
      labels_a: ``[..., N]`` integer labels in ``[0, num_classes_a)``.
      labels_b: ``[..., N]`` integer labels in ``[0, num_classes_b)``, same shape.
      num_classes_a: static number of classes of ``a`` (absent classes are harmless).
      num_classes_b: static number of classes of ``b``.
      weights: optional non-negative sample weights broadcastable to ``[..., N]`` (checked);
        the table sums weights instead of counts (integer weights equal repeating samples).
        MI is differentiable with respect to them.

    Returns:
      ``[...]``: MI per labeling pair, in the dtype of ``weights`` (float32 without weights).
      An empty table (no sample of positive weight) gives 0.

    References:
      ``sklearn.metrics.mutual_info_score``; T. M. Cover and J. A. Thomas, "Elements of
      Information Theory", 2006, eq. 2.28.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import mutual_information
      >>> a = jnp.array([0, 1, 1, 0, 1, 0])
      >>> b = jnp.array([0, 1, 0, 0, 1, 1])
      >>> mi = mutual_information(a, b, num_classes_a=2, num_classes_b=2)
      >>> print(f"{float(mi):.4f}")
      0.0566
    """
    table, dtype = _contingency(labels_a, labels_b, num_classes_a, num_classes_b, weights)
    return _information(table)[0].astype(dtype)


@_dispatch.compiled_when_eager
def normalized_mutual_information(
    labels_a: ArrayLike,
    labels_b: ArrayLike,
    *,
    num_classes_a: int,
    num_classes_b: int,
    average: str = "arithmetic",
    weights: ArrayLike | None = None,
) -> jax.Array:
    """Normalised mutual information ``I(A; B) / mean(H(A), H(B))`` in ``[0, 1]``.

    ``mean`` is the generalised average named by ``average``: ``"arithmetic"``
    ``(H_a + H_b) / 2``, ``"geometric"`` ``sqrt(H_a H_b)``, ``"min"`` or ``"max"``.

    Equal to scikit-learn's ``normalized_mutual_info_score(average_method=average)``,
    including its degenerate cases (clusters are the classes with positive count or weight):
    both labelings with a single cluster (or both empty) give 1.0, a perfect match; exactly
    one with a single cluster gives 0.0. One value per labeling pair: no ``reduction``.
    Out-of-range labels and zero weights are treated as in `mutual_information`.

    Args:
      labels_a: ``[..., N]`` integer labels in ``[0, num_classes_a)`` (checked).
      labels_b: ``[..., N]`` integer labels in ``[0, num_classes_b)``, same shape.
      num_classes_a: static number of classes of ``a``.
      num_classes_b: static number of classes of ``b``.
      average: ``"arithmetic"`` (default, as scikit-learn), ``"geometric"``, ``"min"`` or
        ``"max"`` (static).
      weights: optional non-negative sample weights broadcastable to ``[..., N]`` (checked).

    Returns:
      ``[...]``, in the dtype of ``weights`` (float32 without weights).

    References:
      ``sklearn.metrics.normalized_mutual_info_score``; A. Strehl and J. Ghosh, "Cluster
      ensembles", JMLR 2002; N. X. Vinh, J. Epps and J. Bailey, JMLR 2010.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import normalized_mutual_information
      >>> a, b = jnp.array([0, 0, 1, 1]), jnp.array([1, 1, 0, 0])
      >>> normalized_mutual_information(a, b, num_classes_a=2, num_classes_b=2)
      Array(1., dtype=float32)
      >>> a, b = jnp.array([0, 0, 0, 0]), jnp.array([0, 1, 2, 3])
      >>> normalized_mutual_information(a, b, num_classes_a=1, num_classes_b=4)
      Array(0., dtype=float32)
    """
    _checks.check_choice("average", average, AVERAGES)
    table, dtype = _contingency(labels_a, labels_b, num_classes_a, num_classes_b, weights)
    mi, entropy_a, entropy_b, clusters_a, clusters_b = _information(table)
    if average == "arithmetic":
        normalizer = 0.5 * (entropy_a + entropy_b)
    elif average == "geometric":
        normalizer = _numerics.safe_sqrt(entropy_a * entropy_b)
    elif average == "min":
        normalizer = jnp.minimum(entropy_a, entropy_b)
    else:
        normalizer = jnp.maximum(entropy_a, entropy_b)
    trivial = (clusters_a <= 1) | (clusters_b <= 1)
    both_trivial = (clusters_a == clusters_b) & trivial
    safe = jnp.where(trivial, 1, jnp.maximum(normalizer, jnp.finfo(normalizer.dtype).tiny))
    nmi = jnp.where(trivial, jnp.where(both_trivial, 1, 0), mi / safe)
    return nmi.astype(dtype)


@_dispatch.compiled_when_eager
def mutual_information_from_joint(joint: ArrayLike) -> jax.Array:
    """Mutual information of a joint distribution table ``p(a, b)``, in nats.

    ``I = sum_ij p_ij log(p_ij / (p_i p_j))`` with ``p = joint / sum(joint)``: the table may
    hold probabilities or counts. One value per table: no ``reduction``.

    Args:
      joint: ``[..., A, B]`` non-negative floating table. A negative entry raises a
        ValueError when concrete and in the checked mode; unchecked it gives a meaningless
        value (the formula applied as written).

    Returns:
      ``[...]``, clipped at 0. An all-zero table or one with a single non-empty row or column
      gives 0. Zero cells contribute 0 to the value. The partial derivative at a zero cell is
      ``-inf`` (from ``log p_ij``); the gradient drops that log term and keeps the finite rest
      (through the marginals and the normalisation), so it stays finite.

    References:
      ``sklearn.metrics.mutual_info_score(None, None, contingency=joint)``; Cover and Thomas,
      "Elements of Information Theory", 2006, eq. 2.28.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import mutual_information_from_joint
      >>> mi = mutual_information_from_joint(jnp.array([[0.5, 0.0], [0.0, 0.5]]))
      >>> print(f"{float(mi):.4f}")
      0.6931
    """
    joint = _checks.as_float("joint", joint)
    _checks.check_min_rank("joint", joint, 2)
    _checks.check_values_in("joint", joint, low=0.0)
    dtype = joint.dtype
    return _information(joint.astype(_checks.compute_dtype(dtype)))[0].astype(dtype)


@_dispatch.compiled_when_eager
def soft_mutual_information(
    x: ArrayLike,
    y: ArrayLike,
    *,
    num_bins: int = 32,
    bandwidth: float | None = None,
    value_range: tuple[float, float] = (0.0, 1.0),
    axis: Axis = -1,
) -> jax.Array:
    """Differentiable mutual information of two signals from Parzen-window histograms.

    ``num_bins`` centres ``c_k`` are spread evenly over ``value_range`` (ends included). Each
    sample is soft-assigned to the bins with Gaussian weights normalised over the bins,
    ``w_k(v) = softmax_k(-(v - c_k)^2 / (2 bandwidth^2))``; the joint histogram is
    ``p_kl = mean_n w_k(x_n) w_l(y_n)`` and the result is the MI of that table (see
    `mutual_information_from_joint`). Samples outside ``value_range`` fall in the edge bins.

    Bias: the estimate is the MI of binned, kernel-smoothed copies of ``x`` and ``y``, which
    is at most the true MI (data-processing inequality); the smoothing acts like independent
    noise of variance about ``bandwidth^2 + spacing^2 / 12`` on each signal, so strongly
    dependent signals are underestimated (even ``x == y`` gives less than
    ``log(num_bins)``). With few samples the plug-in histogram overestimates instead,
    roughly by ``(K - 1)^2 / (2 N)`` for ``K`` effectively occupied bins. For correlated
    standard Gaussians with ``N = 20000``, ``num_bins=48`` over ``(-4, 4)`` and the default
    bandwidth, the estimate is within 0.04 nats of ``-log(1 - rho^2) / 2`` for
    ``|rho| <= 0.9``. The estimate is meant as a registration similarity (maximise it), not
    as an unbiased statistic. On inputs inside ``(0, 1)`` it equals MONAI's
    ``GlobalMutualInformationLoss`` (negated) without its ``1e-7`` smoothing constants; MONAI
    clamps the inputs to ``[0, 1]`` where we let outlying samples fall in the edge bins.

    Args:
      x: ``[..., N]`` floating samples (e.g. image intensities); more sample axes with
        ``axis``.
      y: array of the same rank; leading dimensions broadcast, sample axes equal.
      num_bins: number of bins ``K >= 2`` (static).
      bandwidth: standard deviation of the Gaussian kernel in value units, ``> 0``. Default:
        half the spacing between bin centres (MONAI's ``sigma_ratio=0.5``).
      value_range: ``(low, high)`` static floats, ``low < high``; default ``(0, 1)`` for
        normalised intensities.
      axis: the sample axis or axes (static), default -1; ``None`` uses all axes.

    Returns:
      ``[...]``: MI in nats, clipped at 0, in the promoted dtype of the inputs; one value per
      pair of signals (no ``reduction``).

    References:
      ``monai.losses.GlobalMutualInformationLoss`` (Gaussian kernel); P. Viola and W. M.
      Wells, "Alignment by maximization of mutual information", IJCV 1997; D. Mattes et al.,
      "PET-CT image registration in the chest using free-form deformations", IEEE TMI 2003.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import soft_mutual_information
      >>> x = jax.random.uniform(jax.random.key(0), (1000,))
      >>> same = soft_mutual_information(x, x)
      >>> other = soft_mutual_information(x, jax.random.uniform(jax.random.key(1), (1000,)))
      >>> bool(same > 1.0), bool(other < 0.2)
      (True, True)
    """
    if not isinstance(num_bins, int | np.integer) or isinstance(num_bins, bool):
        raise TypeError(f"`num_bins` must be a static int; got {num_bins!r}.")
    if num_bins < 2:
        raise ValueError(f"`num_bins` must be >= 2; got {num_bins}.")
    low, high = _value_range(value_range)
    spacing = (high - low) / (num_bins - 1)
    if bandwidth is None:
        bandwidth = 0.5 * spacing
    _checks.check_positive("bandwidth", bandwidth)
    x, y, axes, dtype = _checks.float_pair(x, y, axis)
    keep = tuple(a for a in range(x.ndim) if a not in axes)
    lead = tuple(x.shape[a] for a in keep)
    x = jnp.transpose(x, keep + axes).reshape((*lead, -1))
    y = jnp.transpose(y, keep + axes).reshape((*lead, -1))
    centers = jnp.linspace(low, high, num_bins, dtype=x.dtype).reshape((1,) * x.ndim + (-1,))

    def soft_assign(v):
        scaled = (v[..., None] - centers) / bandwidth
        return jax.nn.softmax(-0.5 * jnp.square(scaled), axis=-1)

    joint = jnp.matmul(
        jnp.swapaxes(soft_assign(x), -1, -2),
        soft_assign(y),
        precision=jax.lax.Precision.HIGHEST,
    )
    return _information(joint)[0].astype(dtype)


# Private helpers ------------------------------------------------------------------------


def _contingency(labels_a, labels_b, num_classes_a, num_classes_b, weights):
    labels_a = _checks.as_integer("labels_a", labels_a)
    labels_b = _checks.as_integer("labels_b", labels_b)
    _checks.check_min_rank("labels_a", labels_a, 1)
    _checks.check_same_shape(labels_a=labels_a, labels_b=labels_b)
    for name, value in (("num_classes_a", num_classes_a), ("num_classes_b", num_classes_b)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise TypeError(f"`{name}` must be a static int; got {value!r}.")
        if value < 1:
            raise ValueError(f"`{name}` must be >= 1; got {value}.")
    counted = None
    if weights is not None:
        weights = _checks.broadcast_to(
            "weights", _checks.as_float("weights", weights), labels_a.shape
        )
        _checks.check_values_in("weights", weights, low=0.0)
        counted = weights > 0
    _checks.check_class_ids("labels_a", labels_a, num_classes_a, where=counted)
    _checks.check_class_ids("labels_b", labels_b, num_classes_b, where=counted)
    dtype = _checks.result_dtype(weights)
    acc = _checks.compute_dtype(dtype)
    # Out-of-range ids one-hot to zero rows: unchecked, such a sample leaves the table.
    one_hot_a = jax.nn.one_hot(labels_a, num_classes_a, dtype=acc)
    one_hot_b = jax.nn.one_hot(labels_b, num_classes_b, dtype=acc)
    if weights is not None:
        one_hot_a = one_hot_a * weights.astype(acc)[..., None]
    table = jnp.matmul(
        jnp.swapaxes(one_hot_a, -1, -2), one_hot_b, precision=jax.lax.Precision.HIGHEST
    )
    return table, dtype


def _information(table: jax.Array) -> tuple[Any, ...]:
    """MI, both entropies and both cluster counts of a non-negative table [..., A, B]."""
    total = jnp.sum(table, axis=(-2, -1), keepdims=True)
    p = table / jnp.where(total > 0, total, 1)
    p_a = jnp.sum(p, axis=-1, keepdims=True)
    p_b = jnp.sum(p, axis=-2, keepdims=True)
    log_ratio = _safe_log(p) - _safe_log(p_a) - _safe_log(p_b)
    mi = jnp.sum(jnp.where(p > 0, p * log_ratio, 0), axis=(-2, -1))
    clusters_a = jnp.sum(p_a > 0, axis=(-2, -1))
    clusters_b = jnp.sum(p_b > 0, axis=(-2, -1))
    # A labeling with one cluster has zero entropy, so MI is exactly 0 (scikit-learn returns
    # 0 there too); the guard removes rounding residue. MI >= 0: clip rounding below it.
    mi = jnp.where((clusters_a <= 1) | (clusters_b <= 1) | (mi < 0), 0, mi)
    entropy_a = -jnp.sum(jnp.where(p_a > 0, p_a * _safe_log(p_a), 0), axis=(-2, -1))
    entropy_b = -jnp.sum(jnp.where(p_b > 0, p_b * _safe_log(p_b), 0), axis=(-2, -1))
    return mi, entropy_a, entropy_b, clusters_a, clusters_b


def _safe_log(v):
    return jnp.log(jnp.where(v > 0, v, 1))


def _value_range(value_range):
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"`value_range` must be a pair of static floats (low, high); got {value_range!r}."
        ) from None
    if not low < high:
        raise ValueError(f"`value_range` must satisfy low < high; got {value_range!r}.")
    return low, high
