"""Registry entries for jaxloss.objectives.

Penalties take one traced pytree (a dict of arrays whose leading axis is the batch shape) and
return a scalar, so they neither reduce nor map the batch elementwise. `objective` is
higher-order: its Case wraps ``objective(...)`` around a small quadratic cost and stacks
``(value, cost, penalty)`` so the generic tests see one array.
"""

import functools

import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.registry import Bad, Call, Case, normal, on_device, zeros


def _params(rng, batch, dtype):
    return Call(({"w": normal(rng, (*batch, 3, 2), dtype), "b": normal(rng, (*batch, 2), dtype)},))


def _elastic(rng, batch, dtype):
    call = _params(rng, batch, dtype)
    return Call(call.args, {"l1_ratio": 0.3})


_ZEROS = {"w": zeros((3, 2)), "b": zeros((2,))}


def _penalty_case(name, make, kwargs):
    return Case(
        name,
        make,
        reduces=False,
        batched=False,
        out_shape=lambda b: (),
        edge_cases=(
            lambda: Call((_ZEROS,), dict(kwargs)),
            lambda: Call((_ZEROS,), {**kwargs, "where": {"w": True, "b": False}}),
            lambda: Call((_ZEROS,), {**kwargs, "where": lambda path, leaf: leaf.ndim > 1}),
        ),
        bad_calls=(
            Bad(
                lambda: Call(({"w": on_device(np.arange(3))},), dict(kwargs)), "`params`", TypeError
            ),
            Bad(lambda: Call((_ZEROS,), {**kwargs, "where": {"w": True}}), "`where`"),
            Bad(lambda: Call((_ZEROS,), {**kwargs, "where": {"w": 1.0, "b": True}}), "`where`"),
        )
        + (
            (Bad(lambda: Call((_ZEROS,), {**kwargs, "l1_ratio": 1.5}), "`l1_ratio`"),)
            if "l1_ratio" in kwargs
            else ()
        ),
    )


def _quadratic_cost(params, x, y):
    """Per-example squared error of a linear model (objective averages it)."""
    return jaxloss.squared_error(jnp.sum(params["w"] * x, axis=-1), y)


def _objective(
    params, x, y, *, loss_fn=_quadratic_cost, regularizer=jaxloss.l2_penalty, strength=0.1
):
    fn = jaxloss.objective(loss_fn, regularizer=regularizer, strength=strength)
    value, aux = fn(params, x, y)
    return jnp.stack([value, aux["cost"], aux["penalty"]])


def _objective_make(rng, batch, dtype):
    return Call(
        (
            {"w": normal(rng, (*batch, 3), dtype)},
            normal(rng, (*batch, 3), dtype),
            normal(rng, batch, dtype),
        ),
    )


CASES = [
    _penalty_case("l1_penalty", _params, {}),
    _penalty_case("l2_penalty", _params, {}),
    _penalty_case("elastic_net_penalty", _elastic, {"l1_ratio": 0.3}),
    Case(
        "objective",
        _objective_make,
        grad_argnums=(0, 1),
        reduces=False,
        batched=False,
        out_shape=lambda b: (3,),
        fn=_objective,
        edge_cases=(
            lambda: Call(({"w": zeros((4, 3))}, zeros((4, 3)), zeros(4))),
            lambda: Call(
                ({"w": zeros((4, 3))}, zeros((4, 3)), zeros(4)),
                {"regularizer": functools.partial(jaxloss.l1_penalty, where={"w": False})},
            ),
        ),
        bad_calls=(
            Bad(
                lambda: Call(({"w": zeros(3)}, zeros(3), zeros(())), {"strength": -1.0}),
                "`strength`",
            ),
            Bad(
                lambda: Call(({"w": zeros(3)}, zeros(3), zeros(())), {"loss_fn": "mse"}),
                "`loss_fn`",
                TypeError,
            ),
            Bad(
                lambda: Call(
                    ({"w": zeros(3)}, zeros(3), zeros(())),
                    {"regularizer": None, "strength": 1.0},
                ),
                "`strength`",
            ),
            Bad(
                lambda: Call(
                    ({"w": zeros(3)}, zeros(3), zeros(())),
                    {"regularizer": lambda p: p["w"]},
                ),
                "`regularizer`",
            ),
        ),
    ),
]
