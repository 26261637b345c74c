"""Reference tests for jaxloss.segmentation.

Oracles:
- optax 0.2.8 (`optax.losses.dice_loss`, `binary_dice_loss`, `multiclass_generalized_dice_loss`)
  for the optax names;
- MONAI (not installed) written below in numpy, channel-first as MONAI takes it, from the
  formulas of monai/losses/dice.py (`DiceLoss`, `GeneralizedDiceLoss`), monai/losses/tversky.py
  (`TverskyLoss`) and monai/losses/focal_loss.py (`FocalLoss`, `softmax_focal_loss`);
- the papers (Abraham & Khan 2019 focal Tversky, Rahman & Wang 2016 soft IoU) as numpy;
- torch CPU for the (binary) cross-entropy terms of the combined losses.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import jaxloss as jl

TOL = {"rtol": 1e-10, "atol": 1e-12}  # float64 inputs against float64 numpy/torch


def _j(fn):
    """`fn` jitted with its keyword arguments closed over (much faster than op-by-op)."""

    def call(*args, **kwargs):
        return jax.jit(functools.partial(fn, **kwargs))(*args)

    return call


def _jgrad(fn):
    return jax.jit(jax.grad(fn))


def _cf(x):
    """channel-last -> channel-first (MONAI's BNHW[D])."""
    return np.moveaxis(np.asarray(x, np.float64), -1, 1)


def _softmax(x):
    x = np.asarray(x, np.float64)
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, np.float64)))


def _inputs(rng, shape, *, absent=()):
    """Logits [..., C], integer labels [...] (classes in `absent` never occur) and one-hot."""
    classes = [c for c in range(shape[-1]) if c not in absent]
    logits = rng.standard_normal(shape)
    labels = rng.choice(classes, size=shape[:-1])
    onehot = np.eye(shape[-1])[labels]
    return jnp.asarray(logits), jnp.asarray(labels, jnp.int32), jnp.asarray(onehot)


# --- MONAI, written in numpy (channel-first inputs: probabilities [B, N, spatial...]) -------


def monai_dice(
    inp,
    tgt,
    *,
    squared_pred=False,
    jaccard=False,
    batch=False,
    smooth=1e-5,
    include_background=True,
):
    """monai.losses.DiceLoss(reduction="none") on probabilities: f = 1 - (2I + s)/(den + s)."""
    if not include_background:
        inp, tgt = inp[:, 1:], tgt[:, 1:]
    axes = tuple(range(2, inp.ndim))
    if batch:
        axes = (0, *axes)
    intersection = np.sum(tgt * inp, axis=axes)
    if squared_pred:
        ground_o, pred_o = np.sum(tgt**2, axis=axes), np.sum(inp**2, axis=axes)
    else:
        ground_o, pred_o = np.sum(tgt, axis=axes), np.sum(inp, axis=axes)
    denominator = ground_o + pred_o
    if jaccard:
        denominator = 2.0 * (denominator - intersection)
    return 1.0 - (2.0 * intersection + smooth) / (denominator + smooth)


def monai_generalized_dice(
    inp, tgt, *, w_type="square", batch=False, smooth=1e-5, include_background=True
):
    """monai.losses.GeneralizedDiceLoss: inf weights replaced by the max finite weight."""
    if not include_background:
        inp, tgt = inp[:, 1:], tgt[:, 1:]
    axes = tuple(range(2, inp.ndim))
    if batch:
        axes = (0, *axes)
    intersection = np.sum(tgt * inp, axes)
    ground_o = np.sum(tgt, axes)
    denominator = ground_o + np.sum(inp, axes)
    with np.errstate(divide="ignore"):
        w = {"square": 1.0 / ground_o**2, "simple": 1.0 / ground_o, "uniform": ground_o * 0 + 1}[
            w_type
        ]
    infs = np.isinf(w)
    w = np.where(infs, 0.0, w)
    if batch:
        w = w + infs * np.max(w)
    else:
        w = w + infs * np.max(w, axis=1, keepdims=True)
    final = 0 if batch else 1
    numer = 2.0 * (intersection * w).sum(final) + smooth
    denom = (denominator * w).sum(final) + smooth
    return 1.0 - numer / denom


def monai_tversky(
    inp, tgt, *, alpha=0.5, beta=0.5, batch=False, smooth=1e-5, include_background=True
):
    """monai.losses.TverskyLoss(reduction="none"): tp, fp = alpha sum p0 g1, fn = beta sum p1 g0."""
    if not include_background:
        inp, tgt = inp[:, 1:], tgt[:, 1:]
    p0, g0 = inp, tgt
    p1, g1 = 1 - p0, 1 - g0
    axes = tuple(range(2, inp.ndim))
    if batch:
        axes = (0, *axes)
    tp = np.sum(p0 * g0, axes)
    fp = alpha * np.sum(p0 * g1, axes)
    fn = beta * np.sum(p1 * g0, axes)
    return 1.0 - (tp + smooth) / (tp + fp + fn + smooth)


def monai_sigmoid_focal(x, t, gamma):
    """monai FocalLoss (sigmoid): BCE * exp(gamma * logsigmoid(-x (2t - 1))), elementwise."""
    max_val = np.clip(-x, 0, None)
    ce = x - x * t + max_val + np.log(np.exp(-max_val) + np.exp(-x - max_val))
    return np.exp(gamma * -np.logaddexp(0, x * (t * 2.0 - 1.0))) * ce


def monai_softmax_focal(x, t, gamma):
    """monai softmax_focal_loss, channel-last: -(1 - p)^gamma log p t, per class."""
    ls = np.log(_softmax(x))
    return -((1 - np.exp(ls)) ** gamma) * ls * t


def _mean_over(x, keep):
    """Mean over every axis but the first `keep` ones."""
    return np.mean(np.asarray(x).reshape(*np.shape(x)[:keep], -1), axis=-1)


# --- optax parity ---------------------------------------------------------------------------

OPTAX_OPTIONS = [
    {},
    {"reduction": "none"},
    {"reduction": "sum"},
    {"alpha": 0.3, "beta": 0.7},
    {"smooth": 0.0},
    {"ignore_background": True},
    {"class_weights": jnp.array([0.5, 2.0, 1.0])},
    {"class_weights": jnp.array([0.5, 2.0, 1.0]), "ignore_background": True},
    {"axis": (1,)},
]


@pytest.mark.parametrize("shape", [(2, 5, 4, 3), (3, 2, 3, 4, 3)])
@pytest.mark.parametrize("kwargs", OPTAX_OPTIONS, ids=lambda k: ",".join(k) or "defaults")
def test_dice_loss_matches_optax(rng, shape, kwargs):
    logits, labels, onehot = _inputs(rng, shape)
    with jax.numpy_rank_promotion("allow"):  # optax multiplies [B, C] by [C]
        expected = optax.losses.dice_loss(logits, onehot, **kwargs)
    np.testing.assert_allclose(_j(jl.dice_loss)(logits, onehot, **kwargs), expected, **TOL)
    # integer labels are one-hot encoded
    np.testing.assert_allclose(_j(jl.dice_loss)(logits, labels, **kwargs), expected, **TOL)


def test_dice_loss_matches_optax_on_probabilities_and_binary_maps(rng):
    logits, _, onehot = _inputs(rng, (3, 4, 5, 3))
    probs = jax.nn.softmax(logits)
    expected = optax.losses.dice_loss(probs, onehot, apply_softmax=False)
    np.testing.assert_allclose(
        _j(jl.dice_loss)(probs, onehot, apply_softmax=False), expected, **TOL
    )
    # binary: a single channel goes through the sigmoid; optax accepts a missing channel axis
    x = jnp.asarray(rng.standard_normal((2, 4, 5)))
    t = jnp.asarray(rng.integers(0, 2, (2, 4, 5, 1)), jnp.float64)
    np.testing.assert_allclose(
        _j(jl.dice_loss)(x, t), optax.losses.dice_loss(x, t), **TOL
    )  # predictions without channel
    np.testing.assert_allclose(
        _j(jl.dice_loss)(x[..., None], t[..., 0]),
        optax.losses.dice_loss(x[..., None], t[..., 0]),
        **TOL,
    )


def test_dice_loss_works_under_jit_with_probabilities_where_optax_fails(rng):
    # optax 0.2.8 validates `sum(probs) == 1` with a Python `if` on a traced array.
    logits, _, onehot = _inputs(rng, (2, 4, 4, 3))
    probs = jax.nn.softmax(logits)
    eager = optax.losses.dice_loss(probs, onehot, apply_softmax=False)
    ours = jax.jit(functools.partial(jl.dice_loss, apply_softmax=False))(probs, onehot)
    np.testing.assert_allclose(ours, eager, **TOL)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(functools.partial(optax.losses.dice_loss, apply_softmax=False))(probs, onehot)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 1), (4, 6)])
def test_binary_dice_loss_matches_optax(rng, shape):
    x = jnp.asarray(rng.standard_normal(shape))
    t = jnp.asarray(rng.integers(0, 2, shape), jnp.float64)
    expected = optax.losses.binary_dice_loss(x, t, smooth=0.5)
    np.testing.assert_allclose(_j(jl.binary_dice_loss)(x, t, smooth=0.5), expected, **TOL)
    np.testing.assert_allclose(
        _j(jl.binary_dice_loss)(x, t, reduction="mean"),
        jnp.mean(optax.losses.binary_dice_loss(x, t)),
        **TOL,
    )
    # integer masks are accepted as masks
    np.testing.assert_allclose(
        _j(jl.binary_dice_loss)(x, t.astype(jnp.int32), smooth=0.5), expected
    )


def test_binary_dice_loss_on_probabilities(rng):
    # optax rejects single-channel probabilities (they do not "sum to 1"); the value is the
    # Dice loss of optax's formula, checked here against MONAI's with smooth 2 s.
    p = jnp.asarray(rng.uniform(size=(3, 4, 5)))
    t = jnp.asarray(rng.integers(0, 2, (3, 4, 5)), jnp.float64)
    expected = monai_dice(np.asarray(p)[:, None], np.asarray(t)[:, None], smooth=2.0)[:, 0]
    np.testing.assert_allclose(_j(jl.binary_dice_loss)(p, t, apply_sigmoid=False), expected, **TOL)


@pytest.mark.parametrize("ignore_background", [False, True])
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 3, 2, 4)])
def test_multiclass_generalized_dice_matches_optax(rng, shape, ignore_background):
    logits, labels, onehot = _inputs(rng, shape, absent=(1,))
    kw = {"ignore_background": ignore_background, "smooth": 0.5}
    with jax.numpy_rank_promotion("allow"):  # optax multiplies [B, C] by [C]
        expected = optax.losses.multiclass_generalized_dice_loss(logits, onehot, **kw)
    np.testing.assert_allclose(
        _j(jl.multiclass_generalized_dice_loss)(logits, onehot, **kw), expected
    )
    per_example = _j(jl.multiclass_generalized_dice_loss)(logits, labels, reduction="none", **kw)
    assert per_example.shape == shape[:1]
    np.testing.assert_allclose(jnp.mean(per_example), expected, **TOL)


# --- MONAI definitions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"squared": True}, {"batch_dice": True}, {"ignore_background": True}],
    ids=lambda o: ",".join(o) or "plain",
)
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 2, 4, 2)])
def test_dice_loss_matches_monai(rng, shape, options):
    # optax's form (I + s) / ((P + T)/2 + s) is MONAI's (2I + s') / (P + T + s') with s' = 2s.
    logits, labels, _ = _inputs(rng, shape)
    probs = _softmax(logits)
    onehot = np.eye(shape[-1])[np.asarray(labels)]
    expected = monai_dice(
        _cf(probs),
        _cf(onehot),
        squared_pred=options.get("squared", False),
        batch=options.get("batch_dice", False),
        include_background=not options.get("ignore_background", False),
        smooth=2 * 0.3,
    )
    ours = _j(jl.dice_loss)(logits, labels, smooth=0.3, reduction="none", **options)
    np.testing.assert_allclose(ours, expected, **TOL)
    coefficient = _j(jl.dice_coefficient)(logits, labels, smooth=0.3, **options)
    np.testing.assert_allclose(coefficient, 1.0 - expected.mean(-1), **TOL)


def test_dice_coefficient_class_weights_and_identity(rng):
    logits, labels, _ = _inputs(rng, (3, 4, 5, 3))
    onehot = np.eye(3)[np.asarray(labels)]
    per_class = 1.0 - monai_dice(_cf(_softmax(logits)), _cf(onehot), smooth=2.0)
    w = np.array([0.2, 1.0, 3.0])
    expected = (per_class * w).sum(-1) / w.sum()
    np.testing.assert_allclose(_j(jl.dice_coefficient)(logits, labels, class_weights=w), expected)
    # dice_loss == 1 - dice_coefficient when the weights average to 1
    w1 = jnp.asarray(w / w.mean())
    np.testing.assert_allclose(
        _j(jl.dice_loss)(logits, labels, class_weights=w1),
        1.0 - _j(jl.dice_coefficient)(logits, labels, class_weights=w1),
        **TOL,
    )
    # zero weights everywhere: coefficient 1, loss 0
    zero = jnp.zeros(3)
    np.testing.assert_allclose(_j(jl.dice_coefficient)(logits, labels, class_weights=zero), 1.0)
    np.testing.assert_allclose(_j(jl.dice_loss)(logits, labels, class_weights=zero), 0.0)


@pytest.mark.parametrize("weight_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("batch_dice", [False, True])
@pytest.mark.parametrize("ignore_background", [False, True])
def test_generalized_dice_matches_monai(rng, weight_type, batch_dice, ignore_background):
    # class 2 never occurs (infinite weight), and example 0 is all background
    logits, labels, _ = _inputs(rng, (3, 4, 5, 4), absent=(2,))
    labels = labels.at[0].set(0)
    onehot = np.eye(4)[np.asarray(labels)]
    expected = monai_generalized_dice(
        _cf(_softmax(logits)),
        _cf(onehot),
        w_type=weight_type,
        batch=batch_dice,
        include_background=not ignore_background,
    )
    ours = _j(jl.generalized_dice_loss)(
        logits,
        labels,
        weight_type=weight_type,
        batch_dice=batch_dice,
        ignore_background=ignore_background,
    )
    np.testing.assert_allclose(ours, np.reshape(expected, ours.shape), **TOL)


def test_generalized_dice_soft_targets_and_3d(rng):
    x = rng.standard_normal((2, 3, 2, 4, 3))
    t = _softmax(3 * rng.standard_normal((2, 3, 2, 4, 3)))
    expected = monai_generalized_dice(_cf(_softmax(x)), _cf(t), smooth=0.1)
    ours = _j(jl.generalized_dice_loss)(jnp.asarray(x), jnp.asarray(t), smooth=0.1)
    np.testing.assert_allclose(ours, expected, **TOL)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.7), (0.8, 0.1), (0.0, 1.0)])
@pytest.mark.parametrize("batch_dice", [False, True])
def test_tversky_matches_monai(rng, alpha, beta, batch_dice):
    logits, labels, _ = _inputs(rng, (3, 5, 4, 3))
    onehot = np.eye(3)[np.asarray(labels)]
    kw = {"alpha": alpha, "beta": beta, "batch_dice": batch_dice}
    expected = monai_tversky(
        _cf(_softmax(logits)), _cf(onehot), alpha=alpha, beta=beta, batch=batch_dice
    )
    np.testing.assert_allclose(_j(jl.tversky_loss)(logits, labels, **kw), expected.mean(-1), **TOL)
    w = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(
        _j(jl.tversky_loss)(logits, labels, class_weights=w, **kw), (expected * w).mean(-1), **TOL
    )
    no_bg = monai_tversky(
        _cf(_softmax(logits)),
        _cf(onehot),
        alpha=alpha,
        beta=beta,
        batch=batch_dice,
        include_background=False,
    )
    np.testing.assert_allclose(
        _j(jl.tversky_loss)(logits, labels, ignore_background=True, **kw), no_bg.mean(-1), **TOL
    )


def test_tversky_binary_sigmoid_matches_monai(rng):
    x = rng.standard_normal((3, 4, 5, 1))
    t = rng.integers(0, 2, (3, 4, 5, 1)).astype(np.float64)
    expected = monai_tversky(_cf(_sigmoid(x)), _cf(t), alpha=0.2, beta=0.8)[:, 0]
    ours = _j(jl.tversky_loss)(jnp.asarray(x), jnp.asarray(t), alpha=0.2, beta=0.8)
    np.testing.assert_allclose(ours, expected, **TOL)


def test_focal_tversky_matches_abraham_and_khan(rng):
    # Abraham & Khan 2019: TI_c = (TP + e) / (TP + a FN + b FP + e), a = 0.7 (false negatives),
    # b = 0.3 (false positives); FTL = (1 - TI_c)^(1/g) with g = 4/3.
    logits, labels, _ = _inputs(rng, (3, 5, 4, 3))
    p = _softmax(logits)
    g = np.eye(3)[np.asarray(labels)]
    s = 1e-5
    tp = (p * g).sum((1, 2))
    fn = ((1 - p) * g).sum((1, 2))
    fp = (p * (1 - g)).sum((1, 2))
    ti = (tp + s) / (tp + 0.7 * fn + 0.3 * fp + s)
    expected = ((1 - ti) ** (1 / (4 / 3))).mean(-1)
    np.testing.assert_allclose(_j(jl.focal_tversky_loss)(logits, labels), expected, **TOL)
    ours = _j(jl.focal_tversky_loss)(logits, labels, alpha=0.5, beta=0.5, gamma=2.0)
    dice_form = monai_tversky(_cf(p), _cf(g))
    np.testing.assert_allclose(ours, (dice_form**2).mean(-1), **TOL)


@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 2, 2, 2)])
def test_iou_matches_rahman_and_wang_and_monai_jaccard(rng, shape):
    logits, labels, _ = _inputs(rng, shape)
    p = _softmax(logits)
    t = np.eye(shape[-1])[np.asarray(labels)]
    axes = tuple(range(1, p.ndim - 1))
    s = 0.2
    # Rahman & Wang 2016: I = sum p t, U = sum (p + t - p t)
    iou = ((p * t).sum(axes) + s) / ((p + t - p * t).sum(axes) + s)
    np.testing.assert_allclose(_j(jl.iou_loss)(logits, labels, smooth=s), (1 - iou).mean(-1), **TOL)
    # MONAI DiceLoss(jaccard=True): 1 - (2I + s')/(2 (den - I) + s'), s' = 2s
    for squared in (False, True):
        expected = monai_dice(_cf(p), _cf(t), jaccard=True, squared_pred=squared, smooth=2 * s)
        ours = _j(jl.iou_loss)(logits, labels, smooth=s, squared=squared)
        np.testing.assert_allclose(ours, expected.mean(-1), **TOL)


def test_batch_dice_equals_one_example_of_concatenated_maps(rng):
    logits, labels, _ = _inputs(rng, (3, 4, 5, 3))
    joined_x, joined_y = logits.reshape(1, 12, 5, 3), labels.reshape(1, 12, 5)
    for fn in (jl.dice_coefficient, jl.tversky_loss, jl.iou_loss, jl.generalized_dice_loss):
        np.testing.assert_allclose(
            _j(fn)(logits, labels, batch_dice=True), _j(fn)(joined_x, joined_y)[0], **TOL
        )


def test_axis_and_several_batch_axes(rng):
    logits, labels, _ = _inputs(rng, (2, 3, 4, 5, 3))
    ours = _j(jl.tversky_loss)(logits, labels, axis=(-3, -2))
    assert ours.shape == (2, 3)
    for i in range(2):
        np.testing.assert_allclose(ours[i], _j(jl.tversky_loss)(logits[i], labels[i]), **TOL)


# --- combined losses ------------------------------------------------------------------------


def _torch(x):
    return torch.from_numpy(np.array(x, np.float64))


def test_dice_bce_matches_monai_and_torch(rng):
    x = rng.standard_normal((3, 4, 5, 2))
    t = rng.integers(0, 2, (3, 4, 5, 2)).astype(np.float64)
    pos_weight = np.array([2.0, 0.5])
    dice = monai_dice(_cf(_sigmoid(x)), _cf(t), smooth=1e-4).mean(-1)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        _torch(x), _torch(t), pos_weight=_torch(pos_weight), reduction="none"
    ).numpy()
    expected = 0.6 * dice + 1.7 * _mean_over(bce, 1)
    ours = _j(jl.dice_bce_loss)(
        jnp.asarray(x),
        jnp.asarray(t),
        lambda_dice=0.6,
        lambda_bce=1.7,
        smooth=1e-4,
        pos_weight=jnp.asarray(pos_weight),
    )
    np.testing.assert_allclose(ours, expected, **TOL)


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("one_hot", [False, True])
def test_dice_cross_entropy_matches_monai_and_torch(rng, label_smoothing, one_hot):
    logits, labels, onehot = _inputs(rng, (3, 4, 5, 3))
    w = np.array([0.5, 1.0, 2.0])
    dice = monai_dice(_cf(_softmax(logits)), _cf(onehot), include_background=False)
    dice = (dice * w[1:]).mean(-1)
    # torch cross_entropy(weight=w) per example: sum_i w_yi l_i / sum_i w_yi (MONAI DiceCELoss)
    ce = [
        torch.nn.functional.cross_entropy(
            _torch(_cf(logits[b : b + 1])),
            torch.from_numpy(np.array(labels[b : b + 1])).long(),
            weight=_torch(w),
            label_smoothing=label_smoothing,
        ).item()
        for b in range(3)
    ]
    expected = 0.4 * dice + 1.3 * np.array(ce)
    ours = _j(jl.dice_cross_entropy_loss)(
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
    dice = monai_dice(_cf(_sigmoid(x)), _cf(t[..., None]))[:, 0]
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        _torch(x[..., 0]), _torch(t), reduction="none"
    ).numpy()
    ours = _j(jl.dice_cross_entropy_loss)(jnp.asarray(x), jnp.asarray(t, jnp.int32))
    np.testing.assert_allclose(ours, dice + _mean_over(bce, 1), **TOL)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_dice_focal_sigmoid_matches_monai(rng, ignore_background):
    x = rng.standard_normal((3, 4, 5, 3))
    t = rng.integers(0, 2, (3, 4, 5, 3)).astype(np.float64)
    dice = monai_dice(_cf(_sigmoid(x)), _cf(t), include_background=not ignore_background)
    focal = monai_sigmoid_focal(x, t, 1.5)
    if ignore_background:
        focal = focal[..., 1:]
    expected = 0.3 * dice.mean(-1) + 2.0 * _mean_over(focal, 1)
    ours = _j(jl.dice_focal_loss)(
        jnp.asarray(x),
        jnp.asarray(t),
        lambda_dice=0.3,
        lambda_focal=2.0,
        gamma=1.5,
        sigmoid=True,
        ignore_background=ignore_background,
    )
    np.testing.assert_allclose(ours, expected, **TOL)


@pytest.mark.parametrize("ignore_background", [False, True])
def test_dice_focal_softmax_matches_monai(rng, ignore_background):
    logits, labels, onehot = _inputs(rng, (3, 4, 5, 3))
    dice = monai_dice(_cf(_softmax(logits)), _cf(onehot), include_background=not ignore_background)
    # MONAI FocalLoss(use_softmax=True): class 0 is dropped before the softmax, and the mean
    # runs over pixels and the kept classes.
    kept = slice(1, None) if ignore_background else slice(None)
    focal = monai_softmax_focal(np.asarray(logits)[..., kept], np.asarray(onehot)[..., kept], 2.0)
    expected = dice.mean(-1) + _mean_over(focal, 1)
    ours = _j(jl.dice_focal_loss)(logits, labels, ignore_background=ignore_background)
    np.testing.assert_allclose(ours, expected, **TOL)


# --- properties -----------------------------------------------------------------------------


N_PIXELS = 5  # one shape, so each property compiles once


@st.composite
def _binary_maps(draw):
    """A binary map [1, N_PIXELS, 1] of probabilities and its 0/1 target."""
    p = draw(st.lists(st.floats(0.0, 1.0), min_size=N_PIXELS, max_size=N_PIXELS))
    t = draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=N_PIXELS, max_size=N_PIXELS))
    return jnp.asarray(p).reshape(1, N_PIXELS, 1), jnp.asarray(t).reshape(1, N_PIXELS, 1)


@jax.jit
def _overlap_family(p, t, smooth):
    """Every overlap loss of one binary map, smoothing traced (no recompilation)."""
    kw = {"apply_softmax": False, "smooth": smooth}
    return {
        "dice": jl.dice_coefficient(p, t, **kw)[0],
        "dice_loss": jl.dice_loss(p, t, **kw)[0],
        "iou_loss": jl.iou_loss(p, t, **kw)[0],
        "tversky_dice": jl.tversky_loss(p, t, **kw)[0],
        "tversky_jaccard": jl.tversky_loss(p, t, alpha=1.0, beta=1.0, **kw)[0],
        "tversky_37": jl.tversky_loss(p, t, alpha=0.3, beta=0.7, **kw)[0],
        "focal_tversky_1": jl.focal_tversky_loss(p, t, gamma=1.0, **kw)[0],
    }


@given(_binary_maps(), st.floats(0.0, 2.0))
def test_dice_coefficient_in_unit_interval(maps, smooth):
    d = float(_overlap_family(*maps, smooth)["dice"])
    assert -1e-12 <= d <= 1 + 1e-12


@given(_binary_maps())
def test_jaccard_is_dice_over_two_minus_dice(maps):
    out = _overlap_family(*maps, 0.0)
    d, j = out["dice"], 1.0 - out["iou_loss"]
    np.testing.assert_allclose(j, d / (2.0 - d), rtol=1e-9, atol=1e-12)


@given(_binary_maps(), st.floats(0.0, 1.0))
def test_tversky_special_cases(maps, smooth):
    out = _overlap_family(*maps, smooth)
    np.testing.assert_allclose(out["tversky_dice"], out["dice_loss"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["tversky_jaccard"], out["iou_loss"], atol=1e-12)
    np.testing.assert_allclose(out["focal_tversky_1"], out["tversky_37"], atol=1e-12)


# --- edge cases -----------------------------------------------------------------------------

OVERLAP_LOSSES = {
    "dice_loss": jl.dice_loss,
    "binary_dice_loss": functools.partial(jl.binary_dice_loss, apply_sigmoid=False),
    "multiclass_generalized_dice_loss": functools.partial(
        jl.multiclass_generalized_dice_loss, reduction="none"
    ),
    "generalized_dice_loss": jl.generalized_dice_loss,
    "tversky_loss": jl.tversky_loss,
    "focal_tversky_loss": jl.focal_tversky_loss,
    "iou_loss": jl.iou_loss,
}


def _call(name, fn, p, t, **kwargs):
    if name != "binary_dice_loss":
        kwargs["apply_softmax"] = False
    return _j(fn)(p, t, **kwargs)


@pytest.mark.parametrize("name", sorted(OVERLAP_LOSSES))
@pytest.mark.parametrize("smooth", [None, 0.0])
def test_empty_prediction_and_target_give_zero(name, smooth):
    fn = OVERLAP_LOSSES[name]
    kwargs = {} if smooth is None else {"smooth": smooth}
    shape = (2, 3, 3) if name == "binary_dice_loss" else (2, 3, 3, 2)
    zeros = jnp.zeros(shape)
    value = _call(name, fn, zeros, zeros, **kwargs)
    np.testing.assert_array_equal(value, 0.0)
    grad = _jgrad(lambda p: jnp.sum(_call(name, fn, p, zeros, **kwargs)))(zeros)
    assert bool(jnp.all(jnp.isfinite(grad)))


@pytest.mark.parametrize("name", sorted(OVERLAP_LOSSES))
def test_perfect_prediction_gives_zero(name):
    fn = OVERLAP_LOSSES[name]
    if name == "binary_dice_loss":
        t = jnp.asarray([[[1.0, 0.0], [0.0, 1.0]]])
    else:
        t = jax.nn.one_hot(jnp.array([[[0, 1], [1, 2]]]), 3)
    value = _call(name, fn, t, t, smooth=0.0)
    np.testing.assert_allclose(value, 0.0, atol=1e-15)
    grad = _jgrad(lambda p: jnp.sum(_call(name, fn, p, t, smooth=0.0)))(t)
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_all_background_values(rng):
    # every pixel is class 0; the absent classes have T = 0
    logits = jnp.asarray(rng.standard_normal((2, 3, 3, 3)))
    labels = jnp.zeros((2, 3, 3), jnp.int32)
    onehot = np.eye(3)[np.zeros((2, 3, 3), int)]
    probs = _cf(_softmax(logits))
    np.testing.assert_allclose(
        _j(jl.generalized_dice_loss)(logits, labels),
        monai_generalized_dice(probs, _cf(onehot)),
        **TOL,
    )
    np.testing.assert_allclose(
        _j(jl.tversky_loss)(logits, labels), monai_tversky(probs, _cf(onehot)).mean(-1), **TOL
    )
    # with the background ignored no class is present: generalized Dice weights are all 0
    np.testing.assert_allclose(
        _j(jl.generalized_dice_loss)(logits, labels, ignore_background=True),
        monai_generalized_dice(probs, _cf(onehot), include_background=False),
        **TOL,
    )
    np.testing.assert_allclose(
        _j(jl.generalized_dice_loss)(logits, labels, ignore_background=True), 0.0, atol=1e-12
    )


def test_generalized_dice_every_class_absent_is_zero():
    p = jnp.full((2, 3, 3, 2), 0.3)
    value = _j(jl.generalized_dice_loss)(p, jnp.zeros((2, 3, 3, 2)), apply_softmax=False)
    np.testing.assert_allclose(value, 0.0, atol=1e-12)
    grad = _jgrad(
        lambda q: jnp.sum(
            _j(jl.generalized_dice_loss)(q, jnp.zeros((2, 3, 3, 2)), apply_softmax=False)
        )
    )(p)
    assert bool(jnp.all(jnp.isfinite(grad)))


ALL = [
    jl.dice_coefficient,
    jl.dice_loss,
    jl.multiclass_generalized_dice_loss,
    jl.generalized_dice_loss,
    jl.tversky_loss,
    jl.focal_tversky_loss,
    jl.iou_loss,
    jl.dice_bce_loss,
    jl.dice_cross_entropy_loss,
    jl.dice_focal_loss,
]


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_single_pixel_and_bfloat16(rng, fn):
    x = jnp.asarray(rng.standard_normal((2, 1, 1, 3)))
    y = jnp.asarray([[[0]], [[2]]], jnp.int32)
    value = _j(fn)(x, y)
    grad = _jgrad(lambda a: jnp.sum(_j(fn)(a, y)))(x)
    assert bool(jnp.all(jnp.isfinite(value))) and bool(jnp.all(jnp.isfinite(grad)))
    # bfloat16 inputs: bfloat16 output, close to the float32 value (computed in float32)
    logits, labels, _ = _inputs(rng, (2, 4, 4, 3))
    low = _j(fn)(logits.astype(jnp.bfloat16), labels)
    assert low.dtype == jnp.bfloat16
    np.testing.assert_allclose(
        np.asarray(low, np.float32),
        _j(fn)(logits.astype(jnp.float32), labels),
        rtol=2e-2,
        atol=2e-2,
    )
    grad = _jgrad(lambda a: jnp.sum(_j(fn)(a, labels).astype(jnp.float32)))(
        logits.astype(jnp.bfloat16)
    )
    assert bool(jnp.all(jnp.isfinite(grad.astype(jnp.float32))))


def test_focal_tversky_gradient_at_perfect_prediction_is_zero():
    t = jax.nn.one_hot(jnp.array([[0, 1, 1]]), 2)
    grad = _jgrad(lambda p: jnp.sum(_j(jl.focal_tversky_loss)(p, t, apply_softmax=False)))(t)
    np.testing.assert_array_equal(grad, 0.0)


def test_confident_combined_losses_are_finite():
    x = jnp.array([[[[60.0, -60.0, -60.0]], [[-60.0, -60.0, 60.0]]]])
    y = jnp.array([[[0], [2]]])
    for fn in (jl.dice_bce_loss, jl.dice_cross_entropy_loss, jl.dice_focal_loss):
        value = _j(fn)(x, y)
        grad = _jgrad(lambda a, fn=fn: jnp.sum(_j(fn)(a, y)))(x)
        assert bool(jnp.all(jnp.isfinite(value))) and bool(jnp.all(jnp.isfinite(grad)))
        assert float(value[0]) < 1e-4


# --- reductions and bad input ---------------------------------------------------------------


def test_reductions(rng):
    logits, labels, _ = _inputs(rng, (3, 4, 4, 3))
    assert _j(jl.dice_loss)(logits, labels, reduction="none").shape == (3, 3)
    assert _j(jl.dice_loss)(logits, labels, ignore_background=True, reduction="none").shape == (
        3,
        2,
    )
    for fn in (jl.generalized_dice_loss, jl.tversky_loss, jl.dice_focal_loss):
        none = _j(fn)(logits, labels, reduction="none")
        np.testing.assert_allclose(_j(fn)(logits, labels, reduction="mean"), jnp.mean(none), **TOL)
        np.testing.assert_allclose(_j(fn)(logits, labels, reduction="sum"), jnp.sum(none), **TOL)
        if fn is not jl.multiclass_generalized_dice_loss:
            assert _j(fn)(logits, labels, batch_dice=True).shape == ()
    with pytest.raises(ValueError, match="`reduction`"):
        _j(jl.dice_loss)(logits, labels, reduction="batchmean")


BAD = [
    (jl.dice_loss, (jnp.ones((2, 3, 3, 3)), jnp.ones((2, 3, 3, 2))), {}, "channel mismatch"),
    (jl.dice_loss, (jnp.ones((3,)), jnp.ones((3,))), {}, "`predictions` must have rank"),
    (jl.tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3, 3, 3))), {}, "`targets`"),
    (jl.tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 4), int)), {}, "integer `targets`"),
    (jl.tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"alpha": -0.5}, "`alpha`"),
    (jl.focal_tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"beta": -1}, "`beta`"),
    (jl.dice_coefficient, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"alpha": -1}, "`alpha`"),
    (
        jl.generalized_dice_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"weight_type": "log"},
        "`weight_type`",
    ),
    (
        jl.dice_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"class_weights": jnp.ones(2)},
        "`class_weights`",
    ),
    (jl.iou_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"axis": (1, 2)}, "`axis`"),
    (jl.iou_loss, (jnp.ones((2, 3, 3), int), jnp.ones((2, 3), int)), {}, "`predictions`"),
    (jl.dice_focal_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 2))), {}, "`labels`"),
    (
        jl.dice_cross_entropy_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3), int)),
        {"lambda_ce": -1.0},
        "`lambda_ce`",
    ),
]


@pytest.mark.parametrize("fn,args,kwargs,match", BAD, ids=[b[3] for b in BAD])
def test_bad_input_raises_clearly(fn, args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        jax.jit(functools.partial(fn, **kwargs))(*args)
