"""Tests of the shared numerical building blocks of `jaxloss._numerics`.

`sort_last` is compared with `jnp.sort` itself (the function it replaces, not a copy of it: a
different algorithm), bit for bit, on values where a float sort has singular points: ties,
both zeros, both infinities, NaNs of either sign and with a payload, subnormals.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from jax.sharding import Mesh, PartitionSpec

from jaxloss import _numerics
from jaxloss._numerics import sort_last

DTYPES = {
    "float16": np.float16,
    "bfloat16": ml_dtypes.bfloat16,
    "float32": np.float32,
    "float64": np.float64,
}


def _bits(a) -> np.ndarray:
    a = np.asarray(a)
    return a.view(np.dtype(f"int{8 * a.dtype.itemsize}"))


def _awkward(dtype, shape, rng) -> np.ndarray:
    """Draws from a small pool (many ties) holding both zeros, both infinities, a subnormal,
    and NaNs of both signs, one with a payload."""
    info = ml_dtypes.finfo(dtype)
    pool = np.array(
        [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, np.inf, -np.inf, np.nan, -np.nan, 1.0, 0.0],
        np.float64,
    ).astype(dtype)
    pool = np.concatenate([pool, np.array([info.smallest_subnormal], dtype)])
    payload = _bits(np.array([np.nan], dtype)).copy()
    payload |= 1  # a quiet NaN with its lowest mantissa bit set
    pool = np.concatenate([pool, payload.view(dtype)])
    return rng.choice(pool, size=shape)


def _both(x, t, w):
    """Value, gradient of a weighted sum, JVP and vmapped value of `sort_last` and `jnp.sort`."""

    def out(sort):
        batched = jax.vmap(sort)(x)
        grad = jax.grad(lambda v: jnp.sum(w * sort(v)))(x)
        primal, tangent = jax.jvp(sort, (x,), (t,))
        vmapped_grad = jax.vmap(jax.grad(lambda v, u: jnp.sum(u * sort(v))))(x, w)
        return sort(x), batched, grad, primal, tangent, vmapped_grad

    return out(sort_last), out(lambda v: jnp.sort(v, axis=-1))


@pytest.mark.parametrize("name", DTYPES)
def test_sort_last_equals_jnp_sort_bit_for_bit(name, rng):
    dtype = DTYPES[name]
    x = _awkward(dtype, (5, 37), rng)
    t = rng.standard_normal((5, 37)).astype(dtype)
    w = rng.standard_normal((5, 37)).astype(dtype)
    ours, reference = jax.jit(_both)(x, t, w)
    labels = ("value", "vmapped value", "gradient", "JVP primal", "JVP tangent", "vmapped grad")
    for label, a, b in zip(labels, ours, reference, strict=True):
        assert a.dtype == b.dtype == dtype, label
        np.testing.assert_array_equal(_bits(a), _bits(b), err_msg=f"{name} {label}")


@pytest.mark.parametrize("name", ["float16", "float32"])
def test_sort_last_without_x64(name, rng):
    # Without x64 the sorting permutation of the JVP comes from int32 sorts: one pass for
    # float16 up to 65536 samples, two for float32 and for a longer float16 row. (float64,
    # above, takes two int64 passes; float16, bfloat16 and float32 there one.)
    dtype = DTYPES[name]
    with jax.enable_x64(False):
        for shape in [(3, 29), (1, 70_001)] if name == "float16" else [(3, 29)]:
            x = _awkward(dtype, shape, rng)
            t = rng.standard_normal(shape).astype(dtype)
            w = rng.standard_normal(shape).astype(dtype)
            ours, reference = jax.jit(_both)(x, t, w)
            for a, b in zip(ours, reference, strict=True):
                np.testing.assert_array_equal(_bits(a), _bits(b), err_msg=f"{name} {shape}")


def test_sort_last_plain_arrays_and_other_dtypes(rng):
    # Without singular values the sorted keys are exact (no rewritten runs); integers and
    # empty rows fall back to jnp.sort.
    x = rng.standard_normal((4, 1000)).astype(np.float32)
    ints = rng.integers(-5, 5, (3, 17)).astype(np.int32)
    empty = np.zeros((3, 0), np.float32)
    for a in (x, ints, empty):
        ours, reference = jax.jit(lambda v: (sort_last(v), jnp.sort(v, axis=-1)))(a)
        assert ours.dtype == reference.dtype
        np.testing.assert_array_equal(_bits(ours), _bits(reference))


def test_sort_last_inside_shard_map(rng):
    mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))
    spec = PartitionSpec("batch")
    x = _awkward(np.float32, (2, 23), rng)
    w = rng.standard_normal((2, 23)).astype(np.float32)

    def per_device(v, u):
        return sort_last(v), jax.grad(lambda z: jnp.sum(u * sort_last(z)))(v)

    sharded = jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=spec, out_specs=spec))
    value, grad = sharded(x, w)
    reference = jax.jit(
        lambda v, u: (jnp.sort(v), jax.grad(lambda z: jnp.sum(u * jnp.sort(z)))(v))
    )(x, w)
    np.testing.assert_array_equal(_bits(value), _bits(reference[0]))
    np.testing.assert_array_equal(_bits(grad), _bits(reference[1]))


def test_sqrt_of_nonnegative_matches_safe_sqrt_to_second_order():
    """`sqrt_of_nonnegative` (guard in the tangent rule) and `safe_sqrt` (double where) agree
    in value, first and second derivative (to an ulp: an rsqrt against a sqrt), on both sides
    of 0 and exactly at 0 (one jitted call)."""
    x = jnp.array([-2.0, -1e-30, 0.0, 1e-30, 1e-6, 0.5, 4.0])

    def derivatives(fn):
        first = jax.vmap(jax.grad(fn))
        return fn(x), first(x), jax.vmap(jax.grad(jax.grad(fn)))(x)

    ours, reference = jax.jit(
        lambda: (derivatives(_numerics.sqrt_of_nonnegative), derivatives(_numerics.safe_sqrt))
    )()
    for a, b in zip(ours, reference, strict=True):
        assert np.all(np.isfinite(a))
        np.testing.assert_allclose(a, b, rtol=1e-15, atol=0)
    for a in ours:
        np.testing.assert_array_equal(a[:3], 0.0)


def test_sorted_with_order_both_paths_match_numpy(rng):
    """`sorted_with_order` (numpy through a callback on CPU) and its XLA path (used off CPU,
    called directly here) give numpy's sorted keys and a permutation that sorts them, for
    int32 and int64 keys with ties, under vmap and inside shard_map (one jitted call); and
    `unpermute` undoes the permutation."""
    k32 = rng.integers(-50, 50, (3, 4, 37)).astype(np.int32)  # many ties
    k32[0, 0] = np.iinfo(np.int32).max  # the extremes pack and unpack
    k32[0, 1] = np.iinfo(np.int32).min
    k64 = rng.integers(-(2**40), 2**40, (5, 19)).astype(np.int64)
    mesh = Mesh(np.array(jax.devices()[:1]), ("batch",))
    spec = PartitionSpec("batch")
    values = rng.standard_normal(k32.shape)

    @jax.jit
    def program(k32, k64, values):
        sharded = jax.shard_map(
            _numerics.sorted_with_order, mesh=mesh, in_specs=spec, out_specs=(spec, spec)
        )
        ordered, order = _numerics.sorted_with_order(k32)
        return {
            "host32": (ordered, order),
            "host64": _numerics.sorted_with_order(k64),
            "xla32": _numerics._sorted_with_order(k32),
            "xla64": _numerics._sorted_with_order(k64),
            "vmap32": jax.vmap(_numerics.sorted_with_order)(k32),
            "shard32": sharded(k32),
            "unpermuted": _numerics.unpermute(jnp.take_along_axis(values, order, -1), order),
            "unpermuted by rows": _numerics.unpermute(  # the path of >= 2**31 elements
                jnp.take_along_axis(values, order, -1), order, flat_limit=0
            ),
        }

    out = program(k32, k64, values)
    for name, keys in [("host32", k32), ("xla32", k32), ("vmap32", k32), ("shard32", k32),
                       ("host64", k64), ("xla64", k64)]:  # fmt: skip
        ordered, order = (np.asarray(a) for a in out[name])
        assert ordered.dtype == keys.dtype and order.dtype == np.int32, name
        np.testing.assert_array_equal(ordered, np.sort(keys, axis=-1), err_msg=name)
        np.testing.assert_array_equal(np.take_along_axis(keys, order, -1), ordered, err_msg=name)
        np.testing.assert_array_equal(np.sort(order, -1), np.broadcast_to(
            np.arange(keys.shape[-1]), keys.shape), err_msg=name)  # fmt: skip
    np.testing.assert_array_equal(out["unpermuted"], values)
    np.testing.assert_array_equal(out["unpermuted by rows"], values)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="the CPU path")
def test_sorted_with_order_sorts_in_numpy_on_cpu():
    """On CPU the compiled program hands the sort to numpy (a Python callback) and holds no
    XLA sort: the fast path cannot silently fall back to XLA:CPU's scalar sort."""
    keys = jnp.zeros((3, 5), jnp.int32)
    text = jax.jit(_numerics.sorted_with_order).lower(keys).compile().as_text()
    assert "python_cpu_callback" in text
    assert " sort(" not in text
