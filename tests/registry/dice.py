"""Registry entries for jaxloss.dice (optax's Dice names; channel-last maps)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, on_device, ones, zeros
from tests.registry._overlap_inputs import (
    ALPHA_BETA,
    CLASS_WEIGHTS,
    MAPS,
    OPTAX_PROBS,
    SMOOTH,
    SMOOTH_EDGES,
    H,
    W,
    bad,
    binary,
    edges,
    empty,
    maps,
)

EDGES = edges(OPTAX_PROBS)

CASES = [
    Case(
        "dice_loss",
        maps,
        # optax parity: `reduction` reduces the class axis ("mean" gives per-example values).
        reduces=False,
        edge_cases=(*EDGES, empty(OPTAX_PROBS, squared=True, batch_dice=True)),
        smooth_at=SMOOTH_EDGES,
        bad_calls=bad(
            extra=(
                *ALPHA_BETA,
                *CLASS_WEIGHTS,
                Bad(lambda: Call(MAPS, {"reduction": "average"}), "`reduction`"),
                # a mean over the class axis has no use for micro-batch pairs
                Bad(lambda: Call(MAPS, {"reduction": "sum_and_count"}), "`reduction`"),
                Bad(lambda: Call(MAPS, {"apply_softmax": "yes"}), "`apply_softmax`"),
                Bad(lambda: Call(MAPS, {"weights": ones((3,))}), "`weights`"),
            )
        ),
    ),
    Case(
        "binary_dice_loss",
        binary,
        edge_cases=(
            lambda: Call((zeros((2, H, W)), zeros((2, H, W))), {"apply_sigmoid": False}),
            lambda: Call((full((1, 1, 1), 30.0), ones((1, 1, 1)))),
            lambda: Call((zeros((2, H, W), jnp.bfloat16), ones((2, H, W), jnp.bfloat16))),
            # batch Dice: one value
            lambda: Call(
                (zeros((2, H, W)), on_device(np.stack([np.eye(H, W)] * 2))), {"batch_dice": True}
            ),
        ),
        smooth_at=(3,),
        bad_calls=(
            Bad(lambda: Call((ones((2, H, W, 2)), ones((2, H, W, 3)))), "`targets`"),
            Bad(lambda: Call((ones((2, H, W)), ones((2, H)))), "`targets`"),
            Bad(lambda: Call((ones((2, H)), ones((2, H))), {"smooth": -1.0}), "`smooth`"),
            Bad(
                lambda: Call((ones((2, H)), ones((2, H))), {"apply_sigmoid": 1}),
                "`apply_sigmoid`",
            ),
        ),
    ),
    Case(
        "multiclass_generalized_dice_loss",
        lambda rng, batch, dtype: maps(rng, batch, dtype, reduction="none"),
        # the class weights are counted over the whole batch
        batched=False,
        edge_cases=EDGES,
        smooth_at=SMOOTH_EDGES,
        bad_calls=bad(extra=SMOOTH),
    ),
]
