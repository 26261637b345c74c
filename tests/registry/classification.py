"""Registry entries for jaxloss.classification."""

import jax.numpy as jnp
import numpy as np

from tests.registry import (
    Bad,
    Call,
    Case,
    full,
    integers,
    normal,
    on_device,
    ones,
    probabilities,
    zeros,
)

K = 5
NEG_INF = -jnp.inf


def _full(batch):
    return (*batch, K)


def _soft(rng, batch, dtype, **kwargs):
    return Call((normal(rng, _full(batch), dtype), probabilities(rng, _full(batch), dtype)), kwargs)


def _integer(rng, batch, dtype, **kwargs):
    return Call((normal(rng, _full(batch), dtype), integers(rng, batch, K)), kwargs)


_masked_logits = on_device([[3.0, NEG_INF, -1.0, NEG_INF, 0.5]])
_masked_labels = on_device([[0.7, 0.0, 0.3, 0.0, 0.0]])
_big = on_device([[1e4, -1e4, 0.0, 3.0, -2.0]], jnp.float32)
# float16 logits at +-3e4 keep every log-probability representable (|log p| <= 6e4 < 65504).
_half = on_device([[3e4, -3e4, 0.0, 3.0, -2.0]], jnp.float16)
# numpy functions and on_device read jax arrays back to the host: no XLA program.
_one_hot = on_device(np.eye(K)[:1])
_class_weights = on_device(np.linspace(0.5, 1.5, K))  # exact: steps of 1/4


_common_bad = (
    Bad(lambda: Call((ones((2, K), jnp.int32), ones((2, K)))), "`logits`"),
    Bad(lambda: Call((ones((2, K)), ones((2, K))), {"reduction": "avg"}), "`reduction`"),
    Bad(lambda: Call((ones((2, K)), ones((2, K))), {"weights": ones(3)}), "`weights`"),
)


def _soft_cross_entropy_case(name):
    return Case(
        name,
        _soft,
        edge_cases=(
            lambda: Call((_masked_logits, _masked_labels)),
            lambda: Call((_big, _one_hot)),
            lambda: Call((_half, on_device(_one_hot, jnp.float16))),
            lambda: Call(
                (zeros((2, K)), on_device(np.asarray(_one_hot).repeat(2, 0))),
                {"where": zeros((2, K), bool), "reduction": "mean"},
            ),
            lambda: Call(
                (_masked_logits, _masked_labels),
                {"label_smoothing": 0.1, "where": on_device(np.isfinite(_masked_logits))},
            ),
            # Integer one-hot labels (as optax accepts), class and example weights, a mean.
            lambda: Call(
                (_big, on_device(_one_hot, jnp.int32)),
                {
                    "class_weights": _class_weights,
                    "weights": on_device([2.0]),
                    "label_smoothing": 0.2,
                    "reduction": "mean",
                },
            ),
            # Every example masked out: a mean over nothing is 0.
            lambda: Call(
                (_big, _one_hot), {"where": on_device([False]), "reduction": "sum_and_count"}
            ),
        ),
        bad_calls=(
            *_common_bad,
            Bad(lambda: Call((ones((2, K)), ones((2, K + 1)))), "Shapes must be equal"),
            Bad(lambda: Call((ones((2, K)), ones((2, K), jnp.complex64))), "`labels`"),
            Bad(
                lambda: Call((ones((2, K)), ones((2, K))), {"label_smoothing": 1.5}),
                "`label_smoothing`",
            ),
            Bad(
                lambda: Call((ones((2, K)), ones((2, K))), {"class_weights": ones(3)}),
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
            lambda: Call((_big, on_device([1]))),
            lambda: Call((_half, on_device([1]))),
            lambda: Call(
                (_masked_logits, on_device([0])),
                {"where": on_device(np.isfinite(_masked_logits)), "label_smoothing": 0.2},
            ),
            lambda: Call(
                (zeros((3, K)), full((3,), -100)),
                {"ignore_index": -100, "reduction": "mean", "class_weights": ones(K)},
            ),
            lambda: Call(
                (zeros((2, K)), zeros((2,), jnp.int32)),
                {"where": zeros((2,), bool), "reduction": "mean"},
            ),
            # Example weights with class weights: the mean divides by sum(v_n w_{y_n}).
            lambda: Call(
                (on_device(np.concatenate([_big, _masked_logits])), on_device([3, 0])),
                {
                    "class_weights": _class_weights,
                    "weights": on_device([0.5, 2.0]),
                    "label_smoothing": 0.1,
                    "where": on_device(np.isfinite(np.concatenate([_big, _masked_logits]))),
                    "reduction": "mean",
                },
            ),
            # A label out of range on a masked-out example: no NaN leaks into the mean.
            lambda: Call(
                (zeros((2, K)), on_device([1, 9])),
                {"where": on_device([True, False]), "reduction": "mean"},
            ),
        ),
        bad_calls=(
            Bad(lambda: Call((ones((2, K), jnp.int32), ones((2,), jnp.int32))), "`logits`"),
            Bad(lambda: Call((ones((2, K)), ones((2,)))), "`labels`"),
            Bad(lambda: Call((ones((2, K)), ones((3,), jnp.int32))), "`labels`"),
            Bad(lambda: Call((ones((2, K)), ones((2, K), jnp.int32))), "`labels`"),
            Bad(
                lambda: Call((ones((2, K)), ones((2,), jnp.int32)), {"label_smoothing": -0.1}),
                "`label_smoothing`",
            ),
            Bad(
                lambda: Call(
                    (ones((2, K)), ones((2,), jnp.int32)),
                    {"where": ones((2, 1, 1), bool)},
                ),
                "`where`",
            ),
            Bad(
                lambda: Call(
                    (ones((2, K)), ones((2,), jnp.int32)),
                    {"weights": ones((3,)), "class_weights": ones(K)},
                ),
                "`weights`",
            ),
        ),
    ),
    Case(
        "softmax_focal_loss",
        # (the alphas exact in numpy: steps of 1/8)
        lambda rng, batch, dtype: _integer(
            rng, batch, dtype, alpha=on_device(np.linspace(0.5, 1.0, K))
        ),
        edge_cases=(
            lambda: Call((_big, on_device([0])), {"gamma": 0.5}),
            lambda: Call((_big, _one_hot), {"gamma": 0.5}),
            lambda: Call((_masked_logits, _masked_labels), {"gamma": 2.0}),
            lambda: Call((_half, on_device([1]))),
            # Bool one-hot labels, example weights and a class mask.
            lambda: Call(
                (_masked_logits, on_device(_one_hot, bool)),
                {
                    "where": on_device(np.isfinite(_masked_logits)),
                    "weights": on_device([1.5]),
                    "reduction": "sum",
                },
            ),
        ),
        smooth_at=(0, 1, 3),
        bad_calls=(
            Bad(lambda: Call((ones((2, K)), ones((3,), jnp.int32))), "`labels`"),
            Bad(lambda: Call((ones((2, K)), ones((2, K + 1)))), "Shapes must be equal"),
            Bad(
                lambda: Call((ones((2, K)), ones((2,), jnp.int32)), {"gamma": -2.0}),
                "`gamma`",
            ),
            Bad(
                lambda: Call((ones((2, K)), ones((2,), jnp.int32)), {"alpha": ones(3)}),
                "`alpha`",
            ),
            Bad(
                lambda: Call((ones((2, K)), ones((2,), jnp.int32)), {"weights": ones(3)}),
                "`weights`",
            ),
        ),
    ),
]
