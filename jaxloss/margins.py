"""Margin-based softmax heads: a class-weight matrix, cosine logits and a margin on the target.

Every head takes ``(embeddings [..., B, D], labels [..., B], weight, *, ...)``: ``weight`` is
the learnable class matrix whose rows are classes (``[C, D]``; ``[C, K, D]`` for the
sub-centres of `subcenter_arcface_loss`), the layout of `jaxloss.fused_linear_cross_entropy`
and the transpose of pytorch-metric-learning's (PML's) ``W`` (``[D, C]``: pass ``W.T``).
Embeddings and class rows are normalized (``v / max(|v|, eps)``, as
``torch.nn.functional.normalize``), the cosine :math:`c_j = \\cos\\theta_j` to every class is
formed in one matmul, the target class's cosine is replaced by its margin form
:math:`\\psi(c_y)`, and the loss is the softmax cross-entropy of the scaled logits:

.. math::
    \\ell = -\\log \\frac{e^{s\\,\\psi(c_y)}}{e^{s\\,\\psi(c_y)} + \\sum_{j \\ne y} e^{s\\,c_j}}

The weight is a parameter like any other (an optax parameter, an ``nnx.Param``); PML
initialises it from a standard normal, ``jax.random.normal(key, (C, D))``.

Precision and singular points. Cosines, angles and log-sum-exps are computed in at least
float32 (bfloat16 and float16 inputs included); the result has the inputs' dtype. Angles come
from cosines clipped to ``[-1, 1]``: no ``arccos`` derivative is ever formed (its slope is
infinite at :math:`\\pm 1`, PML issues #209 and #309), and :math:`\\sin\\theta` has a zero
gradient within a rounding floor of :math:`\\theta \\in \\{0, \\pi\\}`, where the angle is not
differentiable. A zero embedding or class row has cosine 0 to everything, with finite
gradients. A label outside ``[0, C)`` gives NaN (raises on concrete labels and in checked
mode); masked examples are never read.

Reduction, masks and weights. Per-example values ``[..., B]`` under ``reduction="none"``
(the default; PML's ``DoNothingReducer``); ``"mean"`` is PML's default ``MeanReducer``,
``"sum"`` its ``SumReducer``; ``where``/``weights`` with `jaxloss.reduce`'s semantics and
``axis_name`` for global means across devices (CONTRIBUTING.md, sections 4-5).
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _heads, _numerics

__all__ = [
    "arcface_loss",
    "cosface_loss",
    "normalized_softmax_loss",
    "sphereface_loss",
    "subcenter_arcface_loss",
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

_ARGS = """
      embeddings: ``[..., B, D]`` floating array.
      labels: ``[..., B]`` integer class ids in ``[0, C)``."""


@_dispatch.compiled_when_eager
def arcface_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    weight: ArrayLike,
    *,
    scale: float = 64.0,
    margin: float = math.radians(28.6),
    easy_margin: bool = False,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""ArcFace: additive angular margin, :math:`\psi(\theta_y) = \cos(\theta_y + m)`.

    .. math::
        \psi(c_y) = \begin{cases} \cos(\theta_y + m) = c_y \cos m - \sin\theta_y \sin m
        & \theta_y \le \pi - m \\ c_y - m \sin m & \text{otherwise} \end{cases}

    with :math:`\sin\theta_y = \sqrt{1 - c_y^2}` and logits :math:`s\,c_j`,
    :math:`s\,\psi(c_y)` (module docstring). The second branch keeps :math:`\psi` decreasing
    in :math:`\theta` past :math:`\pi - m` (the paper's code and PML).
    ``easy_margin=True`` (the paper's code option) instead applies the margin only where
    :math:`c_y > 0` and keeps :math:`\psi = c_y` elsewhere; PML has no such option.

    :math:`\theta_y` is not differentiable where the embedding is parallel to its class row
    (:math:`\theta_y = 0`, a cone); there the :math:`\sin\theta_y` term has gradient 0 (and
    within a rounding floor of it, see `jaxloss.margins`); PML's ``arccos`` gives NaN.

    Args:{args}
      weight: ``[C, D]`` class matrix (PML's ``W.T``; init ``jax.random.normal``).
      scale: :math:`s > 0` (PML's default 64).
      margin: :math:`m \ge 0` in radians (default: PML's 28.6 degrees; the paper's 0.5).
        PML takes degrees: ``ArcFaceLoss(margin=math.degrees(m))``.
      easy_margin: static; the margin only for :math:`c_y > 0` (see above).{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      J. Deng et al., "ArcFace: Additive Angular Margin Loss for Deep Face Recognition",
      CVPR 2019 (and the insightface code: ``easy_margin``, the ``c - m sin m`` branch);
      pytorch-metric-learning 2.9 ``ArcFaceLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import arcface_loss
      >>> w = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> x = jnp.array([[1.0, 0.2], [0.3, 1.0]])
      >>> loss = arcface_loss(x, jnp.array([0, 1]), w, scale=8.0, margin=0.5)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.0104', '0.0354']
    """
    _checks.check_positive("scale", scale)
    _checks.check_nonnegative("margin", margin)
    _checks.check_choice("easy_margin", easy_margin, (True, False))
    x, labels, w, dtype, mask, weights = _inputs(embeddings, labels, weight, eps, where, weights)
    c = _heads.dot(_heads.unit(x, eps), _heads.unit(w, eps))
    loss = _arcface(c, labels, scale, margin, easy_margin)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def subcenter_arcface_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    weight: ArrayLike,
    *,
    scale: float = 64.0,
    margin: float = math.radians(28.6),
    easy_margin: bool = False,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Sub-center ArcFace: K sub-centres per class, the nearest one is the class's cosine.

    .. math::
        c_j = \max_{k} \cos(e, w_{jk}),

    then `arcface_loss` on these cosines. Noisy examples can settle on a non-dominant
    sub-centre instead of pulling the class's main one. Where two sub-centres tie, the
    gradient goes to the first (``jnp.max``).

    Args:{args}
      weight: ``[C, K, D]`` class sub-centres. PML's ``W`` (``[D, C*K]``, sub-centre ``k``
        of class ``j`` in column ``j*K + k``) is ``W.T.reshape(C, K, D)``; init
        ``jax.random.normal``.
      scale: :math:`s > 0` (PML's default 64).
      margin: :math:`m \ge 0` in radians (default: PML's 28.6 degrees).
      easy_margin: static; as in `arcface_loss`.{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      J. Deng et al., "Sub-center ArcFace: Boosting Face Recognition by Large-scale Noisy
      Web Faces", ECCV 2020; pytorch-metric-learning 2.9 ``SubCenterArcFaceLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import subcenter_arcface_loss
      >>> w = jnp.array([[[1.0, 0.0], [0.0, -1.0]], [[0.0, 1.0], [-1.0, 0.0]]])
      >>> x = jnp.array([[0.2, -1.0], [0.3, 1.0]])
      >>> loss = subcenter_arcface_loss(x, jnp.array([0, 1]), w, scale=8.0, margin=0.5)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.0005', '0.0354']
    """
    _checks.check_positive("scale", scale)
    _checks.check_nonnegative("margin", margin)
    _checks.check_choice("easy_margin", easy_margin, (True, False))
    x, labels, w, dtype, mask, weights = _inputs(
        embeddings, labels, weight, eps, where, weights, rank=3
    )
    c = jnp.max(_heads.dot(_heads.unit(x, eps), _heads.unit(w, eps)), axis=-1)
    loss = _arcface(c, labels, scale, margin, easy_margin)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def cosface_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    weight: ArrayLike,
    *,
    scale: float = 64.0,
    margin: float = 0.35,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""CosFace (large-margin cosine loss): :math:`\psi(c_y) = c_y - m`.

    .. math::
        \ell = -\log \frac{e^{s (c_y - m)}}{e^{s (c_y - m)} + \sum_{j \ne y} e^{s\,c_j}}

    Smooth everywhere except at a zero embedding or class row (cosine 0, finite gradient).

    Args:{args}
      weight: ``[C, D]`` class matrix (PML's ``W.T``; init ``jax.random.normal``).
      scale: :math:`s > 0` (PML's default 64).
      margin: :math:`m \ge 0`, a cosine margin (PML's default 0.35).{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      H. Wang et al., "CosFace: Large Margin Cosine Loss for Deep Face Recognition",
      CVPR 2018; pytorch-metric-learning 2.9 ``CosFaceLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import cosface_loss
      >>> w = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> x = jnp.array([[1.0, 0.2], [0.3, 1.0]])
      >>> loss = cosface_loss(x, jnp.array([0, 1]), w, scale=8.0)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.0305', '0.0742']
    """
    _checks.check_positive("scale", scale)
    _checks.check_nonnegative("margin", margin)
    x, labels, w, dtype, mask, weights = _inputs(embeddings, labels, weight, eps, where, weights)
    c = _heads.dot(_heads.unit(x, eps), _heads.unit(w, eps))
    target = _heads.target_mask(labels, c.shape[-1])
    logits = scale * (c - jnp.where(target, jnp.asarray(margin, c.dtype), 0.0))
    loss = _heads.cross_entropy(logits, labels)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def sphereface_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    weight: ArrayLike,
    *,
    scale: float = 1.0,
    margin: int = 4,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""SphereFace (A-Softmax): multiplicative angular margin, as PML defines it.

    .. math::
        \psi(\theta_y) = (-1)^k \cos(m\,\theta_y) - 2k,\quad
        \theta_y \in \Big[\frac{k\pi}{m}, \frac{(k+1)\pi}{m}\Big],\qquad
        z_j = s\,\lVert e\rVert\,c_j,\quad z_y = s\,\lVert e\rVert\,\psi(\theta_y)

    The class rows are normalized, the embedding norm is kept (the paper's A-Softmax, with
    PML's extra scale :math:`s`). :math:`\cos(m\theta) = T_m(c)` is the Chebyshev
    polynomial of the cosine (the paper's eq. 7), so no angle is differentiated; :math:`k`
    comes from the clipped angle without gradient. :math:`\psi` is continuously
    differentiable (:math:`\psi' = 0` at every :math:`k\pi/m`). The paper anneals
    :math:`(\lambda c_y + \psi)/(1 + \lambda)` during training; PML and this function do
    not (pass the annealed mixture yourself if needed). A zero embedding gives every logit 0
    (loss :math:`\log C`) with finite gradients.

    Args:{args}
      weight: ``[C, D]`` class matrix (PML's ``W.T``; init ``jax.random.normal``).
      scale: :math:`s > 0` (PML's default 1).
      margin: the integer :math:`m \ge 1` (static; PML's default 4, truncated to an int as
        PML does).{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      W. Liu et al., "SphereFace: Deep Hypersphere Embedding for Face Recognition", CVPR
      2017; W. Liu et al., "Large-Margin Softmax Loss for Convolutional Neural Networks",
      ICML 2016 (:math:`\psi`); pytorch-metric-learning 2.9 ``SphereFaceLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sphereface_loss
      >>> w = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> x = jnp.array([[3.0, 0.6], [0.3, 1.0]])
      >>> loss = sphereface_loss(x, jnp.array([0, 1]), w)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.1917', '0.6390']
    """
    _checks.check_positive("scale", scale)
    if isinstance(margin, bool) or not isinstance(margin, int | float) or int(margin) < 1:
        raise ValueError(f"`margin` must be a static number >= 1 (used as an int); got {margin!r}.")
    m = int(margin)
    x, labels, w, dtype, mask, weights = _inputs(embeddings, labels, weight, eps, where, weights)
    c = _heads.dot(_heads.unit(x, eps), _heads.unit(w, eps))
    target = _heads.target_mask(labels, c.shape[-1])
    c_y = jnp.sum(jnp.where(target, c, 0.0), axis=-1)
    # k in [0, m - 1]: theta = pi belongs to the last interval (PML's floor gives m there,
    # the same value and gradient, but the curvature of the interval beyond pi).
    k = jnp.minimum(jnp.floor(_heads.clipped_angle(c_y) * (m / math.pi)), m - 1)
    psi = jnp.where(k % 2 == 0, 1.0, -1.0) * _chebyshev(c_y, m) - 2.0 * k
    logits = (scale * _numerics.vector_norm(x))[..., None] * jnp.where(target, psi[..., None], c)
    loss = _heads.cross_entropy(logits, labels)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


@_dispatch.compiled_when_eager
def normalized_softmax_loss(
    embeddings: ArrayLike,
    labels: ArrayLike,
    weight: ArrayLike,
    *,
    temperature: float = 0.05,
    eps: float = 1e-8,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Normalized softmax (NormSoftmax): cross-entropy of cosine logits over a temperature.

    .. math::
        \ell = -\log \frac{e^{c_y / T}}{\sum_j e^{c_j / T}}

    No margin: the classification baseline of deep metric learning.

    Args:{args}
      weight: ``[C, D]`` class matrix (PML's ``W.T``; init ``jax.random.normal``).
      temperature: :math:`T > 0` (PML's default 0.05).{common}

    Returns:
      Per-example losses ``[..., B]`` (``"none"``), or the reduction.

    References:
      A. Zhai, H.-Y. Wu, "Classification is a Strong Baseline for Deep Metric Learning",
      BMVC 2019; pytorch-metric-learning 2.9 ``NormalizedSoftmaxLoss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import normalized_softmax_loss
      >>> w = jnp.array([[1.0, 0.0], [0.0, 1.0]])
      >>> x = jnp.array([[1.0, 0.2], [0.3, 1.0]])
      >>> loss = normalized_softmax_loss(x, jnp.array([0, 1]), w, temperature=0.5)
      >>> print([f"{v:.4f}" for v in loss.tolist()])
      ['0.1892', '0.2324']
    """
    _checks.check_positive("temperature", temperature)
    x, labels, w, dtype, mask, weights = _inputs(embeddings, labels, weight, eps, where, weights)
    c = _heads.dot(_heads.unit(x, eps), _heads.unit(w, eps))
    loss = _heads.cross_entropy(c / jnp.asarray(temperature, c.dtype), labels)
    return _heads.finish(loss, dtype, reduction, mask, weights, axis_name)


for _fn in (arcface_loss, subcenter_arcface_loss, cosface_loss, sphereface_loss):
    assert _fn.__doc__ is not None  # each is written above (python -OO strips both)
    _fn.__doc__ = _fn.__doc__.replace("{args}", _ARGS).replace("{common}", _COMMON)
assert normalized_softmax_loss.__doc__ is not None
normalized_softmax_loss.__doc__ = normalized_softmax_loss.__doc__.replace("{args}", _ARGS).replace(
    "{common}", _COMMON
)
del _fn


# Private helpers ----------------------------------------------------------------------------


def _inputs(embeddings, labels, weight, eps, where, weights, *, rank=2):
    _checks.check_positive("eps", eps)
    return _heads.inputs(
        embeddings, labels, weight, "weight", rank=rank, where=where, weights=weights
    )


def _arcface(c, labels, scale, margin, easy_margin):
    """Cross-entropy of the ArcFace logits from the cosines ``[..., B, C]``."""
    target = _heads.target_mask(labels, c.shape[-1])
    c_y = jnp.sum(jnp.where(target, c, 0.0), axis=-1)
    m = jnp.asarray(margin, c.dtype)
    shifted = c_y * jnp.cos(m) - _heads.clipped_sine(c_y) * jnp.sin(m)
    if easy_margin:
        psi = jnp.where(c_y > 0, shifted, c_y)
    else:
        # theta <= pi - m  <=>  c >= cos(pi - m) = -cos(m)
        psi = jnp.where(c_y >= -jnp.cos(m), shifted, c_y - m * jnp.sin(m))
    logits = scale * jnp.where(target, psi[..., None], c)
    return _heads.cross_entropy(logits, labels)


def _chebyshev(c: jax.Array, m: int) -> jax.Array:
    """:math:`T_m(c) = \\cos(m \\arccos c)` by the three-term recurrence (static ``m``)."""
    previous, current = jnp.ones_like(c), c
    for _ in range(m - 1):
        previous, current = current, 2.0 * c * current - previous
    return current
