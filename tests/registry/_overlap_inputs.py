"""Inputs, edge cases and malformed calls shared by the overlap families' registries (dice,
overlap, compound): channel-last maps ``[batch..., H, W, C]``. No ``CASES`` here."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, integers, normal, on_device, ones, zeros

H, W, C = 3, 3, 3
SPATIAL = (-3, -2)  # the H, W axes of [batch..., H, W, C]

# How each function is told that its inputs are probabilities.
PROBS = {"activation": None}
OPTAX_PROBS = {"apply_softmax": False}


def onehot(rng, batch, dtype, classes=C):
    """``jax.nn.one_hot`` of random labels, built by numpy: no XLA program."""
    drawn = rng.integers(0, classes, (*batch, H, W))  # as `integers` draws them
    return on_device(drawn[..., None] == np.arange(classes), dtype)


def maps(rng, batch, dtype, **kwargs):
    logits = normal(rng, (*batch, H, W, C), dtype)
    return Call((logits, onehot(rng, batch, dtype)), {"axis": SPATIAL, **kwargs})


def labels(rng, batch, dtype, **kwargs):
    logits = normal(rng, (*batch, H, W, C), dtype)
    return Call((logits, integers(rng, (*batch, H, W), C)), {"axis": SPATIAL, **kwargs})


def multilabel(rng, batch, dtype, **kwargs):
    """Independent binary channels (several may be on): the sigmoid mode."""
    logits = normal(rng, (*batch, H, W, C), dtype)
    targets = on_device(rng.integers(0, 2, (*batch, H, W, C)), dtype)
    return Call((logits, targets), {"axis": SPATIAL, **kwargs})


def binary(rng, batch, dtype):
    logits = normal(rng, (*batch, H, W), dtype)
    targets = on_device(rng.integers(0, 2, (*batch, H, W)), dtype)
    return Call((logits, targets), {"axis": SPATIAL})


def empty(probs, **kwargs):
    """Empty prediction and empty target (probabilities all 0)."""
    return lambda: Call((zeros((2, H, W, C)), zeros((2, H, W, C))), {**probs, **kwargs})


def background(**kwargs):
    """Every pixel is background (class 0): the other classes are absent."""
    return lambda: Call(
        (normal(np.random.default_rng(0), (2, H, W, C), jnp.float32), zeros((2, H, W), int)),
        kwargs,
    )


def single_pixel(**kwargs):
    return lambda: Call(
        (on_device([[[[3.0, -2.0, 0.5]]]]), on_device([[[1]]])), {"axis": (1, 2), **kwargs}
    )


def bfloat16(**kwargs):
    def call():
        rng = np.random.default_rng(1)
        logits = normal(rng, (2, H, W, C), jnp.bfloat16)
        return Call((logits, onehot(rng, (2,), jnp.bfloat16)), kwargs)

    return call


def perfect(probs, **kwargs):
    """Probabilities equal to the one-hot targets: the loss is 0."""
    target = on_device(np.eye(C)[np.array([[[0, 1, 2], [2, 1, 0], [0, 0, 1]]])])  # one-hot
    return lambda: Call((target, target), {**probs, **kwargs})


def confident(**kwargs):
    """A confident pixel, classes 1 and 2 absent: class sums of e^-60 (issue: NaN at smooth=0)."""
    return lambda: Call(
        (on_device([[[[60.0, 0.0, 0.0]]]]), on_device([[[[1.0, 0.0, 0.0]]]])),
        {"axis": (1, 2), **kwargs},
    )


def saturated_sigmoid(**kwargs):
    """Independent channels at logits of +-40, some on, some off (activation="sigmoid")."""
    return lambda: Call(
        (
            on_device([[[[40.0, -40.0, 0.0]], [[-40.0, 40.0, 2.0]]]]),
            on_device([[[[1.0, 0.0, 0.0]], [[0.0, 1.0, 1.0]]]]),
        ),
        {"axis": (1, 2), **kwargs},
    )


def edges(probs):
    """The singular points of every overlap loss; `probs` names its probability flag."""
    return (
        empty(probs),
        empty(probs, smooth=0.0),
        background(),
        single_pixel(),
        bfloat16(),
        perfect(probs),
        confident(smooth=0.0),
    )


# Indices of `edges()` where the losses are smooth (central differences apply).
SMOOTH_EDGES = (2, 3, 6)


def bad(pred="predictions", target="targets", extra=()):
    """Malformed calls shared by the family, then `extra` function-specific ones."""
    maps_ = (ones((2, H, W, C)), ones((2, H, W, C)))
    return (
        # channel mismatch between predictions and targets
        Bad(lambda: Call((ones((2, H, W, 3)), ones((2, H, W, 4)))), f"`{target}`"),
        # wrong ranks
        Bad(lambda: Call((ones((3,)), ones((3,)))), f"`{pred}`"),
        Bad(lambda: Call((ones((2, H, W, 3)), ones((2, W, 3, 1, 1)))), f"`{target}`"),
        Bad(lambda: Call((ones((2, H, W, 3)), ones((2, H), int))), f"`{target}`"),
        # integer predictions
        Bad(lambda: Call((ones((2, H, W, 3), int), ones((2, H, W), int))), f"`{pred}`"),
        # the class axis among the summed axes
        Bad(lambda: Call(maps_, {"axis": -1}), "`axis`"),
        # a per-example mask that does not broadcast to [batch]
        Bad(lambda: Call(maps_, {"where": ones((3,), bool)}), "`where`"),
        *extra,
    )


MAPS = (ones((2, H, W, C)), ones((2, H, W, C)))
ALPHA_BETA = (
    Bad(lambda: Call(MAPS, {"alpha": -0.1}), "`alpha`"),
    Bad(lambda: Call(MAPS, {"beta": -1.0}), "`beta`"),
)
CLASS_WEIGHTS = (Bad(lambda: Call(MAPS, {"class_weights": ones((C + 1,))}), "`class_weights`"),)
SMOOTH = (Bad(lambda: Call(MAPS, {"smooth": -1e-5}), "`smooth`"),)
ACTIVATION = (
    Bad(lambda: Call(MAPS, {"activation": "softplus"}), "`activation`"),
    # the old boolean flag
    Bad(lambda: Call(MAPS, {"activation": True}), "`activation`"),
)
