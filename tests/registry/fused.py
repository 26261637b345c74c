"""Registry entries for jaxloss.fused."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, Case, full, integers, normal, on_device, ones, zeros

D, V = 3, 7


def _fused(rng, batch, dtype):
    return Call(
        (normal(rng, (*batch, D), dtype), normal(rng, (V, D), dtype), integers(rng, batch, V)),
        {"reduction": "none", "chunk_size": 3, "token_chunk_size": 2},
    )


def _ones(**kwargs):
    return lambda: Call((ones((2, D)), ones((V, D)), zeros((2,), jnp.int32)), kwargs)


_big = on_device([[1e4, -1e4, 0.0], [3.0, 0.0, -2.0]], jnp.float32)

CASES = [
    Case(
        "fused_linear_cross_entropy",
        _fused,
        grad_argnums=(0, 1),
        shared_args=(1,),
        edge_cases=(
            # Huge logits: the online log-sum-exp rescales instead of overflowing.
            lambda: Call(
                (
                    _big,
                    on_device(np.concatenate([np.full((1, D), -1.0), np.ones((V - 1, D))])),
                    on_device([1, 6]),
                )
            ),
            # Every token ignored: a mean over nothing is 0, gradients 0.
            lambda: Call(
                (ones((3, D)), ones((V, D)), full((3,), -100)),
                {"ignore_index": -100, "reduction": "mean"},
            ),
            # All options at once, with a chunk that divides nothing.
            lambda: Call(
                (_big, on_device(np.eye(V, D)), on_device([2, 0])),
                {
                    "bias": zeros((V,)),
                    "label_smoothing": 0.1,
                    "z_loss": 1e-4,
                    "logit_softcap": 30.0,
                    "chunk_size": 4,
                    "where": on_device([True, False]),
                },
            ),
            # Per-token weights through the reduced schedule (gradients in the forward pass)
            # and through the per-token one.
            lambda: Call(
                (_big, on_device(np.eye(V, D)), on_device([2, 0])),
                {"weights": on_device([0.5, 2.0]), "reduction": "mean", "label_smoothing": 0.1},
            ),
            lambda: Call(
                (_big, on_device(np.eye(V, D)), on_device([2, 0])),
                {"weights": on_device([0.5, 2.0]), "z_loss": 1e-4},
            ),
            # A label out of range on a masked-out token: no NaN leaks into the mean.
            lambda: Call(
                (_big, on_device(np.eye(V, D)), on_device([2, V + 3])),
                {"where": on_device([True, False]), "reduction": "mean"},
            ),
        ),
        bad_calls=(
            Bad(
                lambda: Call((ones((2, D)), ones((V, D + 1)), zeros((2,), jnp.int32))),
                "`weight`",
            ),
            Bad(lambda: Call((ones((2, D)), ones((V, D)), zeros((2,)))), "`labels`"),
            Bad(_ones(bias=zeros((V + 1,))), "`bias`"),
            Bad(_ones(z_loss=-1.0), "`z_loss`"),
            Bad(_ones(label_smoothing=1.5), "`label_smoothing`"),
            Bad(_ones(logit_softcap=0.0), "`logit_softcap`"),
            Bad(_ones(chunk_size=0), "`chunk_size`"),
            Bad(_ones(weights=ones((3,))), "`weights`"),
            Bad(_ones(reduction="average"), "`reduction`"),
            Bad(
                lambda: Call((ones((2, D)), ones((V, D)), zeros((3,), jnp.int32))),
                "`labels`",
            ),
        ),
    ),
]
