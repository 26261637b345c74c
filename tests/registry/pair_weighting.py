"""Registry entries for jaxloss.pair_weighting."""

import jax.numpy as jnp

import jaxloss
from tests.registry import Bad, Call, Case, uniform
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    MINING_BAD,
    PADDED,
    THREE_CLASSES,
    TWO_CLASSES,
    D,
    mining_call,
)

# Edge cases shared by the pair-weighting losses (values and gradients finite and right).
EDGES = (
    lambda: Call((COLLAPSED, TWO_CLASSES)),  # 0: collapsed embeddings
    lambda: Call((DUPLICATED, TWO_CLASSES)),  # 1: duplicated positives
    lambda: Call((DUPLICATED, jnp.array([0, 1, 0, 1]))),  # 2: duplicated negatives
    lambda: Call((DUPLICATED, THREE_CLASSES)),  # 3: a class with one example
    lambda: Call((DUPLICATED, jnp.zeros(4, jnp.int32)), {"reduction": "mean"}),  # 4: one class
    lambda: Call((COLLAPSED, jnp.arange(4)), {"reduction": "mean"}),  # 5: no positive pair
    lambda: Call((jnp.ones((1, D)), jnp.zeros(1, jnp.int32)), {"reduction": "mean"}),  # 6: B=1
    lambda: Call((DUPLICATED, jnp.array([2, 2, 5, 5]))),  # 7: classes absent (ids 0, 1, 3, 4)
    # 8: a masked-out example (NaN padding) changes nothing.
    lambda: Call(
        (PADDED, jnp.array([0, 0, 1, 1, 7])),
        {"where": jnp.array([True, True, True, True, False]), "reduction": "mean"},
    ),
    # 9: every row masked: 0 with zero gradients.
    lambda: Call((PADDED, jnp.array([0, 0, 1, 1, 7])), {"where": jnp.zeros(5, bool)}),
    lambda: Call(  # 10: weighted anchors
        (DUPLICATED, TWO_CLASSES),
        {"weights": jnp.array([0.0, 1.0, 2.0, 0.5]), "reduction": "sum_and_count"},
    ),
    lambda: Call((DUPLICATED.astype(jnp.bfloat16), TWO_CLASSES)),  # 11: bfloat16
)
# The edge cases without zero vectors or ties where a loss built on cosines is smooth.
COSINE_SMOOTH = (0, 1, 2, 3, 4, 5, 6, 7, 8, 10)

# `distance` is not an option of these losses (they fix their distance, as PML's defaults).
BAD = tuple(b for b in MINING_BAD if b.match != "`distance`")


def _bad(name, value, **extra):
    return Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {name: value, **extra}), f"`{name}`")


def _margin_loss(
    embeddings,
    labels,
    beta=1.2,
    *,
    margin=0.2,
    reduction="none",
    where=None,
    weights=None,
    axis_name=None,
):
    """`jaxloss.margin_loss` with `beta` positional, so the contract differentiates it."""
    return jaxloss.margin_loss(
        embeddings,
        labels,
        beta=beta,
        margin=margin,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=axis_name,
    )


def _margin_call(rng, batch, dtype):
    call = mining_call(rng, batch, dtype)
    return Call((*call.args, uniform(rng, (2,), dtype, 0.8, 1.4)))


def _with_beta(edge, beta):
    def make():
        call = edge()
        return Call((*call.args, jnp.asarray(beta)), call.kwargs)

    return make


# Per edge case: a per-class beta covering its labels (edge 7's ids go up to 5).
_MARGIN_BETA = tuple([0.6 + 0.1 * c for c in range(6 if i == 7 else 2)] for i in range(len(EDGES)))

CASES = [
    Case(
        "multi_similarity_loss",
        mining_call,
        edge_cases=(
            *EDGES,
            lambda: Call((DUPLICATED, TWO_CLASSES), {"mine": True}),
            lambda: Call((COLLAPSED, THREE_CLASSES), {"mine": True, "reduction": "mean"}),
        ),
        smooth_at=COSINE_SMOOTH,
        bad_calls=(*BAD, _bad("alpha", 0.0), _bad("beta", -1.0), _bad("margin2", -0.1)),
    ),
    Case(
        "circle_loss",
        mining_call,
        edge_cases=(*EDGES, lambda: Call((COLLAPSED, THREE_CLASSES), {"margin": 0.25})),
        # The weights alpha_p, alpha_n are constants of the gradient (paper's code, PML): the
        # gradient is not the derivative of the value; tests/test_pair_weighting.py compares
        # it with PML's.
        surrogate_gradient=True,
        bad_calls=(*BAD, _bad("gamma", 0.0)),
    ),
    Case(
        "lifted_structure_loss",
        mining_call,
        edge_cases=(
            *EDGES,
            lambda: Call((DUPLICATED, THREE_CLASSES), {"normalize": False, "margin2": 0.5}),
        ),
        bad_calls=(*BAD, _bad("normalize", "yes")),
    ),
    Case(
        "npairs_loss",
        mining_call,
        edge_cases=(*EDGES, lambda: Call((DUPLICATED, THREE_CLASSES), {"normalize": False})),
        smooth_at=(*COSINE_SMOOTH, len(EDGES)),
        bad_calls=(*BAD, _bad("normalize", "yes")),
    ),
    Case(
        "margin_loss",
        _margin_call,
        fn=_margin_loss,
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(
            *(_with_beta(e, b) for e, b in zip(EDGES, _MARGIN_BETA, strict=True)),
            # Classes absent from the batch: their beta gets no gradient.
            _with_beta(lambda: Call((DUPLICATED, jnp.array([0, 0, 3, 3]))), [1.0, 1.1, 1.2, 0.7]),
            _with_beta(lambda: Call((COLLAPSED, THREE_CLASSES)), 1.2),  # one scalar beta
        ),
        bad_calls=(
            *BAD,
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES, jnp.ones((2, 2)))), "`beta`"),
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES, jnp.ones(2, jnp.int32))), "`beta`"),
        ),
    ),
    Case(
        "fast_ap_loss",
        mining_call,
        edge_cases=(*EDGES, lambda: Call((DUPLICATED, THREE_CLASSES), {"num_bins": 1})),
        bad_calls=(*BAD, _bad("num_bins", 0), _bad("num_bins", 2.5)),
    ),
    Case(
        "angular_loss",
        mining_call,
        edge_cases=(
            *EDGES,
            lambda: Call((DUPLICATED, THREE_CLASSES), {"normalize": "pairs"}),
            lambda: Call((COLLAPSED, TWO_CLASSES), {"alpha": 60.0}),
        ),
        smooth_at=(*COSINE_SMOOTH, len(EDGES), len(EDGES) + 1),
        bad_calls=(*BAD, _bad("alpha", 90.0), _bad("alpha", 0.0), _bad("normalize", False)),
    ),
]
