"""Reference tests for jaxloss.overlap: Dice coefficient, generalized Dice, Tversky, focal
Tversky, IoU, and the identities that tie them to one smoothing formula.

Oracles: MONAI 1.6 (`monai.losses.DiceLoss`, installed) and MONAI's formulas written in
numpy (tests/overlap_helpers.py); the papers (Abraham & Khan 2019 focal Tversky, Rahman &
Wang 2016 soft IoU) as numpy; numpy formulas for masks and weights. The multi-device check
(``axis_name``) of the whole overlap family (dice, overlap, compound) runs here, in a
subprocess with 4 simulated devices.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from monai import losses as monai_losses

import jaxloss as jl
from tests.overlap_helpers import (
    TOL,
    cf,
    checked,
    inputs,
    j,
    jgrad,
    masked_mean,
    monai_dice,
    monai_generalized_dice,
    monai_tversky,
    sigmoid,
    softmax,
    to_torch,
)

# --- MONAI definitions ----------------------------------------------------------------------


def test_dice_coefficient_default_is_monai_dice_loss_default(rng):
    """The family's one smoothing and default: 1 - dice_coefficient == MONAI DiceLoss with
    its defaults (smooth_nr = smooth_dr = 1e-5), on classes that are absent too."""
    logits, labels, onehot = inputs(rng, (3, 4, 5, 3), absent=(2,))
    monai = monai_losses.DiceLoss(softmax=True, reduction="none")(
        to_torch(cf(logits)), to_torch(cf(onehot))
    )
    expected = 1.0 - monai.numpy().reshape(3, 3).mean(-1)
    np.testing.assert_allclose(j(jl.dice_coefficient)(logits, labels), expected, rtol=1e-12)


def test_dice_coefficient_class_weights(rng):
    logits, labels, _ = inputs(rng, (3, 4, 5, 3))
    onehot = np.eye(3)[np.asarray(labels)]
    w = np.array([0.2, 1.0, 3.0])

    @jax.jit
    def run(x, y):
        return (
            jl.dice_coefficient(x, y, class_weights=w, smooth=0.5),
            jl.dice_coefficient(x, y, class_weights=jnp.zeros(3)),
        )

    weighted, zero = run(logits, labels)
    per_class = 1.0 - monai_dice(cf(softmax(logits)), cf(onehot), smooth=0.5)
    np.testing.assert_allclose(weighted, (per_class * w).sum(-1) / w.sum(), **TOL)
    # zero weights everywhere: coefficient 1
    np.testing.assert_allclose(zero, 1.0)


@pytest.mark.parametrize(
    "options",
    [{}, {"squared": True}, {"batch_dice": True}, {"ignore_background": True}],
    ids=lambda o: ",".join(o) or "plain",
)
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 2, 4, 2)])
def test_dice_coefficient_matches_monai(rng, shape, options):
    logits, labels, _ = inputs(rng, shape)
    onehot = np.eye(shape[-1])[np.asarray(labels)]
    expected = monai_dice(
        cf(softmax(logits)),
        cf(onehot),
        squared_pred=options.get("squared", False),
        batch=options.get("batch_dice", False),
        include_background=not options.get("ignore_background", False),
        smooth=0.3,
    )
    ours = j(jl.dice_coefficient)(logits, labels, smooth=0.3, **options)
    np.testing.assert_allclose(ours, 1.0 - expected.mean(-1), **TOL)


@pytest.mark.parametrize("weight_type", ["square", "simple", "uniform"])
@pytest.mark.parametrize("batch_dice", [False, True])
@pytest.mark.parametrize("ignore_background", [False, True])
def test_generalized_dice_matches_monai(rng, weight_type, batch_dice, ignore_background):
    # class 2 never occurs (infinite weight), and example 0 is all background
    logits, labels, _ = inputs(rng, (3, 4, 5, 4), absent=(2,))
    labels = labels.at[0].set(0)
    onehot = np.eye(4)[np.asarray(labels)]
    expected = monai_generalized_dice(
        cf(softmax(logits)),
        cf(onehot),
        w_type=weight_type,
        batch=batch_dice,
        include_background=not ignore_background,
    )
    ours = j(jl.generalized_dice_loss)(
        logits,
        labels,
        weight_type=weight_type,
        batch_dice=batch_dice,
        ignore_background=ignore_background,
    )
    np.testing.assert_allclose(ours, np.reshape(expected, ours.shape), **TOL)


def test_generalized_dice_soft_targets_and_3d(rng):
    x = rng.standard_normal((2, 3, 2, 4, 3))
    t = softmax(3 * rng.standard_normal((2, 3, 2, 4, 3)))
    expected = monai_generalized_dice(cf(softmax(x)), cf(t), smooth=0.1)
    ours = j(jl.generalized_dice_loss)(jnp.asarray(x), jnp.asarray(t), smooth=0.1)
    np.testing.assert_allclose(ours, expected, **TOL)


@pytest.mark.parametrize("alpha,beta", [(0.5, 0.5), (0.3, 0.7), (0.8, 0.1), (0.0, 1.0)])
@pytest.mark.parametrize("batch_dice", [False, True])
def test_tversky_matches_monai(rng, alpha, beta, batch_dice):
    logits, labels, _ = inputs(rng, (3, 5, 4, 3))
    onehot = np.eye(3)[np.asarray(labels)]
    kw = {"alpha": alpha, "beta": beta, "batch_dice": batch_dice}
    w = np.array([0.5, 1.0, 2.0])

    @jax.jit
    def run(x, y):
        return (
            jl.tversky_loss(x, y, **kw),
            jl.tversky_loss(x, y, class_weights=w, **kw),
            jl.tversky_loss(x, y, ignore_background=True, **kw),
        )

    plain, weighted, no_bg = run(logits, labels)
    p = cf(softmax(logits))
    expected = monai_tversky(p, cf(onehot), alpha=alpha, beta=beta, batch=batch_dice)
    np.testing.assert_allclose(plain, expected.mean(-1), **TOL)
    np.testing.assert_allclose(weighted, (expected * w).mean(-1), **TOL)
    expected = monai_tversky(
        p, cf(onehot), alpha=alpha, beta=beta, batch=batch_dice, include_background=False
    )
    np.testing.assert_allclose(no_bg, expected.mean(-1), **TOL)


def test_sigmoid_activation_matches_monai_with_independent_channels(rng):
    """activation="sigmoid": every channel a binary map (MONAI's sigmoid=True), also with
    several channels (multi-label) and for a single channel (where softmax means sigmoid)."""
    x = rng.standard_normal((3, 4, 5, 3))
    t = rng.integers(0, 2, (3, 4, 5, 3)).astype(np.float64)
    p = cf(sigmoid(x))

    @jax.jit
    def run(x, t):
        kw = {"activation": "sigmoid"}
        return (
            jl.tversky_loss(x, t, alpha=0.2, beta=0.8, **kw),
            jl.dice_coefficient(x, t, **kw),
            jl.iou_loss(x, t, **kw),
            jl.tversky_loss(x[..., :1], t[..., :1], alpha=0.2, beta=0.8),
        )

    tversky, dice, iou, single = run(jnp.asarray(x), jnp.asarray(t))
    expected = monai_tversky(p, cf(t), alpha=0.2, beta=0.8)
    np.testing.assert_allclose(tversky, expected.mean(-1), **TOL)
    np.testing.assert_allclose(single, expected[:, 0], **TOL)
    np.testing.assert_allclose(dice, 1.0 - monai_dice(p, cf(t)).mean(-1), **TOL)
    # MONAI's jaccard smoothing s is iou_loss's s / 2
    expected = monai_dice(p, cf(t), jaccard=True, smooth=2e-5)
    np.testing.assert_allclose(iou, expected.mean(-1), **TOL)


def test_focal_tversky_matches_abraham_and_khan(rng):
    # Abraham & Khan 2019: TI_c = (TP + e) / (TP + a FN + b FP + e), a = 0.7 (false negatives),
    # b = 0.3 (false positives); FTL = (1 - TI_c)^(1/g) with g = 4/3.
    logits, labels, _ = inputs(rng, (3, 5, 4, 3))
    p = softmax(logits)
    g = np.eye(3)[np.asarray(labels)]
    s = 1e-5
    tp = (p * g).sum((1, 2))
    fn = ((1 - p) * g).sum((1, 2))
    fp = (p * (1 - g)).sum((1, 2))
    ti = (tp + s) / (tp + 0.7 * fn + 0.3 * fp + s)
    expected = ((1 - ti) ** (1 / (4 / 3))).mean(-1)

    @jax.jit
    def run(x, y):
        return (
            jl.focal_tversky_loss(x, y),
            jl.focal_tversky_loss(x, y, alpha=0.5, beta=0.5, gamma=2.0),
        )

    default, squared = run(logits, labels)
    np.testing.assert_allclose(default, expected, **TOL)
    np.testing.assert_allclose(squared, (monai_tversky(cf(p), cf(g)) ** 2).mean(-1), **TOL)


@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 2, 2, 2)])
def test_iou_matches_rahman_and_wang_and_monai_jaccard(rng, shape):
    logits, labels, _ = inputs(rng, shape)
    p = softmax(logits)
    t = np.eye(shape[-1])[np.asarray(labels)]
    axes = tuple(range(1, p.ndim - 1))
    s = 0.2

    @jax.jit
    def run(x, y):
        return jl.iou_loss(x, y, smooth=s), jl.iou_loss(x, y, smooth=s, squared=True)

    plain, squared = run(logits, labels)
    # Rahman & Wang 2016: I = sum p t, U = sum (p + t - p t)
    iou = ((p * t).sum(axes) + s) / ((p + t - p * t).sum(axes) + s)
    np.testing.assert_allclose(plain, (1 - iou).mean(-1), **TOL)
    # MONAI DiceLoss(jaccard=True): 1 - (2I + s')/(2 (den - I) + s'), s' = 2s
    for ours, sq in ((plain, False), (squared, True)):
        expected = monai_dice(cf(p), cf(t), jaccard=True, squared_pred=sq, smooth=2 * s)
        np.testing.assert_allclose(ours, expected.mean(-1), **TOL)


def test_batch_dice_equals_one_example_of_concatenated_maps(rng):
    logits, labels, _ = inputs(rng, (3, 4, 5, 3))
    joined_x, joined_y = logits.reshape(1, 12, 5, 3), labels.reshape(1, 12, 5)
    fns = (jl.dice_coefficient, jl.tversky_loss, jl.iou_loss, jl.generalized_dice_loss)

    @jax.jit
    def run(x, y, jx, jy):
        return [(f(x, y, batch_dice=True), f(jx, jy)[0]) for f in fns]

    for a, b in run(logits, labels, joined_x, joined_y):
        np.testing.assert_allclose(a, b, **TOL)


def test_axis_and_several_batch_axes(rng):
    logits, labels, _ = inputs(rng, (2, 3, 4, 5, 3))
    ours, each = jax.jit(  # one program: the batch and each example
        lambda x, y: (
            jl.tversky_loss(x, y, axis=(-3, -2)),
            [jl.tversky_loss(x[i], y[i]) for i in range(2)],
        )
    )(logits, labels)
    assert ours.shape == (2, 3)
    for i in range(2):
        np.testing.assert_allclose(ours[i], each[i], **TOL)


# --- identities of the one smoothing formula ------------------------------------------------


def test_dice_tversky_iou_identities(rng):
    """In one jitted call: Tversky(alpha = beta = 1/2, smooth s) == 1 - Dice(smooth 2 s)
    (Tversky's (I + s)/((P + T)/2 + s) is (2I + 2s)/(P + T + 2s)); Tversky(alpha = beta = 1,
    s) == IoU(s); focal Tversky at gamma 1 == Tversky; and at smooth 0, J = D / (2 - D) per
    class (single-channel maps: one class per example)."""
    logits, labels, _ = inputs(rng, (3, 4, 5, 3))
    x1 = jnp.asarray(rng.standard_normal((4, 5, 6, 1)))
    t1 = jnp.asarray(rng.integers(0, 2, (4, 5, 6)), jnp.int32)

    @jax.jit
    def run(x, y, x1, t1):
        s = 0.3
        kw = {"alpha": 0.5, "beta": 0.5}
        return {
            "tversky-dice": (
                jl.tversky_loss(x, y, smooth=s, **kw),
                1.0 - jl.dice_coefficient(x, y, smooth=2 * s),
            ),
            "tversky-dice-default": (
                jl.tversky_loss(x, y, smooth=5e-6, **kw),
                1.0 - jl.dice_coefficient(x, y),
            ),
            "tversky-iou": (
                jl.tversky_loss(x, y, alpha=1.0, beta=1.0, smooth=s),
                jl.iou_loss(x, y, smooth=s),
            ),
            "focal-gamma-1": (
                jl.focal_tversky_loss(x, y, gamma=1.0, smooth=s),
                jl.tversky_loss(x, y, alpha=0.3, beta=0.7, smooth=s),
            ),
            "jaccard": (
                1.0 - jl.iou_loss(x1, t1, smooth=0.0),
                jl.dice_coefficient(x1, t1, smooth=0.0),
            ),
        }

    out = run(logits, labels, x1, t1)
    for name in ("tversky-dice", "tversky-dice-default", "tversky-iou"):
        np.testing.assert_allclose(*out[name], **TOL, err_msg=name)
    np.testing.assert_allclose(*out["focal-gamma-1"], **TOL)
    jaccard, dice = out["jaccard"]
    np.testing.assert_allclose(jaccard, dice / (2.0 - dice), **TOL)


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
    kw = {"activation": None, "smooth": smooth}
    return {
        "dice": jl.dice_coefficient(p, t, **kw)[0],
        "dice_2s": jl.dice_coefficient(p, t, activation=None, smooth=2 * smooth)[0],
        "dice_loss": jl.dice_loss(p, t, apply_softmax=False, smooth=smooth)[0],
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
    d, jac = out["dice"], 1.0 - out["iou_loss"]
    np.testing.assert_allclose(jac, d / (2.0 - d), rtol=1e-9, atol=1e-12)


@given(_binary_maps(), st.floats(0.0, 1.0))
def test_tversky_special_cases(maps, smooth):
    out = _overlap_family(*maps, smooth)
    np.testing.assert_allclose(out["tversky_dice"], out["dice_loss"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["tversky_dice"], 1.0 - out["dice_2s"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(out["tversky_jaccard"], out["iou_loss"], atol=1e-12)
    np.testing.assert_allclose(out["focal_tversky_1"], out["tversky_37"], atol=1e-12)


# --- the new API: activation, smoothing default, removed spellings --------------------------

FAMILY = {
    "dice_coefficient": jl.dice_coefficient,
    "generalized_dice_loss": jl.generalized_dice_loss,
    "tversky_loss": jl.tversky_loss,
    "focal_tversky_loss": jl.focal_tversky_loss,
    "iou_loss": jl.iou_loss,
}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_one_activation_flag_and_one_smoothing_default(name):
    params = inspect.signature(FAMILY[name]).parameters
    assert params["activation"].default == "softmax"
    assert params["smooth"].default == 1e-5
    assert params["reduction"].default == "none"
    for old in ("apply_softmax", "apply_sigmoid", "sigmoid"):
        assert old not in params
    x, y = jnp.zeros((1, 2, 2, 3)), jnp.zeros((1, 2, 2), int)
    with pytest.raises(TypeError, match="apply_softmax"):
        FAMILY[name](x, y, apply_softmax=False)


def test_dice_coefficient_lost_alpha_and_beta():
    # The Dice coefficient is one formula; the Tversky index is tversky_loss.
    x, y = jnp.zeros((1, 2, 2, 3)), jnp.zeros((1, 2, 2), int)
    with pytest.raises(TypeError, match="alpha"):
        jl.dice_coefficient(x, y, alpha=0.3)


def test_probabilities_with_activation_none(rng):
    logits, labels, _ = inputs(rng, (3, 4, 5, 3))
    probs = jax.nn.softmax(logits)

    @jax.jit
    def run(x, p, y):
        return [(f(x, y), f(p, y, activation=None)) for f in FAMILY.values()]

    for a, b in run(logits, probs, labels):
        np.testing.assert_allclose(a, b, **TOL)


# --- masks, weights, sum_and_count ----------------------------------------------------------


def test_tversky_where_weights_against_monai_numpy(rng):
    logits, labels, onehot = inputs(rng, (5, 4, 4, 3))
    per_example = monai_tversky(cf(softmax(logits)), cf(onehot), alpha=0.3, beta=0.7).mean(-1)
    where = np.array([True, False, True, True, True])
    weights = rng.uniform(0.5, 2.0, 5)

    @jax.jit
    def run(x, y, where, weights):
        kw = {"alpha": 0.3, "beta": 0.7, "where": where, "weights": weights}
        return {
            r: jl.tversky_loss(x, y, reduction=r, **kw)
            for r in ("none", "mean", "sum", "sum_and_count")
        }

    out = run(logits, labels, jnp.asarray(where), jnp.asarray(weights))
    np.testing.assert_allclose(out["none"], where * weights * per_example, **TOL)
    np.testing.assert_allclose(out["mean"], masked_mean(per_example, where, weights), **TOL)
    np.testing.assert_allclose(out["sum"], np.sum(where * weights * per_example), **TOL)
    np.testing.assert_allclose(out["sum_and_count"][1], np.sum(where * weights), **TOL)


def test_micro_batches_with_unequal_masks_give_the_full_batch_mean(rng):
    """sum_and_count pairs of 4 micro-batches, added and divided once, equal the full-batch
    masked mean: values and gradients (issue #11)."""
    logits, labels, _ = inputs(rng, (8, 3, 3, 3))
    where = jnp.array([True, True, True, False, False, False, True, True])

    def full(x):
        return jl.generalized_dice_loss(x, labels, reduction="mean", where=where)

    def accumulated(x):
        pairs = [
            jl.generalized_dice_loss(
                x[i : i + 2], labels[i : i + 2], reduction="sum_and_count", where=where[i : i + 2]
            )
            for i in range(0, 8, 2)
        ]
        return jl.mean_from_sum_and_count(jax.tree.map(lambda *a: sum(a), *pairs))

    run = jax.jit(lambda x: (jax.value_and_grad(full)(x), jax.value_and_grad(accumulated)(x)))
    (v1, g1), (v2, g2) = run(logits)
    np.testing.assert_allclose(v2, v1, **TOL)
    np.testing.assert_allclose(g2, g1, **TOL)
    assert bool(jnp.all(g1[3:6] == 0.0))


# --- data checks ----------------------------------------------------------------------------


def test_checked_mode_data_conditions(rng):
    logits, labels, onehot = inputs(rng, (2, 3, 3, 3))
    probs = jax.jit(jax.nn.softmax)(logits)  # one program

    def set_entry(x, index, value):
        # a concrete copy with one entry changed (numpy: no XLA scatter to compile)
        x = np.array(x)
        x[index] = value
        return jnp.asarray(x)

    cases = [
        (
            jl.tversky_loss,
            {},
            (logits, labels),
            (logits, set_entry(labels, (0, 1, 2), -1)),
            "targets",
        ),
        (
            jl.iou_loss,
            {},
            (logits, onehot),
            (logits, set_entry(onehot, (1, 0, 0, 0), 2.0)),
            "targets",
        ),
        (
            jl.dice_coefficient,
            {"activation": None},
            (probs, labels),
            (set_entry(probs, (0, 0, 0, 1), 1.5), labels),
            "predictions",
        ),
    ]
    for fn, kw, good, bad, name in cases:
        f = functools.partial(fn, **kw)
        err, value = checked(f)(*good)
        assert err is None, err
        np.testing.assert_allclose(value, jax.jit(f)(*good), **TOL)
        err, _ = checked(f)(*bad)
        assert err is not None and f"`{name}`" in err, (fn.__name__, err)
        with pytest.raises(ValueError, match=f"`{name}`"):
            f(*bad)


# --- edge cases and bad input ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(FAMILY))
@pytest.mark.parametrize("smooth", [None, 0.0])
def test_empty_prediction_and_target_give_zero(name, smooth):
    fn = FAMILY[name]
    kwargs = {"activation": None, **({} if smooth is None else {"smooth": smooth})}
    zeros = jnp.zeros((2, 3, 3, 2))
    value = j(fn)(zeros, zeros, **kwargs)
    np.testing.assert_array_equal(value, 1.0 if name == "dice_coefficient" else 0.0)
    grad = jgrad(lambda p: jnp.sum(fn(p, zeros, **kwargs)))(zeros)
    assert bool(jnp.all(jnp.isfinite(grad)))


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_perfect_prediction(name):
    fn = FAMILY[name]
    t = jax.nn.one_hot(jnp.array([[[0, 1], [1, 2]]]), 3)
    value = j(fn)(t, t, smooth=0.0, activation=None)
    np.testing.assert_allclose(value, 1.0 if name == "dice_coefficient" else 0.0, atol=1e-15)
    grad = jgrad(lambda p: jnp.sum(fn(p, t, smooth=0.0, activation=None)))(t)
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_all_background_values(rng):
    # every pixel is class 0; the absent classes have T = 0
    logits = jnp.asarray(rng.standard_normal((2, 3, 3, 3)))
    labels = jnp.zeros((2, 3, 3), jnp.int32)
    onehot = cf(np.eye(3)[np.zeros((2, 3, 3), int)])
    probs = cf(softmax(logits))

    @jax.jit
    def run(x, y):
        return (
            jl.generalized_dice_loss(x, y),
            jl.tversky_loss(x, y),
            jl.generalized_dice_loss(x, y, ignore_background=True),
        )

    gdl, tversky, no_bg = run(logits, labels)
    np.testing.assert_allclose(gdl, monai_generalized_dice(probs, onehot), **TOL)
    np.testing.assert_allclose(tversky, monai_tversky(probs, onehot).mean(-1), **TOL)
    # with the background ignored no class is present: generalized Dice weights are all 0
    expected = monai_generalized_dice(probs, onehot, include_background=False)
    np.testing.assert_allclose(no_bg, expected, **TOL)
    np.testing.assert_allclose(no_bg, 0.0, atol=1e-12)


def test_generalized_dice_every_class_absent_is_zero():
    p = jnp.full((2, 3, 3, 2), 0.3)
    zeros = jnp.zeros((2, 3, 3, 2))
    fn = functools.partial(jl.generalized_dice_loss, activation=None)
    np.testing.assert_allclose(j(fn)(p, zeros), 0.0, atol=1e-12)
    grad = jgrad(lambda q: jnp.sum(fn(q, zeros)))(p)
    assert bool(jnp.all(jnp.isfinite(grad)))


def test_focal_tversky_gradient_at_perfect_prediction_is_zero():
    t = jax.nn.one_hot(jnp.array([[0, 1, 1]]), 2)
    grad = jgrad(lambda p: jnp.sum(jl.focal_tversky_loss(p, t, activation=None)))(t)
    np.testing.assert_array_equal(grad, 0.0)


@pytest.mark.parametrize("fn", list(FAMILY.values()), ids=list(FAMILY))
def test_bfloat16_follows_float32(rng, fn):
    # bfloat16 inputs: bfloat16 output, close to the float32 value (computed in float32)
    logits, labels, _ = inputs(rng, (2, 4, 4, 3))

    @jax.jit
    def run(x, y):  # one program: the casts too
        low, high = x.astype(jnp.bfloat16), x.astype(jnp.float32)
        grad = jax.grad(lambda a: jnp.sum(fn(a, y).astype(jnp.float32)))(low)
        return fn(low, y), fn(high, y), grad

    low, high, grad = run(logits, labels)
    assert low.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(low, np.float32), high, rtol=2e-2, atol=2e-2)
    assert np.all(np.isfinite(np.asarray(grad, np.float32)))


BAD = [
    (jl.tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3, 3, 3))), {}, "`targets`"),
    (jl.tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 4), int)), {}, "integer `targets`"),
    (jl.tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"alpha": -0.5}, "`alpha`"),
    (jl.focal_tversky_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"beta": -1}, "`beta`"),
    (
        jl.generalized_dice_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"weight_type": "log"},
        "`weight_type`",
    ),
    (jl.iou_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"axis": (1, 2)}, "`axis`"),
    (jl.iou_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"axis": (1, 1)}, "`axis`"),
    (jl.iou_loss, (jnp.ones((2, 3, 3), int), jnp.ones((2, 3), int)), {}, "`predictions`"),
    (
        jl.dice_coefficient,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"activation": "softmax2"},
        "`activation`",
    ),
    (
        jl.dice_coefficient,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"where": jnp.ones((2,), int)},
        "`where`",
    ),
]


@pytest.mark.parametrize("fn,args,kwargs,match", BAD, ids=[b[3] for b in BAD])
def test_bad_input_raises_clearly(fn, args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        jax.jit(functools.partial(fn, **kwargs))(*args)


# --- axis_name: the whole overlap family on 4 devices ---------------------------------------


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family).
def sharded_checks() -> None:
    from jax.sharding import PartitionSpec as P

    mesh = jax.make_mesh((4,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((8, 3, 3, 3)), jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, (8, 3, 3)), jnp.int32)
    where = jnp.asarray([True, False, True, True, True, True, False, True])
    weights = jnp.asarray(rng.uniform(0.5, 2.0, 8), jnp.float32)
    masked = {"where": where, "weights": weights}
    binary = lambda f, **kw: lambda x, y, **k: f(x[..., 1], y > 0, **kw, **k)  # noqa: E731
    # (name, function, reduction, options); the functions take (x, y, **options).
    configs = [
        ("dice_coefficient", jl.dice_coefficient, "mean", masked),
        ("generalized_dice", jl.generalized_dice_loss, "sum_and_count", masked),
        ("tversky", jl.tversky_loss, "sum", masked),
        ("focal_tversky", jl.focal_tversky_loss, "mean", masked),
        ("iou", jl.iou_loss, "mean", {"weights": weights}),
        ("binary_dice", binary(jl.binary_dice_loss), "mean", masked),
        ("multiclass_gdl", jl.multiclass_generalized_dice_loss, "mean", masked),
        ("dice_bce", jl.dice_bce_loss, "mean", masked),
        ("dice_ce", jl.dice_cross_entropy_loss, "sum_and_count", masked),
        ("dice_focal", jl.dice_focal_loss, "mean", masked),
        # batch Dice: the class sums (and the pixel means) over the global batch
        ("batch_dice", jl.dice_coefficient, "mean", {"batch_dice": True}),
        ("batch_gdl", jl.generalized_dice_loss, "sum", {"batch_dice": True}),
        ("batch_binary", binary(jl.binary_dice_loss, batch_dice=True), "mean", {}),
        ("batch_dice_ce", jl.dice_cross_entropy_loss, "mean", {"batch_dice": True}),
        ("batch_dice_focal", jl.dice_focal_loss, "sum_and_count", {"batch_dice": True}),
    ]

    def run(layout):
        @jax.jit
        def program(x, y):
            out = {}
            for name, fn, reduction, options in configs:
                split = {k: v for k, v in options.items() if k in ("where", "weights")}
                static = {k: v for k, v in options.items() if k not in split}

                def value(x, y, split, fn=fn, reduction=reduction, static=static):
                    return fn(x, y, reduction=reduction, **static, **split, **layout[1])

                if layout[0]:
                    value = jax.shard_map(
                        value,
                        mesh=mesh,
                        in_specs=(P("data"), P("data"), P("data")),
                        out_specs=P(),
                    )

                def scalar(x, value=value, split=split):
                    out = value(x, y, split)
                    return out[0] / out[1] if isinstance(out, tuple) else out

                out[name] = jax.value_and_grad(scalar)(x)
            return out

        return jax.device_get(program(x, y))

    want = run((False, {}))
    got = run((True, {"axis_name": "data"}))
    checked = 0
    for name, (value, grad) in want.items():
        np.testing.assert_allclose(got[name][0], value, rtol=1e-5, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(got[name][1], grad, rtol=1e-5, atol=1e-6, err_msg=name)
        assert value != 0 and np.any(grad != 0), name
        checked += 1
    print(f"checked {checked} configurations")
