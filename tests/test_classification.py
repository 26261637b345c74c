"""Reference tests for jaxloss.classification against torch, optax, scipy and numpy formulas."""

from __future__ import annotations

import inspect

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
from jax.experimental import checkify

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


@pytest.mark.parametrize("axis", [-1, 0, (1, 2), (2, 0), None])
def test_soft_cross_entropy_matches_optax_axes_and_where(rng, axis):
    logits = jnp.asarray(rng.normal(size=(3, 4, 5)), jnp.float32)
    labels = jnp.asarray(rng.uniform(size=(3, 4, 5)), jnp.float32)
    where = rng.uniform(size=(3, 4, 5)) > 0.3

    @jax.jit  # one program: ours and optax's, without and with `where`
    def program(logits, labels, where):
        return (
            jaxloss.softmax_cross_entropy(logits, labels, axis=axis),
            optax.losses.softmax_cross_entropy(logits, labels, axis=axis),
            jaxloss.softmax_cross_entropy(logits, labels, axis, where),
            optax.losses.softmax_cross_entropy(logits, labels, axis, where),
        )

    ours, theirs, ours_where, theirs_where = program(logits, labels, where)
    np.testing.assert_allclose(ours, theirs, **TOL)
    np.testing.assert_allclose(ours_where, theirs_where, **TOL)


def test_soft_cross_entropy_example_mask_matches_optax(rng):
    logits = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    raw_labels = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    where = np.array([True, False, True, True, False, True])

    @jax.jit  # one program: ours, optax's and our mean
    def program(logits, raw_labels, where):
        labels = jax.nn.softmax(raw_labels)
        return (
            jaxloss.softmax_cross_entropy(logits, labels, where=where),
            optax.losses.softmax_cross_entropy(logits, labels, where=where),
            jaxloss.softmax_cross_entropy(logits, labels, where=where, reduction="mean"),
        )

    ours, theirs, mean = program(logits, raw_labels, where)
    np.testing.assert_allclose(ours, theirs, **TOL)
    np.testing.assert_allclose(mean, np.asarray(ours)[np.asarray(where)].mean(), **TOL)


def test_soft_cross_entropy_neg_inf_logits_are_finite_where_optax_is_nan():
    logits = np.array([[2.0, -np.inf, 0.5, -np.inf]])
    labels = np.array([[0.25, 0.0, 0.75, 0.0]])

    @jax.jit  # one program: optax's, ours with its gradient, and both safe versions
    def program(logits, labels):
        value, grad = jax.value_and_grad(lambda x: jaxloss.softmax_cross_entropy(x, labels).sum())(
            logits
        )
        return {
            "optax": optax.losses.softmax_cross_entropy(logits, labels),
            "value": value,
            "grad": grad,
            "safe": jaxloss.safe_softmax_cross_entropy(logits, labels),
            "optax_safe": optax.losses.safe_softmax_cross_entropy(logits, labels),
        }

    res = jax.tree.map(np.asarray, program(logits, labels))
    assert np.isnan(res["optax"]).all()
    value, grad = res["value"], res["grad"]
    # Reference: the same loss over the two finite classes only (numpy formula).
    finite = np.array([2.0, 0.5])
    log_p = finite - scipy.special.logsumexp(finite)
    np.testing.assert_allclose(value, -(0.25 * log_p[0] + 0.75 * log_p[1]), **TOL)
    expected_grad = scipy.special.softmax(finite) - np.array([0.25, 0.75])
    np.testing.assert_allclose(grad[0, [0, 2]], expected_grad, **TOL)
    np.testing.assert_array_equal(grad[0, [1, 3]], 0.0)
    np.testing.assert_allclose(res["safe"], res["optax_safe"], **TOL)


def test_positive_label_on_neg_inf_logit_is_inf():
    out = jaxloss.softmax_cross_entropy(jnp.array([[0.0, -jnp.inf]]), jnp.array([[0.5, 0.5]]))
    assert np.isposinf(out).all()


def test_all_masked_examples_give_zero_mean_and_zero_grad():
    logits = np.ones((3, 4))
    where = np.zeros((3, 4), bool)

    @jax.jit  # one program: the value and its gradient
    def program(logits, where):
        labels = jax.nn.one_hot(jnp.array([0, 1, 2]), 4)

        def loss(x):
            return jaxloss.softmax_cross_entropy(x, labels, where=where, reduction="mean")

        return jax.value_and_grad(loss)(logits)

    value, grad = program(logits, where)
    assert np.asarray(value) == 0.0
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
    actual = jax.jit(  # one program
        lambda x, y: jaxloss.softmax_cross_entropy_with_integer_labels(x, y, axis=1)
    )(logits, labels)
    np.testing.assert_allclose(actual, expected, **TOL)


# (2, 1): a tuple of class axes is flattened in the order given, as optax does.
@pytest.mark.parametrize("axis", [-1, 0, (1, 2), (2, 1)])
def test_integer_cross_entropy_matches_optax(rng, axis):
    logits = jnp.asarray(rng.normal(size=(3, 4, 5)), jnp.float32)
    axes = (axis,) if isinstance(axis, int) else axis
    batch_shape = tuple(s for i, s in enumerate(logits.shape) if i not in [a % 3 for a in axes])
    num = int(np.prod([logits.shape[a] for a in axes]))
    labels = rng.integers(0, num, size=batch_shape)
    where = rng.uniform(size=logits.shape) > 0.2
    ours, theirs = jax.jit(  # one program: ours and optax's
        lambda logits, labels, where: (
            jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels, axis, where),
            optax.losses.softmax_cross_entropy_with_integer_labels(logits, labels, axis, where),
        )
    )(logits, labels, where)
    np.testing.assert_allclose(ours, theirs, **TOL)


def test_all_ignored_batch_gives_zero_not_nan():
    logits = jnp.asarray(np.random.default_rng(0).normal(size=(4, 3)), jnp.float32)
    labels = np.full((4,), -1)
    torch_value = F.cross_entropy(
        torch.from_numpy(np.array(logits)), torch.from_numpy(np.array(labels)), ignore_index=-1
    )
    assert torch.isnan(torch_value)

    def loss(x):
        return jaxloss.softmax_cross_entropy_with_integer_labels(
            x, labels, ignore_index=-1, reduction="mean", label_smoothing=0.1
        )

    value, grad = jax.jit(jax.value_and_grad(loss))(logits)  # one program
    assert np.asarray(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)


def test_out_of_range_label_gives_nan_under_jit_and_raises_when_concrete():
    ce = jaxloss.softmax_cross_entropy_with_integer_labels
    out = jax.jit(ce)(jnp.zeros((3, 3)), jnp.array([7, 1, -1]))
    assert np.isnan(out[0]) and np.isnan(out[2]) and np.isfinite(out[1])
    with pytest.raises(ValueError, match=r"`labels` must hold class ids in \[0, 3\); got 7"):
        ce(jnp.zeros((1, 3)), jnp.array([7]))


@jax.jit  # one program per number of classes, shared by the examples
def _integer_and_one_hot(logits, labels):
    one_hot = jax.nn.one_hot(labels, logits.shape[-1], dtype=jnp.float64)
    a = jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels)
    return a, jaxloss.softmax_cross_entropy(logits, one_hot)


@given(
    st.lists(st.floats(-30, 30), min_size=2, max_size=6),
    st.integers(0, 5),
)
def test_integer_labels_equal_one_hot_labels(values, label):
    logits = np.asarray(values, np.float64)[None]
    label = label % logits.shape[-1]
    a, b = _integer_and_one_hot(logits, np.array([label]))
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert float(np.asarray(a)[0]) >= 0.0


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_low_precision_logits_accumulate_in_float32(rng, dtype):
    logits = rng.normal(size=(64, 1000)) * 3
    labels = rng.integers(0, 1000, size=(64,))
    ce = jaxloss.softmax_cross_entropy_with_integer_labels

    @jax.jit  # one program: the low-precision loss and the float32 one on the same logits
    def program(low_logits, labels):
        return ce(low_logits, labels), ce(jnp.asarray(low_logits, jnp.float32), labels)

    low, ref = program(jnp.asarray(logits, dtype), labels)
    assert low.dtype == dtype
    np.testing.assert_allclose(np.asarray(low, np.float32), ref, rtol=1e-2)


def test_extreme_logits_float32_and_float16():
    ce = jaxloss.softmax_cross_entropy_with_integer_labels
    labels = np.array([0, 1])
    big = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0]], np.float32)
    half = np.array([[6e4, -6e4, 0.0]], np.float16)

    @jax.jit  # one program for the float32 and the float16 cases
    def program(big, half):
        value, grad = jax.value_and_grad(lambda x: ce(x, labels).sum())(big)
        ok = ce(half, jnp.array([0]))
        g = jax.grad(lambda x: ce(x, jnp.array([0]))[0])(half)
        return value, grad, ok, g, ce(half, jnp.array([1]))

    value, grad, ok, g, overflow = jax.tree.map(np.asarray, program(big, half))
    np.testing.assert_allclose(value, 2e4, rtol=1e-6)
    assert np.isfinite(grad).all()
    # float16 inputs are computed in float32 and the result cast back: a loss of 1.2e5 exceeds
    # float16's range and overflows to inf, one of 0 stays exact.
    assert ok.dtype == jnp.float16 and float(ok[0]) == 0.0
    assert np.isfinite(np.asarray(g, np.float32)).all()
    assert np.isposinf(overflow).all()


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
    x = rng.normal(size=(5, 3))
    labels = rng.integers(0, 3, size=5)
    focal, ce = jax.jit(  # one program: both losses
        lambda x, labels: (
            jaxloss.softmax_focal_loss(x, labels, gamma=0.0),
            jaxloss.softmax_cross_entropy_with_integer_labels(x, labels),
        )
    )(x, labels)
    np.testing.assert_allclose(focal, ce, rtol=1e-12)


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
    ce = jaxloss.softmax_cross_entropy_with_integer_labels
    logits = jnp.asarray(3 * rng.normal(size=(4, 6, 40)), dtype)
    labels = rng.integers(0, 40, size=(4, 6))
    labels[0, :2] = 3

    @jax.jit  # one program: value and gradient, and the per-row and batched gradients below
    def program(logits, labels):
        value, grad = jax.value_and_grad(lambda x: ce(x, labels, reduction="mean", **options))(
            logits
        )
        per_row = jax.vmap(jax.grad(lambda x, y: ce(x, y, reduction="sum")))(logits, labels)
        full = jax.grad(lambda x: ce(x, labels, reduction="sum"))(logits)
        return value, grad, per_row, full

    value, grad, per_row, full = program(logits, labels)
    assert value.dtype == dtype and grad.dtype == dtype
    t_logits = torch.tensor(np.asarray(logits).astype(np.float32)).requires_grad_(True)
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
        np.asarray(grad).astype(np.float32), t_logits.grad.numpy(), atol=eps / 24, rtol=2 * eps
    )
    # vmap over the leading axis agrees with the batched call.
    np.testing.assert_array_equal(np.asarray(per_row), np.asarray(full))


# safe_softmax_cross_entropy: the options of softmax_cross_entropy ---------------------------


def test_safe_softmax_cross_entropy_takes_every_option_of_softmax_cross_entropy():
    safe = inspect.signature(jaxloss.safe_softmax_cross_entropy).parameters
    full = inspect.signature(jaxloss.softmax_cross_entropy).parameters
    assert set(safe) == set(full)
    # optax's positional signature (logits, labels); every option keyword-only.
    positional = [n for n, p in safe.items() if p.kind != inspect.Parameter.KEYWORD_ONLY]
    assert positional == list(inspect.signature(optax.losses.safe_softmax_cross_entropy).parameters)
    assert all(safe[n].default == full[n].default for n in safe if n not in positional)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_safe_softmax_cross_entropy_options_match_torch(rng, reduction):
    k, shape = 5, (3, 4)
    logits, labels = _logits(rng, shape, k), _soft(rng, shape, k)
    weights = rng.uniform(0.5, 2.0, k)
    expected = F.cross_entropy(
        _t(np.moveaxis(logits, -1, 1)),
        _t(np.moveaxis(labels, -1, 1)),
        weight=_t(weights),
        label_smoothing=0.1,
        reduction=reduction,
    ).numpy()
    actual = jaxloss.safe_softmax_cross_entropy(
        jnp.asarray(np.moveaxis(logits, -1, 0), jnp.float32),
        jnp.asarray(np.moveaxis(labels, -1, 0), jnp.float32),
        axis=0,
        label_smoothing=0.1,
        class_weights=jnp.asarray(weights, jnp.float32),
        reduction=reduction,
    )
    np.testing.assert_allclose(actual, expected, **TOL)


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "safe_softmax_cross_entropy"])
@pytest.mark.parametrize("dtype", [jnp.int32, jnp.bool_])
def test_integer_and_bool_one_hot_labels_match_optax(rng, name, dtype):
    logits = jnp.asarray(rng.normal(size=(6, 4)), jnp.float32)
    labels = jax.nn.one_hot(jnp.asarray(rng.integers(0, 4, 6)), 4).astype(dtype)
    ours = getattr(jaxloss, name)(logits, labels)
    assert ours.dtype == jnp.float32
    np.testing.assert_allclose(ours, getattr(optax.losses, name)(logits, labels), **TOL)


# example masks, weights, sum_and_count, axis_name ----------------------------------------------


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_integer_cross_entropy_mask_and_weights_match_torch(rng, smoothing):
    k, shape = 5, (4, 3)
    logits = _logits(rng, shape, k)
    labels = rng.integers(0, k, size=shape)
    labels[0, 0] = -100
    class_w = rng.uniform(0.5, 2.0, k)
    v = rng.uniform(0.5, 2.0, size=shape)
    m = rng.uniform(size=shape) > 0.3
    m[0, 1] = True
    # torch's per-example values (class weights, ignore_index, smoothing); the example mask m
    # and weights v multiply them, and the mean divides by sum(m v w_y) over the counted
    # examples (torch's own denominator, sum of w_y, with the factors m v).
    per_example = F.cross_entropy(
        _t(np.moveaxis(logits, -1, 1)),
        torch.from_numpy(labels),
        weight=_t(class_w),
        ignore_index=-100,
        label_smoothing=smoothing,
        reduction="none",
    ).numpy()
    counted = m & (labels != -100)
    w_y = class_w[np.where(labels == -100, 0, labels)]
    expected_none = np.where(counted, v * per_example, 0.0)
    expected_count = np.sum(np.where(counted, v * w_y, 0.0))

    @jax.jit  # one program for the four reductions
    def program(logits, labels, m, v, class_w):
        return {
            reduction: jaxloss.softmax_cross_entropy_with_integer_labels(
                logits,
                labels,
                where=m,
                weights=v,
                class_weights=class_w,
                ignore_index=-100,
                label_smoothing=smoothing,
                reduction=reduction,
            )
            for reduction in ("none", "sum", "mean", "sum_and_count")
        }

    loss = program(logits, labels, m, v, class_w)
    np.testing.assert_allclose(loss["none"], expected_none, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss["sum"], expected_none.sum(), rtol=1e-10)
    np.testing.assert_allclose(loss["mean"], expected_none.sum() / expected_count, rtol=1e-10)
    total, count = loss["sum_and_count"]
    np.testing.assert_allclose([total, count], [expected_none.sum(), expected_count], rtol=1e-10)


@pytest.mark.parametrize("name", ["softmax_cross_entropy", "softmax_focal_loss"])
def test_soft_label_losses_mask_and_weights_match_numpy(rng, name):
    k, shape = 4, (5, 2)
    logits, labels = _logits(rng, shape, k), _soft(rng, shape, k)
    v = rng.uniform(0.5, 2.0, size=shape)
    m = rng.uniform(size=shape) > 0.4
    m[0, 0] = True
    # The per-example values from numpy (Lin et al. eq. 5 with soft labels; gamma=0 for the
    # cross-entropy), then m v l and sum(m v l) / sum(m v).
    log_p = scipy.special.log_softmax(logits, axis=-1)
    gamma = 2.0 if name == "softmax_focal_loss" else 0.0
    per_example = -np.sum(labels * (1 - np.exp(log_p)) ** gamma * log_p, axis=-1)
    expected_none = np.where(m, v * per_example, 0.0)
    fn = getattr(jaxloss, name)

    def loss(reduction):
        return fn(
            jnp.asarray(logits),
            jnp.asarray(labels),
            where=jnp.asarray(m),
            weights=jnp.asarray(v),
            reduction=reduction,
        )

    np.testing.assert_allclose(loss("none"), expected_none, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(loss("mean"), expected_none.sum() / v[m].sum(), rtol=1e-10)


def test_micro_batch_sums_and_counts_give_the_full_batch_mean(rng):
    # Four micro-batches with 0, 1, 2 and 3 ignored tokens: adding their (sum, count) pairs and
    # dividing once equals the full-batch mean, values and gradients; a mean of means does not.
    logits = jnp.asarray(_logits(rng, (16,), 6))
    labels = rng.integers(0, 6, size=16)
    labels[[4, 8, 9, 12, 13, 14]] = -100
    labels = jnp.asarray(labels)
    class_w = jnp.asarray(rng.uniform(0.5, 2.0, 6))

    def ce(x, y, reduction):
        return jaxloss.softmax_cross_entropy_with_integer_labels(
            x, y, class_weights=class_w, ignore_index=-100, label_smoothing=0.1, reduction=reduction
        )

    @jax.jit  # one program: the full batch and the four micro-batches
    def program(logits, labels):
        full, full_grad = jax.value_and_grad(ce)(logits, labels, "mean")
        parts = [(logits[i : i + 4], labels[i : i + 4]) for i in range(0, 16, 4)]
        pairs = [ce(x, y, "sum_and_count") for x, y in parts]
        grads = [jax.grad(lambda x, y: ce(x, y, "sum_and_count")[0])(x, y) for x, y in parts]
        means = [ce(x, y, "mean") for x, y in parts]
        return full, full_grad, pairs, jnp.concatenate(grads), jnp.stack(means)

    full, full_grad, pairs, grads, means = program(logits, labels)
    total, count = (sum(float(p[i]) for p in pairs) for i in (0, 1))
    np.testing.assert_allclose(jaxloss.mean_from_sum_and_count((total, count)), full, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(grads) / count, full_grad, rtol=1e-12)
    assert abs(float(np.mean(means)) - float(full)) > 1e-3


@pytest.mark.parametrize(
    "name",
    [
        "softmax_cross_entropy",
        "safe_softmax_cross_entropy",
        "softmax_cross_entropy_with_integer_labels",
        "softmax_focal_loss",
    ],
)
def test_axis_name_reduces_over_the_global_batch(rng, name):
    # vmap with an axis name stands in for four devices: the reductions psum over "batch".
    k = 5
    logits = jnp.asarray(_logits(rng, (8,), k))
    if name in ("softmax_cross_entropy_with_integer_labels", "softmax_focal_loss"):
        labels = jnp.asarray(rng.integers(0, k, size=8))
    else:
        labels = jnp.asarray(_soft(rng, (8,), k))
    v = jnp.asarray(rng.uniform(0.5, 2.0, size=8))
    m = jnp.asarray(np.arange(8) % 3 != 0)
    fn = getattr(jaxloss, name)

    def every_reduction(x, y, v, m, axis_name=None):
        return {
            r: fn(x, y, where=m, weights=v, reduction=r, axis_name=axis_name)
            for r in ("mean", "sum", "sum_and_count")
        }

    def shards(a):
        return a.reshape(4, 2, *a.shape[1:])

    @jax.jit  # one program for every reduction and both gradients
    def both(logits, labels, v, m):
        local = jax.vmap(lambda *a: every_reduction(*a, axis_name="batch"), axis_name="batch")
        got = local(shards(logits), shards(labels), shards(v), shards(m))
        want = every_reduction(logits, labels, v, m)
        got["grad"] = jax.grad(
            lambda x: jax.vmap(
                lambda x, y, v, m: fn(
                    x, y, where=m, weights=v, reduction="mean", axis_name="batch"
                ),
                axis_name="batch",
            )(shards(x), shards(labels), shards(v), shards(m))[0]
        )(logits)
        want["grad"] = jax.grad(lambda x: fn(x, labels, where=m, weights=v, reduction="mean"))(
            logits
        )
        return got, want

    got, want = both(logits, labels, v, m)
    for r in want:
        for g, w in zip(jax.tree.leaves(got[r]), jax.tree.leaves(want[r]), strict=True):
            # the values as before (rtol only); the gradient with its old atol as well
            atol = 1e-15 if r == "grad" else 0.0
            np.testing.assert_allclose(g, np.broadcast_to(w, g.shape), rtol=1e-12, atol=atol)


# checked mode: class ids out of range -------------------------------------------------------


def _checked(f):
    return checkify.checkify(jax.jit(f), errors=checkify.user_checks)


@pytest.mark.parametrize(
    "name", ["softmax_cross_entropy_with_integer_labels", "softmax_focal_loss"]
)
def test_class_ids_out_of_range_raise_in_checked_mode(name):
    fn = getattr(jaxloss, name)
    options = {"ignore_index": -100} if "integer" in name else {}
    logits = jnp.asarray(np.random.default_rng(3).normal(size=(3, 4)))

    def f(y, m):
        return fn(logits, y, where=m, reduction="mean", **options)

    checked, everything = _checked(f), jnp.ones(3, bool)
    good = jnp.array([0, 3, -100 if options else 1])
    err, value = checked(good, everything)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(f)(good, everything))
    # An id out of range on a masked-out example is not an error.
    err, value = checked(jnp.array([0, 4, 1]), jnp.array([True, False, True]))
    assert err.get() is None and np.isfinite(value)
    for bad in ([0, 4, 1], [-1, 0, 1]):
        err, value = checked(jnp.array(bad), everything)
        assert "`labels` must hold class ids in [0, 4)" in err.get()
        assert np.isnan(value)  # the documented default value, NaN for that example
    with pytest.raises(ValueError, match="`labels`"):
        fn(logits, jnp.array([0, 4, 1]), **options)
    # Concrete labels: ignored and masked-out ids are not errors.
    fn(logits, jnp.array([0, 4, 1]), where=jnp.array([True, False, True]), **options)
