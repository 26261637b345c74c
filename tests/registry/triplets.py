"""Registry entries for jaxloss.triplets."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, on_device, ones, zeros
from tests.registry._embedding_inputs import (
    D,
    vectors,
)

# The second tuple is NaN and masked out (with weights): finite and right.
_NAN_ROWS = on_device(np.concatenate([np.ones((1, D)), np.full((1, D), np.nan)]))
_MASK_SECOND = {
    "where": on_device([True, False]),
    "weights": on_device([2.0, 1.0]),
    "reduction": "mean",
}


def _reduction_bads(count):
    return (
        Bad(lambda: Call((ones((2, D)),) * count, {"reduction": "avg"}), "`reduction`"),
        Bad(lambda: Call((ones((2, D)),) * count, {"where": ones(3, bool)}), "`where`"),
        Bad(lambda: Call((ones((2, D)),) * count, {"weights": full(2, -1.0)}), "`weights`"),
    )


CASES = [
    Case(
        "triplet_margin_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 3)),
        grad_argnums=(0, 1, 2),
        edge_cases=(
            lambda: Call((ones((2, D)), ones((2, D)), zeros((2, D)))),
            lambda: Call((ones((2, D)),) * 3, {"eps": 0.0}),
            lambda: Call((ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": 1}),
            lambda: Call((ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": 3, "swap": True}),
            lambda: Call((ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": jnp.inf}),
            lambda: Call((ones((2, D)),) * 3, {"soft": True, "eps": 0.0}),
            lambda: Call((zeros((2, D)),) * 3, {"distance": "cosine"}),
            lambda: Call((ones((2, D)),) * 3, {"distance": "euclidean"}),
            lambda: Call((ones((2, D)),) * 3, {"distance": "manhattan"}),
            lambda: Call((_NAN_ROWS, ones((2, D)), zeros((2, D))), _MASK_SECOND),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, D)), ones((2, D)), ones((2, 1)))), "Shapes"),
            Bad(lambda: Call((ones((2, D)),) * 3, {"margin": -1.0}), "`margin`"),
            Bad(lambda: Call((ones((2, D)),) * 3, {"norm_degree": 0.5}), "`norm_degree`"),
            Bad(lambda: Call((ones((2, D)),) * 3, {"distance": "l3"}), "`distance`"),
            Bad(lambda: Call((ones((2, D), jnp.int32),) * 3), "`anchors`"),
            *_reduction_bads(3),
        ),
    ),
    Case(
        "quadruplet_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 4)),
        grad_argnums=(0, 1, 2, 3),
        edge_cases=(
            lambda: Call((ones((2, D)),) * 4),
            lambda: Call((zeros((2, D)),) * 4, {"distance": "euclidean"}),
            lambda: Call((zeros((2, D)),) * 4, {"distance": "cosine"}),
            lambda: Call((zeros((2, D)),) * 4, {"distance": "squared_euclidean"}),
            lambda: Call((ones((2, D)),) * 4, {"distance": "chebyshev"}),
            lambda: Call((_NAN_ROWS, *(ones((2, D)),) * 3), _MASK_SECOND),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, D)),) * 3 + (ones((3, D)),)), "Shapes"),
            Bad(lambda: Call((ones((2, D)),) * 4, {"margin": -1.0}), "`margin`"),
            Bad(lambda: Call((ones((2, D)),) * 4, {"margin2": -1.0}), "`margin2`"),
            Bad(lambda: Call((ones((2, D)),) * 4, {"distance": "l3"}), "`distance`"),
            Bad(lambda: Call((ones((2, D)),) * 4, {"distance": "cityblock"}), "`distance`"),
            *_reduction_bads(4),
        ),
    ),
]
