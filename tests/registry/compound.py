"""Registry entries for jaxloss.compound (Dice plus BCE, cross-entropy or focal loss)."""

import numpy as np

from tests.registry import Bad, Call, Case, full, on_device, ones, zeros
from tests.registry._overlap_inputs import (
    MAPS,
    C,
    H,
    W,
    background,
    bad,
    bfloat16,
    confident,
    labels,
    maps,
    multilabel,
    saturated_sigmoid,
    single_pixel,
)

EDGES = (
    background(),
    single_pixel(),
    bfloat16(),
    lambda: Call((full((2, H, W, C), 50.0), zeros((2, H, W), int))),
    lambda: Call((zeros((1, H, W, 1)), zeros((1, H, W)))),
    # One channel at logit 0 with both labels (issue: the sigmoid gradient there was wrong).
    lambda: Call((zeros((1, H, W, 1)), on_device(np.eye(H, W)[None]))),
    confident(smooth=0.0),
)
SMOOTH_EDGES = (0, 1, 3, 4, 5, 6)
LAMBDAS = (Bad(lambda: Call(MAPS, {"lambda_dice": -1.0}), "`lambda_dice`"),)

CASES = [
    Case(
        "dice_bce_loss",
        lambda rng, batch, dtype: multilabel(rng, batch, dtype, lambda_bce=0.5),
        edge_cases=(*EDGES, saturated_sigmoid(smooth=0.0)),
        smooth_at=(*SMOOTH_EDGES, len(EDGES)),
        bad_calls=bad(
            "logits",
            "labels",
            extra=(*LAMBDAS, Bad(lambda: Call(MAPS, {"lambda_bce": -1.0}), "`lambda_bce`")),
        ),
    ),
    Case(
        "dice_cross_entropy_loss",
        lambda rng, batch, dtype: labels(
            rng, batch, dtype, class_weights=on_device([0.5, 1.0, 2.0]), lambda_ce=0.7
        ),
        edge_cases=(
            *EDGES,
            lambda: Call(
                (zeros((2, H, W, C)), zeros((2, H, W), int)),
                {"class_weights": on_device([0.0, 1.0, 1.0])},
            ),
        ),
        smooth_at=(*SMOOTH_EDGES, len(EDGES)),
        bad_calls=bad(
            "logits",
            "labels",
            extra=(
                *LAMBDAS,
                Bad(lambda: Call(MAPS, {"lambda_ce": -1.0}), "`lambda_ce`"),
                Bad(lambda: Call(MAPS, {"label_smoothing": 2.0}), "`label_smoothing`"),
            ),
        ),
    ),
    Case(
        "dice_focal_loss",
        lambda rng, batch, dtype: maps(rng, batch, dtype, gamma=1.5, ignore_background=True),
        edge_cases=(
            *EDGES,
            lambda: Call(
                (full((2, H, W, C), 40.0), ones((2, H, W, C))),
                {"activation": "sigmoid", "gamma": 0.5},
            ),
            # MONAI's softmax focal term without the background class (issue: it disagreed).
            confident(ignore_background=True, gamma=0.5, smooth=0.0),
            lambda: Call((zeros((1, H, W, 1)), on_device(np.eye(H, W)[None])), {"gamma": 2.0}),
            saturated_sigmoid(activation="sigmoid", gamma=0.5, smooth=0.0),
        ),
        smooth_at=(
            *SMOOTH_EDGES,
            len(EDGES),
            len(EDGES) + 1,
            len(EDGES) + 2,
            len(EDGES) + 3,
        ),
        bad_calls=bad(
            "logits",
            "labels",
            extra=(
                *LAMBDAS,
                Bad(lambda: Call(MAPS, {"lambda_focal": -1.0}), "`lambda_focal`"),
                Bad(lambda: Call(MAPS, {"gamma": -1.0}), "`gamma`"),
                # the focal term needs logits
                Bad(lambda: Call(MAPS, {"activation": None}), "`activation`"),
                Bad(lambda: Call(MAPS, {"activation": True}), "`activation`"),
            ),
        ),
    ),
]
