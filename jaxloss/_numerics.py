"""Numerical building blocks shared by the families (singular points handled once, here)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


@jax.custom_jvp
def abs_zero_grad(x: jax.Array) -> jax.Array:
    """``|x|`` whose gradient is ``sign(x)``: 0 at ``x == 0`` (``jnp.abs`` gives 1 there).

    This is the subgradient torch's ``l1_loss`` and ``abs`` use. The primal is ``jnp.abs``
    (one instruction, fused into the surrounding reduction); only the tangent uses ``sign``.
    """
    return jnp.abs(x)


@abs_zero_grad.defjvp
def _abs_zero_grad_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return jnp.abs(x), jnp.sign(x) * t


def safe_sqrt(x: jax.Array) -> jax.Array:
    """``sqrt(x)`` for ``x >= 0``, equal to 0 with a zero gradient at ``x <= 0`` (double where)."""
    positive = x > 0
    return jnp.where(positive, jnp.sqrt(jnp.where(positive, x, 1)), 0)


@jax.custom_jvp
def sigmoid_pair(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(sigmoid(x), sigmoid(-x))``, each to full relative accuracy, from one ``exp``.

    With ``e = exp(-|x|)`` and ``r = 1 / (1 + e) = sigmoid(|x|)``: the side of the sign of
    ``x`` is ``r`` and the other is ``e * r``. The choice is an arithmetic blend on
    ``sign(x)`` rather than a select, so the pair fuses into a surrounding reduction on XLA:CPU
    (a select forces the per-element values into memory there). The derivative is
    ``sigmoid(x) * sigmoid(-x)`` everywhere, including ``x == 0``.
    """
    e = jnp.exp(-jnp.abs(x))
    r = 1 / (1 + e)
    negative = 0.5 - 0.5 * jnp.sign(x)  # 1 for x < 0, 0 for x > 0, 1/2 at 0 (where e == 1)
    return r * (negative * e + (1 - negative)), r * ((1 - negative) * e + negative)


@sigmoid_pair.defjvp
def _sigmoid_pair_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    pos, neg = sigmoid_pair(x)
    slope = pos * neg * t
    return (pos, neg), (slope, -slope)


@jax.custom_jvp
def softplus_pair(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(softplus(x), softplus(-x))`` from one ``exp`` and one ``log1p``.

    Both share ``log1p(exp(-|x|))``: ``softplus(±x) = max(±x, 0) + log1p(exp(-|x|))``, exact
    for every ``x`` (no cancellation at large ``|x|``). The pieces ``max`` and ``|x|`` have kinks
    at 0 that cancel in the sum, but their derivatives there (a half for ``max``, one for
    ``|x|`` in jax) do not cancel, so the derivative is given here instead:
    ``(sigmoid(x), -sigmoid(-x))``, continuous everywhere and itself differentiable
    (through :func:`sigmoid_pair`), so Hessians are right at ``x == 0`` too.
    """
    shared = jnp.log1p(jnp.exp(-jnp.abs(x)))
    return jnp.maximum(x, 0) + shared, jnp.maximum(-x, 0) + shared


@softplus_pair.defjvp
def _softplus_pair_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    pos, neg = sigmoid_pair(x)
    return softplus_pair(x), (pos * t, -neg * t)


def safe_divide(numerator: jax.Array, denominator: jax.Array) -> jax.Array:
    """``numerator / denominator``, and 1 with a zero gradient where the denominator is 0.

    Both operands are first divided by the denominator's value held constant
    (``stop_gradient``), so the division autodiff sees is by a number near 1: its derivative
    ``-n / d**2`` would otherwise square a small denominator, which underflows to 0 in
    float32 below about 1e-19 (a confident softmax gives class sums of 1e-26) and turns a
    finite derivative into ``0 / 0``. The value is the same quotient (``d / d`` is exactly 1).
    """
    zero = denominator == 0
    safe = jnp.where(zero, 1, denominator)
    scale = jax.lax.stop_gradient(safe)
    # The barrier keeps XLA from folding (n / s) / (d / s) back into n * s / (d * s), whose
    # d * s underflows to 0 just like d**2.
    n, d = jax.lax.optimization_barrier((numerator / scale, safe / scale))
    return jnp.where(zero, 1, n / d)


def vector_norm(
    v: jax.Array, axis: Any = -1, *, floor: Any = 0.0, where: Any = None, keepdims: bool = False
) -> jax.Array:
    """``sqrt(max(sum(v**2 over axis), floor))``, 0 with a zero gradient where that is 0.

    `floor` bounds the *squared* norm below (optax's cosine ``epsilon``; torch's
    ``max(|v|, eps)`` is ``floor=eps**2``). `where` masks entries out of the sum.
    """
    squared = jnp.sum(jnp.square(v), axis=axis, where=where, keepdims=keepdims)
    return safe_sqrt(jnp.maximum(squared, floor))


def unit_normalize(
    v: jax.Array, axis: Any = -1, *, floor: Any = 0.0, offset: Any = 0.0, where: Any = None
) -> jax.Array:
    """``v / (vector_norm(v, floor=floor) + offset)`` along `axis`: the one unit-vector helper.

    The two places a small constant can enter are both here: `floor` on the squared norm
    (optax, torch) and `offset` added to the norm (LPIPS's ``v / (|v| + eps)``). A zero
    denominator (a zero vector with ``floor == offset == 0``) gives 0 with a finite gradient.
    """
    norm = vector_norm(v, axis, floor=floor, where=where, keepdims=True) + offset
    positive = norm > 0
    return v / jnp.where(positive, norm, 1)


def inverse_norm(v: jax.Array, axis: Any = -1, *, floor: Any = 0.0) -> jax.Array:
    """``1 / sqrt(max(sum(v**2 over axis), floor))`` (an ``rsqrt``), 0 where that is 0."""
    squared = jnp.maximum(jnp.sum(jnp.square(v), axis=axis), floor)
    positive = squared > 0
    return jnp.where(positive, jax.lax.rsqrt(jnp.where(positive, squared, 1)), 0)


def centered(v: jax.Array, axes: Any) -> jax.Array:
    """``v`` minus its mean over `axes`; a constant vector is centred to exact zeros.

    The computed mean may differ from equal entries by an ulp, which would otherwise give a
    correlation of +-1 from rounding alone.
    """
    constant = jnp.max(v, axis=axes, keepdims=True) == jnp.min(v, axis=axes, keepdims=True)
    return jnp.where(constant, 0, v - jnp.mean(v, axis=axes, keepdims=True))


def ratio_or(numerator: jax.Array, denominator: jax.Array, default: Any) -> jax.Array:
    """``numerator / denominator`` where the denominator is positive, else `default` (double
    where: the gradient is finite everywhere)."""
    positive = denominator > 0
    return jnp.where(positive, numerator / jnp.where(positive, denominator, 1), default)


def varying_axes(x: jax.Array) -> frozenset:
    """The ``shard_map`` mesh axes over which `x` varies (empty outside ``shard_map``)."""
    aval = jax.typeof(x)
    # jax >= 0.9 keeps the varying axes in `aval.mat.varying`; earlier versions in `aval.vma`.
    if hasattr(aval, "mat"):
        return aval.mat.varying
    return getattr(aval, "vma", frozenset())


def match_varying(x: jax.Array, *like: jax.Array) -> jax.Array:
    """`x` marked device-varying over every axis any of `like` varies over.

    A loop's initial carry built from constants must vary like the values the loop body
    computes from its varying inputs (``shard_map`` checks that carries keep their type).
    """
    return vary_over(x, frozenset().union(*(varying_axes(a) for a in like)))


def vary_over(x: jax.Array, axes) -> jax.Array:
    """`x` marked device-varying over the mesh `axes` (those it does not vary over yet).

    ``pcast(..., to="varying")`` transposes to a ``psum``: the cotangent of a replicated value
    used with device-varying ones comes back summed over the axes it is replicated across.
    """
    missing = tuple(a for a in axes if a not in varying_axes(x))
    return jax.lax.pcast(x, missing, to="varying") if missing else x
