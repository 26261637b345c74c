"""Registry entries for jaxloss.contrastive.

`clip_loss` and `sigmoid_contrastive_loss` are registered through wrappers that take the
learnable scale and bias as (shared, scalar) arguments, so that the contract's gradient,
edge-case and Hessian checks reach them too.
"""

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss
from tests.registry import Bad, Call, Case, full, normal, on_device, ones, zeros
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    PADDED,
    TWO_CLASSES,
    ZEROS,
    D,
    mining_call,
)

# numpy on host copies (no XLA program), in the constants' dtypes, with the bits jnp gave:
# XLA divides by the broadcast norm as a multiplication by its reciprocal (in float64 the
# IEEE quotient differs in the last bit); the square root rounds as XLA's (IEEE).
_unit = np.asarray(DUPLICATED) * (1 / np.linalg.norm(DUPLICATED, axis=-1, keepdims=True))
UNIT = on_device(_unit)
UNIT_REVERSED = on_device(_unit[::-1])
COLLAPSED_PLUS_UNIT = on_device(np.asarray(COLLAPSED) + _unit)
PAIRS_DUPLICATED = (DUPLICATED, on_device(np.asarray(DUPLICATED)[::-1]))
NAN_LAST = {
    "where": on_device([True, True, True, True, False]),
    "weights": on_device([1.0, 2.0, 0.5, 1.0, 1.0]),
    "reduction": "mean",
}
ALL_MASKED = {"where": zeros(4, bool), "reduction": "mean"}
# Weakly typed scalars, as jnp.array(2.0) gave (device_put of a Python scalar: no program).
SCALE, BIAS = jax.device_put(2.0), jax.device_put(-1.0)
# Texts for PADDED: other rows in another order, the masked (NaN) row still last.
PADDED_TEXTS = on_device(np.asarray(PADDED)[[2, 3, 0, 1, 4]])


def _clip(
    image_embeddings,
    text_embeddings,
    logit_scale,
    logit_bias,
    *,
    reduction="none",
    where=None,
    weights=None,
    axis_name=None,
    **options,
):
    return jaxloss.clip_loss(
        image_embeddings,
        text_embeddings,
        logit_scale=logit_scale,
        logit_bias=logit_bias,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=axis_name,
        **options,
    )


def _sigmoid(
    image_embeddings,
    text_embeddings,
    logit_scale,
    logit_bias,
    *,
    reduction="none",
    where=None,
    weights=None,
    axis_name=None,
    **options,
):
    return jaxloss.sigmoid_contrastive_loss(
        image_embeddings,
        text_embeddings,
        logit_scale=logit_scale,
        logit_bias=logit_bias,
        reduction=reduction,
        where=where,
        weights=weights,
        axis_name=axis_name,
        **options,
    )


def _paired(rng, batch, dtype):
    x, y = normal(rng, (*batch, D), dtype), normal(rng, (*batch, D), dtype)
    return Call((x, y, on_device(SCALE, dtype), on_device(BIAS, dtype)))


def _scaled_edges(scale_at_clamp):
    """Edge cases of the two image-text losses (args: images, texts, scale, bias)."""
    return (
        lambda: Call((*PAIRS_DUPLICATED, SCALE, BIAS)),  # duplicated embeddings
        lambda: Call((ZEROS, ZEROS, SCALE, BIAS)),  # zero vectors
        lambda: Call((ones((1, D)), ones((1, D)), SCALE, BIAS)),  # a batch of one
        lambda: Call((ZEROS, ZEROS, SCALE, BIAS), ALL_MASKED),  # every row masked
        lambda: Call((UNIT, UNIT_REVERSED, scale_at_clamp, BIAS)),  # open_clip's clamp, 100
        lambda: Call((PADDED, PADDED_TEXTS, SCALE, BIAS), NAN_LAST),
        lambda: Call(
            (COLLAPSED_PLUS_UNIT, UNIT, SCALE, BIAS), {"method": "blockwise", "block_size": 3}
        ),
    )


def _scaled_bad(first):
    ok = (ones((4, D)), ones((4, D)), SCALE, BIAS)
    return (
        Bad(lambda: Call(ok, {"reduction": "avg"}), "`reduction`"),
        Bad(lambda: Call(ok, {"where": ones(3, bool)}), "`where`"),
        Bad(lambda: Call(ok, {"weights": full(4, -1.0)}), "`weights`"),
        Bad(lambda: Call((ones((4, D)), ones((4, D + 1)), SCALE, BIAS)), "Shapes"),
        Bad(lambda: Call((ones((4, D), jnp.int32), *ok[1:])), f"`{first}`"),
        Bad(lambda: Call((ones((D,)), ones((D,)), SCALE, BIAS)), f"`{first}`"),
        Bad(lambda: Call((*ok[:2], ones(2), BIAS)), "`logit_scale`"),
        Bad(lambda: Call((*ok[:2], SCALE, ones(2))), "`logit_bias`"),
        Bad(lambda: Call(ok, {"method": "sparse"}), "`method`"),
        Bad(lambda: Call(ok, {"method": "ring"}), "`method`"),
        Bad(lambda: Call(ok, {"block_size": 0}), "`block_size`"),
    )


def _infonce(rng, batch, dtype):
    q, k = normal(rng, (*batch, D), dtype), normal(rng, (*batch, D), dtype)
    return Call((q, k), {"temperature": 0.5})


MULTI_POSITIVES = on_device(
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], bool
)  # query 3 has none
INFONCE_BAD_OK = (ones((4, D)), ones((4, D)))

CASES = [
    Case(
        "clip_loss",
        _paired,
        fn=_clip,
        grad_argnums=(0, 1, 2, 3),
        shared_args=(2, 3),
        edge_cases=(
            *_scaled_edges(jax.device_put(100.0)),
            lambda: Call(
                (PADDED, PADDED, SCALE, BIAS),
                {**NAN_LAST, "label_smoothing": 0.2},
            ),
        ),
        smooth_at=tuple(range(8)),
        bad_calls=(
            *_scaled_bad("image_embeddings"),
            Bad(lambda: Call((*INFONCE_BAD_OK, SCALE, BIAS), {"temperature": 0.1}), "exactly"),
            Bad(
                lambda: Call((*INFONCE_BAD_OK, SCALE, BIAS), {"label_smoothing": 1.5}),
                "`label_smoothing`",
            ),
        ),
    ),
    Case(
        "sigmoid_contrastive_loss",
        _paired,
        fn=_sigmoid,
        grad_argnums=(0, 1, 2, 3),
        shared_args=(2, 3),
        edge_cases=_scaled_edges(jax.device_put(100.0)),
        smooth_at=tuple(range(7)),
        bad_calls=_scaled_bad("image_embeddings"),
    ),
    Case(
        "infonce_loss",
        _infonce,
        grad_argnums=(0, 1),
        edge_cases=(
            lambda: Call(PAIRS_DUPLICATED),
            lambda: Call((ZEROS, ZEROS)),
            lambda: Call((ones((1, D)), ones((1, D)))),  # a batch of one
            lambda: Call((ZEROS, ZEROS), ALL_MASKED),
            lambda: Call((UNIT, UNIT), {"temperature": 0.01}),  # saturated logits
            lambda: Call((PADDED, PADDED_TEXTS), NAN_LAST),
            lambda: Call(  # several positives, a query without one, and a bank of negatives
                (DUPLICATED, UNIT),
                {
                    "positives": MULTI_POSITIVES,
                    "negatives": on_device(2.0 * np.asarray(COLLAPSED)[:3]),
                    "reduction": "mean",
                },
            ),
            lambda: Call(
                (DUPLICATED, UNIT),
                {"positives": MULTI_POSITIVES, "method": "blockwise", "block_size": 3},
            ),
        ),
        smooth_at=tuple(range(8)),
        bad_calls=(
            Bad(lambda: Call(INFONCE_BAD_OK, {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"where": ones(3, bool)}), "`where`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"weights": full(4, -1.0)}), "`weights`"),
            Bad(lambda: Call((ones((4, D)), ones((3, D)))), "Shapes"),
            Bad(lambda: Call((ones((4, D), jnp.int32), ones((4, D)))), "`queries`"),
            Bad(lambda: Call((ones((4, D)), ones((4, D), jnp.int32))), "`keys`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"temperature": 0.0}), "`temperature`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"positives": ones((4, 3), bool)}), "`positives`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"positives": ones((4, 4))}), "`positives`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"negatives": ones((5, D + 1))}), "`negatives`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"method": "ring"}), "`method`"),
        ),
    ),
    Case(
        "supervised_contrastive_loss",
        lambda rng, batch, dtype: mining_call(rng, batch, dtype, temperature=0.5),
        edge_cases=(
            lambda: Call((ZEROS, TWO_CLASSES)),
            lambda: Call((DUPLICATED, TWO_CLASSES)),
            lambda: Call((DUPLICATED, zeros(4, jnp.int32))),  # a single class
            # no positive
            lambda: Call((DUPLICATED, on_device(np.arange(4))), {"reduction": "mean"}),
            lambda: Call((ones((1, D)), zeros(1, jnp.int32))),  # a batch of one
            lambda: Call((DUPLICATED, TWO_CLASSES), {"temperature": 0.01}),  # saturated
            lambda: Call((PADDED, on_device([0, 0, 1, 1, 0])), NAN_LAST),  # weighted mean
            lambda: Call(
                (COLLAPSED_PLUS_UNIT, TWO_CLASSES),
                {"form": "in", "method": "blockwise", "block_size": 3},
            ),
        ),
        # Not at the zero vectors (0): the unit vector of 0 is a convention there.
        smooth_at=tuple(range(1, 8)),
        bad_calls=(
            Bad(lambda: Call((ones((4, D)), zeros((4, 1), jnp.int32))), "`labels`"),
            Bad(lambda: Call((ones((4, D)), zeros((4,)))), "`labels`"),
            Bad(lambda: Call((ones((4,)), zeros((4,), jnp.int32))), "`embeddings`"),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"where": ones(4)}), "`where`"),
            Bad(
                lambda: Call((ones((4, D)), TWO_CLASSES), {"weights": full(4, -1.0)}),
                "`weights`",
            ),
            Bad(
                lambda: Call((ones((4, D)), TWO_CLASSES), {"temperature": -1.0}),
                "`temperature`",
            ),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"form": "both"}), "`form`"),
            Bad(lambda: Call((ones((4, D)), TWO_CLASSES), {"method": "ring"}), "`method`"),
        ),
    ),
]
