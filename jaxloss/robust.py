"""Barron's general and adaptive robust loss: one shape parameter spans L2 to Welsch.

The loss is elementwise in the residual ``a = predictions - targets`` (``predictions`` alone
when ``targets`` is None), as the losses of `jaxloss.regression`, with the same ``reduction``,
``where``, ``weights`` and ``axis_name`` (CONTRIBUTING.md, section 4). Its shape ``alpha`` and
``scale`` are arrays that may be learned: the value and the gradients with respect to the
residual, ``alpha`` and ``scale`` are exact, including at ``alpha = 0`` where the general
formula is 0/0 (evaluated through a series there) and at ``alpha = 2`` and ``+-inf`` (the
closed forms).
"""

from __future__ import annotations

from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _residuals
from jaxloss.reductions import reduce_loss

__all__ = ["general_robust_loss"]

# expm1(t) / t from its Taylor series where |t| < _SERIES_BELOW: the quotient (and its first
# two derivatives, which autodiff takes through the polynomial) loses no digits to
# cancellation there; beyond, expm1(t) / t is accurate. The truncation error, t^10 / 11!, is
# below 3e-14 at the switch.
_SERIES_BELOW = 0.25
_SERIES_TERMS = 10


@_dispatch.compiled_when_eager
def general_robust_loss(
    predictions: ArrayLike,
    targets: ArrayLike | None = None,
    *,
    alpha: ArrayLike,
    scale: ArrayLike = 1.0,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Barron's general robust loss :math:`\rho(a, \alpha, c)`, elementwise.

    .. math::
        \rho(a, \alpha, c) = \frac{|\alpha - 2|}{\alpha}
            \left(\left(\frac{(a/c)^2}{|\alpha - 2|} + 1\right)^{\alpha/2} - 1\right)

    with the residual :math:`a`, the shape :math:`\alpha` and the scale :math:`c > 0`. Its
    special cases, returned exactly:

    ========================= =============================================================
    :math:`\alpha`            :math:`\rho`
    ========================= =============================================================
    2 (L2)                    :math:`\tfrac12 (a/c)^2`
    1 (Charbonnier)           :math:`\sqrt{(a/c)^2 + 1} - 1` (pseudo-Huber)
    0 (Cauchy, Lorentzian)    :math:`\log\big(\tfrac12 (a/c)^2 + 1\big)`
    -2 (Geman-McClure)        :math:`2 (a/c)^2 / \big((a/c)^2 + 4\big)`
    :math:`-\infty` (Welsch)  :math:`1 - \exp\big(-\tfrac12 (a/c)^2\big)`
    :math:`+\infty`           :math:`\exp\big(\tfrac12 (a/c)^2\big) - 1`
    ========================= =============================================================

    The general formula is evaluated as
    :math:`\tfrac{bL}{2}\,E\big(\tfrac{\alpha L}{2}\big)` with :math:`b = |\alpha - 2|`,
    :math:`L = \log(1 + (a/c)^2 / b)` and :math:`E(t) = (e^t - 1)/t` (a Taylor series near
    :math:`t = 0`), which is smooth through :math:`\alpha = 0`: value, gradient with respect to
    :math:`\alpha` (:math:`L_0^2/4 - L_0/2 + z^2/(2z^2 + 4)` with :math:`z = a/c` and
    :math:`L_0 = \log(1 + z^2/2)`) and second derivatives are exact there. At
    :math:`\alpha = 2` the loss is continuous but its derivative with respect to
    :math:`\alpha` is unbounded (it grows like
    :math:`\log(1/|\alpha - 2|)` for :math:`a \ne 0`); there the gradient with respect to
    :math:`\alpha` is taken as 0, as in Barron's reference implementation; the gradients with
    respect to :math:`a` and :math:`c` are exact. At :math:`\alpha = \pm\infty` the gradient
    with respect to :math:`\alpha` is 0, its limit.

    Args:
      predictions: floating ``[...]``.
      targets: floating or integer, the shape of ``predictions``; zeros if None.
      alpha: the shape :math:`\alpha \in [-\infty, \infty]`, a scalar or an array
        broadcastable to ``[...]`` (learnable; traced values are accepted).
      scale: the scale :math:`c > 0`, a scalar or an array broadcastable to ``[...]``
        (learnable). A non-positive scale gives NaN; concrete negative ones raise, and the
        checked mode raises under ``jit``.
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype of the inputs (``alpha`` and ``scale`` included).

    References:
      Barron, "A General and Adaptive Robust Loss Function", CVPR 2019 (eq. 1 and its
      special cases); ``robust_loss_pytorch.general.lossfun``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import general_robust_loss
      >>> a = jnp.array([0.0, 1.0, 3.0])
      >>> general_robust_loss(a, alpha=2.0)
      Array([0. , 0.5, 4.5], dtype=float32)
      >>> general_robust_loss(a, alpha=0.0)
      Array([0.       , 0.4054651, 1.7047482], dtype=float32)
      >>> general_robust_loss(a, alpha=-jnp.inf, scale=2.0)
      Array([0.        , 0.11750308, 0.67534757], dtype=float32)
    """
    _checks.check_reduction(reduction)
    mask = None
    shape = _checks.as_float("predictions", predictions).shape
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), shape)
    a, out = _residuals.residual(predictions, targets, mask)
    alpha = _checks.broadcast_to("alpha", _checks.as_float("alpha", alpha), shape)
    scale = _checks.broadcast_to("scale", _checks.as_float("scale", scale), shape)
    _checks.check_values_in("scale", scale, low=0.0, where=mask)
    out = jnp.result_type(out, alpha, scale)  # Python scalars are weakly typed
    acc = _checks.compute_dtype(out)
    alpha, scale = alpha.astype(acc), scale.astype(acc)
    if mask is not None:
        alpha = jnp.where(mask, alpha, jnp.ones((), acc))
        scale = jnp.where(mask, scale, jnp.ones((), acc))
    positive = scale > 0
    c = jnp.where(positive, scale, jnp.ones((), acc))
    z2 = jnp.square(a.astype(acc) / c)
    loss = _rho(z2, alpha)
    loss = jnp.where(positive, loss, jnp.asarray(jnp.nan, acc))
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def _rho(z2: jax.Array, alpha: jax.Array) -> jax.Array:
    """rho as a function of the squared scaled residual, every special alpha handled."""
    two = alpha == 2
    neg_inf = alpha == -jnp.inf
    pos_inf = alpha == jnp.inf
    special = two | neg_inf | pos_inf
    # Any ordinary alpha keeps the general branch finite where a special case is selected.
    safe = jnp.where(special, jnp.ones((), alpha.dtype), alpha)
    b = jnp.abs(safe - 2.0)
    log_term = jnp.log1p(z2 / b)
    general = 0.5 * b * log_term * _expm1_over(0.5 * safe * log_term)
    return jnp.where(
        two,
        0.5 * z2,
        jnp.where(
            neg_inf,
            -jnp.expm1(-0.5 * z2),
            # exp(z2 / 2) only where selected: an overflow elsewhere would poison the gradient.
            jnp.where(pos_inf, jnp.expm1(0.5 * jnp.where(pos_inf, z2, 0.0)), general),
        ),
    )


def _expm1_over(t: jax.Array) -> jax.Array:
    """``expm1(t) / t`` (1 at ``t == 0``), smooth and accurate with its derivatives."""
    small = jnp.abs(t) < _SERIES_BELOW
    far = jnp.where(small, jnp.ones((), t.dtype), t)
    near = jnp.where(small, t, jnp.zeros((), t.dtype))
    # Horner: sum_k t^k / (k + 1)!, k = 0 .. _SERIES_TERMS - 1.
    series = jnp.ones((), t.dtype)
    for k in range(_SERIES_TERMS - 1, 0, -1):
        series = 1.0 + near * series / (k + 1)
    return jnp.where(small, series, jnp.expm1(far) / far)
