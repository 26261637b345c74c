r"""Distances and the Rényi divergences between discrete distributions.

The conventions are those of `jaxloss.divergences`: distributions lie along `axis` (default
the last one) and are used as given (not renormalized); every function returns one value per
distribution (the *examples*), reduced by ``reduction`` with ``weights`` (per-example) and
``axis_name`` (the data-parallel batch axis) as `jaxloss.reduce` does (CONTRIBUTING.md,
section 4). ``where`` is a mask of the per-example shape (the inputs' shape without `axis`)
for examples, or of the inputs' full rank for entries; masked entries count as zero mass in
both distributions, and an example whose entries are all masked has value 0 and is not
counted by ``reduction="mean"``. A NaN in a masked entry reaches neither value nor gradient.

Zeros. Square roots and powers of probabilities have infinite derivatives at 0; there the
derivative is taken as 0 (each docstring says which), so values and gradients are finite at
one-hot distributions and zero entries. Where the distance itself is infinite (the
Bhattacharyya distance of disjoint supports; a Rényi divergence whose ``P`` is not absolutely
continuous w.r.t. ``Q``), the value is ``+inf`` and its gradient 0.

Negative probabilities are outside the domain: eager calls with concrete arrays raise a
ValueError naming the argument, and so does the checked mode under ``jit``.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch
from jaxloss._checks import Axis
from jaxloss._numerics import abs_zero_grad, safe_sqrt
from jaxloss.divergences import _entry_mask  # the one rule: example or entry mask
from jaxloss.reductions import reduce_loss

__all__ = [
    "bhattacharyya_distance",
    "hellinger_distance",
    "renyi_divergence",
    "total_variation_distance",
]


def hellinger_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Hellinger distance :math:`H(P, Q) = \sqrt{\tfrac12 \sum_i (\sqrt{p_i} - \sqrt{q_i})^2}`.

    Symmetric, in ``[0, 1]`` for normalized inputs, ``1`` exactly for disjoint supports;
    ``H^2 = 1 - BC`` with ``BC`` the Bhattacharyya coefficient of normalized inputs.

    Args:
      predictions: ``[..., num_classes]`` probabilities ``q >= 0`` (checked).
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` distances (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Edge cases: the derivative of ``sqrt(p_i)`` at ``p_i = 0`` is taken as 0 (so a zero
    entry's derivative is 0 for that input; the other input's is ``1/2`` of its term, as
    usual); identical distributions give exactly 0 with a zero gradient (the outer square
    root at 0).

    References:
      Hellinger (1909); Le Cam and Yang (2000), Asymptotics in Statistics, section 3.2.
      Matches ``scipy.spatial.distance.euclidean(sqrt(p), sqrt(q)) / sqrt(2)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import hellinger_distance
      >>> q, p = jnp.array([0.5, 0.5, 0.0]), jnp.array([0.0, 0.5, 0.5])
      >>> print(f"{float(hellinger_distance(q, p)):.4f}")
      0.7071
    """
    (q, p), axes, counted, dtype = _prepare(predictions, targets, axis, where)
    values = safe_sqrt(0.5 * jnp.sum(jnp.square(safe_sqrt(p) - safe_sqrt(q)), axis=axes))
    return _finish(values, dtype, counted, reduction, weights, axis_name)


def bhattacharyya_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Bhattacharyya distance :math:`D_B(P, Q) = -\log \sum_i \sqrt{p_i q_i}`.

    Symmetric; ``0`` for identical normalized distributions (up to rounding), ``+inf`` for
    disjoint supports. It is half the Rényi divergence of order ``1/2``.

    Args:
      predictions: ``[..., num_classes]`` probabilities ``q >= 0`` (checked).
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` distances (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Edge cases: ``sqrt(p_i q_i)`` is computed as ``sqrt(p_i) sqrt(q_i)`` (no underflow of the
    product) and its derivative with respect to a zero entry is taken as 0. Disjoint supports
    (a zero coefficient) give ``+inf`` with a zero gradient.

    References:
      Bhattacharyya (1943), On a measure of divergence between two statistical populations
      defined by their probability distributions; Kailath (1967), The divergence and
      Bhattacharyya distance measures in signal selection.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import bhattacharyya_distance
      >>> q, p = jnp.array([0.5, 0.5, 0.0]), jnp.array([0.0, 0.5, 0.5])
      >>> print(f"{float(bhattacharyya_distance(q, p)):.4f}")
      0.6931
    """
    (q, p), axes, counted, dtype = _prepare(predictions, targets, axis, where)
    coefficient = jnp.sum(safe_sqrt(p) * safe_sqrt(q), axis=axes)
    return _finish(_neg_log_or_inf(coefficient), dtype, counted, reduction, weights, axis_name)


def total_variation_distance(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Total variation distance :math:`TV(P, Q) = \tfrac12 \sum_i |p_i - q_i|`.

    Symmetric, in ``[0, 1]`` for normalized inputs, ``1`` exactly for disjoint supports.

    Args:
      predictions: ``[..., num_classes]`` probabilities ``q >= 0`` (checked).
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` distances (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Edge cases: where ``p_i = q_i`` the derivative of ``|p_i - q_i|`` is taken as 0 (the
    subgradient torch's ``abs`` uses), so identical distributions have a zero gradient.

    References:
      Levin, Peres and Wilmer (2009), Markov Chains and Mixing Times, proposition 4.2.
      Matches ``0.5 * numpy.abs(p - q).sum(-1)``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import total_variation_distance
      >>> q, p = jnp.array([0.5, 0.5, 0.0]), jnp.array([0.0, 0.5, 0.5])
      >>> print(f"{float(total_variation_distance(q, p)):.4f}")
      0.5000
    """
    (q, p), axes, counted, dtype = _prepare(predictions, targets, axis, where)
    values = 0.5 * jnp.sum(abs_zero_grad(p - q), axis=axes)
    return _finish(values, dtype, counted, reduction, weights, axis_name)


@_dispatch.compiled_when_eager
def renyi_divergence(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    alpha: ArrayLike,
    axis: Axis = -1,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduction: str = "none",
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Rényi divergence of order :math:`\alpha` of ``P`` (`targets`) from ``Q`` (`predictions`).

    .. math::
      D_\alpha(P \| Q) = \frac{1}{\alpha - 1} \log \sum_{i:\,p_i > 0} p_i^\alpha\, q_i^{1 - \alpha},

    with its limits: :math:`D_1 = KL(P \| Q) = \sum_i p_i \log(p_i / q_i)` (exactly, not a
    limit taken numerically), :math:`D_0 = -\log Q(\{i: p_i > 0\})` and
    :math:`D_\infty = \log \max_{i:\,p_i > 0} p_i / q_i`. The arguments are in the order of
    `kl_divergence` (``Q`` first): ``renyi_divergence(q, p, alpha=1)`` equals
    ``kl_divergence(log q, p)``. ``D_{1/2} = 2 D_B`` (`bhattacharyya_distance`).

    Args:
      predictions: ``[..., num_classes]`` probabilities ``q >= 0`` (checked).
      targets: ``[..., num_classes]`` probabilities ``p >= 0`` (checked).
      alpha: the order :math:`\alpha \in [0, \infty]` (``jnp.inf`` for the max-divergence); a
        scalar, checked when concrete, or a traced scalar (then all branches are computed and
        selected with ``where``).
      axis: static axis or axes holding the distribution (``None``: all of them).
      where: optional boolean mask of examples (``[...]``) or of entries (full rank).
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      ``[...]`` divergences (`axis` removed), or a scalar when reduced (a pair for
      ``"sum_and_count"``).

    Edge cases: entries with ``p_i = 0`` contribute nothing (their derivatives are 0); an
    entry with ``p_i > 0 = q_i`` contributes nothing for ``alpha < 1`` and makes the
    divergence ``+inf`` for ``alpha >= 1``; a zero sum (no common support, ``alpha < 1``)
    gives ``+inf``. Infinite values have a zero gradient. The derivatives of ``p^alpha`` and
    ``q^(1 - alpha)`` at a zero entry are taken as 0. Near (not at) ``alpha = 1`` the
    quotient loses relative accuracy as ``log(sum) / (alpha - 1)`` does.

    References:
      Rényi (1961), On measures of entropy and information; van Erven and Harremoës (2014),
      Rényi divergence and Kullback-Leibler divergence, IEEE Trans. Inf. Theory 60(7)
      (definition 2 and the limits of theorems 4-6).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import renyi_divergence
      >>> q, p = jnp.array([0.5, 0.5]), jnp.array([0.25, 0.75])
      >>> print(f"{float(renyi_divergence(q, p, alpha=2.0)):.4f}")
      0.2231
      >>> print(f"{float(renyi_divergence(q, p, alpha=1.0)):.4f}")
      0.1308
    """
    (q, p), axes, counted, dtype = _prepare(predictions, targets, axis, where)
    _checks.check_nonnegative("alpha", alpha)
    a = jnp.asarray(alpha)
    if a.ndim != 0:
        raise ValueError(f"`alpha` must be a scalar; got shape {a.shape}.")
    if not jnp.issubdtype(a.dtype, jnp.floating):
        a = a.astype(jnp.float32)
    a = a.astype(q.dtype)
    both = (p > 0) & (q > 0)
    one = jnp.ones((), q.dtype)
    log_p = jnp.log(jnp.where(both, p, one))
    log_q = jnp.where(both, jnp.log(jnp.where(both, q, one)), 0)
    # P not absolutely continuous w.r.t. Q: infinite for alpha >= 1.
    escapes = jnp.any((p > 0) & (q == 0), axis=axes)
    known = _checks.concrete(alpha)
    branches = {
        "kl": lambda: _infinite_where(
            escapes, jnp.sum(jnp.where(both, p * (log_p - log_q), 0), axis=axes)
        ),
        "max": lambda: _infinite_where(
            escapes, jnp.max(jnp.where(both, log_p - log_q, -jnp.inf), axis=axes)
        ),
        "power": lambda: _renyi_power(a, both, log_p, log_q, escapes, axes),
    }
    if known is not None:
        order = float(known)
        name = "kl" if order == 1 else "max" if order == np.inf else "power"
        values = branches[name]()
    else:
        values = jnp.where(
            a == 1,
            branches["kl"](),
            jnp.where(jnp.isposinf(a), branches["max"](), branches["power"]()),
        )
    return _finish(values, dtype, counted, reduction, weights, axis_name)


def _renyi_power(
    a: jax.Array,
    both: jax.Array,
    log_p: jax.Array,
    log_q: jax.Array,
    escapes: jax.Array,
    axes: tuple[int, ...],
) -> jax.Array:
    """``log(sum p^a q^(1-a)) / (a - 1)`` for ``a`` not in ``{1, inf}`` (else a dummy order)."""
    special = (a == 1) | jnp.isposinf(a)
    safe_a = jnp.where(special, jnp.full((), 0.5, a.dtype), a)
    terms = jnp.where(both, jnp.exp(safe_a * log_p + (1 - safe_a) * log_q), 0)
    total = jnp.sum(terms, axis=axes)
    positive = total > 0
    finite = jnp.log(jnp.where(positive, total, 1)) / (safe_a - 1)
    return _infinite_where(~positive | (escapes & (safe_a > 1)), finite)


def _infinite_where(infinite: jax.Array, values: jax.Array) -> jax.Array:
    """`values`, and ``+inf`` (with a zero gradient) where `infinite`."""
    return jnp.where(infinite, jnp.inf, jnp.where(infinite, jnp.zeros((), values.dtype), values))


def _neg_log_or_inf(x: jax.Array) -> jax.Array:
    """``-log x``, ``+inf`` with a zero gradient at ``x = 0``."""
    positive = x > 0
    return _infinite_where(~positive, -jnp.log(jnp.where(positive, x, 1)))


def _prepare(
    predictions: ArrayLike, targets: ArrayLike, axis: Axis, where: ArrayLike | None
) -> tuple[tuple[jax.Array, jax.Array], tuple[int, ...], jax.Array | None, Any]:
    """Validated ``(q, p)`` in the compute dtype (masked entries zeroed), the distribution
    axes, the mask of counted examples (None: all) and the result dtype."""
    q = _checks.as_float("predictions", predictions)
    p = _checks.as_float("targets", targets)
    try:
        shape = np.broadcast_shapes(q.shape, p.shape)
    except ValueError:
        raise ValueError(
            f"Shapes must be broadcast-compatible; got `predictions` {q.shape}, `targets` "
            f"{p.shape}."
        ) from None
    axes = _checks.normalize_axes("axis", axis, len(shape))
    for name, x in (("predictions", q), ("targets", p)):
        for ax in axes:
            own = ax - (len(shape) - x.ndim)
            if own < 0 or x.shape[own] != shape[ax]:
                raise ValueError(
                    f"`{name}` must have size {shape[ax]} along the distribution axis "
                    f"{ax - len(shape)}; got `predictions` {q.shape}, `targets` {p.shape}."
                )
    dtype = _checks.result_dtype(q, p)
    acc = _checks.compute_dtype(dtype)
    q = jnp.broadcast_to(q, shape).astype(acc)
    p = jnp.broadcast_to(p, shape).astype(acc)
    mask = None if where is None else _entry_mask(where, shape, axes, optax=False)
    _checks.check_values_in("predictions", q, low=0.0, where=mask)
    _checks.check_values_in("targets", p, low=0.0, where=mask)
    if mask is None:
        return (q, p), axes, None, dtype
    # Masked entries become 0 before the formula: a NaN there reaches neither value nor
    # gradient.
    zero = jnp.zeros((), acc)
    q, p = jnp.where(mask, q, zero), jnp.where(mask, p, zero)
    return (q, p), axes, jnp.any(mask, axis=axes), dtype


def _finish(
    values: jax.Array,
    dtype: Any,
    counted: jax.Array | None,
    reduction: str,
    weights: ArrayLike | None,
    axis_name: Hashable | None,
) -> jax.Array:
    """The reduction of the per-example values over the counted examples."""
    return reduce_loss(
        values, dtype, reduction=reduction, where=counted, weights=weights, axis_name=axis_name
    )
