"""Reference tests for jaxloss.classification against torch, optax, scipy and numpy formulas."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

import jaxloss

SHAPES = [(7,), (3, 4), (2, 3, 2)]  # batch shapes
TOL = {"rtol": 1e-5, "atol": 1e-5}


def _t(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float64))


def _logits(rng, shape, k):
    return rng.normal(scale=2.0, size=(*shape, k))


def _soft(rng, shape, k):
    p = rng.uniform(0.0, 1.0, size=(*shape, k))
    return p / p.sum(-1, keepdims=True)


# softmax family -----------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_probability_maps_match_scipy(rng, temperature):
    x = rng.normal(size=(4, 6))
    np.testing.assert_allclose(
        jaxloss.softmax(x, temperature=temperature),
        scipy.special.softmax(x / temperature, axis=-1),
        **TOL,
    )
    np.testing.assert_allclose(
        jaxloss.log_softmax(x, axis=0, temperature=temperature),
        scipy.special.log_softmax(x / temperature, axis=0),
        **TOL,
    )
    np.testing.assert_allclose(
        jaxloss.sigmoid(x, temperature=temperature), scipy.special.expit(x / temperature), **TOL
    )
    np.testing.assert_allclose(
        jaxloss.log_sigmoid(x, temperature=temperature),
        np.log(scipy.special.expit(x / temperature)),
        **TOL,
    )


def test_log_softmax_float16_computes_in_float32():
    x = jnp.array([3e4, -3e4, 0.0], jnp.float16)
    out = jaxloss.log_softmax(x)
    assert out.dtype == jnp.float16
    np.testing.assert_allclose(np.asarray(out, np.float64), [0.0, -6e4, -3e4], rtol=1e-3)


# softmax_cross_entropy (soft labels) ---------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_soft_cross_entropy_matches_torch(rng, shape, smoothing, weighted):
    k = 5
    logits, labels = _logits(rng, shape, k), _soft(rng, shape, k)
    weights = rng.uniform(0.5, 2.0, k) if weighted else None
    # torch puts classes on axis 1 and applies smoothing/weights to probability targets itself.
    t_logits = _t(np.moveaxis(logits, -1, 1))
    t_labels = _t(np.moveaxis(labels, -1, 1))
    for reduction in ("none", "mean", "sum"):
        expected = F.cross_entropy(
            t_logits,
            t_labels,
            weight=None if weights is None else _t(weights),
            label_smoothing=smoothing,
            reduction=reduction,
        ).numpy()
        actual = jaxloss.softmax_cross_entropy(
            jnp.asarray(logits, jnp.float32),
            jnp.asarray(labels, jnp.float32),
            label_smoothing=smoothing,
            class_weights=None if weights is None else jnp.asarray(weights, jnp.float32),
            reduction=reduction,
        )
        np.testing.assert_allclose(actual, expected, **TOL)


@pytest.mark.parametrize("axis", [-1, 0, (1, 2)])
def test_soft_cross_entropy_matches_optax_axes_and_where(rng, axis):
    logits = jnp.asarray(rng.normal(size=(3, 4, 5)), jnp.float32)
    labels = jnp.asarray(rng.uniform(size=(3, 4, 5)), jnp.float32)
    where = jnp.asarray(rng.uniform(size=(3, 4, 5)) > 0.3)
    np.testing.assert_allclose(
        jaxloss.softmax_cross_entropy(logits, labels, axis=axis),
        optax.losses.softmax_cross_entropy(logits, labels, axis=axis),
        **TOL,
    )
    np.testing.assert_allclose(
        jaxloss.softmax_cross_entropy(logits, labels, axis, where),
        optax.losses.softmax_cross_entropy(logits, labels, axis, where),
        **TOL,
    )


def test_soft_cross_entropy_example_mask_matches_optax(rng):
    logits = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    labels = jax.nn.softmax(jnp.asarray(rng.normal(size=(6, 4)), jnp.float32))
    where = jnp.array([True, False, True, True, False, True])
    ours = jaxloss.softmax_cross_entropy(logits, labels, where=where)
    np.testing.assert_allclose(
        ours, optax.losses.softmax_cross_entropy(logits, labels, where=where), **TOL
    )
    mean = jaxloss.softmax_cross_entropy(logits, labels, where=where, reduction="mean")
    np.testing.assert_allclose(mean, np.asarray(ours)[np.asarray(where)].mean(), **TOL)


def test_soft_cross_entropy_neg_inf_logits_are_finite_where_optax_is_nan():
    logits = jnp.array([[2.0, -jnp.inf, 0.5, -jnp.inf]])
    labels = jnp.array([[0.25, 0.0, 0.75, 0.0]])
    assert np.isnan(optax.losses.softmax_cross_entropy(logits, labels)).all()
    value, grad = jax.value_and_grad(lambda x: jaxloss.softmax_cross_entropy(x, labels).sum())(
        logits
    )
    # Reference: the same loss over the two finite classes only (numpy formula).
    finite = np.array([2.0, 0.5])
    log_p = finite - scipy.special.logsumexp(finite)
    np.testing.assert_allclose(value, -(0.25 * log_p[0] + 0.75 * log_p[1]), **TOL)
    expected_grad = scipy.special.softmax(finite) - np.array([0.25, 0.75])
    np.testing.assert_allclose(grad[0, [0, 2]], expected_grad, **TOL)
    np.testing.assert_array_equal(grad[0, [1, 3]], 0.0)
    np.testing.assert_allclose(
        jaxloss.safe_softmax_cross_entropy(logits, labels),
        optax.losses.safe_softmax_cross_entropy(logits, labels),
        **TOL,
    )


def test_positive_label_on_neg_inf_logit_is_inf():
    out = jaxloss.softmax_cross_entropy(jnp.array([[0.0, -jnp.inf]]), jnp.array([[0.5, 0.5]]))
    assert np.isposinf(out).all()


def test_all_masked_examples_give_zero_mean_and_zero_grad():
    logits = jnp.ones((3, 4))
    labels = jax.nn.one_hot(jnp.array([0, 1, 2]), 4)
    where = jnp.zeros((3, 4), bool)

    def loss(x):
        return jaxloss.softmax_cross_entropy(x, labels, where=where, reduction="mean")

    value, grad = jax.value_and_grad(loss)(logits)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)


# integer labels ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [False, True])
def test_integer_cross_entropy_matches_torch(rng, shape, smoothing, weighted, ignore):
    k = 6
    logits = _logits(rng, shape, k)
    labels = rng.integers(0, k, size=shape)
    if ignore:
        labels = np.where(rng.uniform(size=shape) < 0.3, -100, labels)
        labels.flat[0] = 1  # at least one counted example
    weights = rng.uniform(0.5, 2.0, k) if weighted else None
    for reduction in ("none", "mean", "sum"):
        expected = F.cross_entropy(
            _t(np.moveaxis(logits, -1, 1)),
            torch.from_numpy(labels),
            weight=None if weights is None else _t(weights),
            ignore_index=-100,
            label_smoothing=smoothing,
            reduction=reduction,
        ).numpy()
        actual = jaxloss.softmax_cross_entropy_with_integer_labels(
            jnp.asarray(logits, jnp.float32),
            jnp.asarray(labels, jnp.int32),
            label_smoothing=smoothing,
            class_weights=None if weights is None else jnp.asarray(weights, jnp.float32),
            ignore_index=-100,
            reduction=reduction,
        )
        np.testing.assert_allclose(actual, expected, **TOL)


def test_integer_cross_entropy_class_axis_one_matches_torch(rng):
    logits = rng.normal(size=(3, 5, 4))  # torch layout [N, C, d]
    labels = rng.integers(0, 5, size=(3, 4))
    expected = F.cross_entropy(_t(logits), torch.from_numpy(labels), reduction="none").numpy()
    actual = jaxloss.softmax_cross_entropy_with_integer_labels(
        jnp.asarray(logits), jnp.asarray(labels), axis=1
    )
    np.testing.assert_allclose(actual, expected, **TOL)


@pytest.mark.parametrize("axis", [-1, 0, (1, 2)])
def test_integer_cross_entropy_matches_optax(rng, axis):
    logits = jnp.asarray(rng.normal(size=(3, 4, 5)), jnp.float32)
    axes = (axis,) if isinstance(axis, int) else axis
    batch_shape = tuple(s for i, s in enumerate(logits.shape) if i not in [a % 3 for a in axes])
    num = int(np.prod([logits.shape[a] for a in axes]))
    labels = jnp.asarray(rng.integers(0, num, size=batch_shape))
    where = jnp.asarray(rng.uniform(size=logits.shape) > 0.2)
    np.testing.assert_allclose(
        jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, axis, where),
        optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, axis, where),
        **TOL,
    )


def test_all_ignored_batch_gives_zero_not_nan():
    logits = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
    labels = jnp.full((4,), -1)
    torch_value = F.cross_entropy(
        torch.from_numpy(np.array(logits)), torch.from_numpy(np.array(labels)), ignore_index=-1
    )
    assert torch.isnan(torch_value)

    def loss(x):
        return jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, ignore_index=-1, reduction="mean", label_smoothing=0.1
        )

    value, grad = jax.value_and_grad(loss)(logits)
    assert value == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_out_of_range_label_gives_nan():
    out = jaxloss.softmax_cross_entropy_with_integer_labels(jnp.zeros((1, 3)), jnp.array([7]))
    assert np.isnan(out).all()


@given(
    st.lists(st.floats(-30, 30), min_size=2, max_size=6),
    st.integers(0, 5),
)
def test_integer_labels_equal_one_hot_labels(values, label):
    logits = jnp.asarray(values, jnp.float64)[None]
    label = label % logits.shape[-1]
    one_hot = jax.nn.one_hot(jnp.array([label]), logits.shape[-1], dtype=jnp.float64)
    a = jaxloss.softmax_cross_entropy_with_integer_labels(logits, jnp.array([label]))
    b = jaxloss.softmax_cross_entropy(logits, one_hot)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert float(a[0]) >= 0.0


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_low_precision_logits_accumulate_in_float32(rng, dtype):
    logits = rng.normal(size=(64, 1000)) * 3
    labels = rng.integers(0, 1000, size=(64,))
    low = jaxloss.softmax_cross_entropy_with_integer_labels(
        jnp.asarray(logits, dtype), jnp.asarray(labels)
    )
    ref = jaxloss.softmax_cross_entropy_with_integer_labels(
        jnp.asarray(jnp.asarray(logits, dtype), jnp.float32), jnp.asarray(labels)
    )
    assert low.dtype == dtype
    np.testing.assert_allclose(np.asarray(low, np.float32), ref, rtol=1e-2)


def test_extreme_logits_float32_and_float16():
    labels = jnp.array([0, 1])
    big = jnp.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], jnp.float32)
    value, grad = jax.value_and_grad(
        lambda x: jaxloss.softmax_cross_entropy_with_integer_labels(x, labels).sum()
    )(big)
    np.testing.assert_allclose(value, 2e4, rtol=1e-6)
    assert np.isfinite(grad).all()
    # float16 inputs are computed in float32 and the result cast back: a loss of 1.2e5 exceeds
    # float16's range and overflows to inf, one of 0 stays exact.
    half = jnp.array([[6e4, -6e4, 0.0]], jnp.float16)
    ok = jaxloss.softmax_cross_entropy_with_integer_labels(half, jnp.array([0]))
    assert ok.dtype == jnp.float16 and float(ok[0]) == 0.0
    g = jax.grad(lambda x: jaxloss.softmax_cross_entropy_with_integer_labels(x, jnp.array([0]))[0])(
        half
    )
    assert np.isfinite(np.asarray(g, np.float32)).all()
    assert np.isposinf(
        np.asarray(jaxloss.softmax_cross_entropy_with_integer_labels(half, jnp.array([1])))
    ).all()


def test_smooth_labels_matches_optax(rng):
    labels = jax.nn.one_hot(jnp.asarray(rng.integers(0, 4, (5,))), 4)
    where = jnp.asarray(rng.uniform(size=(5, 4)) > 0.3)
    np.testing.assert_allclose(
        jaxloss.smooth_labels(labels, 0.3), optax.losses.smooth_labels(labels, 0.3), **TOL
    )
    np.testing.assert_allclose(
        jaxloss.smooth_labels(labels, 0.3, where=where),
        optax.losses.smooth_labels(labels, 0.3, where=where),
        **TOL,
    )


# binary --------------------------------------------------------------------------------------


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
    actual = jaxloss.sigmoid_binary_cross_entropy(
        jnp.asarray(logits, jnp.float32),
        jnp.asarray(labels, jnp.float32),
        pos_weight=None if pw is None else jnp.asarray(pw, jnp.float32),
    )
    np.testing.assert_allclose(actual, expected, **TOL)
    if pw is None:
        np.testing.assert_allclose(
            actual, optax.losses.sigmoid_binary_cross_entropy(logits, labels), **TOL
        )


def test_sigmoid_bce_is_accurate_far_in_the_tail():
    # exact: log(1 + e^-20); a naive x*(1-y) + softplus(-x) loses it to cancellation.
    out = jaxloss.sigmoid_binary_cross_entropy(jnp.array([-20.0]), jnp.array([0.0]))
    np.testing.assert_allclose(out, np.log1p(np.exp(-20.0)), rtol=1e-5)


def test_binary_cross_entropy_matches_torch_including_zero_and_one(rng):
    p = np.concatenate([rng.uniform(size=20), [0.0, 1.0, 0.0, 1.0]])
    y = np.concatenate([rng.uniform(size=20), [0.0, 1.0, 1.0, 0.0]])
    expected = F.binary_cross_entropy(_t(p), _t(y), reduction="none").numpy()
    actual = jaxloss.binary_cross_entropy(jnp.asarray(p, jnp.float32), jnp.asarray(y, jnp.float32))
    np.testing.assert_allclose(actual, expected, **TOL)
    grad = jax.grad(lambda q: jaxloss.binary_cross_entropy(q, jnp.asarray(y)).sum())(jnp.asarray(p))
    assert np.isfinite(grad).all()


def test_binary_cross_entropy_matches_sklearn_log_loss(rng):
    from sklearn.metrics import log_loss

    y = rng.integers(0, 2, size=30)
    p = rng.uniform(0.01, 0.99, size=30)
    mean = jaxloss.binary_cross_entropy(
        jnp.asarray(p), jnp.asarray(y, jnp.float64), reduction="mean"
    )
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
    actual = jaxloss.sigmoid_focal_loss(jnp.asarray(x), jnp.asarray(y), alpha=alpha, gamma=gamma)
    np.testing.assert_allclose(actual, expected, rtol=1e-7, atol=1e-10)
    np.testing.assert_allclose(
        actual, optax.losses.sigmoid_focal_loss(x, y, alpha=alpha, gamma=gamma), **TOL
    )


def test_sigmoid_focal_gradients_finite_for_small_gamma_and_large_logits():
    x = jnp.array([1e4, -1e4, 50.0, -50.0], jnp.float32)
    y = jnp.array([1.0, 0.0, 1.0, 0.0], jnp.float32)
    grad = jax.grad(lambda v: jaxloss.sigmoid_focal_loss(v, y, gamma=0.5).sum())(x)
    assert np.isfinite(grad).all()


def _numpy_softmax_focal(x, labels, alpha, gamma):
    log_p = scipy.special.log_softmax(x, axis=-1)
    lp = np.take_along_axis(log_p, labels[..., None], -1)[..., 0]
    loss = -((1 - np.exp(lp)) ** gamma) * lp
    if alpha is not None:
        loss = np.asarray(alpha)[labels] * loss
    return loss


@pytest.mark.parametrize("gamma", [0.0, 0.7, 2.0])
def test_softmax_focal_matches_numpy_integer_and_one_hot(rng, gamma):
    x = rng.normal(scale=2.0, size=(6, 4))
    labels = rng.integers(0, 4, size=6)
    alpha = rng.uniform(0.2, 1.0, size=4)
    expected = _numpy_softmax_focal(x, labels, alpha, gamma)
    ours_int = jaxloss.softmax_focal_loss(
        jnp.asarray(x), jnp.asarray(labels), alpha=alpha, gamma=gamma
    )
    ours_hot = jaxloss.softmax_focal_loss(
        jnp.asarray(x), jax.nn.one_hot(labels, 4, dtype=jnp.float64), alpha=alpha, gamma=gamma
    )
    np.testing.assert_allclose(ours_int, expected, rtol=1e-7)
    np.testing.assert_allclose(ours_hot, expected, rtol=1e-7)


def test_softmax_focal_gamma_zero_is_cross_entropy(rng):
    x = jnp.asarray(rng.normal(size=(5, 3)))
    labels = jnp.asarray(rng.integers(0, 3, size=5))
    np.testing.assert_allclose(
        jaxloss.softmax_focal_loss(x, labels, gamma=0.0),
        jaxloss.softmax_cross_entropy_with_integer_labels(x, labels),
        rtol=1e-12,
    )


def test_sigmoid_focal_gamma_zero_is_bce(rng):
    x = jnp.asarray(rng.normal(size=(5, 3)))
    y = jnp.asarray(rng.uniform(size=(5, 3)))
    np.testing.assert_allclose(
        jaxloss.sigmoid_focal_loss(x, y, gamma=0.0),
        jaxloss.sigmoid_binary_cross_entropy(x, y),
        rtol=1e-12,
    )


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize(
    "options",
    [{}, {"label_smoothing": 0.2}, {"ignore_index": 3}],
    ids=["plain", "smooth", "ignore"],
)
def test_integer_label_cross_entropy_low_precision_matches_torch(dtype, options):
    # bfloat16/float16 logits take a custom VJP (one fused backward pass); torch in float32 on
    # the same rounded logits is the reference for values and gradients.
    rng = np.random.default_rng(11)
    logits = jnp.asarray(3 * rng.normal(size=(4, 6, 40)), dtype)
    labels = rng.integers(0, 40, size=(4, 6))
    labels[0, :2] = 3

    def loss(x):
        return jaxloss.softmax_cross_entropy_with_integer_labels(
            x, jnp.asarray(labels), reduction="mean", **options
        )

    value, grad = jax.value_and_grad(loss)(logits)
    assert value.dtype == dtype and grad.dtype == dtype
    t_logits = torch.tensor(np.asarray(logits.astype(jnp.float32))).requires_grad_(True)
    t_loss = torch.nn.functional.cross_entropy(
        t_logits.reshape(-1, 40),
        torch.tensor(labels).reshape(-1),
        label_smoothing=options.get("label_smoothing", 0.0),
        ignore_index=options.get("ignore_index", -100),
    )
    t_loss.backward()
    eps = float(jnp.finfo(dtype).eps)
    np.testing.assert_allclose(float(value), t_loss.item(), rtol=2 * eps)
    np.testing.assert_allclose(
        np.asarray(grad.astype(jnp.float32)), t_logits.grad.numpy(), atol=eps / 24, rtol=2 * eps
    )
    # vmap over the leading axis agrees with the batched call.
    per_row = jax.vmap(
        jax.grad(
            lambda x, y: jaxloss.softmax_cross_entropy_with_integer_labels(x, y, reduction="sum")
        )
    )(logits, jnp.asarray(labels))
    full = jax.grad(
        lambda x: jaxloss.softmax_cross_entropy_with_integer_labels(
            x, jnp.asarray(labels), reduction="sum"
        )
    )(logits)
    np.testing.assert_array_equal(np.asarray(per_row), np.asarray(full))
