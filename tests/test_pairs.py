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
from tests.embedding_helpers import checked_mode as _checked
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
    x = np.random.default_rng(0).standard_normal((4, 3))
    labels = np.arange(4)

    @jax.jit  # one program: optax's value, ours and our gradient
    def program(x, labels):
        return optax.losses.ntxent(x, labels), jax.value_and_grad(jaxloss.ntxent)(x, labels)

    reference, (value, grad) = program(x, labels)
    assert np.isnan(reference)
    assert float(value) == 0.0
    np.testing.assert_array_equal(grad, 0.0)


# reduction, masks, weights, data checks (CONTRIBUTING.md, sections 4 and 7) ------------------


def _masked_mean_reference(values, where, weights):
    """numpy: (m w l, sum(m w l), sum(m w l) / sum(m w)) with masked values taken as 0."""
    v = np.where(where, values, 0.0)
    return weights * v, np.sum(weights * v), np.sum(weights * v) / np.sum(weights * where)


def _check_reductions(fn, args, where, weights, expected_values, **kw):
    none, total, mean = _masked_mean_reference(expected_values, where, weights)
    run = {
        r: jax.jit(lambda *a, r=r: fn(*a, reduction=r, where=where, weights=weights, **kw))
        for r in ("none", "sum", "mean", "sum_and_count")
    }
    np.testing.assert_allclose(run["none"](*args), none, **TOL)
    np.testing.assert_allclose(run["sum"](*args), total, **TOL)
    np.testing.assert_allclose(run["mean"](*args), mean, **TOL)
    s, c = run["sum_and_count"](*args)
    np.testing.assert_allclose((s, c), (total, np.sum(weights * where)), **TOL)
    grads = jax.jit(jax.grad(lambda *a: run["mean"](*a), argnums=(0, 1)))(*args)
    for g in grads:
        assert np.all(np.isfinite(g)), "a masked NaN pair leaked into the gradient"
        np.testing.assert_array_equal(np.asarray(g)[~where], 0.0)


def test_cosine_embedding_loss_where_and_weights_match_torch(rng):
    x1, x2 = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    labels = rng.choice([-1, 1], 6)
    where = np.array([True, False, True, True, False, True])
    weights = rng.uniform(0, 2, 6)
    expected = F.cosine_embedding_loss(
        _t(x1), _t(x2), torch.from_numpy(labels), margin=0.2, reduction="none"
    ).numpy()
    x1[1] = np.nan  # masked: read by nothing
    labels[4] = 0  # masked: not checked
    _check_reductions(
        jaxloss.cosine_embedding_loss, (x1, x2, labels), where, weights, expected, margin=0.2
    )


@pytest.mark.parametrize("distance", ["euclidean", "manhattan", "chebyshev", "squared_euclidean"])
def test_contrastive_loss_where_and_weights_match_hadsell_formula(rng, distance):
    x1, x2 = rng.standard_normal((7, 3)), rng.standard_normal((7, 3))
    labels = rng.integers(0, 2, 7).astype(bool)
    where = rng.random(7) < 0.7
    where[0], where[1] = True, False
    weights = rng.uniform(0, 2, 7)
    d = np.array(
        [cdist(a[None], b[None], CDIST[distance])[0, 0] for a, b in zip(x1, x2, strict=True)]
    )
    expected = labels * d**2 + (1 - labels) * np.maximum(1.5 - d, 0) ** 2
    x2[1] = np.inf
    _check_reductions(
        jaxloss.contrastive_loss,
        (x1, x2, labels),
        where,
        weights,
        expected,
        margin=1.5,
        distance=distance,
    )


def test_cosine_similarity_loss_where_and_weights_match_torch(rng):
    p, t = rng.standard_normal((5, 4)), rng.standard_normal((5, 4))
    expected = 1 - F.cosine_similarity(_t(p), _t(t), dim=-1, eps=1e-8).numpy()
    where = np.array([True, True, False, True, False])
    weights = rng.uniform(0, 2, 5)
    p[2] = np.nan
    _check_reductions(jaxloss.cosine_similarity_loss, (p, t), where, weights, expected)


def test_pair_losses_reject_scipy_spellings_and_accept_the_vocabulary(rng):
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    labels = np.array([1, 0, 1, 0])
    for spelling in ("sqeuclidean", "cityblock", "l2"):
        with pytest.raises(ValueError, match="`distance`"):
            jaxloss.contrastive_loss(x1, x2, labels, distance=spelling)


def test_contrastive_labels_outside_0_1_raise_eagerly_and_in_checked_mode(rng):
    x1, x2 = jnp.asarray(rng.standard_normal((4, 3))), jnp.asarray(rng.standard_normal((4, 3)))

    def fn(labels):
        return jaxloss.contrastive_loss(x1, x2, labels, reduction="mean")

    _checked(fn, jnp.array([1.0, 0.0, 2.0, 1.0]), jnp.array([1.0, 0.0, 0.25, 1.0]), "labels")
    _checked(fn, jnp.array([1, -1, 0, 1]), jnp.array([1, 0, 0, 1]), "labels")
    # A masked pair's label is not checked; soft and bool labels are accepted.
    masked = jaxloss.contrastive_loss(x1, x2, jnp.array([1, 0, 5, 1]), where=jnp.arange(4) != 2)
    assert float(masked[2]) == 0.0
    np.testing.assert_allclose(
        jaxloss.contrastive_loss(x1, x2, jnp.array([True, False, True, False])),
        jaxloss.contrastive_loss(x1, x2, jnp.array([1.0, 0.0, 1.0, 0.0])),
    )


def test_cosine_embedding_labels_other_than_plus_minus_one_raise(rng):
    x1, x2 = jnp.asarray(rng.standard_normal((4, 3))), jnp.asarray(rng.standard_normal((4, 3)))

    def fn(labels):
        return jaxloss.cosine_embedding_loss(x1, x2, labels, reduction="sum")

    _checked(fn, jnp.array([1, 0, -1, 1]), jnp.array([1, -1, -1, 1]), "labels")
    _checked(fn, jnp.array([1.0, 0.5, -1.0, 1.0]), jnp.array([1.0, -1.0, -1.0, 1.0]), "labels")
    # The unchecked, traced value of a bad label is torch's: 0 for that pair.
    out = jax.jit(jaxloss.cosine_embedding_loss)(x1, x2, jnp.array([1, 0, -1, 1]))
    assert float(out[1]) == 0.0


def _np_ntxent(x, y, tau):
    """Per-anchor (sum over positives of -log e^s_ij / (e^s_ij + sum_neg e^s_ik), count)."""
    u = x / np.linalg.norm(x, axis=-1, keepdims=True)
    s = u @ u.T / tau
    total, count = np.zeros(len(y)), np.zeros(len(y))
    for i in range(len(y)):
        neg = [k for k in range(len(y)) if y[k] != y[i]]
        for j in range(len(y)):
            if j != i and y[j] == y[i]:
                total[i] += -s[i, j] + np.log(np.exp(s[i, j]) + np.exp(s[i, neg]).sum())
                count[i] += 1
    return total, count


def test_ntxent_where_removes_examples_and_weights_weight_anchors(rng):
    x = rng.standard_normal((9, 4))
    y = np.array([0, 0, 1, 1, 2, 2, 0, 1, 2])
    where = np.array([True, True, True, False, True, True, True, True, False])
    weights = rng.uniform(0.1, 2, 9)
    keep = np.nonzero(where)[0]
    x_nan = x.copy()
    x_nan[3] = np.nan
    kw = {"where": where, "weights": weights}

    @jax.jit  # one program: optax on the kept rows, ours with every reduction, the gradient
    def program(x_kept, y_kept, x_nan, labels, tau, where, weights):
        got = {"optax": optax.losses.ntxent(x_kept, y_kept, 0.5)}
        got["where"] = jaxloss.ntxent(x_nan, labels, tau, where=where)
        for r in ("mean", "none", "sum_and_count"):
            got[r] = jaxloss.ntxent(x_nan, labels, tau, reduction=r, where=where, weights=weights)
        got["grad"] = jax.grad(lambda e: jaxloss.ntxent(e, y, 0.5, **kw))(x_nan)
        return got

    got = program(x[keep], y[keep], x_nan, y, 0.5, where, weights)
    # where: the loss of the batch without the masked examples (optax on the kept rows).
    np.testing.assert_allclose(got["where"], got["optax"], **TOL)
    # weights: sum(w total) / sum(w count) over the kept anchors (numpy oracle).
    total, count = _np_ntxent(x[keep], y[keep], 0.5)
    w = weights[keep]
    per_anchor = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    np.testing.assert_allclose(got["mean"], (w * total).sum() / (w * count).sum(), **TOL)
    none = np.asarray(got["none"])
    np.testing.assert_allclose(none[keep], w * per_anchor, **TOL)
    np.testing.assert_array_equal(none[~where], 0.0)
    s, c = got["sum_and_count"]
    np.testing.assert_allclose((s, c), ((w * total).sum(), (w * count).sum()), **TOL)
    grad = np.asarray(got["grad"])
    assert np.all(np.isfinite(grad)) and np.all(grad[~where] == 0.0)
