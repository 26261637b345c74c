"""Registry entry for jaxloss.composite.

`composite_loss` is higher-order: its Case composes a squared-error and a weighted
absolute-error term on ``(predictions, targets)`` and stacks ``(total, mse, mae)`` so the
generic tests see one array.
"""

import jax.numpy as jnp

import jaxloss
from tests.registry import Bad, Call, Case, normal, ones, zeros

_ZERO = (zeros(4), zeros(4))


def _composite(predictions, targets, *, terms=None):
    terms = terms or {
        "mse": jaxloss.squared_error,
        "mae": (jaxloss.absolute_error, 0.5),
    }
    total, aux = jaxloss.composite_loss(terms)(predictions, targets)
    return jnp.stack([total, *aux["terms"].values()])


def _make(rng, batch, dtype):
    return Call((normal(rng, (*batch, 3), dtype), normal(rng, (*batch, 3), dtype)))


CASES = [
    Case(
        "composite_loss",
        _make,
        grad_argnums=(0, 1),
        reduces=False,
        batched=False,
        out_shape=lambda b: (3,),
        fn=_composite,
        edge_cases=(
            lambda: Call(_ZERO),
            lambda: Call(_ZERO, {"terms": {"rmse": jaxloss.root_mean_squared_error}}),
        ),
        bad_calls=(
            Bad(lambda: Call(_ZERO, {"terms": {"a": "mse"}}), "`terms`", TypeError),
            Bad(
                lambda: Call(_ZERO, {"terms": {"a": (jaxloss.squared_error, float("nan"))}}),
                "`terms`",
            ),
            Bad(
                lambda: Call(_ZERO, {"terms": {"a": (jaxloss.squared_error, ones(2))}}),
                "`terms`",
            ),
            # a term returning a non-scalar (jnp: it runs inside the loss)
            Bad(lambda: Call(_ZERO, {"terms": {"n": lambda p, t: jnp.ones(3, int)}}), "`terms`"),
        ),
    ),
]
