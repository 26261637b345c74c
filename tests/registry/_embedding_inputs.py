"""Inputs, edge cases and malformed calls shared by the embedding families' registries
(pairs, triplets, mining). No ``CASES`` here."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, full, normal, on_device, ones, stacked, zeros

D = 3


def vectors(rng, batch, dtype, count):
    return tuple(normal(rng, (*batch, D), dtype) for _ in range(count))


def signs(rng, batch):
    return on_device(rng.choice([-1, 1], batch), jnp.int32)


def binary(rng, batch):
    return on_device(rng.integers(0, 2, batch), jnp.int32)


def mining_labels(rng, batch):
    """Each row a random permutation of 0, 1, 0, 1, ...: positives and negatives for most."""
    size = batch[-1]
    rows = int(np.prod(batch[:-1], dtype=int))
    labels = np.stack([rng.permutation(np.arange(size) % 2) for _ in range(rows)])
    return on_device(labels.reshape(batch), jnp.int32)


def mining_call(rng, batch, dtype, **kwargs):
    return Call((normal(rng, (*batch, D), dtype), mining_labels(rng, batch)), kwargs)


# Singular configurations shared by the mining losses (values and gradients must be finite),
# built by numpy and transferred (no XLA program; tests/registry/__init__.py).
_DUPLICATED = np.array([[1.0, 2.0, 0.0], [1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 0.0]])
COLLAPSED = ones((4, D))
DUPLICATED = on_device(_DUPLICATED)
ZEROS = zeros((4, D))
TWO_CLASSES = on_device([0, 0, 1, 1])
THREE_CLASSES = on_device([0, 0, 1, 2])
PADDED = on_device(np.concatenate([_DUPLICATED, np.full((1, D), np.nan)]))

MINING_EDGES = (
    # Collapsed and duplicated embeddings under three labelings, one batch each (`stacked`).
    stacked(
        lambda: Call((COLLAPSED, TWO_CLASSES)),
        lambda: Call((DUPLICATED, TWO_CLASSES)),
        lambda: Call((DUPLICATED, on_device([0, 1, 0, 1]))),
        lambda: Call((DUPLICATED, THREE_CLASSES)),
    ),
    lambda: Call((COLLAPSED, on_device(np.arange(4))), {"reduction": "mean"}),  # no positive pair
    lambda: Call((DUPLICATED, zeros(4, jnp.int32)), {"reduction": "mean"}),  # no negative
    lambda: Call((ones((1, D)), zeros(1, jnp.int32)), {"reduction": "mean"}),  # B = 1
    lambda: Call((ZEROS, TWO_CLASSES), {"distance": "cosine"}),
    lambda: Call((DUPLICATED, TWO_CLASSES), {"distance": "squared_euclidean"}),
    lambda: Call((DUPLICATED, THREE_CLASSES), {"distance": "manhattan"}),
    lambda: Call((COLLAPSED, TWO_CLASSES), {"distance": "chebyshev"}),
    # A masked-out example (NaN padding) changes nothing; weighted anchors.
    lambda: Call(
        (PADDED, on_device([0, 0, 1, 1, 7])),
        {"where": on_device([True, True, True, True, False]), "reduction": "mean"},
    ),
    lambda: Call(
        (DUPLICATED, TWO_CLASSES),
        {"weights": on_device([0.0, 1.0, 2.0, 0.5]), "reduction": "sum_and_count"},
    ),
)

MINING_BAD = (
    Bad(lambda: Call((ones((4, D)), zeros((4, 1), jnp.int32))), "`labels`"),
    Bad(lambda: Call((ones((4, D)), zeros((3,), jnp.int32))), "`labels`"),
    Bad(lambda: Call((ones((4, D)), zeros((4,)))), "`labels`"),
    Bad(lambda: Call((ones((4,)), zeros((4,), jnp.int32))), "`embeddings`"),
    Bad(lambda: Call((ones((4, D), jnp.int32), zeros((4,), jnp.int32))), "`embeddings`"),
    # scipy's spellings are `pairwise_distances`'s `metric`, not a loss's `distance`.
    Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"distance": "cityblock"}), "`distance`"),
    Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"distance": "sqeuclidean"}), "`distance`"),
    Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"reduction": "avg"}), "`reduction`"),
    Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"where": ones(3, bool)}), "`where`"),
    Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"where": ones(4)}), "`where`"),
    Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"weights": full(4, -1.0)}), "`weights`"),
)


def margin_bad(name="margin"):
    return Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {name: -0.5}), f"`{name}`")


def pair_bad(first, labels_ok):
    return (
        Bad(
            lambda: Call((ones((2, D)), ones((2, D)), labels_ok), {"reduction": "avg"}),
            "`reduction`",
        ),
        Bad(
            lambda: Call((ones((2, D)), ones((2, D)), labels_ok), {"where": ones(3, bool)}),
            "`where`",
        ),
        Bad(
            lambda: Call((ones((2, D)), ones((2, D)), labels_ok), {"weights": full(2, -1.0)}),
            "`weights`",
        ),
        Bad(lambda: Call((ones((2, D)), ones((2, D + 1)), labels_ok)), "Shapes"),
        Bad(lambda: Call((ones((2, D)), ones((2, D)), ones((3,)))), "`labels`"),
        Bad(
            lambda: Call((ones((2, D), jnp.int32), ones((2, D)), labels_ok)),
            f"`{first}`",
        ),
    )
