"""Probability maps with a temperature, and label smoothing.

`softmax`, `log_softmax`, `sigmoid` and `log_sigmoid` wrap ``jax.nn`` with a temperature
:math:`T > 0` (the logits are divided by it) and compute in at least float32, returning the
input's dtype. `smooth_labels` is optax's label smoothing. None of them reduces: they return
arrays of the input's shape.
"""

from __future__ import annotations

from typing import cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks

__all__ = ["log_sigmoid", "log_softmax", "sigmoid", "smooth_labels", "softmax"]


def softmax(x: ArrayLike, axis: _checks.Axis = -1, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Softmax with temperature: :math:`\exp(x_i/T) / \sum_j \exp(x_j/T)`.

    Args:
      x: logits ``[..., num_classes, ...]``, floating.
      axis: class axis or axes (``None``: all axes).
      temperature: :math:`T > 0`; higher is flatter.

    Returns:
      Probabilities of the shape and dtype of ``x``.

    References:
      Wraps ``jax.nn.softmax`` (Bridle, 1990).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import softmax
      >>> softmax(jnp.array([0.0, 0.0, 0.0, 0.0]))
      Array([0.25, 0.25, 0.25, 0.25], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.softmax(xt, axis=_checks.normalize_axes("axis", axis, xt.ndim)).astype(dtype)


def log_softmax(
    x: ArrayLike, axis: _checks.Axis = -1, *, temperature: ArrayLike = 1.0
) -> jax.Array:
    r"""Log-softmax with temperature: :math:`x_i/T - \log\sum_j \exp(x_j/T)`.

    Args:
      x: logits ``[..., num_classes, ...]``, floating.
      axis: class axis or axes (``None``: all axes).
      temperature: :math:`T > 0`.

    Returns:
      Log-probabilities of the shape and dtype of ``x``; ``-inf`` logits give ``-inf``.

    References:
      Wraps ``jax.nn.log_softmax``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import log_softmax
      >>> log_softmax(jnp.array([0.0, 0.0]))
      Array([-0.6931472, -0.6931472], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.log_softmax(xt, axis=_checks.normalize_axes("axis", axis, xt.ndim)).astype(dtype)


def sigmoid(x: ArrayLike, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Logistic sigmoid with temperature: :math:`1 / (1 + \exp(-x/T))`.

    Args:
      x: logits ``[...]``, floating.
      temperature: :math:`T > 0`.

    Returns:
      Probabilities of the shape and dtype of ``x``.

    References:
      Wraps ``jax.nn.sigmoid``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import sigmoid
      >>> sigmoid(jnp.array([0.0]))
      Array([0.5], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.sigmoid(xt).astype(dtype)


def log_sigmoid(x: ArrayLike, *, temperature: ArrayLike = 1.0) -> jax.Array:
    r"""Log of the sigmoid, stable for large :math:`|x|`: :math:`-\mathrm{softplus}(-x/T)`.

    Args:
      x: logits ``[...]``, floating.
      temperature: :math:`T > 0`.

    Returns:
      Log-probabilities of the shape and dtype of ``x``.

    References:
      Wraps ``jax.nn.log_sigmoid``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import log_sigmoid
      >>> log_sigmoid(jnp.array([-1e4]))
      Array([-10000.], dtype=float32)
    """
    xt, dtype = _tempered("x", x, temperature)
    return jax.nn.log_sigmoid(xt).astype(dtype)


def smooth_labels(
    labels: ArrayLike,
    alpha: ArrayLike,
    *,
    axis: _checks.Axis = -1,
    where: ArrayLike | None = None,
) -> jax.Array:
    r"""Label smoothing: :math:`(1-\alpha)\, y + \alpha / K`.

    Args:
      labels: one-hot or soft labels ``[..., num_classes]``, floating.
      alpha: smoothing in ``[0, 1]``.
      axis: class axis or axes; :math:`K` is their size.
      where: optional boolean mask of ``labels``'s shape; :math:`K` counts the included
        classes (optax semantics).

    Returns:
      Smoothed labels, the shape and dtype of ``labels``.

    References:
      optax ``smooth_labels``; Müller et al., "When does label smoothing help?", 2019.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import smooth_labels
      >>> smooth_labels(jnp.array([1.0, 0.0, 0.0, 0.0]), 0.2)
      Array([0.85, 0.05, 0.05, 0.05], dtype=float32)
    """
    labels = _checks.as_float("labels", labels)
    _checks.check_scalar_range("alpha", alpha, low=0.0, high=1.0)
    axes = _checks.normalize_axes("axis", axis, labels.ndim)
    if where is None:
        k = float(np.prod([labels.shape[a] for a in axes]))
    else:
        where = _checks.broadcast_to("where", _checks.as_bool("where", where), labels.shape)
        k = jnp.sum(where, axis=axes, keepdims=True).astype(labels.dtype)
    # `labels` is a jax.Array, so the result is one (numpy defers to jax arrays); pyright types
    # `(1.0 - alpha) * labels` as a numpy array when `alpha` (ArrayLike) may be one.
    smoothed = cast(jax.Array, (1.0 - alpha) * labels + alpha / k)
    return smoothed.astype(labels.dtype)


# ---------------------------------------------------------------------------------------------
# helpers


def _tempered(name: str, x: ArrayLike, temperature: ArrayLike) -> tuple[jax.Array, jnp.dtype]:
    """x / temperature in the compute dtype (at least float32), and the dtype to return."""
    x = _checks.as_float(name, x)
    _checks.check_positive("temperature", temperature)
    return x.astype(_checks.compute_dtype(x.dtype)) / temperature, x.dtype
