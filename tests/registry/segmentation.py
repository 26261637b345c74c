"""Registry entries for jaxloss.segmentation (channel-last maps [batch..., H, W, C])."""

import jax
import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, integers, normal

H, W, C = 3, 3, 3
SPATIAL = (-3, -2)  # the H, W axes of [batch..., H, W, C]


def _onehot(rng, batch, dtype, classes=C):
    return jax.nn.one_hot(integers(rng, (*batch, H, W), classes), classes, dtype=dtype)


def _maps(rng, batch, dtype, **kwargs):
    logits = normal(rng, (*batch, H, W, C), dtype)
    return Call((logits, _onehot(rng, batch, dtype)), {"axis": SPATIAL, **kwargs})


def _labels(rng, batch, dtype, **kwargs):
    logits = normal(rng, (*batch, H, W, C), dtype)
    return Call((logits, integers(rng, (*batch, H, W), C)), {"axis": SPATIAL, **kwargs})


def _binary(rng, batch, dtype):
    logits = normal(rng, (*batch, H, W), dtype)
    targets = jnp.asarray(rng.integers(0, 2, (*batch, H, W)), dtype)
    return Call((logits, targets), {"axis": SPATIAL})


def _empty(**kwargs):
    """Empty prediction and empty target (probabilities all 0)."""
    return lambda: Call(
        (jnp.zeros((2, H, W, C)), jnp.zeros((2, H, W, C))), {"apply_softmax": False, **kwargs}
    )


def _background(**kwargs):
    """Every pixel is background (class 0): the other classes are absent."""
    return lambda: Call(
        (normal(np.random.default_rng(0), (2, H, W, C), jnp.float32), jnp.zeros((2, H, W), int)),
        kwargs,
    )


def _single_pixel(**kwargs):
    return lambda: Call(
        (jnp.array([[[[3.0, -2.0, 0.5]]]]), jnp.array([[[1]]])), {"axis": (1, 2), **kwargs}
    )


def _bfloat16(**kwargs):
    def call():
        rng = np.random.default_rng(1)
        logits = normal(rng, (2, H, W, C), jnp.bfloat16)
        return Call((logits, _onehot(rng, (2,), jnp.bfloat16)), kwargs)

    return call


def _perfect(**kwargs):
    """Probabilities equal to the one-hot targets: the loss is 0."""
    onehot = jax.nn.one_hot(jnp.array([[[0, 1, 2], [2, 1, 0], [0, 0, 1]]]), C)
    return lambda: Call((onehot, onehot), {"apply_softmax": False, **kwargs})


def _confident(**kwargs):
    """A confident pixel, classes 1 and 2 absent: class sums of e^-60 (issue: NaN at smooth=0)."""
    return lambda: Call(
        (jnp.array([[[[60.0, 0.0, 0.0]]]]), jnp.array([[[[1.0, 0.0, 0.0]]]])),
        {"axis": (1, 2), **kwargs},
    )


EDGES = (
    _empty(),
    _empty(smooth=0.0),
    _background(),
    _single_pixel(),
    _bfloat16(),
    _perfect(),
    _confident(smooth=0.0),
)
# Indices of EDGES where the losses are smooth (central differences apply).
SMOOTH_EDGES = (2, 3, 6)


def _bad(pred="predictions", target="targets", extra=()):
    """Malformed calls shared by the family, then `extra` function-specific ones."""
    maps = (jnp.ones((2, H, W, C)), jnp.ones((2, H, W, C)))
    return (
        # channel mismatch between predictions and targets
        Bad(lambda: Call((jnp.ones((2, H, W, 3)), jnp.ones((2, H, W, 4)))), f"`{target}`"),
        # wrong ranks
        Bad(lambda: Call((jnp.ones((3,)), jnp.ones((3,)))), f"`{pred}`"),
        Bad(lambda: Call((jnp.ones((2, H, W, 3)), jnp.ones((2, W, 3, 1, 1)))), f"`{target}`"),
        Bad(lambda: Call((jnp.ones((2, H, W, 3)), jnp.ones((2, H), int))), f"`{target}`"),
        # integer predictions
        Bad(lambda: Call((jnp.ones((2, H, W, 3), int), jnp.ones((2, H, W), int))), f"`{pred}`"),
        # the class axis among the summed axes
        Bad(lambda: Call(maps, {"axis": -1}), "`axis`"),
        *extra,
    )


_MAPS = (jnp.ones((2, H, W, C)), jnp.ones((2, H, W, C)))
ALPHA_BETA = (
    Bad(lambda: Call(_MAPS, {"alpha": -0.1}), "`alpha`"),
    Bad(lambda: Call(_MAPS, {"beta": -1.0}), "`beta`"),
)
CLASS_WEIGHTS = (
    Bad(lambda: Call(_MAPS, {"class_weights": jnp.ones((C + 1,))}), "`class_weights`"),
)
SMOOTH = (Bad(lambda: Call(_MAPS, {"smooth": -1e-5}), "`smooth`"),)


def _combined(rng, batch, dtype, **kwargs):
    return _labels(rng, batch, dtype, **kwargs)


COMBINED_EDGES = (
    _background(),
    _single_pixel(),
    _bfloat16(),
    lambda: Call((jnp.full((2, H, W, C), 50.0), jnp.zeros((2, H, W), int))),
    lambda: Call((jnp.zeros((1, H, W, 1)), jnp.zeros((1, H, W)))),
    # One channel at logit 0 with both labels (issue: the sigmoid gradient there was wrong).
    lambda: Call((jnp.zeros((1, H, W, 1)), jnp.asarray(np.eye(H, W)[None]))),
    _confident(smooth=0.0),
)
SMOOTH_COMBINED = (0, 1, 3, 4, 5, 6)

CASES = [
    Case(
        "dice_coefficient",
        _maps,
        edge_cases=EDGES,
        smooth_at=SMOOTH_EDGES,
        bad_calls=_bad(extra=ALPHA_BETA + CLASS_WEIGHTS + SMOOTH),
    ),
    Case(
        "dice_loss",
        _maps,
        # optax parity: `reduction` reduces the class axis ("mean" gives per-example values).
        reduces=False,
        edge_cases=(*EDGES, _empty(squared=True, batch_dice=True)),
        smooth_at=SMOOTH_EDGES,
        bad_calls=_bad(
            extra=(
                *ALPHA_BETA,
                *CLASS_WEIGHTS,
                Bad(lambda: Call(_MAPS, {"reduction": "average"}), "`reduction`"),
            )
        ),
    ),
    Case(
        "binary_dice_loss",
        _binary,
        edge_cases=(
            lambda: Call((jnp.zeros((2, H, W)), jnp.zeros((2, H, W))), {"apply_sigmoid": False}),
            lambda: Call((jnp.full((1, 1, 1), 30.0), jnp.ones((1, 1, 1)))),
            lambda: Call((jnp.zeros((2, H, W), jnp.bfloat16), jnp.ones((2, H, W), jnp.bfloat16))),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, H, W, 2)), jnp.ones((2, H, W, 3)))), "`targets`"),
            Bad(lambda: Call((jnp.ones((2, H, W)), jnp.ones((2, H)))), "`targets`"),
            Bad(lambda: Call((jnp.ones((2, H)), jnp.ones((2, H))), {"smooth": -1.0}), "`smooth`"),
        ),
    ),
    Case(
        "multiclass_generalized_dice_loss",
        lambda rng, batch, dtype: _maps(rng, batch, dtype, reduction="none"),
        # the class weights are counted over the whole batch
        batched=False,
        edge_cases=EDGES,
        smooth_at=SMOOTH_EDGES,
        bad_calls=_bad(extra=SMOOTH),
    ),
    Case(
        "generalized_dice_loss",
        _labels,
        edge_cases=(
            *EDGES,
            _empty(batch_dice=True),
            _background(weight_type="simple"),
            _background(batch_dice=True),
        ),
        smooth_at=(*SMOOTH_EDGES, len(EDGES) + 1, len(EDGES) + 2),
        bad_calls=_bad(extra=(Bad(lambda: Call(_MAPS, {"weight_type": "x"}), "`weight_type`"),)),
    ),
    Case(
        "tversky_loss",
        lambda rng, batch, dtype: _maps(rng, batch, dtype, alpha=0.3, beta=0.7),
        edge_cases=EDGES,
        smooth_at=SMOOTH_EDGES,
        bad_calls=_bad(extra=ALPHA_BETA + CLASS_WEIGHTS),
    ),
    Case(
        "focal_tversky_loss",
        _labels,
        edge_cases=(*EDGES, _perfect(gamma=0.5)),
        smooth_at=SMOOTH_EDGES,
        bad_calls=_bad(
            extra=(*ALPHA_BETA, Bad(lambda: Call(_MAPS, {"gamma": 0.0}), "`gamma`")),
        ),
    ),
    Case(
        "iou_loss",
        lambda rng, batch, dtype: _maps(rng, batch, dtype, squared=True),
        edge_cases=EDGES,
        smooth_at=SMOOTH_EDGES,
        bad_calls=_bad(extra=SMOOTH + CLASS_WEIGHTS),
    ),
    Case(
        "dice_bce_loss",
        lambda rng, batch, dtype: _maps(rng, batch, dtype, lambda_bce=0.5),
        edge_cases=COMBINED_EDGES,
        smooth_at=SMOOTH_COMBINED,
        bad_calls=_bad(
            "logits",
            "labels",
            extra=(
                Bad(lambda: Call(_MAPS, {"lambda_dice": -1.0}), "`lambda_dice`"),
                Bad(lambda: Call(_MAPS, {"lambda_bce": -1.0}), "`lambda_bce`"),
            ),
        ),
    ),
    Case(
        "dice_cross_entropy_loss",
        lambda rng, batch, dtype: _labels(
            rng, batch, dtype, class_weights=jnp.array([0.5, 1.0, 2.0]), lambda_ce=0.7
        ),
        edge_cases=(
            *COMBINED_EDGES,
            lambda: Call(
                (jnp.zeros((2, H, W, C)), jnp.zeros((2, H, W), int)),
                {"class_weights": jnp.array([0.0, 1.0, 1.0])},
            ),
        ),
        smooth_at=(*SMOOTH_COMBINED, len(COMBINED_EDGES)),
        bad_calls=_bad(
            "logits",
            "labels",
            extra=(
                Bad(lambda: Call(_MAPS, {"lambda_ce": -1.0}), "`lambda_ce`"),
                Bad(lambda: Call(_MAPS, {"label_smoothing": 2.0}), "`label_smoothing`"),
            ),
        ),
    ),
    Case(
        "dice_focal_loss",
        lambda rng, batch, dtype: _maps(rng, batch, dtype, gamma=1.5, ignore_background=True),
        edge_cases=(
            *COMBINED_EDGES,
            lambda: Call(
                (jnp.full((2, H, W, C), 40.0), jnp.ones((2, H, W, C))),
                {"sigmoid": True, "gamma": 0.5},
            ),
            # MONAI's softmax focal term without the background class (issue: it disagreed).
            _confident(ignore_background=True, gamma=0.5, smooth=0.0),
            lambda: Call(
                (jnp.zeros((1, H, W, 1)), jnp.asarray(np.eye(H, W)[None])), {"gamma": 2.0}
            ),
        ),
        smooth_at=(
            *SMOOTH_COMBINED,
            len(COMBINED_EDGES),
            len(COMBINED_EDGES) + 1,
            len(COMBINED_EDGES) + 2,
        ),
        bad_calls=_bad(
            "logits",
            "labels",
            extra=(
                Bad(lambda: Call(_MAPS, {"lambda_focal": -1.0}), "`lambda_focal`"),
                Bad(lambda: Call(_MAPS, {"gamma": -1.0}), "`gamma`"),
            ),
        ),
    ),
]
