"""Numerical building blocks shared by the families (singular points handled once, here)."""

from __future__ import annotations

import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np


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


@jax.custom_jvp
def sqrt_of_nonnegative(x: jax.Array) -> jax.Array:
    """``sqrt(max(x, 0))`` with a zero derivative at ``x <= 0``, as `safe_sqrt`, with the
    guard in the tangent rule only.

    The primal is two instructions that stay inside their fusion; `safe_sqrt`'s selects in
    the forward pass split fusions on XLA:CPU (in LPIPS's channel norms, whose backward is
    written out, they cost 0.12 s of compile time). Its second derivative is finite at 0
    too (the tangent rule is double-guarded).
    """
    return jnp.sqrt(jnp.maximum(x, 0))


@sqrt_of_nonnegative.defjvp
def _sqrt_of_nonnegative_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    positive = x > 0
    slope = jnp.where(positive, 0.5 * jax.lax.rsqrt(jnp.where(positive, x, 1)), 0)
    return sqrt_of_nonnegative(x), slope * t


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


def sorted_with_order(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(ordered, order)`` for signed-integer `keys`: the keys sorted ascending along the
    last axis and the permutation that sorts them (``ordered = take_along_axis(keys, order)``;
    int32). Equal keys come in an unspecified order: callers must treat tied keys alike.

    On CPU the sort runs in numpy through ``jax.pure_callback``: numpy sorts 32- and 64-bit
    integers with SIMD kernels (x86-simd-sort on AVX2/AVX-512, highway on Arm) where
    XLA:CPU runs a scalar ``std::sort`` per row, one row after another. 168 rows of 16384
    int32 keys on the 2-core AVX-512 development machine: XLA's sort of the keys alone
    104 ms, this function (the permutation included) 20-25 ms, torch 61 ms at 2 threads. A
    32-bit key carries its index in the low half of one int64, so one sort gives both; the
    result goes back as the ``[..., N, 2]`` int32 halves of the sorted int64s (no copy in
    numpy), split by XLA. A 64-bit key is argsorted. Elsewhere (GPU, TPU) it is one
    ``lax.sort`` with the index as a second operand.

    Inside ``shard_map`` each device sorts its own rows. Under GSPMD (``jax.jit`` on sharded
    arrays) XLA cannot split a callback: it gathers the keys to one device, sorts there and
    scatters the result back (correct; XLA logs an "involuntary full rematerialization").
    """
    if keys.shape[-1] >= 2**31:
        raise ValueError(f"rows of at most 2**31 - 1 keys are sorted; got {keys.shape[-1]}.")
    return jax.lax.platform_dependent(keys, cpu=_host_sorted_with_order, default=_sorted_with_order)


def unpermute(values: jax.Array, order: jax.Array, *, flat_limit: int = 2**31) -> jax.Array:
    """The inverse of ``take_along_axis(x, order, -1)`` for a permutation `order` along the
    last axis: ``out[..., order[..., p]] = values[..., p]`` (one scatter of unique indices).

    The scatter is into the flattened array (2x faster on XLA:CPU than a scatter per row)
    while its int32 indices cannot overflow, i.e. below `flat_limit` elements; larger
    arrays are scattered row by row.
    """
    n = values.shape[-1]
    rows = values.size // max(n, 1)
    if values.size >= flat_limit:
        put = jax.vmap(lambda v, o: jnp.zeros_like(v).at[o].set(v, unique_indices=True))
        flat_rows = put(values.reshape(rows, n), order.reshape(rows, n))
        return flat_rows.reshape(values.shape)
    offsets = (jnp.arange(rows, dtype=order.dtype) * n).reshape(*values.shape[:-1], 1)
    flat = jnp.zeros((values.size,), values.dtype)
    flat = flat.at[(order + offsets).reshape(-1)].set(
        values.reshape(-1), mode="promise_in_bounds", unique_indices=True
    )
    return flat.reshape(values.shape)


def _sorted_with_order(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`sorted_with_order` with XLA's sort (the non-CPU path)."""
    axis = keys.ndim - 1
    position = jax.lax.broadcasted_iota(jnp.int32, keys.shape, axis)
    ordered, order = jax.lax.sort((keys, position), dimension=axis, num_keys=1)
    return ordered, order


def _host_sorted_with_order(keys: jax.Array) -> tuple[jax.Array, jax.Array]:
    """`sorted_with_order` in numpy (the CPU path). Inside ``shard_map`` the callback's
    results vary over the mesh axes the keys vary over."""
    if keys.dtype.itemsize == 4 and sys.byteorder == "little":
        halves = jax.ShapeDtypeStruct((*keys.shape, 2), jnp.int32)
        packed = jax.pure_callback(_numpy_packed_sort, halves, keys, vmap_method="expand_dims")
        packed = match_varying(packed, keys)
        return jax.lax.bitcast_convert_type(packed[..., 1], keys.dtype), packed[..., 0]
    shapes = (
        jax.ShapeDtypeStruct(keys.shape, keys.dtype),
        jax.ShapeDtypeStruct(keys.shape, jnp.int32),
    )
    ordered, order = jax.pure_callback(_numpy_argsort, shapes, keys, vmap_method="expand_dims")
    return match_varying(ordered, keys), match_varying(order, keys)


def _numpy_packed_sort(keys: Any) -> np.ndarray:
    """32-bit keys sorted with their indices: ``[..., N, 2]`` int32 (index, key) pairs, the
    little-endian halves of ``key << 32 | index`` sorted as int64."""
    keys = np.asarray(keys)
    packed = keys.astype(np.int64)
    packed <<= 32
    packed |= np.arange(keys.shape[-1], dtype=np.int64)
    packed.sort(axis=-1)
    return packed.view(np.int32).reshape(*keys.shape, 2)


def _numpy_argsort(keys: Any) -> tuple[np.ndarray, np.ndarray]:
    keys = np.asarray(keys)
    order = np.argsort(keys, axis=-1).astype(np.int32)
    return np.take_along_axis(keys, order, -1), order


def sort_last(x: jax.Array) -> jax.Array:
    """``jnp.sort(x, axis=-1)``, bit for bit, with one integer sort on XLA:CPU.

    Why: ``jnp.sort`` of floats compares with a total order built from several operations,
    which XLA:CPU runs as a generic comparator called per comparison (4096 float32: 0.6-0.9
    ms); one signed-integer operand with a plain less-than takes its fast path (0.1 ms), as
    numpy-class sorts do. So each float becomes an integer key of its width (float16 and
    bfloat16: int16, float32: int32, float64: int64): its bits with the magnitude bits
    flipped when the sign bit is set (``bits ^ ((bits >> (nbits - 1)) & intmax)``), whose
    order is the floats' order, after the two identifications ``jnp.sort``'s comparator makes:
    ``-0.0`` is keyed as ``+0.0`` (so are values that compare equal to 0) and every NaN as one
    NaN, above ``+inf``. The sorted keys map back through the same map (an involution).

    Equality with ``jnp.sort``: the keys give its order; the values they map back to are the
    input's own bits except where a key stands for several bit patterns (``-0.0`` beside
    ``+0.0``, NaNs with other signs or payloads). Inputs holding such values (detected with one
    comparison per element) have those runs rewritten with the input's values in input order,
    as ``jnp.sort``'s stable sort leaves them. Non-floating inputs go to ``jnp.sort``.

    Gradient: ``jnp.sort``'s own rule: the tangent is permuted by the stable sorting
    permutation (ties in input order), so gradients at ties are ``jnp.sort``'s. The
    permutation comes from integer sorts too: the key with the index packed in its low bits,
    in one pass where both fit in the widest integer (16- and 32-bit floats with
    ``jax_enable_x64``, 16-bit floats up to 65536 samples without), else in two or more
    radix passes (`_stable_order`).
    """
    floating = jnp.issubdtype(x.dtype, jnp.floating) and x.dtype.itemsize in _KEY_TYPES
    if not floating or x.size == 0:
        return jnp.sort(x, axis=-1)
    return _sort_floats(x)


_KEY_TYPES = {2: jnp.int16, 4: jnp.int32, 8: jnp.int64}


@jax.custom_jvp
def _sort_floats(x: jax.Array) -> jax.Array:
    """`sort_last` of floats (its primal)."""
    keys, raw = _sort_keys(x)
    ordered = _from_keys(jax.lax.sort(keys, dimension=x.ndim - 1), x.dtype)
    # Where no key stands for a value other than the input's own, the sorted keys are exact.
    exact = jnp.all(keys == raw)
    return jax.lax.cond(exact, lambda: ordered, lambda: _restore_runs(x, keys, ordered))


@_sort_floats.defjvp
def _sort_floats_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    order = _stable_order(_sort_keys(x)[0])
    return jnp.take_along_axis(x, order, -1), jnp.take_along_axis(t, order, -1)


def order_bits(bits: jax.Array) -> jax.Array:
    """The float-to-ordered-integer map on a float's bits, signed integers of its width: the
    integers' order is the floats' order (for non-NaN floats, ``-0.0`` just below ``+0.0``).
    The map flips the magnitude bits where the sign bit is set and is its own inverse."""
    top = jnp.iinfo(bits.dtype).max
    return bits ^ ((bits >> (8 * bits.dtype.itemsize - 1)) & top)


def _nan_key(dtype: Any) -> int:
    """The key of every NaN: the bits of the positive quiet NaN (unchanged by the map)."""
    return int(np.array(np.nan, dtype).view(np.dtype(_KEY_TYPES[np.dtype(dtype).itemsize])))


def _sort_keys(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(keys, raw)``: the sort keys of `x` (zeros and NaNs identified) and the map of its
    own bits (they differ only at ``-0.0``, values equal to 0 and non-canonical NaNs)."""
    raw = order_bits(jax.lax.bitcast_convert_type(x, _KEY_TYPES[x.dtype.itemsize]))
    keys = jnp.where(jnp.isnan(x), _nan_key(x.dtype), jnp.where(x == 0, 0, raw))
    return keys.astype(raw.dtype), raw


def _from_keys(keys: jax.Array, dtype: Any) -> jax.Array:
    """The floats whose keys are `keys`."""
    return jax.lax.bitcast_convert_type(order_bits(keys), dtype)


def _restore_runs(x: jax.Array, keys: jax.Array, ordered: jax.Array) -> jax.Array:
    """`ordered` with its runs of zeros and of NaNs replaced by the input's zeros and NaNs in
    input order (a stable sort's order of equal keys)."""
    n = x.shape[-1]
    zero, nan = keys == 0, keys == _nan_key(x.dtype)
    zero_start = jnp.sum(keys < 0, axis=-1, keepdims=True)
    nan_start = n - jnp.sum(nan, axis=-1, keepdims=True)
    target = jnp.where(
        zero,
        zero_start + jnp.cumsum(zero, axis=-1) - 1,
        jnp.where(nan, nan_start + jnp.cumsum(nan, axis=-1) - 1, n),  # n: dropped
    )
    put = jax.vmap(lambda out, at, values: out.at[at].set(values, mode="drop"))
    flat = put(ordered.reshape(-1, n), target.reshape(-1, n), x.reshape(-1, n))
    return flat.reshape(x.shape)


def _stable_order(keys: jax.Array) -> jax.Array:
    """The stable ascending permutation of the signed integer `keys` along the last axis
    (int32 indices), from single-operand integer sorts.

    Each sort orders a digit of the key (in the high bits) with the position in the order so
    far (in the low bits): distinct integers, sorted on XLA:CPU's fast path. Digits are taken
    least significant first (a radix sort whose passes are stable), as wide as the widest
    integer leaves beside the position: one pass for 16- and 32-bit keys with x64, two for
    float32 without x64 up to 65536 samples or for float64.
    """
    n, axis = keys.shape[-1], keys.ndim - 1
    index_bits = max(n - 1, 1).bit_length()
    key_bits = 8 * keys.dtype.itemsize
    wide = jax.dtypes.canonicalize_dtype(jnp.int64)
    digit_bits = 8 * wide.itemsize - index_bits
    # The keys as unsigned integers of the same order (sign bit flipped).
    uint = np.dtype(f"uint{key_bits}")
    unsigned = jax.lax.bitcast_convert_type(keys, uint) ^ np.array(1 << (key_bits - 1), uint)
    position = jax.lax.broadcasted_iota(wide, keys.shape, axis)
    order = None
    for shift in range(0, key_bits, digit_bits):
        bits = min(digit_bits, key_bits - shift)
        digit = unsigned >> shift
        if bits < key_bits - shift:
            digit = digit & np.array((1 << bits) - 1, uint)
        # Centred on 0 so that the digit shifted above the position fits a signed integer.
        digit = digit.astype(wide) - (1 << (bits - 1))
        if order is not None:
            digit = jnp.take_along_axis(digit, order, -1)
        packed = jax.lax.sort((digit << index_bits) | position, dimension=axis)
        step = (packed & ((1 << index_bits) - 1)).astype(jnp.int32)
        order = step if order is None else jnp.take_along_axis(order, step, -1)
    assert order is not None
    return order
