"""Inputs, edge cases and malformed calls shared by the registries of
jaxloss.pair_weighting and jaxloss.pair_ranking. No ``CASES`` here."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, on_device, ones, stacked, zeros
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    MINING_BAD,
    PADDED,
    THREE_CLASSES,
    TWO_CLASSES,
    D,
)

# Edge cases shared by the pair-weighting losses (values and gradients finite and right).
EDGES = (
    # 0: one batch each (`stacked`): collapsed embeddings, duplicated embeddings, a class with
    # one example, classes absent from the batch (ids 0, 1, 3, 4)
    stacked(
        lambda: Call((COLLAPSED, TWO_CLASSES)),
        lambda: Call((DUPLICATED, TWO_CLASSES)),
        lambda: Call((DUPLICATED, THREE_CLASSES)),
        lambda: Call((DUPLICATED, on_device([2, 2, 5, 5]))),
    ),
    lambda: Call((DUPLICATED, zeros(4, jnp.int32)), {"reduction": "mean"}),  # 1: one class
    # 2: no positive pair
    lambda: Call((COLLAPSED, on_device(np.arange(4))), {"reduction": "mean"}),
    # 3: a masked-out example (NaN padding) changes nothing.
    lambda: Call(
        (PADDED, on_device([0, 0, 1, 1, 7])),
        {"where": on_device([True, True, True, True, False]), "reduction": "mean"},
    ),
    # 4: every row masked: 0 with zero gradients.
    lambda: Call((PADDED, on_device([0, 0, 1, 1, 7])), {"where": zeros(5, bool)}),
    lambda: Call(  # 5: weighted anchors
        (DUPLICATED, TWO_CLASSES),
        {"weights": on_device([0.0, 1.0, 2.0, 0.5]), "reduction": "sum_and_count"},
    ),
    lambda: Call((on_device(DUPLICATED, jnp.bfloat16), TWO_CLASSES)),  # 6: bfloat16
)
# The edge cases without zero vectors or ties where a loss built on cosines is smooth.
COSINE_SMOOTH = (0, 1, 2, 3, 5)

# `distance` is not an option of these losses (they fix their distance, as PML's defaults).
BAD = tuple(b for b in MINING_BAD if b.match != "`distance`")


def bad(name, value, **extra):
    return Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {name: value, **extra}), f"`{name}`")
