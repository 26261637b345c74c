"""Reference tests for jaxloss.probabilities against scipy and optax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.special

import jaxloss

TOL = {"rtol": 1e-5, "atol": 1e-5}


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


def test_axis_none_and_tuples_reduce_over_those_axes(rng):
    x = rng.normal(size=(2, 3, 4))
    np.testing.assert_allclose(
        jaxloss.softmax(x, axis=None), scipy.special.softmax(x, axis=None), **TOL
    )
    np.testing.assert_allclose(
        jaxloss.log_softmax(x, axis=(0, 2)), scipy.special.log_softmax(x, axis=(0, 2)), **TOL
    )
    with pytest.raises(ValueError, match="`axis`"):
        jaxloss.softmax(x, axis=(1, 1))
    with pytest.raises(ValueError, match="`axis`"):
        jaxloss.smooth_labels(x, 0.1, axis=3)
