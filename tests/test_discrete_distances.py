"""Reference and edge-case tests for jaxloss.discrete_distances.

Oracles: scipy (``spatial.distance.euclidean`` for Hellinger, ``special.rel_entr`` for the KL
limit of Rényi), numpy formulas from the cited papers for the values, and torch transcriptions
of the same formulas whose autograd gives the reference gradients at interior points. Each
test evaluates all its configurations in one jitted call.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.special
import torch
from scipy.spatial.distance import euclidean

from jaxloss import (
    bhattacharyya_distance,
    hellinger_distance,
    kl_divergence,
    renyi_divergence,
    total_variation_distance,
)

ALPHAS = (0.0, 0.5, 1.0, 2.0, 3.5, np.inf)


def _numpy_renyi(q, p, alpha):
    """van Erven and Harremoës (2014), definition 2 and its limits, one distribution."""
    s = p > 0
    if alpha == 1:
        return float(np.sum(scipy.special.rel_entr(p, q)))
    if alpha == np.inf:
        return float(np.log(np.max(p[s] / q[s]))) if np.all(q[s] > 0) else np.inf
    with np.errstate(divide="ignore"):
        return float(np.log(np.sum(p[s] ** alpha * q[s] ** (1 - alpha))) / (alpha - 1))


def _torch_values(q, p, alpha):
    """The same formulas in torch (interior points: every entry positive)."""
    if alpha == 1:
        renyi = torch.sum(p * torch.log(p / q), -1)
    elif alpha == np.inf:
        renyi = torch.log(torch.max(p / q, -1).values)
    else:
        renyi = torch.log(torch.sum(p**alpha * q ** (1 - alpha), -1)) / (alpha - 1)
    return {
        "hellinger": torch.sqrt(0.5 * torch.sum((p.sqrt() - q.sqrt()) ** 2, -1)),
        "bhattacharyya": -torch.log(torch.sum(torch.sqrt(p * q), -1)),
        "total_variation": 0.5 * torch.sum(torch.abs(p - q), -1),
        "renyi": renyi,
    }


def _ours(q, p, alpha):
    return {
        "hellinger": lambda: hellinger_distance(q, p),
        "bhattacharyya": lambda: bhattacharyya_distance(q, p),
        "total_variation": lambda: total_variation_distance(q, p),
        "renyi": lambda: renyi_divergence(q, p, alpha=alpha),
    }


def _value_and_grads(name, q, p, alpha):
    def f(q, p):
        return jnp.sum(_ours(q, p, alpha)[name]())

    return _ours(q, p, alpha)[name](), jax.grad(f, argnums=(0, 1))(q, p)


@pytest.fixture(scope="module")
def interior():
    rng = np.random.default_rng(0)
    p, q = rng.uniform(0.05, 1.0, (2, 3, 5))
    return q / q.sum(-1, keepdims=True), p / p.sum(-1, keepdims=True)


def test_values_and_gradients_match_torch_and_scipy(interior):
    q, p = interior

    @jax.jit
    def run(q, p):
        out = {}
        for alpha in ALPHAS:
            # the alpha-free distances once, the Rényi divergence at every order
            for name in ("hellinger", "bhattacharyya", "total_variation") if alpha == 1 else ():
                out[f"{name}-{alpha}"] = _value_and_grads(name, q, p, alpha)
            out[f"renyi-{alpha}"] = _value_and_grads("renyi", q, p, alpha)
        # a traced order selects the same branches
        out["traced"] = [renyi_divergence(q, p, alpha=jnp.asarray(a, jnp.float64)) for a in ALPHAS]
        return out

    out = run(jnp.asarray(q), jnp.asarray(p))
    for alpha in ALPHAS:
        tq = torch.tensor(q, requires_grad=True)
        tp = torch.tensor(p, requires_grad=True)
        for name, ref in _torch_values(tq, tp, alpha).items():
            if f"{name}-{alpha}" not in out:
                continue
            value, grads = out[f"{name}-{alpha}"]
            tq.grad = tp.grad = None
            ref.sum().backward(retain_graph=True)
            np.testing.assert_allclose(
                value, ref.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=name
            )
            for g, t in zip(grads, (tq, tp), strict=True):
                assert t.grad is not None
                np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-12)
        expected = [_numpy_renyi(q[i], p[i], alpha) for i in range(3)]
        np.testing.assert_allclose(out[f"renyi-{alpha}"][0], expected, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(
            out["traced"][ALPHAS.index(alpha)], expected, rtol=1e-12, atol=1e-14
        )
    hellinger = [euclidean(np.sqrt(p[i]), np.sqrt(q[i])) / np.sqrt(2) for i in range(3)]
    np.testing.assert_allclose(out["hellinger-1.0"][0], hellinger, rtol=1e-12)
    # D_1/2 = 2 D_B, and D_1 is kl_divergence(log q, p)
    np.testing.assert_allclose(out["renyi-0.5"][0], 2 * out["bhattacharyya-1.0"][0], rtol=1e-12)
    np.testing.assert_allclose(
        out["renyi-1.0"][0], kl_divergence(jnp.log(q), jnp.asarray(p)), rtol=1e-12
    )


def test_zeros_disjoint_supports_and_masks():
    one_hot = jnp.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    other = jnp.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    zeros = jnp.array([[0.5, 0.5, 0.0], [0.0, 0.25, 0.75]])
    wider = jnp.array([[0.3, 0.3, 0.4], [0.2, 0.3, 0.5]])
    nan_second = jnp.array([[0.2, 0.3, 0.5], [jnp.nan] * 3])

    @jax.jit
    def run():
        def with_grads(fn, q, p, **kw):
            return jax.value_and_grad(lambda q, p: jnp.sum(fn(q, p, **kw)), argnums=(0, 1))(q, p)

        return {
            "hellinger_disjoint": with_grads(hellinger_distance, one_hot, other),
            "tv_disjoint": with_grads(total_variation_distance, one_hot, other),
            "bhattacharyya_disjoint": with_grads(bhattacharyya_distance, one_hot, other),
            "renyi2_escapes": with_grads(renyi_divergence, zeros, wider, alpha=2.0),
            "renyi_half_escapes": renyi_divergence(zeros, wider, alpha=0.5),
            "renyi_half_disjoint": renyi_divergence(one_hot, other, alpha=0.5),
            "identical": [
                with_grads(f, wider, wider) for f in (hellinger_distance, total_variation_distance)
            ],
            "masked": hellinger_distance(
                nan_second, wider, where=jnp.array([True, False]), reduction="mean"
            ),
            "masked_grad": jax.grad(
                lambda q: hellinger_distance(
                    q, wider, where=jnp.array([True, False]), reduction="sum"
                )
            )(nan_second),
            "entry_masked": total_variation_distance(
                zeros, wider, where=jnp.array([[True, True, False], [False, True, True]])
            ),
        }

    out = run()
    value, grads = out["hellinger_disjoint"]
    np.testing.assert_allclose(value, 2.0, rtol=1e-15)
    assert all(np.all(np.isfinite(g)) for g in grads)
    np.testing.assert_allclose(out["tv_disjoint"][0], 2.0, rtol=1e-15)
    value, grads = out["bhattacharyya_disjoint"]
    assert float(value) == np.inf and all(np.all(np.asarray(g) == 0) for g in grads)
    value, grads = out["renyi2_escapes"]
    assert float(value) == np.inf and all(np.all(np.asarray(g) == 0) for g in grads)
    expected = [_numpy_renyi(np.asarray(zeros[i]), np.asarray(wider[i]), 0.5) for i in range(2)]
    np.testing.assert_allclose(out["renyi_half_escapes"], expected, rtol=1e-12)
    assert np.all(np.asarray(out["renyi_half_disjoint"]) == np.inf)
    for value, grads in out["identical"]:
        assert float(value) == 0.0 and all(np.all(np.asarray(g) == 0) for g in grads)
    ref = euclidean(np.sqrt([0.2, 0.3, 0.5]), np.sqrt([0.3, 0.3, 0.4])) / np.sqrt(2)
    np.testing.assert_allclose(out["masked"], ref, rtol=1e-12)
    assert np.all(np.isfinite(out["masked_grad"])) and np.all(out["masked_grad"][1] == 0)
    np.testing.assert_allclose(out["entry_masked"], [0.5 * 0.4, 0.5 * (0.05 + 0.25)], rtol=1e-12)


def test_negative_probabilities_raise_eagerly():
    with pytest.raises(ValueError, match="`targets`"):
        hellinger_distance(jnp.array([0.5, 0.5]), jnp.array([1.5, -0.5]))
    with pytest.raises(ValueError, match="`alpha`"):
        renyi_divergence(jnp.array([0.5, 0.5]), jnp.array([0.5, 0.5]), alpha=-0.5)
