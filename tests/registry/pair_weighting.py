"""Registry entries for jaxloss.pair_weighting."""

from tests.registry import Call, Case
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    THREE_CLASSES,
    TWO_CLASSES,
    mining_call,
)
from tests.registry._pair_inputs import BAD, COSINE_SMOOTH, EDGES, bad

CASES = [
    Case(
        "multi_similarity_loss",
        mining_call,
        edge_cases=(
            *EDGES,
            lambda: Call((DUPLICATED, TWO_CLASSES), {"mine": True}),
            lambda: Call((COLLAPSED, THREE_CLASSES), {"mine": True, "reduction": "mean"}),
        ),
        smooth_at=COSINE_SMOOTH,
        bad_calls=(*BAD, bad("alpha", 0.0), bad("beta", -1.0), bad("margin2", -0.1)),
    ),
    Case(
        "circle_loss",
        mining_call,
        edge_cases=(*EDGES, lambda: Call((COLLAPSED, THREE_CLASSES), {"margin": 0.25})),
        # The weights alpha_p, alpha_n are constants of the gradient (paper's code, PML): the
        # gradient is not the derivative of the value; tests/test_pair_weighting.py compares
        # it with PML's.
        surrogate_gradient=True,
        bad_calls=(*BAD, bad("gamma", 0.0)),
    ),
    Case(
        "lifted_structure_loss",
        mining_call,
        edge_cases=(
            *EDGES,
            lambda: Call((DUPLICATED, THREE_CLASSES), {"normalize": False, "margin2": 0.5}),
        ),
        bad_calls=(*BAD, bad("normalize", "yes")),
    ),
    Case(
        "npairs_loss",
        mining_call,
        edge_cases=(*EDGES, lambda: Call((DUPLICATED, THREE_CLASSES), {"normalize": False})),
        smooth_at=(*COSINE_SMOOTH, len(EDGES)),
        bad_calls=(*BAD, bad("normalize", "yes")),
    ),
    Case(
        "angular_loss",
        mining_call,
        edge_cases=(
            *EDGES,
            lambda: Call((DUPLICATED, THREE_CLASSES), {"normalize": "pairs"}),
            lambda: Call((COLLAPSED, TWO_CLASSES), {"alpha": 60.0}),
        ),
        smooth_at=(*COSINE_SMOOTH, len(EDGES), len(EDGES) + 1),
        bad_calls=(*BAD, bad("alpha", 90.0), bad("alpha", 0.0), bad("normalize", False)),
    ),
]
