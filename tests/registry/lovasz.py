"""Registry entries for jaxloss.lovasz (Lovász-Softmax and Lovász hinge, channel-last maps)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, integers, normal, on_device, ones, zeros
from tests.registry._overlap_inputs import (
    ACTIVATION,
    CLASS_WEIGHTS,
    MAPS,
    PROBS,
    SPATIAL,
    C,
    H,
    W,
    background,
    bad,
    bfloat16,
    labels,
    perfect,
    single_pixel,
)

IGNORE = 255


def ignored_labels(rng, batch, dtype, **kwargs):
    """Labels with ignored pixels (about one in four)."""
    call = labels(rng, batch, dtype, **kwargs)
    y = np.asarray(call.args[1])
    y = np.where(rng.uniform(size=y.shape) < 0.25, IGNORE, y)
    return Call((call.args[0], on_device(y, jnp.int32)), {**call.kwargs, "ignore_index": IGNORE})


def _one_ignored_example(**kwargs):
    """Example 0 entirely ignored, example 1 with one class only."""

    def call():
        logits = normal(np.random.default_rng(2), (2, H, W, C), jnp.float32)
        y = np.full((2, H, W), IGNORE)
        y[1] = 1
        return Call((logits, on_device(y, jnp.int32)), {"ignore_index": IGNORE, **kwargs})

    return call


SOFTMAX_EDGES = (
    background(),  # classes 1 and 2 absent ("present": one class)
    background(classes="all"),  # absent classes enter with their largest probability
    single_pixel(),
    bfloat16(),
    perfect(PROBS),  # every error 0: ties everywhere
    _one_ignored_example(),
    lambda: Call((zeros((2, H, W, C)), zeros((2, H, W), int))),  # logits of 0: ties
    lambda: Call(  # saturated logits
        (
            on_device(
                np.where(np.eye(C)[np.arange(H * W) % C] > 0, 50.0, -50.0).reshape(1, H, W, C)
            ),
            on_device(np.arange(H * W).reshape(1, H, W) % C),
        ),
    ),
)

HINGE_MAP = (ones((2, H, W)), ones((2, H, W)))


def hinge_inputs(rng, batch, dtype, **kwargs):
    logits = normal(rng, (*batch, H, W), dtype)
    y = integers(rng, (*batch, H, W), 2)
    return Call((logits, y), {"axis": SPATIAL, **kwargs})


def _hinge(logits, y, **kwargs):
    return lambda: Call((on_device(logits, jnp.float32), on_device(y)), kwargs)


_RNG = np.random.default_rng(5)
_X = _RNG.standard_normal((2, H, W))
_Y = _RNG.integers(0, 2, (2, H, W))
HINGE_EDGES = (
    _hinge(_X, np.zeros((2, H, W), int)),  # empty foreground
    _hinge(_X, np.ones((2, H, W), int)),  # all foreground
    _hinge(np.where(_Y > 0, 1.0, -1.0), _Y),  # every logit at the hinge (errors 0, ties)
    _hinge(1e4 * _X, _Y),  # saturated logits
    _hinge(_X, np.where(_RNG.uniform(size=_Y.shape) < 0.3, IGNORE, _Y), ignore_index=IGNORE),
    _hinge(_X, np.full((2, H, W), IGNORE), ignore_index=IGNORE),  # every pixel ignored
    _hinge(_X[:, :1, :1], _Y[:, :1, :1]),  # one pixel
    lambda: Call((on_device(_X, jnp.bfloat16), on_device(_Y))),
)

CASES = [
    Case(
        "lovasz_softmax_loss",
        ignored_labels,
        edge_cases=SOFTMAX_EDGES,
        # Piecewise linear in the errors: smooth where no two errors of a class tie.
        smooth_at=(0, 1, 2, 5),
        bad_calls=bad(
            extra=(
                *CLASS_WEIGHTS,
                *ACTIVATION,
                Bad(lambda: Call(MAPS, {"classes": "some"}), "`classes`"),
                Bad(lambda: Call(MAPS, {"ignore_index": 255}), "`ignore_index`"),
                Bad(
                    lambda: Call((MAPS[0], ones((2, H, W), int)), {"ignore_index": 1.5}),
                    "`ignore_index`",
                ),
            )
        ),
    ),
    Case(
        "lovasz_hinge_loss",
        hinge_inputs,
        edge_cases=HINGE_EDGES,
        smooth_at=(0, 1, 4, 6),
        bad_calls=(
            Bad(lambda: Call((ones((2, H, W)), ones((2, H, 4)))), "`labels`"),
            Bad(lambda: Call((ones(()), ones(()))), "`logits`"),
            Bad(lambda: Call((ones((2, H, W), int), ones((2, H, W)))), "`logits`"),
            Bad(lambda: Call(HINGE_MAP, {"axis": -1}), "`axis`"),
            Bad(lambda: Call(HINGE_MAP, {"where": ones((3,), bool)}), "`where`"),
            Bad(lambda: Call(HINGE_MAP, {"ignore_index": 255}), "`ignore_index`"),
            Bad(lambda: Call(HINGE_MAP, {"reduction": "max"}), "`reduction`"),
        ),
    ),
]
