"""Numerical building blocks shared by the families (singular points handled once, here)."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def abs_zero_grad(x: jax.Array) -> jax.Array:
    """``|x|`` whose gradient is ``sign(x)``: 0 at ``x == 0`` (``jnp.abs`` gives 1 there).

    This is the subgradient torch's ``l1_loss`` and ``abs`` use.
    """
    return x * jnp.sign(x)


def safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(x)`` for ``x >= 0``, equal to 0 with a zero gradient at ``x <= 0`` (double where)."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), 0)
