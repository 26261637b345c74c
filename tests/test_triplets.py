"""Reference tests for jaxloss.triplets (triplet and quadruplet losses on given tuples).

Oracles: torch CPU (``triplet_margin_loss``, ``triplet_margin_with_distance_loss``), optax
(``triplet_margin_loss`` at even degree without eps), and Chen et al.'s quadruplet loss written
from the paper with scipy's ``cdist`` distances.
"""

from __future__ import annotations

import functools
import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch.nn.functional as F
from scipy.spatial.distance import cdist

import jaxloss
from tests.embedding_helpers import CDIST, TOL
from tests.embedding_helpers import as_torch as _t
from tests.embedding_helpers import jit as _jit

# triplet and quadruplet on given tuples ------------------------------------------------------


@pytest.mark.parametrize("norm_degree", [1, 2, 3, np.inf])
@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("eps", [1e-6, 0.1])
def test_triplet_margin_loss_matches_torch(rng, norm_degree, swap, eps):
    a, p, n = (rng.standard_normal((7, 4)) for _ in range(3))
    expected = F.triplet_margin_loss(
        _t(a), _t(p), _t(n), margin=0.7, p=norm_degree, eps=eps, swap=swap, reduction="none"
    ).numpy()
    actual = _jit(jaxloss.triplet_margin_loss)(
        a, p, n, norm_degree=norm_degree, margin=0.7, eps=eps, swap=swap
    )
    np.testing.assert_allclose(actual, expected, **TOL)


def test_triplet_margin_loss_other_axis_and_reductions(rng):
    a, p, n = (rng.standard_normal((2, 4, 3)) for _ in range(3))
    flat = [np.moveaxis(v, 1, -1).reshape(-1, 4) for v in (a, p, n)]
    expected = F.triplet_margin_loss(*map(_t, flat), reduction="none").numpy()
    actual = _jit(jaxloss.triplet_margin_loss)(a, p, n, axis=1)
    np.testing.assert_allclose(actual.reshape(-1), expected, **TOL)
    np.testing.assert_allclose(
        _jit(jaxloss.triplet_margin_loss)(a, p, n, axis=1, reduction="mean"), expected.mean(), **TOL
    )


def test_triplet_margin_loss_odd_degree_where_optax_is_wrong():
    a, p, n = jnp.array([[0.0, 0.0]]), jnp.array([[1.0, -1.0]]), jnp.array([[3.0, 0.0]])
    torch_value = F.triplet_margin_loss(_t(a), _t(p), _t(n), margin=0.5, p=1).item()
    optax_value = optax.losses.triplet_margin_loss(a, p, n, norm_degree=1, margin=0.5)
    ours = _jit(jaxloss.triplet_margin_loss)(a, p, n, norm_degree=1, margin=0.5)
    np.testing.assert_allclose(optax_value, [3.5], atol=1e-5)
    np.testing.assert_allclose(ours, [torch_value], atol=1e-6)
    np.testing.assert_allclose(ours, [0.0], atol=1e-6)


def test_triplet_margin_loss_agrees_with_optax_at_even_degree_without_eps(rng):
    a, p, n = (rng.standard_normal((6, 5)) for _ in range(3))
    for q in (2, 4):
        expected = optax.losses.triplet_margin_loss(a, p, n, norm_degree=q, margin=2.0, eps=0.0)
        actual = _jit(jaxloss.triplet_margin_loss)(a, p, n, norm_degree=q, margin=2.0, eps=0.0)
        np.testing.assert_allclose(actual, expected, **TOL)


@pytest.mark.parametrize("distance", ["euclidean", "cosine", "callable"])
@pytest.mark.parametrize("swap", [False, True])
def test_triplet_margin_loss_with_distance_matches_torch(rng, distance, swap):
    a, p, n = (rng.standard_normal((6, 3)) for _ in range(3))
    if distance == "callable":
        ours = lambda x, y: jnp.sum(jnp.abs(x - y), -1)  # noqa: E731
        theirs = lambda x, y: (x - y).abs().sum(-1)  # noqa: E731
    elif distance == "cosine":
        ours, theirs = "cosine", lambda x, y: 1 - F.cosine_similarity(x, y)
    else:
        ours, theirs = "euclidean", lambda x, y: (x - y).pow(2).sum(-1).sqrt()
    expected = F.triplet_margin_with_distance_loss(
        _t(a), _t(p), _t(n), distance_function=theirs, margin=0.4, swap=swap, reduction="none"
    ).numpy()
    actual = _jit(jaxloss.triplet_margin_loss)(a, p, n, margin=0.4, swap=swap, distance=ours)
    np.testing.assert_allclose(actual, expected, **TOL)


def test_triplet_margin_loss_soft_margin(rng):
    a, p, n = (rng.standard_normal((5, 3)) for _ in range(3))
    gap = np.linalg.norm(a - p + 1e-6, axis=-1) - np.linalg.norm(a - n + 1e-6, axis=-1)
    np.testing.assert_allclose(
        _jit(jaxloss.triplet_margin_loss)(a, p, n, soft=True), np.log1p(np.exp(gap)), **TOL
    )


def test_triplet_margin_loss_identical_points_exact_zero_and_finite_grads():
    x = np.ones((3, 4))
    degrees = (1, 2, 3, jnp.inf)

    @jax.jit  # one program: every degree's values and gradients
    def program(a, p, n):
        out = []
        for q in degrees:
            fn = functools.partial(jaxloss.triplet_margin_loss, norm_degree=q, eps=0.0, margin=0.5)
            grads = jax.grad(lambda *t, fn=fn: jnp.sum(fn(*t)), argnums=(0, 1, 2))(a, p, n)
            out.append((fn(a, p, n), grads))
        return out

    for q, (value, grads) in zip(degrees, program(x, x, x), strict=True):
        np.testing.assert_array_equal(value, 0.5)
        assert all(np.all(np.isfinite(g)) for g in grads), q


@pytest.mark.parametrize("distance", ["squared_euclidean", "euclidean", "cosine"])
def test_quadruplet_loss_matches_paper_formula(rng, distance):
    a, p, n, n2 = (rng.standard_normal((8, 3)) for _ in range(4))

    def dist(x, y):
        return np.array(
            [cdist(u[None], v[None], CDIST[distance])[0, 0] for u, v in zip(x, y, strict=True)]
        )

    # Chen et al. 2017, eq. (5): [D(a,p) - D(a,n) + m1]_+ + [D(a,p) - D(n,n2) + m2]_+.
    expected = np.maximum(dist(a, p) - dist(a, n) + 1.0, 0) + np.maximum(
        dist(a, p) - dist(n, n2) + 0.5, 0
    )
    actual = _jit(jaxloss.quadruplet_loss)(a, p, n, n2, distance=distance)
    np.testing.assert_allclose(actual, expected, **TOL)


# reduction, masks, weights; the distance default ----------------------------------------------


def test_triplet_margin_loss_where_and_weights_match_torch(rng):
    a, p, n = (rng.standard_normal((6, 4)) for _ in range(3))
    expected = F.triplet_margin_loss(_t(a), _t(p), _t(n), margin=1.5, reduction="none").numpy()
    where = np.array([True, False, True, True, False, True])
    weights = rng.uniform(0, 2, 6)
    n[1] = np.nan  # masked: read by nothing
    kw = {"margin": 1.5, "where": where, "weights": weights}
    fn = jaxloss.triplet_margin_loss
    m_expected = np.where(where, weights * expected, 0.0)
    np.testing.assert_allclose(_jit(fn)(a, p, n, **kw), m_expected, **TOL)
    np.testing.assert_allclose(_jit(fn)(a, p, n, reduction="sum", **kw), m_expected.sum(), **TOL)
    mean = m_expected.sum() / (weights * where).sum()
    np.testing.assert_allclose(_jit(fn)(a, p, n, reduction="mean", **kw), mean, **TOL)
    total, count = _jit(fn)(a, p, n, reduction="sum_and_count", **kw)
    np.testing.assert_allclose((total, count), (m_expected.sum(), (weights * where).sum()), **TOL)
    grads = jax.jit(
        jax.grad(
            lambda *v: jaxloss.triplet_margin_loss(*v, reduction="mean", **kw), argnums=(0, 1, 2)
        )
    )(a, p, n)
    for g in grads:
        assert np.all(np.isfinite(g)) and np.all(np.asarray(g)[~where] == 0.0)


def test_quadruplet_loss_defaults_to_euclidean_like_the_triplet_losses(rng):
    # jaxloss 1.0: the default `distance` of both quadruplet losses is "euclidean" (torch's
    # triplet_margin_loss, pytorch-metric-learning, the mining losses); it was
    # "squared_euclidean" (Chen et al.'s g^2), which stays available by name.
    a, p, n, n2 = (rng.standard_normal((5, 3)) for _ in range(4))
    d = functools.partial(np.linalg.norm, axis=-1)
    expected = np.maximum(d(a - p) - d(a - n) + 1.0, 0) + np.maximum(d(a - p) - d(n - n2) + 0.5, 0)
    np.testing.assert_allclose(_jit(jaxloss.quadruplet_loss)(a, p, n, n2), expected, **TOL)
    sq = _jit(jaxloss.quadruplet_loss)(a, p, n, n2, distance="squared_euclidean")
    assert not np.allclose(sq, expected)
    for fn in (jaxloss.quadruplet_loss, jaxloss.batch_hard_quadruplet_loss):
        assert inspect.signature(fn).parameters["distance"].default == "euclidean"
    assert inspect.signature(jaxloss.batch_hard_triplet_loss).parameters["distance"].default == (
        "euclidean"
    )


@pytest.mark.parametrize("distance", ["manhattan", "chebyshev"])
def test_tuple_losses_take_every_named_distance(rng, distance):
    a, p, n, n2 = (rng.standard_normal((6, 3)) for _ in range(4))
    d = np.diag  # distances of aligned rows
    dap, dan = d(cdist(a, p, CDIST[distance])), d(cdist(a, n, CDIST[distance]))
    dnn = d(cdist(n, n2, CDIST[distance]))
    np.testing.assert_allclose(
        _jit(jaxloss.triplet_margin_loss)(a, p, n, distance=distance, margin=0.5),
        np.maximum(dap - dan + 0.5, 0),
        **TOL,
    )
    np.testing.assert_allclose(
        _jit(jaxloss.quadruplet_loss)(a, p, n, n2, distance=distance),
        np.maximum(dap - dan + 1.0, 0) + np.maximum(dap - dnn + 0.5, 0),
        **TOL,
    )
    for scipy_spelling in ("cityblock", "sqeuclidean"):  # `metric=` of pairwise_distances only
        with pytest.raises(ValueError, match="`distance`"):
            jaxloss.quadruplet_loss(a, p, n, n2, distance=scipy_spelling)
        with pytest.raises(ValueError, match="`distance`"):
            jaxloss.triplet_margin_loss(a, p, n, distance=scipy_spelling)
