"""Registry entries for jaxloss.embeddings."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, normal

D = 3


def _vectors(rng, batch, dtype, count):
    return tuple(normal(rng, (*batch, D), dtype) for _ in range(count))


def _signs(rng, batch):
    return jnp.asarray(rng.choice([-1, 1], batch), jnp.int32)


def _binary(rng, batch):
    return jnp.asarray(rng.integers(0, 2, batch), jnp.int32)


def _mining_labels(rng, batch):
    """Each row a random permutation of 0, 1, 0, 1, ...: positives and negatives for most."""
    size = batch[-1]
    rows = int(np.prod(batch[:-1], dtype=int))
    labels = np.stack([rng.permutation(np.arange(size) % 2) for _ in range(rows)])
    return jnp.asarray(labels.reshape(batch), jnp.int32)


def _mining(rng, batch, dtype, **kwargs):
    return Call((normal(rng, (*batch, D), dtype), _mining_labels(rng, batch)), kwargs)


# Singular configurations shared by the mining losses (values and gradients must be finite).
_collapsed = jnp.ones((4, D))
_duplicated = jnp.array([[1.0, 2.0, 0.0], [1.0, 2.0, 0.0], [3.0, 4.0, 0.0], [3.0, 4.0, 0.0]])
_zeros = jnp.zeros((4, D))
_two_classes = jnp.array([0, 0, 1, 1])
_three_classes = jnp.array([0, 0, 1, 2])

_mining_edges = (
    lambda: Call((_collapsed, _two_classes)),
    lambda: Call((_duplicated, _two_classes)),
    lambda: Call((_duplicated, jnp.array([0, 1, 0, 1]))),
    lambda: Call((_duplicated, _three_classes)),
    lambda: Call((_collapsed, jnp.arange(4)), {"reduction": "mean"}),  # no positive pair
    lambda: Call((_duplicated, jnp.zeros(4, jnp.int32)), {"reduction": "mean"}),  # no negative
    lambda: Call((jnp.ones((1, D)), jnp.zeros(1, jnp.int32)), {"reduction": "mean"}),  # B = 1
    lambda: Call((_zeros, _two_classes), {"distance": "cosine"}),
    lambda: Call((_duplicated, _two_classes), {"distance": "squared_euclidean"}),
)

_mining_bad = (
    Bad(lambda: Call((jnp.ones((4, D)), jnp.zeros((4, 1), jnp.int32))), "`labels`"),
    Bad(lambda: Call((jnp.ones((4, D)), jnp.zeros((3,), jnp.int32))), "`labels`"),
    Bad(lambda: Call((jnp.ones((4, D)), jnp.zeros((4,)))), "`labels`"),
    Bad(lambda: Call((jnp.ones((4,)), jnp.zeros((4,), jnp.int32))), "`embeddings`"),
    Bad(lambda: Call((jnp.ones((4, D), jnp.int32), jnp.zeros((4,), jnp.int32))), "`embeddings`"),
    Bad(lambda: Call((jnp.ones((4, D)), _two_classes), {"distance": "manhattan"}), "`distance`"),
    Bad(lambda: Call((jnp.ones((4, D)), _two_classes), {"reduction": "avg"}), "`reduction`"),
)


def _margin_bad(name="margin"):
    return Bad(lambda: Call((jnp.ones((4, D)), _two_classes), {name: -0.5}), f"`{name}`")


def _pair_bad(first, labels_ok):
    return (
        Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)), labels_ok)), "Shapes"),
        Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones((3,)))), "`labels`"),
        Bad(
            lambda: Call((jnp.ones((2, D), jnp.int32), jnp.ones((2, D)), labels_ok)),
            f"`{first}`",
        ),
    )


CASES = [
    Case(
        "cosine_similarity_loss",
        lambda rng, batch, dtype: Call(_vectors(rng, batch, dtype, 2)),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.zeros((2, D)), jnp.ones((2, D)))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)))),
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)))),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D + 1)))), "Shapes"),
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"eps": 0.0}), "`eps`"),
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D))), {"axis": 2}), "`axis`"),
        ),
    ),
    Case(
        "cosine_embedding_loss",
        lambda rng, batch, dtype: Call((*_vectors(rng, batch, dtype, 2), _signs(rng, batch))),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.zeros((2, D)), jnp.ones((2, D)), jnp.array([1, -1]))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)), jnp.array([1, -1]))),
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, -1]))),
        ),
        bad_calls=(
            *_pair_bad("x1", jnp.ones((2,))),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"margin": 1.5}),
                "`margin`",
            ),
        ),
    ),
    Case(
        "contrastive_loss",
        lambda rng, batch, dtype: Call((*_vectors(rng, batch, dtype, 2), _binary(rng, batch))),
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, 0]))),
            lambda: Call((jnp.zeros((2, D)), jnp.zeros((2, D)), jnp.array([1, 0]))),
            lambda: Call(
                (jnp.zeros((2, D)), jnp.ones((2, D)), jnp.array([1, 0])), {"distance": "cosine"}
            ),
            lambda: Call(
                (jnp.ones((2, D)), jnp.ones((2, D)), jnp.array([1, 0])),
                {"distance": "squared_euclidean", "reduction": "mean"},
            ),
        ),
        bad_calls=(
            *_pair_bad("x1", jnp.ones((2,))),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"margin": -1.0}),
                "`margin`",
            ),
            Bad(
                lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones(2)), {"distance": "l7"}),
                "`distance`",
            ),
        ),
    ),
    Case(
        "ntxent",
        lambda rng, batch, dtype: _mining(rng, batch, dtype, reduction="none"),
        edge_cases=(
            lambda: Call((_zeros, _two_classes)),
            lambda: Call((_collapsed, _two_classes)),
            lambda: Call((_duplicated, _two_classes)),
            lambda: Call((_collapsed, jnp.arange(4))),  # no positive pair
            lambda: Call((_duplicated, jnp.zeros(4, jnp.int32))),  # no negative
            lambda: Call((jnp.ones((1, D)), jnp.zeros(1, jnp.int32))),  # B = 1
            lambda: Call((1e3 * _duplicated, _two_classes), {"temperature": 1e-3}),
        ),
        bad_calls=(
            *_mining_bad[:5],
            Bad(
                lambda: Call((jnp.ones((4, D)), _two_classes), {"temperature": 0.0}),
                "`temperature`",
            ),
        ),
    ),
    Case(
        "triplet_margin_loss",
        lambda rng, batch, dtype: Call(_vectors(rng, batch, dtype, 3)),
        grad_argnums=(0, 1, 2),
        edge_cases=(
            lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.zeros((2, D)))),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": 1}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": 3, "swap": True}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"eps": 0.0, "norm_degree": jnp.inf}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"soft": True, "eps": 0.0}),
            lambda: Call((jnp.zeros((2, D)),) * 3, {"distance": "cosine"}),
            lambda: Call((jnp.ones((2, D)),) * 3, {"distance": "euclidean"}),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)), jnp.ones((2, D)), jnp.ones((2, 1)))), "Shapes"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 3, {"margin": -1.0}), "`margin`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 3, {"norm_degree": 0.5}), "`norm_degree`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 3, {"distance": "l3"}), "`distance`"),
            Bad(lambda: Call((jnp.ones((2, D), jnp.int32),) * 3), "`anchors`"),
        ),
    ),
    Case(
        "quadruplet_loss",
        lambda rng, batch, dtype: Call(_vectors(rng, batch, dtype, 4)),
        grad_argnums=(0, 1, 2, 3),
        edge_cases=(
            lambda: Call((jnp.ones((2, D)),) * 4),
            lambda: Call((jnp.zeros((2, D)),) * 4, {"distance": "euclidean"}),
            lambda: Call((jnp.zeros((2, D)),) * 4, {"distance": "cosine"}),
        ),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((2, D)),) * 3 + (jnp.ones((3, D)),)), "Shapes"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 4, {"margin": -1.0}), "`margin`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 4, {"margin2": -1.0}), "`margin2`"),
            Bad(lambda: Call((jnp.ones((2, D)),) * 4, {"distance": "l3"}), "`distance`"),
        ),
    ),
    Case(
        "batch_all_triplet_loss",
        _mining,
        edge_cases=(
            *_mining_edges,
            lambda: Call((_duplicated, _two_classes), {"mean_over": "valid", "margin": 0.0}),
        ),
        bad_calls=(
            *_mining_bad,
            _margin_bad(),
            Bad(lambda: Call((jnp.ones((4, D)), _two_classes), {"mean_over": "x"}), "`mean_over`"),
        ),
    ),
    Case(
        "batch_hard_triplet_loss",
        _mining,
        edge_cases=(*_mining_edges, lambda: Call((_collapsed, _two_classes), {"soft": True})),
        bad_calls=(*_mining_bad, _margin_bad()),
    ),
    Case(
        "semihard_triplet_loss",
        _mining,
        edge_cases=_mining_edges,
        bad_calls=(*_mining_bad, _margin_bad()),
    ),
    Case(
        "batch_hard_quadruplet_loss",
        _mining,
        edge_cases=(
            *_mining_edges,
            lambda: Call((_collapsed, jnp.array([0, 0, 1, 2])), {"distance": "euclidean"}),
        ),
        bad_calls=(*_mining_bad, _margin_bad(), _margin_bad("margin2")),
    ),
]
