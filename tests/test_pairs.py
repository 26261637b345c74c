"""Reference tests for jaxloss.pairs (pair losses and NT-Xent).

Oracles: torch CPU (``cosine_embedding_loss``, ``cosine_similarity``), optax (``ntxent``,
``cosine_distance``) and Hadsell's contrastive loss written from the paper, with scipy's
``cdist`` distances. NT-Xent's empty sets, duplicates and memory are tested with the mining
losses in test_mining.py.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
import torch.nn.functional as F
from scipy.spatial.distance import cdist

import jaxloss
from tests.embedding_helpers import CDIST, TOL
from tests.embedding_helpers import as_torch as _t
from tests.embedding_helpers import grad_finite as _grad_finite
from tests.embedding_helpers import jit as _jit

# pair losses -----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5, 3), (2, 4, 6)])
@pytest.mark.parametrize("margin", [0.0, 0.3, -0.2])
def test_cosine_embedding_loss_matches_torch(rng, shape, margin):
    x1, x2 = rng.standard_normal(shape), rng.standard_normal(shape)
    x1[0] = 0.0  # a zero vector: torch's 1e-12 makes its cosine 0
    labels = rng.choice([-1, 1], shape[:-1])
    expected = F.cosine_embedding_loss(
        _t(x1).reshape(-1, shape[-1]),
        _t(x2).reshape(-1, shape[-1]),
        torch.from_numpy(labels.reshape(-1)),
        margin=margin,
        reduction="none",
    ).numpy()
    actual = _jit(jaxloss.cosine_embedding_loss)(x1, x2, labels, margin=margin)
    np.testing.assert_allclose(actual.reshape(-1), expected, **TOL)
    mean = _jit(jaxloss.cosine_embedding_loss)(x1, x2, labels, margin=margin, reduction="mean")
    np.testing.assert_allclose(mean, expected.mean(), **TOL)


def test_cosine_embedding_loss_zero_vectors_have_finite_gradients():
    zeros = jnp.zeros((2, 3))
    ok, _ = _grad_finite(
        functools.partial(jaxloss.cosine_embedding_loss, labels=jnp.array([1, -1])), zeros, zeros
    )
    assert ok
    np.testing.assert_allclose(
        _jit(jaxloss.cosine_embedding_loss)(zeros, zeros, jnp.array([1, -1])), [1.0, 0.0]
    )


@pytest.mark.parametrize("eps", [1e-8, 0.5])
def test_cosine_similarity_loss_matches_torch_and_optax(rng, eps):
    p, t = rng.standard_normal((4, 5)), rng.standard_normal((4, 5))
    p[1] = 0.0
    p[2] *= 0.1
    torch_value = 1 - F.cosine_similarity(_t(p), _t(t), dim=-1, eps=eps).numpy()
    optax_value = optax.losses.cosine_distance(p, t, epsilon=eps**2)
    actual = _jit(jaxloss.cosine_similarity_loss)(p, t, eps=eps)
    np.testing.assert_allclose(actual, torch_value, **TOL)
    np.testing.assert_allclose(actual, optax_value, **TOL)
    along0 = _jit(jaxloss.cosine_similarity_loss)(p.T, t.T, axis=0, eps=eps)
    np.testing.assert_allclose(along0, torch_value, **TOL)


@pytest.mark.parametrize("distance", ["euclidean", "squared_euclidean", "cosine"])
@pytest.mark.parametrize("margin", [0.5, 2.0])
def test_contrastive_loss_matches_hadsell_formula(rng, distance, margin):
    x1, x2 = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    labels = rng.integers(0, 2, 6)
    # Hadsell et al. 2006, eq. (4) without the 1/2 factors, y = 1 for similar pairs.
    d = np.array(
        [cdist(a[None], b[None], CDIST[distance])[0, 0] for a, b in zip(x1, x2, strict=True)]
    )
    expected = labels * d**2 + (1 - labels) * np.maximum(margin - d, 0) ** 2
    actual = _jit(jaxloss.contrastive_loss)(x1, x2, labels, margin=margin, distance=distance)
    np.testing.assert_allclose(actual, expected, **TOL)


def test_contrastive_loss_identical_points():
    x = jnp.ones((2, 3))
    value = _jit(jaxloss.contrastive_loss)(x, x, jnp.array([1, 0]), margin=1.5)
    np.testing.assert_array_equal(value, [0.0, 2.25])
    ok, _ = _grad_finite(
        functools.partial(jaxloss.contrastive_loss, labels=jnp.array([1, 0])), x, x
    )
    assert ok


def test_contrastive_loss_callable_distance(rng):
    x1, x2 = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    labels = rng.integers(0, 2, 5)

    def l1(a, b):
        return jnp.sum(jnp.abs(a - b), axis=-1)

    d = np.abs(x1 - x2).sum(-1)
    expected = labels * d**2 + (1 - labels) * np.maximum(1 - d, 0) ** 2
    np.testing.assert_allclose(
        _jit(jaxloss.contrastive_loss)(x1, x2, labels, distance=l1), expected, **TOL
    )
    with pytest.raises(ValueError, match="`distance`"):
        _jit(jaxloss.contrastive_loss)(x1, x2, labels, distance=lambda a, b: a - b)


# NT-Xent ---------------------------------------------------------------------------------


@pytest.mark.parametrize("b,d,classes", [(4, 2, 2), (9, 5, 3), (16, 8, 5)])
@pytest.mark.parametrize("temperature", [0.07, 0.5, 2.0])
def test_ntxent_matches_optax(rng, b, d, classes, temperature):
    x = rng.standard_normal((b, d)).astype(np.float32)
    y = rng.integers(0, classes, b)
    y[:2] = 0  # at least one positive pair (optax is NaN otherwise)
    expected = jax.jit(optax.losses.ntxent)(jnp.asarray(x), jnp.asarray(y), temperature)
    actual = _jit(jaxloss.ntxent)(x, y, temperature)
    np.testing.assert_allclose(actual, expected, rtol=2e-5, atol=1e-5)


def test_ntxent_per_anchor_and_leading_dims(rng):
    x = rng.standard_normal((3, 6, 4))
    y = rng.integers(0, 2, (3, 6))
    none = _jit(jaxloss.ntxent)(x, y, 0.3, reduction="none")
    assert none.shape == (3, 6)
    for i in range(3):
        np.testing.assert_allclose(none[i], _jit(jaxloss.ntxent)(x[i], y[i], 0.3, reduction="none"))
    # "mean" weights each anchor by its number of positives: the mean over positive pairs.
    positives = np.array([[(y[i] == y[i, a]).sum() - 1 for a in range(6)] for i in range(3)])
    expected = (none * positives).sum() / positives.sum()
    np.testing.assert_allclose(_jit(jaxloss.ntxent)(x, y, 0.3), expected, **TOL)


def test_ntxent_without_positive_pairs_is_zero_not_nan():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)))
    labels = jnp.arange(4)
    assert bool(jnp.isnan(optax.losses.ntxent(x, labels)))
    value, grad = jax.jit(jax.value_and_grad(jaxloss.ntxent))(x, labels)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)
