"""Reference tests for jaxloss.dice, optax's Dice names.

Oracles: optax 0.2.8 (`optax.losses.dice_loss`, `binary_dice_loss`,
`multiclass_generalized_dice_loss`); MONAI's `DiceLoss` written in numpy
(tests/overlap_helpers.py), whose ``(2I + s') / (P + T + s')`` is optax's
``(I + s) / ((P + T)/2 + s)`` at ``s' = 2s``; numpy formulas for masks and weights.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxloss as jl
from tests.overlap_helpers import TOL, cf, checked, inputs, j, jgrad, masked_mean, monai_dice
from tests.overlap_helpers import softmax as np_softmax

OPTAX_NAMES = ("dice_loss", "binary_dice_loss", "multiclass_generalized_dice_loss")


# --- optax parity ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", OPTAX_NAMES)
def test_signature_starts_with_optax_exactly(name):
    """optax's parameters first, in optax's order, kinds and defaults; then keyword-only."""
    ours = list(inspect.signature(getattr(jl, name)).parameters.values())
    theirs = list(inspect.signature(getattr(optax.losses, name)).parameters.values())
    head = ours[: len(theirs)]
    assert [(p.name, p.kind, p.default) for p in head] == [
        (p.name, p.kind, p.default) for p in theirs
    ]
    assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in ours[len(theirs) :])
    # optax's smoothing default and flags stay on optax's names
    params = {p.name: p.default for p in ours}
    assert params["smooth"] == 1.0
    assert "activation" not in params


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
    logits, labels, onehot = inputs(rng, shape)
    with jax.numpy_rank_promotion("allow"):  # optax multiplies [B, C] by [C]
        expected = j(optax.losses.dice_loss)(logits, onehot, **kwargs)
    # one program: one-hot and integer targets
    ours = jax.jit(lambda x, y, t: [jl.dice_loss(x, y, **kwargs), jl.dice_loss(x, t, **kwargs)])
    by_onehot, by_labels = ours(logits, onehot, labels)
    np.testing.assert_allclose(by_onehot, expected, **TOL)
    # integer labels are one-hot encoded
    np.testing.assert_allclose(by_labels, expected, **TOL)


def test_dice_loss_matches_optax_on_probabilities_and_binary_maps(rng):
    logits, _, onehot = inputs(rng, (3, 4, 5, 3))
    probs = jax.jit(jax.nn.softmax)(logits)
    # optax checks that probabilities sum to 1 with a Python `if`: eager only
    expected = optax.losses.dice_loss(probs, onehot, apply_softmax=False)
    # binary: a single channel goes through the sigmoid; optax accepts a missing channel axis
    x = rng.standard_normal((2, 4, 5))
    t = rng.integers(0, 2, (2, 4, 5, 1)).astype(np.float64)

    @jax.jit  # one program: ours on probabilities and both binary layouts, optax's binary
    def program(probs, onehot, x, t):
        return {
            "probs": jl.dice_loss(probs, onehot, apply_softmax=False),
            "binary": (jl.dice_loss(x, t), optax.losses.dice_loss(x, t)),
            "binary channel": (
                jl.dice_loss(x[..., None], t[..., 0]),
                optax.losses.dice_loss(x[..., None], t[..., 0]),
            ),
        }

    got = program(probs, onehot, x, t)
    np.testing.assert_allclose(got["probs"], expected, **TOL)
    np.testing.assert_allclose(*got["binary"], **TOL)
    np.testing.assert_allclose(*got["binary channel"], **TOL)


def test_dice_loss_works_under_jit_with_probabilities_where_optax_fails(rng):
    # optax 0.2.8 validates `sum(probs) == 1` with a Python `if` on a traced array.
    logits, _, onehot = inputs(rng, (2, 4, 4, 3))
    probs = jax.nn.softmax(logits)
    eager = optax.losses.dice_loss(probs, onehot, apply_softmax=False)
    ours = jax.jit(functools.partial(jl.dice_loss, apply_softmax=False))(probs, onehot)
    np.testing.assert_allclose(ours, eager, **TOL)
    with pytest.raises(jax.errors.TracerBoolConversionError):
        jax.jit(functools.partial(optax.losses.dice_loss, apply_softmax=False))(probs, onehot)


@pytest.mark.parametrize("shape", [(3, 4, 5), (2, 3, 4, 1), (4, 6)])
def test_binary_dice_loss_matches_optax(rng, shape):
    x = rng.standard_normal(shape)
    t = rng.integers(0, 2, shape).astype(np.float64)

    @jax.jit  # one program: optax's values and ours, with float, integer and boolean masks
    def program(x, t):
        return {
            "optax": optax.losses.binary_dice_loss(x, t, smooth=0.5),
            "optax mean": jnp.mean(optax.losses.binary_dice_loss(x, t)),
            "ours": jl.binary_dice_loss(x, t, smooth=0.5),
            "ours mean": jl.binary_dice_loss(x, t, reduction="mean"),
            "masks": [
                jl.binary_dice_loss(x, mask, smooth=0.5)
                for mask in (t.astype(jnp.int32), t.astype(bool))
            ],
        }

    got = program(x, t)
    expected = got["optax"]
    np.testing.assert_allclose(got["ours"], expected, **TOL)
    np.testing.assert_allclose(got["ours mean"], got["optax mean"], **TOL)
    # integer and boolean masks are accepted as masks
    for value in got["masks"]:
        np.testing.assert_allclose(value, expected)


def test_binary_dice_loss_on_probabilities(rng):
    # optax rejects single-channel probabilities (they do not "sum to 1"); the value is the
    # Dice loss of optax's formula, checked here against MONAI's with smooth 2 s.
    p = jnp.asarray(rng.uniform(size=(3, 4, 5)))
    t = jnp.asarray(rng.integers(0, 2, (3, 4, 5)), jnp.float64)
    expected = monai_dice(np.asarray(p)[:, None], np.asarray(t)[:, None], smooth=2.0)[:, 0]
    np.testing.assert_allclose(j(jl.binary_dice_loss)(p, t, apply_sigmoid=False), expected, **TOL)


@pytest.mark.parametrize("ignore_background", [False, True])
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 3, 2, 4)])
def test_multiclass_generalized_dice_matches_optax(rng, shape, ignore_background):
    logits, labels, onehot = inputs(rng, shape, absent=(1,))
    kw = {"ignore_background": ignore_background, "smooth": 0.5}
    with jax.numpy_rank_promotion("allow"):  # optax multiplies [B, C] by [C]
        expected = j(optax.losses.multiclass_generalized_dice_loss)(logits, onehot, **kw)

    @jax.jit  # one program: the mean on one-hot targets, per example on integer labels
    def program(x, y, t):
        return (
            jl.multiclass_generalized_dice_loss(x, y, **kw),
            jl.multiclass_generalized_dice_loss(x, t, reduction="none", **kw),
        )

    mean, per_example = program(logits, onehot, labels)
    np.testing.assert_allclose(mean, expected)
    assert per_example.shape == shape[:1]
    np.testing.assert_allclose(np.mean(per_example), expected, **TOL)


# --- MONAI and the family's Dice ------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [{}, {"squared": True}, {"batch_dice": True}, {"ignore_background": True}],
    ids=lambda o: ",".join(o) or "plain",
)
@pytest.mark.parametrize("shape", [(3, 4, 5, 3), (2, 3, 2, 4, 2)])
def test_dice_loss_matches_monai_at_twice_the_smoothing(rng, shape, options):
    # optax's form (I + s) / ((P + T)/2 + s) is MONAI's (2I + s') / (P + T + s') with s' = 2s,
    # and that is dice_coefficient's form with smooth = s'.
    logits, labels, _ = inputs(rng, shape)
    onehot = np.eye(shape[-1])[np.asarray(labels)]
    expected = monai_dice(
        cf(np_softmax(logits)),
        cf(onehot),
        squared_pred=options.get("squared", False),
        batch=options.get("batch_dice", False),
        include_background=not options.get("ignore_background", False),
        smooth=2 * 0.3,
    )

    @jax.jit
    def both(x, y):
        return (
            jl.dice_loss(x, y, smooth=0.3, reduction="none", **options),
            jl.dice_coefficient(x, y, smooth=0.6, **options),
        )

    loss, coefficient = both(logits, labels)
    np.testing.assert_allclose(loss, expected, **TOL)
    np.testing.assert_allclose(coefficient, 1.0 - expected.mean(-1), **TOL)


def test_dice_loss_is_one_minus_dice_coefficient_at_twice_the_smoothing(rng):
    """The optax relation: dice_loss(smooth=s) == 1 - dice_coefficient(smooth=2 s), also with
    class weights that average to 1 (dice_loss weighs losses, dice_coefficient averages)."""
    logits, labels, _ = inputs(rng, (3, 4, 5, 3))
    w = jnp.array([0.2, 1.0, 3.0])
    w1 = w / jnp.mean(w)

    @jax.jit
    def identities(x, y):
        return {
            "default": (jl.dice_loss(x, y), 1.0 - jl.dice_coefficient(x, y, smooth=2.0)),
            "smooth0": (
                jl.dice_loss(x, y, smooth=0.0),
                1.0 - jl.dice_coefficient(x, y, smooth=0.0),
            ),
            "weights": (
                jl.dice_loss(x, y, class_weights=w1),
                1.0 - jl.dice_coefficient(x, y, class_weights=w1, smooth=2.0),
            ),
            # the example: optax's dice_loss is the compound loss at smooth 2
            "compound": (
                jl.dice_loss(x, y),
                jl.dice_cross_entropy_loss(x, y, lambda_ce=0.0, smooth=2.0),
            ),
        }

    for name, (a, b) in identities(logits, labels).items():
        np.testing.assert_allclose(a, b, **TOL, err_msg=name)
    # zero weights everywhere: loss 0
    np.testing.assert_allclose(j(jl.dice_loss)(logits, labels, class_weights=jnp.zeros(3)), 0.0)


# --- masks, weights, reductions -------------------------------------------------------------


def test_binary_dice_loss_where_and_weights_against_optax(rng):
    x = jnp.asarray(rng.standard_normal((6, 4, 5)))
    t = jnp.asarray(rng.integers(0, 2, (6, 4, 5)), jnp.float64)
    where = np.array([True, False, True, True, False, True])
    weights = rng.uniform(0.5, 2.0, 6)
    per_example = np.asarray(j(optax.losses.binary_dice_loss)(x, t))

    @jax.jit
    def reductions(x, t, where, weights):
        kw = {"where": where, "weights": weights}
        return {r: jl.binary_dice_loss(x, t, reduction=r, **kw) for r in ("none", "mean", "sum")}

    out = reductions(x, t, jnp.asarray(where), jnp.asarray(weights))
    np.testing.assert_allclose(out["none"], where * weights * per_example, **TOL)
    np.testing.assert_allclose(out["sum"], np.sum(where * weights * per_example), **TOL)
    np.testing.assert_allclose(out["mean"], masked_mean(per_example, where, weights), **TOL)


def test_multiclass_generalized_dice_where_weights_and_sum_and_count(rng):
    # optax's per-example values (numpy) with the frequencies counted over the kept examples:
    # `where` removes an example from the batch statistics too (it contributes nothing).
    logits, labels, onehot = inputs(rng, (4, 3, 5, 3))
    p, t = np_softmax(logits), np.asarray(onehot)
    where = np.array([True, False, True, True])
    freq = t[where].sum((0, 1, 2))
    inverse = 1.0 / (freq**2 + 1e-7)
    cw = inverse / inverse.sum() * 3
    inter, total = (p * t).sum((1, 2)), (p + t).sum((1, 2))
    per_example = (cw * (1 - (inter + 1.0) / (total / 2 + 1.0))).mean(-1)
    weights = np.array([1.0, 3.0, 0.5, 2.0])

    @jax.jit
    def run(x, y):
        kw = {"where": jnp.asarray(where), "weights": jnp.asarray(weights)}
        return (
            jl.multiclass_generalized_dice_loss(x, y, **kw),
            jl.multiclass_generalized_dice_loss(x, y, reduction="sum_and_count", **kw),
            jl.multiclass_generalized_dice_loss(x, y, reduction="none", **kw),
        )

    mean, (total_, count), none = run(logits, labels)
    np.testing.assert_allclose(mean, masked_mean(per_example, where, weights), **TOL)
    np.testing.assert_allclose(none, where * weights * per_example, **TOL)
    np.testing.assert_allclose(total_, np.sum(where * weights * per_example), **TOL)
    np.testing.assert_allclose(count, np.sum(where * weights), **TOL)


def test_dice_loss_where_and_weights_multiply_per_example_values(rng):
    # dice_loss reduces the class axis (optax); where/weights act per example.
    logits, labels, _ = inputs(rng, (4, 3, 3, 3))
    where = jnp.array([True, False, True, True])
    weights = jnp.array([1.0, 2.0, 0.5, 3.0])

    @jax.jit
    def run(x, y):
        kw = {"where": where, "weights": weights}
        return (
            jl.dice_loss(x, y),
            jl.dice_loss(x, y, **kw),
            jl.dice_loss(x, y, reduction="none"),
            jl.dice_loss(x, y, reduction="none", ignore_background=True, **kw),
        )

    plain, masked, per_class, per_class_masked = run(logits, labels)
    mw = np.asarray(where) * np.asarray(weights)
    np.testing.assert_allclose(masked, mw * np.asarray(plain), **TOL)
    np.testing.assert_allclose(per_class_masked, mw[:, None] * np.asarray(per_class)[:, 1:], **TOL)
    assert per_class.shape == (4, 3)


def test_reductions_and_shapes(rng):
    logits, labels, _ = inputs(rng, (3, 4, 4, 3))
    assert j(jl.dice_loss)(logits, labels, reduction="none").shape == (3, 3)
    assert j(jl.dice_loss)(logits, labels, ignore_background=True, reduction="none").shape == (
        3,
        2,
    )
    assert j(jl.dice_loss)(logits, labels, batch_dice=True).shape == ()
    assert j(jl.multiclass_generalized_dice_loss)(logits, labels).shape == ()
    with pytest.raises(ValueError, match="`reduction`"):
        j(jl.dice_loss)(logits, labels, reduction="sum_and_count")


# --- data checks ----------------------------------------------------------------------------


def test_checked_mode_class_ids_targets_and_probabilities(rng):
    """Each data condition: an error naming the argument in checked mode under jit, the same
    value and no error on good data, a ValueError on concrete bad data."""
    logits, labels, onehot = inputs(rng, (2, 3, 3, 3))
    probs = jax.jit(jax.nn.softmax)(logits)

    def with_entry(a, index, value, dtype=None):  # a concrete copy, built in numpy
        a = np.array(a, dtype)
        a[index] = value
        return jnp.asarray(a)

    bad_labels = with_entry(labels, (1, 0, 0), 3)
    bad_onehot = with_entry(onehot, (0, 1, 1, 2), 1.5)
    bad_probs = with_entry(probs, (0, 0, 0, 0), -0.25)
    mask = jnp.asarray(rng.integers(0, 2, (2, 3, 3)), jnp.float64)
    bad_mask = with_entry(mask, (1, 2, 2), 2, np.int32)
    logits0 = jnp.asarray(np.asarray(logits)[..., 0])

    cases = [
        (jl.dice_loss, {}, (logits, labels), (logits, bad_labels), "`targets`"),
        (jl.dice_loss, {}, (logits, onehot), (logits, bad_onehot), "`targets`"),
        (
            jl.dice_loss,
            {"apply_softmax": False},
            (probs, onehot),
            (bad_probs, onehot),
            "`predictions`",
        ),
        (
            jl.multiclass_generalized_dice_loss,
            {},
            (logits, labels),
            (logits, bad_labels),
            "`targets`",
        ),
        (jl.binary_dice_loss, {}, (logits0, mask), (logits0, bad_mask), "`targets`"),
    ]
    for fn, kw, good, bad, name in cases:
        f = functools.partial(fn, **kw)
        err, value = checked(f)(*good)
        assert err is None, err
        np.testing.assert_allclose(value, jax.jit(f)(*good), **TOL)
        err, _ = checked(f)(*bad)
        assert err is not None and name in err, (fn.__name__, err)
        with pytest.raises(ValueError, match=name):
            f(*bad)


def test_masked_examples_are_not_checked_and_out_of_range_labels_have_no_class(rng):
    logits, labels, onehot = inputs(rng, (2, 3, 3, 3))
    bad_labels = np.array(labels)
    bad_labels[1, 0, 0] = 7
    bad_labels = jnp.asarray(bad_labels)  # concrete, built in numpy
    where = jnp.asarray(np.array([True, False]))
    f = functools.partial(jl.dice_loss, where=where)
    err, value = checked(f)(logits, bad_labels)
    assert err is None, err
    np.testing.assert_allclose(value, jax.jit(f)(logits, labels), **TOL)
    f(logits, bad_labels)  # eager: the masked example is not checked either
    # By default an out-of-range label is a pixel of no class: a zero one-hot row.
    zero_row = np.array(onehot)
    zero_row[1, 0, 0] = 0.0
    by_label, by_row = jax.jit(lambda x, a, b: (jl.dice_loss(x, a), jl.dice_loss(x, b)))(
        logits, bad_labels, zero_row
    )  # one program
    np.testing.assert_allclose(by_label, by_row, **TOL)


# --- edge cases and bad input ---------------------------------------------------------------

PROBS = {
    "dice_loss": (jl.dice_loss, {"apply_softmax": False}),
    "binary_dice_loss": (jl.binary_dice_loss, {"apply_sigmoid": False}),
    "multiclass_generalized_dice_loss": (
        jl.multiclass_generalized_dice_loss,
        {"apply_softmax": False, "reduction": "none"},
    ),
}


@pytest.mark.parametrize("name", sorted(PROBS))
@pytest.mark.parametrize("smooth", [None, 0.0])
def test_empty_prediction_and_target_give_zero(name, smooth):
    fn, kwargs = PROBS[name]
    kwargs = {**kwargs, **({} if smooth is None else {"smooth": smooth})}
    shape = (2, 3, 3) if name == "binary_dice_loss" else (2, 3, 3, 2)
    zeros = jnp.zeros(shape)
    np.testing.assert_array_equal(j(fn)(zeros, zeros, **kwargs), 0.0)
    grad = jgrad(lambda p: jnp.sum(fn(p, zeros, **kwargs)))(zeros)
    assert bool(jnp.all(jnp.isfinite(grad)))


@pytest.mark.parametrize("name", sorted(PROBS))
def test_perfect_prediction_gives_zero(name):
    fn, kwargs = PROBS[name]
    if name == "binary_dice_loss":
        t = jnp.asarray([[[1.0, 0.0], [0.0, 1.0]]])
    else:
        t = jax.nn.one_hot(jnp.array([[[0, 1], [1, 2]]]), 3)
    np.testing.assert_allclose(j(fn)(t, t, smooth=0.0, **kwargs), 0.0, atol=1e-15)
    grad = jgrad(lambda p: jnp.sum(fn(p, t, smooth=0.0, **kwargs)))(t)
    assert bool(jnp.all(jnp.isfinite(grad)))


BAD = [
    (jl.dice_loss, (jnp.ones((2, 3, 3, 3)), jnp.ones((2, 3, 3, 2))), {}, "channel mismatch"),
    (jl.dice_loss, (jnp.ones((3,)), jnp.ones((3,))), {}, "`predictions` must have rank"),
    (
        jl.dice_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"class_weights": jnp.ones(2)},
        "`class_weights`",
    ),
    (jl.dice_loss, (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))), {"activation": None}, "activation"),
    (jl.binary_dice_loss, (jnp.ones((2, 3)), jnp.ones((2, 3))), {"apply_sigmoid": None}, "sigmoid"),
    (
        jl.multiclass_generalized_dice_loss,
        (jnp.ones((2, 3, 3)), jnp.ones((2, 3, 3))),
        {"weights": -jnp.ones(2)},
        "`weights`",
    ),
]


@pytest.mark.parametrize("fn,args,kwargs,match", BAD, ids=[b[3] for b in BAD])
def test_bad_input_raises_clearly(fn, args, kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        fn(*args, **kwargs)
