"""Reference tests for jaxloss.pairwise_distances.

Oracles: scipy.spatial.distance.cdist for every metric, sklearn's linear kernel for the inner
product, torch autograd (cdist without the matmul path, cosine_similarity) for gradients.
"""

from __future__ import annotations

import functools
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from scipy.spatial.distance import cdist
from sklearn.metrics.pairwise import linear_kernel

import jaxloss
from jaxloss import pairwise

D = 4
_A = np.random.default_rng(0).standard_normal((D, D))
COVARIANCE = _A @ _A.T + 0.5 * np.eye(D)
PRECISION = np.linalg.inv(COVARIANCE)

# (metric, options, cdist metric or callable, cdist options)
METRICS = [
    ("euclidean", {}, "euclidean", {}),
    ("sqeuclidean", {}, "sqeuclidean", {}),
    ("squared_euclidean", {}, "sqeuclidean", {}),
    ("minkowski", {"p": 1.5}, "minkowski", {"p": 1.5}),
    ("minkowski", {"p": 3.0}, "minkowski", {"p": 3.0}),
    ("minkowski", {"p": np.inf}, "chebyshev", {}),
    ("manhattan", {}, "cityblock", {}),
    ("cityblock", {}, "cityblock", {}),
    ("chebyshev", {}, "chebyshev", {}),
    ("mahalanobis", {"precision": PRECISION}, "mahalanobis", {"VI": PRECISION}),
    ("mahalanobis", {"covariance": COVARIANCE}, "mahalanobis", {"VI": PRECISION}),
    ("cosine", {}, "cosine", {}),
    ("correlation", {}, "correlation", {}),
    ("inner_product", {}, linear_kernel, {}),
    ("dot", {}, linear_kernel, {}),
]
IDS = [f"{i}-{m}" for i, (m, *_) in enumerate(METRICS)]


def _reference(ref, ref_kwargs, x, y):
    """cdist over the trailing two axes, looping over (broadcast) leading axes."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    x = np.broadcast_to(x, batch + x.shape[-2:]).reshape(-1, *x.shape[-2:])
    y = np.broadcast_to(y, batch + y.shape[-2:]).reshape(-1, *y.shape[-2:])
    if callable(ref):
        out = [ref(a, b) for a, b in zip(x, y, strict=True)]
    else:
        out = [cdist(a, b, ref, **ref_kwargs) for a, b in zip(x, y, strict=True)]
    return np.stack(out).reshape((*batch, x.shape[-2], y.shape[-2]))


_COMPILED: dict = {}


def _pairwise(metric, options, x, y=None):
    """The call compiled once per metric and options (array options keyed by identity)."""
    key = (metric, tuple((k, id(v)) for k, v in options.items()), y is None)
    if key not in _COMPILED:
        if y is None:
            _COMPILED[key] = jax.jit(
                lambda a: jaxloss.pairwise_distances(a, metric=metric, **options)
            )
        else:
            _COMPILED[key] = jax.jit(
                lambda a, b: jaxloss.pairwise_distances(a, b, metric=metric, **options)
            )
    return _COMPILED[key](x) if y is None else _COMPILED[key](x, y)


CASES = [  # (x shape, y shape, dtype): plain, a single row, broadcast leading dimensions.
    ((5, D), (3, D), np.float32),
    ((1, D), (6, D), np.float64),
    ((2, 1, 4, D), (1, 3, 5, D), np.float64),
]


@pytest.mark.parametrize("x_shape,y_shape,dtype", CASES, ids=str)
@pytest.mark.parametrize("metric,options,ref,ref_kwargs", METRICS, ids=IDS)
def test_matches_cdist(metric, options, ref, ref_kwargs, x_shape, y_shape, dtype):
    rng = np.random.default_rng(len(x_shape))
    x = rng.standard_normal(x_shape).astype(dtype)
    y = rng.standard_normal(y_shape).astype(dtype)
    out = _pairwise(metric, options, x, y)
    expected = _reference(ref, ref_kwargs, x, y)
    matrices = [v.dtype for v in options.values() if isinstance(v, np.ndarray)]
    assert out.shape == expected.shape and out.dtype == np.result_type(dtype, *matrices)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol)


@pytest.mark.parametrize("metric,options,ref,ref_kwargs", METRICS, ids=IDS)
def test_self_distances_match_cdist_with_exact_zero_diagonal(metric, options, ref, ref_kwargs):
    x = np.random.default_rng(1).standard_normal((2, 6, D)).astype(np.float32)
    out = np.asarray(_pairwise(metric, options, x))
    expected = _reference(ref, ref_kwargs, x, x)
    if metric not in ("inner_product", "dot"):
        assert np.all(np.diagonal(out, axis1=-2, axis2=-1) == 0.0)
        expected[..., np.arange(6), np.arange(6)] = 0.0
    np.testing.assert_array_equal(out, np.swapaxes(out, -1, -2))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine", "manhattan"])
def test_same_array_passed_twice_is_the_self_case(metric):
    # One (traced) array given as both `x` and `y`: symmetric, exactly 0 on the diagonal (the
    # Gram form alone leaves rounding there), the same as `y=None`, values and gradients.
    x = np.random.default_rng(9).standard_normal((7, 5)).astype(np.float32)
    x[3] = 0.0
    twice = jax.jit(lambda a: jaxloss.pairwise_distances(a, a, metric=metric))
    once = jax.jit(lambda a: jaxloss.pairwise_distances(a, metric=metric))
    for out in (twice(x), jaxloss.pairwise_distances(x, x, metric=metric)):  # jit and eager
        out = np.asarray(out)
        assert np.all(np.diagonal(out) == 0.0)
        np.testing.assert_array_equal(out, out.T)
        np.testing.assert_allclose(out, once(x), rtol=1e-6, atol=1e-6)
    # one program: both gradients
    grads = jax.jit(
        lambda x: [jax.grad(lambda a, f=f: jnp.sum(jnp.sin(f(a))))(x) for f in (twice, once)]
    )(x)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("metric", ["jaccard", "hamming"])
@pytest.mark.parametrize("kind", [bool, np.int32, np.float32])
def test_binary_metrics_match_cdist(metric, kind):
    rng = np.random.default_rng(2)
    x = (rng.random((2, 5, 7)) < 0.4).astype(kind)
    y = (rng.random((2, 4, 7)) < 0.4).astype(kind)
    x[:, 0] = 0  # an empty row
    y[:, 0] = 0
    out = _pairwise(metric, {}, x, y)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, _reference(metric, {}, x, y), rtol=1e-6, atol=1e-7)
    self_out = _pairwise(metric, {}, x)
    np.testing.assert_allclose(self_out, _reference(metric, {}, x, x), rtol=1e-6, atol=1e-7)


def test_hamming_of_general_integers_matches_cdist():
    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 3, (6, 5)), rng.integers(0, 3, (4, 5))
    np.testing.assert_allclose(_pairwise("hamming", {}, x, y), cdist(x, y, "hamming"), rtol=1e-6)


def test_soft_jaccard_agrees_with_per_pair_function():
    rng = np.random.default_rng(4)
    x, y = rng.random((5, 6)), rng.random((3, 6))
    # one program: the per-pair function, soft and binary
    expected, binary = jax.jit(
        lambda x, y: [
            jaxloss.jaccard_distance(x[:, None, :], y[None, :, :], soft=soft)
            for soft in (None, False)
        ]
    )(x, y)
    np.testing.assert_allclose(_pairwise("jaccard", {}, x, y), expected, rtol=1e-12)
    np.testing.assert_allclose(_pairwise("jaccard", {"soft": False}, x, y), binary, rtol=1e-12)


def test_chunked_metrics_match_cdist_across_chunk_boundaries(monkeypatch):
    # 100 elements per chunk of [2, rows, 5, 3]: 3 rows per chunk, 7 rows = 3 + 3 + 1.
    monkeypatch.setattr(pairwise, "_CHUNK_ELEMENTS", 100)
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((2, 7, 3)), rng.standard_normal((2, 5, 3))
    for metric, ref in (("cityblock", "cityblock"), ("chebyshev", "chebyshev")):
        fn = jax.jit(functools.partial(jaxloss.pairwise_distances, metric=metric))
        np.testing.assert_allclose(fn(x, y), _reference(ref, {}, x, y), rtol=1e-12)
    fn = jax.jit(lambda a, b: jaxloss.pairwise_distances(a, b, metric="minkowski", p=3.0))
    np.testing.assert_allclose(fn(x, y), _reference("minkowski", {"p": 3.0}, x, y), rtol=1e-12)
    # Gradients through lax.map and remat, against torch's L1 cdist (sign(0) = 0 as well).
    weights = rng.standard_normal((2, 7, 5))
    grad = jax.jit(
        jax.grad(
            lambda a, b: jnp.sum(weights * jaxloss.pairwise_distances(a, b, metric="cityblock")),
            argnums=(0, 1),
        )
    )(x, y)
    tx, ty = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    (torch.tensor(weights) * torch.cdist(tx, ty, p=1)).sum().backward()
    np.testing.assert_allclose(grad[0], tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(grad[1], ty.grad.numpy(), rtol=1e-12)


# Gradients at the diagonal, duplicates and zero rows ---------------------------------------


def _torch_self(metric, x):
    n = x.shape[-2]
    eye = torch.eye(n, dtype=torch.bool)
    if metric == "cosine":
        sim = torch.nn.functional.cosine_similarity(x[..., :, None, :], x[..., None, :, :], dim=-1)
        return torch.where(eye, 0.0, 1 - sim)
    # The direct (non-matmul) path is exact at the diagonal and its gradient there is 0.
    dist = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    return dist**2 if metric == "sqeuclidean" else dist


@pytest.mark.parametrize("metric", ["euclidean", "sqeuclidean", "cosine"])
def test_self_distance_gradients_match_torch(metric):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 5, 3))
    weights = rng.standard_normal((2, 5, 5))
    grad = jax.jit(
        jax.grad(lambda a: jnp.sum(weights * jaxloss.pairwise_distances(a, metric=metric)))
    )(x)
    tx = torch.tensor(x, requires_grad=True)
    (torch.tensor(weights) * _torch_self(metric, tx)).sum().backward()
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(grad, tx.grad.numpy(), rtol=1e-9, atol=1e-12)


ALL = ["euclidean", "sqeuclidean", "cosine", "correlation", "inner_product", "manhattan"]
ALL += ["chebyshev", "minkowski", "jaccard", "hamming"]


@pytest.mark.parametrize("metric", ALL)
def test_duplicate_zero_and_constant_rows_are_finite(metric):
    x = np.array([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0, 2.0, 2.0]], np.float32)

    def total(a):
        return sum(jnp.sum(jaxloss.pairwise_distances(a, b, metric=metric)) for b in (None, a))

    value, grad = jax.jit(jax.value_and_grad(total))(x)
    assert np.isfinite(value) and np.all(np.isfinite(grad))
    out = np.asarray(_pairwise(metric, {}, x))
    if metric in ("euclidean", "sqeuclidean", "manhattan", "chebyshev", "minkowski"):
        assert out[0, 1] < 1e-6
    if metric == "cosine":  # zero row: distance 1 to the others, 0 to itself
        np.testing.assert_array_equal(out[2], [1.0, 1.0, 0.0, 1.0])
    if metric == "correlation":  # constant and zero rows have correlation 0 with all
        np.testing.assert_allclose(out[3], [1.0, 1.0, 1.0, 0.0], rtol=1e-6)


def test_large_common_offset_keeps_gram_accuracy():
    # ||x||^2 ~ 1.6e5 here: without centring, float32 cancellation in ||x||^2 + ||y||^2 - 2xy
    # loses about 1e-2 absolute in the squared distance (torch.cdist's matmul path shows the
    # same on its diagonal). Centring restores cdist accuracy; the diagonal is exactly 0.
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((32, 16)) + 100).astype(np.float32)
    ours = np.asarray(_pairwise("euclidean", {}, x))
    assert np.all(np.diag(ours) == 0.0)
    np.testing.assert_allclose(ours, cdist(x.astype(np.float64), x), rtol=1e-5, atol=1e-5)
    y = (rng.standard_normal((8, 16)) + 100).astype(np.float32)
    expected = cdist(x.astype(np.float64), y, "sqeuclidean")
    np.testing.assert_allclose(_pairwise("sqeuclidean", {}, x, y), expected, rtol=1e-5)
    grad = jax.jit(jax.grad(lambda a: jnp.sum(jaxloss.pairwise_distances(a))))(x)
    assert np.all(np.isfinite(grad))


# Precision, dtypes, memory --------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [jnp.bfloat16, jnp.float16])
@pytest.mark.parametrize("metric", ["sqeuclidean", "euclidean", "cosine", "inner_product"])
def test_half_precision_multiplies_natively_and_accumulates_in_float32(metric, dtype):
    rng = np.random.default_rng(8)
    x = jnp.asarray(rng.standard_normal((6, 16)), dtype)
    y = jnp.asarray(rng.standard_normal((5, 16)), dtype)
    fn = jax.jit(functools.partial(jaxloss.pairwise_distances, metric=metric))
    text = fn.lower(x, y).as_text()
    name = {"bfloat16": "bf16", "float16": "f16"}[jnp.dtype(dtype).name]
    pattern = rf"dot_general.*\(tensor<[^>]*x{name}>, tensor<[^>]*x{name}>\) -> tensor<[^>]*xf32>"
    assert re.search(pattern, text), text
    out = fn(x, y)
    assert out.dtype == dtype
    ref = {"sqeuclidean": "sqeuclidean", "euclidean": "euclidean", "cosine": "cosine"}
    exact_x, exact_y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    expected = (
        exact_x @ exact_y.T if metric == "inner_product" else cdist(exact_x, exact_y, ref[metric])
    )
    np.testing.assert_allclose(np.asarray(out, np.float64), expected, rtol=1e-2, atol=1e-2)


def test_float32_matmul_runs_at_highest_precision():
    x = jnp.ones((4, 3), jnp.float32)
    text = jax.jit(jaxloss.pairwise_distances).lower(x).as_text()
    assert re.search(r"dot_general.*precision = \[HIGHEST, HIGHEST\]", text), text


N = M = 256
FEATURES = 64
BROADCAST_BYTES = N * M * FEATURES * 4


def _temp_bytes(fn, *args):
    return jax.jit(fn).lower(*args).compile().memory_analysis().temp_size_in_bytes


@pytest.mark.parametrize(
    "metric,options",
    [
        ("euclidean", {}),
        ("sqeuclidean", {}),
        ("cosine", {}),
        ("correlation", {}),
        ("inner_product", {}),
        ("jaccard", {}),
        ("mahalanobis", {"covariance": np.eye(FEATURES)}),
    ],
)
def test_gram_metrics_do_not_materialise_the_broadcast(metric, options):
    x = jnp.zeros((N, FEATURES), jnp.float32)
    y = jnp.zeros((M, FEATURES), jnp.float32)

    def fn(a, b):
        return jaxloss.pairwise_distances(a, b, metric=metric, **options)

    assert _temp_bytes(fn, x, y) < BROADCAST_BYTES / 8
    assert _temp_bytes(lambda a: fn(a, None), x) < BROADCAST_BYTES / 8
    if metric in ("euclidean", "cosine"):
        grad = jax.grad(lambda a, b: jnp.sum(fn(a, b)), argnums=(0, 1))
        assert _temp_bytes(grad, x, y) < BROADCAST_BYTES / 8


@pytest.mark.parametrize("metric", ["manhattan", "minkowski"])
def test_chunked_metrics_stay_below_the_broadcast(metric):
    x = jnp.zeros((N, FEATURES), jnp.float32)

    def fn(a):
        return jnp.sum(jaxloss.pairwise_distances(a, metric=metric))

    assert _temp_bytes(fn, x) < BROADCAST_BYTES / 2
    assert _temp_bytes(jax.grad(fn), x) < BROADCAST_BYTES / 2
