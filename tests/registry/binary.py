"""Registry entries for jaxloss.binary."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, normal, uniform


def _binary(rng, batch, dtype, **kwargs):
    return Call((normal(rng, batch, dtype), uniform(rng, batch, dtype)), kwargs)


def _probabilities(rng, batch, dtype):
    return Call((uniform(rng, batch, dtype, 0.02, 0.98), uniform(rng, batch, dtype)))


_extreme = jnp.array([1e4, -1e4, 0.0])

_common_bad = (
    Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"reduction": "avg"}), "`reduction`"),
    Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"where": jnp.ones(4, bool)}), "`where`"),
    Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"weights": jnp.ones(2)}), "`weights`"),
    Bad(lambda: Call((jnp.ones(3), jnp.ones(3, jnp.complex64))), "`labels`"),
)

CASES = [
    Case(
        "sigmoid_binary_cross_entropy",
        _binary,
        edge_cases=(
            lambda: Call((_extreme, jnp.array([0.0, 1.0, 1.0]))),
            lambda: Call((jnp.array([6e4, -6e4], jnp.float16), jnp.array([1.0, 0.0], jnp.float16))),
            lambda: Call(
                (jnp.array([[1e4, -1e4]]), jnp.array([[1.0, 1.0]])),
                {"pos_weight": jnp.array([2.0, 3.0])},
            ),
            # Logit 0, the usual initialisation of a classifier head (issue: wrong gradient).
            lambda: Call((jnp.zeros(3), jnp.array([1.0, 0.0, 0.3]))),
            lambda: Call((jnp.zeros(3), jnp.array([1.0, 0.0, 0.3])), {"pos_weight": 2.0}),
            # Integer and boolean labels, as optax accepts them.
            lambda: Call((_extreme, jnp.array([0, 1, 1]))),
            lambda: Call(
                (_extreme, jnp.array([False, True, True])),
                {"weights": jnp.array([1.0, 2.0, 0.5]), "reduction": "mean"},
            ),
        ),
        smooth_at=(0, 1, 2, 3, 4, 5, 6),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((jnp.ones(3), jnp.ones(4))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones(3, jnp.int32), jnp.ones(3))), "`logits`"),
            Bad(
                lambda: Call((jnp.ones(3), jnp.ones(3)), {"pos_weight": jnp.ones(2)}),
                "`pos_weight`",
            ),
        ),
    ),
    Case(
        "binary_cross_entropy",
        _probabilities,
        edge_cases=(
            lambda: Call((jnp.array([0.0, 1.0, 0.0, 1.0]), jnp.array([0.0, 1.0, 1.0, 0.0]))),
            lambda: Call((jnp.array([0.0, 1.0], jnp.float16), jnp.array([1.0, 0.0], jnp.float16))),
            # A probability outside [0, 1] (NaN by default) masked out: nothing leaks.
            lambda: Call(
                (jnp.array([0.3, 1.5, 0.5]), jnp.array([1, 0, 1])),
                {"where": jnp.array([True, False, True]), "reduction": "mean"},
            ),
        ),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((jnp.ones(3), jnp.ones((3, 1)))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones(3, jnp.int32), jnp.ones(3))), "`probabilities`"),
            Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"eps": 0.0}), "`eps`"),
        ),
    ),
    Case(
        "sigmoid_focal_loss",
        lambda rng, batch, dtype: _binary(rng, batch, dtype, alpha=0.25),
        edge_cases=(
            lambda: Call((_extreme, jnp.array([1.0, 0.0, 1.0])), {"gamma": 0.5}),
            lambda: Call((jnp.array([1e4, -1e4]), jnp.array([0.0, 1.0])), {"gamma": 0.5}),
            lambda: Call((jnp.array([6e4, -6e4], jnp.float16), jnp.array([1.0, 0.0], jnp.float16))),
            lambda: Call((jnp.zeros(3), jnp.array([1.0, 0.0, 0.3])), {"gamma": 0.0}),
            lambda: Call((jnp.zeros(3), jnp.array([1.0, 0.0, 0.3])), {"gamma": 2.0}),
            # optax's test_extreme_logits_finite_gradients (issue: NaN Hessian at gamma < 1).
            lambda: Call(
                (
                    jnp.array([100.0, -100.0, 75.0, -75.0, 50.0, -50.0]),
                    jnp.array([0.9, 0.1, 0.8, 0.2, 1.0, 0.0]),
                ),
                {"gamma": 0.5},
            ),
            # Integer and boolean labels, as optax accepts them.
            lambda: Call((_extreme, jnp.array([1, 0, 1])), {"gamma": 0.5, "alpha": 0.25}),
            lambda: Call(
                (_extreme, jnp.array([True, False, False])),
                {"where": jnp.array([True, True, False]), "reduction": "sum"},
            ),
        ),
        smooth_at=(0, 1, 2, 3, 4, 5, 6, 7),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((jnp.ones(3), jnp.ones(2))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"gamma": -1.0}), "`gamma`"),
            Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"alpha": 1.5}), "`alpha`"),
        ),
    ),
]
