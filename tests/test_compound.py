"""Reference tests for jaxloss.compound: Dice plus BCE, cross-entropy or focal loss.

Oracles: MONAI's `DiceLoss` and `FocalLoss` written in numpy (tests/overlap_helpers.py);
torch CPU for the (binary) cross-entropy terms (`binary_cross_entropy_with_logits`,
`cross_entropy` with `weight`, `label_smoothing` and `ignore_index`); numpy formulas for
masks and weights. The identities tie each compound loss to `dice_coefficient` (pixel term
weighted 0) and to its pixel loss (Dice term weighted 0).
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import jaxloss as jl
from tests.overlap_helpers import (
    TOL,
    cf,
    checked,
    inputs,
    j,
    masked_mean,
    mean_over,
    monai_dice,
    monai_sigmoid_focal,
    monai_softmax_focal,
    sigmoid,
    softmax,
    to_torch,
)

COMPOUND = (jl.dice_bce_loss, jl.dice_cross_entropy_loss, jl.dice_focal_loss)


def test_dice_bce_matches_monai_and_torch(rng):
    x = rng.standard_normal((3, 4, 5, 2))
    t = rng.integers(0, 2, (3, 4, 5, 2)).astype(np.float64)
    pos_weight = np.array([2.0, 0.5])
    dice = monai_dice(cf(sigmoid(x)), cf(t), smooth=1e-4).mean(-1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        to_torch(x), to_torch(t), pos_weight=to_torch(pos_weight), reduction="none"
    ).numpy()
    expected = 0.6 * dice + 1.7 * mean_over(bce, 1)
    ours = j(jl.dice_bce_loss)(
        jnp.asarray(x),
        jnp.asarray(t),
        lambda_dice=0.6,
        lambda_bce=1.7,
        smooth=1e-4,
        pos_weight=jnp.asarray(pos_weight),
    )
    np.testing.assert_allclose(ours, expected, **TOL)


def _torch_ce(logits, labels, w, label_smoothing=0.0):
    """torch cross_entropy(weight=w) per example: sum_i w_yi l_i / sum_i w_yi (MONAI
    DiceCELoss); labels of -100 are ignored."""
    return np.array(
        [
            torch.nn.functional.cross_entropy(
                to_torch(cf(logits[b : b + 1])),
                torch.from_numpy(np.array(labels[b : b + 1])).long(),
                weight=None if w is None else to_torch(w),
                label_smoothing=label_smoothing,
            ).item()
            for b in range(len(logits))
        ]
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("one_hot", [False, True])
def test_dice_cross_entropy_matches_monai_and_torch(rng, label_smoothing, one_hot):
    logits, labels, onehot = inputs(rng, (3, 4, 5, 3))
    w = np.array([0.5, 1.0, 2.0])
    dice = monai_dice(cf(softmax(logits)), cf(onehot), include_background=False)
    dice = (dice * w[1:]).mean(-1)
    expected = 0.4 * dice + 1.3 * _torch_ce(logits, labels, w, label_smoothing)
    ours = j(jl.dice_cross_entropy_loss)(
        logits,
        onehot if one_hot else labels,
        lambda_dice=0.4,
        lambda_ce=1.3,
        class_weights=jnp.asarray(w),
        label_smoothing=label_smoothing,
        ignore_background=True,
    )
    np.testing.assert_allclose(ours, expected, **TOL)


def test_dice_cross_entropy_binary_uses_bce(rng):
    x = rng.standard_normal((3, 4, 5, 1))
    t = rng.integers(0, 2, (3, 4, 5)).astype(np.float64)
    dice = monai_dice(cf(sigmoid(x)), cf(t[..., None]))[:, 0]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        to_torch(x[..., 0]), to_torch(t), reduction="none"
    ).numpy()
    ours = j(jl.dice_cross_entropy_loss)(jnp.asarray(x), jnp.asarray(t, jnp.int32))
    np.testing.assert_allclose(ours, dice + mean_over(bce, 1), **TOL)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_dice_focal_sigmoid_matches_monai(rng, ignore_background):
    x = rng.standard_normal((3, 4, 5, 3))
    t = rng.integers(0, 2, (3, 4, 5, 3)).astype(np.float64)
    dice = monai_dice(cf(sigmoid(x)), cf(t), include_background=not ignore_background)
    focal = monai_sigmoid_focal(x, t, 1.5)
    if ignore_background:
        focal = focal[..., 1:]
    expected = 0.3 * dice.mean(-1) + 2.0 * mean_over(focal, 1)
    ours = j(jl.dice_focal_loss)(
        jnp.asarray(x),
        jnp.asarray(t),
        lambda_dice=0.3,
        lambda_focal=2.0,
        gamma=1.5,
        activation="sigmoid",
        ignore_background=ignore_background,
    )
    np.testing.assert_allclose(ours, expected, **TOL)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_dice_focal_softmax_matches_monai(rng, ignore_background):
    logits, labels, onehot = inputs(rng, (3, 4, 5, 3))
    dice = monai_dice(cf(softmax(logits)), cf(onehot), include_background=not ignore_background)
    # MONAI FocalLoss(use_softmax=True): class 0 is dropped before the softmax, and the mean
    # runs over pixels and the kept classes.
    kept = slice(1, None) if ignore_background else slice(None)
    focal = monai_softmax_focal(np.asarray(logits)[..., kept], np.asarray(onehot)[..., kept], 2.0)
    expected = dice.mean(-1) + mean_over(focal, 1)
    ours = j(jl.dice_focal_loss)(logits, labels, ignore_background=ignore_background)
    np.testing.assert_allclose(ours, expected, **TOL)


# --- identities -----------------------------------------------------------------------------


def test_compound_losses_with_one_term_weighted_zero(rng):
    """In one jitted call: each compound loss with its pixel term weighted 0 is
    1 - dice_coefficient with the same smooth and activation (the issue: dice_cross_entropy
    with lambda_ce=0 and dice_loss used two formulas); with lambda_dice=0 it is the mean of
    its pixel loss over pixels (and channels)."""
    logits, labels, _ = inputs(rng, (3, 4, 5, 3))
    multilabel = jnp.asarray(rng.integers(0, 2, (3, 4, 5, 3)), jnp.float64)

    @jax.jit
    def run(x, y, t):
        s = 0.2
        spatial = (1, 2)
        one_minus_dice = 1.0 - jl.dice_coefficient(x, y, smooth=s)
        one_minus_sigmoid_dice = 1.0 - jl.dice_coefficient(x, t, smooth=s, activation="sigmoid")
        return {
            "ce: lambda_ce=0": (
                jl.dice_cross_entropy_loss(x, y, lambda_ce=0.0, smooth=s),
                one_minus_dice,
            ),
            "ce: defaults": (
                jl.dice_cross_entropy_loss(x, y, lambda_ce=0.0),
                1.0 - jl.dice_coefficient(x, y),
            ),
            "ce: no background": (
                jl.dice_cross_entropy_loss(x, y, lambda_ce=0.0, ignore_background=True),
                1.0 - jl.dice_coefficient(x, y, ignore_background=True),
            ),
            "bce: lambda_bce=0": (
                jl.dice_bce_loss(x, t, lambda_bce=0.0, smooth=s),
                one_minus_sigmoid_dice,
            ),
            "focal softmax: lambda_focal=0": (
                jl.dice_focal_loss(x, y, lambda_focal=0.0, smooth=s),
                one_minus_dice,
            ),
            "focal sigmoid: lambda_focal=0": (
                jl.dice_focal_loss(x, t, lambda_focal=0.0, smooth=s, activation="sigmoid"),
                one_minus_sigmoid_dice,
            ),
            "ce: lambda_dice=0": (
                jl.dice_cross_entropy_loss(x, y, lambda_dice=0.0),
                jnp.mean(jl.softmax_cross_entropy_with_integer_labels(x, y), axis=spatial),
            ),
            "bce: lambda_dice=0": (
                jl.dice_bce_loss(x, t, lambda_dice=0.0),
                jnp.mean(jl.sigmoid_binary_cross_entropy(x, t), axis=(1, 2, 3)),
            ),
            "focal sigmoid: lambda_dice=0": (
                jl.dice_focal_loss(x, t, lambda_dice=0.0, activation="sigmoid", gamma=1.5),
                jnp.mean(jl.sigmoid_focal_loss(x, t, gamma=1.5), axis=(1, 2, 3)),
            ),
            "focal softmax: lambda_dice=0": (
                jl.dice_focal_loss(x, y, lambda_dice=0.0, gamma=1.5),
                jnp.mean(jl.softmax_focal_loss(x, jax.nn.one_hot(y, 3), gamma=1.5), axis=spatial)
                / 3,
            ),
        }

    for name, (a, b) in run(logits, labels, multilabel).items():
        np.testing.assert_allclose(a, b, **TOL, err_msg=name)


# --- the new API ----------------------------------------------------------------------------


@pytest.mark.parametrize("fn", COMPOUND, ids=lambda f: f.__name__)
def test_one_smoothing_default_and_no_old_flag(fn):
    params = inspect.signature(fn).parameters
    assert params["smooth"].default == 1e-5
    assert params["reduction"].default == "none"
    assert {"where", "weights", "axis_name"} <= set(params)
    assert "sigmoid" not in params and "apply_softmax" not in params


def test_dice_focal_activation_replaces_sigmoid_flag(rng):
    x = jnp.asarray(rng.standard_normal((2, 3, 3, 3)))
    t = jnp.asarray(rng.integers(0, 2, (2, 3, 3, 3)), jnp.float64)
    with pytest.raises(TypeError, match="sigmoid"):
        jl.dice_focal_loss(x, t, sigmoid=True)
    with pytest.raises(ValueError, match="`activation`"):
        jl.dice_focal_loss(x, t, activation=None)
    # a single channel is binary whatever the activation
    np.testing.assert_allclose(
        j(jl.dice_focal_loss)(x[..., :1], t[..., :1]),
        j(jl.dice_focal_loss)(x[..., :1], t[..., :1], activation="sigmoid"),
        **TOL,
    )


# --- masks, weights, out-of-range labels ----------------------------------------------------


def test_dice_cross_entropy_where_and_weights_against_monai_and_torch(rng):
    logits, labels, onehot = inputs(rng, (5, 3, 4, 3))
    per_example = monai_dice(cf(softmax(logits)), cf(onehot)).mean(-1) + _torch_ce(
        logits, labels, None
    )
    where = np.array([True, True, False, True, False])
    weights = rng.uniform(0.5, 2.0, 5)

    @jax.jit
    def run(x, y, where, weights):
        kw = {"where": where, "weights": weights}
        return {
            r: jl.dice_cross_entropy_loss(x, y, reduction=r, **kw)
            for r in ("none", "mean", "sum_and_count")
        }

    out = run(logits, labels, jnp.asarray(where), jnp.asarray(weights))
    np.testing.assert_allclose(out["none"], where * weights * per_example, **TOL)
    np.testing.assert_allclose(out["mean"], masked_mean(per_example, where, weights), **TOL)
    total, count = out["sum_and_count"]
    np.testing.assert_allclose(total, np.sum(where * weights * per_example), **TOL)
    np.testing.assert_allclose(count, np.sum(where * weights), **TOL)


def test_out_of_range_labels_are_pixels_of_no_class(rng):
    """By default (no checked mode) a label outside [0, C) adds nothing to the Dice sums (a
    zero one-hot row) and is left out of the cross-entropy mean (torch's ignore_index)."""
    logits, labels, onehot = inputs(rng, (2, 3, 4, 3))
    w = np.array([0.5, 1.0, 2.0])
    bad = np.array(labels)  # numpy: no XLA scatter to compile
    bad[0, 1, 1], bad[1, 2, 3] = 5, -3
    bad = jnp.asarray(bad)
    zero_rows = np.asarray(onehot).copy()
    zero_rows[0, 1, 1] = zero_rows[1, 2, 3] = 0.0
    ignored = np.asarray(bad).copy()
    ignored[0, 1, 1] = ignored[1, 2, 3] = -100  # torch's default ignore_index
    dice = (monai_dice(cf(softmax(logits)), cf(zero_rows)) * w).mean(-1)  # weighs both terms
    expected = dice + _torch_ce(logits, ignored, w)
    fn = functools.partial(jl.dice_cross_entropy_loss, class_weights=jnp.asarray(w))
    run = jax.jit(lambda a, y: (fn(a, y), jax.grad(lambda b: jnp.sum(fn(b, y)))(a)))
    value, grad = run(logits, bad)
    np.testing.assert_allclose(value, expected, **TOL)
    assert np.all(np.isfinite(grad))


def _set_entry(x, index, value):
    """A concrete copy of `x` with one entry changed (numpy: no XLA scatter to compile)."""
    x = np.array(x)
    x[index] = value
    return jnp.asarray(x)


def test_checked_mode_labels(rng):
    logits, labels, onehot = inputs(rng, (2, 3, 3, 3))
    multilabel = jnp.asarray(rng.integers(0, 2, (2, 3, 3, 3)), jnp.float64)
    bad_labels = _set_entry(labels, (1, 1, 1), 3)
    cases = [
        (jl.dice_cross_entropy_loss, (logits, labels), (logits, bad_labels)),
        (jl.dice_focal_loss, (logits, onehot), (logits, _set_entry(onehot, (0, 0, 0, 0), -0.5))),
        (
            jl.dice_bce_loss,
            (logits, multilabel),
            (logits, _set_entry(multilabel, (0, 2, 2, 1), 1.01)),
        ),
    ]
    for fn, good, bad in cases:
        err, value = checked(fn)(*good)
        assert err is None, err
        np.testing.assert_allclose(value, jax.jit(fn)(*good), **TOL)
        err, _ = checked(fn)(*bad)
        assert err is not None and "`labels`" in err, (fn.__name__, err)
        with pytest.raises(ValueError, match="`labels`"):
            fn(*bad)
    # masked examples are not checked
    where = jnp.array([True, False])
    f = functools.partial(jl.dice_cross_entropy_loss, where=where)
    err, _ = checked(f)(logits, bad_labels)
    assert err is None, err


# --- edge cases and bad input ---------------------------------------------------------------


@pytest.mark.parametrize("fn", COMPOUND, ids=lambda f: f.__name__)
def test_single_pixel_and_bfloat16(rng, fn):
    x = jnp.asarray(rng.standard_normal((2, 1, 1, 3)))
    y = jnp.asarray([[[0]], [[2]]], jnp.int32)
    logits, labels, _ = inputs(rng, (2, 4, 4, 3))

    @jax.jit
    def run(x, logits, labels):  # one program: the casts too
        low, high = logits.astype(jnp.bfloat16), logits.astype(jnp.float32)
        grad_low = jax.grad(lambda a: jnp.sum(fn(a, labels).astype(jnp.float32)))(low)
        return (
            fn(x, y),
            jax.grad(lambda a: jnp.sum(fn(a, y)))(x),
            fn(low, labels),
            fn(high, labels),
            grad_low,
        )

    value, grad, low, high, grad_low = run(x, logits, labels)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
    assert low.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(low, np.float32), high, rtol=2e-2, atol=2e-2)
    assert np.all(np.isfinite(np.asarray(grad_low, np.float32)))


def test_confident_combined_losses_are_finite():
    x = np.array([[[[60.0, -60.0, -60.0]], [[-60.0, -60.0, 60.0]]]])
    y = np.array([[[0], [2]]])
    results = jax.jit(  # one program: every loss and its gradient
        lambda x, y: [
            (fn(x, y), jax.grad(lambda a, fn=fn: jnp.sum(fn(a, y)))(x)) for fn in COMPOUND
        ]
    )(x, y)
    for value, grad in results:
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad))
        assert float(value[0]) < 1e-4


def test_reductions(rng):
    logits, labels, _ = inputs(rng, (3, 4, 4, 3))

    @jax.jit
    def run(x, y):
        return [
            (fn(x, y), fn(x, y, reduction="mean"), fn(x, y, reduction="sum")) for fn in COMPOUND
        ], [fn(x, y, batch_dice=True) for fn in COMPOUND]

    per_fn, batch = run(logits, labels)
    for none, mean, total in per_fn:
        np.testing.assert_allclose(mean, np.mean(none), **TOL)
        np.testing.assert_allclose(total, np.sum(none), **TOL)
    assert all(b.shape == () for b in batch)


BAD = [
    (jl.dice_focal_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 2))), {}, "`labels`"),
    (
        jl.dice_cross_entropy_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3), int)),
        {"lambda_ce": -1.0},
        "`lambda_ce`",
    ),
    (jl.dice_focal_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"activation": 1}, "activ"),
    (
        jl.dice_bce_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"weights": jnp.ones((2, 3))},
        "`weights`",
    ),
]


@pytest.mark.parametrize("fn,args,kwargs,match", BAD, ids=[b[3] for b in BAD])
def test_bad_input_raises_clearly(fn, args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        jax.jit(functools.partial(fn, **kwargs))(*args)
