"""Registry entries for jaxloss.overlap (channel-last maps [batch..., H, W, C])."""

from tests.registry import Bad, Call, Case
from tests.registry._overlap_inputs import (
    ACTIVATION,
    ALPHA_BETA,
    CLASS_WEIGHTS,
    MAPS,
    PROBS,
    SMOOTH,
    SMOOTH_EDGES,
    background,
    bad,
    edges,
    empty,
    labels,
    maps,
    multilabel,
    perfect,
    saturated_sigmoid,
)

EDGES = (*edges(PROBS), saturated_sigmoid(activation="sigmoid"))
SMOOTH_AT = (*SMOOTH_EDGES, len(EDGES) - 1)

CASES = [
    Case(
        "dice_coefficient",
        maps,
        edge_cases=(*EDGES, saturated_sigmoid(activation="sigmoid", smooth=0.0)),
        smooth_at=(*SMOOTH_AT, len(EDGES)),
        bad_calls=bad(extra=CLASS_WEIGHTS + SMOOTH + ACTIVATION),
    ),
    Case(
        "generalized_dice_loss",
        labels,
        edge_cases=(
            *EDGES,
            empty(PROBS, batch_dice=True),
            background(weight_type="simple"),
            background(batch_dice=True),
        ),
        smooth_at=(*SMOOTH_AT, len(EDGES) + 1, len(EDGES) + 2),
        bad_calls=bad(
            extra=(Bad(lambda: Call(MAPS, {"weight_type": "x"}), "`weight_type`"), *ACTIVATION)
        ),
    ),
    Case(
        "tversky_loss",
        lambda rng, batch, dtype: multilabel(
            rng, batch, dtype, alpha=0.3, beta=0.7, activation="sigmoid"
        ),
        edge_cases=EDGES,
        smooth_at=SMOOTH_AT,
        bad_calls=bad(extra=ALPHA_BETA + CLASS_WEIGHTS + ACTIVATION),
    ),
    Case(
        "focal_tversky_loss",
        labels,
        edge_cases=(*EDGES, perfect(PROBS, gamma=0.5)),
        smooth_at=SMOOTH_AT,
        bad_calls=bad(
            extra=(*ALPHA_BETA, Bad(lambda: Call(MAPS, {"gamma": 0.0}), "`gamma`"), *ACTIVATION),
        ),
    ),
    Case(
        "iou_loss",
        lambda rng, batch, dtype: maps(rng, batch, dtype, squared=True),
        edge_cases=EDGES,
        smooth_at=SMOOTH_AT,
        bad_calls=bad(extra=SMOOTH + CLASS_WEIGHTS + ACTIVATION),
    ),
]
