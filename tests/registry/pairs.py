"""Registry entries for jaxloss.pairs."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    MINING_BAD,
    TWO_CLASSES,
    ZEROS,
    D,
    binary,
    mining_call,
    pair_bad,
    signs,
    vectors,
)

CASES = [
    Case(
        "cosine_similarity_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 2)),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.zeros((2, D)), jnp.ones((2, D)))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)))),
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)))),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)))), "Shapes"),
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"eps": 0.0}), "`eps`"),
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"axis": 2}), "`axis`"),
        ),
    ),
    Case(
        "cosine_embedding_loss",
        lambda rng, batch, dtype: Call((*vectors(rng, batch, dtype, 2), signs(rng, batch))),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.zeros((2, D)), jnp.ones((2, D)), jnp.array([1, -1]))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)), jnp.array([1, -1]))),
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, -1]))),
        ),
        bad_calls=(
            *pair_bad("x1", jnp.ones((2,))),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"margin": 1.5}),
                "`margin`",
            ),
        ),
    ),
    Case(
        "contrastive_loss",
        lambda rng, batch, dtype: Call((*vectors(rng, batch, dtype, 2), binary(rng, batch))),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, 0]))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)), jnp.array([1, 0]))),
            lambda: Call(
                (jnp.zeros((2, D)), jnp.ones((2, D)), jnp.array([1, 0])), {"distance": "cosine"}
            ),
            lambda: Call(
                (jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, 0])),
                {"distance": "squared_euclidean", "reduction": "mean"},
            ),
        ),
        bad_calls=(
            *pair_bad("x1", jnp.ones((2,))),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"margin": -1.0}),
                "`margin`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"distance": "l7"}),
                "`distance`",
            ),
        ),
    ),
    Case(
        "ntxent",
        lambda rng, batch, dtype: mining_call(rng, batch, dtype, reduction="none"),
        edge_cases=(
            lambda: Call((ZEROS, TWO_CLASSES)),
            lambda: Call((COLLAPSED, TWO_CLASSES)),
            lambda: Call((DUPLICATED, TWO_CLASSES)),
            lambda: Call((COLLAPSED, jnp.arange(4))),  # no positive pair
            lambda: Call((DUPLICATED, jnp.zeros(4, jnp.int32))),  # no negative
            lambda: Call((jnp.ones((1, D)), jnp.zeros(1, jnp.int32))),  # B = 1
            lambda: Call((1e3 * DUPLICATED, TWO_CLASSES), {"temperature": 1e-3}),
        ),
        bad_calls=(
            *MINING_BAD[:5],
            Bad(
                lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"temperature": 0.0}),
                "`temperature`",
            ),
        ),
    ),
]
