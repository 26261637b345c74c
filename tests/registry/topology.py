"""Registry entries for jaxloss.topology (clDice and the Hausdorff distance-transform loss;
channel-last maps [batch..., H, W, C]).

The random maps keep every compared value apart: the soft skeletons take minima and maxima of
neighbouring probabilities and the Hausdorff loss thresholds them at 0.5, so each example's
channel holds a permutation of well-spaced logits (sigmoid probabilities at least 0.02 apart,
none within 0.03 of 0.5) and the gradient checks never straddle a tie or the threshold.
"""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, integers, on_device, ones, zeros
from tests.registry._overlap_inputs import bad

H, W = 4, 4
SPATIAL = (-3, -2)  # the H, W axes of [batch..., H, W, C]
GRID = np.linspace(-2.0, 2.0, H * W)  # no logit within 0.13 of 0


def spaced_logits(rng, batch, channels, dtype):
    """``[*batch, H, W, channels]``: each example's channel a permutation of `GRID`."""
    n = int(np.prod(batch, dtype=int)) * channels
    grids = np.stack([rng.permutation(GRID) for _ in range(n)])  # [n, H * W]
    grids = grids.reshape(*batch, channels, H, W)
    return on_device(np.moveaxis(grids, -3, -1), dtype)


def multilabel(rng, batch, dtype, **kwargs):
    """Independent channels (sigmoid), 0/1 targets."""
    logits = spaced_logits(rng, batch, 2, dtype)
    targets = on_device(rng.integers(0, 2, (*batch, H, W, 2)), dtype)
    return Call((logits, targets), {"axis": SPATIAL, "activation": "sigmoid", **kwargs})


def two_classes(rng, batch, dtype, **kwargs):
    """Softmax over [0, x]: class 1's probability is sigmoid(x), spaced as the logits."""
    x = np.asarray(spaced_logits(rng, batch, 1, dtype))  # its host copy: numpy concatenates
    logits = on_device(np.concatenate([np.zeros_like(x), x], axis=-1))
    return Call((logits, integers(rng, (*batch, H, W), 2)), {"axis": SPATIAL, **kwargs})


def probabilities_at(*points, channels=2, host=False):
    """[1, H, W, channels] one-hot probabilities: class 1 at `points`, class 0 elsewhere
    (with `host`, the numpy array, not transferred)."""
    labels = np.zeros((1, H, W), int)
    for i, j in points:
        labels[0, i, j] = 1
    probabilities = np.eye(channels)[labels]
    return probabilities if host else on_device(probabilities)


def one_pixel_and_absent(**kwargs):
    """Two examples, spaced logits: a one-pixel target, and a target without class 1."""

    def call():
        logits = two_classes(np.random.default_rng(1), (2,), jnp.float32).args[0]
        targets = np.concatenate([probabilities_at((1, 2), host=True), probabilities_at(host=True)])
        targets = on_device(targets)
        return Call((logits, targets), kwargs)

    return call


def empty(**kwargs):
    """Empty prediction and empty target (probabilities all 0)."""
    return lambda: Call((zeros((2, H, W, 2)), zeros((2, H, W, 2))), {"activation": None, **kwargs})


def empty_and_apart(**kwargs):
    """Probabilities at smooth = eps = 0, two examples: empty prediction and target (both
    clDice ratios 0 / 0, ties everywhere), and prediction and target in disjoint columns
    (both ratios 0, the harmonic mean 0 / 0)."""
    left = probabilities_at(*((i, 0) for i in range(H)), host=True)
    right = probabilities_at(*((i, 3) for i in range(H)), host=True)
    nothing = np.zeros((1, H, W, 2))
    predictions = on_device(np.concatenate([nothing, left]))
    targets = on_device(np.concatenate([nothing, right]))
    return lambda: Call(
        (predictions, targets),
        {"activation": None, "smooth": 0.0, "eps": 0.0, **kwargs},
    )


def full_target(**kwargs):
    """Class 1 everywhere in the target: no boundary, distance 0; spaced logits."""

    def call():
        logits = two_classes(np.random.default_rng(3), (1,), jnp.float32).args[0]
        return Call((logits, ones((1, H, W), int)), kwargs)

    return call


def at_threshold(**kwargs):
    """Probabilities of exactly 0.5 (logit 0) next to saturated ones (logit 40, a
    probability of exactly 1 in float32): the threshold."""
    logits, target = np.zeros((1, H, W, 1)), np.zeros((1, H, W))  # built by numpy
    logits[0, :2, :, 0], target[0, 1:3, 1:3] = 40.0, 1.0
    logits, target = on_device(logits), on_device(target)
    return lambda: Call((logits, target), {"activation": "sigmoid", **kwargs})


MAPS = (ones((2, H, W, 2)), ones((2, H, W, 2)))
ITERATIONS = (
    Bad(lambda: Call(MAPS, {"iterations": -1}), "`iterations`"),
    Bad(lambda: Call(MAPS, {"iterations": 2.0}), "`iterations`"),
    Bad(lambda: Call(MAPS, {"iterations": True}), "`iterations`"),
    Bad(lambda: Call(MAPS, {"smooth": -1.0}), "`smooth`"),
    Bad(lambda: Call(MAPS, {"eps": -1e-4}), "`eps`"),
)
COMMON = (
    Bad(lambda: Call(MAPS, {"activation": "softplus"}), "`activation`"),
    # no spatial axis: [batch, C]
    Bad(lambda: Call((ones((2, 3)), ones((2, 3)))), "`predictions`"),
)

CASES = [
    Case(
        "soft_cldice_loss",
        lambda rng, batch, dtype: multilabel(rng, batch, dtype, iterations=2),
        edge_cases=(one_pixel_and_absent(ignore_background=True), empty_and_apart()),
        smooth_at=(0,),
        bad_calls=bad(extra=(*ITERATIONS, *COMMON)),
    ),
    Case(
        "soft_dice_cldice_loss",
        lambda rng, batch, dtype: two_classes(rng, batch, dtype, alpha=0.3, iterations=1),
        edge_cases=(one_pixel_and_absent(iterations=1, smooth=0.0), empty(iterations=1)),
        smooth_at=(0,),
        bad_calls=bad(
            extra=(
                *ITERATIONS,
                *COMMON,
                Bad(lambda: Call(MAPS, {"alpha": 1.5}), "`alpha`"),
            )
        ),
    ),
    Case(
        "hausdorff_dt_loss",
        two_classes,
        edge_cases=(
            one_pixel_and_absent(),
            full_target(ignore_background=False, alpha=0.0),  # no boundary; 0 ** 0
            empty(),
            at_threshold(),
        ),
        smooth_at=(0, 1, 2),
        bad_calls=bad(extra=(*COMMON, Bad(lambda: Call(MAPS, {"alpha": -1.0}), "`alpha`"))),
    ),
]
