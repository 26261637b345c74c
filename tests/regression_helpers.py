"""Helpers shared by the regression families' tests (test_regression, test_mean_errors).

Each check takes the function under test, so the two test files parametrize over their own
functions and share one body for the checks that apply to both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.experimental import checkify

from tests.multidevice import assert_reductions_global


def pair(rng: np.random.Generator, shape, dtype=np.float32, scale: float = 2.0):
    """Random ``(predictions, targets)`` of `shape`, normal with standard deviation `scale`."""
    return (
        (scale * rng.standard_normal(shape)).astype(dtype),
        (scale * rng.standard_normal(shape)).astype(dtype),
    )


def check_dtype_follows_inputs(rng: np.random.Generator, fn: Callable, dtype) -> None:
    """The result has the dtype of the inputs; integer targets take the predictions' dtype."""
    p, t = pair(rng, (5,), np.float32, scale=0.5)
    out = fn(jnp.asarray(p, dtype), jnp.asarray(t, dtype))
    assert out.dtype == dtype
    # Integer targets take the dtype of the predictions.
    assert fn(jnp.asarray(p, dtype), jnp.arange(5)).dtype == dtype
    # Mixed floating dtypes promote.
    assert fn(jnp.asarray(p, jnp.float16), jnp.asarray(t, jnp.float32)).dtype == jnp.float32


def check_bad_inputs_raise(fn: Callable) -> None:
    """Non-floating predictions, mismatched or non-numeric targets, an unknown reduction."""
    with pytest.raises(TypeError, match="`predictions`"):
        fn(jnp.arange(3), jnp.zeros(3))
    with pytest.raises(TypeError, match="`predictions`"):
        fn(jnp.arange(3))
    with pytest.raises(ValueError, match=r"`predictions` \(3,\).*`targets` \(4,\)"):
        fn(jnp.zeros(3), jnp.zeros(4))
    with pytest.raises(ValueError, match="`targets`"):
        fn(jnp.zeros((3, 1)), jnp.zeros(3))
    with pytest.raises(TypeError, match="`targets`"):
        fn(jnp.zeros(3), jnp.zeros(3, bool))
    with pytest.raises(ValueError, match="reduction"):
        fn(jnp.zeros(3), reduction="average")


def check_negative_weights_raise(fn: Callable) -> None:
    """Negative entry weights raise under checkify (jit) and eagerly; masked ones are free."""
    p, t = jnp.array([[1.0, 2.0], [0.5, -1.0]]), jnp.zeros((2, 2))
    good, bad = jnp.array([[1.0, 0.5], [2.0, 0.0]]), jnp.array([[1.0, 0.5], [-2.0, 0.0]])
    mean = functools.partial(fn, reduction="mean")
    checked = checkify.checkify(jax.jit(mean), errors=checkify.user_checks)
    err, _ = checked(p, t, weights=bad)
    assert "`weights`" in (err.get() or "")
    err, value = checked(p, t, weights=good)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(mean)(p, t, weights=good))
    with pytest.raises(ValueError, match="`weights`"):
        mean(p, t, weights=bad)
    # A masked negative weight is free.
    where = jnp.array([[True, True], [False, True]])
    err, _ = checked(p, t, weights=bad, where=where)
    assert err.get() is None


def check_global_reductions_on_4_devices(fns: dict[str, Callable]) -> None:
    """Each of `fns` inside ``shard_map`` with ``axis_name`` equals one device.

    Every function is called as ``fn(p, t, where=m, weights=v, reduction=r, axis_name=...)``
    on ``[8, 3]`` inputs split over 4 devices (device 1 counts nothing); values and gradients
    of ``"mean"``, ``"sum"`` and ``"sum_and_count"`` are compared. Prints the number of
    configurations checked.
    """
    rng = np.random.default_rng(0)
    p, t = pair(rng, (8, 3), np.float32)
    w = rng.uniform(0.5, 2.0, (8, 3)).astype(np.float32)
    mask = np.ones((8, 3), bool)
    mask[2:4] = False  # device 1 counts nothing
    mask[5, 1] = False
    assert_reductions_global(fns, (p, t, mask, w))
