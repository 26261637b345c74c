"""Registry entries for jaxloss.binary."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, normal, on_device, ones, uniform, zeros


def _binary(rng, batch, dtype, **kwargs):
    return Call((normal(rng, batch, dtype), uniform(rng, batch, dtype)), kwargs)


def _probabilities(rng, batch, dtype):
    return Call((uniform(rng, batch, dtype, 0.02, 0.98), uniform(rng, batch, dtype)))


_extreme = on_device([1e4, -1e4, 0.0])

_common_bad = (
    Bad(lambda: Call((ones(3), ones(3)), {"reduction": "avg"}), "`reduction`"),
    Bad(lambda: Call((ones(3), ones(3)), {"where": ones(4, bool)}), "`where`"),
    Bad(lambda: Call((ones(3), ones(3)), {"weights": ones(2)}), "`weights`"),
    Bad(lambda: Call((ones(3), ones(3, jnp.complex64))), "`labels`"),
)

CASES = [
    Case(
        "sigmoid_binary_cross_entropy",
        _binary,
        edge_cases=(
            lambda: Call((_extreme, on_device([0.0, 1.0, 1.0]))),
            lambda: Call((on_device([6e4, -6e4], jnp.float16), on_device([1.0, 0.0], jnp.float16))),
            lambda: Call(
                (on_device([[1e4, -1e4]]), on_device([[1.0, 1.0]])),
                {"pos_weight": on_device([2.0, 3.0])},
            ),
            # Logit 0, the usual initialisation of a classifier head (issue: wrong gradient).
            lambda: Call((zeros(3), on_device([1.0, 0.0, 0.3]))),
            lambda: Call((zeros(3), on_device([1.0, 0.0, 0.3])), {"pos_weight": 2.0}),
            # Integer and boolean labels, as optax accepts them.
            lambda: Call((_extreme, on_device([0, 1, 1]))),
            lambda: Call(
                (_extreme, on_device([False, True, True])),
                {"weights": on_device([1.0, 2.0, 0.5]), "reduction": "mean"},
            ),
        ),
        smooth_at=(0, 1, 2, 3, 4, 5, 6),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((ones(3), ones(4))), "Shapes must be equal"),
            Bad(lambda: Call((ones(3, jnp.int32), ones(3))), "`logits`"),
            Bad(
                lambda: Call((ones(3), ones(3)), {"pos_weight": ones(2)}),
                "`pos_weight`",
            ),
        ),
    ),
    Case(
        "binary_cross_entropy",
        _probabilities,
        edge_cases=(
            lambda: Call((on_device([0.0, 1.0, 0.0, 1.0]), on_device([0.0, 1.0, 1.0, 0.0]))),
            lambda: Call((on_device([0.0, 1.0], jnp.float16), on_device([1.0, 0.0], jnp.float16))),
            # A probability outside [0, 1] (NaN by default) masked out: nothing leaks.
            lambda: Call(
                (on_device([0.3, 1.5, 0.5]), on_device([1, 0, 1])),
                {"where": on_device([True, False, True]), "reduction": "mean"},
            ),
        ),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((ones(3), ones((3, 1)))), "Shapes must be equal"),
            Bad(lambda: Call((ones(3, jnp.int32), ones(3))), "`probabilities`"),
            Bad(lambda: Call((ones(3), ones(3)), {"eps": 0.0}), "`eps`"),
        ),
    ),
    Case(
        "sigmoid_focal_loss",
        lambda rng, batch, dtype: _binary(rng, batch, dtype, alpha=0.25),
        edge_cases=(
            lambda: Call((_extreme, on_device([1.0, 0.0, 1.0])), {"gamma": 0.5}),
            lambda: Call((on_device([1e4, -1e4]), on_device([0.0, 1.0])), {"gamma": 0.5}),
            lambda: Call((on_device([6e4, -6e4], jnp.float16), on_device([1.0, 0.0], jnp.float16))),
            lambda: Call((zeros(3), on_device([1.0, 0.0, 0.3])), {"gamma": 0.0}),
            lambda: Call((zeros(3), on_device([1.0, 0.0, 0.3])), {"gamma": 2.0}),
            # optax's test_extreme_logits_finite_gradients (issue: NaN Hessian at gamma < 1).
            lambda: Call(
                (
                    on_device([100.0, -100.0, 75.0, -75.0, 50.0, -50.0]),
                    on_device([0.9, 0.1, 0.8, 0.2, 1.0, 0.0]),
                ),
                {"gamma": 0.5},
            ),
            # Integer and boolean labels, as optax accepts them.
            lambda: Call((_extreme, on_device([1, 0, 1])), {"gamma": 0.5, "alpha": 0.25}),
            lambda: Call(
                (_extreme, on_device([True, False, False])),
                {"where": on_device([True, True, False]), "reduction": "sum"},
            ),
        ),
        smooth_at=(0, 1, 2, 3, 4, 5, 6, 7),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((ones(3), ones(2))), "Shapes must be equal"),
            Bad(lambda: Call((ones(3), ones(3)), {"gamma": -1.0}), "`gamma`"),
            Bad(lambda: Call((ones(3), ones(3)), {"alpha": 1.5}), "`alpha`"),
        ),
    ),
]
