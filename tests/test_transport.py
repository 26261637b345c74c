"""Reference and edge-case tests for jaxloss.transport.

Oracles: ``scipy.stats.wasserstein_distance`` (p = 1 values); POT (``ot.wasserstein_1d``,
``ot.sliced_wasserstein_distance``, ``ot.sinkhorn2``) on its torch backend, whose autograd
gives the reference gradients. Each test evaluates all its configurations in one jitted call.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import ot
import pytest
import scipy.stats
import torch

from jaxloss import (
    js_divergence,
    sinkhorn_divergence,
    sliced_wasserstein_distance,
    wasserstein_distance,
)
from tests.compile_helpers import backend_compiles

TOL64 = {"rtol": 1e-9, "atol": 1e-11}


def _torch(a):
    return torch.tensor(np.asarray(a, np.float64), requires_grad=True)


def _pot_wasserstein(x, y, a, b, p):
    """POT's W_p^p on torch, its p-th root, and the gradients w.r.t. samples and masses."""
    tx, ty, ta, tb = _torch(x), _torch(y), _torch(a), _torch(b)
    power = ot.wasserstein_1d(tx, ty, ta / ta.sum(), tb / tb.sum(), p=p)
    value = power ** (1.0 / p)
    value.backward()
    assert tx.grad is not None and ty.grad is not None and ta.grad is not None
    assert tb.grad is not None
    grads = (tx.grad.numpy(), ty.grad.numpy(), ta.grad.numpy(), tb.grad.numpy())
    return float(value.detach()), grads


@pytest.fixture(scope="module")
def wasserstein_configs():
    """(x, y, x_weights, y_weights, p): sizes 1 to 9, ties, masses summing to anything."""
    rng = np.random.default_rng(0)
    configs = []
    for n, m, p in [(7, 5, 1), (7, 5, 2), (1, 1, 2), (4, 9, 3), (6, 6, 1), (3, 8, 1.5)]:
        x, y = rng.normal(size=n), rng.normal(size=m) + 0.7
        configs.append((x, y, rng.uniform(0.1, 3.0, n), rng.uniform(0.1, 3.0, m), p))
    # Ties within and across the sets, and a zero mass.
    ties_x, ties_y = np.array([1.0, 1.0, 2.0, 2.0, 0.5]), np.array([1.0, 2.0, 2.0, 3.0])
    configs.append((ties_x, ties_y, np.array([1.0, 0.0, 2.0, 1.0, 1.0]), np.full(4, 5.0), 1))
    return configs


def test_wasserstein_matches_pot_and_scipy_values_and_gradients(wasserstein_configs):
    def all_configs(configs):
        out = []
        for x, y, a, b, p in configs:

            def f(x, y, a, b, p=p):
                return wasserstein_distance(x, y, x_weights=a, y_weights=b, p=p)

            out.append(jax.value_and_grad(f, argnums=(0, 1, 2, 3))(x, y, a, b))
            out.append(wasserstein_distance(x, y, p=p))
        return out

    arrays = [tuple(jnp.asarray(v) for v in c[:4]) for c in wasserstein_configs]
    results = jax.jit(
        lambda arrs: all_configs(
            [(*a, c[4]) for a, c in zip(arrs, wasserstein_configs, strict=True)]
        )
    )(arrays)
    for i, (x, y, a, b, p) in enumerate(wasserstein_configs):
        (value, grads), unweighted = results[2 * i], results[2 * i + 1]
        ref_value, ref_grads = _pot_wasserstein(x, y, a, b, p)
        np.testing.assert_allclose(value, ref_value, **TOL64)
        for g, r in zip(grads, ref_grads, strict=True):
            np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-10)
        ref_unweighted = ot.wasserstein_1d(x, y, p=p) ** (1 / p)
        np.testing.assert_allclose(unweighted, ref_unweighted, **TOL64)
        if p == 1:
            np.testing.assert_allclose(value, scipy.stats.wasserstein_distance(x, y, a, b), **TOL64)
            np.testing.assert_allclose(unweighted, scipy.stats.wasserstein_distance(x, y), **TOL64)


def test_wasserstein_batched_float32_and_edge_values():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 4, 6)).astype(np.float32)
    y = rng.normal(size=(1, 4, 5)).astype(np.float32)  # leading axes broadcast
    line = jnp.array([0.3, -1.0, 2.0, 0.5])

    @jax.jit
    def run(x, y):
        return {
            "batched": wasserstein_distance(x, y),
            "identical": jax.value_and_grad(
                lambda u: wasserstein_distance(u, line, p=2), argnums=0
            )(line),
            "one_sample": wasserstein_distance(jnp.array([0.5]), jnp.array([2.0]), p=2),
            "scaled_masses": wasserstein_distance(
                line, line[::-1] + 1, x_weights=jnp.array([1.0, 2, 3, 4]), p=2
            )
            - wasserstein_distance(
                line, line[::-1] + 1, x_weights=jnp.array([10.0, 20, 30, 40]), p=2
            ),
        }

    out = run(x, y)
    assert out["batched"].dtype == jnp.float32 and out["batched"].shape == (3, 4)
    expected = [
        [scipy.stats.wasserstein_distance(x[i, j], y[0, j]) for j in range(4)] for i in range(3)
    ]
    np.testing.assert_allclose(out["batched"], expected, rtol=1e-5, atol=1e-6)
    value, grad = out["identical"]
    assert float(value) == 0.0 and np.all(np.asarray(grad) == 0.0)
    np.testing.assert_allclose(out["one_sample"], 1.5, rtol=1e-12)
    np.testing.assert_allclose(out["scaled_masses"], 0.0, atol=1e-12)


def test_sliced_wasserstein_matches_pot_with_the_same_projections():
    rng = np.random.default_rng(2)
    configs = []
    for n, m, d, ell, p in [(7, 5, 3, 6, 2), (4, 9, 2, 3, 1), (1, 1, 4, 5, 2)]:
        configs.append(
            (
                rng.normal(size=(n, d)),
                rng.normal(size=(m, d)) + 0.5,
                rng.uniform(0.1, 2.0, n),
                rng.uniform(0.1, 2.0, m),
                rng.normal(size=(d, ell)),
                p,
            )
        )

    @jax.jit
    def run(arrays):
        out = []
        for (x, y, a, b, proj), c in zip(arrays, configs, strict=True):

            def f(x, y, a, b, proj=proj, p=c[5]):
                return sliced_wasserstein_distance(
                    x, y, x_weights=a, y_weights=b, projections=proj, p=p
                )

            out.append(jax.value_and_grad(f, argnums=(0, 1, 2, 3))(x, y, a, b))
        return out

    results = run([tuple(jnp.asarray(v) for v in c[:5]) for c in configs])
    for (value, grads), (x, y, a, b, proj, p) in zip(results, configs, strict=True):
        tx, ty, ta, tb = _torch(x), _torch(y), _torch(a), _torch(b)
        ref = ot.sliced_wasserstein_distance(
            tx, ty, ta / ta.sum(), tb / tb.sum(), projections=torch.tensor(proj), p=p
        )
        ref.backward()
        np.testing.assert_allclose(value, float(ref), **TOL64)
        for g, t in zip(grads, (tx, ty, ta, tb), strict=True):
            assert t.grad is not None
            np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_sliced_wasserstein_random_directions_are_unit_and_reproducible():
    """A translation by c: every unit direction sees |theta . c|, and the mean of
    (theta . c)^2 over directions uniform on the sphere is |c|^2 / D."""
    rng = np.random.default_rng(3)
    x = jnp.asarray(rng.normal(size=(6, 3)))
    c = jnp.array([[3.0, -1.0, 2.0]])

    @jax.jit
    def run(key, other):
        return (
            sliced_wasserstein_distance(x, x + c, key=key, num_projections=4000),
            sliced_wasserstein_distance(x, x + c, key=key, num_projections=4000),
            sliced_wasserstein_distance(x, x + c, key=other, num_projections=4000),
        )

    first, again, other = run(jax.random.key(0), jax.random.key(1))
    assert float(first) == float(again) and float(first) != float(other)
    np.testing.assert_allclose(first, np.linalg.norm(c[0]) / np.sqrt(3), rtol=0.03)


def _pot_sinkhorn_divergence(x, y, a, b, eps):
    """S = OT(a, b) - (OT(a, a) + OT(b, b)) / 2 with POT's sinkhorn2 (no entropic term)."""

    def cost(u, v, mu, nu):
        return ot.sinkhorn2(mu, nu, ot.dist(u, v), eps, stopThr=1e-13, numItermax=20000)

    return cost(x, y, a, b) - 0.5 * (cost(x, x, a, a) + cost(y, y, b, b))


def test_sinkhorn_divergence_matches_pot_values_and_gradients():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(6, 2)), rng.normal(size=(4, 2)) + 1.0
    a, b = rng.uniform(0.2, 2.0, 6), rng.uniform(0.2, 2.0, 4)
    eps = 0.5

    @jax.jit
    def run(x, y, a, b):
        def f(x, y, a):
            return sinkhorn_divergence(
                x, y, x_weights=a, y_weights=b, regularization=eps, threshold=1e-10
            )

        return jax.value_and_grad(f, argnums=(0, 1, 2))(x, y, a)

    value, grads = run(x, y, a, b)
    tx, ty, ta = _torch(x), _torch(y), _torch(a)
    tb = torch.tensor(b / b.sum())
    ref = _pot_sinkhorn_divergence(tx, ty, ta / ta.sum(), tb, eps)
    ref.backward()
    np.testing.assert_allclose(value, float(ref), rtol=1e-6)
    for g, t in zip(grads, (tx, ty, ta), strict=True):
        assert t.grad is not None
        # The solvers stop at different marginal errors (ott-jax's threshold, POT's stopThr):
        # the gradients agree to about 1e-5.
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-4, atol=1e-5)


def test_sinkhorn_eager_call_is_one_compiled_program_and_threshold_is_static():
    """An eager call runs the solver as one cached program (not ott-jax op by op): a second
    call with new values of the same shapes compiles nothing. `threshold` is closed over by
    ott-jax, so a traced one is refused, naming it."""
    x = jnp.asarray(np.random.default_rng(0).normal(size=(5, 2)), jnp.float32)
    options = {"regularization": 0.5, "threshold": 1e-3, "max_iterations": 50}
    sinkhorn_divergence(x, x + 1.0, **options)
    with backend_compiles() as compiles:
        value = sinkhorn_divergence(x, x + 2.0, **options)
    assert np.isfinite(float(value)) and compiles == []
    with pytest.raises(TypeError, match="`threshold`"):
        jax.jit(lambda t: sinkhorn_divergence(x, x, threshold=t))(1e-3)


def test_disjoint_supports_transport_gradients_live_where_js_is_flat():
    """Issue 16's motivation: two bumps pulled apart. JS of the binned densities is log 2 with a
    zero derivative in the shift, the transport distances keep a derivative of the size of
    the shift's effect (W_1: exactly 1 for a translation)."""
    grid = jnp.linspace(-10.0, 10.0, 81)
    base = jnp.linspace(-1.0, 1.0, 8)

    def tent(mu):
        w = jnp.maximum(0.0, 1.0 - jnp.abs(grid - mu))
        return w / jnp.sum(w)

    @jax.jit
    def derivatives(shift):
        fns = {
            "js": lambda s: js_divergence(tent(s), tent(0.0)),
            "wasserstein": lambda s: wasserstein_distance(base + s, base),
            "sliced": lambda s: sliced_wasserstein_distance(
                jnp.stack([base + s, base], -1),
                jnp.stack([base, base], -1),
                projections=jnp.array([[1.0, 0.6], [0.0, 0.8]]),
            ),
            "sinkhorn": lambda s: sinkhorn_divergence(
                (base + s)[:, None], base[:, None], regularization=0.1, threshold=1e-6
            ),
        }
        return {k: jax.value_and_grad(f)(shift) for k, f in fns.items()}

    # 5.1: no grid point on the edge of the moved tent (a kink of its max(0, .)).
    out = derivatives(jnp.asarray(5.1))
    js, js_grad = out["js"]
    np.testing.assert_allclose(js, np.log(2.0), rtol=1e-12)
    assert abs(float(js_grad)) < 1e-12  # zero up to rounding
    np.testing.assert_allclose(out["wasserstein"][1], 1.0, rtol=1e-12)
    assert float(out["sliced"][1]) > 0.5
    np.testing.assert_allclose(out["sinkhorn"][1], 2 * 5.1, rtol=1e-3)  # d/ds of s^2


def test_sinkhorn_divergence_without_ott_names_the_extra(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_ott(name, *args, **kwargs):
        if name.startswith("ott"):
            raise ImportError("no ott")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ott)
    with pytest.raises(ImportError, match=r"jaxloss\[transport\]"):
        sinkhorn_divergence(jnp.zeros((2, 1)), jnp.ones((2, 1)), regularization=1.0)
