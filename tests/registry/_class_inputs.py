"""Inputs, edge cases and malformed calls shared by the margin-softmax heads' and the proxy
losses' registries (``(embeddings, labels, class matrix)``). No ``CASES`` here."""

import jax.numpy as jnp

from tests.registry import Bad, Call, integers, normal

D, C, K = 4, 5, 3

# Class rows on the axes (the fifth opposite the first), so that an embedding equal or
# opposite to its class row has a cosine of exactly +-1 in every precision.
AXES = jnp.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [-1, 0, 0, 0]])
AXES_K = jnp.stack([AXES, jnp.roll(AXES, 1, axis=0), 0.5 * AXES + 0.25], axis=1)  # [C, K, D]
LABELS = jnp.array([0, 1, 2, 3])
AT_ZERO = 2.0 * AXES[LABELS]  # angle 0 to the class row
AT_PI = -3.0 * AXES[LABELS]  # angle pi
DUPLICATED = jnp.array([[1.0, 2, 0, 0], [1, 2, 0, 0], [3, 4, 0, 1], [3, 4, 0, 1]])
PADDED = jnp.concatenate([DUPLICATED, jnp.full((1, D), jnp.nan)])
PADDED_LABELS = jnp.array([0, 0, 1, 1, 99])  # the padding's label is out of range too
PADDED_WHERE = jnp.array([True, True, True, True, False])


def class_matrix(rng, dtype, centers=False):
    return normal(rng, (C, K, D) if centers else (C, D), dtype)


def class_call(rng, batch, dtype, centers=False, **kwargs):
    x = normal(rng, (*batch, D), dtype)
    return Call((x, integers(rng, batch, C), class_matrix(rng, dtype, centers)), kwargs)


def _combined():
    """One call ``[3, 5, D]`` for the smooth singular configurations: slice 0 duplicated
    rows with classes 2-4 absent, slice 1 collapsed rows, slice 2 one class; in every slice
    a fifth, masked-out row of NaN with an out-of-range label."""
    x = jnp.stack([PADDED, PADDED.at[:4].set(1.0), PADDED])
    y = jnp.stack([PADDED_LABELS, PADDED_LABELS, PADDED_LABELS.at[:4].set(2)])
    return x, y, jnp.broadcast_to(PADDED_WHERE, (3, 5))


def edges(matrix, matrix_k=None, weights=True, **kwargs):
    """The singular configurations every head and proxy loss registers (indices in order):
    0 duplicated / collapsed / one class / absent classes / masked NaN padding (with weights
    where the loss takes them), in one call; 1 angle 0; 2 angle pi; 3 zero embedding and zero
    class row; 4 bfloat16 at angles 0 and pi."""
    w = matrix if matrix_k is None else matrix_k
    zero_w = w.at[1].set(0.0)
    bf16 = jnp.concatenate([AT_ZERO[:2], AT_PI[2:]]).astype(jnp.bfloat16)
    x, y, where = _combined()
    masked = {"where": where}
    if weights:
        masked["weights"] = jnp.array([1.0, 2, 0.5, 1, 3])
    return (
        lambda: Call((x, y, w), {**kwargs, **masked}),
        lambda: Call((AT_ZERO, LABELS, w), kwargs),
        lambda: Call((AT_PI, LABELS, w), kwargs),
        lambda: Call((jnp.zeros((4, D)).at[1].set(1.0), LABELS, zero_w), kwargs),
        lambda: Call((bf16, LABELS, w.astype(jnp.bfloat16)), kwargs),
    )


def both_angles(matrix, **kwargs):
    """Angles 0 and pi in one call ``[2, 4, D]`` (for option variants)."""
    return lambda: Call((jnp.stack([AT_ZERO, AT_PI]), jnp.stack([LABELS, LABELS]), matrix), kwargs)


def class_bad(name, centers=False, reducing=True):
    shape = (C, K, D) if centers else (C, D)
    w = jnp.ones(shape)
    x, y = jnp.ones((4, D)), LABELS
    out = [
        Bad(lambda: Call((x, y, jnp.ones((*shape[:-1], D + 1)))), f"`{name}`"),
        Bad(lambda: Call((x, y, jnp.ones(shape[1:]))), f"`{name}`"),
        Bad(lambda: Call((x, y, jnp.ones(shape, jnp.int32))), f"`{name}`"),
        Bad(lambda: Call((x, jnp.zeros(4), w)), "`labels`"),
        Bad(lambda: Call((x, jnp.zeros(3, jnp.int32), w)), "`labels`"),
        Bad(lambda: Call((jnp.ones((4, D), jnp.int32), y, w)), "`embeddings`"),
        Bad(lambda: Call((jnp.ones((D,)), jnp.zeros((), jnp.int32), w)), "`embeddings`"),
        Bad(lambda: Call((x, y, w), {"where": jnp.ones(3, bool)}), "`where`"),
        Bad(lambda: Call((x, y, w), {"eps": 0.0}), "`eps`"),
    ]
    if reducing:
        out += [
            Bad(lambda: Call((x, y, w), {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call((x, y, w), {"weights": -jnp.ones(4)}), "`weights`"),
        ]
    return tuple(out)


def option_bad(centers=False, **options):
    w = jnp.ones((C, K, D) if centers else (C, D))
    return tuple(
        Bad(lambda k=k, v=v: Call((jnp.ones((4, D)), LABELS, w), {k: v}), f"`{k}`")
        for k, v in options.items()
    )
