"""Inputs, edge cases and malformed calls shared by the margin-softmax heads' and the proxy
losses' registries (``(embeddings, labels, class matrix)``). No ``CASES`` here."""

import jax.numpy as jnp
import numpy as np

from tests.registry import Bad, Call, full, integers, normal, on_device, ones, zeros

D, C, K = 4, 5, 3

# Built by numpy and transferred (no XLA program; tests/registry/__init__.py). The numpy
# originals (`_AXES`, ...) build what is made at import; what a thunk transfers later is
# taken from the device constants, of their dtypes (float32 if float64 was enabled after the
# import), as jnp.stack of them gave.
# Class rows on the axes (the fifth opposite the first), so that an embedding equal or
# opposite to its class row has a cosine of exactly +-1 in every precision.
_AXES = np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [-1, 0, 0, 0]])
_LABELS = np.array([0, 1, 2, 3])
_AT_ZERO = 2.0 * _AXES[_LABELS]
_AT_PI = -3.0 * _AXES[_LABELS]
_DUPLICATED = np.array([[1.0, 2, 0, 0], [1, 2, 0, 0], [3, 4, 0, 1], [3, 4, 0, 1]])
_PADDED = np.concatenate([_DUPLICATED, np.full((1, D), np.nan)])
_PADDED_LABELS = np.array([0, 0, 1, 1, 99])  # the padding's label is out of range too
_PADDED_WHERE = np.array([True, True, True, True, False])

AXES = on_device(_AXES)
AXES_K = on_device(np.stack([_AXES, np.roll(_AXES, 1, axis=0), 0.5 * _AXES + 0.25], axis=1))
LABELS = on_device(_LABELS)
AT_ZERO = on_device(_AT_ZERO)  # angle 0 to the class row
AT_PI = on_device(_AT_PI)  # angle pi
DUPLICATED = on_device(_DUPLICATED)
PADDED = on_device(_PADDED)
PADDED_LABELS = on_device(_PADDED_LABELS)
PADDED_WHERE = on_device(_PADDED_WHERE)


def class_matrix(rng, dtype, centers=False):
    return normal(rng, (C, K, D) if centers else (C, D), dtype)


def class_call(rng, batch, dtype, centers=False, **kwargs):
    x = normal(rng, (*batch, D), dtype)
    return Call((x, integers(rng, batch, C), class_matrix(rng, dtype, centers)), kwargs)


def _combined():
    """One call ``[3, 5, D]`` for the smooth singular configurations: slice 0 duplicated
    rows with classes 2-4 absent, slice 1 collapsed rows, slice 2 one class; in every slice
    a fifth, masked-out row of NaN with an out-of-range label."""
    collapsed, one_class = _PADDED.copy(), _PADDED_LABELS.copy()
    collapsed[:4], one_class[:4] = 1.0, 2
    x = np.stack([_PADDED, collapsed, _PADDED])
    y = np.stack([_PADDED_LABELS, _PADDED_LABELS, one_class])
    return on_device(x), on_device(y), on_device(np.broadcast_to(_PADDED_WHERE, (3, 5)))


def edges(matrix, matrix_k=None, weights=True, **kwargs):
    """The singular configurations every head and proxy loss registers (indices in order):
    0 duplicated / collapsed / one class / absent classes / masked NaN padding (with weights
    where the loss takes them), in one call; 1 angle 0; 2 angle pi; 3 zero embedding and zero
    class row; 4 bfloat16 at angles 0 and pi."""
    w = matrix if matrix_k is None else matrix_k
    zero_x, zero_w = np.zeros((4, D)), np.array(w)  # w's host copy, of its dtype
    zero_x[1], zero_w[1] = 1.0, 0.0  # embeddings zero but row 1; class row 1 zero
    bf16 = on_device(np.concatenate([_AT_ZERO[:2], _AT_PI[2:]]), jnp.bfloat16)
    w_bf16 = on_device(w, jnp.bfloat16)
    x, y, where = _combined()
    masked = {"where": where}
    if weights:
        masked["weights"] = on_device([1.0, 2, 0.5, 1, 3])
    return (
        lambda: Call((x, y, w), {**kwargs, **masked}),
        lambda: Call((AT_ZERO, LABELS, w), kwargs),
        lambda: Call((AT_PI, LABELS, w), kwargs),
        lambda: Call((on_device(zero_x), LABELS, on_device(zero_w)), kwargs),
        lambda: Call((bf16, LABELS, w_bf16), kwargs),
    )


def both_angles(matrix, **kwargs):
    """Angles 0 and pi in one call ``[2, 4, D]`` (for option variants)."""
    x, y = np.stack([AT_ZERO, AT_PI]), np.stack([LABELS, LABELS])  # of their dtypes
    return lambda: Call((on_device(x), on_device(y), matrix), kwargs)


def class_bad(name, centers=False, reducing=True):
    shape = (C, K, D) if centers else (C, D)
    w = ones(shape)
    x, y = ones((4, D)), LABELS
    out = [
        Bad(lambda: Call((x, y, ones((*shape[:-1], D + 1)))), f"`{name}`"),
        Bad(lambda: Call((x, y, ones(shape[1:]))), f"`{name}`"),
        Bad(lambda: Call((x, y, ones(shape, jnp.int32))), f"`{name}`"),
        Bad(lambda: Call((x, zeros(4), w)), "`labels`"),
        Bad(lambda: Call((x, zeros(3, jnp.int32), w)), "`labels`"),
        Bad(lambda: Call((ones((4, D), jnp.int32), y, w)), "`embeddings`"),
        Bad(lambda: Call((ones((D,)), zeros((), jnp.int32), w)), "`embeddings`"),
        Bad(lambda: Call((x, y, w), {"where": ones(3, bool)}), "`where`"),
        Bad(lambda: Call((x, y, w), {"eps": 0.0}), "`eps`"),
    ]
    if reducing:
        out += [
            Bad(lambda: Call((x, y, w), {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call((x, y, w), {"weights": full(4, -1.0)}), "`weights`"),
        ]
    return tuple(out)


def option_bad(centers=False, **options):
    w = ones((C, K, D) if centers else (C, D))
    return tuple(
        Bad(lambda k=k, v=v: Call((ones((4, D)), LABELS, w), {k: v}), f"`{k}`")
        for k, v in options.items()
    )
