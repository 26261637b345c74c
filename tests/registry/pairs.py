"""Registry entries for jaxloss.pairs."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    MINING_BAD,
    PADDED,
    TWO_CLASSES,
    ZEROS,
    D,
    binary,
    mining_call,
    pair_bad,
    signs,
    vectors,
)

# A pair batch whose second pair is NaN and masked out (with weights): finite and right.
NAN_PAIR = jnp.concatenate([jnp.ones((1, D)), jnp.full((1, D), jnp.nan)])
MASK_SECOND = {
    "where": jnp.array([True, False]),
    "weights": jnp.array([2.0, 1.0]),
    "reduction": "mean",
}

CASES = [
    Case(
        "cosine_similarity_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 2)),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.zeros((2, D)), jnp.ones((2, D)))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)))),
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)))),
            lambda: Call((NAN_PAIR, jnp.ones((2, D))), MASK_SECOND),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)),) * 2, {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 2, {"where": jnp.ones(3, bool)}), "`where`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 2, {"weights": -jnp.ones(2)}), "`weights`"),
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
            lambda: Call((NAN_PAIR, jnp.ones((2, D)), jnp.array([1, -1])), MASK_SECOND),
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
            lambda: Call(
                (jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, 0])), {"distance": "manhattan"}
            ),
            lambda: Call(
                (jnp.ones((2, D)), jnp.zeros((2, D)), jnp.array([1, 0])), {"distance": "chebyshev"}
            ),
            lambda: Call((NAN_PAIR, jnp.ones((2, D)), jnp.array([True, False])), MASK_SECOND),
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
            Bad(
                lambda: Call(
                    (jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"distance": "sqeuclidean"}
                ),
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
            lambda: Call(
                (PADDED, jnp.array([0, 0, 1, 1, 0])),
                {"where": jnp.array([True, True, True, True, False]), "reduction": "mean"},
            ),
            lambda: Call(
                (DUPLICATED, TWO_CLASSES),
                {"weights": jnp.array([0.0, 1.0, 2.0, 0.5]), "reduction": "sum_and_count"},
            ),
            # Blockwise (two passes under a custom VJP), a row without negatives included.
            lambda: Call(
                (DUPLICATED, jnp.array([0, 0, 0, 1])), {"method": "blockwise", "block_size": 3}
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"method": "ring"}), "`method`"),
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"block_size": 0}), "`block_size`"),
            *MINING_BAD[:5],
            *MINING_BAD[7:],
            Bad(
                lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"temperature": 0.0}),
                "`temperature`",
            ),
        ),
    ),
]
