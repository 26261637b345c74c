"""Registry entries for jaxloss.pair_ranking."""

import jax
import jax.numpy as jnp

import jaxloss
from tests.registry import Bad, Call, Case, on_device, ones, uniform
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    THREE_CLASSES,
    TWO_CLASSES,
    D,
    mining_call,
)
from tests.registry._pair_inputs import BAD, EDGES, bad


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
        # as jnp.asarray(beta), with no XLA program: a Python scalar weakly typed
        # (device_put of the scalar), a list transferred from numpy
        array = jax.device_put(beta) if isinstance(beta, float) else on_device(beta)
        return Call((*call.args, array), call.kwargs)

    return make


# Per edge case: a per-class beta covering its labels (edge 0's ids go up to 5).
_MARGIN_BETA = tuple([0.6 + 0.1 * c for c in range(6 if i == 0 else 2)] for i in range(len(EDGES)))

CASES = [
    Case(
        "margin_loss",
        _margin_call,
        fn=_margin_loss,
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(
            *(_with_beta(e, b) for e, b in zip(EDGES, _MARGIN_BETA, strict=True)),
            # Classes absent from the batch: their beta gets no gradient.
            _with_beta(lambda: Call((DUPLICATED, on_device([0, 0, 3, 3]))), [1.0, 1.1, 1.2, 0.7]),
            _with_beta(lambda: Call((COLLAPSED, THREE_CLASSES)), 1.2),  # one scalar beta
        ),
        bad_calls=(
            *BAD,
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES, ones((2, 2)))), "`beta`"),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES, ones(2, jnp.int32))), "`beta`"),
        ),
    ),
    Case(
        "fast_ap_loss",
        mining_call,
        edge_cases=(*EDGES, lambda: Call((DUPLICATED, THREE_CLASSES), {"num_bins": 1})),
        bad_calls=(*BAD, bad("num_bins", 0), bad("num_bins", 2.5)),
    ),
]
