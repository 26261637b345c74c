"""Registry entries for jaxloss.proxies (proxy losses and SoftTriple's penalty)."""

import jax.numpy as jnp

from tests.registry import Bad, Call, Case, normal
from tests.registry._class_inputs import (
    AXES,
    AXES_K,
    D,
    K,
    class_bad,
    class_call,
    edges,
    option_bad,
)

# Edge indices (see `edges`): 0 duplicated, 1 collapsed, 2 one class, 3 absent classes,
# 4 angle 0, 5 angle pi, 6 zero vectors, 7 masked NaN padding, 8 bfloat16. Cosines are smooth
# in the embeddings except at a zero vector.
_SMOOTH = (0, 1, 2, 3, 4, 5, 7)

CASES = [
    Case(
        "proxy_anchor_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, alpha=4.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        reduces=False,
        out_shape=lambda b: b[:-1],
        edge_cases=(
            *[e for i, e in enumerate(edges(AXES)) if i != 7],
            # NaN padding masked out (no weights here: not a per-example loss).
            lambda: Call(
                (edges(AXES)[7]().args),
                {"where": jnp.array([True, True, True, True, False])},
            ),
            # Everything masked out: 0 with zero gradients.
            lambda: Call(
                (jnp.ones((2, D)), jnp.array([0, 1]), AXES), {"where": jnp.zeros(2, bool)}
            ),
        ),
        smooth_at=(0, 1, 2, 3, 4, 5, 8, 9),
        bad_calls=(
            *class_bad("proxies", reducing=False),
            *option_bad(alpha=0.0, margin=-0.1),
        ),
    ),
    Case(
        "proxy_nca_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, scale=3.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=(*edges(AXES), *edges(AXES, scale=50.0)[4:6]),
        smooth_at=(*_SMOOTH, 9, 10),
        bad_calls=(*class_bad("proxies"), *option_bad(scale=0.0)),
    ),
    Case(
        "soft_triple_loss",
        lambda rng, batch, dtype: class_call(rng, batch, dtype, centers=True, scale=4.0),
        grad_argnums=(0, 2),
        shared_args=(2,),
        edge_cases=edges(AXES, AXES_K),
        smooth_at=_SMOOTH,
        bad_calls=(
            *class_bad("proxies", centers=True),
            *option_bad(centers=True, scale=0.0, gamma=0.0, margin=-0.1),
        ),
    ),
    Case(
        "sparse_centers_penalty",
        lambda rng, batch, dtype: Call((normal(rng, (*batch, K, D), dtype),)),
        reduces=False,
        batched=False,
        out_shape=lambda b: (),
        edge_cases=(
            lambda: Call((AXES_K,)),
            lambda: Call((jnp.ones((2, K, D)),)),  # identical centres: distance 0
            lambda: Call((jnp.zeros((2, K, D)),)),  # zero centres
            lambda: Call((AXES[:, None, :],)),  # K = 1: 0
            lambda: Call((jnp.ones((2, K, D)).at[:, 0].multiply(-1.0),)),  # opposite centres
            lambda: Call((AXES_K.astype(jnp.bfloat16),)),
        ),
        smooth_at=(0,),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((K, D)),)), "`proxies`"),
            Bad(lambda: Call((jnp.ones((2, K, D), jnp.int32),)), "`proxies`"),
            Bad(lambda: Call((jnp.ones((2, K, D)),), {"eps": -1.0}), "`eps`"),
        ),
    ),
]
