"""Reference and edge-case tests for jaxloss.kernels (mmd, energy_distance).

Oracles: ``scipy.stats.energy_distance`` (1-D values); numpy transcriptions of Gretton et al.
(2012) and Székely and Rizzo (2013) on ``scipy.spatial.distance.cdist`` for values, and torch
transcriptions on ``torch.cdist`` whose autograd gives the reference gradients. Each test
evaluates all its configurations in one jitted call.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import torch
from scipy.spatial.distance import cdist, pdist

from jaxloss import energy_distance, js_divergence, mmd

KERNELS = ("gaussian", "multiscale_gaussian", "inverse_multiquadric")
FACTORS = np.array([0.25, 0.5, 1.0, 2.0, 4.0])


def _torch_kernel(d2, kernel, sigmas):
    if kernel == "inverse_multiquadric":
        return sum((1 + d2 / s**2) ** -0.5 for s in sigmas)
    return sum(torch.exp(-d2 / (2 * s**2)) for s in sigmas)


def _torch_mmd(x, y, kernel, sigmas, estimator):
    """Gretton et al. (2012), eqs. (2) (unbiased) and (3) (biased), with torch.cdist."""
    kxx = _torch_kernel(torch.cdist(x, x) ** 2, kernel, sigmas)
    kyy = _torch_kernel(torch.cdist(y, y) ** 2, kernel, sigmas)
    kxy = _torch_kernel(torch.cdist(x, y) ** 2, kernel, sigmas)
    n, m = x.shape[0], y.shape[0]
    if estimator == "biased":
        return kxx.mean() + kyy.mean() - 2 * kxy.mean()
    within_x = (kxx.sum() - torch.diagonal(kxx).sum()) / (n * (n - 1))
    within_y = (kyy.sum() - torch.diagonal(kyy).sum()) / (m * (m - 1))
    return within_x + within_y - 2 * kxy.mean()


def _median_bandwidth(x, y):
    """The module docstring's heuristic: median of the pooled pairwise distances, i < j."""
    return float(np.median(pdist(np.vstack([x, y]))))


@pytest.fixture(scope="module")
def clouds():
    rng = np.random.default_rng(0)
    return rng.normal(size=(7, 3)), rng.normal(size=(5, 3)) + 0.8


def test_mmd_matches_the_formulas_values_and_gradients(clouds):
    x, y = clouds
    median = _median_bandwidth(x, y)
    configs = [
        (kernel, estimator, bandwidth, chunk)
        for kernel in KERNELS
        for estimator in ("biased", "unbiased")
        for bandwidth, chunk in ((None, None), (0.7, 3))
    ]

    def bandwidths(kernel, bandwidth):
        if kernel == "multiscale_gaussian":
            return FACTORS * (median if bandwidth is None else bandwidth)
        return np.array([median if bandwidth is None else bandwidth])

    @jax.jit
    def run(x, y):
        out = []
        for kernel, estimator, bandwidth, chunk in configs:
            given = None if bandwidth is None else bandwidths(kernel, bandwidth)
            if given is not None and kernel != "multiscale_gaussian":
                given = float(given[0])

            def f(x, y, kernel=kernel, estimator=estimator, given=given, chunk=chunk):
                return mmd(
                    x, y, kernel=kernel, bandwidth=given, estimator=estimator, chunk_size=chunk
                )

            out.append(jax.value_and_grad(f, argnums=(0, 1))(x, y))
        return out

    results = run(jnp.asarray(x), jnp.asarray(y))
    for (value, grads), (kernel, estimator, bandwidth, _) in zip(results, configs, strict=True):
        tx = torch.tensor(x, requires_grad=True)
        ty = torch.tensor(y, requires_grad=True)
        sigmas = [float(s) for s in bandwidths(kernel, bandwidth)]
        ref = _torch_mmd(tx, ty, kernel, sigmas, estimator)
        ref.backward()
        name = f"{kernel} {estimator} {bandwidth}"
        np.testing.assert_allclose(value, float(ref), rtol=1e-10, atol=1e-12, err_msg=name)
        if bandwidth is None:
            continue  # the median moves with the samples; its gradient is stopped (below)
        for g, t in zip(grads, (tx, ty), strict=True):
            assert t.grad is not None
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-11, err_msg=name)


def test_mmd_median_heuristic_gradient_is_stopped(clouds):
    """With the bandwidth set by the median, the gradient is that of the fixed bandwidth."""
    x, y = clouds
    median = _median_bandwidth(x, y)

    @jax.jit
    def run(x, y):
        return jax.grad(lambda x: mmd(x, y))(x), jax.grad(lambda x: mmd(x, y, bandwidth=median))(x)

    heuristic, fixed = run(jnp.asarray(x), jnp.asarray(y))
    np.testing.assert_allclose(heuristic, fixed, rtol=1e-12, atol=1e-14)


def test_energy_distance_matches_scipy_and_the_formula(clouds):
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=9), rng.normal(size=6) + 0.3
    a, b = rng.uniform(0.1, 2.0, 9), rng.uniform(0.1, 2.0, 6)
    x, y = clouds
    wx, wy = rng.uniform(0.1, 2.0, 7), rng.uniform(0.1, 2.0, 5)

    @jax.jit
    def run(u, v, a, b, x, y, wx, wy):
        def f(x, y, wx, wy, chunk):
            return energy_distance(x, y, x_weights=wx, y_weights=wy, chunk_size=chunk)

        grad = jax.value_and_grad(f, argnums=(0, 1, 2, 3))
        return {
            "1d": energy_distance(u[:, None], v[:, None]),
            "1d_weighted": energy_distance(u[:, None], v[:, None], x_weights=a, y_weights=b),
            "dense": grad(x, y, wx, wy, None),
            "blocks": grad(x, y, wx, wy, 2),
        }

    out = run(*(jnp.asarray(t) for t in (u, v, a, b, x, y, wx, wy)))
    np.testing.assert_allclose(out["1d"], scipy.stats.energy_distance(u, v), rtol=1e-10)
    np.testing.assert_allclose(
        out["1d_weighted"], scipy.stats.energy_distance(u, v, a, b), rtol=1e-10
    )
    pa, pb = wx / wx.sum(), wy / wy.sum()
    numpy_value = np.sqrt(2 * pa @ cdist(x, y) @ pb - pa @ cdist(x, x) @ pa - pb @ cdist(y, y) @ pb)
    tensors = [torch.tensor(t, requires_grad=True) for t in (x, y, wx, wy)]
    tx, ty, ta, tb = tensors
    ta_n, tb_n = ta / ta.sum(), tb / tb.sum()
    ref = torch.sqrt(
        2 * ta_n @ torch.cdist(tx, ty) @ tb_n
        - ta_n @ torch.cdist(tx, tx) @ ta_n
        - tb_n @ torch.cdist(ty, ty) @ tb_n
    )
    ref.backward()
    for key in ("dense", "blocks"):
        value, grads = out[key]
        np.testing.assert_allclose(value, numpy_value, rtol=1e-10)
        for g, t in zip(grads, tensors, strict=True):
            assert t.grad is not None
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-11)


def test_blockwise_equals_dense_batched_float32():
    rng = np.random.default_rng(2)
    x = jnp.asarray(rng.normal(size=(2, 11, 3)), jnp.float32)
    y = jnp.asarray(rng.normal(size=(2, 6, 3)) + 0.5, jnp.float32)

    @jax.jit
    def run(x, y):
        def both(chunk):
            def f(x, y):
                return jnp.sum(
                    mmd(x, y, bandwidth=1.3, estimator="unbiased", chunk_size=chunk)
                ) + jnp.sum(energy_distance(x, y, chunk_size=chunk))

            return jax.value_and_grad(f, argnums=(0, 1))(x, y)

        return both(None), both(4), both(1)

    dense, blocks, rows = run(x, y)
    for other in (blocks, rows):
        for a, b in zip(jax.tree.leaves(dense), jax.tree.leaves(other), strict=True):
            assert a.dtype == jnp.float32
            np.testing.assert_allclose(a, b, rtol=2e-5, atol=1e-6)


def test_identical_single_and_disjoint_samples():
    x = jnp.array([[0.0, 1.0], [1.0, -1.0], [2.0, 0.5]])
    far = x + 30.0
    base = jnp.linspace(-1.0, 1.0, 8)
    grid = jnp.linspace(-10.0, 10.0, 81)

    def tent(mu):
        w = jnp.maximum(0.0, 1.0 - jnp.abs(grid - mu))
        return w / jnp.sum(w)

    @jax.jit
    def run(x, far):
        identical = {
            "mmd": jax.value_and_grad(lambda u: mmd(u, x))(x),
            "energy": jax.value_and_grad(lambda u: energy_distance(u, x))(x),
        }
        one = {
            "mmd": mmd(x[:1], x[1:2], kernel="inverse_multiquadric", bandwidth=2.0),
            "energy": energy_distance(x[:1], x[1:2]),
        }
        shift = jnp.asarray(5.1)  # the tents do not overlap; no grid point on an edge
        moved = {
            "js": jax.grad(lambda s: js_divergence(tent(s), tent(0.0)))(shift),
            "mmd": jax.grad(lambda s: mmd((base + s)[:, None], base[:, None], bandwidth=5.0))(
                shift
            ),
            "energy": jax.grad(lambda s: energy_distance((base + s)[:, None], base[:, None]))(
                shift
            ),
        }
        return identical, one, moved, mmd(x, far, bandwidth=1.0)

    identical, one, moved, far_value = run(x, far)
    # Exact zeros, except mmd's gradient: its squared distances are a Gram-matrix form
    # (|u|^2 + |v|^2 - 2 u.v, a matrix product), whose x-x and x-y sums round differently, so
    # the gradient at identical sets is 0 up to a few ulps of the kernel's derivative.
    for name, (value, grad) in identical.items():
        assert float(value) == 0.0
        bound = 0.0 if name == "energy" else 1e-15
        assert np.all(np.abs(np.asarray(grad)) <= bound), (name, grad)
    d2 = float(jnp.sum(jnp.square(x[0] - x[1])))
    np.testing.assert_allclose(one["mmd"], 2 - 2 / np.sqrt(1 + d2 / 4.0), rtol=1e-12)
    np.testing.assert_allclose(one["energy"], np.sqrt(2 * np.sqrt(d2)), rtol=1e-12)
    # Disjoint supports: JS is flat, the kernel distances are not.
    assert abs(float(moved["js"])) < 1e-12
    assert float(moved["mmd"]) > 1e-3 and float(moved["energy"]) > 1e-3
    # Far apart with a small bandwidth: the cross term vanishes, the within terms remain.
    within = np.exp(-0.5 * cdist(np.asarray(x), np.asarray(x), "sqeuclidean")).mean()
    np.testing.assert_allclose(far_value, 2 * within, rtol=1e-12)
