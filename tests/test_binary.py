"""Reference tests for jaxloss.binary against torch, optax, scikit-learn and numpy formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from jax.experimental import checkify

import jaxloss

TOL = {"rtol": 1e-5, "atol": 1e-5}


def _t(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


@pytest.mark.parametrize("shape", [(9,), (3, 4)])
@pytest.mark.parametrize("pos_weight", [None, 3.0, "per-class"])
def test_sigmoid_bce_matches_torch_and_optax(rng, shape, pos_weight):
    logits = rng.normal(scale=4.0, size=shape)
    labels = rng.uniform(size=shape)
    pw = None
    if pos_weight == "per-class":
        pw = rng.uniform(0.5, 3.0, size=shape[-1:])
    elif pos_weight is not None:
        pw = np.full(shape[-1:], pos_weight)
    expected = F.binary_cross_entropy_with_logits(
        _t(logits), _t(labels), pos_weight=None if pw is None else _t(pw), reduction="none"
    ).numpy()

    @jax.jit  # one program: ours in float32 and optax's on the float64 inputs
    def program(logits32, labels32, pw32, logits, labels):
        ours = jaxloss.sigmoid_binary_cross_entropy(logits32, labels32, pos_weight=pw32)
        return ours, optax.losses.sigmoid_binary_cross_entropy(logits, labels)

    actual, optax_value = program(
        jnp.asarray(logits, jnp.float32),
        jnp.asarray(labels, jnp.float32),
        None if pw is None else jnp.asarray(pw, jnp.float32),
        logits,
        labels,
    )
    np.testing.assert_allclose(actual, expected, **TOL)
    if pw is None:
        np.testing.assert_allclose(actual, optax_value, **TOL)


def test_sigmoid_bce_is_accurate_far_in_the_tail():
    # exact: log(1 + e^-20); a naive x*(1-y) + softplus(-x) loses it to cancellation.
    out = jaxloss.sigmoid_binary_cross_entropy(jnp.array([-20.0]), jnp.array([0.0]))
    np.testing.assert_allclose(out, np.log1p(np.exp(-20.0)), rtol=1e-5)


def test_binary_cross_entropy_matches_torch_including_zero_and_one(rng):
    p = np.concatenate([rng.uniform(size=20), [0.0, 1.0, 0.0, 1.0]])
    y = np.concatenate([rng.uniform(size=20), [0.0, 1.0, 1.0, 0.0]])
    expected = F.binary_cross_entropy(_t(p), _t(y), reduction="none").numpy()

    @jax.jit  # one program: the float32 values and the float64 gradient
    def program(p32, y32, p, y):
        grad = jax.grad(lambda q: jaxloss.binary_cross_entropy(q, y).sum())(p)
        return jaxloss.binary_cross_entropy(p32, y32), grad

    actual, grad = program(jnp.asarray(p, jnp.float32), jnp.asarray(y, jnp.float32), p, y)
    np.testing.assert_allclose(actual, expected, **TOL)
    assert np.isfinite(grad).all()


def test_binary_cross_entropy_matches_sklearn_log_loss(rng):
    from sklearn.metrics import log_loss

    y = rng.integers(0, 2, size=30)
    p = rng.uniform(0.01, 0.99, size=30)
    mean = jax.jit(  # one program
        lambda p, y: jaxloss.binary_cross_entropy(p, jnp.asarray(y, jnp.float64), reduction="mean")
    )(p, y)
    np.testing.assert_allclose(mean, log_loss(y, p), rtol=1e-10)


def _numpy_sigmoid_focal(x, y, alpha, gamma):
    # Lin et al. 2017, eq. 5, written with the binary cross-entropy on logits.
    p = scipy.special.expit(x)
    ce = -(y * np.log(p) + (1 - y) * np.log1p(-p))
    p_t = p * y + (1 - p) * (1 - y)
    loss = ce * (1 - p_t) ** gamma
    if alpha is not None:
        loss = (alpha * y + (1 - alpha) * (1 - y)) * loss
    return loss


@pytest.mark.parametrize("alpha", [None, 0.25])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0])
def test_sigmoid_focal_matches_numpy_and_optax(rng, alpha, gamma):
    x = rng.normal(scale=3.0, size=(4, 5))
    y = rng.integers(0, 2, size=(4, 5)).astype(float)
    expected = _numpy_sigmoid_focal(x, y, alpha, gamma)
    actual, optax_value = jax.jit(  # one program: ours and optax's
        lambda x, y: (
            jaxloss.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma),
            optax.losses.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma),
        )
    )(x, y)
    np.testing.assert_allclose(actual, expected, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(actual, optax_value, **TOL)


def test_sigmoid_focal_gradients_finite_for_small_gamma_and_large_logits():
    x = np.array([1e4, -1e4, 50.0, -50.0], np.float32)
    y = np.array([1.0, 0.0, 1.0, 0.0], np.float32)
    grad = jax.jit(  # one program
        jax.grad(lambda v, y: jaxloss.sigmoid_focal_loss(v, y, gamma=0.5).sum())
    )(x, y)
    assert np.isfinite(grad).all()


def test_sigmoid_focal_gamma_zero_is_bce(rng):
    x = rng.normal(size=(5, 3))
    y = rng.uniform(size=(5, 3))
    focal, bce = jax.jit(  # one program: both losses
        lambda x, y: (
            jaxloss.sigmoid_focal_loss(x, y, gamma=0.0),
            jaxloss.sigmoid_binary_cross_entropy(x, y),
        )
    )(x, y)
    np.testing.assert_allclose(focal, bce, rtol=1e-12)


# int and bool labels, as optax accepts them -------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.int32, jnp.int8, jnp.bool_])
@pytest.mark.parametrize("gamma", [None, 0.5, 2.0])
def test_integer_and_bool_labels_match_optax(rng, dtype, gamma):
    logits = jnp.asarray(rng.normal(scale=3.0, size=(4, 5)), jnp.float32)
    labels = rng.integers(0, 2, size=(4, 5)).astype(dtype)
    fn = (
        jaxloss.sigmoid_binary_cross_entropy
        if gamma is None
        else lambda x, y: jaxloss.sigmoid_focal_loss(x, y, alpha=0.25, gamma=gamma)
    )

    @jax.jit  # one program: ours, optax's, and the gradients with int/bool and float labels
    def program(logits, labels):
        if gamma is None:
            ref = optax.losses.sigmoid_binary_cross_entropy(logits, labels)
        else:
            ref = optax.losses.sigmoid_focal_loss(logits, labels, alpha=0.25, gamma=gamma)
        # The same values as floating labels, and gradients with respect to the logits.
        floating = labels.astype(jnp.float32)
        g = jax.grad(lambda x: fn(x, labels).sum())(logits)
        g_float = jax.grad(lambda x: fn(x, floating).sum())(logits)
        return fn(logits, labels), ref, g, g_float

    ours, ref, g, g_float = program(logits, labels)
    assert ours.dtype == jnp.float32
    np.testing.assert_allclose(ours, ref, **TOL)
    np.testing.assert_array_equal(g, g_float)


def test_binary_cross_entropy_accepts_integer_and_bool_targets(rng):
    p = jnp.asarray(rng.uniform(0.05, 0.95, size=12), jnp.float32)
    y = rng.integers(0, 2, size=12)
    expected = F.binary_cross_entropy(_t(p), _t(y), reduction="none").numpy()
    # one program for both label dtypes
    outs = jax.jit(lambda p, *ys: [jaxloss.binary_cross_entropy(p, y) for y in ys])(
        p, y.astype(np.int32), y.astype(bool)
    )
    for out in outs:
        np.testing.assert_allclose(out, expected, **TOL)


# masks, weights, axis_name -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sigmoid_binary_cross_entropy", "binary_cross_entropy"])
def test_mask_and_weights_match_torch(rng, name):
    shape = (4, 3)
    x = rng.normal(scale=2.0, size=shape)
    y = rng.uniform(size=shape)
    v = rng.uniform(0.5, 2.0, size=shape)
    m = rng.uniform(size=shape) > 0.3
    m[0, 0] = True
    # torch's `weight` is the elementwise rescaling w * l ("none") and its "sum"; the mask
    # multiplies it, and the mean divides by sum(m w) (torch's "mean" divides by the count).
    if name == "binary_cross_entropy":
        x = scipy.special.expit(x)
        reference = F.binary_cross_entropy
    else:
        reference = F.binary_cross_entropy_with_logits
    weighted = reference(_t(x), _t(y), weight=_t(np.where(m, v, 0.0)), reduction="none").numpy()
    total = reference(_t(x), _t(y), weight=_t(np.where(m, v, 0.0)), reduction="sum").item()
    fn = getattr(jaxloss, name)

    @jax.jit  # one program for the four reductions
    def program(x, y, m, v):
        return {
            r: fn(x, y, where=m, weights=v, reduction=r)
            for r in ("none", "sum", "mean", "sum_and_count")
        }

    loss = program(x, y, m, v)
    np.testing.assert_allclose(loss["none"], weighted, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss["sum"], total, rtol=1e-10)
    np.testing.assert_allclose(loss["mean"], total / v[m].sum(), rtol=1e-10)
    np.testing.assert_allclose(loss["sum_and_count"], [total, v[m].sum()], rtol=1e-10)


def test_sigmoid_focal_mask_and_weights_match_numpy(rng):
    x = rng.normal(scale=3.0, size=(6, 2))
    y = rng.integers(0, 2, size=(6, 2))
    v = rng.uniform(0.5, 2.0, size=(6, 1))  # broadcast over the second axis
    m = rng.uniform(size=(6, 2)) > 0.3
    expected = np.where(m, v * _numpy_sigmoid_focal(x, y, 0.25, 2.0), 0.0)

    @jax.jit  # one program for both reductions
    def program(x, y, m, v):
        return {
            r: jaxloss.sigmoid_focal_loss(x, y, alpha=0.25, where=m, weights=v, reduction=r)
            for r in ("none", "mean")
        }

    loss = program(x, y, m, v)
    np.testing.assert_allclose(loss["none"], expected, rtol=1e-10, atol=1e-12)
    count = np.sum(np.where(m, v, 0.0))
    np.testing.assert_allclose(loss["mean"], expected.sum() / count, rtol=1e-10)


@pytest.mark.parametrize(
    "name", ["sigmoid_binary_cross_entropy", "binary_cross_entropy", "sigmoid_focal_loss"]
)
def test_axis_name_reduces_over_the_global_batch(rng, name):
    # vmap with an axis name stands in for four devices: the reductions psum over "batch".
    x = jnp.asarray(rng.uniform(0.05, 0.95, size=(8, 3)))
    y = jnp.asarray(rng.integers(0, 2, size=(8, 3)))
    v = jnp.asarray(rng.uniform(0.5, 2.0, size=(8, 3)))
    m = jnp.asarray(rng.uniform(size=(8, 3)) > 0.3)
    fn = getattr(jaxloss, name)

    def loss(x, y, v, m, reduction, axis_name=None):
        return fn(x, y, where=m, weights=v, reduction=reduction, axis_name=axis_name)

    def shards(a):
        return a.reshape(4, 2, 3)

    @jax.jit  # one program for every reduction and both gradients
    def both(x, y, v, m):
        got, want = {}, {}
        for reduction in ("mean", "sum", "sum_and_count"):
            local = jax.vmap(
                lambda *a, r=reduction: loss(*a, r, axis_name="batch"), axis_name="batch"
            )
            got[reduction] = local(shards(x), shards(y), shards(v), shards(m))
            want[reduction] = loss(x, y, v, m, reduction)
        got["grad"] = jax.grad(
            lambda x: jax.vmap(lambda *a: loss(*a, "mean", axis_name="batch"), axis_name="batch")(
                shards(x), shards(y), shards(v), shards(m)
            )[0]
        )(x)
        want["grad"] = jax.grad(lambda x: loss(x, y, v, m, "mean"))(x).reshape(got["grad"].shape)
        return got, want

    got, want = both(x, y, v, m)
    for key in want:
        for g, w in zip(jax.tree.leaves(got[key]), jax.tree.leaves(want[key]), strict=True):
            # the values as before (rtol only); the gradient with its old atol as well
            atol = 1e-15 if key == "grad" else 0.0
            np.testing.assert_allclose(g, np.broadcast_to(w, g.shape), rtol=1e-12, atol=atol)


# data checks: targets and probabilities outside [0, 1] -------------------------------------


def _checked(f):
    return checkify.checkify(jax.jit(f), errors=checkify.user_checks)


@pytest.mark.parametrize(
    "name", ["sigmoid_binary_cross_entropy", "binary_cross_entropy", "sigmoid_focal_loss"]
)
def test_targets_outside_unit_interval_raise_in_checked_mode(name):
    fn = getattr(jaxloss, name)
    x = jnp.array([0.2, 0.5, 0.9])

    def f(y, m):
        return fn(x, y, where=m, reduction="sum")

    checked, everything = _checked(f), jnp.ones(3, bool)
    good = jnp.array([0.0, 0.3, 1.0])  # soft targets in [0, 1] are valid
    err, value = checked(good, everything)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(f)(good, everything))
    err, _ = checked(jnp.array([0.0, 1.5, 1.0]), jnp.array([True, False, True]))
    assert err.get() is None  # a masked-out target is not checked
    for bad in ([0.0, 1.5, 1.0], [-0.1, 0.0, 1.0], [0.0, np.nan, 1.0]):
        err, _ = checked(jnp.array(bad), everything)
        assert "`labels` must lie in [0, 1]" in err.get()
    err, _ = checked(jnp.array([0, 2, 1]).astype(jnp.float32), everything)
    assert "`labels`" in err.get()
    with pytest.raises(ValueError, match=r"`labels` must lie in \[0, 1\]; got 2"):
        fn(x, jnp.array([0, 2, 1]))
    fn(x, jnp.array([0.0, 1.5, 1.0]), where=jnp.array([True, False, True]))


def test_probabilities_outside_unit_interval_give_nan_and_raise_in_checked_mode():
    y = jnp.array([1.0, 0.0, 1.0])

    def f(p):
        return jaxloss.binary_cross_entropy(p, y)

    checked = _checked(f)
    good = jnp.array([0.0, 0.5, 1.0])
    err, value = checked(good)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(f)(good))
    for bad in ([0.5, 1.5, 0.5], [0.5, -0.5, 0.5]):
        err, value = checked(jnp.array(bad))
        assert "`probabilities` must lie in [0, 1]" in err.get()
        # The documented default: NaN for that element (torch raises; the clamp would give 100).
        assert np.isnan(value[1]) and np.isfinite(value[0]) and np.isfinite(value[2])
    with pytest.raises(ValueError, match="`probabilities`"):
        f(jnp.array([0.5, 1.5, 0.5]))
