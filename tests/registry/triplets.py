"""Registry entries for jaxloss.triplets."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case
from tests.registry._embedding_inputs import (
    D,
    vectors,
)

CASES = [
    Case(
        "triplet_margin_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 3)),
        grad_argnums=(0, 1, 2),
        edge_cases=(
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.zeros((2, D)))),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": 1}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": 3, "swap": True}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": jnp.inf}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"soft": True, "eps": 0.0}),
            lambda: Call((jnp.zeros((2, D)),) * 3, {"distance": "cosine"}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"distance": "euclidean"}),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones((2, 1)))), "Shapes"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 3, {"margin": -1.0}), "`margin`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 3, {"norm_degree": 0.5}), "`norm_degree`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 3, {"distance": "l3"}), "`distance`"),
            Bad(lambda: Call((jnp.ones((2, D), jnp.int32),) * 3), "`anchors`"),
        ),
    ),
    Case(
        "quadruplet_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 4)),
        grad_argnums=(0, 1, 2, 3),
        edge_cases=(
            lambda: Call((jnp.ones((2, D)),) * 4),
            lambda: Call((jnp.zeros((2, D)),) * 4, {"distance": "euclidean"}),
            lambda: Call((jnp.zeros((2, D)),) * 4, {"distance": "cosine"}),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)),) * 3 + (jnp.ones((3, D)),)), "Shapes"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 4, {"margin": -1.0}), "`margin`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 4, {"margin2": -1.0}), "`margin2`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 4, {"distance": "l3"}), "`distance`"),
        ),
    ),
]
