"""Proxy losses: embeddings scored against learnable class proxies instead of each other.

Every loss here takes ``(embeddings [..., B, D], labels [..., B], proxies, *, ...)``:
``proxies`` are learnable class representatives whose rows are classes, ``[C, D]``
(``[C, K, D]``, K centres per class, for `soft_triple_loss`), the layout of
pytorch-metric-learning's (PML's) ``proxies`` parameter. Memory is O(B C): one matmul of
the (normalized) embeddings against the proxies, never a batch-by-batch matrix. The proxies
are parameters like any other (an optax parameter, an ``nnx.Param``); the docstrings show the
initialisation PML uses.

Precision and singular points. Cosines and log-sum-exps are computed in at least float32
(bfloat16 and float16 inputs included); the result has the inputs' dtype. Vectors are
normalized as ``v / max(|v|, eps)`` (``torch.nn.functional.normalize``): a zero embedding or
proxy has cosine 0 to everything, with finite gradients. A label outside ``[0, C)`` gives NaN
(raises on concrete labels and in checked mode); masked examples are never read.

Reduction. `proxy_nca_loss` and `soft_triple_loss` are means of per-example terms and take
``reduction`` (``"none"`` by default, PML's ``DoNothingReducer``; ``"mean"`` is PML's default
``MeanReducer``), ``where``, ``weights`` and ``axis_name`` (CONTRIBUTING.md, sections 4-5).
`proxy_anchor_loss` is not: it averages per-proxy terms, each a log-sum-exp over the whole
batch, so it returns one value per batch, takes ``where`` (examples left out) but no
``reduction`` (CONTRIBUTING.md, section 4: functions that do not return per-example values).
`sparse_centers_penalty` is SoftTriple's regulariser, a penalty on the centres alone.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _heads, _numerics

__all__ = [
    "proxy_anchor_loss",
    "proxy_nca_loss",
    "soft_triple_loss",
    "sparse_centers_penalty",
]

_COMMON = """
      eps: lower bound on every norm before normalizing, ``v / max(|v|, eps)`` (the form
        of ``torch.nn.functional.normalize``, whose 1e-12 PML uses: equal values for every
        norm above ``eps``; 1e-8 keeps the curvature at a zero vector finite in float32).
      reduction: ``"none"`` (default: per example ``[..., B]``), ``"mean"`` (PML's default
        ``MeanReducer``), ``"sum"`` (PML's ``SumReducer``) or ``"sum_and_count"`` (static).
      where: optional boolean example mask broadcastable to ``[..., B]``: a masked example
        gives 0, does not count, and its (possibly non-finite) embedding is not read.
      weights: optional non-negative per-example weights broadcastable to ``[..., B]``.
      axis_name: the data-parallel batch axis (inside ``shard_map``/``pmap``): ``"mean"``
        and ``"sum"`` are then global."""


@_dispatch.compiled_when_eager
def proxy_anchor_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    proxies: ArrayLike,
    *,
    margin: float = 0.1,
    alpha: float = 32.0,
    eps: float = 1e-8,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""Proxy-Anchor loss: each proxy is an anchor for all the batch's embeddings at once.

    With :math:`s(x, p)` the cosine, :math:`X_p^+` the embeddings of class :math:`p`,
    :math:`X_p^-` the others, and :math:`P^+` the proxies with at least one positive in the
    batch:

    .. math::
        \ell = \frac{1}{|P^+|} \sum_{p \in P^+}
        \log\Big(1 + \sum_{x \in X_p^+} e^{-\alpha (s(x, p) - \delta)}\Big)
        + \frac{1}{C} \sum_{p=1}^{C}
        \log\Big(1 + \sum_{x \in X_p^-} e^{\alpha (s(x, p) + \delta)}\Big)

    Not a mean of per-example terms: every term is a log-sum-exp over the batch, so the
    loss is one value per batch and there is no ``reduction`` (CONTRIBUTING.md, section 4;
    PML reduces it with its own ``DivisorReducer``, the two divisors above, which this
    function reproduces). Classes absent from the batch contribute only to the second sum's
    divisor (their negative term is still there), as in the paper and PML. A batch whose
    examples are all masked out gives 0 with zero gradients. Computed with
    ``log(1 + sum exp) = logsumexp([0, ...])``, stable for any :math:`\alpha`.

    Args:
      embeddings: ``[..., B, D]`` floating array.
      labels: ``[..., B]`` integer class ids in ``[0, C)``.
      proxies: ``[C, D]`` class proxies (PML's ``proxies``; PML initialises them with
        ``torch.nn.init.kaiming_normal_(mode="fan_out")``, i.e.
        ``jax.random.normal(key, (C, D)) * (2 / C) ** 0.5``).
      margin: :math:`\delta \ge 0` (PML's default 0.1).
      alpha: :math:`\alpha > 0` (PML's default 32).
      eps: lower bound on every norm before normalizing, ``v / max(|v|, eps)`` (the form
        of ``torch.nn.functional.normalize``, whose 1e-12 PML uses: equal values for every
        norm above ``eps``; 1e-8 keeps the curvature at a zero vector finite in float32).
      where: optional boolean example mask broadcastable to ``[..., B]``: a masked example
        is left out of every sum and of :math:`P^+` (its embedding may be non-finite).

    Returns:
      The loss, shape ``[...]`` (a scalar for ``[B, D]`` embeddings): PML's value with its
      default reducer.

    References:
      S. Kim et al., "Proxy Anchor Loss for Deep Metric Learning", CVPR 2020, eq. (4);
      pytorch-metric-learning 2.9 ``ProxyAnchorLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import proxy_anchor_loss
      >>> p = jnp.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
      >>> x = jnp.array([[1.0, 0.2], [0.9, 0.1], [0.3, 1.0]])
      >>> print(f"{float(proxy_anchor_loss(x, jnp.array([0, 0, 1]), p)):.4f}")
      7.3120
    """
    _checks.check_nonnegative("margin", margin)
    _checks.check_positive("alpha", alpha)
    _checks.check_positive("eps", eps)
    x, labels, p, dtype, mask, _ = _heads.inputs(
        embeddings, labels, proxies, "proxies", rank=2, where=where, weights=None
    )
    c = _heads.dot(_heads.unit(x, eps), _heads.unit(p, eps))  # [..., B, C]
    target = _heads.target_mask(labels, c.shape[-1])
    present = jnp.ones(labels.shape, bool) if mask is None else mask
    pos = target & present[..., None]
    neg = ~target & present[..., None]
    pos_term = _log1p_sum_exp(-alpha * (c - margin), pos)  # [..., C]
    neg_term = _log1p_sum_exp(alpha * (c + margin), neg)
    with_pos = jnp.sum(jnp.any(pos, axis=-2), axis=-1).astype(c.dtype)
    num_classes = c.shape[-1]
    pos_mean = _numerics.ratio_or(jnp.sum(pos_term, axis=-1), with_pos, 0.0)
    neg_mean = jnp.where(with_pos > 0, jnp.sum(neg_term, axis=-1) / num_classes, 0.0)
    in_range = jnp.all((labels >= 0) & (labels < num_classes) | ~present, axis=-1)
    return jnp.where(in_range, pos_mean + neg_mean, jnp.nan).astype(dtype)


@_dispatch.compiled_when_eager
def proxy_nca_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    proxies: ArrayLike,
    *,
    scale: float = 1.0,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""ProxyNCA: neighbourhood component analysis against one proxy per class.

    With unit vectors :math:`\hat x`, :math:`\hat p_j` and squared distances
    :math:`d_j = \lVert \hat x - \hat p_j \rVert^2`:

    .. math::
        \ell = -\log \frac{e^{-s\, d_y}}{\sum_{j=1}^{C} e^{-s\, d_j}}

    This is PML's definition (and ProxyNCA++'s, with :math:`s = 1/T`): the denominator
    includes the positive proxy. The ProxyNCA paper's eq. (8) leaves it out,
    :math:`-\log(e^{-d_y} / \sum_{j \ne y} e^{-d_j})`, which is this loss plus
    :math:`\log(1 - p_y)` with :math:`p_y` the softmax probability above (unbounded below,
    which is why later work and PML include it). :math:`d_j` is
    :math:`|\hat x|^2 + |\hat p_j|^2 - 2 \hat x \cdot \hat p_j` (exactly PML's for a zero
    vector, whose normalized form is 0); :math:`|\hat x|^2` adds the same constant to every
    logit of the row, which the softmax cancels, so it is not formed. The loss is a
    log-softmax, so no example underflows (PML drops an example whose probability underflows
    to 0).

    Args:
      embeddings: ``[..., B, D]`` floating array.
      labels: ``[..., B]`` integer class ids in ``[0, C)``.
      proxies: ``[C, D]`` class proxies (PML's ``proxies``; PML initialises them from a
        standard normal, ``jax.random.normal(key, (C, D))``).
      scale: :math:`s > 0`, PML's ``softmax_scale`` (default 1).{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      Y. Movshovitz-Attias et al., "No Fuss Distance Metric Learning using Proxies", ICCV
      2017; E. W. Teh et al., "ProxyNCA++", ECCV 2020; pytorch-metric-learning 2.9
      ``ProxyNCALoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import proxy_nca_loss
      >>> p = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> x = jnp.array([[1.0, 0.0], [0.0, 2.0]])
      >>> loss = proxy_nca_loss(x, jnp.array([0, 0]), p, scale=2.0)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.0181', '4.0181']
    """
    _checks.check_positive("scale", scale)
    _checks.check_positive("eps", eps)
    x, labels, p, dtype, mask, weights = _heads.inputs(
        embeddings, labels, proxies, "proxies", rank=2, where=where, weights=weights
    )
    u, v = _heads.unit(x, eps), _heads.unit(p, eps)
    # The logits -s d = -s (|u|^2 + |v|^2 - 2 u.v). A row's softmax cross-entropy does not
    # change when a constant is added to the row, so -s |u|^2 is dropped: no [B, C]
    # array besides the logits and no clamp (B = 4096, C = 1000: forward+backward 34 ->
    # 18 ms on XLA:CPU; a rounding-level negative distance was clamped at 0 before).
    s = jnp.asarray(scale, v.dtype)
    sq_v = jnp.sum(jnp.square(v), axis=-1).reshape((1,) * (u.ndim - 1) + (v.shape[0],))
    logits = _heads.dot(u, (2.0 * s) * v) - s * sq_v
    loss = _heads.cross_entropy(logits, labels)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def soft_triple_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    proxies: ArrayLike,
    *,
    scale: float = 20.0,
    gamma: float = 0.1,
    margin: float = 0.01,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""SoftTriple loss: a softmax over classes, each represented by K centres.

    With cosines :math:`c_{jk}` between the embedding and centre :math:`k` of class
    :math:`j`, the relaxed class similarity is a softmax-weighted mean over the centres,

    .. math::
        S_j = \sum_k \frac{e^{c_{jk}/\gamma}}{\sum_{k'} e^{c_{jk'}/\gamma}}\, c_{jk},\qquad
        \ell = -\log \frac{e^{\lambda (S_y - \delta)}}
        {e^{\lambda (S_y - \delta)} + \sum_{j \ne y} e^{\lambda S_j}}

    The paper's regulariser on the centres (which merges redundant ones) is
    `sparse_centers_penalty`, added by the user as PML adds its ``weight_regularizer``:
    ``soft_triple_loss(..., reduction="mean") + tau * sparse_centers_penalty(proxies)``
    (the paper's :math:`\tau = 0.2`). With ``K = 1`` this is a normalized softmax with a
    cosine margin.

    Args:
      embeddings: ``[..., B, D]`` floating array.
      labels: ``[..., B]`` integer class ids in ``[0, C)``.
      proxies: ``[C, K, D]`` class centres. PML's ``fc`` (``[D, C*K]``, centre ``k`` of
        class ``j`` in column ``j*K + k``) is ``fc.T.reshape(C, K, D)``; PML initialises it
        with ``torch.nn.init.kaiming_uniform_(a=5 ** 0.5)``, i.e. uniform in
        :math:`\pm 1/\sqrt{C K}`.
      scale: :math:`\lambda > 0`, PML's ``la`` (default 20).
      gamma: :math:`\gamma > 0`, the temperature of the softmax over centres (PML's
        ``gamma``, default 0.1; PML multiplies by its inverse).
      margin: :math:`\delta \ge 0` (PML's default 0.01).{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      Q. Qian et al., "SoftTriple Loss: Deep Metric Learning Without Triplet Sampling",
      ICCV 2019, eqs. (7)-(8); pytorch-metric-learning 2.9 ``SoftTripleLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import soft_triple_loss
      >>> centres = jnp.array([[[1.0, 0.0], [0.8, 0.6]], [[0.0, 1.0], [-0.6, 0.8]]])
      >>> x = jnp.array([[1.0, 0.2], [0.3, 1.0]])
      >>> loss = soft_triple_loss(x, jnp.array([0, 1]), centres, scale=4.0)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.0484', '0.4564']
    """
    _checks.check_positive("scale", scale)
    _checks.check_positive("gamma", gamma)
    _checks.check_nonnegative("margin", margin)
    _checks.check_positive("eps", eps)
    x, labels, p, dtype, mask, weights = _heads.inputs(
        embeddings, labels, proxies, "proxies", rank=3, where=where, weights=weights
    )
    c = _heads.dot(_heads.unit(x, eps), _heads.unit(p, eps))  # [..., B, C, K]
    similarity = jnp.sum(jax.nn.softmax(c / gamma, axis=-1) * c, axis=-1)
    target = _heads.target_mask(labels, similarity.shape[-1])
    logits = scale * (similarity - jnp.where(target, jnp.asarray(margin, c.dtype), 0.0))
    loss = _heads.cross_entropy(logits, labels)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def sparse_centers_penalty(proxies: ArrayLike, *, eps: float = 1e-8) -> jax.Array:
    r"""SoftTriple's regulariser: the mean chord distance between the centres of each class.

    .. math::
        R = \frac{1}{C K (K - 1)} \sum_{j=1}^{C} \sum_{t < t'}
        \sqrt{2 - 2\, \hat w_{jt} \cdot \hat w_{jt'}}

    (PML's ``SparseCentersRegularizer``: the sum over pairs divided by twice their number).
    Its :math:`L_{2,1}` form lets redundant centres merge. Identical centres have distance 0
    and, within a rounding floor of it (:math:`2 - 2c \le 4\,\mathrm{eps}`), a zero gradient
    (the chord distance is a norm, not differentiable at 0; PML adds the smallest normal
    number under its square root instead). ``K = 1`` gives 0.

    Args:
      proxies: ``[C, K, D]`` class centres, as in `soft_triple_loss`.
      eps: lower bound on every norm before normalizing, ``v / max(|v|, eps)`` (the form
        of ``torch.nn.functional.normalize``, whose 1e-12 PML uses: equal values for every
        norm above ``eps``; 1e-8 keeps the curvature at a zero vector finite in float32).

    Returns:
      A scalar in the dtype of ``proxies``, summed in at least float32.

    References:
      Q. Qian et al., "SoftTriple Loss", ICCV 2019, eq. (10); pytorch-metric-learning 2.9
      ``regularizers.SparseCentersRegularizer``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sparse_centers_penalty
      >>> centres = jnp.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 2.0]]])
      >>> print(f"{float(sparse_centers_penalty(centres)):.4f}")
      0.3536
    """
    _checks.check_positive("eps", eps)
    w = _checks.as_float("proxies", proxies)
    if w.ndim != 3 or w.shape[0] < 1:
        raise ValueError(
            f"`proxies` must have shape [num_classes, K, D] with at least one class; got {w.shape}."
        )
    dtype = _checks.result_dtype(w)
    u = _heads.unit(w.astype(_checks.compute_dtype(dtype)), eps)
    num_classes, k = w.shape[0], w.shape[1]
    if k < 2:
        return jnp.zeros((), dtype)
    c = jnp.einsum("ckd,cld->ckl", u, u, precision=jax.lax.Precision.HIGHEST)
    d2 = 2.0 - 2.0 * jnp.minimum(c, 1.0)
    floor = 4 * jnp.finfo(d2.dtype).eps
    chord = _numerics.safe_sqrt(jnp.where(d2 > floor, d2, 0.0))
    upper = jnp.triu(jnp.ones((k, k), bool), k=1)
    total = jnp.sum(jnp.where(upper, chord, 0.0))
    return (total / (num_classes * k * (k - 1))).astype(dtype)


for _fn in (proxy_nca_loss, soft_triple_loss):
    assert _fn.__doc__ is not None  # each is written above (python -OO strips both)
    _fn.__doc__ = _fn.__doc__.replace("{common}", _COMMON)
del _fn


# Private helpers ----------------------------------------------------------------------------


def _log1p_sum_exp(z: jax.Array, keep: jax.Array) -> jax.Array:
    """``log(1 + sum over the batch axis (-2) of exp(z) where keep)``, ``[..., C]``.

    The 1 is a zero logit beside the kept ones, so the maximum is finite and the gradient of
    an empty sum (a proxy without positives) is 0, never NaN.
    """
    z = jnp.where(keep, z, -jnp.inf)
    zero = jnp.zeros((*z.shape[:-2], 1, z.shape[-1]), z.dtype)
    return jax.nn.logsumexp(jnp.concatenate([zero, z], axis=-2), axis=-2)
