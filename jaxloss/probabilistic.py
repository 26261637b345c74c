"""Probabilistic regression: quantiles, exponential-family deviances, CRPS, Student-t likelihood.

Each loss scores a predicted distribution (a quantile, a mean of a Tweedie distribution, a
Gaussian, an ensemble, a Student-t) against observed ``targets``. The elementwise ones return
one value per entry of ``predictions`` by default (``reduction="none"``); `ensemble_crps`
reduces its member axis. ``reduction``, ``where``, ``weights`` and ``axis_name`` have the
semantics of `jaxloss.reduce` (CONTRIBUTING.md, section 4): ``"mean"`` with ``weights`` is
scikit-learn's mean with ``sample_weight``. Every value is computed in at least float32 and
returned in the promoted floating dtype of the inputs. Masked entries are replaced by harmless
values before the formula, so non-finite padding reaches neither the value nor the gradient.

Inputs outside a distribution's domain (a negative scale or mean where a positive one is
required) give NaN; concrete ones raise a ValueError naming the argument and the checked mode
raises under ``jit`` (negative values; a value of exactly 0 gives the limit each docstring
states). Barron's general robust loss is in `jaxloss.robust`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln, ndtr
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _numerics, _residuals
from jaxloss.reductions import reduce_loss

__all__ = [
    "ensemble_crps",
    "gamma_deviance",
    "gaussian_crps",
    "poisson_deviance",
    "quantile_loss",
    "student_t_nll",
    "tweedie_deviance",
]

_INV_SQRT_PI = 1.0 / math.sqrt(math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@_dispatch.compiled_when_eager
def quantile_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    quantiles: ArrayLike = 0.5,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Pinball (quantile) loss of predicted quantiles, elementwise; several quantiles at once.

    .. math::
        \ell = \max\big(q\,(y - \hat y_q),\; (q - 1)(y - \hat y_q)\big)
             = \tfrac12 |y - \hat y_q| + (q - \tfrac12)(y - \hat y_q)

    Minimized in expectation by the :math:`q`-quantile of :math:`y`; :math:`q = 1/2` is half the
    absolute error. At :math:`y = \hat y_q` the gradient is the centre of the subdifferential,
    :math:`\tfrac12 - q` with respect to the prediction (0 for the median, as
    `absolute_error`'s). :math:`q = 0` and :math:`q = 1` are one-sided hinges.

    Args:
      predictions: floating ``[...]``; with a 1-D ``quantiles`` of size ``Q``, the last axis
        holds the ``Q`` predicted quantiles, ``[..., Q]``.
      targets: floating or integer, the shape of ``predictions``, or (with a 1-D
        ``quantiles``) ``predictions.shape[:-1]``: one observation scored against every
        quantile.
      quantiles: a scalar in ``[0, 1]`` or a ``[Q]`` array of them (concrete values outside
        ``[0, 1]`` raise; traced ones are accepted unchecked).
      where: optional boolean mask broadcastable to ``predictions.shape``.
      weights: optional non-negative weights broadcastable to ``predictions.shape``
        (scikit-learn's ``sample_weight`` with ``reduction="mean"``).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``, over the
        entries.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``predictions.shape`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in
      the promoted floating dtype. The ``"mean"`` of one quantile column is scikit-learn's
      ``mean_pinball_loss(targets, predictions, alpha=q)``.

    References:
      Koenker & Bassett, "Regression quantiles", 1978; ``sklearn.metrics.mean_pinball_loss``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import quantile_loss
      >>> quantile_loss(jnp.array([[1.0, 2.0, 3.0]]), jnp.array([2.5]),
      ...               quantiles=jnp.array([0.1, 0.5, 0.9]))
      Array([[0.14999998, 0.25      , 0.05000001]], dtype=float32)
    """
    p = _checks.as_float("predictions", predictions)
    y = jnp.asarray(targets)
    _checks.check_reduction(reduction)
    _checks.check_scalar_range("quantiles", quantiles, low=0.0, high=1.0)
    q = jnp.asarray(quantiles)
    if q.ndim > 1 or (q.ndim == 1 and (p.ndim == 0 or q.shape[0] != p.shape[-1])):
        raise ValueError(
            "`quantiles` must be a scalar or a 1-D array of the size of the last axis of "
            f"`predictions` {p.shape}; got shape {q.shape}."
        )
    if q.ndim == 1 and y.ndim == p.ndim - 1 and y.shape == p.shape[:-1]:
        y = jnp.broadcast_to(y[..., None], p.shape)
    mask = _entry_mask(where, p.shape)
    u, out = _residuals.residual(p, y, mask)
    q = jnp.broadcast_to(q.astype(u.dtype), u.shape)
    # u = prediction - target; the loss in terms of y - prediction = -u.
    loss = 0.5 * _numerics.abs_zero_grad(u) - (q - 0.5) * u
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def tweedie_deviance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    power: float = 0.0,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Unit deviance of a Tweedie distribution with mean ``predictions``, elementwise.

    .. math::
        d(y, \mu) = 2\Big(\frac{y^{2-p}}{(1-p)(2-p)} - \frac{y\,\mu^{1-p}}{1-p}
                    + \frac{\mu^{2-p}}{2-p}\Big)

    with its limits :math:`(y - \mu)^2` at :math:`p = 0` (normal),
    :math:`2(y \log(y/\mu) - y + \mu)` at :math:`p = 1` (Poisson, :math:`0 \log 0 = 0`) and
    :math:`2(\log(\mu/y) + y/\mu - 1)` at :math:`p = 2` (gamma); for :math:`p < 0` the first
    term uses :math:`\max(y, 0)`, as scikit-learn. Domains: :math:`\mu > 0` for
    :math:`p \ne 0`; :math:`y \ge 0` for :math:`1 \le p < 2`; :math:`y > 0` for :math:`p \ge 2`.
    Outside them the value is NaN or infinite (at :math:`\mu = 0`, or :math:`y = 0` for
    :math:`p \ge 2`); negative concrete inputs raise, and the checked mode raises under ``jit``.

    Args:
      predictions: floating ``[...]``, the predicted means :math:`\mu`.
      targets: floating or integer observations :math:`y` of the shape of ``predictions``.
      power: the Tweedie power :math:`p`, a static number outside ``(0, 1)`` (no Tweedie
        distribution exists there): 0 normal, 1 Poisson, (1, 2) compound Poisson-gamma,
        2 gamma, 3 inverse Gaussian.
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``
        (``sample_weight`` with ``reduction="mean"``).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype. ``"mean"`` is scikit-learn's ``mean_tweedie_deviance``.

    References:
      Jørgensen, "The Theory of Dispersion Models", 1997; ``sklearn.metrics.mean_tweedie_deviance``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import tweedie_deviance
      >>> tweedie_deviance(jnp.array([1.0, 2.0]), jnp.array([0.0, 3.0]), power=1.5)
      Array([4.        , 0.28572893], dtype=float32)
    """
    return _deviance(predictions, targets, power, where, weights, reduction, axis_name)


@_dispatch.compiled_when_eager
def poisson_deviance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Poisson unit deviance, elementwise: `tweedie_deviance` with ``power=1``.

    .. math:: d(y, \mu) = 2\big(y \log(y / \mu) - y + \mu\big)

    with :math:`0 \log 0 = 0`, so a zero count gives :math:`2\mu` with gradient 2.

    Args:
      predictions: floating ``[...]``, the predicted rates :math:`\mu > 0` (0 gives ``inf``
        for a positive count, a negative rate NaN).
      targets: non-negative counts :math:`y` (floating or integer) of the shape of
        ``predictions``.
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype. ``"mean"`` is scikit-learn's ``mean_poisson_deviance``.

    References:
      McCullagh & Nelder, "Generalized Linear Models", 1989;
      ``sklearn.metrics.mean_poisson_deviance``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import poisson_deviance
      >>> poisson_deviance(jnp.array([0.5, 2.0]), jnp.array([0, 3]))
      Array([1.        , 0.43279052], dtype=float32)
    """
    return _deviance(predictions, targets, 1, where, weights, reduction, axis_name)


@_dispatch.compiled_when_eager
def gamma_deviance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Gamma unit deviance, elementwise: `tweedie_deviance` with ``power=2``.

    .. math:: d(y, \mu) = 2\big(\log(\mu / y) + y / \mu - 1\big)

    Scale-invariant: :math:`d(c y, c \mu) = d(y, \mu)`.

    Args:
      predictions: floating ``[...]``, the predicted means :math:`\mu > 0`.
      targets: positive observations :math:`y` (floating or integer) of the shape of
        ``predictions``; 0 or a negative value gives NaN or ``inf``.
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype. ``"mean"`` is scikit-learn's ``mean_gamma_deviance``.

    References:
      McCullagh & Nelder, "Generalized Linear Models", 1989;
      ``sklearn.metrics.mean_gamma_deviance``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import gamma_deviance
      >>> gamma_deviance(jnp.array([1.0, 4.0]), jnp.array([1.0, 2.0]))
      Array([0.       , 0.3862944], dtype=float32)
    """
    return _deviance(predictions, targets, 2, where, weights, reduction, axis_name)


@_dispatch.compiled_when_eager
def gaussian_crps(
    predictions: ArrayLike,
    targets: ArrayLike,
    scale: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Continuous ranked probability score of a Gaussian forecast, closed form, elementwise.

    .. math::
        \mathrm{CRPS}(\mathcal N(\mu, \sigma^2), y)
          = (y - \mu)\big(2\Phi(z) - 1\big) + \sigma\Big(2\varphi(z) - \frac{1}{\sqrt\pi}\Big),
        \qquad z = \frac{y - \mu}{\sigma}

    (Gneiting et al. 2005, eq. 5, with :math:`\sigma z` written as :math:`y - \mu`). A proper
    scoring rule in the units of :math:`y`; at :math:`\sigma = 0` it is the absolute error
    :math:`|y - \mu|`, with the one-sided derivative :math:`2\varphi(z) - 1/\sqrt\pi` at
    :math:`z = \pm\infty` (or 0) with respect to :math:`\sigma`, so a collapsed forecast keeps
    finite gradients.

    Args:
      predictions: floating ``[...]``, the forecast means :math:`\mu`.
      targets: floating or integer observations of the shape of ``predictions``.
      scale: the forecast standard deviations :math:`\sigma \ge 0`, broadcastable to
        ``[...]``; a negative one gives NaN (concrete ones raise, and the checked mode raises).
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype.

    References:
      Gneiting, Raftery, Westveld & Goldman, "Calibrated probabilistic forecasting using
      ensemble model output statistics and minimum CRPS estimation", 2005;
      ``properscoring.crps_gaussian``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import gaussian_crps
      >>> gaussian_crps(jnp.array([0.0, 0.0]), jnp.array([0.3, 0.3]), jnp.array([1.0, 0.0]))
      Array([0.2693329, 0.3      ], dtype=float32)
    """
    mu = _checks.as_float("predictions", predictions)
    sigma = _checks.as_float("scale", scale)
    _checks.check_reduction(reduction)
    mask = _entry_mask(where, mu.shape)
    sigma = _checks.broadcast_to("scale", sigma, mu.shape)
    _checks.check_values_in("scale", sigma, low=0.0, where=mask)
    d, out = _residuals.residual(mu, targets, mask)
    out = jnp.result_type(out, sigma)  # a Python-scalar scale is weakly typed
    acc = _checks.compute_dtype(out)
    a = -d.astype(acc)  # y - mu
    s = sigma.astype(acc)
    if mask is not None:
        s = jnp.where(mask, s, jnp.ones((), acc))
    positive = s > 0
    safe = jnp.where(positive, s, jnp.ones((), acc))
    # At sigma = 0, z is +-inf (0 at a = 0): the limits of Phi and phi give |a| and the
    # one-sided derivatives, and no 0/0 enters the gradient.
    limit = jnp.sign(a) * jnp.where(a == 0, jnp.zeros((), acc), jnp.asarray(jnp.inf, acc))
    z = jnp.where(positive, a / safe, limit)
    pdf = _INV_SQRT_2PI * jnp.exp(-0.5 * jnp.where(jnp.isfinite(z), z * z, jnp.inf))
    loss = a * (2.0 * ndtr(z) - 1.0) + s * (2.0 * pdf - _INV_SQRT_PI)
    loss = jnp.where(s < 0, jnp.asarray(jnp.nan, acc), loss)
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def ensemble_crps(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    estimator: str = "standard",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""CRPS of an ensemble forecast: members on the last axis, one value per example.

    .. math::
        \mathrm{CRPS} = \frac1M \sum_i |x_i - y| - \frac{1}{2 M \kappa}
                        \sum_{i,j} |x_i - x_j|,
        \qquad \kappa = M \text{ (standard)},\ M - 1 \text{ (fair)}

    The standard estimator is the CRPS of the ensemble's empirical distribution
    (properscoring's ``crps_ensemble``); the fair one (Ferro 2014) is unbiased for the CRPS of
    the distribution the members are drawn from. The pair sum is computed from the sorted
    members, :math:`\sum_{i,j}|x_i - x_j| = 2\sum_k (2k - M - 1)\,x_{(k)}`, so time is
    :math:`O(M \log M)` and memory :math:`O(M)` per example. Ties take the order of the sort
    (a subgradient); :math:`|x_i - y|` has gradient 0 at a tie. A single member (:math:`M = 1`)
    gives :math:`|x - y|` for both estimators (the fair spread term, 0/0, is taken as 0).

    Args:
      predictions: floating ``[..., M]``, the ensemble members.
      targets: floating or integer observations ``[...]`` (``predictions`` without its last
        axis).
      estimator: ``"standard"`` (default, properscoring's) or ``"fair"`` (static).
      where: optional boolean mask of the per-example shape ``[...]``.
      weights: optional non-negative per-example weights (broadcastable to ``[...]``).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype.

    References:
      Gneiting & Raftery, "Strictly proper scoring rules, prediction, and estimation", 2007;
      Ferro, "Fair scores for ensemble forecasts", 2014; ``properscoring.crps_ensemble``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import ensemble_crps
      >>> members, y = jnp.array([[0.1, 0.5, -1.0]]), jnp.array([0.3])
      >>> ensemble_crps(members, y), ensemble_crps(members, y, estimator="fair")
      (Array([0.23333333], dtype=float32), Array([0.06666666], dtype=float32))
    """
    x = _checks.as_float("predictions", predictions)
    y = jnp.asarray(targets)
    _checks.check_reduction(reduction)
    _checks.check_choice("estimator", estimator, ("standard", "fair"))
    _checks.check_min_rank("predictions", x, 1)
    if y.shape != x.shape[:-1]:
        raise ValueError(
            "`targets` must have the shape of `predictions` without its member axis, i.e. "
            f"{x.shape[:-1]}; got {y.shape}."
        )
    members = x.shape[-1]
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), y.shape)
    entries = None if mask is None else jnp.broadcast_to(mask[..., None], x.shape)
    d, out = _residuals.residual(x, jnp.broadcast_to(y[..., None], x.shape), entries)
    # The spread term is translation invariant: sorting x - y avoids cancelling a large offset.
    ranks = jnp.broadcast_to(jnp.arange(1, members + 1, dtype=d.dtype), d.shape)
    spread = jnp.sum((2.0 * ranks - members - 1.0) * _numerics.sort_last(d), axis=-1)
    kappa = members if estimator == "standard" or members == 1 else members - 1
    loss = jnp.mean(_numerics.abs_zero_grad(d), axis=-1) - spread / (members * kappa)
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def student_t_nll(
    predictions: ArrayLike,
    targets: ArrayLike,
    scale: ArrayLike,
    *,
    df: ArrayLike,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Negative log-likelihood of a Student-t distribution (location, scale, df), elementwise.

    .. math::
        -\log p(y) = \log\sigma + \tfrac12 \log(\nu\pi)
            + \log\Gamma\big(\tfrac\nu2\big) - \log\Gamma\big(\tfrac{\nu+1}2\big)
            + \tfrac{\nu+1}{2} \log\Big(1 + \frac{z^2}{\nu}\Big),
        \qquad z = \frac{y - \mu}{\sigma}

    A heavy-tailed alternative to `gaussian_nll_loss` (the limit :math:`\nu \to \infty`);
    ``scale`` and ``df`` may be predicted or learned arrays, with exact gradients (digamma for
    :math:`\nu`).

    Args:
      predictions: floating ``[...]``, the locations :math:`\mu`.
      targets: floating or integer observations of the shape of ``predictions``.
      scale: the scales :math:`\sigma > 0`, broadcastable to ``[...]``.
      df: the degrees of freedom :math:`\nu > 0` (finite), a scalar or an array broadcastable
        to ``[...]`` (traced allowed). A ``scale`` or ``df`` that is not positive gives NaN
        (concrete negative ones raise, and the checked mode raises under ``jit``).
      where: optional boolean mask broadcastable to ``[...]``.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype.

    References:
      ``scipy.stats.t.logpdf(y, df, loc, scale)`` (negated); Lange, Little & Taylor, "Robust
      statistical modeling using the t distribution", 1989.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import student_t_nll
      >>> student_t_nll(jnp.array([0.0]), jnp.array([1.0]), jnp.array([1.0]), df=3.0)
      Array([1.576253], dtype=float32)
    """
    mu = _checks.as_float("predictions", predictions)
    sigma = _checks.as_float("scale", scale)
    nu = _checks.as_float("df", df)
    _checks.check_reduction(reduction)
    mask = _entry_mask(where, mu.shape)
    sigma = _checks.broadcast_to("scale", sigma, mu.shape)
    nu = _checks.broadcast_to("df", nu, mu.shape)
    _checks.check_values_in("scale", sigma, low=0.0, where=mask)
    _checks.check_values_in("df", nu, low=0.0, where=mask)
    d, out = _residuals.residual(mu, targets, mask)
    out = jnp.result_type(out, sigma, nu)  # Python scalars are weakly typed
    acc = _checks.compute_dtype(out)
    s, v = sigma.astype(acc), nu.astype(acc)
    if mask is not None:
        s = jnp.where(mask, s, jnp.ones((), acc))
        v = jnp.where(mask, v, jnp.ones((), acc))
    z = d.astype(acc) / s
    loss = (
        jnp.log(s)
        + 0.5 * jnp.log(v * math.pi)
        + gammaln(0.5 * v)
        - gammaln(0.5 * (v + 1.0))
        + 0.5 * (v + 1.0) * jnp.log1p(z * z / v)
    )
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


# ---------------------------------------------------------------------------------------------
# helpers


def _entry_mask(where: ArrayLike | None, shape: tuple[int, ...]) -> jax.Array | None:
    if where is None:
        return None
    return _checks.broadcast_to("where", _checks.as_bool("where", where), shape)


def _deviance(
    predictions: Any,
    targets: Any,
    power: Any,
    where: Any,
    weights: Any,
    reduction: str,
    axis_name: Hashable | None,
) -> jax.Array:
    """The Tweedie unit deviance for a static `power` (scikit-learn's cases), reduced."""
    if isinstance(power, bool) or not isinstance(power, int | float):
        raise TypeError(f"`power` must be a static number; got {power!r}.")
    if 0 < power < 1 or math.isnan(power):
        raise ValueError(f"`power` must lie outside (0, 1) (no Tweedie distribution); got {power}.")
    mu = _checks.as_float("predictions", predictions)
    _checks.check_reduction(reduction)
    _residuals.difference(mu, targets)  # checks the dtype and shape of `targets`
    out = _checks.result_dtype(mu, targets)
    acc = _checks.compute_dtype(out)
    mask = _entry_mask(where, mu.shape)
    m, y = mu.astype(acc), jnp.asarray(targets).astype(acc)
    if power != 0:
        _checks.check_values_in("predictions", m, low=0.0, where=mask)
    if power >= 1:
        _checks.check_values_in("targets", y, low=0.0, where=mask)
    if mask is not None:
        m = jnp.where(mask, m, jnp.ones((), acc))
        y = jnp.where(mask, y, jnp.ones((), acc))
    p = float(power)
    if p == 0:
        dev = (y - m) ** 2
    elif p == 1:
        counted = y > 0
        safe_y = jnp.where(counted, y, jnp.ones((), acc))
        ylogy = jnp.where(counted, y * jnp.log(safe_y / m), jnp.zeros((), acc))
        dev = 2.0 * (ylogy - y + m)
    elif p == 2:
        dev = 2.0 * (jnp.log(m / y) + y / m - 1.0)
    else:
        first = jnp.maximum(y, 0.0) if p < 0 else y
        dev = 2.0 * (
            first ** (2.0 - p) / ((1.0 - p) * (2.0 - p))
            - y * m ** (1.0 - p) / (1.0 - p)
            + m ** (2.0 - p) / (2.0 - p)
        )
    return reduce_loss(
        dev.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )
