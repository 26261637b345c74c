"""Reference, property and edge-case tests for jaxloss.divergences.

Oracles: scipy (stats.entropy, special.rel_entr, special.kl_div, spatial.distance.jensenshannon),
optax (where it is correct), torch CPU, and numpy formulas written from the cited papers.
"""

from __future__ import annotations

import functools
import inspect
import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from jax.experimental import checkify

import jaxloss
from jaxloss import (
    convex_kl_divergence,
    cross_entropy,
    entropy,
    gaussian_kl_divergence,
    generalized_js_divergence,
    generalized_kl_divergence,
    js_divergence,
    kl_divergence,
    kl_divergence_with_log_targets,
)
from tests.multidevice import assert_reductions_global

SHAPES = [(5,), (3, 4), (2, 3, 6)]
TOL = {np.float32: {"rtol": 1e-5, "atol": 1e-6}, np.float64: {"rtol": 1e-10, "atol": 1e-12}}
LOG2 = float(np.log(2.0))


def _dists(rng, shape, dtype, zeros=False):
    p = rng.uniform(0.01, 1.0, shape)
    if zeros:
        p = p * (rng.uniform(size=shape) > 0.3)
        p[..., 0] += 0.5  # keep every distribution non-empty
    return (p / p.sum(-1, keepdims=True)).astype(dtype)


def _close(actual, expected, dtype):
    np.testing.assert_allclose(np.asarray(actual), expected, **TOL[dtype])


# Reference values ------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_entropy_matches_scipy(rng, shape, dtype):
    p = _dists(rng, shape, dtype, zeros=True)
    q = np.moveaxis(p, -1, 0)
    # one program: both layouts
    along_last, along_first = jax.jit(lambda p, q: (entropy(p), entropy(q, axis=0)))(p, q)
    _close(along_last, scipy.stats.entropy(p.astype(np.float64), axis=-1), dtype)
    if len(shape) > 1:
        _close(along_first, scipy.stats.entropy(p.astype(np.float64), axis=-1), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_cross_entropy_matches_scipy_and_optax(rng, shape, dtype):
    p, q = _dists(rng, shape, dtype, zeros=True), _dists(rng, shape, dtype)
    p64, q64 = p.astype(np.float64), q.astype(np.float64)
    # H(P, Q) = H(P) + KL(P || Q): scipy.stats.entropy(p) + scipy.stats.entropy(p, q).
    expected = scipy.stats.entropy(p64, axis=-1) + scipy.stats.entropy(p64, q64, axis=-1)
    ours, theirs = jax.jit(  # one program: ours and optax's
        lambda log_q, p, log_q64, p64: (
            cross_entropy(log_q, p),
            optax.softmax_cross_entropy(log_q64, p64),
        )
    )(np.log(q), p, np.log(q64), p64)
    _close(ours, expected, dtype)
    _close(ours, theirs, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_kl_divergence_matches_scipy_optax_torch(rng, shape, dtype):
    p, q = _dists(rng, shape, dtype, zeros=True), _dists(rng, shape, dtype)
    p64, q64 = p.astype(np.float64), q.astype(np.float64)
    actual, optax_value = jax.jit(  # one program: ours and optax's
        lambda log_q, p, log_q64, p64: (
            kl_divergence(log_q, p),
            optax.losses.kl_divergence(log_q64, p64),
        )
    )(np.log(q), p, np.log(q64), p64)
    _close(actual, scipy.special.rel_entr(p64, q64).sum(-1), dtype)
    _close(actual, optax_value, dtype)
    torch_kl = torch.nn.functional.kl_div(
        torch.tensor(np.log(q64)), torch.tensor(p64), reduction="none"
    ).sum(-1)
    _close(actual, torch_kl.numpy(), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_kl_divergence_with_log_targets_matches_optax_torch(rng, shape, dtype):
    log_p, log_q = np.log(_dists(rng, shape, dtype)), np.log(_dists(rng, shape, dtype))
    lp64, lq64 = log_p.astype(np.float64), log_q.astype(np.float64)
    actual, optax_value = jax.jit(  # one program: ours and optax's
        lambda log_q, log_p, lq64, lp64: (
            kl_divergence_with_log_targets(log_q, log_p),
            optax.losses.kl_divergence_with_log_targets(lq64, lp64),
        )
    )(log_q, log_p, lq64, lp64)
    _close(actual, optax_value, dtype)
    torch_kl = torch.nn.functional.kl_div(
        torch.tensor(lq64), torch.tensor(lp64), reduction="none", log_target=True
    ).sum(-1)
    _close(actual, torch_kl.numpy(), dtype)
    _close(actual, scipy.special.rel_entr(np.exp(lp64), np.exp(lq64)).sum(-1), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_generalized_kl_matches_scipy_optax(rng, shape, dtype):
    p = (rng.uniform(0.0, 2.0, shape) * (rng.uniform(size=shape) > 0.2)).astype(dtype)
    q = rng.uniform(0.1, 2.0, shape).astype(dtype)
    p64, q64 = p.astype(np.float64), q.astype(np.float64)

    @jax.jit  # one program: ours and optax's, under both names
    def program(log_q, p, log_q64, p64):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # optax deprecates the alias
            expected = optax.losses.convex_kl_divergence(log_q64, p64)
        return (
            generalized_kl_divergence(log_q, p),
            optax.losses.generalized_kl_divergence(log_q64, p64),
            convex_kl_divergence(log_q, p),
            expected,
        )

    actual, optax_value, convex, expected = program(np.log(q), p, np.log(q64), p64)
    _close(actual, scipy.special.kl_div(p64, q64).sum(-1), dtype)
    _close(actual, optax_value, dtype)
    _close(convex, expected, dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_js_divergence_matches_scipy(rng, shape, dtype):
    p, q = _dists(rng, shape, dtype, zeros=True), _dists(rng, shape, dtype, zeros=True)
    # scipy returns the JS *distance* (square root), natural log by default.
    expected = scipy.spatial.distance.jensenshannon(
        q.astype(np.float64), p.astype(np.float64), axis=-1
    )
    _close(jax.jit(js_divergence)(q, p), expected**2, dtype)  # one program


def _numpy_generalized_js(q, p, pi_1, pi_2):
    # Lin (1991), eq. (5.1): JS_pi = H(pi_1 Q + pi_2 P) - pi_1 H(Q) - pi_2 H(P).
    h = functools.partial(scipy.stats.entropy, axis=-1)
    return h(pi_1 * q + pi_2 * p) - pi_1 * h(q) - pi_2 * h(p)


@pytest.mark.parametrize("weights", [(0.5, 0.5), (0.2, 0.8), (0.9, 0.1), (1.0, 0.0)])
@pytest.mark.parametrize("shape", SHAPES)
def test_generalized_js_matches_entropy_formula(rng, shape, weights):
    p, q = _dists(rng, shape, np.float64, zeros=True), _dists(rng, shape, np.float64)
    expected = _numpy_generalized_js(q, p, *weights)
    actual, actual32 = jax.jit(  # one program: float64 and float32
        lambda q, p, q32, p32: (
            generalized_js_divergence(q, p, mixture_weights=weights),
            generalized_js_divergence(q32, p32, mixture_weights=weights),
        )
    )(q, p, q.astype(np.float32), p.astype(np.float32))
    _close(actual, expected, np.float64)
    _close(actual32, expected, np.float32)


def test_generalized_js_accepts_traced_weights(rng):
    p, q = _dists(rng, (3, 4), np.float64), _dists(rng, (3, 4), np.float64)
    f = jax.jit(lambda w: generalized_js_divergence(q, p, mixture_weights=w))
    _close(f(jnp.array([0.3, 0.7])), _numpy_generalized_js(q, p, 0.3, 0.7), np.float64)


def _torch_gaussian_kl(mean, log_var, prior_mean, prior_log_var):
    normal = torch.distributions.Normal
    t = functools.partial(torch.as_tensor, dtype=torch.float64)
    posterior = normal(t(mean), torch.exp(0.5 * t(log_var)))
    prior = normal(t(prior_mean), torch.exp(0.5 * t(prior_log_var)))
    return torch.distributions.kl_divergence(posterior, prior).sum(-1).numpy()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", SHAPES)
def test_gaussian_kl_matches_torch(rng, shape, dtype):
    mean = rng.standard_normal(shape).astype(dtype)
    log_var = rng.uniform(-3, 3, shape).astype(dtype)
    prior_mean = rng.standard_normal(shape[-1:]).astype(dtype)
    prior_log_var = rng.uniform(-2, 2, shape).astype(dtype)
    standard, actual = jax.jit(  # one program: the standard and the given prior
        lambda mean, log_var, prior_mean, prior_log_var: (
            gaussian_kl_divergence(mean, log_var),
            gaussian_kl_divergence(
                mean, log_var, prior_mean=prior_mean, prior_log_variance=prior_log_var
            ),
        )
    )(mean, log_var, prior_mean, prior_log_var)
    _close(standard, _torch_gaussian_kl(mean, log_var, 0.0, 0.0), dtype)
    expected = _torch_gaussian_kl(
        mean, log_var, np.broadcast_to(prior_mean, shape).copy(), prior_log_var
    )
    _close(actual, expected, dtype)


def test_gaussian_kl_is_stable_for_large_log_variance():
    # float32: exp(+-100) overflows or underflows (torch's std, and any ratio of exps); the
    # difference form is exact: d = 1 gives (e - 1 - 1) / 2 per coordinate, and the mean term
    # vanishes (1 * e^{-199}) or is exactly 0 (equal means, although e^{201} overflows).
    cases = [(1.0, 200.0, 199.0), (0.0, -200.0, -201.0)]
    mean64, log_var64 = np.full((2, 3), 0.5), np.full((2, 3), -300.0)
    d = np.float32(1e-3)

    @jax.jit  # one program for every case
    def program(args32, mean64, log_var64, tiny_args):
        out = []
        for (_, _, prior), args in zip(cases, args32, strict=True):
            fn = functools.partial(gaussian_kl_divergence, prior_log_variance=prior)
            out.append((fn(*args), _grads(fn, *args)))
        value64 = gaussian_kl_divergence(mean64, log_var64, prior_log_variance=-298.0)
        return out, value64, gaussian_kl_divergence(*tiny_args)

    args32 = [
        (np.full((2, 3), mean, np.float32), np.full((2, 3), log_var, np.float32))
        for mean, log_var, _ in cases
    ]
    tiny_args = (np.zeros(1, np.float32), np.full(1, d, np.float32))
    out, value64, tiny = program(args32, mean64, log_var64, tiny_args)
    for value, grads in out:
        assert value.dtype == jnp.float32
        np.testing.assert_allclose(value, np.full(2, 3 * 0.5 * (np.e - 2.0)), rtol=1e-5)
        np.testing.assert_allclose(grads[1], np.full((2, 3), 0.5 * (np.e - 1.0)), rtol=1e-5)
        assert np.all(np.isfinite(grads[0]))
    # float64 where torch is still finite: agree with it at |log_variance| = 300.
    np.testing.assert_allclose(
        value64, _torch_gaussian_kl(mean64, log_var64, 0.0, -298.0), rtol=1e-10
    )
    # d near 0: expm1(d) - d keeps the O(d^2) value that exp(d) - 1 - d would round away.
    # In float32 at d = 1e-3 the naive form is ~10% off; expm1 keeps it within ~1e-4.
    np.testing.assert_allclose(tiny, 0.5 * (np.expm1(np.float64(d)) - np.float64(d)), rtol=1e-3)


def test_low_precision_inputs_accumulate_in_float32():
    q = jnp.asarray(_dists(np.random.default_rng(0), (3, 64), np.float32), jnp.float16)
    p16 = jnp.asarray(_dists(np.random.default_rng(1), (3, 64), np.float32), jnp.float16)
    # one program: the bfloat16 entropy and the float16 JS divergence
    value, js16 = jax.jit(
        lambda q, p16: (entropy(jnp.full((1000,), 1e-3, jnp.bfloat16)), js_divergence(q, p16))
    )(q, p16)
    assert value.dtype == jnp.bfloat16
    np.testing.assert_allclose(float(value), np.log(1000.0), rtol=1e-2)
    expected = scipy.spatial.distance.jensenshannon(np.float64(q), np.float64(p16), axis=-1) ** 2
    np.testing.assert_allclose(np.float64(js16), expected, rtol=5e-3, atol=1e-4)


# Axis, where, reduction -----------------------------------------------------------------


def test_where_and_tuple_axis_match_optax(rng):
    p, q = _dists(rng, (3, 4, 5), np.float64, zeros=True), _dists(rng, (3, 4, 5), np.float64)
    mask = rng.uniform(size=(3, 4, 5)) > 0.3
    axes = (-1, (1, 2), None)

    @jax.jit  # one program: ours and optax's for every axis
    def program(log_q, p, mask):
        return [
            (
                kl_divergence(log_q, p, axis, mask),
                optax.losses.kl_divergence(log_q, p, axis=axis, where=mask),
                generalized_kl_divergence(log_q, p, axis=axis, where=mask),
                optax.losses.generalized_kl_divergence(log_q, p, axis=axis, where=mask),
            )
            for axis in axes
        ]

    for kl, kl_optax, gkl, gkl_optax in program(np.log(q), p, mask):
        _close(kl, kl_optax, np.float64)
        _close(gkl, gkl_optax, np.float64)


def test_where_leaves_masked_entries_out(rng):
    p, q = _dists(rng, (4, 6), np.float64), _dists(rng, (4, 6), np.float64)
    mask = np.ones((4, 6), bool)
    mask[:, 3:] = False
    # Masked entries get a zero gradient, even where their unmasked value would be NaN.
    bad_q = q.copy()
    bad_q[:, 5] = -1.0

    @jax.jit  # one program: the masked and the cut values, and the gradient
    def program(q, p, mask, q3, p3, bad_q):
        grad = jax.grad(lambda x: jnp.sum(kl_divergence(jnp.log(x), p, where=mask)))(bad_q)
        values = [
            (js_divergence(q, p, where=mask), js_divergence(q3, p3)),
            (entropy(p, where=mask), entropy(p3)),
        ]
        return values, grad

    values, grad = program(q, p, mask, q[:, :3], p[:, :3], bad_q)
    for masked, cut in values:
        _close(masked, cut, np.float64)
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[:, 3:] == 0)


def test_mean_counts_distributions_with_an_unmasked_entry(rng):
    p, q = _dists(rng, (4, 5), np.float64), _dists(rng, (4, 5), np.float64)
    mask = np.ones((4, 5), bool)
    mask[1] = False  # the whole second distribution is masked: it does not count
    mask[2, :2] = False

    @jax.jit  # one program: every reduction, and the mean over no distribution
    def program(log_q, q, p, mask, nowhere):
        out = {r: kl_divergence(log_q, p, where=mask, reduction=r) for r in ("none", "mean", "sum")}
        out["nothing"] = js_divergence(q, p, where=nowhere, reduction="mean")
        return out

    out = program(np.log(q), q, p, mask, np.zeros((4, 5), bool))
    per_example = np.asarray(out["none"])
    assert per_example[1] == 0.0
    mean = out["mean"]
    np.testing.assert_allclose(mean, per_example[[0, 2, 3]].mean(), rtol=1e-12)
    total = out["sum"]
    np.testing.assert_allclose(total, per_example.sum(), rtol=1e-12)
    nothing = out["nothing"]
    assert float(nothing) == 0.0


def test_broadcasts_batch_dimensions(rng):
    p, q = _dists(rng, (3, 5), np.float64), _dists(rng, (1, 5), np.float64)
    expected = scipy.special.rel_entr(p, q).sum(-1)
    _close(jax.jit(kl_divergence)(np.log(q), p), expected, np.float64)  # one program


def test_optax_signatures_are_kept():
    for name in (
        "kl_divergence",
        "kl_divergence_with_log_targets",
        "generalized_kl_divergence",
        "convex_kl_divergence",
    ):
        ours = inspect.signature(getattr(jaxloss, name)).parameters
        theirs = inspect.signature(getattr(optax.losses, name)).parameters
        positional = [p for p in ours.values() if p.kind != p.KEYWORD_ONLY]
        assert [(p.name, p.default) for p in positional] == [
            (p.name, p.default) for p in theirs.values()
        ]
        assert ours["reduction"].kind == inspect.Parameter.KEYWORD_ONLY
        assert ours["reduction"].default == "none"


def _weighted(values, mask, weights):
    """The contract's reductions of per-example `values` (CONTRIBUTING.md, section 4), numpy."""
    mw = mask * weights
    none = np.where(mask, weights * values, 0.0)
    return {
        "none": none,
        "sum": np.sum(none),
        "mean": np.sum(none) / np.sum(mw),
        "count": np.sum(mw),
    }


def _reductions(fn, **kwargs):
    """`fn`'s four reductions (inside a jitted program, one compile for all)."""
    return {r: fn(reduction=r, **kwargs) for r in ("none", "sum", "mean", "sum_and_count")}


def _check_reductions(actual, expected):
    """`actual`: the results of `_reductions`."""
    for reduction in ("none", "sum", "mean"):
        np.testing.assert_allclose(actual[reduction], expected[reduction], rtol=1e-10, atol=1e-14)
    total, count = actual["sum_and_count"]
    np.testing.assert_allclose([total, count], [expected["sum"], expected["count"]], rtol=1e-10)


def test_example_mask_and_weights_match_the_numpy_reduction(rng):
    """Functions other than optax's: `where` of the per-example shape masks examples."""
    q, p = _dists(rng, (6, 5), np.float64), _dists(rng, (6, 5), np.float64, zeros=True)
    mask = np.array([True, False, True, True, False, True])
    w = rng.uniform(0.5, 2.0, 6)
    m = 0.5 * (q + p)
    js = 0.5 * (scipy.special.rel_entr(q, m) + scipy.special.rel_entr(p, m)).sum(-1)
    h = scipy.stats.entropy(p, axis=-1)
    ce = h + scipy.special.rel_entr(p, q).sum(-1)
    fns = [js_divergence, entropy, cross_entropy]
    # The mask of the inputs' rank is the entry mask; all entries of an example = the example.
    entries = np.broadcast_to(mask[:, None], (6, 5))
    # Masked examples leak nothing, even NaN.
    p_nan = np.where(mask[:, None], p, np.nan)

    @jax.jit  # one program: every function's reductions, and the gradient
    def program(args, mask, w, entries, q, p_nan):
        out = []
        for fn, a in zip(fns, args, strict=True):
            fn = functools.partial(fn, *a)
            by_entries = fn(where=entries, weights=w, reduction="mean")
            out.append((_reductions(fn, where=mask, weights=w), by_entries))
        grad = jax.grad(lambda x: js_divergence(q, x, where=mask, weights=w, reduction="mean"))(
            p_nan
        )
        return out, grad

    out, grad = program([(q, p), (p,), (np.log(q), p)], mask, w, entries, q, p_nan)
    for (actual, by_entries), values in zip(out, [js, h, ce], strict=True):
        _check_reductions(actual, _weighted(values, mask, w))
        np.testing.assert_allclose(by_entries, _weighted(values, mask, w)["mean"])
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~mask] == 0)


def test_gaussian_kl_example_mask_and_weights_match_torch(rng):
    mean, log_var = rng.standard_normal((5, 3)), rng.uniform(-2, 2, (5, 3))
    values = _torch_gaussian_kl(mean, log_var, 0.0, 0.0)
    mask, w = np.array([True, True, False, True, True]), rng.uniform(0.5, 2.0, 5)
    actual = jax.jit(  # one program for the four reductions
        lambda mean, log_var, mask, w: _reductions(
            functools.partial(gaussian_kl_divergence, mean, log_var), where=mask, weights=w
        )
    )(mean, log_var, mask, w)
    _check_reductions(actual, _weighted(values, mask, w))


def test_optax_names_keep_the_entry_mask_and_take_per_example_weights(rng):
    """optax's `where` masks entries, `weights` are per-example; examples: ``where[..., None]``."""
    # Positive targets: optax is NaN at zero targets (see the edge-case tests below).
    q, p = _dists(rng, (4, 5), np.float64), _dists(rng, (4, 5), np.float64)
    log_q, log_p = np.log(q), np.log(p)
    w = rng.uniform(0.5, 2.0, 4)
    entries = rng.uniform(size=(4, 5)) > 0.3
    entries[1] = False  # a wholly masked example: value 0, not counted by "mean"
    counted = entries.any(-1)
    names = (
        "kl_divergence",
        "kl_divergence_with_log_targets",
        "generalized_kl_divergence",
        "convex_kl_divergence",
    )
    example = np.array([True, False, True, True])

    @jax.jit  # one program: optax's values and ours for every name
    def program(log_q, seconds, entries, w, example_mask):
        out = []
        for name, second in zip(names, seconds, strict=True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                values = getattr(optax.losses, name)(log_q, second, where=entries)
            fn = functools.partial(getattr(jaxloss, name), log_q, second)
            by_example = fn(where=example_mask, weights=w, reduction="mean")
            out.append((values, _reductions(fn, where=entries, weights=w), by_example, fn()))
        return out

    seconds = (p, log_p, p, p)
    out = program(log_q, seconds, entries, w, example[:, None])
    for name, second, (values, actual, by_example, unmasked) in zip(
        names, seconds, out, strict=True
    ):
        _check_reductions(actual, _weighted(np.asarray(values), counted, w))
        # A (4,) mask is broadcast as optax broadcasts it, against the trailing (5) axis: it is
        # not read as an example mask.
        fn = functools.partial(getattr(jaxloss, name), log_q, second)
        with pytest.raises(ValueError, match="`where`"):
            fn(where=np.array([True, True, False, True]))
        np.testing.assert_allclose(
            by_example,
            _weighted(np.asarray(unmasked), example, w)["mean"],
            rtol=1e-12,
        )


def test_where_of_another_rank_and_bad_weights_raise():
    x = jnp.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match="`where`"):
        js_divergence(x, x, where=jnp.ones((2, 3, 1), bool))
    with pytest.raises(ValueError, match="`where`"):
        entropy(x, where=jnp.ones((3,), bool))  # neither the entries' rank nor (2,)
    with pytest.raises(ValueError, match="`weights`"):
        kl_divergence(jnp.log(x), x, weights=jnp.ones((3,)))
    with pytest.raises(ValueError, match="`weights`"):
        entropy(x, weights=jnp.array([1.0, -1.0]))


def test_mixture_weights_replace_the_old_weights_keyword(rng):
    """`generalized_js_divergence`: `weights` is per-example, the mixture `mixture_weights`."""
    q, p = _dists(rng, (5,), np.float64), _dists(rng, (5,), np.float64)
    np.testing.assert_allclose(
        generalized_js_divergence(q, p, mixture_weights=(0.3, 0.7)),
        _numpy_generalized_js(q, p, 0.3, 0.7),
        rtol=1e-12,
    )
    with pytest.raises(ValueError, match="`weights`"):
        generalized_js_divergence(q, p, weights=(0.3, 0.7))  # one distribution: shape ()
    assert "mixture_weights" in inspect.signature(generalized_js_divergence).parameters


# Checked mode: negative probabilities -----------------------------------------------------

NONNEGATIVE = [
    ("entropy", lambda a, b, **kw: entropy(b, **kw), "probabilities"),
    ("cross_entropy", lambda a, b, **kw: cross_entropy(jnp.log(a), b, **kw), "targets"),
    ("kl_divergence", lambda a, b, **kw: kl_divergence(jnp.log(a), b, **kw), "targets"),
    (
        "generalized_kl_divergence",
        lambda a, b, **kw: generalized_kl_divergence(jnp.log(a), b, **kw),
        "targets",
    ),
    ("js_divergence", lambda a, b, **kw: js_divergence(b, a, **kw), "predictions"),
    ("js_divergence", lambda a, b, **kw: js_divergence(a, b, **kw), "targets"),
    (
        "generalized_js_divergence",
        lambda a, b, **kw: generalized_js_divergence(a, b, mixture_weights=(0.2, 0.8), **kw),
        "targets",
    ),
]


@pytest.mark.parametrize("name,fn,arg", NONNEGATIVE, ids=[f"{n}-{a}" for n, _, a in NONNEGATIVE])
def test_negative_probabilities_raise_in_checked_mode_and_eagerly(name, fn, arg):
    q = jnp.full((3, 4), 0.25)
    good = jnp.array([[0.5, 0.5, 0.0, 0.0], [0.25] * 4, [0.1, 0.2, 0.3, 0.4]])
    bad = good.at[1, 2].set(-0.25).at[1, 3].set(0.75)
    mean = functools.partial(fn, reduction="mean")
    checked = checkify.checkify(jax.jit(mean), errors=checkify.user_checks)
    err, _ = checked(q, bad)
    assert f"`{arg}`" in err.get()
    err, value = checked(q, good)
    assert err.get() is None
    np.testing.assert_array_equal(value, jax.jit(mean)(q, good))
    with pytest.raises(ValueError, match=f"`{arg}`"):
        mean(q, bad)
    # A masked negative entry is free (examples for most names; entries for optax's).
    where = jnp.array([True, False, True])
    if name in ("kl_divergence", "generalized_kl_divergence"):
        where = where[:, None]
    masked = functools.partial(fn, reduction="mean", where=where)
    err, _ = checkify.checkify(jax.jit(masked), errors=checkify.user_checks)(q, bad)
    assert err.get() is None


# Data parallelism --------------------------------------------------------------------------


# Edge cases: values and gradients ---------------------------------------------------------


def _grads(fn, *args):
    return jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=tuple(range(len(args))))(*args)


def test_entropy_one_hot_is_zero_with_finite_gradient():
    p = np.array([1.0, 0.0, 0.0])
    value, grad = jax.jit(jax.value_and_grad(entropy))(p)  # one program
    assert float(value) == 0.0
    # d(-p log p)/dp = -(log p + 1) = -1 at p = 1; 0 by convention at p = 0 (+inf in maths).
    np.testing.assert_array_equal(grad, [-1.0, 0.0, 0.0])


def test_kl_gradient_with_respect_to_a_zero_target_is_minus_log_q():
    p = np.array([0.4, 0.6, 0.0])

    @jax.jit  # one program: the three gradients
    def program(q, p):
        log_q = jnp.log(q)
        return (
            _grads(kl_divergence, log_q, p),
            _grads(cross_entropy, log_q, p)[1],
            jax.grad(entropy)(p),
        )

    (g_log_q, g_p), g_ce, g_h = program(np.array([0.2, 0.3, 0.5]), p)
    # p_i > 0: log p_i + 1 - log q_i; p_i = 0: -log q_i (the 0 log 0 part contributes 0).
    expected = np.array(
        [np.log(0.4) + 1 - np.log(0.2), np.log(0.6) + 1 - np.log(0.3), -np.log(0.5)]
    )
    np.testing.assert_allclose(g_p, expected, rtol=1e-12)
    np.testing.assert_allclose(g_log_q, -p, rtol=1e-12)
    # The same at the cross-entropy: d/dp_i [-p_i log q_i] = -log q_i, and the identity holds.
    np.testing.assert_allclose(g_ce, np.asarray(g_h) + np.asarray(g_p), rtol=1e-12)


def test_minus_inf_log_predictions_where_the_target_is_zero():
    p = np.array([[0.25, 0.75, 0.0], [1.0, 0.0, 0.0]])
    q = np.array([[0.5, 0.5, 0.0], [0.5, 0.0, 0.5]])
    expected = scipy.special.rel_entr(np.asarray(p), np.asarray(q)).sum(-1)
    cases = ((kl_divergence, 0.0), (generalized_kl_divergence, -1.0))

    @jax.jit  # one program: every value and gradient below
    def program(p, q):
        log_q = jnp.log(q)
        out = [(fn(log_q, p), _grads(fn, log_q, p)) for fn, _ in cases]
        ce = cross_entropy(log_q, p), _grads(cross_entropy, log_q, p)
        return out, ce, kl_divergence(log_q[1], p[0])

    out, (ce, ce_grads), infinite = program(p, q)
    # Zero-target, -inf-prediction slots get zero gradient (defined convention); the generalized
    # KL adds d(exp(log q) - p)/dp = -1 there.
    for (value, (g_log_q, g_p)), (_, offset) in zip(out, cases, strict=True):
        g_log_q, g_p = np.asarray(g_log_q), np.asarray(g_p)
        np.testing.assert_allclose(value, expected, rtol=1e-12)
        assert np.all(np.isfinite(g_log_q)) and np.all(np.isfinite(g_p))
        assert g_p[0, 2] == offset and g_p[1, 1] == offset and g_log_q[0, 2] == 0.0
    np.testing.assert_allclose(ce, -np.array([np.log(0.5), np.log(0.5)]))
    assert np.all(np.isfinite(np.asarray(ce_grads)))
    # A positive target against a zero prediction is genuinely infinite.
    assert float(infinite) == np.inf


def test_minus_inf_log_targets_are_finite():
    @jax.jit  # one program: the value, its gradients, and the -inf/-inf case
    def program(q, p, a, b):
        log_q, log_p = jnp.log(q), jnp.log(p)
        value = kl_divergence_with_log_targets(log_q, log_p)
        grads = _grads(kl_divergence_with_log_targets, log_q, log_p)
        return value, grads, kl_divergence_with_log_targets(a, b)

    value, (g_log_q, g_log_p), both = program(
        np.array([0.2, 0.3, 0.5]),
        np.array([0.4, 0.6, 0.0]),
        np.array([0.0, -np.inf]),
        np.array([0.0, -np.inf]),
    )
    g_log_q, g_log_p = np.asarray(g_log_q), np.asarray(g_log_p)
    expected = scipy.special.rel_entr([0.4, 0.6, 0.0], [0.2, 0.3, 0.5]).sum()
    np.testing.assert_allclose(value, expected, rtol=1e-12)
    # Limits as log p -> -inf: p (log p - log q + 1) -> 0 and -p -> 0.
    np.testing.assert_allclose(g_log_p[:2], [0.4 * (np.log(2) + 1), 0.6 * (np.log(2) + 1)])
    assert g_log_p[2] == 0.0 and g_log_q[2] == 0.0
    assert float(both) == 0.0


def test_js_disjoint_supports_give_log_2_with_finite_vanishing_gradient():
    one_hot, other = np.eye(4)[0], np.eye(4)[2]

    # Moving mass within either support keeps JS at log 2: the directional derivative is 0.
    def along(a, b):
        q = jnp.stack([a, 1 - a, 0.0, 0.0])
        p = jnp.stack([0.0, 0.0, b, 1 - b])
        return js_divergence(q, p)

    mixtures = [(0.2, 0.8), (0.5, 0.5)]

    @jax.jit  # one program: every value and gradient below
    def program(one_hot, other):
        return {
            "js": js_divergence(one_hot, other),
            "grads": _grads(js_divergence, one_hot, other),
            "along": along(0.3, 0.9),
            "along_grad": jax.grad(along, argnums=(0, 1))(0.3, 0.9),
            "generalized": [
                generalized_js_divergence(one_hot, other, mixture_weights=weights)
                for weights in mixtures
            ],
        }

    out = program(one_hot, other)
    assert float(out["js"]) == np.float64(LOG2)
    g_q, g_p = out["grads"]
    assert np.all(np.isfinite(g_q)) and np.all(np.isfinite(g_p))
    assert float(out["along"]) == pytest.approx(LOG2, rel=1e-15)
    np.testing.assert_allclose(out["along_grad"], [0.0, 0.0], atol=1e-15)
    for weights, value in zip(mixtures, out["generalized"], strict=True):
        expected = scipy.stats.entropy(weights)  # the bound H(pi), reached at disjoint supports
        np.testing.assert_allclose(value, expected, rtol=1e-12)


def test_identical_distributions_give_zero_and_zero_gradient(rng):
    p = _dists(rng, (3, 5), np.float64, zeros=True)
    mean, log_var = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))

    # one program; each distribution comes in twice as two arguments, as in separate eager
    # calls, so that no simplification of x - x can make a result zero
    @jax.jit
    def program(p, p2, mean, log_var, mean2, log_var2):
        return (
            js_divergence(p, p2),
            kl_divergence(jnp.log(p), p2),
            kl_divergence_with_log_targets(jnp.log(p), jnp.log(p2)),
            _grads(js_divergence, p, p2),
            gaussian_kl_divergence(mean, log_var, prior_mean=mean2, prior_log_variance=log_var2),
        )

    js, kl, kl_log, (g_q, g_p), same = program(
        p, p.copy(), mean, log_var, mean.copy(), log_var.copy()
    )
    np.testing.assert_array_equal(js, np.zeros(3))
    np.testing.assert_array_equal(kl, np.zeros(3))
    np.testing.assert_array_equal(kl_log, 0.0)
    positive = p > 0
    np.testing.assert_allclose(np.asarray(g_q)[positive], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(g_p)[positive], 0.0, atol=1e-12)
    np.testing.assert_array_equal(same, np.zeros(3))


# Bad input ------------------------------------------------------------------------------

PAIRS = [
    (kl_divergence, ("log_predictions", "targets")),
    (kl_divergence_with_log_targets, ("log_predictions", "log_targets")),
    (generalized_kl_divergence, ("log_predictions", "targets")),
    (cross_entropy, ("log_predictions", "targets")),
    (js_divergence, ("predictions", "targets")),
    (generalized_js_divergence, ("predictions", "targets")),
    (gaussian_kl_divergence, ("mean", "log_variance")),
]


@pytest.mark.parametrize("fn,names", PAIRS, ids=[f.__name__ for f, _ in PAIRS])
def test_bad_input_raises_naming_the_argument(fn, names):
    first, second = names
    x = jnp.full((2, 3), 1 / 3)
    with pytest.raises(ValueError, match=f"`{first}`"):
        jax.jit(fn)(x, jnp.full((2, 4), 0.25))
    with pytest.raises(TypeError, match=f"`{first}`"):
        jax.jit(fn)(jnp.ones((2, 3), jnp.int32), x)
    with pytest.raises(TypeError, match=f"`{second}`"):
        jax.jit(fn)(x, jnp.ones((2, 3), jnp.int32))
    with pytest.raises(ValueError, match="`reduction`"):
        fn(x, x, reduction="average")
    with pytest.raises(ValueError, match="`axis`"):
        fn(x, x, axis=-3)
    with pytest.raises(TypeError, match="`where`"):
        fn(x, x, where=jnp.ones((2, 3)))


def test_size_one_distribution_axis_is_refused():
    with pytest.raises(ValueError, match="`targets`"):
        kl_divergence(jnp.zeros((2, 3)), jnp.ones((2, 1)))


def test_bad_mixture_weights_raise():
    x = jnp.full((3,), 1 / 3)
    for weights in [(0.5, 0.6), (-0.1, 1.1), (1.0,), np.ones((2, 2)) / 4, (np.nan, 0.5)]:
        with pytest.raises(ValueError, match="`mixture_weights`"):
            generalized_js_divergence(x, x, mixture_weights=weights)


# Properties (hypothesis) ------------------------------------------------------------------
# Fixed shapes and jitted functions keep compilation out of the loop; shapes are covered above.

PROPERTY_SHAPES = [(4, 5), (2, 1)]
_js = jax.jit(js_divergence)
_gjs = jax.jit(lambda q, p, w: generalized_js_divergence(q, p, mixture_weights=w))
_kl = jax.jit(kl_divergence)
_gkl = jax.jit(generalized_kl_divergence)
_ce = jax.jit(cross_entropy)
_h = jax.jit(entropy)
_gauss = jax.jit(gaussian_kl_divergence)


def _atol(dtype):
    return 1e-6 if dtype == np.float32 else 1e-14


@st.composite
def distributions(draw, shape, *, dtype=np.float64, zeros=True):
    elements = st.floats(0.0, 1.0) if zeros else st.floats(1e-3, 1.0)
    r = draw(hnp.arrays(np.float64, shape, elements=elements))
    r = r + (r.sum(-1, keepdims=True) == 0)  # an all-zero row becomes uniform
    return (r / r.sum(-1, keepdims=True)).astype(dtype)


@st.composite
def distribution_pairs(draw, *, dtype=np.float64):
    shape = draw(st.sampled_from(PROPERTY_SHAPES))
    return draw(distributions(shape, dtype=dtype)), draw(distributions(shape, dtype=dtype))


DTYPES = st.sampled_from([np.float32, np.float64])


@given(st.data(), DTYPES)
def test_divergences_are_nonnegative(data, dtype):
    q, p = data.draw(distribution_pairs(dtype=dtype))
    atol = _atol(dtype)
    assert np.all(np.asarray(_js(q, p)) >= -atol)
    assert np.all(np.asarray(_gjs(q, p, np.array([0.3, 0.7], dtype))) >= -atol)
    log_q = jnp.log(data.draw(distributions(p.shape, dtype=dtype, zeros=False)))
    assert np.all(np.asarray(_kl(log_q, p)) >= -atol)
    assert np.all(np.asarray(_gkl(log_q, p)) >= -atol)


@given(
    hnp.arrays(np.float64, (2, 3), elements=st.floats(-5, 5)),
    hnp.arrays(np.float64, (2, 3), elements=st.floats(-8, 8)),
    DTYPES,
)
def test_gaussian_kl_is_nonnegative(mean, log_var, dtype):
    value = np.asarray(_gauss(mean.astype(dtype), log_var.astype(dtype)))
    assert np.all(value >= -_atol(dtype) * np.maximum(1.0, np.abs(value)))


@given(st.data(), DTYPES)
def test_js_is_symmetric_and_bounded(data, dtype):
    q, p = data.draw(distribution_pairs(dtype=dtype))
    forward, backward = np.asarray(_js(q, p)), np.asarray(_js(p, q))
    np.testing.assert_array_equal(forward, backward)  # exactly, in the code's numbers
    atol = _atol(dtype)
    assert np.all(forward >= -atol) and np.all(forward <= LOG2 + atol)
    # Lin (1991): JS = (KL(Q || M) + KL(P || M)) / 2 with scipy's rel_entr (scipy's own
    # jensenshannon takes a square root that is NaN when rounding makes JS slightly negative).
    q64, p64 = np.float64(q), np.float64(p)
    m = 0.5 * (q64 + p64)
    expected = 0.5 * (scipy.special.rel_entr(q64, m) + scipy.special.rel_entr(p64, m)).sum(-1)
    rtol = 1e-4 if dtype == np.float32 else 1e-9
    np.testing.assert_allclose(forward, expected, rtol=rtol, atol=atol)


@given(st.data(), st.floats(0.0, 1.0))
def test_generalized_js_swaps_weights_and_is_bounded_by_their_entropy(data, pi_1):
    q, p = data.draw(distribution_pairs())
    weights = np.array([pi_1, 1.0 - pi_1])
    value = np.asarray(_gjs(q, p, weights))
    np.testing.assert_allclose(value, _gjs(p, q, weights[::-1]), rtol=1e-12, atol=1e-15)
    assert np.all(value <= scipy.stats.entropy(weights) + 1e-12)
    np.testing.assert_allclose(value, _numpy_generalized_js(q, p, *weights), atol=1e-12)


@given(st.data(), DTYPES)
def test_kl_of_a_distribution_with_itself_is_zero(data, dtype):
    p, _ = data.draw(distribution_pairs(dtype=dtype))
    atol = 1e-7 if dtype == np.float32 else 1e-15
    np.testing.assert_allclose(_kl(jnp.log(p), p), 0.0, atol=atol)
    np.testing.assert_allclose(_js(p, p), 0.0, atol=atol)
    np.testing.assert_allclose(_gkl(jnp.log(p), p), 0.0, atol=atol)


@given(st.data(), DTYPES)
def test_cross_entropy_is_entropy_plus_kl(data, dtype):
    p, _ = data.draw(distribution_pairs(dtype=dtype))
    logits = data.draw(hnp.arrays(np.float64, p.shape, elements=st.floats(-20, 20)))
    log_q = np.asarray(jax.nn.log_softmax(logits)).astype(dtype)
    lhs = np.float64(_ce(log_q, p))
    rhs = np.float64(_h(p)) + np.float64(_kl(log_q, p))
    # A few ulps of the magnitudes summed (float32 and float64 alike).
    scale = np.sum(np.abs(np.float64(p) * np.float64(log_q)), -1) + np.float64(_h(p)) + 1.0
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=float(8 * np.finfo(dtype).eps) * scale.max())


@pytest.mark.parametrize("tiny", [2.7e-38, 1.2e-38, 1e-30])
def test_js_gradient_finite_when_one_side_is_tiny_and_the_other_zero(tiny):
    # Found by the divergences notebook: Gaussian bumps whose float32 tails underflow give a zero
    # beside a number near the smallest normal float32; the mixture's square underflowed.
    p = np.array([0.0, 0.5, 0.5], np.float32)
    q = np.array([tiny, 0.5, 0.5 - tiny], np.float32)
    grads, value = jax.jit(  # one program: the gradients and the value
        lambda p, q: (
            jax.grad(lambda a, b: jaxloss.js_divergence(a, b).sum(), argnums=(0, 1))(p, q),
            jaxloss.js_divergence(p, q),
        )
    )(p, q)
    assert all(bool(np.isfinite(g).all()) for g in grads)
    assert bool(np.isfinite(value)) and float(value) >= 0.0


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family).
def sharded_checks() -> None:
    """Each divergence inside ``shard_map`` with ``axis_name`` equals one device (4 devices)."""
    rng = np.random.default_rng(0)
    q, p = _dists(rng, (8, 5), np.float32), _dists(rng, (8, 5), np.float32, zeros=True)
    w = rng.uniform(0.5, 2.0, 8).astype(np.float32)
    mask = np.array([1, 1, 0, 0, 1, 0, 1, 1], bool)  # device 1 holds no counted example
    fns = {
        "entropy": lambda a, b, **kw: entropy(b, **kw),
        "cross_entropy": lambda a, b, **kw: cross_entropy(jnp.log(a), b, **kw),
        "kl_divergence": lambda a, b, *, where, **kw: kl_divergence(
            jnp.log(a), b, where=where[:, None], **kw
        ),
        "kl_divergence_with_log_targets": lambda a, b, *, where, **kw: (
            kl_divergence_with_log_targets(jnp.log(a), jnp.log(b + 0.1), where=where[:, None], **kw)
        ),
        "generalized_kl_divergence": lambda a, b, *, where, **kw: generalized_kl_divergence(
            jnp.log(a), b, where=where[:, None], **kw
        ),
        "js_divergence": js_divergence,
        "generalized_js_divergence": functools.partial(
            generalized_js_divergence, mixture_weights=(0.3, 0.7)
        ),
        "gaussian_kl_divergence": gaussian_kl_divergence,
    }
    assert_reductions_global(fns, (q, p, mask, w))
