"""Registry entries for jaxloss.mining."""

from tests.registry import Bad, Call, Case, on_device, ones
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    MINING_BAD,
    MINING_EDGES,
    TWO_CLASSES,
    D,
    margin_bad,
    mining_call,
)

CASES = [
    Case(
        "batch_all_triplet_loss",
        mining_call,
        edge_cases=(
            *MINING_EDGES,
            lambda: Call((DUPLICATED, TWO_CLASSES), {"mean_over": "valid", "margin": 0.0}),
        ),
        bad_calls=(
            *MINING_BAD,
            margin_bad(),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"mean_over": "x"}), "`mean_over`"),
        ),
    ),
    Case(
        "batch_hard_triplet_loss",
        mining_call,
        edge_cases=(*MINING_EDGES, lambda: Call((COLLAPSED, TWO_CLASSES), {"soft": True})),
        bad_calls=(*MINING_BAD, margin_bad()),
    ),
    Case(
        "semihard_triplet_loss",
        mining_call,
        edge_cases=MINING_EDGES,
        bad_calls=(*MINING_BAD, margin_bad()),
    ),
    Case(
        "batch_hard_quadruplet_loss",
        mining_call,
        edge_cases=(
            *MINING_EDGES,
            lambda: Call((COLLAPSED, on_device([0, 0, 1, 2])), {"distance": "euclidean"}),
        ),
        bad_calls=(*MINING_BAD, margin_bad(), margin_bad("margin2")),
    ),
]
