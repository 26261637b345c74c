"""Registry entries for jaxloss.contrastive.

`clip_loss` and `sigmoid_contrastive_loss` are registered through wrappers that take the
learnable scale and bias as (shared, scalar) arguments, so that the contract's gradient,
edge-case and Hessian checks reach them too.
"""

import jax.numpy as jnp

import jaxloss
from tests.registry import Bad, Call, Case, normal
from tests.registry._embedding_inputs import (
    COLLAPSED,
    DUPLICATED,
    PADDED,
    TWO_CLASSES,
    ZEROS,
    D,
    mining_call,
)

UNIT = DUPLICATED / jnp.linalg.norm(DUPLICATED, axis=-1, keepdims=True)
PAIRS_DUPLICATED = (DUPLICATED, DUPLICATED[::-1])
NAN_LAST = {
    "where": jnp.array([True, True, True, True, False]),
    "weights": jnp.array([1.0, 2.0, 0.5, 1.0, 1.0]),
    "reduction": "mean",
}
ALL_MASKED = {"where": jnp.zeros(4, bool), "reduction": "mean"}
SCALE, BIAS = jnp.array(2.0), jnp.array(-1.0)
# Texts for PADDED: other rows in another order, the masked (NaN) row still last.
PADDED_TEXTS = PADDED[jnp.array([2, 3, 0, 1, 4])]


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
    return Call((x, y, SCALE.astype(dtype), BIAS.astype(dtype)))


def _scaled_edges(scale_at_clamp):
    """Edge cases of the two image-text losses (args: images, texts, scale, bias)."""
    return (
        lambda: Call((*PAIRS_DUPLICATED, SCALE, BIAS)),  # duplicated embeddings
        lambda: Call((ZEROS, ZEROS, SCALE, BIAS)),  # zero vectors
        lambda: Call((jnp.ones((1, D)), jnp.ones((1, D)), SCALE, BIAS)),  # a batch of one
        lambda: Call((ZEROS, ZEROS, SCALE, BIAS), ALL_MASKED),  # every row masked
        lambda: Call((UNIT, UNIT[::-1], scale_at_clamp, BIAS)),  # open_clip's clamp, 100
        lambda: Call((PADDED, PADDED_TEXTS, SCALE, BIAS), NAN_LAST),
        lambda: Call(
            (COLLAPSED + UNIT, UNIT, SCALE, BIAS), {"method": "blockwise", "block_size": 3}
        ),
    )


def _scaled_bad(first):
    ok = (jnp.ones((4, D)), jnp.ones((4, D)), SCALE, BIAS)
    return (
        Bad(lambda: Call(ok, {"reduction": "avg"}), "`reduction`"),
        Bad(lambda: Call(ok, {"where": jnp.ones(3, bool)}), "`where`"),
        Bad(lambda: Call(ok, {"weights": -jnp.ones(4)}), "`weights`"),
        Bad(lambda: Call((jnp.ones((4, D)), jnp.ones((4, D + 1)), SCALE, BIAS)), "Shapes"),
        Bad(lambda: Call((jnp.ones((4, D), jnp.int32), *ok[1:])), f"`{first}`"),
        Bad(lambda: Call((jnp.ones((D,)), jnp.ones((D,)), SCALE, BIAS)), f"`{first}`"),
        Bad(lambda: Call((*ok[:2], jnp.ones(2), BIAS)), "`logit_scale`"),
        Bad(lambda: Call((*ok[:2], SCALE, jnp.ones(2))), "`logit_bias`"),
        Bad(lambda: Call(ok, {"method": "sparse"}), "`method`"),
        Bad(lambda: Call(ok, {"method": "ring"}), "`method`"),
        Bad(lambda: Call(ok, {"block_size": 0}), "`block_size`"),
    )


def _infonce(rng, batch, dtype):
    q, k = normal(rng, (*batch, D), dtype), normal(rng, (*batch, D), dtype)
    return Call((q, k), {"temperature": 0.5})


MULTI_POSITIVES = jnp.array(
    [[1, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 0]], bool
)  # query 3 has none
INFONCE_BAD_OK = (jnp.ones((4, D)), jnp.ones((4, D)))

CASES = [
    Case(
        "clip_loss",
        _paired,
        fn=_clip,
        grad_argnums=(0, 1, 2, 3),
        shared_args=(2, 3),
        edge_cases=(
            *_scaled_edges(jnp.array(100.0)),
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
        edge_cases=_scaled_edges(jnp.array(100.0)),
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
            lambda: Call((jnp.ones((1, D)), jnp.ones((1, D)))),  # a batch of one
            lambda: Call((ZEROS, ZEROS), ALL_MASKED),
            lambda: Call((UNIT, UNIT), {"temperature": 0.01}),  # saturated logits
            lambda: Call((PADDED, PADDED_TEXTS), NAN_LAST),
            lambda: Call(  # several positives, a query without one, and a bank of negatives
                (DUPLICATED, UNIT),
                {
                    "positives": MULTI_POSITIVES,
                    "negatives": 2.0 * COLLAPSED[:3],
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
            Bad(lambda: Call(INFONCE_BAD_OK, {"where": jnp.ones(3, bool)}), "`where`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"weights": -jnp.ones(4)}), "`weights`"),
            Bad(lambda: Call((jnp.ones((4, D)), jnp.ones((3, D)))), "Shapes"),
            Bad(lambda: Call((jnp.ones((4, D), jnp.int32), jnp.ones((4, D)))), "`queries`"),
            Bad(lambda: Call((jnp.ones((4, D)), jnp.ones((4, D), jnp.int32))), "`keys`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"temperature": 0.0}), "`temperature`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"positives": jnp.ones((4, 3), bool)}), "`positives`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"positives": jnp.ones((4, 4))}), "`positives`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"negatives": jnp.ones((5, D + 1))}), "`negatives`"),
            Bad(lambda: Call(INFONCE_BAD_OK, {"method": "ring"}), "`method`"),
        ),
    ),
    Case(
        "supervised_contrastive_loss",
        lambda rng, batch, dtype: mining_call(rng, batch, dtype, temperature=0.5),
        edge_cases=(
            lambda: Call((ZEROS, TWO_CLASSES)),
            lambda: Call((DUPLICATED, TWO_CLASSES)),
            lambda: Call((DUPLICATED, jnp.zeros(4, jnp.int32))),  # a single class
            lambda: Call((DUPLICATED, jnp.arange(4)), {"reduction": "mean"}),  # no positive
            lambda: Call((jnp.ones((1, D)), jnp.zeros(1, jnp.int32))),  # a batch of one
            lambda: Call((DUPLICATED, TWO_CLASSES), {"temperature": 0.01}),  # saturated
            lambda: Call((PADDED, jnp.array([0, 0, 1, 1, 0])), NAN_LAST),  # weighted mean
            lambda: Call(
                (COLLAPSED + UNIT, TWO_CLASSES),
                {"form": "in", "method": "blockwise", "block_size": 3},
            ),
        ),
        # Not at the zero vectors (0): the unit vector of 0 is a convention there.
        smooth_at=tuple(range(1, 8)),
        bad_calls=(
            Bad(lambda: Call((jnp.ones((4, D)), jnp.zeros((4, 1), jnp.int32))), "`labels`"),
            Bad(lambda: Call((jnp.ones((4, D)), jnp.zeros((4,)))), "`labels`"),
            Bad(lambda: Call((jnp.ones((4,)), jnp.zeros((4,), jnp.int32))), "`embeddings`"),
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"reduction": "avg"}), "`reduction`"),
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"where": jnp.ones(4)}), "`where`"),
            Bad(
                lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"weights": -jnp.ones(4)}),
                "`weights`",
            ),
            Bad(
                lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"temperature": -1.0}),
                "`temperature`",
            ),
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"form": "both"}), "`form`"),
            Bad(lambda: Call((jnp.ones((4, D)), TWO_CLASSES), {"method": "ring"}), "`method`"),
        ),
    ),
]
