"""Composed objectives: a weighted sum of named loss terms that reports every term.

Objectives such as content + style + total variation, or classification + metric learning,
are sums of several losses. `composite_loss` builds the sum and returns each term beside the
total, so a training loop can log all of them from one ``jax.value_and_grad(has_aux=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.core import Tracer

from jaxloss import _checks
from jaxloss.reductions import reduce

__all__ = ["composite_loss"]

Term = Callable[..., Any] | tuple[Callable[..., Any], Any]


def composite_loss(
    terms: Mapping[str, Term],
) -> Callable[..., tuple[jax.Array, dict[str, dict[str, jax.Array]]]]:
    r"""Builds ``total = sum_k weight_k * term_k`` from named loss terms, keeping each term.

    Every term receives the same arguments: the returned ``fn(*args, **kwargs)`` calls each
    ``loss_fn(*args, **kwargs)``. A term picks the inputs it needs itself, e.g. ``lambda x,
    batch: total_variation(x)`` next to ``lambda x, batch: mse(x, batch["content"])``; use the
    same signature as `objective` (``(params, *batch)``) to compose with it. A term that
    returns per-example losses is averaged with `jaxloss.reduce` (``reduction="mean"``), so
    each term is a scalar cost. The composite returns scalars, not per-example values, so it
    takes no ``reduction``: a term that needs a masked, weighted or global (``axis_name``)
    mean reduces itself and returns the scalar.

    Args:
      terms: a non-empty mapping from a term name (str) to ``loss_fn`` (weight 1) or
        ``(loss_fn, weight)``. ``weight`` is a real scalar, possibly traced (a schedule); a
        concrete weight must be finite.

    Returns:
      ``fn(*args, **kwargs) -> (total, aux)`` where ``total`` is a scalar in the promoted
      dtype of the terms and ``aux = {"terms": {name: unweighted term}, "weighted": {name:
      weight * term}}``, both dicts of scalars; ``total == sum(aux["weighted"].values())``.
      Ready for ``jax.value_and_grad(fn, has_aux=True)``, ``nnx.value_and_grad`` and for
      ``objective(fn, has_aux=True, ...)`` (the terms then sit in ``aux["loss_aux"]``).

    References:
      Gatys, Ecker & Bethge, *Image Style Transfer Using Convolutional Neural Networks*,
      CVPR 2016 (content + style + TV); the ``has_aux`` convention of ``jax.value_and_grad``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import composite_loss, squared_error, absolute_error
      >>> fn = composite_loss({
      ...     "mse": squared_error,
      ...     "mae": (absolute_error, 0.5),
      ... })
      >>> total, aux = fn(jnp.array([1.0, 3.0]), jnp.array([0.0, 1.0]))
      >>> print(f"{float(total):.2f} {float(aux['terms']['mse']):.2f}")
      3.25 2.50
      >>> print(f"{float(aux['weighted']['mae']):.2f}")
      0.75
    """
    if not isinstance(terms, Mapping) or not terms:
        raise ValueError(f"`terms` must be a non-empty mapping of name -> loss; got {terms!r}.")
    parsed = {}
    for name, term in terms.items():
        if not isinstance(name, str):
            raise TypeError(f"`terms` names must be strings; got {name!r}.")
        loss_fn, weight = term if isinstance(term, tuple) else (term, 1.0)
        if not callable(loss_fn):
            raise TypeError(f"`terms`[{name!r}] must be a callable or (callable, weight).")
        _check_weight(name, weight)
        parsed[name] = (loss_fn, weight)

    def fn(*args: Any, **kwargs: Any) -> tuple[jax.Array, dict[str, dict[str, jax.Array]]]:
        values = {name: _cost(name, f(*args, **kwargs)) for name, (f, _) in parsed.items()}
        dtype = _checks.result_dtype(*values.values())
        weighted = {
            name: values[name].astype(dtype) * jnp.asarray(parsed[name][1], dtype)
            for name in parsed
        }
        total = sum(weighted.values(), start=jnp.zeros((), dtype))
        return total, {"terms": values, "weighted": weighted}

    return fn


def _check_weight(name: str, weight: Any) -> None:
    if isinstance(weight, Tracer):
        return
    try:
        value = np.asarray(weight)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"`terms`[{name!r}] weight must be a real scalar; got {weight!r}."
        ) from error
    if value.shape != () or not np.issubdtype(value.dtype, np.number):
        raise TypeError(f"`terms`[{name!r}] weight must be a real scalar; got {weight!r}.")
    if not np.isfinite(value):
        raise ValueError(f"`terms`[{name!r}] weight must be finite; got {weight!r}.")


def _cost(name: str, out: Any) -> jax.Array:
    losses = jnp.asarray(out)
    if not jnp.issubdtype(losses.dtype, jnp.floating):
        raise TypeError(
            f"`terms`[{name!r}] must return floating-point losses; got dtype {losses.dtype}."
        )
    return losses if losses.ndim == 0 else reduce(losses, reduction="mean")
