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
    from jax.sharding import PartitionSpec as P

    assert jax.device_count() == 4, jax.devices()
    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(0)
    p, t = pair(rng, (8, 3), np.float32)
    w = rng.uniform(0.5, 2.0, (8, 3)).astype(np.float32)
    mask = np.ones((8, 3), bool)
    mask[2:4] = False  # device 1 counts nothing
    mask[5, 1] = False
    reductions = ("mean", "sum", "sum_and_count")

    def all_losses(a, b, m, v, axis_name=None):
        return {
            (name, r): fn(a, b, where=m, weights=v, reduction=r, axis_name=axis_name)
            for name, fn in fns.items()
            for r in reductions
        }

    def total(out):
        return sum(jnp.sum(jnp.stack(jax.tree.leaves(x))) for x in out.values())

    sharded = jax.shard_map(
        functools.partial(all_losses, axis_name="data"),
        mesh=mesh,
        in_specs=(P("data"),) * 4,
        out_specs=P(),
    )
    args = (p, t, mask, w)
    expected, got = jax.jit(all_losses)(*args), jax.jit(sharded)(*args)
    g_expected = jax.jit(jax.grad(lambda *a: total(all_losses(*a)), argnums=(0, 1)))(*args)
    g_got = jax.jit(jax.grad(lambda *a: total(sharded(*a)), argnums=(0, 1)))(*args)
    for key in expected:
        np.testing.assert_allclose(
            np.asarray(jax.tree.leaves(got[key])),
            np.asarray(jax.tree.leaves(expected[key])),
            rtol=1e-5,
            err_msg=str(key),
        )
    for a, b in zip(g_got, g_expected, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    print(f"checked {len(expected)} configurations")
