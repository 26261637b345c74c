"""Registry entries for jaxloss.mean_errors."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, normal, on_device, ones, zeros

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
            lambda: Call((ones((2, 3)), ones((2, 3))), {"axis": -1}),
            lambda: Call((ones((2, 3)), ones((2, 3))), {"reduction": "mean"}),
            # A fully masked slice: a mean over nothing is 0.
            lambda: Call(
                (ones((2, 3)), zeros((2, 3))),
                {"axis": 1, "where": on_device([[True] * 3, [False] * 3]), "reduction": "mean"},
            ),
            # An example mask and example weights; the masked example is NaN.
            lambda: Call(
                (on_device([[1.0, 2.0, 0.0], [jnp.nan] * 3]), ones((2, 3))),
                {
                    "axis": 1,
                    "where": on_device([True, False]),
                    "weights": on_device([0.5, 2.0]),
                    "reduction": "mean",
                },
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((on_device(np.arange(3)), zeros(3))), "`predictions`", TypeError),
            Bad(lambda: Call((zeros((2, 3)), zeros((3, 2)))), "`targets`"),
            Bad(lambda: Call((zeros((2, 3)), zeros((2, 3))), {"axis": 2}), "`axis`"),
            Bad(
                lambda: Call((zeros((2, 3)), zeros((2, 3))), {"weights": ones(2)}),
                "`weights`",
            ),
            # Neither the entries' rank (2) nor the examples' (1 with axis=1).
            Bad(
                lambda: Call(
                    (zeros((2, 3)), zeros((2, 3))),
                    {"axis": 1, "where": ones((1, 2, 3), bool)},
                ),
                "`where`",
            ),
            Bad(
                lambda: Call((zeros((2, 3)), zeros((2, 3))), {"axis": 1, "weights": ones(3)}),
                "`weights`",
            ),
        ),
    )
    for name in _MEANS
]
