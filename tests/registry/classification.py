"""Registry entries for jaxloss.classification."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, integers, normal, probabilities, uniform

K = 5
NEG_INF = -jnp.inf


def _full(batch):
    return (*batch, K)


def _map(rng, batch, dtype):
    return Call((normal(rng, _full(batch), dtype),))


def _sigmoid_map(rng, batch, dtype):
    return Call((normal(rng, batch, dtype),))


def _soft(rng, batch, dtype, **kwargs):
    return Call((normal(rng, _full(batch), dtype), probabilities(rng, _full(batch), dtype)), kwargs)


def _integer(rng, batch, dtype, **kwargs):
    return Call((normal(rng, _full(batch), dtype), integers(rng, batch, K)), kwargs)


def _binary(rng, batch, dtype, **kwargs):
    return Call((normal(rng, batch, dtype), uniform(rng, batch, dtype)), kwargs)


def _probabilities(rng, batch, dtype):
    return Call((uniform(rng, batch, dtype, 0.02, 0.98), uniform(rng, batch, dtype)))


_masked_logits = jnp.array([[3.0, NEG_INF, -1.0, NEG_INF, 0.5]])
_masked_labels = jnp.array([[0.7, 0.0, 0.3, 0.0, 0.0]])
_big = jnp.array([[1e4, -1e4, 0.0, 3.0, -2.0]], jnp.float32)
# float16 logits at +-3e4 keep every log-probability representable (|log p| <= 6e4 < 65504).
_half = jnp.array([[3e4, -3e4, 0.0, 3.0, -2.0]], jnp.float16)
_one_hot = jnp.eye(K)[:1]


_maps = [
    Case(
        name,
        _sigmoid_map if "sigmoid" in name else _map,
        reduces=False,
        out_shape=(lambda b: b) if "sigmoid" in name else _full,
        edge_cases=(lambda: Call((_big,)), lambda: Call((_half,))),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, K)),), {"temperature": 0.0}), "`temperature`"),
            Bad(lambda: Call((jnp.ones((2, K), jnp.int32),)), "`x`"),
        ),
    )
    for name in ("softmax", "log_softmax", "sigmoid", "log_sigmoid")
]

_common_bad = (
    Bad(lambda: Call((jnp.ones((2, K), jnp.int32), jnp.ones((2, K)))), "`logits`"),
    Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"reduction": "avg"}), "`reduction`"),
)

CASES = [
    *_maps,
    Case(
        "softmax_cross_entropy",
        _soft,
        edge_cases=(
            lambda: Call((_masked_logits, _masked_labels)),
            lambda: Call((_big, _one_hot)),
            lambda: Call((_half, _one_hot.astype(jnp.float16))),
            lambda: Call(
                (jnp.zeros((2, K)), _one_hot.repeat(2, 0)),
                {"where": jnp.zeros((2, K), bool), "reduction": "mean"},
            ),
            lambda: Call(
                (_masked_logits, _masked_labels),
                {"label_smoothing": 0.1, "where": jnp.isfinite(_masked_logits)},
            ),
        ),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K + 1)))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K), jnp.int32))), "`labels`"),
            Bad(
                lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"label_smoothing": 1.5}),
                "`label_smoothing`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"class_weights": jnp.ones(3)}),
                "`class_weights`",
            ),
        ),
    ),
    Case(
        "safe_softmax_cross_entropy",
        _soft,
        reduces=False,
        edge_cases=(lambda: Call((_masked_logits, _masked_labels)),),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((3, K)))), "Shapes must be equal"),
        ),
    ),
    Case(
        "softmax_cross_entropy_with_integer_labels",
        _integer,
        edge_cases=(
            lambda: Call((_big, jnp.array([1]))),
            lambda: Call((_half, jnp.array([1]))),
            lambda: Call(
                (_masked_logits, jnp.array([0])),
                {"where": jnp.isfinite(_masked_logits), "label_smoothing": 0.2},
            ),
            lambda: Call(
                (jnp.zeros((3, K)), jnp.full((3,), -100)),
                {"ignore_index": -100, "reduction": "mean", "class_weights": jnp.ones(K)},
            ),
            lambda: Call(
                (jnp.zeros((2, K)), jnp.zeros((2,), jnp.int32)),
                {"where": jnp.zeros((2,), bool), "reduction": "mean"},
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, K), jnp.int32), jnp.ones((2,), jnp.int32))), "`logits`"),
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2,)))), "`labels`"),
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((3,), jnp.int32))), "`labels`"),
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K), jnp.int32))), "`labels`"),
            Bad(
                lambda: Call(
                    (jnp.ones((2, K)), jnp.ones((2,), jnp.int32)), {"label_smoothing": -0.1}
                ),
                "`label_smoothing`",
            ),
            Bad(
                lambda: Call(
                    (jnp.ones((2, K)), jnp.ones((2,), jnp.int32)),
                    {"where": jnp.ones((2, 1, 1), bool)},
                ),
                "`where`",
            ),
        ),
    ),
    Case(
        "smooth_labels",
        lambda rng, batch, dtype: Call((probabilities(rng, _full(batch), dtype),), {"alpha": 0.1}),
        reduces=False,
        out_shape=_full,
        edge_cases=(lambda: Call((_one_hot,), {"alpha": 1.0}),),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, K)),), {"alpha": 2.0}), "`alpha`"),
            Bad(lambda: Call((jnp.ones((2, K), jnp.int32),), {"alpha": 0.1}), "`labels`"),
        ),
    ),
    Case(
        "sigmoid_binary_cross_entropy",
        _binary,
        edge_cases=(
            lambda: Call((jnp.array([1e4, -1e4, 0.0]), jnp.array([0.0, 1.0, 1.0]))),
            lambda: Call((jnp.array([6e4, -6e4], jnp.float16), jnp.array([1.0, 0.0], jnp.float16))),
            lambda: Call(
                (jnp.array([[1e4, -1e4]]), jnp.array([[1.0, 1.0]])),
                {"pos_weight": jnp.array([2.0, 3.0])},
            ),
            # Logit 0, the usual initialisation of a classifier head (issue: wrong gradient).
            lambda: Call((jnp.zeros(3), jnp.array([1.0, 0.0, 0.3]))),
            lambda: Call((jnp.zeros(3), jnp.array([1.0, 0.0, 0.3])), {"pos_weight": 2.0}),
        ),
        smooth_at=(0, 1, 2, 3, 4),
        bad_calls=(
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
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones(3), jnp.ones((3, 1)))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones(3, jnp.int32), jnp.ones(3))), "`probabilities`"),
            Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"eps": 0.0}), "`eps`"),
        ),
    ),
    Case(
        "sigmoid_focal_loss",
        lambda rng, batch, dtype: _binary(rng, batch, dtype, alpha=0.25),
        edge_cases=(
            lambda: Call((jnp.array([1e4, -1e4, 0.0]), jnp.array([1.0, 0.0, 1.0])), {"gamma": 0.5}),
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
        ),
        smooth_at=(0, 1, 2, 3, 4, 5),
        bad_calls=(
            Bad(lambda: Call((jnp.ones(3), jnp.ones(2))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"gamma": -1.0}), "`gamma`"),
            Bad(lambda: Call((jnp.ones(3), jnp.ones(3)), {"alpha": 1.5}), "`alpha`"),
        ),
    ),
    Case(
        "softmax_focal_loss",
        lambda rng, batch, dtype: _integer(rng, batch, dtype, alpha=jnp.linspace(0.5, 1.0, K)),
        edge_cases=(
            lambda: Call((_big, jnp.array([0])), {"gamma": 0.5}),
            lambda: Call((_big, _one_hot), {"gamma": 0.5}),
            lambda: Call((_masked_logits, _masked_labels), {"gamma": 2.0}),
            lambda: Call((_half, jnp.array([1]))),
        ),
        smooth_at=(0, 1, 3),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((3,), jnp.int32))), "`labels`"),
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K + 1)))), "Shapes must be equal"),
            Bad(
                lambda: Call((jnp.ones((2, K)), jnp.ones((2,), jnp.int32)), {"gamma": -2.0}),
                "`gamma`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, K)), jnp.ones((2,), jnp.int32)), {"alpha": jnp.ones(3)}),
                "`alpha`",
            ),
        ),
    ),
]
