"""Regression losses: elementwise penalties of the residual.

The residual is ``a = predictions - targets`` (``predictions`` alone when ``targets`` is None).
Each loss here returns one value per element by default (``reduction="none"``); their
per-example means (MSE, MAE, RMSE) are in `jaxloss.mean_errors`. Every value is computed in at
least float32 and returned in the promoted floating dtype of the inputs. ``reduction``,
``where``, ``weights`` and ``axis_name`` (the data-parallel batch axis) have the semantics of
`jaxloss.reduce` (CONTRIBUTING.md, section 4). Entries masked out by ``where`` count for
nothing: their residual is replaced by 0 before the loss (`jaxloss._residuals`), so even a NaN
or Inf there reaches neither the value nor the gradient.
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics, _residuals
from jaxloss.reductions import reduce_loss

__all__ = [
    "absolute_error",
    "huber_loss",
    "l2_loss",
    "log_cosh",
    "pseudo_huber_loss",
    "smooth_l1_loss",
    "squared_error",
]

# log_cosh evaluates log1p(cosh c - 1) at c = min(|a|, 20) and adds |a| - c, exact to within
# exp(-40) (cosh c - 1 stays finite: expm1(20)^2 ~ 2e17 even in float32).
_LOG_COSH_CLAMP = 20.0


def squared_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Elementwise squared error.

    .. math:: \ell(a) = a^2, \qquad a = \mathrm{predictions} - \mathrm{targets}

    Gradient ``2 a``.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      ``optax.losses.squared_error`` (same signature and values);
      ``torch.nn.functional.mse_loss`` (``reduction="none"``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import squared_error
      >>> squared_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array([1., 4.], dtype=float32)
    """
    a, out = _residuals.residual(predictions, targets, where)
    return reduce_loss(
        a * a, out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def l2_loss(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Elementwise half squared error.

    .. math:: \ell(a) = \tfrac12 a^2

    The factor 1/2 (Bishop, *Pattern Recognition and Machine Learning*) makes the gradient
    the residual ``a`` itself.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      ``optax.losses.l2_loss`` (same signature and values).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import l2_loss
      >>> l2_loss(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array([0.5, 2. ], dtype=float32)
    """
    a, out = _residuals.residual(predictions, targets, where)
    return reduce_loss(
        0.5 * (a * a), out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def absolute_error(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Elementwise absolute error.

    .. math:: \ell(a) = |a|

    The gradient is ``sign(a)``, and ``0`` at ``a == 0`` (as torch's ``l1_loss``; plain
    ``jnp.abs`` would give 1 there).

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      ``torch.nn.functional.l1_loss`` (``reduction="none"``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import absolute_error
      >>> absolute_error(jnp.array([1.0, 2.0]), jnp.array([0.0, 4.0]))
      Array([1., 2.], dtype=float32)
    """
    a, out = _residuals.residual(predictions, targets, where)
    values = _numerics.abs_zero_grad(a)
    return reduce_loss(
        values, out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def huber_loss(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    delta: ArrayLike = 1.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Huber loss: quadratic inside ``delta``, linear outside.

    .. math::

        \ell(a) = \begin{cases} \tfrac12 a^2 & |a| \le \delta \\
                  \delta\,(|a| - \tfrac12\delta) & |a| > \delta \end{cases}

    The gradient is ``a`` inside and ``delta * sign(a)`` outside (``l2_loss`` with its
    gradient clipped to ``[-delta, delta]``); at ``|a| == delta`` both branches agree and it is
    ``delta * sign(a)``, never doubled; at ``a == 0`` it is 0. ``huber_loss(delta=d) ==
    d * smooth_l1_loss(beta=d)``.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
        Unlike optax, a targets array of another (broadcastable) shape is refused.
      delta: positive threshold (scalar); ``delta <= 0`` raises when concrete.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      Huber, *Robust Estimation of a Location Parameter*, Ann. Math. Statist. 1964;
      ``optax.losses.huber_loss`` and ``torch.nn.functional.huber_loss`` (same values).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import huber_loss
      >>> huber_loss(jnp.array([0.5, 3.0]), delta=1.0)
      Array([0.125, 2.5  ], dtype=float32)
    """
    _checks.check_positive("delta", delta)
    a, out = _residuals.residual(predictions, targets, where)
    d = jnp.asarray(delta, a.dtype)
    abs_a = _numerics.abs_zero_grad(a)
    # With q = min(|a|, delta): 0.5 q^2 + delta (|a| - q) is 0.5 a^2 inside and
    # delta (|a| - delta / 2) outside. min() instead of a select keeps the kernel one fused
    # loop (a select over two branches made XLA materialize |a|), and its tie gradient 1/2 is
    # multiplied by |a| - q = 0, so the kink gets delta * sign(a) exactly once.
    q = jnp.minimum(abs_a, d)
    values = 0.5 * (q * q) + d * (abs_a - q)
    return reduce_loss(
        values, out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def smooth_l1_loss(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    beta: ArrayLike = 1.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Smooth L1 loss (torch semantics): Huber loss divided by its threshold.

    .. math::

        \ell(a) = \begin{cases} \tfrac12 a^2 / \beta & |a| < \beta \\
                  |a| - \tfrac12\beta & |a| \ge \beta \end{cases}

    ``beta == 0`` is the L1 limit ``|a|`` (as in torch). The gradient is ``a / beta`` inside and
    ``sign(a)`` outside (both ``sign(a)`` at ``|a| == beta``), and 0 at ``a == 0``.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      beta: non-negative threshold (scalar); ``beta < 0`` raises when concrete.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      Girshick, *Fast R-CNN*, ICCV 2015; ``torch.nn.functional.smooth_l1_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import smooth_l1_loss
      >>> smooth_l1_loss(jnp.array([0.5, 3.0]), beta=2.0)
      Array([0.0625, 2.    ], dtype=float32)
    """
    _checks.check_nonnegative("beta", beta)
    a, out = _residuals.residual(predictions, targets, where)
    b = jnp.asarray(beta, a.dtype)
    # With beta == 0, q == 0 and the safe divisor keeps the quadratic term (and its gradient)
    # exactly 0.
    safe_b = jnp.where(b > 0, b, jnp.ones((), a.dtype))
    abs_a = _numerics.abs_zero_grad(a)
    # Same min() form as huber_loss: (|a| - q) + 0.5 q^2 / beta with q = min(|a|, beta).
    q = jnp.minimum(abs_a, b)
    values = (abs_a - q) + 0.5 * (q * q) / safe_b
    return reduce_loss(
        values, out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def pseudo_huber_loss(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    delta: ArrayLike = 1.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Pseudo-Huber loss: a smooth Huber loss, ``a^2 / 2`` near 0 and ``delta |a|`` far.

    .. math:: \ell(a) = \delta^2 \left(\sqrt{1 + (a/\delta)^2} - 1\right)

    Computed as ``delta^2 t * t / (hypot(1, t) + 1)`` with ``t = a / delta``: the same value
    without cancellation for small ``t`` or overflow of ``t^2`` for large ``t``. Gradient
    ``a / sqrt(1 + (a/delta)^2)`` (bounded by ``delta``, exact also for huge ``|a|``), 0 at
    ``a == 0``.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
      delta: positive scale (scalar); ``delta <= 0`` raises when concrete.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      Charbonnier et al., *Deterministic edge-preserving regularization in computed imaging*,
      IEEE TIP 1997; Hartley & Zisserman, *Multiple View Geometry*, 2nd ed., appendix A6.8.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import pseudo_huber_loss
      >>> print(f"{float(pseudo_huber_loss(jnp.array(3.0), delta=1.0)):.4f}")
      2.1623
    """
    _checks.check_positive("delta", delta)
    a, out = _residuals.residual(predictions, targets, where)
    d = jnp.asarray(delta, a.dtype)
    values = (d * d) * _sqrt1p_square_minus_one(a / d)
    return reduce_loss(
        values, out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


def log_cosh(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Log-cosh loss, ``a^2 / 2`` near 0 and ``|a| - log 2`` far from it.

    .. math:: \ell(a) = \log\cosh a = |a| + \operatorname{softplus}(-2|a|) - \log 2

    Evaluated as ``log1p(t^2 / (2 (1 + t)))`` with ``t = expm1(c)``, ``c = min(|a|, 20)``
    (this is ``log1p(cosh c - 1)``: full relative accuracy for tiny residuals, where the
    logaddexp form of optax cancels), plus ``|a| - c`` (exact to within ``exp(-40)``; no
    overflow of ``cosh``: finite for ``|a| = 1e4`` in float32 and ``6e4`` in float16). The
    form has no select, so ``reduction="mean"`` is one fused loop with no per-element
    temporary. Gradient ``tanh(a)``.

    Args:
      predictions: floating array ``[...]``.
      targets: floating or integer array with the shape of ``predictions``; zeros if None.
        Unlike optax, a targets array of another (broadcastable) shape is refused.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean mask broadcastable to ``[...]``; False entries count for nothing.
      weights: optional non-negative weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` (``"none"``), a scalar or a pair (``"sum_and_count"``); promoted float dtype.

    References:
      Chen et al., *Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder*, 2019;
      ``optax.losses.log_cosh`` (same signature and values).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import log_cosh
      >>> print(f"{float(log_cosh(jnp.array(1e4))):.2f}")
      9999.31
    """
    a, out = _residuals.residual(predictions, targets, where)
    b = _numerics.abs_zero_grad(a)
    # log cosh c = log1p(cosh c - 1) with cosh c - 1 = t^2 / (2 (1 + t)), t = expm1(c): full
    # relative accuracy for tiny c (no cancellation). It is used up to c = _LOG_COSH_CLAMP,
    # beyond which log cosh b = log cosh c + (b - c) to within exp(-2c) (below float64
    # resolution), so no select is needed and the loss stays one fused loop.
    clamp = jnp.asarray(_LOG_COSH_CLAMP, b.dtype)
    c = jnp.minimum(b, clamp)
    t = jnp.expm1(c)
    # max(b - clamp, 0) is b - c, written so that its gradient is exactly 0 below the clamp
    # (1 - dc/db would round tanh(b) away for tiny b).
    values = jnp.log1p(t * t / (2 * (1 + t))) + jnp.maximum(b - clamp, 0)
    return reduce_loss(
        values, out, reduction=reduction, where=where, weights=weights, axis_name=axis_name
    )


@jax.custom_jvp
def _sqrt1p_square_minus_one(t: jax.Array) -> jax.Array:
    """``sqrt(1 + t^2) - 1`` without cancellation (small t) or overflow of ``t^2`` (large t)."""
    return t * (t / (jnp.hypot(jnp.ones((), t.dtype), t) + 1))


@_sqrt1p_square_minus_one.defjvp
def _sqrt1p_square_minus_one_jvp(primals, tangents):
    # Autodiff of the quotient above squares hypot(1, t), which overflows for |t| > 1e19 in
    # float32 and drops a term; the derivative t / hypot(1, t) is bounded by 1.
    (t,), (dt,) = primals, tangents
    return _sqrt1p_square_minus_one(t), t / jnp.hypot(jnp.ones((), t.dtype), t) * dt
