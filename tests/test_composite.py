"""composite_loss: values against numpy formulas, and use with objective, value_and_grad,
optax.chain optimizers and flax.nnx modules."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

import jaxloss


def _data(seed=0, n=16, d=3):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    w = rng.standard_normal(d)
    y = x @ w + 0.1 * rng.standard_normal(n)
    return jnp.asarray(x), jnp.asarray(y)


def _mse(params, x, y):
    return jaxloss.squared_error(x @ params["w"], y)


def _mae(params, x, y):
    return jaxloss.absolute_error(x @ params["w"], y)


def test_total_and_terms_match_numpy():
    x, y = _data()
    params = {"w": jnp.asarray([0.5, -1.0, 2.0])}
    fn = jaxloss.composite_loss({"mse": (_mse, 2.0), "mae": (_mae, 0.25)})
    total, aux = jax.jit(fn)(params, x, y)
    r = np.asarray(x) @ np.asarray(params["w"]) - np.asarray(y)
    mse, mae = np.mean(r**2), np.mean(np.abs(r))  # squared_error is r^2 (optax's, no 1/2)
    np.testing.assert_allclose(aux["terms"]["mse"], mse, rtol=1e-12)
    np.testing.assert_allclose(aux["terms"]["mae"], mae, rtol=1e-12)
    np.testing.assert_allclose(aux["weighted"]["mse"], 2.0 * mse, rtol=1e-12)
    np.testing.assert_allclose(aux["weighted"]["mae"], 0.25 * mae, rtol=1e-12)
    np.testing.assert_allclose(total, 2.0 * mse + 0.25 * mae, rtol=1e-12)
    assert set(aux["terms"]) == set(aux["weighted"]) == {"mse", "mae"}


def test_bare_callable_has_weight_one_and_scalar_terms_are_kept():
    fn = jaxloss.composite_loss({"a": lambda v: jnp.sum(v), "b": (lambda v: v, 3.0)})
    total, aux = jax.jit(fn)(np.asarray([1.0, 2.0]))  # one program
    np.testing.assert_allclose(aux["terms"]["a"], 3.0)
    np.testing.assert_allclose(aux["terms"]["b"], 1.5)
    np.testing.assert_allclose(total, 3.0 + 4.5)


def test_gradient_is_the_weighted_sum_of_term_gradients():
    x, y = _data(1)
    params = {"w": jnp.asarray([0.3, 0.2, -0.1])}
    fn = jaxloss.composite_loss({"mse": (_mse, 0.7), "mae": (_mae, 1.3)})
    (_, aux), grads = jax.jit(jax.value_and_grad(fn, has_aux=True))(params, x, y)  # one program
    # d/dw of mean r^2 and mean |r| by hand (r = x w - y).
    r = np.asarray(x) @ np.asarray(params["w"]) - np.asarray(y)
    expected = 0.7 * 2 * (np.asarray(x).T @ r) / len(r) + 1.3 * np.asarray(x).T @ np.sign(r) / len(
        r
    )
    np.testing.assert_allclose(grads["w"], expected, rtol=1e-10)
    assert set(aux) == {"terms", "weighted"}


def test_traced_weights_schedule_without_retracing():
    x, y = _data(2)
    params = {"w": jnp.zeros(3)}

    @jax.jit
    def step(params, weight):
        fn = jaxloss.composite_loss({"mse": (_mse, weight), "mae": _mae})
        return fn(params, x, y)

    t1, a1 = step(params, 0.0)
    t2, a2 = step(params, 2.0)
    np.testing.assert_allclose(t1, a1["terms"]["mae"], rtol=1e-12)
    np.testing.assert_allclose(t2, 2.0 * a2["terms"]["mse"] + a2["terms"]["mae"], rtol=1e-12)
    assert step._cache_size() == 1


def test_composes_with_objective():
    x, y = _data(3)
    params = {"w": jnp.asarray([1.0, -2.0, 0.5])}
    composite = jaxloss.composite_loss({"mse": _mse, "mae": (_mae, 0.5)})
    fn = jaxloss.objective(composite, regularizer=jaxloss.l2_penalty, strength=0.1, has_aux=True)

    @jax.jit  # one program: the objective's value and gradient, and the composite alone
    def program(params, x, y):
        return jax.value_and_grad(fn, has_aux=True)(params, x, y), composite(params, x, y)

    ((value, aux), grads), (total, terms) = program(params, x, y)
    penalty = 0.5 * np.sum(np.asarray(params["w"]) ** 2)
    np.testing.assert_allclose(value, float(total) + 0.1 * penalty, rtol=1e-12)
    np.testing.assert_allclose(aux["cost"], total, rtol=1e-12)
    np.testing.assert_allclose(aux["loss_aux"]["terms"]["mae"], terms["terms"]["mae"])
    assert np.all(np.isfinite(grads["w"]))


def test_trains_with_an_optax_chain():
    x, y = _data(4, n=64)
    fn = jaxloss.objective(
        jaxloss.composite_loss(
            {"mse": _mse, "huber": (lambda p, x, y: jaxloss.huber_loss(x @ p["w"], y), 0.5)}
        ),
        regularizer=jaxloss.l2_penalty,
        strength=1e-3,
        has_aux=True,
    )
    tx = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(0.1))
    params = {"w": jnp.zeros(3)}
    state = tx.init(params)

    @jax.jit
    def step(params, state):
        (value, aux), grads = jax.value_and_grad(fn, has_aux=True)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, value, aux

    history = []
    for _ in range(100):
        params, state, value, aux = step(params, state)
        history.append(
            {"total": float(value), **{k: float(v) for k, v in aux["loss_aux"]["terms"].items()}}
        )
    assert history[-1]["total"] < 0.05 * history[0]["total"]
    assert history[-1]["mse"] < history[0]["mse"] and history[-1]["huber"] < history[0]["huber"]


class _Net(nnx.Module):
    def __init__(self, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(3, 8, rngs=rngs)
        self.out = nnx.Linear(8, 1, rngs=rngs)

    def __call__(self, x):
        return self.out(nnx.relu(self.hidden(x)))[..., 0]


def test_trains_an_nnx_module():
    x, y = _data(5, n=64)
    model = _Net(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(0.05), wrt=nnx.Param)
    composite = jaxloss.composite_loss(
        {
            "mse": lambda m, x, y: jaxloss.squared_error(m(x), y),
            "log_cosh": (lambda m, x, y: jaxloss.log_cosh(m(x), y), 0.5),
        }
    )

    @nnx.jit
    def step(model, optimizer):
        (total, aux), grads = nnx.value_and_grad(composite, has_aux=True)(model, x, y)
        optimizer.update(model, grads)
        return total, aux

    first, _ = step(model, optimizer)
    for _ in range(150):
        total, aux = step(model, optimizer)
    assert float(total) < 0.1 * float(first)
    np.testing.assert_allclose(
        total, aux["weighted"]["mse"] + aux["weighted"]["log_cosh"], rtol=1e-6
    )


def test_content_style_tv_objective_on_images():
    rng = np.random.default_rng(6)
    content = jnp.asarray(rng.uniform(size=(1, 8, 8, 3)))
    style = jnp.asarray(rng.uniform(size=(1, 8, 8, 3)))

    def features(img):
        return {
            "pixels": img,
            "pooled": jax.lax.reduce_window(
                img, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID"
            ),
        }

    fn = jaxloss.composite_loss(
        {
            "content": lambda img: jaxloss.squared_error(img, content),
            "style": (lambda img: jaxloss.style_loss(features(img), features(style)), 10.0),
            "tv": (lambda img: jaxloss.total_variation(img), 1e-3),
        }
    )
    (_, aux), grad = jax.jit(jax.value_and_grad(fn, has_aux=True))(content)  # one program
    assert float(aux["terms"]["content"]) == 0.0
    assert float(aux["terms"]["style"]) > 0 and float(aux["terms"]["tv"]) > 0
    assert grad.shape == content.shape and np.all(np.isfinite(grad))


@pytest.mark.parametrize(
    "terms,error,match",
    [
        ({}, ValueError, "`terms`"),
        ([("a", jaxloss.squared_error)], ValueError, "`terms`"),
        ({1: jaxloss.squared_error}, TypeError, "`terms`"),
        ({"a": (jaxloss.squared_error, "w")}, TypeError, "`terms`"),
        ({"a": (jaxloss.squared_error, float("inf"))}, ValueError, "`terms`"),
    ],
)
def test_malformed_terms_raise(terms, error, match):
    with pytest.raises(error, match=match):
        jaxloss.composite_loss(terms)
