"""Registry entries for jaxloss.hinges (torch's margin losses)."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, integers, normal, on_device, ones, uniform, zeros

K = 5
_CLASS_W = on_device(np.linspace(0.5, 2.0, K))  # exact: steps of 3/8


def _signs(rng, shape):
    return on_device(rng.choice([-1, 1], shape), jnp.int32)


def _target_lists(rng, batch):
    """Class-id lists padded with -1: a random number of distinct targets per example."""
    flat = int(np.prod(batch))
    out = np.full((flat, K), -1)
    for i in range(flat):
        n = rng.integers(0, K + 1)
        out[i, :n] = rng.permutation(K)[:n]
    return on_device(out.reshape((*batch, K)), jnp.int32)


_scores = on_device([[1.0, 0.0, 0.5, -2.0, 3.0]])  # margin - x_0 + x_1 == 0: a kink

_sign_bad = (
    Bad(lambda: Call((zeros(2), on_device([1.0, 1.0], jnp.complex64))), "`labels`", TypeError),
    Bad(lambda: Call((zeros(2), ones(3, jnp.int32))), "`labels`"),
    Bad(lambda: Call((zeros(2, jnp.int32), ones(2, jnp.int32))), "`"),
    Bad(
        lambda: Call((zeros(2), ones(2, jnp.int32)), {"where": ones(3, bool)}),
        "`where`",
    ),
)

CASES = [
    Case(
        "margin_ranking_loss",
        lambda rng, batch, dtype: Call(
            (normal(rng, batch, dtype), normal(rng, batch, dtype), _signs(rng, batch)),
            {"margin": 0.3},
        ),
        grad_argnums=(0, 1),
        edge_cases=(
            # The kink (-y (x1 - x2) + margin == 0), float labels.
            lambda: Call(
                (
                    on_device([0.5, 1.0, 0.0]),
                    on_device([0.0, 1.5, 0.0]),
                    on_device([1.0, -1.0, 1.0]),
                ),
                {"margin": 0.5},
            ),
            # Every example masked out.
            lambda: Call(
                (ones(2), zeros(2), on_device([1, -1])),
                {"where": zeros(2, bool), "reduction": "mean"},
            ),
            lambda: Call((on_device([1e4, -1e4]), on_device([0.0, 0.0]), on_device([-1, 1]))),
        ),
        smooth_at=(2,),
        bad_calls=(
            Bad(lambda: Call((zeros(2), zeros(3), ones(2))), "Shapes must be equal"),
            Bad(lambda: Call((zeros(2), zeros(2), ones(3))), "`labels`"),
            Bad(lambda: Call((zeros(2, jnp.int32), zeros(2), ones(2))), "`x1`"),
        ),
    ),
    Case(
        "hinge_embedding_loss",
        lambda rng, batch, dtype: Call((uniform(rng, batch, dtype, 0.0, 2.0), _signs(rng, batch))),
        edge_cases=(
            # The kink at the margin for a dissimilar pair; a negative input of a similar pair.
            lambda: Call((on_device([1.0, -0.5, 0.0, 3.0]), on_device([-1, 1, -1, -1]))),
            lambda: Call(
                (on_device([0.2, 0.7]), on_device([-1.0, 1.0])), {"margin": 0.5, "reduction": "sum"}
            ),
        ),
        smooth_at=(1,),
        bad_calls=_sign_bad,
    ),
    Case(
        "soft_margin_loss",
        lambda rng, batch, dtype: Call((normal(rng, batch, dtype), _signs(rng, batch))),
        edge_cases=(
            # Saturated scores (torch's log1p(exp) overflows at -y x = 1e4) and a score of 0.
            lambda: Call((on_device([1e4, -1e4, 0.0, 50.0]), on_device([-1, -1, 1, 1]))),
        ),
        smooth_at=(0,),
        bad_calls=_sign_bad,
    ),
    Case(
        "multilabel_soft_margin_loss",
        lambda rng, batch, dtype: Call(
            (normal(rng, (*batch, K), dtype), uniform(rng, (*batch, K), dtype)),
            {"class_weights": _CLASS_W},
        ),
        edge_cases=(
            lambda: Call(
                (on_device([[1e4, -1e4, 0.0, 3.0, -2.0]]), on_device([[1, 0, 1, 0, 1]])),
                {"class_weights": _CLASS_W},
            ),
            lambda: Call(
                (zeros((2, K)), ones((2, K), bool)),
                {"where": on_device([False, True]), "reduction": "mean"},
            ),
        ),
        smooth_at=(0, 1),
        bad_calls=(
            Bad(lambda: Call((zeros((2, K)), zeros((2, K + 1)))), "Shapes must be equal"),
            Bad(
                lambda: Call((zeros((2, K)), zeros((2, K))), {"class_weights": ones(3)}),
                "`class_weights`",
            ),
            Bad(
                lambda: Call((zeros((2, K)), zeros((2, K))), {"where": ones((2, K), bool)}),
                "`where`",
            ),
            Bad(lambda: Call((zeros((2, K), jnp.int32), zeros((2, K)))), "`logits`"),
        ),
    ),
    Case(
        "multilabel_margin_loss",
        lambda rng, batch, dtype: Call(
            (normal(rng, (*batch, K), dtype), _target_lists(rng, batch))
        ),
        edge_cases=(
            # A kink (1 - x_0 + x_1 == 0), a repeated id, garbage after the end, no target,
            # every class a target.
            lambda: Call(
                (
                    on_device(np.tile(_scores, (4, 1))),
                    on_device(
                        [[0, -1, 9, 9, 9], [4, 1, 1, -1, 0], [-1, 0, 0, 0, 0], [0, 1, 2, 3, 4]]
                    ),
                )
            ),
            lambda: Call(
                (on_device([[1e4, -1e4, 0.0, 2.0, 1.5]]), on_device([[1, 3, -1, -1, -1]])),
                {"weights": on_device([2.0]), "reduction": "sum_and_count"},
            ),
        ),
        smooth_at=(1,),
        bad_calls=(
            Bad(lambda: Call((zeros((2, K)), zeros((2, K)))), "`labels`", TypeError),
            Bad(lambda: Call((zeros((2, K)), zeros((2,), jnp.int32))), "`labels`"),
            Bad(
                lambda: Call((zeros((2, K), jnp.int32), zeros((2, K), jnp.int32))),
                "`logits`",
            ),
        ),
    ),
    Case(
        "multi_margin_loss",
        lambda rng, batch, dtype: Call(
            (normal(rng, (*batch, K), dtype), integers(rng, batch, K)),
            {"class_weights": _CLASS_W, "p": 2, "margin": 0.7},
        ),
        edge_cases=(
            lambda: Call((_scores, on_device([0]))),  # the kink, p = 1
            lambda: Call((_scores, on_device([0])), {"p": 2, "class_weights": _CLASS_W}),
            # An out-of-range label on a masked example.
            lambda: Call(
                (on_device(np.concatenate([_scores, _scores])), on_device([2, 7])),
                {"where": on_device([True, False]), "reduction": "mean"},
            ),
            lambda: Call((on_device([[1e4, -1e4, 0.0, 3.0, -2.0]]), on_device([1]))),
        ),
        smooth_at=(3,),
        bad_calls=(
            Bad(lambda: Call((zeros((2, K)), zeros(2, jnp.int32)), {"p": 3}), "`p`"),
            Bad(lambda: Call((zeros((2, K)), zeros(2))), "`labels`", TypeError),
            Bad(lambda: Call((zeros((2, K)), zeros(3, jnp.int32))), "`labels`"),
            Bad(
                lambda: Call((zeros((2, K)), zeros(2, jnp.int32)), {"class_weights": ones(2)}),
                "`class_weights`",
            ),
        ),
    ),
]
