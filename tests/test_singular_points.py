"""Values, gradients and Hessians at singular points, against independent references.

Each test reproduces one report of wrong derivatives (finite, but wrong) and checks the fixed
value, gradient and, where the loss is smooth, Hessian against torch, MONAI or the same
formula written in numpy and evaluated in float64. Property tests (hypothesis) draw exact
zeros, ties, saturated logits and absent classes.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from monai import losses as monai_losses

import jaxloss as jl

F32 = {"rtol": 1e-5, "atol": 1e-6}


def _torch(x, requires_grad=False):
    return torch.tensor(np.asarray(x, np.float64), requires_grad=requires_grad)


def _value_grad_hessian(fn, x):
    """Summed value, gradient and full Hessian of `fn` at `x`, in one jitted program."""
    total = lambda a: jnp.sum(fn(a))  # noqa: E731
    return jax.jit(lambda a: (total(a), jax.grad(total)(a), jax.hessian(total)(a)))(x)


def _torch_value_grad_hessian(fn, x):
    xt = _torch(x, requires_grad=True)
    value = fn(xt).sum()
    (grad,) = torch.autograd.grad(value, xt)
    hessian = torch.autograd.functional.hessian(lambda a: fn(a).sum(), _torch(x))
    return value.item(), grad.numpy(), hessian.numpy().reshape(np.size(x), np.size(x))


# 1. Sigmoid binary cross-entropy (and everything built on it) at a logit of exactly 0 -------

LABELS = np.array([1.0, 0.0, 0.3])


@pytest.mark.parametrize("pos_weight", [None, 2.0])
def test_sigmoid_bce_at_logit_zero_matches_torch(pos_weight):
    x = np.zeros(3, np.float32)
    ours = _value_grad_hessian(
        lambda a: jl.sigmoid_binary_cross_entropy(
            a, jnp.asarray(LABELS, jnp.float32), pos_weight=pos_weight
        ),
        jnp.asarray(x),
    )
    pw = None if pos_weight is None else _torch(pos_weight)

    def ref(a):
        return torch.nn.functional.binary_cross_entropy_with_logits(
            a, _torch(LABELS), pos_weight=pw, reduction="none"
        )

    expected = _torch_value_grad_hessian(ref, x)
    for got, want in zip(ours, expected, strict=True):
        np.testing.assert_allclose(got, want, **F32)
    # sigmoid(0) - y, scaled by the positive weight on the positive part
    p = 1.0 if pos_weight is None else pos_weight
    np.testing.assert_allclose(ours[1], 0.5 * (1 - LABELS) - 0.5 * p * LABELS, **F32)


@pytest.mark.parametrize("gamma", [0.0, 2.0, 0.5])
def test_sigmoid_focal_at_logit_zero_matches_torchvision_formula(gamma):
    # torchvision.ops.sigmoid_focal_loss without alpha, written in torch float64.
    def ref(a):
        p = torch.sigmoid(a)
        y = _torch(LABELS)
        ce = torch.nn.functional.binary_cross_entropy_with_logits(a, y, reduction="none")
        p_t = p * y + (1 - p) * (1 - y)
        return ce * (1 - p_t) ** gamma

    x = np.zeros(3, np.float32)
    ours = _value_grad_hessian(
        lambda a: jl.sigmoid_focal_loss(a, jnp.asarray(LABELS, jnp.float32), gamma=gamma),
        jnp.asarray(x),
    )
    for got, want in zip(ours, _torch_value_grad_hessian(ref, x), strict=True):
        np.testing.assert_allclose(got, want, **F32)


def test_sigmoid_paths_of_the_segmentation_losses_at_logit_zero():
    """dice_bce, one-channel dice_ce and sigmoid dice_focal: gradients as MONAI's at 0."""
    x = np.zeros((1, 2, 2, 1))
    y = np.array([[[[1.0], [0.0]], [[0.0], [1.0]]]])
    xt, yt = _torch(np.moveaxis(x, -1, 1), True), _torch(np.moveaxis(y, -1, 1))
    y32 = jnp.asarray(y, jnp.float32)  # concrete targets, as in an eager call
    pairs = [
        (
            lambda a: jl.dice_bce_loss(a, y32),
            monai_losses.DiceCELoss(sigmoid=True),
        ),
        (
            lambda a: jl.dice_cross_entropy_loss(a, y32),
            monai_losses.DiceCELoss(sigmoid=True),
        ),
        (
            lambda a: jl.dice_focal_loss(a, y32, activation="sigmoid"),
            monai_losses.DiceFocalLoss(sigmoid=True),
        ),
    ]
    # one program: the three losses' values and gradients
    all_ours = jax.jit(
        lambda a: [jax.value_and_grad(lambda a, f=f: jnp.sum(f(a)))(a) for f, _ in pairs]
    )(x.astype(np.float32))
    for ours, (_, monai_fn) in zip(all_ours, pairs, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = monai_fn(xt, yt)
        (grad,) = torch.autograd.grad(value, xt)
        np.testing.assert_allclose(ours[0], value.item(), **F32)
        np.testing.assert_allclose(ours[1], np.moveaxis(grad.numpy(), 1, -1), **F32)


# 2. smooth=0 in the Dice family: NaN gradients for a confident prediction ------------------

CONFIDENT = np.array([[[[60.0, 0.0, 0.0]]]])
ONE_HOT = np.array([[[[1.0, 0.0, 0.0]]]])
DICE_FAMILY = [
    jl.dice_loss,
    jl.dice_coefficient,
    jl.tversky_loss,
    jl.focal_tversky_loss,
    jl.iou_loss,
    jl.multiclass_generalized_dice_loss,
    jl.generalized_dice_loss,
    jl.dice_cross_entropy_loss,
    jl.dice_focal_loss,
]


@pytest.mark.parametrize("fn", DICE_FAMILY, ids=lambda f: f.__name__)
def test_dice_family_smooth_zero_gradient_equals_float64(fn):
    # concrete targets, as in an eager call
    one_hot = {dtype: jnp.asarray(ONE_HOT, dtype) for dtype in ("float32", "float64")}

    def loss(x):
        return jnp.sum(fn(x, one_hot[x.dtype.name], smooth=0.0, axis=(1, 2)))

    # one program: float32 and float64
    (v32, g32), (v64, g64) = jax.jit(
        lambda x32, x64: (jax.value_and_grad(loss)(x32), jax.value_and_grad(loss)(x64))
    )(CONFIDENT.astype(np.float32), CONFIDENT.astype(np.float64))
    assert np.all(np.isfinite(g32)), g32
    np.testing.assert_allclose(v32, v64, rtol=1e-6)
    np.testing.assert_allclose(g32, g64, rtol=1e-5, atol=1e-30)


def test_dice_loss_smooth_zero_matches_monai_value_and_gradient():
    xt = _torch(np.moveaxis(CONFIDENT, -1, 1), True)
    value = monai_losses.DiceLoss(softmax=True, smooth_nr=0.0, smooth_dr=0.0)(
        xt, _torch(np.moveaxis(ONE_HOT, -1, 1))
    )
    (grad,) = torch.autograd.grad(value, xt)
    one_hot = jnp.asarray(ONE_HOT)  # concrete, as in an eager call
    ours = jax.jit(  # one program: value and gradient
        jax.value_and_grad(
            lambda a: jnp.sum(jl.dice_cross_entropy_loss(a, one_hot, lambda_ce=0.0, smooth=0.0))
        )
    )(CONFIDENT)
    np.testing.assert_allclose(ours[0], value.item(), rtol=1e-12)
    np.testing.assert_allclose(ours[1], np.moveaxis(grad.numpy(), 1, -1), rtol=1e-9, atol=1e-40)


# 3. dice_focal_loss against MONAI, values and gradients --------------------------------------


def _monai_dice_focal(x, y, *, softmax, ignore_background, gamma, alpha):
    """MONAI 1.6: DiceFocalLoss(sigmoid=True), or DiceLoss(softmax) + FocalLoss(use_softmax)."""
    xt, yt = _torch(np.moveaxis(x, -1, 1), True), _torch(np.moveaxis(y, -1, 1))
    include = not ignore_background
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if softmax:
            a = None if alpha is None else (alpha if np.ndim(alpha) == 0 else torch.tensor(alpha))
            if a is not None and np.ndim(alpha) and ignore_background:
                a = a[1:]
            dice = monai_losses.DiceLoss(softmax=True, include_background=include)(xt, yt)
            focal = monai_losses.FocalLoss(
                use_softmax=True, include_background=include, gamma=gamma, alpha=a
            )(xt, yt)
            value = dice + focal
        else:
            value = monai_losses.DiceFocalLoss(
                sigmoid=True, include_background=include, gamma=gamma, alpha=alpha
            )(xt, yt)
    (grad,) = torch.autograd.grad(value, xt)
    return value.item(), np.moveaxis(grad.numpy(), 1, -1)


@pytest.mark.parametrize(
    "softmax,ignore_background,gamma,alpha",
    [
        (True, False, 2.0, None),
        (True, True, 2.0, None),
        (True, False, 0.5, 0.25),
        (True, True, 2.0, [0.2, 0.3, 0.5]),
        (False, False, 0.5, 0.25),
        (False, True, 2.0, None),
    ],
)
def test_dice_focal_matches_monai(softmax, ignore_background, gamma, alpha):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 2, 3, 3)) * 2
    y = np.eye(3)[rng.integers(0, 3, (1, 2, 3))] if softmax else rng.integers(0, 2, (1, 2, 3, 3))
    y = y.astype(np.float64)
    expected = _monai_dice_focal(
        x, y, softmax=softmax, ignore_background=ignore_background, gamma=gamma, alpha=alpha
    )
    alpha = None if alpha is None else jnp.asarray(alpha)
    y = jnp.asarray(y)  # concrete, as in an eager call
    ours = jax.jit(  # one program: value and gradient
        jax.value_and_grad(
            lambda a: jnp.sum(
                jl.dice_focal_loss(
                    a,
                    y,
                    activation="softmax" if softmax else "sigmoid",
                    ignore_background=ignore_background,
                    gamma=gamma,
                    alpha=alpha,
                )
            )
        )
    )(x)
    # MONAI's FocalLoss computes in float32 (`input.float()`).
    np.testing.assert_allclose(ours[0], expected[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], expected[1], rtol=1e-5, atol=1e-8)


def test_dice_focal_issue_example_without_background():
    """A 2x2x3 map without the background: the focal term is MONAI's (class 0 dropped first)."""
    x = np.array([[[1.0, 2.0, 0.5], [0.3, -1.0, 2.0]], [[0.0, 0.4, -0.3], [2.0, 1.0, 0.0]]])[None]
    y = np.eye(3)[np.array([[[1, 2], [0, 1]]])]
    focal = monai_losses.FocalLoss(use_softmax=True, include_background=False)(
        _torch(np.moveaxis(x, -1, 1)), _torch(np.moveaxis(y, -1, 1))
    ).item()
    ours = jl.dice_focal_loss(
        jnp.asarray(x), jnp.asarray(y), lambda_dice=0.0, ignore_background=True
    )
    np.testing.assert_allclose(ours[0], focal, rtol=1e-6)


def test_dice_focal_scalar_alpha_without_background_is_refused():
    with pytest.raises(ValueError, match="`alpha`"):
        jl.dice_focal_loss(
            jnp.zeros((1, 2, 2, 3)), jnp.zeros((1, 2, 2), int), alpha=0.25, ignore_background=True
        )


# 4. perceptual_loss(normalize_features=True, eps=0) with a zero feature vector --------------


def test_perceptual_loss_zero_feature_vector_with_eps_zero():
    def features(images):
        flat = images.reshape(images.shape[0], -1, images.shape[-1])
        return {"a": flat * jnp.array([[[1.0, 0.0, 0.0]]])}

    x, y = np.zeros((1, 2, 2, 3)), jnp.asarray(np.ones((1, 2, 2, 3)))
    fn = lambda a: jnp.sum(  # noqa: E731
        jl.perceptual_loss(a, y, feature_fn=features, normalize_features=True, eps=0.0)
    )
    value, grad = jax.jit(jax.value_and_grad(fn))(x)  # one program
    # The zero vector stays zero; the target's unit vector is (1, 0, 0): MSE over 3 channels.
    np.testing.assert_allclose(value, 1.0 / 3.0, rtol=1e-6)
    assert np.all(np.isfinite(grad))


# 5. Negative NumPy class_weights are refused under jit too -----------------------------------


@pytest.mark.parametrize(
    "fn",
    [
        jl.dice_loss,
        jl.dice_coefficient,
        jl.tversky_loss,
        jl.focal_tversky_loss,
        jl.iou_loss,
        jl.dice_bce_loss,
        jl.dice_cross_entropy_loss,
        jl.dice_focal_loss,
    ],
    ids=lambda f: f.__name__,
)
def test_negative_numpy_class_weights_raise_under_jit(fn):
    x, y = jnp.zeros((2, 4, 3)), jnp.zeros((2, 4, 3))
    weights = np.array([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="`class_weights`"):
        jax.jit(lambda a: fn(a, y, class_weights=weights, axis=1))(x)


# 6. sigmoid_focal_loss Hessian at gamma < 1 and logits of +-50..100 (optax's own test) --------


def test_sigmoid_focal_extreme_logits_hessian_equals_float64():
    x = np.array([100.0, -100.0, 75.0, -75.0, 50.0, -50.0])
    y = np.array([0.9, 0.1, 0.8, 0.2, 1.0, 0.0])

    def run(dtype):
        return _value_grad_hessian(
            lambda a: jl.sigmoid_focal_loss(a, jnp.asarray(y, dtype), gamma=0.5),
            jnp.asarray(x, dtype),
        )

    low, high = run(jnp.float32), run(jnp.float64)
    for got, want in zip(low, high, strict=True):
        assert np.all(np.isfinite(got))
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-30)


def test_softmax_focal_saturated_logits_hessian_equals_float64():
    x = np.array([[100.0, 0.0, 0.0, -3.0]])

    def run(dtype, labels):
        return _value_grad_hessian(
            lambda a: jl.softmax_focal_loss(a, labels, gamma=0.5), jnp.asarray(x, dtype)
        )

    for labels in (jnp.asarray(np.array([0])), jnp.asarray(np.eye(4)[:1])):
        low, high = run(jnp.float32, labels), run(jnp.float64, labels)
        for got, want in zip(low, high, strict=True):
            assert np.all(np.isfinite(got))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-12)


# Property tests: random logits with exact zeros and saturation, against torch ----------------

_LOGIT = st.one_of(st.just(0.0), st.just(60.0), st.just(-60.0), st.floats(-30.0, 30.0))
_LABEL = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))
N = 6


@given(
    st.lists(_LOGIT, min_size=N, max_size=N),
    st.lists(_LABEL, min_size=N, max_size=N),
    st.sampled_from([0.0, 0.5, 2.0]),
)
def test_sigmoid_losses_property_against_torch(logits, labels, gamma):
    x, y = np.asarray(logits), np.asarray(labels)
    xt, yt = _torch(x, True), _torch(y)
    ce = torch.nn.functional.binary_cross_entropy_with_logits(xt, yt, reduction="none")
    # (1 - p_t)^gamma in log space: the plain power has a NaN derivative once 1 - p_t rounds
    # to 0 (x = 60, y = 1 in float64), which is exactly what this property draws.
    log_q = torch.logaddexp(
        torch.log1p(-yt) + torch.nn.functional.logsigmoid(xt),
        torch.log(yt) + torch.nn.functional.logsigmoid(-xt),
    )
    ref = (ce * torch.exp(gamma * log_q)).sum()
    (ref_grad,) = torch.autograd.grad(ref, xt)
    value, grad = _focal_value_and_grad(jnp.asarray(x), jnp.asarray(y), gamma)
    np.testing.assert_allclose(value, ref.item(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grad, ref_grad.numpy(), rtol=1e-7, atol=1e-12)


@jax.jit
def _focal_value_and_grad_impl(x, y, gamma):
    return jax.value_and_grad(lambda a: jnp.sum(jl.sigmoid_focal_loss(a, y, gamma=gamma)))(x)


def _focal_value_and_grad(x, y, gamma):
    # gamma is traced here (one compile for every drawn gamma): the general log-space path.
    return _focal_value_and_grad_impl(x, y, jnp.asarray(gamma))


@given(
    st.lists(st.sampled_from([0.0, 60.0, -60.0, 1.0]), min_size=3, max_size=3),
    st.integers(0, 2),
)
def test_dice_smooth_zero_property_against_monai(logits, label):
    """Ties, saturated logits and absent classes: value and gradient equal MONAI's (float64)."""
    x = np.asarray(logits).reshape(1, 1, 1, 3)
    y = np.eye(3)[[[[label]]]]
    xt = _torch(np.moveaxis(x, -1, 1), True)
    value = monai_losses.DiceLoss(softmax=True, smooth_nr=0.0, smooth_dr=0.0)(
        xt, _torch(np.moveaxis(y, -1, 1))
    )
    (grad,) = torch.autograd.grad(value, xt)
    ours = _dice_value_and_grad(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(ours[0], value.item(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours[1], np.moveaxis(grad.numpy(), 1, -1), rtol=1e-7, atol=1e-12)


@jax.jit
def _dice_value_and_grad(x, y):
    return jax.value_and_grad(
        lambda a: jnp.sum(jl.dice_cross_entropy_loss(a, y, lambda_ce=0.0, smooth=0.0))
    )(x)
