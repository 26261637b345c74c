"""Reference tests for jaxloss.objectives.

Oracles: numpy formulas of the penalties (scikit-learn's ElasticNet documentation:
``alpha * l1_ratio * ||w||_1 + 0.5 * alpha * (1 - l1_ratio) * ||w||_2^2``, here with
``alpha = 1``), the ridge normal equations solved with ``np.linalg.solve``, and
``sklearn.linear_model.Ridge``.
"""

from __future__ import annotations

import functools
import inspect

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import sklearn.linear_model
from hypothesis import given
from hypothesis import strategies as st

import jaxloss

PENALTIES = [
    jaxloss.l1_penalty,
    jaxloss.l2_penalty,
    functools.partial(jaxloss.elastic_net_penalty, l1_ratio=0.3),
]


def _tree(rng, dtype=np.float64):
    return {
        "dense": {
            "kernel": rng.standard_normal((3, 4)).astype(dtype),
            "bias": rng.standard_normal(4).astype(dtype),
        },
        "norm": {"scale": rng.standard_normal(4).astype(dtype)},
        "extra": [
            rng.standard_normal((2,)).astype(dtype),
            (rng.standard_normal(()).astype(dtype),),
        ],
    }


def _np_leaves(tree):
    return [np.asarray(x, np.float64) for x in jax.tree_util.tree_leaves(tree)]


def _np_l1(leaves):
    return sum(np.abs(x).sum() for x in leaves)


def _np_l2(leaves):
    return 0.5 * sum(np.square(x).sum() for x in leaves)


# values against numpy -----------------------------------------------------------------------


@pytest.mark.parametrize("l1_ratio", [0.0, 0.25, 0.5, 1.0])
def test_penalties_match_numpy(rng, l1_ratio):
    tree = _tree(rng)
    leaves = _np_leaves(tree)
    # one program: the three penalties
    l1, l2, elastic_net = jax.jit(
        lambda t: (
            jaxloss.l1_penalty(t),
            jaxloss.l2_penalty(t),
            jaxloss.elastic_net_penalty(t, l1_ratio=l1_ratio),
        )
    )(tree)
    np.testing.assert_allclose(l1, _np_l1(leaves), rtol=1e-12)
    np.testing.assert_allclose(l2, _np_l2(leaves), rtol=1e-12)
    np.testing.assert_allclose(
        elastic_net,
        l1_ratio * _np_l1(leaves) + (1 - l1_ratio) * _np_l2(leaves),
        rtol=1e-12,
    )


def test_elastic_net_matches_sklearn_objective_at_its_solution(rng):
    # scikit-learn's ElasticNet minimizes 1/(2n) ||y - Xw||^2 + alpha * P(w), with P our
    # elastic_net_penalty. At its solution w*, the subgradient optimality condition
    # X^T (y - X w*) / n = alpha * (l1_ratio * sign(w*) + (1 - l1_ratio) w*) holds on the support;
    # compare it with the JAX gradient of our penalty there.
    x = rng.standard_normal((60, 5))
    y = x @ np.array([1.5, 0.0, -2.0, 0.0, 0.7]) + 0.1 * rng.standard_normal(60)
    alpha, l1_ratio = 0.05, 0.6
    model = sklearn.linear_model.ElasticNet(
        alpha=alpha, l1_ratio=l1_ratio, fit_intercept=False, tol=1e-12, max_iter=100_000
    ).fit(x, y)
    w = model.coef_
    support = w != 0
    assert support.sum() >= 3
    grad = jax.jit(jax.grad(lambda v: jaxloss.elastic_net_penalty(v, l1_ratio=l1_ratio)))(w)
    data_grad = x.T @ (y - x @ w) / len(y)
    np.testing.assert_allclose(alpha * np.asarray(grad)[support], data_grad[support], atol=1e-8)


# masks -----------------------------------------------------------------------------------------


def _skip_bias_and_scale(path, leaf):
    return path[-1].key not in ("bias", "scale") if hasattr(path[-1], "key") else True


@pytest.mark.parametrize("penalty", PENALTIES)
def test_masks_select_leaves(rng, penalty):
    tree = _tree(rng)
    selected = {
        "dense": {"kernel": tree["dense"]["kernel"]},
        "extra": tree["extra"],
    }
    mask = {
        "dense": {"kernel": True, "bias": False},
        "norm": {"scale": False},
        "extra": [True, (True,)],
    }

    @jax.jit  # one program: the selected leaves, both masks and the gradient
    def program(tree, selected):
        return {
            "selected": penalty(selected),
            "mask": penalty(tree, where=mask),
            "callable": penalty(tree, where=_skip_bias_and_scale),
            "grads": jax.grad(lambda p: penalty(p, where=mask))(tree),
        }

    got = program(tree, selected)
    expected = got["selected"]
    np.testing.assert_allclose(got["mask"], expected, rtol=1e-12)
    np.testing.assert_allclose(got["callable"], expected, rtol=1e-12)
    # Independent check: the L1 value of the selected leaves by numpy.
    if penalty is jaxloss.l1_penalty:
        np.testing.assert_allclose(got["mask"], _np_l1(_np_leaves(selected)), rtol=1e-12)
    # Masked leaves get exactly zero gradient; selected leaves the penalty's gradient.
    grads = got["grads"]
    assert np.all(np.asarray(grads["dense"]["bias"]) == 0)
    assert np.all(np.asarray(grads["norm"]["scale"]) == 0)
    assert np.any(np.asarray(grads["dense"]["kernel"]) != 0)


def test_elementwise_array_masks(rng):
    w = rng.standard_normal((3, 4))
    rows = np.array([True, False, True])[:, None]
    np.testing.assert_allclose(
        jaxloss.l2_penalty({"w": w}, where={"w": jnp.asarray(rows)}),
        0.5 * np.sum(np.square(w[[0, 2]])),
        rtol=1e-12,
    )
    # A traced mask works under jit.
    fn = jax.jit(lambda p, m: jaxloss.l1_penalty(p, where=m))
    np.testing.assert_allclose(
        fn({"w": w}, {"w": jnp.asarray(rows)}), np.abs(w[[0, 2]]).sum(), rtol=1e-12
    )


def test_integer_leaves_are_allowed_only_when_masked_out(rng):
    tree = {"w": rng.standard_normal(3), "step": jnp.array(7)}
    with pytest.raises(TypeError, match=r"`params` leaf \['step'\]"):
        jaxloss.l2_penalty(tree)
    np.testing.assert_allclose(
        jaxloss.l2_penalty(tree, where={"w": True, "step": False}),
        0.5 * np.sum(np.square(tree["w"])),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        jaxloss.l1_penalty(tree, where=lambda path, leaf: path[0].key != "step"),
        np.abs(tree["w"]).sum(),
        rtol=1e-12,
    )


# gradients, edge cases, dtypes -------------------------------------------------------------------


def test_gradients_follow_the_formulas():
    w = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
    # one program: the three gradients
    g1, g2, g = jax.jit(
        lambda w: (
            jax.grad(jaxloss.l1_penalty)(w),
            jax.grad(jaxloss.l2_penalty)(w),
            jax.grad(lambda v: jaxloss.elastic_net_penalty(v, l1_ratio=0.25))(w),
        )
    )(w)
    np.testing.assert_array_equal(g1, [-1.0, -1.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(g2, w)
    np.testing.assert_allclose(g, 0.25 * np.sign(w) + 0.75 * np.asarray(w), rtol=1e-12)


def test_empty_pytree_is_zero():
    for penalty in PENALTIES:
        out = penalty({})
        assert out.dtype == jnp.float32 and float(out) == 0.0
        assert float(penalty({"w": jnp.zeros(3)}, where={"w": False})) == 0.0


@pytest.mark.parametrize("penalty", PENALTIES)
def test_result_dtype_is_the_promoted_leaf_dtype(penalty):
    ones16 = np.ones((4,), jnp.float16)
    trees = [
        {"a": ones16},
        {"a": ones16, "b": np.ones((2,), jnp.bfloat16)},
        {"a": ones16, "b": np.ones((2,), jnp.float64)},
    ]
    # The leaf dtype counts even when the leaf is masked out.
    mixed = {"a": ones16, "b": np.ones((2,), jnp.float32)}
    # one program: every tree
    out = jax.jit(
        lambda trees, mixed: [*map(penalty, trees), penalty(mixed, where={"a": True, "b": False})]
    )(trees, mixed)
    assert [o.dtype for o in out] == [jnp.float16, jnp.float32, jnp.float64, jnp.float32]


def test_float16_sums_accumulate_in_float32():
    # 4096 * 0.1 = 409.6: a float16 running sum stalls once its spacing (0.25 above 256, 0.5
    # above 512) exceeds the increment; accumulating in float32 then rounding once does not.
    x = jnp.full((4096,), 0.1, jnp.float16)
    exact = 4096 * float(np.float16(0.1))
    out = jaxloss.l1_penalty({"x": x})
    assert out.dtype == jnp.float16
    np.testing.assert_allclose(float(out), exact, rtol=1e-3)
    np.testing.assert_allclose(
        float(jaxloss.l2_penalty({"x": x})), 0.5 * 4096 * float(np.float16(0.1)) ** 2, rtol=1e-3
    )


_leaves = hnp.arrays(np.float64, (5,), elements=st.floats(-100, 100, allow_nan=False))


@given(a=_leaves, b=_leaves, scale=st.floats(-10, 10), rho=st.floats(0, 1))
def test_penalty_properties(a, b, scale, rho):
    tree = {"a": a, "b": b}
    scaled = {"a": scale * a, "b": scale * b}
    l1, l2 = float(jaxloss.l1_penalty(tree)), float(jaxloss.l2_penalty(tree))
    assert l1 >= 0 and l2 >= 0
    # Absolute homogeneity of the L1 norm, degree-2 homogeneity of the L2 penalty.
    np.testing.assert_allclose(
        float(jaxloss.l1_penalty(scaled)), abs(scale) * l1, rtol=1e-9, atol=1e-9
    )
    np.testing.assert_allclose(
        float(jaxloss.l2_penalty(scaled)), scale**2 * l2, rtol=1e-9, atol=1e-9
    )
    # Elastic net is the convex combination (sklearn's formula), between its two ends.
    net = float(jaxloss.elastic_net_penalty(tree, l1_ratio=rho))
    np.testing.assert_allclose(net, rho * l1 + (1 - rho) * l2, rtol=1e-9, atol=1e-9)
    assert min(l1, l2) - 1e-9 <= net <= max(l1, l2) + 1e-9


# errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("penalty", PENALTIES)
def test_bad_masks_raise(penalty):
    params = {"w": jnp.zeros((2, 3)), "b": jnp.zeros(3)}
    with pytest.raises(ValueError, match="`where`"):
        penalty(params, where={"w": True})
    with pytest.raises(ValueError, match="`where`"):
        penalty(params, where={"w": True, "b": False, "c": True})
    with pytest.raises(TypeError, match="`where`"):
        penalty(params, where={"w": 1, "b": True})
    with pytest.raises(ValueError, match="`where`"):
        penalty(params, where={"w": jnp.ones((3, 3), bool), "b": True})
    with pytest.raises(TypeError, match="`params`"):
        penalty({"w": jnp.zeros(3, jnp.int32)})
    # `mask=` was renamed `where=` (the one mask name, CONTRIBUTING.md section 3).
    with pytest.raises(TypeError, match="mask"):
        penalty(params, mask={"w": True, "b": False})
    assert "mask" not in inspect.signature(penalty).parameters


@pytest.mark.parametrize("l1_ratio", [-0.1, 1.5, float("nan")])
def test_l1_ratio_out_of_range_raises(l1_ratio):
    with pytest.raises(ValueError, match="`l1_ratio`"):
        jaxloss.elastic_net_penalty({"w": jnp.ones(2)}, l1_ratio=l1_ratio)


def test_l1_ratio_may_be_traced():
    fn = jax.jit(lambda p, r: jaxloss.elastic_net_penalty(p, l1_ratio=r))
    np.testing.assert_allclose(fn({"w": jnp.array([1.0, -2.0])}, 0.5), 0.5 * 3 + 0.5 * 2.5)


# objective ---------------------------------------------------------------------------------------


def _linear(params, x):
    return x @ params["w"] + params["b"]


def _squared_errors(params, x, y):
    return jaxloss.squared_error(_linear(params, x), y)


def _ridge_data(rng, n=48, d=3):
    x = rng.standard_normal((n, d)) + np.array([0.5, -1.0, 2.0])[:d]
    y = x @ np.array([1.0, -2.0, 0.5])[:d] + 3.0 + 0.3 * rng.standard_normal(n)
    return x, y


def _ridge_closed_form(x, y, lam):
    # Stationarity of mean((Xw + b - y)^2) + lam * 0.5 * ||w||^2 over (w, b):
    # (2/n) A^T (A theta - y) + lam * diag(1, ..., 1, 0) theta = 0 with A = [X, 1].
    n, d = x.shape
    a = np.concatenate([x, np.ones((n, 1))], axis=1)
    reg = lam * np.diag([1.0] * d + [0.0])
    theta = np.linalg.solve(2.0 / n * a.T @ a + reg, 2.0 / n * a.T @ y)
    return theta[:d], theta[d]


_LBFGS = optax.lbfgs()


@jax.jit
def _ridge_lbfgs_step(params, state, x, y, lam):
    # Penalize the weights, not the bias; `lam` is traced, so one compilation serves all.
    regularizer = functools.partial(jaxloss.l2_penalty, where=lambda path, leaf: path[0].key == "w")
    fn = jaxloss.objective(_squared_errors, regularizer=regularizer, strength=lam)
    (value, aux), grads = jax.value_and_grad(fn, has_aux=True)(params, x, y)
    updates, state = _LBFGS.update(
        grads, state, params, value=value, grad=grads, value_fn=lambda p: fn(p, x, y)[0]
    )
    return optax.apply_updates(params, updates), state, aux


@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_objective_trains_ridge_to_closed_form_in_jitted_optax_step(rng, lam):
    x, y = _ridge_data(rng)
    x, y = jnp.asarray(x), jnp.asarray(y)
    params = {"w": jnp.zeros(3, jnp.float64), "b": jnp.zeros((), jnp.float64)}
    state = _LBFGS.init(params)
    for _ in range(30):
        params, state, aux = _ridge_lbfgs_step(params, state, x, y, jnp.float64(lam))
    w, b = _ridge_closed_form(np.asarray(x), np.asarray(y), lam)
    np.testing.assert_allclose(params["w"], w, atol=1e-8)
    np.testing.assert_allclose(params["b"], b, atol=1e-8)
    # scikit-learn's Ridge minimizes ||y - Xw - b||^2 + alpha ||w||^2, the same problem with
    # alpha = n * lam / 2 (its intercept is not penalized).
    if lam > 0:
        ridge = sklearn.linear_model.Ridge(alpha=len(y) * lam / 2).fit(np.asarray(x), np.asarray(y))
        np.testing.assert_allclose(params["w"], ridge.coef_, atol=1e-8)
        np.testing.assert_allclose(params["b"], ridge.intercept_, atol=1e-8)
    # aux holds the cost and the unscaled penalty separately.
    residual = np.asarray(x) @ w + b - np.asarray(y)
    np.testing.assert_allclose(aux["cost"], np.mean(residual**2), rtol=1e-6)
    np.testing.assert_allclose(aux["penalty"], 0.5 * np.sum(w**2), rtol=1e-6, atol=1e-12)


def test_objective_with_sgd_no_bias_model(rng):
    # A no-bias model trained by plain SGD: optimum solves (2/n X^T X + lam I) w = 2/n X^T y.
    x, y = _ridge_data(rng)
    x = x - x.mean(0)
    lam = 0.5
    fn = jaxloss.objective(
        lambda p, xb, yb: jaxloss.squared_error(xb @ p, yb),
        regularizer=jaxloss.l2_penalty,
        strength=lam,
    )
    optimizer = optax.sgd(0.2)

    @jax.jit
    def train(w):
        def body(_, carry):
            w, state = carry
            grads, _ = jax.grad(fn, has_aux=True)(w, x, y)
            updates, state = optimizer.update(grads, state, w)
            return optax.apply_updates(w, updates), state

        return jax.lax.fori_loop(0, 400, body, (w, optimizer.init(w)))[0]

    w = train(jnp.zeros(3, jnp.float64))
    n = len(y)
    expected = np.linalg.solve(2 / n * x.T @ x + lam * np.eye(3), 2 / n * x.T @ y)
    np.testing.assert_allclose(w, expected, atol=1e-4)


def test_objective_value_and_aux_structure(rng):
    x, y = _ridge_data(rng, n=6)
    params = {"w": jnp.asarray(rng.standard_normal(3)), "b": jnp.asarray(1.5)}
    fn = jaxloss.objective(_squared_errors, regularizer=jaxloss.l1_penalty, strength=0.7)
    scalar = jaxloss.objective(
        lambda p, xb, yb: jnp.mean(_squared_errors(p, xb, yb)),
        regularizer=jaxloss.l1_penalty,
        strength=0.7,
    )
    plain = jaxloss.objective(_squared_errors)
    # one program: the three objectives
    (value, aux), (scalar_value, _), (plain_value, plain_aux) = jax.jit(
        lambda *a: (fn(*a), scalar(*a), plain(*a))
    )(params, x, y)
    residual = x @ np.asarray(params["w"]) + 1.5 - y
    cost = np.mean(residual**2)
    penalty = np.abs(np.asarray(params["w"])).sum() + 1.5
    assert set(aux) == {"cost", "penalty"}
    np.testing.assert_allclose(aux["cost"], cost, rtol=1e-12)
    np.testing.assert_allclose(aux["penalty"], penalty, rtol=1e-12)
    np.testing.assert_allclose(value, cost + 0.7 * penalty, rtol=1e-12)
    # A scalar cost is used as is (same value as the per-example form).
    np.testing.assert_allclose(scalar_value, value, rtol=1e-12)
    # Without a regularizer the penalty is 0 and value == cost.
    np.testing.assert_allclose(plain_value, cost, rtol=1e-12)
    assert float(plain_aux["penalty"]) == 0.0


def test_objective_nests_the_loss_aux(rng):
    x, y = _ridge_data(rng, n=6)
    params = {"w": np.ones(3), "b": np.zeros(())}

    def loss_with_aux(p, xb, yb):
        pred = _linear(p, xb)
        return jaxloss.squared_error(pred, yb), {"predictions": pred}

    fn = jaxloss.objective(
        loss_with_aux, regularizer=jaxloss.l2_penalty, strength=0.1, has_aux=True
    )
    (value, aux), grads = jax.jit(jax.value_and_grad(fn, has_aux=True))(params, x, y)
    assert set(aux) == {"cost", "penalty", "loss_aux"}
    np.testing.assert_allclose(aux["loss_aux"]["predictions"], x @ np.ones(3), rtol=1e-6)
    np.testing.assert_allclose(value, aux["cost"] + 0.1 * aux["penalty"], rtol=1e-6)
    # Gradient of the bias: mean of 2 * residual (the bias is penalized here, and is 0).
    np.testing.assert_allclose(grads["b"], np.mean(2 * (x @ np.ones(3) - y)), rtol=1e-5)


def test_objective_traced_strength_and_dtypes(rng):
    x, y = _ridge_data(rng, n=6)
    params = {"w": jnp.ones(3, jnp.float32), "b": jnp.zeros((), jnp.float32)}
    x32, y32 = jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)

    @jax.jit
    def value(strength):
        fn = jaxloss.objective(_squared_errors, regularizer=jaxloss.l2_penalty, strength=strength)
        return fn(params, x32, y32)[0]

    v0, v1 = value(0.0), value(2.0)
    assert v0.dtype == jnp.float32
    np.testing.assert_allclose(v1 - v0, 2.0 * 0.5 * 3, rtol=1e-5)


def test_objective_bad_arguments_raise():
    with pytest.raises(TypeError, match="`loss_fn`"):
        jaxloss.objective("mse")
    with pytest.raises(TypeError, match="`regularizer`"):
        jaxloss.objective(_squared_errors, regularizer=0.1)
    with pytest.raises(ValueError, match="`strength`"):
        jaxloss.objective(_squared_errors, regularizer=jaxloss.l2_penalty, strength=-1.0)
    with pytest.raises(ValueError, match="`strength`"):
        jaxloss.objective(_squared_errors, strength=0.5)
    params = {"w": jnp.ones(3), "b": jnp.zeros(())}
    with pytest.raises(TypeError, match="`loss_fn`"):
        jaxloss.objective(lambda p: jnp.array(1, jnp.int32))(params)
    with pytest.raises(ValueError, match="`regularizer`"):
        jaxloss.objective(lambda p: jnp.sum(p["w"]), regularizer=lambda p: p["w"], strength=1.0)(
            params
        )
