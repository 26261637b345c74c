"""Negative log-likelihoods with torch's semantics: class log-probabilities, Gaussian, Poisson.

These are the likelihood losses of ``torch.nn.functional`` (``nll_loss``,
``gaussian_nll_loss``, ``poisson_nll_loss``) with torch's formulas and options (``full``,
``eps``, ``log_input``, ``ignore_index``, per-class weights as ``class_weights``) under
jaxloss's contract (CONTRIBUTING.md): per-example values by default (``reduction="none"``),
``where``, ``weights`` and ``axis_name`` with the semantics of `jaxloss.reduce`, the class axis
last, ``ignore_index=None`` by default (torch's is ``-100``), and a mean over nothing equal to 0
(torch gives NaN). Every value is computed in at least float32 and returned in the promoted
floating dtype of the inputs. Masked entries are replaced by harmless values before the
formula, so non-finite padding reaches neither the value nor the gradient.

The Student-t likelihood and the deviances of the exponential family are in
`jaxloss.probabilistic`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable

import jax
import jax.numpy as jnp
from jax import lax
from jax.typing import ArrayLike

from jaxloss import _checks, _class_ids, _dispatch, _residuals
from jaxloss.reductions import reduce_loss, weighted_reduce

__all__ = [
    "gaussian_nll_loss",
    "nll_loss",
    "poisson_nll_loss",
]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


@_dispatch.compiled_when_eager
def nll_loss(
    log_predictions: ArrayLike,
    labels: ArrayLike,
    *,
    axis: int = -1,
    class_weights: ArrayLike | None = None,
    ignore_index: int | None = None,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Negative log-likelihood of integer labels under given log-probabilities.

    .. math:: \ell_n = -w_{y_n}\, x_{n, y_n}

    with :math:`x` the log-probabilities (not normalized here: pass ``log_softmax`` outputs;
    `softmax_cross_entropy_with_integer_labels` takes logits) and :math:`w` the class weights
    (default 1). ``"none"`` gives :math:`m_n v_n \ell_n` (with the example mask :math:`m` from
    ``where`` and ``ignore_index``, and the per-example ``weights`` :math:`v`); ``"mean"`` gives

    .. math:: \frac{\sum_n m_n v_n \ell_n}{\sum_n m_n v_n w_{y_n}}

    which is exactly torch's weighted mean ``nll_loss(weight=w, reduction="mean")`` (the class
    weight of each counted example enters the denominator) for :math:`v = 1`. A batch whose
    examples are all ignored or masked gives 0 (torch gives NaN).

    Args:
      log_predictions: ``[..., num_classes]`` log-probabilities (class axis given by ``axis``),
        floating. A ``-inf`` at the label gives ``inf``; elsewhere it is never read.
      labels: integer class ids ``[...]`` (``log_predictions`` without its class axis). An id
        outside ``[0, num_classes)`` that is neither ``ignore_index`` nor masked out raises when
        concrete and in the checked mode; otherwise its example gives NaN.
      axis: the class axis (static; torch's is 1, jaxloss's default the last).
      class_weights: optional ``[num_classes]`` non-negative weights :math:`w_c` (torch's
        ``weight``).
      ignore_index: a label value whose examples give 0 and do not count (torch's default
        ``-100`` must be passed explicitly).
      where: optional boolean mask of the per-example shape ``[...]``.
      weights: optional non-negative per-example weights :math:`v_n` (broadcastable to
        ``[...]``).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"`` (the count
        is :math:`\sum_n m_n v_n w_{y_n}`).
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the dtype of
      ``log_predictions``.

    References:
      ``torch.nn.functional.nll_loss`` (same values, weighted mean and gradients).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import nll_loss
      >>> log_p = jax.nn.log_softmax(jnp.array([[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]))
      >>> nll_loss(log_p, jnp.array([0, 1, -100]), ignore_index=-100)
      Array([0.12692805, 0.31326163, 0.        ], dtype=float32)
      >>> nll_loss(log_p, jnp.array([0, 1, 0]), class_weights=jnp.array([1.0, 3.0]),
      ...          reduction="mean")
      Array(0.35197204, dtype=float32)
    """
    x = _checks.as_float("log_predictions", log_predictions)
    _checks.check_reduction(reduction)
    x, labels = _class_ids.scores_and_labels(x, labels, axis, "log_predictions")
    num_classes = x.shape[-1]
    out = x.dtype
    acc = _checks.compute_dtype(out)
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), labels.shape)
    _checks.check_class_ids("labels", labels, num_classes, ignore_index=ignore_index, where=mask)
    if ignore_index is not None:
        mask = _checks.combine_masks(mask, labels != ignore_index)
    class_w = _class_ids.class_weights(class_weights, num_classes)
    picked, safe, in_range = _class_ids.labelled(x, labels)
    picked = picked.astype(acc)
    if mask is not None:
        picked = jnp.where(mask, picked, jnp.zeros((), acc))
    label_w = None if class_w is None else class_w.astype(acc)[safe]
    loss = -picked if label_w is None else -label_w * picked
    loss = jnp.where(in_range, loss, jnp.asarray(jnp.nan, acc))
    v = _checks.example_weights(weights, loss.shape, mask)
    count = label_w if v is None else (v.astype(acc) if label_w is None else v * label_w)
    numerator = loss if v is None else v.astype(acc) * loss
    return weighted_reduce(numerator.astype(out), count, mask, reduction, axis_name)


@_dispatch.compiled_when_eager
def gaussian_nll_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    variance: ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Gaussian negative log-likelihood with a predicted variance, elementwise (torch's).

    .. math::
        \ell = \tfrac12 \Big(\log \max(\sigma^2, \epsilon)
               + \frac{(\mu - y)^2}{\max(\sigma^2, \epsilon)}\Big)
               \;\big[+ \tfrac12 \log 2\pi \text{ with } \texttt{full}\big]

    with :math:`\mu` the ``predictions``, :math:`y` the ``targets`` and :math:`\sigma^2` the
    ``variance``. As torch, the clamp at ``eps`` acts on the value only: the gradient with
    respect to the variance is that of the formula at the clamped value (a straight-through
    clamp), so a zero variance gives finite values and gradients, the same as torch's.

    Args:
      predictions: floating ``[...]``, the predicted means :math:`\mu`.
      targets: floating or integer ``[...]`` (the shape of ``predictions``).
      variance: non-negative floating variances, broadcastable to ``predictions`` without
        enlarging it, or of the shape ``predictions.shape[:-1]`` (one variance per example,
        torch's homoscedastic case). A negative variance gives NaN (torch raises); concrete
        ones raise here too, and the checked mode raises under ``jit``.
      full: add the constant :math:`\tfrac12 \log 2\pi` (static).
      eps: the floor :math:`\epsilon > 0` of the variance, inside the log and the division.
      where: optional boolean mask broadcastable to ``[...]``; masked entries give 0, are not
        counted and are not checked.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the elements.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype of the inputs.

    References:
      ``torch.nn.functional.gaussian_nll_loss`` (same values and gradients); Nix & Weigend,
      "Estimating the mean and variance of the target probability distribution", 1994.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import gaussian_nll_loss
      >>> gaussian_nll_loss(jnp.array([0.0, 1.0]), jnp.array([1.0, 1.0]), jnp.array([1.0, 0.0]))
      Array([ 0.5     , -6.907755], dtype=float32)
    """
    mu = _checks.as_float("predictions", predictions)
    var = _checks.as_float("variance", variance)
    _checks.check_reduction(reduction)
    _checks.check_positive("eps", eps)
    if not isinstance(full, bool):
        raise TypeError(f"`full` must be a static bool; got {full!r}.")
    if mu.ndim >= 1 and var.ndim == mu.ndim - 1 and var.shape == mu.shape[:-1]:
        var = var[..., None]
    var = _checks.broadcast_to("variance", var, mu.shape)
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), mu.shape)
    a, out = _residuals.residual(mu, targets, mask)
    out = jnp.result_type(out, var)  # a Python-scalar variance is weakly typed
    acc = _checks.compute_dtype(out)
    _checks.check_values_in("variance", var, low=0.0, where=mask)
    var = var.astype(acc)
    if mask is not None:
        var = jnp.where(mask, var, jnp.ones((), acc))
    # torch clamps inside no_grad: the value is clamped, the gradient passes straight through.
    clamped = jnp.where(var < eps, eps + (var - lax.stop_gradient(var)), var)
    loss = 0.5 * (jnp.log(clamped) + a.astype(acc) ** 2 / clamped)
    if full:
        loss = loss + _HALF_LOG_2PI
    loss = jnp.where(var < 0, jnp.asarray(jnp.nan, acc), loss)
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


@_dispatch.compiled_when_eager
def poisson_nll_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Poisson negative log-likelihood of counts, elementwise (torch's).

    .. math::
        \ell = \begin{cases} e^{x} - y\, x & \texttt{log\_input} \\
                             x - y \log(x + \epsilon) & \text{otherwise} \end{cases}
               \;\big[+\; y \log y - y + \tfrac12 \log(2\pi y) \text{ where } y > 1
               \text{, with } \texttt{full}\big]

    with :math:`x` the ``predictions`` (the log-rate with ``log_input``, else the rate) and
    :math:`y` the counts; the constant :math:`\log y!` is dropped, or approximated by
    Stirling's formula with ``full`` (0 for :math:`y \le 1`, as torch). A zero count gives
    :math:`y \log(x + \epsilon) = 0` even at :math:`x + \epsilon = 0` (torch gives NaN there
    when ``eps=0``), where its derivative with respect to the count, :math:`-\infty`, is taken
    as 0; elsewhere a zero count keeps torch's derivative :math:`\log(x + \epsilon)`. A zero
    rate with ``log_input=False`` is finite thanks to ``eps``.

    Args:
      predictions: floating ``[...]``: log-rates (``log_input=True``, any real) or rates
        (``log_input=False``, non-negative; a negative rate with a positive count gives NaN,
        concrete ones raise, and the checked mode raises under ``jit``).
      targets: non-negative counts (floating or integer) of the shape of ``predictions``.
        Negative counts raise when concrete and in the checked mode.
      log_input: whether ``predictions`` are log-rates (static).
      full: add the Stirling term (static).
      eps: :math:`\epsilon \ge 0` added to the rate inside the log (``log_input=False`` only).
      where: optional boolean mask broadcastable to ``[...]``; masked entries give 0, are not
        counted and are not checked.
      weights: optional non-negative weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"`` (torch's default), ``"sum"`` or
        ``"sum_and_count"``, over the elements.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` for ``"none"``, else a scalar (a pair for ``"sum_and_count"``), in the promoted
      floating dtype of the inputs.

    References:
      ``torch.nn.functional.poisson_nll_loss`` (same values and gradients where torch's are
      finite).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import poisson_nll_loss
      >>> poisson_nll_loss(jnp.array([0.0, 1.0]), jnp.array([0.0, 3.0]))
      Array([ 1.        , -0.28171825], dtype=float32)
      >>> poisson_nll_loss(jnp.array([0.0, 2.0]), jnp.array([0, 3]), log_input=False)
      Array([ 0.        , -0.07944155], dtype=float32)
    """
    x = _checks.as_float("predictions", predictions)
    y = jnp.asarray(targets)
    _checks.check_reduction(reduction)
    _checks.check_nonnegative("eps", eps)
    for name, flag in (("log_input", log_input), ("full", full)):
        if not isinstance(flag, bool):
            raise TypeError(f"`{name}` must be a static bool; got {flag!r}.")
    _residuals.difference(x, y)  # checks the dtype and the shape of `targets`
    out = _checks.result_dtype(x, y)
    acc = _checks.compute_dtype(out)
    mask = None
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), x.shape)
    _checks.check_values_in("targets", y, low=0.0, where=mask)
    if not log_input:
        _checks.check_values_in("predictions", x, low=0.0, where=mask)
    x, y = x.astype(acc), y.astype(acc)
    if mask is not None:
        x = jnp.where(mask, x, jnp.zeros((), acc))
        y = jnp.where(mask, y, jnp.zeros((), acc))
    if log_input:
        loss = jnp.exp(x) - y * x
    else:
        # y log(x + eps) with 0 log 0 = 0 and a zero gradient there (a double where); a zero
        # count keeps its gradient log(x + eps) with respect to the count wherever it is finite.
        rate = x + eps
        empty = (y == 0) & (rate == 0)
        safe = jnp.where(empty, jnp.ones((), acc), rate)
        loss = x - jnp.where(empty, jnp.zeros((), acc), y * jnp.log(safe))
    if full:
        big = y > 1
        safe_y = jnp.where(big, y, jnp.ones((), acc))
        stirling = safe_y * jnp.log(safe_y) - safe_y + 0.5 * jnp.log(2.0 * math.pi * safe_y)
        loss = loss + jnp.where(big, stirling, jnp.zeros((), acc))
    return reduce_loss(
        loss.astype(out),
        out,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )
