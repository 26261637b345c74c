"""Reference tests for jaxloss.distances and jaxloss.similarity.

Oracles: scipy.spatial.distance (every metric), optax (cosine, where it is correct), torch
(cosine similarity), numpy.corrcoef (Pearson), and a Monte-Carlo estimate for soft Jaccard.
"""

from __future__ import annotations

import functools

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy.spatial import distance as sd

import jaxloss

SHAPES = [(7,), (3, 6), (2, 3, 4)]


def _rows(a):
    a = np.asarray(a)
    return a.reshape(-1, a.shape[-1])


def _scipy_rows(metric, x, y, **kwargs):
    """scipy's per-vector function applied along the last axis."""
    out = [metric(u, v, **kwargs) for u, v in zip(_rows(x), _rows(y), strict=True)]
    return np.asarray(out).reshape(np.shape(x)[:-1])


def _spd(d, seed=0):
    a = np.random.default_rng(seed).standard_normal((d, d))
    return a @ a.T + 0.5 * np.eye(d)


def _call(fn, *args, **kwargs):
    """`fn` compiled with its options closed over, reused across calls when they hash."""
    try:
        compiled = _compiled(fn, tuple(sorted(kwargs.items())))
    except TypeError:  # an array option
        compiled = jax.jit(functools.partial(fn, **kwargs))
    return compiled(*args)


@functools.cache
def _compiled(fn, options):
    return jax.jit(functools.partial(fn, **dict(options)))


@functools.cache
def _grad(fn, argnums=0):
    return jax.jit(jax.grad(fn, argnums=argnums))


METRICS = [
    ("euclidean", jaxloss.euclidean_distance, {}, sd.euclidean, {}),
    ("sqeuclidean", jaxloss.squared_euclidean_distance, {}, sd.sqeuclidean, {}),
    ("minkowski1", jaxloss.minkowski_distance, {"p": 1.0}, sd.minkowski, {"p": 1.0}),
    ("minkowski1.5", jaxloss.minkowski_distance, {"p": 1.5}, sd.minkowski, {"p": 1.5}),
    ("minkowski3", jaxloss.minkowski_distance, {"p": 3.0}, sd.minkowski, {"p": 3.0}),
    ("minkowski25", jaxloss.minkowski_distance, {"p": 25.0}, sd.minkowski, {"p": 25.0}),
    ("minkowski_inf", jaxloss.minkowski_distance, {"p": np.inf}, sd.chebyshev, {}),
    ("manhattan", jaxloss.manhattan_distance, {}, sd.cityblock, {}),
    ("chebyshev", jaxloss.chebyshev_distance, {}, sd.chebyshev, {}),
    ("cosine", jaxloss.cosine_distance, {}, sd.cosine, {}),
    ("correlation", jaxloss.correlation_distance, {}, sd.correlation, {}),
]


# Each (shape, dtype) costs one compilation per metric: a few combinations cover both.
SHAPE_DTYPES = [((7,), jnp.float64), ((3, 6), jnp.float32), ((2, 3, 4), jnp.float64)]


@pytest.mark.parametrize("shape,dtype", SHAPE_DTYPES, ids=lambda v: str(v))
@pytest.mark.parametrize("name,fn,kwargs,ref,ref_kwargs", METRICS, ids=[m[0] for m in METRICS])
def test_matches_scipy(name, fn, kwargs, ref, ref_kwargs, shape, dtype):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape).astype(dtype)
    y = rng.standard_normal(shape).astype(dtype)
    out = jax.jit(functools.partial(fn, **kwargs))(x, y)
    assert out.dtype == dtype and out.shape == shape[:-1]
    expected = _scipy_rows(ref, x.astype(np.float64), y.astype(np.float64), **ref_kwargs)
    tol = 1e-5 if dtype == jnp.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_mahalanobis_matches_scipy(shape):
    rng = np.random.default_rng(1)
    d = shape[-1]
    x, y = rng.standard_normal(shape), rng.standard_normal(shape)
    cov = _spd(d)
    precision = np.linalg.inv(cov)
    expected = _scipy_rows(sd.mahalanobis, x, y, VI=precision)
    np.testing.assert_allclose(
        _call(jaxloss.mahalanobis_distance, x, y, precision=precision), expected, rtol=1e-12
    )
    np.testing.assert_allclose(
        _call(jaxloss.mahalanobis_distance, x, y, covariance=cov), expected, rtol=1e-10
    )
    out32 = _call(
        jaxloss.mahalanobis_distance,
        x.astype(np.float32),
        y.astype(np.float32),
        covariance=cov.astype(np.float32),
    )
    assert out32.dtype == jnp.float32
    np.testing.assert_allclose(out32, expected, rtol=1e-5)
    # A non-symmetric precision enters only through its symmetric part, like scipy's form.
    skew = precision + np.triu(rng.standard_normal((d, d)), 1) * 0.1
    skew_expected = _scipy_rows(sd.mahalanobis, x, y, VI=skew)
    np.testing.assert_allclose(
        _call(jaxloss.mahalanobis_distance, x, y, precision=skew), skew_expected, rtol=1e-12
    )


def test_mahalanobis_indefinite_precision_is_clamped_to_zero():
    precision = np.diag([1.0, -4.0])
    x, y = np.array([0.0, 0.0]), np.array([1.0, 1.0])  # quadratic form 1 - 4 = -3
    assert float(_call(jaxloss.mahalanobis_distance, x, y, precision=precision)) == 0.0


def test_mahalanobis_axis():
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    cov = _spd(4)
    out = _call(jaxloss.mahalanobis_distance, x, y, covariance=cov, axis=0)
    expected = _scipy_rows(sd.mahalanobis, x.T, y.T, VI=np.linalg.inv(cov))
    np.testing.assert_allclose(out, expected, rtol=1e-10)


def test_broadcasting_of_leading_dimensions():
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((3, 1, 5)), rng.standard_normal((1, 4, 5))
    out = _call(jaxloss.euclidean_distance, x, y)
    expected = sd.cdist(x[:, 0], y[0])
    assert out.shape == (3, 4)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    out = _call(jaxloss.cosine_similarity, x, y)
    np.testing.assert_allclose(out, 1 - sd.cdist(x[:, 0], y[0], "cosine"), rtol=1e-12)


@pytest.mark.parametrize(
    "fn,ref",
    [
        (jaxloss.manhattan_distance, sd.cityblock),
        (jaxloss.correlation_distance, sd.correlation),
        (jaxloss.hamming_distance, sd.hamming),
    ],
)
def test_axis_tuple_and_none(fn, ref):
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3, 5))
    y = np.where(rng.random((4, 3, 5)) < 0.5, x, rng.standard_normal((4, 3, 5)))
    # one program: the three axes
    out, flat, first = jax.jit(lambda x, y: [fn(x, y, axis=axis) for axis in ((0, 2), None, 0)])(
        x, y
    )
    expected = [ref(x[:, i].ravel(), y[:, i].ravel()) for i in range(3)]
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    np.testing.assert_allclose(flat, ref(x.ravel(), y.ravel()), rtol=1e-12)
    np.testing.assert_allclose(first, _scipy_rows(ref, x.T, y.T).T, rtol=1e-12)


# Cosine: optax parity, torch, zero vectors --------------------------------------------------


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("axis", [-1, 0, (0, 2)])
def test_cosine_matches_optax(axis, masked):
    rng = np.random.default_rng(5)
    x = jnp.asarray(rng.standard_normal((3, 4, 5)), jnp.float32)
    y = jnp.asarray(rng.standard_normal((3, 4, 5)), jnp.float32)
    where = jnp.asarray(rng.random((3, 4, 5)) < 0.7) if masked else None
    # epsilon is traced here (one compilation for all values); 5.0 exceeds some squared norms.
    for name in ("cosine_similarity", "cosine_distance"):
        ours = jax.jit(
            lambda a, b, eps, m, name=name: getattr(jaxloss, name)(
                a, b, epsilon=eps, axis=axis, where=m
            )
        )
        theirs = jax.jit(
            lambda a, b, eps, m, name=name: getattr(optax.losses, name)(
                a, b, epsilon=eps, axis=axis, where=m
            )
        )
        for epsilon in (0.0, 0.1, 5.0):
            np.testing.assert_allclose(
                ours(x, y, epsilon, where), theirs(x, y, epsilon, where), rtol=1e-5, atol=1e-6
            )


def test_cosine_similarity_matches_torch():
    rng = np.random.default_rng(6)
    x, y = rng.standard_normal((6, 9)), rng.standard_normal((6, 9))
    expected = torch.nn.functional.cosine_similarity(
        torch.from_numpy(x), torch.from_numpy(y), dim=-1, eps=0.0
    ).numpy()
    np.testing.assert_allclose(_call(jaxloss.cosine_similarity, x, y), expected, rtol=1e-12)


def test_zero_vector_cosine_is_zero_with_finite_gradients_where_optax_is_nan():
    x = np.zeros((4,), np.float32)
    y = np.array([1.0, -2.0, 0.5, 3.0])

    @jax.jit  # one program: the values, optax's and the gradients
    def program(x, y):
        return {
            "similarity": jaxloss.cosine_similarity(x, y),
            "distance": jaxloss.cosine_distance(x, y),
            "self": jaxloss.cosine_similarity(x, x),
            "optax": optax.losses.cosine_similarity(x, y),
            "grads": [
                jax.grad(fn, argnums=(0, 1))(x, y)
                for fn in (jaxloss.cosine_similarity, jaxloss.cosine_distance)
            ],
        }

    got = program(x, y)
    assert float(got["similarity"]) == 0.0
    assert float(got["distance"]) == 1.0
    assert float(got["self"]) == 0.0
    assert np.isnan(float(got["optax"]))
    for gx, gy in got["grads"]:
        assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))
    # The chosen gradient at the zero vector is the direction of y (the one-sided limit of
    # the similarity along y), and nothing flows into y.
    gx, gy = got["grads"][0]
    np.testing.assert_allclose(gx, y / np.linalg.norm(y), rtol=1e-6)
    np.testing.assert_array_equal(gy, 0.0)


def test_cosine_distance_is_clipped_for_parallel_vectors():
    x = jnp.asarray(np.random.default_rng(7).standard_normal((200, 13)), jnp.float32)
    out = _call(jaxloss.cosine_distance, x, 3 * x)
    assert float(jnp.min(out)) >= 0.0 and float(jnp.max(out)) < 1e-6


# Pearson and correlation ----------------------------------------------------------------


def test_pearson_matches_numpy_corrcoef():
    rng = np.random.default_rng(8)
    x, y = rng.standard_normal((5, 11)), rng.standard_normal((5, 11))
    expected = [np.corrcoef(u, v)[0, 1] for u, v in zip(x, y, strict=True)]
    np.testing.assert_allclose(_call(jaxloss.pearson_correlation, x, y), expected, rtol=1e-12)


@pytest.mark.parametrize("value", [0.1, 1e3, -7.3, 0.0])
@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64, jnp.bfloat16])
def test_constant_vector_has_correlation_zero_with_finite_gradients(value, dtype):
    # 0.1 is not representable: mean([0.1] * 9) differs from 0.1 by rounding, which a naive
    # centring turns into a correlation of +-1.
    x = jnp.full((9,), value, dtype)
    y = jnp.asarray(np.random.default_rng(9).standard_normal(9), dtype)
    assert float(_call(jaxloss.pearson_correlation, x, y)) == 0.0
    assert float(_call(jaxloss.pearson_correlation, x, x)) == 0.0
    assert float(_call(jaxloss.correlation_distance, x, y)) == 1.0
    for fn in (jaxloss.pearson_correlation, jaxloss.correlation_distance):
        grads = _grad(fn, argnums=(0, 1))(x, y)
        assert all(np.all(np.isfinite(np.asarray(g, np.float64))) for g in grads)


# Jaccard and Hamming ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["bool", "int", "float01", "int_multi"])
@pytest.mark.parametrize("shape", [(9,), (4, 6), (2, 3, 5)], ids=str)
def test_jaccard_and_hamming_match_scipy(kind, shape):
    rng = np.random.default_rng(10)
    if kind == "int_multi":
        x, y = rng.integers(0, 3, shape), rng.integers(0, 3, shape)
    else:
        x, y = rng.random(shape) < 0.4, rng.random(shape) < 0.4
        x, y = {"bool": (x, y), "int": (x.astype(int), y.astype(int))}.get(
            kind, (x.astype(np.float32), y.astype(np.float32))
        )
    x[..., 0] = 0  # include rows that may be empty in both
    y[..., 0] = 0
    expected = _scipy_rows(sd.jaccard, x, y)
    # float 0/1 inputs take the soft path, which agrees on binary values.
    np.testing.assert_allclose(
        _call(jaxloss.jaccard_distance, x, y), expected, rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        _call(jaxloss.jaccard_index, x, y), 1 - expected, rtol=1e-6, atol=1e-7
    )
    np.testing.assert_allclose(
        _call(jaxloss.hamming_distance, x, y), _scipy_rows(sd.hamming, x, y), rtol=1e-6
    )
    assert _call(jaxloss.jaccard_distance, x, y).dtype == jnp.float32


def test_jaccard_binary_mode_on_floats_matches_scipy_nonzero_semantics():
    rng = np.random.default_rng(11)
    x = rng.random((6, 8)) * (rng.random((6, 8)) < 0.5)
    y = rng.random((6, 8)) * (rng.random((6, 8)) < 0.5)
    np.testing.assert_allclose(
        _call(jaxloss.jaccard_distance, x, y, soft=False), _scipy_rows(sd.jaccard, x, y), rtol=1e-12
    )


def test_soft_jaccard_is_the_ratio_of_expected_intersection_and_union():
    # Independent Bernoulli sets A_i ~ x_i, B_i ~ y_i: E|A and B| / E|A or B| is the soft
    # index; estimated by sampling and counting with numpy.
    rng = np.random.default_rng(12)
    x, y = rng.random(6), rng.random(6)
    a = rng.random((200_000, 6)) < x
    b = rng.random((200_000, 6)) < y
    expected = (a & b).sum() / (a | b).sum()
    np.testing.assert_allclose(_call(jaxloss.jaccard_index, x, y), expected, rtol=1e-2)


def test_jaccard_empty_sets_and_soft_gradients():
    zeros = np.zeros((4,))

    @jax.jit  # one program: empty sets, soft and hard, and the gradients
    def program(zeros, empty, a, b):
        got = {}
        for soft in (None, False):
            got[f"distance {soft}"] = jaxloss.jaccard_distance(zeros, zeros, soft=soft)
            got[f"index {soft}"] = jaxloss.jaccard_index(zeros, zeros, soft=soft)
        got["bool"] = jaxloss.jaccard_distance(empty, empty)
        got["grad"] = jax.grad(jaxloss.jaccard_distance)(a, b)
        got["grad at zeros"] = jax.grad(jaxloss.jaccard_index)(zeros, zeros)
        return got

    got = program(zeros, np.zeros(3, bool), np.array([0.2, 0.9, 0.0]), np.array([0.5, 0.4, 1.0]))
    for soft in (None, False):
        assert float(got[f"distance {soft}"]) == 0.0
        assert float(got[f"index {soft}"]) == 1.0
    assert float(got["bool"]) == 0.0
    grad = np.asarray(got["grad"])
    assert np.all(np.isfinite(grad)) and np.any(grad != 0)
    assert np.all(np.isfinite(got["grad at zeros"]))


# Singular points: exact zeros with zero gradients ------------------------------------------

ZERO_AT_IDENTITY = {
    "euclidean": jaxloss.euclidean_distance,
    "sqeuclidean": jaxloss.squared_euclidean_distance,
    "manhattan": jaxloss.manhattan_distance,
    "chebyshev": jaxloss.chebyshev_distance,
    "minkowski1": functools.partial(jaxloss.minkowski_distance, p=1.0),
    "minkowski1.5": functools.partial(jaxloss.minkowski_distance, p=1.5),
    "minkowski2": functools.partial(jaxloss.minkowski_distance, p=2.0),
    "minkowski7": functools.partial(jaxloss.minkowski_distance, p=7.0),
    "minkowski_inf": functools.partial(jaxloss.minkowski_distance, p=jnp.inf),
    "mahalanobis_p": functools.partial(jaxloss.mahalanobis_distance, precision=np.eye(3) * 2),
    "mahalanobis_c": functools.partial(jaxloss.mahalanobis_distance, covariance=_spd(3)),
}


@pytest.mark.parametrize("name", list(ZERO_AT_IDENTITY))
@pytest.mark.parametrize("point", [[0.0, 0.0, 0.0], [1.5, -2.0, 3.0]])
def test_identical_points_give_exact_zero_and_zero_gradient(name, point):
    fn = ZERO_AT_IDENTITY[name]
    x = jnp.asarray(point)
    assert float(_call(fn, x, x)) == 0.0
    gx, gy = _grad(fn, argnums=(0, 1))(x, x)
    np.testing.assert_array_equal(gx, 0.0)
    np.testing.assert_array_equal(gy, 0.0)


def test_zero_coordinate_difference_has_zero_subgradient():
    x, y = jnp.array([1.0, 2.0, 3.0]), jnp.array([1.0, 0.0, 5.0])
    for fn in (jaxloss.manhattan_distance, functools.partial(jaxloss.minkowski_distance, p=1.0)):
        np.testing.assert_allclose(_grad(fn)(x, y), [0.0, 1.0, -1.0])
    g = _grad(functools.partial(jaxloss.minkowski_distance, p=3.0))(x, y)
    assert g[0] == 0.0 and np.all(np.isfinite(g))


def test_minkowski_large_p_and_huge_values_do_not_overflow():
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((4, 6)) * 1e30, rng.standard_normal((4, 6)) * 1e30
    out = _call(jaxloss.minkowski_distance, x.astype(np.float32), y.astype(np.float32), p=4.0)
    np.testing.assert_allclose(out, _scipy_rows(sd.minkowski, x, y, p=4.0), rtol=1e-5)
    a, b = rng.standard_normal(5), rng.standard_normal(5)
    out = _call(jaxloss.minkowski_distance, a.astype(np.float32), b.astype(np.float32), p=500.0)
    np.testing.assert_allclose(out, sd.minkowski(a, b, p=500.0), rtol=1e-5)
    assert np.isfinite(_grad(jaxloss.minkowski_distance)(a, b, p=500.0)).all()


def test_traced_p_matches_concrete_p():
    x, y = jnp.array([1.0, -2.0, 0.5]), jnp.array([0.0, 1.0, 2.0])
    traced = jax.jit(lambda p: _call(jaxloss.minkowski_distance, x, y, p=p))
    for p in (1.0, 2.5, 6.0):
        np.testing.assert_allclose(traced(p), sd.minkowski(x, y, p=p), rtol=1e-12)
    np.testing.assert_allclose(traced(jnp.inf), sd.chebyshev(x, y), rtol=1e-12)


@pytest.mark.parametrize("dtype", [jnp.float16, jnp.bfloat16])
def test_half_precision_accumulates_in_float32(dtype):
    # 64 squared differences of ~200^2 sum to ~2.6e6, beyond float16's 65504.
    rng = np.random.default_rng(14)
    x = jnp.asarray(rng.standard_normal((3, 64)) * 100, dtype)
    y = jnp.asarray(rng.standard_normal((3, 64)) * 100, dtype)
    out = _call(jaxloss.euclidean_distance, x, y)
    assert out.dtype == dtype
    expected = _scipy_rows(sd.euclidean, np.asarray(x, np.float64), np.asarray(y, np.float64))
    np.testing.assert_allclose(np.asarray(out, np.float64), expected, rtol=1e-2)


# Properties (hypothesis) ------------------------------------------------------------------

# A grid of hundredths keeps the examples about the mathematics, away from underflow.
_floats = st.integers(-1000, 1000).map(lambda i: i / 100)


@st.composite
def _triples(draw, binary=False):
    d = draw(st.sampled_from([1, 4]))  # two sizes: one compilation each
    elements = st.booleans() if binary else _floats
    dtype = bool if binary else np.float64
    return tuple(draw(hnp.arrays(dtype, (d,), elements=elements)) for _ in range(3))


_PRECISION = _spd(4, seed=3)
METRIC_FNS = {
    "euclidean": jaxloss.euclidean_distance,
    "manhattan": jaxloss.manhattan_distance,
    "chebyshev": jaxloss.chebyshev_distance,
    "minkowski1.5": functools.partial(jaxloss.minkowski_distance, p=1.5),
    "minkowski4": functools.partial(jaxloss.minkowski_distance, p=4.0),
    "minkowski_inf": functools.partial(jaxloss.minkowski_distance, p=np.inf),
    "mahalanobis": lambda x, y: jaxloss.mahalanobis_distance(
        x, y, precision=_PRECISION[: x.shape[-1], : x.shape[-1]]
    ),
}


@functools.cache
def _all_pairs(fn):
    """One compiled call for d(x, y), d(y, x), d(x, z), d(z, y), d(x, x)."""
    return jax.jit(lambda x, y, z: jnp.stack([fn(x, y), fn(y, x), fn(x, z), fn(z, y), fn(x, x)]))


@pytest.mark.parametrize("name", list(METRIC_FNS))
@given(triple=_triples())
def test_metric_axioms(name, triple):
    x, y, _ = triple
    dxy, dyx, dxz, dzy, dxx = np.asarray(_all_pairs(METRIC_FNS[name])(*triple)).tolist()
    assert dxy >= 0
    assert dxy == pytest.approx(dyx, rel=1e-12, abs=1e-12)
    assert dxx == 0.0
    if not np.array_equal(x, y):
        assert dxy > 0
    assert dxy <= dxz + dzy + 1e-9 * (1 + dxz + dzy)


@pytest.mark.parametrize("fn", [jaxloss.jaccard_distance, jaxloss.hamming_distance])
@given(triple=_triples(binary=True))
def test_set_metric_axioms(fn, triple):
    x, y, _ = triple
    dxy, dyx, dxz, dzy, dxx = np.asarray(_all_pairs(fn)(*triple)).tolist()
    assert 0 <= dxy <= 1 and dxy == dyx
    assert dxx == 0.0
    assert (dxy > 0) == (not np.array_equal(x, y))
    assert dxy <= dxz + dzy + 1e-6


@pytest.mark.parametrize("fn", [jaxloss.cosine_distance, jaxloss.correlation_distance])
@given(triple=_triples())
def test_angular_distances_are_symmetric_and_bounded(fn, triple):
    x, _, _ = triple
    dxy, dyx, _, _, dxx = np.asarray(_all_pairs(fn)(*triple)).tolist()
    assert 0 <= dxy <= 2 and dxy == pytest.approx(dyx, abs=1e-12)
    # Zero vectors (cosine) and constant vectors (correlation) have similarity 0 to anything.
    assert dxx == (
        1.0
        if np.all(x == x[0]) and (fn is jaxloss.correlation_distance or not x.any())
        else pytest.approx(0.0, abs=1e-12)
    )


# Reduction, example mask, weights (CONTRIBUTING.md, section 4) ------------------------------

REDUCING = [
    (jaxloss.euclidean_distance, {}, sd.euclidean),
    (jaxloss.squared_euclidean_distance, {}, sd.sqeuclidean),
    (jaxloss.minkowski_distance, {"p": 3.0}, functools.partial(sd.minkowski, p=3.0)),
    (jaxloss.manhattan_distance, {}, sd.cityblock),
    (jaxloss.chebyshev_distance, {}, sd.chebyshev),
    (jaxloss.mahalanobis_distance, {"precision": np.eye(5)}, sd.euclidean),
    (jaxloss.cosine_similarity, {}, lambda u, v: 1 - sd.cosine(u, v)),
    (jaxloss.cosine_distance, {}, sd.cosine),
    (jaxloss.pearson_correlation, {}, lambda u, v: np.corrcoef(u, v)[0, 1]),
    (jaxloss.correlation_distance, {}, sd.correlation),
    (jaxloss.jaccard_distance, {"soft": False}, sd.jaccard),
    (jaxloss.jaccard_index, {"soft": False}, lambda u, v: 1 - sd.jaccard(u != 0, v != 0)),
    (jaxloss.hamming_distance, {}, sd.hamming),
]


@pytest.mark.parametrize("fn,kwargs,ref", REDUCING, ids=[f.__name__ for f, _, _ in REDUCING])
def test_where_and_weights_match_a_numpy_weighted_mean(fn, kwargs, ref):
    # The reference: scipy's per-vector value, then sum(m w l) / sum(m w) written in numpy.
    rng = np.random.default_rng(21)
    x, y = rng.standard_normal((4, 3, 5)), rng.standard_normal((4, 3, 5))
    x[0, 1] = np.nan  # a masked-out example may hold anything
    where = np.ones((4, 3), bool)
    where[0, 1] = where[2, 0] = where[3, 2] = False
    weights = rng.uniform(0.0, 2.0, (4, 3))
    values = np.zeros((4, 3))
    for i, j in zip(*np.nonzero(where), strict=True):
        values[i, j] = ref(x[i, j], y[i, j])
    options = {**kwargs, "where": where, "weights": weights}

    @jax.jit  # one program: every reduction and the gradient
    def program(a, b):
        run = {
            r: fn(a, b, reduction=r, **options) for r in ("none", "sum", "mean", "sum_and_count")
        }
        run["grad"] = jax.grad(lambda a: fn(a, y, reduction="mean", **options))(a)
        return run

    run = program(x, y)
    np.testing.assert_allclose(run["none"], weights * values, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(run["sum"], np.sum(weights * values), rtol=1e-10)
    expected_mean = np.sum(weights * values) / np.sum(weights * where)
    np.testing.assert_allclose(run["mean"], expected_mean, rtol=1e-10)
    total, count = (np.asarray(v) for v in run["sum_and_count"])
    np.testing.assert_allclose(count, np.sum(weights * where), rtol=1e-12)
    np.testing.assert_allclose(total / count, expected_mean, rtol=1e-10)
    grad = np.asarray(run["grad"])
    assert np.all(np.isfinite(grad)), "a masked NaN example leaked into the gradient"
    np.testing.assert_array_equal(grad[~where], 0.0)


def test_default_reduction_is_none_and_values_are_unchanged():
    rng = np.random.default_rng(22)
    x, y = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    cases = [
        (fn, kwargs, ref)
        for fn, kwargs, ref in REDUCING
        if fn not in (jaxloss.jaccard_distance, jaxloss.jaccard_index)
    ]
    # one program: every function
    got = jax.jit(lambda x, y: [fn(x, y, **kwargs) for fn, kwargs, _ in cases])(x, y)
    for out, (_, _, ref) in zip(got, cases, strict=True):
        expected = _scipy_rows(ref, x, y)
        np.testing.assert_allclose(out, expected, rtol=1e-10, atol=1e-12)


def test_cosine_where_by_rank_element_mask_or_example_mask():
    rng = np.random.default_rng(23)
    x, y = rng.standard_normal((4, 6)), rng.standard_normal((4, 6))
    elements = rng.random((4, 6)) < 0.6
    elements[2] = False  # no included element: similarity 0 (distance 1), as in optax
    # Element mask (the inputs' rank): optax's meaning, every example counted.
    examples = np.array([True, False, True, True])
    rows = np.repeat(examples[:, None], 6, 1)
    element_mask = jnp.asarray(elements)

    @jax.jit  # one program: optax's value and ours with both masks (closed over, concrete)
    def program(x, y):
        return {
            "optax": optax.losses.cosine_distance(x, y, where=elements),
            "ours": jaxloss.cosine_distance(x, y, where=element_mask),
            "mean": jaxloss.cosine_distance(x, y, where=element_mask, reduction="mean"),
            "by_example": jaxloss.cosine_similarity(x, y, where=examples, reduction="sum"),
            "by_rows": jaxloss.cosine_similarity(x, y, where=rows, reduction="sum"),
        }

    got = program(x, y)
    optax_value = np.asarray(got["optax"])
    ours = np.asarray(got["ours"])
    np.testing.assert_allclose(ours, optax_value, rtol=1e-10)
    assert float(ours[2]) == 1.0
    np.testing.assert_allclose(got["mean"], optax_value.mean(), rtol=1e-10)
    # Example mask (the per-example rank), equal to the element mask of whole rows.
    by_example, by_rows = got["by_example"], got["by_rows"]
    expected = sum(1 - sd.cosine(x[i], y[i]) for i in (0, 2, 3))
    np.testing.assert_allclose(by_example, expected, rtol=1e-10)
    np.testing.assert_allclose(by_rows, expected, rtol=1e-10)
    with pytest.raises(ValueError, match="`where`"):
        jaxloss.cosine_similarity(x, y, where=np.ones((1, 4, 6), bool))


def test_negative_weights_raise_eagerly_and_in_checked_mode():
    from jax.experimental import checkify

    x, y = jnp.ones((3, 2)), jnp.zeros((3, 2))
    bad = jnp.array([1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match="`weights`"):
        jaxloss.euclidean_distance(x, y, weights=bad, reduction="mean")

    def f(w):
        return jaxloss.euclidean_distance(x, y, weights=w, reduction="mean")

    checked = checkify.checkify(jax.jit(f), errors=checkify.user_checks)
    err, _ = checked(bad)
    assert "`weights`" in err.get()
    err, value = checked(jnp.ones(3))
    assert err.get() is None
    np.testing.assert_allclose(value, jax.jit(f)(jnp.ones(3)))
