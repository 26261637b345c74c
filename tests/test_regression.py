"""Reference tests for jaxloss.regression (the elementwise losses).

Oracles: optax.losses (squared_error, l2_loss, huber_loss, log_cosh), torch.nn.functional
(mse_loss, l1_loss, huber_loss, smooth_l1_loss, their autograd) and float64 numpy formulas
written from the definitions cited in each test. The mean errors are in test_mean_errors.py;
the checks both share are in tests/regression_helpers.py.
"""

from __future__ import annotations

import functools

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import jaxloss
from tests.regression_helpers import (
    check_bad_inputs_raise,
    check_dtype_follows_inputs,
    check_global_reductions_on_4_devices,
    check_negative_weights_raise,
    pair,
)

SHAPES = [(7,), (2, 3, 4)]
ELEMENTWISE = [
    jaxloss.squared_error,
    jaxloss.l2_loss,
    jaxloss.absolute_error,
    jaxloss.huber_loss,
    jaxloss.smooth_l1_loss,
    jaxloss.pseudo_huber_loss,
    jaxloss.log_cosh,
]


def _grad(fn, x, **kwargs):
    return jax.grad(lambda p: jnp.sum(fn(p, **kwargs)))(x)


# optax parity -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "ours,theirs,kwargs",
    [
        (jaxloss.squared_error, optax.losses.squared_error, {}),
        (jaxloss.l2_loss, optax.losses.l2_loss, {}),
        (jaxloss.huber_loss, optax.losses.huber_loss, {"delta": 1.0}),
        (jaxloss.huber_loss, optax.losses.huber_loss, {"delta": 0.3}),
        (jaxloss.huber_loss, optax.losses.huber_loss, {"delta": 2.5}),
        (jaxloss.log_cosh, optax.losses.log_cosh, {}),
    ],
)
def test_agrees_with_optax(rng, shape, ours, theirs, kwargs):
    p, t = pair(rng, shape)

    @jax.jit  # one program: with and without targets, and the gradients, ours and optax's
    def program(p, t):
        return [
            (fn(p, t, **kwargs), fn(p, **kwargs), _grad(fn, p, targets=t, **kwargs))
            for fn in (ours, theirs)
        ]

    for a, e in zip(*program(p, t), strict=True):
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=1e-6)


def test_signatures_match_optax():
    import inspect

    for name in ("squared_error", "l2_loss", "huber_loss", "log_cosh"):
        theirs = inspect.signature(getattr(optax.losses, name)).parameters
        ours = inspect.signature(getattr(jaxloss, name)).parameters
        for pname, param in theirs.items():
            assert pname in ours, (name, pname)
            assert ours[pname].kind == param.kind, (name, pname)
            assert ours[pname].default == param.default, (name, pname)
        assert list(ours)[: len(theirs)] == list(theirs), name
        extra = [ours[n] for n in list(ours)[len(theirs) :]]
        assert all(p.kind == inspect.Parameter.KEYWORD_ONLY for p in extra), name


# torch parity -----------------------------------------------------------------------------

TORCH = [
    (jaxloss.squared_error, lambda p, t: F.mse_loss(p, t, reduction="none"), {}),
    (jaxloss.absolute_error, lambda p, t: F.l1_loss(p, t, reduction="none"), {}),
    *[
        (
            functools.partial(jaxloss.huber_loss, delta=d),
            lambda p, t, d=d: F.huber_loss(p, t, reduction="none", delta=d),
            {},
        )
        for d in (0.5, 1.0, 3.0)
    ],
    *[
        (
            functools.partial(jaxloss.smooth_l1_loss, beta=b),
            lambda p, t, b=b: F.smooth_l1_loss(p, t, reduction="none", beta=b),
            {},
        )
        for b in (0.0, 0.5, 1.0, 3.0)
    ],
]


def _torch_value_and_grad(fn, p, t):
    tp = torch.tensor(np.asarray(p, np.float64), requires_grad=True)
    out = fn(tp, torch.tensor(np.asarray(t, np.float64)))
    out.sum().backward()
    return out.detach().numpy(), tp.grad.numpy()


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("index", range(len(TORCH)))
def test_agrees_with_torch_values_and_gradients(rng, shape, index):
    ours, theirs, _ = TORCH[index]
    p, t = pair(rng, shape, np.float64)
    value, grad = _torch_value_and_grad(theirs, p, t)
    # one program: the value and the gradient
    our_value, our_grad = jax.jit(lambda p, t: (ours(p, t), _grad(ours, p, targets=t)))(p, t)
    np.testing.assert_allclose(our_value, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(our_grad, grad, rtol=1e-12)


@pytest.mark.parametrize("index", range(len(TORCH)))
def test_agrees_with_torch_at_kinks(index):
    # Residuals exactly 0, +-0.5, +-1, +-3 (the thresholds used above), values and gradients.
    ours, theirs, _ = TORCH[index]
    p = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 3.0, -3.0, 7.0])
    t = np.zeros_like(p)
    value, grad = _torch_value_and_grad(theirs, p, t)
    # one program: the value and the gradient
    our_value, our_grad = jax.jit(lambda p, t: (ours(p, t), _grad(ours, p, targets=t)))(p, t)
    np.testing.assert_allclose(our_value, value, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(our_grad, grad, rtol=1e-12)


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_reductions_agree_with_torch(rng, reduction):
    p, t = pair(rng, (8, 3), np.float64)
    tp, tt = torch.tensor(p), torch.tensor(t)
    pairs = [
        (jaxloss.squared_error(p, t, reduction=reduction), F.mse_loss(tp, tt, reduction=reduction)),
        (jaxloss.absolute_error(p, t, reduction=reduction), F.l1_loss(tp, tt, reduction=reduction)),
        (
            jaxloss.huber_loss(p, t, delta=0.7, reduction=reduction),
            F.huber_loss(tp, tt, delta=0.7, reduction=reduction),
        ),
        (
            jaxloss.smooth_l1_loss(p, t, beta=0.7, reduction=reduction),
            F.smooth_l1_loss(tp, tt, beta=0.7, reduction=reduction),
        ),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-12)


# Huber family: kinks, gradients, relations -------------------------------------------------


@pytest.mark.parametrize("delta", [0.25, 1.0, 4.0])
def test_huber_values_and_gradients_at_kinks(delta):
    # Huber 1964: 0.5 a^2 inside, delta (|a| - delta/2) outside; gradient clip(a, -delta, delta).
    a = np.array([0.0, delta, -delta, 2 * delta, -2 * delta, 0.5 * delta])
    expected = np.where(np.abs(a) <= delta, 0.5 * np.square(a), delta * (np.abs(a) - 0.5 * delta))
    kinks = (0.0, delta, -delta)

    @jax.jit  # one program: the values, the summed gradient and each kink's gradient
    def program(a, kink_values):
        # Each residual separately, so a doubled gradient at one kink cannot hide in a sum.
        each = [jax.grad(lambda x: jaxloss.huber_loss(x, delta=delta))(x) for x in kink_values]
        return jaxloss.huber_loss(a, delta=delta), _grad(jaxloss.huber_loss, a, delta=delta), each

    values, grad, each = program(a, [np.float64(value) for value in kinks])
    np.testing.assert_allclose(values, expected, rtol=1e-15)
    np.testing.assert_array_equal(grad, np.clip(np.asarray(a), -delta, delta))
    for value, g in zip(kinks, each, strict=True):
        assert float(g) == value


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0])
def test_smooth_l1_gradients_at_kinks(beta):
    # torch docs: 0.5 a^2 / beta for |a| < beta, |a| - beta/2 else; gradient a/beta or sign(a).
    for value in (0.0, beta, -beta, 3.0, -3.0):
        g = jax.grad(lambda x: jaxloss.smooth_l1_loss(x, beta=beta))(jnp.float64(value))
        expected = value / beta if abs(value) < beta else np.sign(value)
        assert float(g) == expected, (value, float(g))


def test_smooth_l1_with_beta_zero_is_absolute_error(rng):
    p, t = pair(rng, (8, 3), np.float64)
    np.testing.assert_array_equal(jaxloss.smooth_l1_loss(p, t, beta=0.0), np.abs(p - t))


_finite = st.floats(-50, 50, allow_nan=False, width=64)


@given(a=hnp.arrays(np.float64, (6,), elements=_finite), delta=st.floats(0.01, 20))
def test_huber_is_delta_times_smooth_l1(a, delta):
    np.testing.assert_allclose(
        jaxloss.huber_loss(a, delta=delta),
        delta * jaxloss.smooth_l1_loss(a, beta=delta),
        rtol=1e-12,
        atol=1e-12,
    )


@given(a=hnp.arrays(np.float64, (6,), elements=_finite), delta=st.floats(0.01, 20))
def test_huber_bounds(a, delta):
    # Huber lies between the pseudo-Huber loss and l2_loss, and is non-negative.
    huber = np.asarray(jaxloss.huber_loss(a, delta=delta))
    assert np.all(huber >= 0)
    assert np.all(huber <= 0.5 * a**2 + 1e-12)
    assert np.all(np.asarray(jaxloss.pseudo_huber_loss(a, delta=delta)) <= huber + 1e-9)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("delta", [0.1, 1.0, 5.0])
def test_pseudo_huber_matches_formula(rng, shape, delta):
    # Charbonnier et al. 1997 / Hartley & Zisserman A6.8: delta^2 (sqrt(1 + (a/delta)^2) - 1),
    # derivative a / sqrt(1 + (a/delta)^2).
    p, t = pair(rng, shape, np.float64)
    a = p - t
    p32, t32 = p.astype(np.float32), t.astype(np.float32)
    a32 = p32.astype(np.float64) - t32
    value, grad, value32 = jax.jit(  # one program: float64 value and gradient, float32 value
        lambda p, t, p32, t32: (
            jaxloss.pseudo_huber_loss(p, t, delta=delta),
            _grad(jaxloss.pseudo_huber_loss, p, targets=t, delta=delta),
            jaxloss.pseudo_huber_loss(p32, t32, delta=delta),
        )
    )(p, t, p32, t32)
    np.testing.assert_allclose(
        value,
        delta**2 * (np.sqrt(1 + (a / delta) ** 2) - 1),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        grad,
        a / np.sqrt(1 + (a / delta) ** 2),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        value32,
        delta**2 * (np.sqrt(1 + (a32 / delta) ** 2) - 1),
        rtol=1e-5,
        atol=1e-7,
    )


def test_pseudo_huber_small_and_large_residuals_float32():
    a = jnp.array([1e-4, 1e-15, 1e25, -1e25], jnp.float32)
    # Small: a^2/2 (relative accuracy kept); large: ~ delta |a| - delta^2, finite.
    np.testing.assert_allclose(
        jaxloss.pseudo_huber_loss(a, delta=1.0), [5e-9, 5e-31, 1e25, 1e25], rtol=1e-5
    )
    grad = _grad(jaxloss.pseudo_huber_loss, a)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, [1e-4, 1e-15, 1.0, -1.0], rtol=1e-5)


# log_cosh ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_log_cosh_matches_formula(rng, shape):
    # log(cosh(a)) in float64 (no overflow for these |a| < 20); derivative tanh(a).
    p, t = pair(rng, shape, np.float64, scale=3.0)
    a = p - t
    p32, t32 = p.astype(np.float32), t.astype(np.float32)
    a32 = p32.astype(np.float64) - t32
    value, grad, value32 = jax.jit(  # one program: float64 value and gradient, float32 value
        lambda p, t, p32, t32: (
            jaxloss.log_cosh(p, t),
            _grad(jaxloss.log_cosh, p, targets=t),
            jaxloss.log_cosh(p32, t32),
        )
    )(p, t, p32, t32)
    np.testing.assert_allclose(value, np.log(np.cosh(a)), rtol=1e-12)
    np.testing.assert_allclose(grad, np.tanh(a), rtol=1e-12)
    np.testing.assert_allclose(value32, np.log(np.cosh(a32)), rtol=1e-5)


def test_log_cosh_large_residuals():
    cases = ((jnp.float32, 1e4), (jnp.float16, 6e4), (jnp.bfloat16, 1e30))
    inputs = [jnp.array([big, -big, 0.0], dtype) for dtype, big in cases]
    # one program: every dtype's value and gradient
    out = jax.jit(
        lambda inputs: [(jaxloss.log_cosh(a), _grad(jaxloss.log_cosh, a)) for a in inputs]
    )(inputs)
    for (dtype, _), a, (value, grad) in zip(cases, inputs, out, strict=True):
        assert value.dtype == dtype
        big = float(np.asarray(a)[0])
        expected = [big - np.log(2), big - np.log(2), 0.0]
        np.testing.assert_allclose(np.asarray(value, np.float64), expected, rtol=1e-3)
        np.testing.assert_array_equal(np.asarray(grad, np.float64), [1.0, -1.0, 0.0])


def test_log_cosh_keeps_relative_accuracy_for_tiny_residuals():
    # log cosh a = a^2/2 - a^4/12 + ...; float32 keeps this where logaddexp forms cancel.
    a = np.array([1e-4, -3e-3, 1e-2, 0.5, 0.999, 1.0, 1.001], np.float32)
    a64 = a.astype(np.float64)
    expected = np.log1p(np.expm1(a64) ** 2 / (2 * np.exp(a64)))  # cosh a - 1 without cancel
    np.testing.assert_allclose(jaxloss.log_cosh(a), expected, rtol=1e-6)


# where / weights on elementwise losses ------------------------------------------------------


@pytest.mark.parametrize("fn", ELEMENTWISE)
def test_elementwise_where_and_weights(rng, fn):
    p, t = pair(rng, (8, 3), np.float64)
    base = np.asarray(fn(p, t))
    where = rng.uniform(size=(8, 3)) < 0.5
    w = rng.uniform(0.5, 2.0, (8, 1))
    wb = np.broadcast_to(w, (8, 3))
    np.testing.assert_allclose(fn(p, t, where=where), np.where(where, base, 0.0))
    np.testing.assert_allclose(
        fn(p, t, where=where, weights=w, reduction="mean"),
        np.sum(where * wb * base) / np.sum(where * wb),
        rtol=1e-12,
    )
    np.testing.assert_allclose(fn(p, t, weights=w, reduction="sum"), np.sum(wb * base), rtol=1e-12)
    assert float(fn(p, t, where=np.zeros((8, 3), bool), reduction="mean")) == 0.0


@pytest.mark.parametrize("fn", [jaxloss.huber_loss])
def test_negative_weights_raise_in_checked_mode_and_eagerly(fn):
    check_negative_weights_raise(fn)


# dtypes and targets --------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ELEMENTWISE)
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64])
def test_dtype_follows_inputs(rng, fn, dtype):
    check_dtype_follows_inputs(rng, fn, dtype)


# errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ELEMENTWISE)
def test_bad_inputs_raise(fn):
    check_bad_inputs_raise(fn)


@pytest.mark.parametrize("fn", [jaxloss.huber_loss, jaxloss.pseudo_huber_loss])
@pytest.mark.parametrize("delta", [0.0, -1.0, float("nan")])
def test_nonpositive_delta_raises(fn, delta):
    with pytest.raises(ValueError, match="`delta`"):
        fn(jnp.zeros(3), delta=delta)


def test_negative_beta_raises_and_zero_is_allowed():
    with pytest.raises(ValueError, match="`beta`"):
        jaxloss.smooth_l1_loss(jnp.zeros(3), beta=-0.1)
    assert np.all(np.isfinite(jaxloss.smooth_l1_loss(jnp.zeros(3), beta=0.0)))


def test_traced_hyperparameters_are_accepted():
    a = jnp.array([0.2, 3.0])
    for fn, name in (
        (jaxloss.huber_loss, "delta"),
        (jaxloss.smooth_l1_loss, "beta"),
        (jaxloss.pseudo_huber_loss, "delta"),
    ):
        jitted = jax.jit(lambda x, h, fn=fn, name=name: fn(x, **{name: h}))
        np.testing.assert_allclose(jitted(a, 0.5), fn(a, **{name: 0.5}), rtol=1e-6)
    # delta can be learned: d/d delta of huber at |a| > delta is |a| - delta.
    g = jax.grad(lambda d: jnp.sum(jaxloss.huber_loss(a, delta=d)))(jnp.float64(1.0))
    np.testing.assert_allclose(g, 3.0 - 1.0, rtol=1e-12)


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family).
def sharded_checks() -> None:
    """Each elementwise loss inside ``shard_map`` with ``axis_name`` equals one device."""
    check_global_reductions_on_4_devices({f.__name__: f for f in ELEMENTWISE})
