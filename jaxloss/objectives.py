"""Costs and objectives: regularization penalties over parameter pytrees, and their sum.

A *loss* is per example; a *cost* reduces it over the data, ``J(theta) = mean_i loss_i``; an
*objective* adds a regularization penalty, ``J(theta) + lambda * R(theta)``. The penalties here
are the ``R``; `objective` builds the function to differentiate.

None of these returns per-example values, so none takes ``reduction``, ``weights`` or
``axis_name`` (CONTRIBUTING.md, section 4): a penalty is one scalar per parameter pytree, and
`objective` reduces the per-example losses of its ``loss_fn`` once, with `jaxloss.reduce`'s
mean (reduce inside ``loss_fn`` for masks, weights or ``axis_name``). A penalty's ``where``
selects the parameters to penalize: True means "penalize", as ``where`` elsewhere means
"count".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.reductions import reduce

__all__ = [
    "elastic_net_penalty",
    "l1_penalty",
    "l2_penalty",
    "objective",
]

# `where` of a penalty is a pytree of booleans matching `params` (leaves: Python bools or
# boolean arrays broadcastable to the parameter), or a callable `(key_path, leaf) -> bool`.
Where = Any


def l1_penalty(params: Any, *, where: Where = None) -> jax.Array:
    r"""L1 (lasso) penalty: the sum of absolute values of every parameter.

    .. math:: R(\theta) = \sum_j |\theta_j|

    The gradient is ``sign(theta)``, taken as 0 where ``theta == 0``.

    Args:
      params: a pytree of floating arrays (any shapes); non-floating leaves must be left out
        by `where`.
      where: optional selection of the leaves to penalize (True means "penalize"): a pytree of
        booleans with the structure of ``params`` (a leaf may also be a boolean array
        broadcastable to that parameter, selecting entries), or a callable
        ``(path, leaf) -> bool`` on the key path (`jax.tree_util` key entries), e.g.
        ``lambda path, leaf: leaf.ndim > 1`` to skip biases and norm scales.

    Returns:
      A scalar, summed in at least float32, in the promoted dtype of the floating leaves
      (float32 for an empty pytree, whose penalty is 0).

    References:
      Tibshirani, *Regression Shrinkage and Selection via the Lasso*, JRSS-B 1996;
      scikit-learn ``Lasso`` (its penalty without ``alpha``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import l1_penalty
      >>> params = {"w": jnp.array([1.0, -2.0]), "b": jnp.array([5.0])}
      >>> l1_penalty(params)
      Array(8., dtype=float32)
      >>> l1_penalty(params, where={"w": True, "b": False})
      Array(3., dtype=float32)
    """
    return _penalty(params, where, _numerics.abs_zero_grad)


def l2_penalty(params: Any, *, where: Where = None) -> jax.Array:
    r"""L2 (ridge, weight-decay) penalty: half the sum of squares of every parameter.

    .. math:: R(\theta) = \tfrac12 \sum_j \theta_j^2

    The factor 1/2 makes the gradient ``theta`` itself (so ``strength * l2_penalty`` matches
    weight decay with coefficient ``strength``).

    Args:
      params: a pytree of floating arrays (any shapes); non-floating leaves must be left out
        by `where`.
      where: optional selection of the leaves to penalize (True means "penalize"), as in
        `l1_penalty`.

    Returns:
      A scalar, summed in at least float32, in the promoted dtype of the floating leaves.

    References:
      Hoerl & Kennard, *Ridge Regression*, Technometrics 1970; ``optax.add_decayed_weights``
      (whose update is this penalty's gradient times the decay).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import l2_penalty
      >>> l2_penalty({"w": jnp.array([1.0, -2.0]), "b": jnp.array([5.0])},
      ...            where=lambda path, leaf: path[0].key != "b")
      Array(2.5, dtype=float32)
    """
    return _penalty(params, where, _half_square)


def elastic_net_penalty(params: Any, *, l1_ratio: ArrayLike, where: Where = None) -> jax.Array:
    r"""Elastic-net penalty: a convex combination of the L1 and L2 penalties.

    .. math::

        R(\theta) = \rho \sum_j |\theta_j| + (1 - \rho)\,\tfrac12 \sum_j \theta_j^2,
        \qquad \rho = \mathrm{l1\_ratio}

    i.e. ``l1_ratio * l1_penalty + (1 - l1_ratio) * l2_penalty``: scikit-learn's
    ``ElasticNet`` penalty without ``alpha``. ``l1_ratio=1`` is the lasso, ``0`` the ridge.

    Args:
      params: a pytree of floating arrays (any shapes); non-floating leaves must be left out
        by `where`.
      l1_ratio: the mixing weight in ``[0, 1]``; concrete values outside raise.
      where: optional selection of the leaves to penalize (True means "penalize"), as in
        `l1_penalty`.

    Returns:
      A scalar, summed in at least float32, in the promoted dtype of the floating leaves.

    References:
      Zou & Hastie, *Regularization and variable selection via the elastic net*, JRSS-B 2005;
      scikit-learn ``ElasticNet`` (same formula, ``alpha`` left to ``objective``'s strength).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import elastic_net_penalty
      >>> elastic_net_penalty({"w": jnp.array([1.0, -2.0])}, l1_ratio=0.5)
      Array(2.75, dtype=float32)
    """
    _checks.check_scalar_range("l1_ratio", l1_ratio, low=0.0, high=1.0)

    def term(x):
        rho = jnp.asarray(l1_ratio, x.dtype)
        return rho * _numerics.abs_zero_grad(x) + (1 - rho) * _half_square(x)

    return _penalty(params, where, term)


def objective(
    loss_fn: Callable[..., Any],
    *,
    regularizer: Callable[[Any], ArrayLike] | None = None,
    strength: ArrayLike = 0.0,
    has_aux: bool = False,
) -> Callable[..., tuple[jax.Array, dict[str, Any]]]:
    r"""Builds the regularized objective ``J(theta) + strength * R(theta)`` of a cost.

    The returned ``fn(params, *batch) -> (value, aux)`` is ready for
    ``jax.value_and_grad(fn, has_aux=True)``:

    * ``loss_fn(params, *batch)`` returns the cost: a scalar is used as it is; an array of
      per-example losses is averaged with `jaxloss.reduce` (``reduction="mean"``), so
      ``J = mean_i loss_i``. There is no ``reduction`` here: for a masked or weighted mean,
      or a global one under ``shard_map``, reduce inside ``loss_fn`` (``reduction="mean"``
      with ``where``, ``weights``, ``axis_name``) and return the scalar.
    * ``value = cost + strength * regularizer(params)`` (the penalty is 0 without a
      regularizer), in the promoted dtype of cost and penalty.
    * ``aux = {"cost": cost, "penalty": penalty}`` with the *unscaled* penalty ``R(theta)``.
      With ``has_aux=True``, ``loss_fn`` returns ``(cost_or_losses, inner_aux)`` and
      ``inner_aux`` is nested unchanged as ``aux["loss_aux"]``.

    Args:
      loss_fn: ``loss_fn(params, *batch)`` returning a floating scalar cost or per-example
        losses (or a pair with ``has_aux=True``).
      regularizer: ``regularizer(params) -> scalar`` such as `l2_penalty`; bind a selection
        with ``functools.partial(l2_penalty, where=...)`` to leave biases unpenalized.
      strength: the coefficient ``lambda >= 0`` (may be traced); nonzero without a
        regularizer raises.
      has_aux: whether ``loss_fn`` returns ``(value, aux)`` (static).

    Returns:
      ``fn(params, *batch) -> (value, aux)``: ``value`` a scalar, ``aux`` a dict of scalars
      (plus ``"loss_aux"``).

    References:
      Goodfellow, Bengio & Courville, *Deep Learning*, 2016, sections 5.5 (cost) and 7.1
      (parameter norm penalties); the ``has_aux`` convention of ``jax.value_and_grad``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import objective, l2_penalty, squared_error
      >>> def loss_fn(params, x, y):
      ...     return squared_error(x * params["w"], y)
      >>> fn = objective(loss_fn, regularizer=l2_penalty, strength=0.1)
      >>> (value, aux), grads = jax.value_and_grad(fn, has_aux=True)(
      ...     {"w": jnp.array(2.0)}, jnp.array([1.0, 2.0]), jnp.array([1.0, 2.0]))
      >>> print(f"{float(value):.2f} {float(aux['cost']):.2f} {float(aux['penalty']):.2f}")
      2.70 2.50 2.00
    """
    if not callable(loss_fn):
        raise TypeError(f"`loss_fn` must be callable; got {loss_fn!r}.")
    if regularizer is not None and not callable(regularizer):
        raise TypeError(f"`regularizer` must be callable or None; got {regularizer!r}.")
    _checks.check_nonnegative("strength", strength)
    concrete_strength = _checks.concrete(strength)
    if regularizer is None and concrete_strength is not None and np.any(concrete_strength != 0):
        raise ValueError(f"`strength`={strength!r} is nonzero but no `regularizer` is given.")

    def fn(params: Any, *batch: Any) -> tuple[jax.Array, dict[str, Any]]:
        out = loss_fn(params, *batch)
        inner_aux = None
        if has_aux:
            out, inner_aux = out
        losses = jnp.asarray(out)
        if not jnp.issubdtype(losses.dtype, jnp.floating):
            raise TypeError(
                f"`loss_fn` must return a floating-point cost; got dtype {losses.dtype}."
            )
        cost = losses if losses.ndim == 0 else reduce(losses, reduction="mean")
        if regularizer is None:
            penalty = jnp.zeros((), cost.dtype)
        else:
            penalty = jnp.asarray(regularizer(params))
            if penalty.ndim != 0 or not jnp.issubdtype(penalty.dtype, jnp.floating):
                raise ValueError(
                    "`regularizer` must return a floating scalar; got "
                    f"shape {penalty.shape}, dtype {penalty.dtype}."
                )
        dtype = _checks.result_dtype(cost, penalty)
        value = cost.astype(dtype) + jnp.asarray(strength, dtype) * penalty.astype(dtype)
        aux: dict[str, Any] = {"cost": cost, "penalty": penalty}
        if has_aux:
            aux["loss_aux"] = inner_aux
        return value, aux

    return fn


def _half_square(x: jax.Array) -> jax.Array:
    return 0.5 * (x * x)


def _penalty(params: Any, where: Where, term: Callable[[jax.Array], jax.Array]) -> jax.Array:
    """``sum`` of ``term`` over the selected entries of every leaf, accumulated in >= f32."""
    leaves_with_paths, treedef = jax.tree_util.tree_flatten_with_path(params)
    leaves = [jnp.asarray(leaf) for _, leaf in leaves_with_paths]
    out = _checks.result_dtype(*leaves)
    acc = _checks.compute_dtype(out)
    selections = _selections(leaves_with_paths, treedef, where)
    total = jnp.zeros((), acc)
    for (path, _), leaf, selected in zip(leaves_with_paths, leaves, selections, strict=True):
        if selected is False:
            continue
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise TypeError(
                f"`params` leaf {jax.tree_util.keystr(path)} must be floating-point; got dtype "
                f"{leaf.dtype}. Leave it out with `where` to leave it unpenalized."
            )
        values = term(leaf.astype(acc))
        if selected is not True:
            values = jnp.where(selected, values, jnp.zeros((), acc))
        total = total + jnp.sum(values, dtype=acc)
    return total.astype(out)


def _selections(leaves_with_paths: list, treedef: Any, where: Where) -> list:
    """Per leaf: True / False (static), or a boolean array broadcast to the leaf."""
    if where is None:
        return [True] * len(leaves_with_paths)
    if callable(where):
        raw = [where(path, leaf) for path, leaf in leaves_with_paths]
    else:
        try:
            raw = treedef.flatten_up_to(where)
        except (ValueError, TypeError) as error:
            raise ValueError(
                f"`where` must be a pytree of booleans with the structure of `params`: {error}"
            ) from None
    selections = []
    for (path, leaf), m in zip(leaves_with_paths, raw, strict=True):
        if isinstance(m, bool | np.bool_):
            selections.append(bool(m))
            continue
        m = jnp.asarray(m)
        if m.dtype != jnp.bool_:
            raise TypeError(
                f"`where` entry for {jax.tree_util.keystr(path)} must be a bool or boolean "
                f"array; got dtype {m.dtype}."
            )
        selections.append(_checks.broadcast_to("where", m, jnp.shape(leaf)))
    return selections
