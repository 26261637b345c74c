"""Registry entries for jaxloss.mean_errors."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, normal

_MEANS = ("mean_squared_error", "mean_absolute_error", "root_mean_squared_error")


def _mean(rng, batch, dtype):
    shape = (*batch, 4)
    return Call((normal(rng, shape, dtype), normal(rng, shape, dtype)), {"axis": -1})


CASES = [
    Case(
        name,
        _mean,
        grad_argnums=(0, 1),
        edge_cases=(
            # Zero error everywhere (the RMSE square-root singularity).
            lambda: Call((jnp.ones((2, 3)), jnp.ones((2, 3))), {"axis": -1}),
            lambda: Call((jnp.ones((2, 3)), jnp.ones((2, 3))), {"reduction": "mean"}),
            # A fully masked slice: a mean over nothing is 0.
            lambda: Call(
                (jnp.ones((2, 3)), jnp.zeros((2, 3))),
                {"axis": 1, "where": jnp.array([[True] * 3, [False] * 3]), "reduction": "mean"},
            ),
            # An example mask and example weights; the masked example is NaN.
            lambda: Call(
                (jnp.array([[1.0, 2.0, 0.0], [jnp.nan] * 3]), jnp.ones((2, 3))),
                {
                    "axis": 1,
                    "where": jnp.array([True, False]),
                    "weights": jnp.array([0.5, 2.0]),
                    "reduction": "mean",
                },
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.arange(3), jnp.zeros(3))), "`predictions`", TypeError),
            Bad(lambda: Call((jnp.zeros((2, 3)), jnp.zeros((3, 2)))), "`targets`"),
            Bad(lambda: Call((jnp.zeros((2, 3)), jnp.zeros((2, 3))), {"axis": 2}), "`axis`"),
            Bad(
                lambda: Call((jnp.zeros((2, 3)), jnp.zeros((2, 3))), {"weights": jnp.ones(2)}),
                "`weights`",
            ),
            # Neither the entries' rank (2) nor the examples' (1 with axis=1).
            Bad(
                lambda: Call(
                    (jnp.zeros((2, 3)), jnp.zeros((2, 3))),
                    {"axis": 1, "where": jnp.ones((1, 2, 3), bool)},
                ),
                "`where`",
            ),
            Bad(
                lambda: Call(
                    (jnp.zeros((2, 3)), jnp.zeros((2, 3))), {"axis": 1, "weights": jnp.ones(3)}
                ),
                "`weights`",
            ),
        ),
    )
    for name in _MEANS
]
