"""Registry entries for jaxloss.classification."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, integers, normal, probabilities

K = 5
NEG_INF = -jnp.inf


def _full(batch):
    return (*batch, K)


def _soft(rng, batch, dtype, **kwargs):
    return Call((normal(rng, _full(batch), dtype), probabilities(rng, _full(batch), dtype)), kwargs)


def _integer(rng, batch, dtype, **kwargs):
    return Call((normal(rng, _full(batch), dtype), integers(rng, batch, K)), kwargs)


_masked_logits = jnp.array([[3.0, NEG_INF, -1.0, NEG_INF, 0.5]])
_masked_labels = jnp.array([[0.7, 0.0, 0.3, 0.0, 0.0]])
_big = jnp.array([[1e4, -1e4, 0.0, 3.0, -2.0]], jnp.float32)
# float16 logits at +-3e4 keep every log-probability representable (|log p| <= 6e4 < 65504).
_half = jnp.array([[3e4, -3e4, 0.0, 3.0, -2.0]], jnp.float16)
_one_hot = jnp.eye(K)[:1]
_class_weights = jnp.linspace(0.5, 1.5, K)

_common_bad = (
    Bad(lambda: Call((jnp.ones((2, K), jnp.int32), jnp.ones((2, K)))), "`logits`"),
    Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"reduction": "avg"}), "`reduction`"),
    Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"weights": jnp.ones(3)}), "`weights`"),
)


def _soft_cross_entropy_case(name):
    return Case(
        name,
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
            # Integer one-hot labels (as optax accepts), class and example weights, a mean.
            lambda: Call(
                (_big, _one_hot.astype(jnp.int32)),
                {
                    "class_weights": _class_weights,
                    "weights": jnp.array([2.0]),
                    "label_smoothing": 0.2,
                    "reduction": "mean",
                },
            ),
            # Every example masked out: a mean over nothing is 0.
            lambda: Call(
                (_big, _one_hot), {"where": jnp.array([False]), "reduction": "sum_and_count"}
            ),
        ),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K + 1)))), "Shapes must be equal"),
            Bad(lambda: Call((jnp.ones((2, K)), jnp.ones((2, K), jnp.complex64))), "`labels`"),
            Bad(
                lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"label_smoothing": 1.5}),
                "`label_smoothing`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, K)), jnp.ones((2, K))), {"class_weights": jnp.ones(3)}),
                "`class_weights`",
            ),
        ),
    )


CASES = [
    _soft_cross_entropy_case("softmax_cross_entropy"),
    _soft_cross_entropy_case("safe_softmax_cross_entropy"),
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
            # Example weights with class weights: the mean divides by sum(v_n w_{y_n}).
            lambda: Call(
                (jnp.concatenate([_big, _masked_logits]), jnp.array([3, 0])),
                {
                    "class_weights": _class_weights,
                    "weights": jnp.array([0.5, 2.0]),
                    "label_smoothing": 0.1,
                    "where": jnp.isfinite(jnp.concatenate([_big, _masked_logits])),
                    "reduction": "mean",
                },
            ),
            # A label out of range on a masked-out example: no NaN leaks into the mean.
            lambda: Call(
                (jnp.zeros((2, K)), jnp.array([1, 9])),
                {"where": jnp.array([True, False]), "reduction": "mean"},
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
            Bad(
                lambda: Call(
                    (jnp.ones((2, K)), jnp.ones((2,), jnp.int32)),
                    {"weights": jnp.ones((3,)), "class_weights": jnp.ones(K)},
                ),
                "`weights`",
            ),
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
            # Bool one-hot labels, example weights and a class mask.
            lambda: Call(
                (_masked_logits, _one_hot.astype(bool)),
                {
                    "where": jnp.isfinite(_masked_logits),
                    "weights": jnp.array([1.5]),
                    "reduction": "sum",
                },
            ),
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
            Bad(
                lambda: Call(
                    (jnp.ones((2, K)), jnp.ones((2,), jnp.int32)), {"weights": jnp.ones(3)}
                ),
                "`weights`",
            ),
        ),
    ),
]
