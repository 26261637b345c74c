"""Reference tests for jaxloss.mean_errors.

Oracles: scikit-learn metrics (mean_squared_error, mean_absolute_error,
root_mean_squared_error, with ``sample_weight`` and ``multioutput``) and float64 numpy formulas
written from the definitions cited in each test. The checks shared with the elementwise losses
are in tests/regression_helpers.py.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sklearn.metrics

import jaxloss
from tests.regression_helpers import (
    check_bad_inputs_raise,
    check_dtype_follows_inputs,
    check_global_reductions_on_4_devices,
    check_negative_weights_raise,
    pair,
)

MEANS = [
    jaxloss.mean_squared_error,
    jaxloss.mean_absolute_error,
    jaxloss.root_mean_squared_error,
]


# mean errors against scikit-learn ----------------------------------------------------------

SKLEARN = [
    (jaxloss.mean_squared_error, sklearn.metrics.mean_squared_error),
    (jaxloss.mean_absolute_error, sklearn.metrics.mean_absolute_error),
    (jaxloss.root_mean_squared_error, sklearn.metrics.root_mean_squared_error),
]


@pytest.mark.parametrize("shape", [(8, 1), (8, 3)])
@pytest.mark.parametrize("ours,theirs", SKLEARN)
def test_mean_errors_agree_with_sklearn(rng, shape, ours, theirs):
    p, t = pair(rng, shape, np.float64)
    w = rng.uniform(0.1, 2.0, shape[0])
    raw = theirs(t, p, multioutput="raw_values")
    p32, t32 = p.astype(np.float32), t.astype(np.float32)

    @jax.jit  # one program: every call of ours (the weights stay concrete)
    def program(p, t, p32, t32):
        return {
            "raw": ours(p, t, axis=0),
            "mean": ours(p, t, axis=0, reduction="mean"),
            "weighted": ours(p, t, axis=0, weights=w[:, None]),
            "float32": ours(p32, t32, axis=0),
        }

    out = program(p, t, p32, t32)
    np.testing.assert_allclose(out["raw"], raw, rtol=1e-12)
    np.testing.assert_allclose(out["mean"], theirs(t, p), rtol=1e-12)
    np.testing.assert_allclose(
        out["weighted"],
        theirs(t, p, sample_weight=w, multioutput="raw_values"),
        rtol=1e-12,
    )
    # float32 inputs, tolerance 1e-5.
    np.testing.assert_allclose(
        out["float32"],
        theirs(t32.astype(np.float64), p32, multioutput="raw_values"),
        rtol=1e-5,
    )


@pytest.mark.parametrize("ours,theirs", SKLEARN)
def test_mean_errors_default_to_all_axes_and_support_axis_tuples(rng, ours, theirs):
    p, t = pair(rng, (2, 3, 4), np.float64)
    every, axes_0_last, axes_2_0, summed = jax.jit(  # one program
        lambda p, t: (
            ours(p, t),
            ours(p, t, axis=(0, -1)),
            ours(p, t, axis=(2, 0)),
            ours(p, t, axis=(0, 2), reduction="sum"),
        )
    )(p, t)
    np.testing.assert_allclose(every, theirs(t.ravel(), p.ravel()), rtol=1e-12)
    # axis=(0, 2): one value per index of axis 1, over the 8 entries of that slice.
    expected = [theirs(t[:, j].ravel(), p[:, j].ravel()) for j in range(3)]
    np.testing.assert_allclose(axes_0_last, expected, rtol=1e-12)
    np.testing.assert_allclose(axes_2_0, expected, rtol=1e-12)
    np.testing.assert_allclose(summed, np.sum(expected), rtol=1e-12)


@pytest.mark.parametrize("ours,theirs", SKLEARN)
def test_mean_errors_with_where_equal_the_selected_subset(rng, ours, theirs):
    p, t = pair(rng, (8, 3), np.float64)
    where = rng.uniform(size=(8, 3)) < 0.6
    where[2] = False  # a row that counts nothing
    p_nan = np.where(where, p, np.nan)

    @jax.jit  # one program: values and the gradient (the mask stays concrete)
    def program(p, t, p_nan):
        return {
            "per_row": ours(p, t, axis=1, where=where),
            "mean": ours(p, t, axis=1, where=where, reduction="mean"),
            "all": ours(p, t, where=where),
            "grad": jax.grad(lambda x: ours(x, t, where=where))(p_nan),
        }

    out = program(p, t, p_nan)
    per_row = out["per_row"]
    for i in range(8):
        if where[i].any():
            expected = theirs(t[i][where[i]], p[i][where[i]])
            np.testing.assert_allclose(per_row[i], expected, rtol=1e-12)
        else:
            assert float(per_row[i]) == 0.0
    counted = [i for i in range(8) if where[i].any()]
    np.testing.assert_allclose(
        out["mean"],
        np.mean(np.asarray(per_row)[counted]),
        rtol=1e-12,
    )
    np.testing.assert_allclose(out["all"], theirs(t[where], p[where]), rtol=1e-12)
    # Masked entries get no gradient, even when they hold NaN.
    grad = out["grad"]
    assert np.all(np.isfinite(grad))
    assert np.all(np.asarray(grad)[~where] == 0)


def test_rmse_at_zero_error_has_value_and_gradient_zero():
    p = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = np.array([[1.0, 2.0], [3.0, 5.0]])
    every_kwargs = ({}, {"axis": 0}, {"axis": 1, "reduction": "mean"})

    @jax.jit  # one program: every value and gradient
    def program(p, t):
        rmse = jaxloss.root_mean_squared_error
        at_zero = [
            (
                rmse(p, p, **kw),
                jax.grad(lambda x, kw=kw: jnp.sum(rmse(x, p, **kw)))(p),
            )
            for kw in every_kwargs
        ]
        one_row = jax.grad(lambda x: jnp.sum(rmse(x, t, axis=1)))(p)
        return at_zero, one_row

    at_zero, one_row = program(p, t)
    for value, g in at_zero:
        assert np.all(np.asarray(value) == 0)
        np.testing.assert_array_equal(g, np.zeros((2, 2)))
    # One row exact, one not: the exact row gets gradient 0, the other (a / n) / rmse.
    np.testing.assert_allclose(one_row, [[0.0, 0.0], [0.0, (-1.0 / 2) / np.sqrt(0.5)]], rtol=1e-12)


def test_mean_absolute_error_gradient_at_zero_residual():
    p = np.array([1.0, 2.0, 3.0, 4.0])
    t = np.array([1.0, 0.0, 5.0, 4.0])
    g = jax.jit(jax.grad(jaxloss.mean_absolute_error))(p, t)  # one program
    np.testing.assert_array_equal(g, [0.0, 0.25, -0.25, 0.0])


# where / weights on the examples of the mean errors -----------------------------------------


@pytest.mark.parametrize("ours,theirs", SKLEARN)
def test_mean_errors_example_where_and_weights(rng, ours, theirs):
    """A mask and weights of the per-example shape act on the per-row errors (section 4)."""
    p, t = pair(rng, (6, 4), np.float64)
    rows = np.array([theirs(t[i], p[i]) for i in range(6)])
    mask = np.array([True, True, False, True, False, True])
    w = rng.uniform(0.5, 2.0, 6)
    kwargs = {"axis": 1, "where": mask, "weights": w}
    expected = np.where(mask, w * rows, 0.0)
    entry_w = rng.uniform(0.1, 2.0, (6, 4))
    p_nan = np.where(mask[:, None], p, np.nan)

    @jax.jit  # one program: every reduction and the gradient (mask and weights stay concrete)
    def program(p, t, p_nan):
        return {
            "none": ours(p, t, **kwargs),
            "sum": ours(p, t, reduction="sum", **kwargs),
            "mean": ours(p, t, reduction="mean", **kwargs),
            "sum_and_count": ours(p, t, reduction="sum_and_count", **kwargs),
            "entry": ours(p, t, axis=1, weights=entry_w, reduction="none"),
            "grad": jax.grad(lambda x: ours(x, t, reduction="mean", **kwargs))(p_nan),
        }

    out = program(p, t, p_nan)
    np.testing.assert_allclose(out["none"], expected, rtol=1e-12)
    np.testing.assert_allclose(out["sum"], expected.sum(), rtol=1e-12)
    mean = expected.sum() / np.sum(mask * w)
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-12)
    total, count = out["sum_and_count"]
    np.testing.assert_allclose([total, count], [expected.sum(), np.sum(mask * w)], rtol=1e-12)
    # Entry weights (sklearn's sample_weight along axis=1) with example weights on top.
    weighted_rows = np.array([theirs(t[i], p[i], sample_weight=entry_w[i]) for i in range(6)])
    np.testing.assert_allclose(out["entry"], weighted_rows, rtol=1e-12)
    # A masked example leaks nothing, even NaN.
    grad = out["grad"]
    assert np.all(np.isfinite(grad)) and np.all(np.asarray(grad)[~mask] == 0)


@pytest.mark.parametrize("fn", [jaxloss.mean_squared_error])
def test_negative_weights_raise_in_checked_mode_and_eagerly(fn):
    check_negative_weights_raise(fn)


# dtypes and targets --------------------------------------------------------------------------


@pytest.mark.parametrize("fn", MEANS)
@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64])
def test_dtype_follows_inputs(rng, fn, dtype):
    check_dtype_follows_inputs(rng, fn, dtype)


def test_float16_inputs_computed_in_float32():
    # 300^2 overflows float16 as an intermediate only in a float16 computation of a mean.
    p = np.full((4,), 300.0, np.float16)
    out, big = jax.jit(  # one program
        lambda p, t, x: (jaxloss.mean_squared_error(p, t), jaxloss.mean_squared_error(x))
    )(p, np.full((4,), 299.0, np.float16), np.array([250.0, 260.0], np.float16))
    assert out.dtype == jnp.float16 and float(out) == 1.0
    np.testing.assert_allclose(float(big), (250.0**2 + 260.0**2) / 2, rtol=1e-3)


def test_jit_and_vmap_of_mean_errors(rng):
    p, t = pair(rng, (2, 3, 4), np.float32)
    fn = jax.jit(functools.partial(jaxloss.root_mean_squared_error, axis=-1))
    np.testing.assert_allclose(jax.vmap(fn)(p, t), fn(p, t), rtol=1e-6)


# errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", MEANS)
def test_bad_inputs_raise(fn):
    check_bad_inputs_raise(fn)


@pytest.mark.parametrize("fn", MEANS)
def test_bad_axis_and_masks_raise(fn):
    x = jnp.zeros((2, 3))
    with pytest.raises(ValueError, match="`axis`"):
        fn(x, axis=2)
    with pytest.raises(ValueError, match="`axis`"):
        fn(x, axis=(1, -1))
    with pytest.raises(TypeError, match="`axis`"):
        fn(x, axis=1.0)
    with pytest.raises(ValueError, match="`where`"):
        fn(x, where=jnp.ones((2,), bool))
    with pytest.raises(TypeError, match="`where`"):
        fn(x, where=jnp.ones((2, 3)))
    with pytest.raises(ValueError, match="`weights`"):
        fn(x, weights=jnp.ones((2,)))


# Run with 4 simulated devices by tests/test_axis_name.py (one interpreter for every family).
def sharded_checks() -> None:
    """Each mean error inside ``shard_map`` with ``axis_name`` equals one device: per-row
    values (``axis=1``) with the example mask and weights."""
    check_global_reductions_on_4_devices(
        {
            f.__name__: lambda a, b, *, where, weights, f=f, **kw: f(
                a, b, axis=1, where=where[:, 0], weights=weights[:, 0], **kw
            )
            for f in MEANS
        }
    )
