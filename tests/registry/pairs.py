"""Registry entries for jaxloss.pairs."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, on_device, ones, zeros
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
NAN_PAIR = on_device(np.concatenate([np.ones((1, D)), np.full((1, D), np.nan)]))
MASK_SECOND = {
    "where": on_device([True, False]),
    "weights": on_device([2.0, 1.0]),
    "reduction": "mean",
}

CASES = [
    Case(
        "cosine_similarity_loss",
        lambda rng, batch, dtype: Call(vectors(rng, batch, dtype, 2)),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((zeros((2, D)), ones((2, D)))),
            lambda: Call((zeros((2, D)), zeros((2, D)))),
            lambda: Call((ones((2, D)), ones((2, D)))),
            lambda: Call((NAN_PAIR, ones((2, D))), MASK_SECOND),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, D)),) * 2, {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call((ones((2, D)),) * 2, {"where": ones(3, bool)}), "`where`"),
            Bad(lambda: Call((ones((2, D)),) * 2, {"weights": full(2, -1.0)}), "`weights`"),
            Bad(lambda: Call((ones((2, D)), ones((2, D + 1)))), "Shapes"),
            Bad(lambda: Call((ones((2, D)), ones((2, D))), {"eps": 0.0}), "`eps`"),
            Bad(lambda: Call((ones((2, D)), ones((2, D))), {"axis": 2}), "`axis`"),
        ),
    ),
    Case(
        "cosine_embedding_loss",
        lambda rng, batch, dtype: Call((*vectors(rng, batch, dtype, 2), signs(rng, batch))),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((zeros((2, D)), ones((2, D)), on_device([1, -1]))),
            lambda: Call((zeros((2, D)), zeros((2, D)), on_device([1, -1]))),
            lambda: Call((ones((2, D)), ones((2, D)), on_device([1, -1]))),
            lambda: Call((NAN_PAIR, ones((2, D)), on_device([1, -1])), MASK_SECOND),
        ),
        bad_calls=(
            *pair_bad("x1", ones((2,))),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D)), ones(2)), {"margin": 1.5}),
                "`margin`",
            ),
        ),
    ),
    Case(
        "contrastive_loss",
        lambda rng, batch, dtype: Call((*vectors(rng, batch, dtype, 2), binary(rng, batch))),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((ones((2, D)), ones((2, D)), on_device([1, 0]))),
            lambda: Call((zeros((2, D)), zeros((2, D)), on_device([1, 0]))),
            lambda: Call((zeros((2, D)), ones((2, D)), on_device([1, 0])), {"distance": "cosine"}),
            lambda: Call(
                (ones((2, D)), ones((2, D)), on_device([1, 0])),
                {"distance": "squared_euclidean", "reduction": "mean"},
            ),
            lambda: Call(
                (ones((2, D)), ones((2, D)), on_device([1, 0])), {"distance": "manhattan"}
            ),
            lambda: Call(
                (ones((2, D)), zeros((2, D)), on_device([1, 0])), {"distance": "chebyshev"}
            ),
            lambda: Call((NAN_PAIR, ones((2, D)), on_device([True, False])), MASK_SECOND),
        ),
        bad_calls=(
            *pair_bad("x1", ones((2,))),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D)), ones(2)), {"margin": -1.0}),
                "`margin`",
            ),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D)), ones(2)), {"distance": "l7"}),
                "`distance`",
            ),
            Bad(
                lambda: Call((ones((2, D)), ones((2, D)), ones(2)), {"distance": "sqeuclidean"}),
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
            lambda: Call((COLLAPSED, on_device(np.arange(4)))),  # no positive pair
            lambda: Call((DUPLICATED, zeros(4, jnp.int32))),  # no negative
            lambda: Call((ones((1, D)), zeros(1, jnp.int32))),  # B = 1
            lambda: Call(
                (on_device(1e3 * np.asarray(DUPLICATED)), TWO_CLASSES), {"temperature": 1e-3}
            ),
            lambda: Call(
                (PADDED, on_device([0, 0, 1, 1, 0])),
                {"where": on_device([True, True, True, True, False]), "reduction": "mean"},
            ),
            lambda: Call(
                (DUPLICATED, TWO_CLASSES),
                {"weights": on_device([0.0, 1.0, 2.0, 0.5]), "reduction": "sum_and_count"},
            ),
            # Blockwise (two passes under a custom VJP), a row without negatives included.
            lambda: Call(
                (DUPLICATED, on_device([0, 0, 0, 1])), {"method": "blockwise", "block_size": 3}
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"method": "ring"}), "`method`"),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"block_size": 0}), "`block_size`"),
            *MINING_BAD[:5],
            *MINING_BAD[7:],
            Bad(
                lambda: Call((ones((4, D)), TWO_CLASSES), {"temperature": 0.0}),
                "`temperature`",
            ),
        ),
    ),
]
