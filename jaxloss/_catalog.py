"""The catalog: every public function of jaxloss evaluated on a small example batch.

Run with ``python -m jaxloss.demo --table`` (``make demo`` runs the training demo). Each row
shows the function, the example it was given, the per-example output shape and the mean
value, computed under ``jax.jit``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import jaxloss

B, K, D = 8, 5, 16

# (description of the example input, thunk). The thunk returns a pytree of arrays: a loss
# value, a ``(sum, count)`` pair, or ``(total, aux)`` of `composite_loss`; `rows` tabulates
# its first leaf.
Example = tuple[str, Callable[[], Any]]


def _examples() -> dict[str, Example]:
    keys = jax.random.split(jax.random.key(0), 8)
    logits = 2.0 * jax.random.normal(keys[0], (B, K))
    labels = jax.random.randint(keys[1], (B,), 0, K)
    one_hot = jax.nn.one_hot(labels, K)
    binary = jax.random.bernoulli(keys[2], 0.4, (B, K)).astype(jnp.float32)
    probs = jax.nn.softmax(jax.random.normal(keys[3], (B, K)))
    embeddings = jax.random.normal(keys[4], (B, D))
    unembedding = jax.random.normal(keys[5], (K, D)) / D**0.5
    cls = f"logits [{B},{K}], labels [{B}]"
    soft = f"logits [{B},{K}], one-hot [{B},{K}]"
    binary_desc = f"logits [{B},{K}], 0/1 targets"
    return {
        "reduce": (f"losses [{B},{K}]", lambda: jaxloss.reduce(jnp.abs(logits))),
        "mean_from_sum_and_count": (
            f"(sum, count) of losses [{B},{K}]",
            lambda: jaxloss.mean_from_sum_and_count(
                jaxloss.reduce(jnp.abs(logits), reduction="sum_and_count")
            ),
        ),
        "softmax": (f"logits [{B},{K}]", lambda: jaxloss.softmax(logits)),
        "log_softmax": (f"logits [{B},{K}]", lambda: jaxloss.log_softmax(logits)),
        "sigmoid": (f"logits [{B},{K}]", lambda: jaxloss.sigmoid(logits)),
        "log_sigmoid": (f"logits [{B},{K}]", lambda: jaxloss.log_sigmoid(logits)),
        "softmax_cross_entropy": (
            soft + ", smoothing 0.1",
            lambda: jaxloss.softmax_cross_entropy(logits, one_hot, label_smoothing=0.1),
        ),
        "safe_softmax_cross_entropy": (
            soft,
            lambda: jaxloss.safe_softmax_cross_entropy(logits, one_hot),
        ),
        "softmax_cross_entropy_with_integer_labels": (
            cls,
            lambda: jaxloss.softmax_cross_entropy_with_integer_labels(logits, labels),
        ),
        "smooth_labels": (
            f"one-hot [{B},{K}], alpha 0.1",
            lambda: jaxloss.smooth_labels(one_hot, 0.1),
        ),
        "sigmoid_binary_cross_entropy": (
            binary_desc,
            lambda: jaxloss.sigmoid_binary_cross_entropy(logits, binary),
        ),
        "binary_cross_entropy": (
            f"probabilities [{B},{K}], 0/1 targets",
            lambda: jaxloss.binary_cross_entropy(probs, binary),
        ),
        "sigmoid_focal_loss": (
            binary_desc + ", gamma 2",
            lambda: jaxloss.sigmoid_focal_loss(logits, binary, alpha=0.25),
        ),
        "fused_linear_cross_entropy": (
            f"embeddings [{B},{D}], weight [{K},{D}], labels [{B}]",
            lambda: jaxloss.fused_linear_cross_entropy(embeddings, unembedding, labels),
        ),
        "softmax_focal_loss": (
            cls + ", gamma 2",
            lambda: jaxloss.softmax_focal_loss(logits, labels),
        ),
        **_divergences(probs, jax.nn.softmax(logits), keys[4]),
        **_distribution_distances(probs, jax.nn.softmax(logits), keys[6]),
        **_regression(keys[5]),
        **_images(keys[6]),
        **_segmentation_examples(keys[4], keys[5]),
        **_distances(keys[7]),
        # Registration: a 2-D image pair and a displacement field.
        "local_normalized_cross_correlation_loss": (
            "images [2,16,16,1] vs a shifted copy, 9x9 box",
            lambda: jaxloss.local_normalized_cross_correlation_loss(
                jax.random.uniform(keys[6], (2, 16, 16, 1)),
                jnp.roll(jax.random.uniform(keys[6], (2, 16, 16, 1)), 1, axis=1),
                kernel_size=9,
            ),
        ),
        **{
            fn.__name__: (
                "displacement [2,16,16,2]",
                lambda fn=fn: fn(0.5 * jax.random.normal(keys[7], (2, 16, 16, 2))),
            )
            for fn in (
                jaxloss.bending_energy_loss,
                jaxloss.diffusion_regularizer,
                jaxloss.jacobian_folding_penalty,
            )
        },
        **_embeddings(keys[3]),
        # Margin-softmax heads and proxy losses: class rows (or K = 3 centres) per class.
        **{
            name: (f"embeddings [{B},{D}], labels [{B}], weight [{K},{D}]", thunk)
            for name, thunk in {
                "arcface_loss": lambda: jaxloss.arcface_loss(embeddings, labels, unembedding),
                "cosface_loss": lambda: jaxloss.cosface_loss(embeddings, labels, unembedding),
                "sphereface_loss": lambda: jaxloss.sphereface_loss(embeddings, labels, unembedding),
                "normalized_softmax_loss": lambda: jaxloss.normalized_softmax_loss(
                    embeddings, labels, unembedding
                ),
            }.items()
        },
        "proxy_nca_loss": (
            f"embeddings [{B},{D}], labels [{B}], proxies [{K},{D}]",
            lambda: jaxloss.proxy_nca_loss(embeddings, labels, unembedding),
        ),
        "proxy_anchor_loss": (
            f"embeddings [{B},{D}], labels [{B}], proxies [{K},{D}] (one value)",
            lambda: jaxloss.proxy_anchor_loss(embeddings, labels, unembedding),
        ),
        "subcenter_arcface_loss": (
            f"embeddings [{B},{D}], labels [{B}], weight [{K},3,{D}]",
            lambda: jaxloss.subcenter_arcface_loss(
                embeddings, labels, jax.random.normal(keys[6], (K, 3, D))
            ),
        ),
        "soft_triple_loss": (
            f"embeddings [{B},{D}], labels [{B}], proxies [{K},3,{D}]",
            lambda: jaxloss.soft_triple_loss(
                embeddings, labels, jax.random.normal(keys[6], (K, 3, D))
            ),
        ),
        "sparse_centers_penalty": (
            f"proxies [{K},3,{D}]",
            lambda: jaxloss.sparse_centers_penalty(jax.random.normal(keys[6], (K, 3, D))),
        ),
        **_optax_reexports(keys[7]),
        "composite_loss": (
            f"logits [{B},{K}], labels: CE + 0.5 focal",
            lambda: jaxloss.composite_loss(
                {
                    "ce": jaxloss.softmax_cross_entropy_with_integer_labels,
                    "focal": (jaxloss.softmax_focal_loss, 0.5),
                }
            )(logits, labels),
        ),
        **_likelihoods_and_margins(logits, labels, keys[6]),
        **_probabilistic(keys[7]),
    }


def _likelihoods_and_margins(logits, labels, key):
    log_probs = jax.nn.log_softmax(logits)
    k1, k2, k3 = jax.random.split(key, 3)
    scores = jax.random.normal(k1, (B,))
    other = jax.random.normal(k2, (B,))
    signs = jnp.where(jax.random.bernoulli(k3, 0.5, (B,)), 1, -1)
    multi_hot = (logits > 0).astype(jnp.float32)
    target_lists = jnp.where(jnp.arange(K)[None] < 2, jnp.argsort(-logits, axis=-1), -1)
    cls = f"logits [{B},{K}], labels [{B}]"
    return {
        "nll_loss": (
            f"log-probabilities [{B},{K}], labels [{B}]",
            lambda: jaxloss.nll_loss(log_probs, labels),
        ),
        "gaussian_nll_loss": (
            f"means, targets, variances [{B}]",
            lambda: jaxloss.gaussian_nll_loss(scores, other, jnp.exp(other)),
        ),
        "poisson_nll_loss": (
            f"log-rates [{B}], counts [{B}]",
            lambda: jaxloss.poisson_nll_loss(scores, jnp.round(jnp.exp(other))),
        ),
        "margin_ranking_loss": (
            f"x1, x2 [{B}], labels +-1, margin 0.1",
            lambda: jaxloss.margin_ranking_loss(scores, other, signs, margin=0.1),
        ),
        "hinge_embedding_loss": (
            f"distances [{B}], labels +-1",
            lambda: jaxloss.hinge_embedding_loss(jnp.abs(scores), signs),
        ),
        "soft_margin_loss": (
            f"scores [{B}], labels +-1",
            lambda: jaxloss.soft_margin_loss(scores, signs),
        ),
        "multilabel_soft_margin_loss": (
            f"logits [{B},{K}], multi-hot [{B},{K}]",
            lambda: jaxloss.multilabel_soft_margin_loss(logits, multi_hot),
        ),
        "multilabel_margin_loss": (
            f"logits [{B},{K}], top-2 ids padded with -1",
            lambda: jaxloss.multilabel_margin_loss(logits, target_lists),
        ),
        "multi_margin_loss": (cls, lambda: jaxloss.multi_margin_loss(logits, labels)),
    }


def _probabilistic(key):
    k1, k2, k3 = jax.random.split(key, 3)
    mean = jax.random.normal(k1, (B,))
    targets = mean + jax.random.normal(k2, (B,))
    spread = jnp.exp(0.3 * jax.random.normal(k3, (B,)))
    members = mean[:, None] + jax.random.normal(k3, (B, D))
    quantiles = jnp.array([0.1, 0.5, 0.9])
    levels = mean[:, None] + jnp.array([[-1.28, 0.0, 1.28]])
    counts = jnp.round(jnp.exp(targets))
    pt = f"means, targets [{B}]"
    return {
        "quantile_loss": (
            f"quantiles 0.1/0.5/0.9 [{B},3], targets [{B}]",
            lambda: jaxloss.quantile_loss(levels, targets, quantiles=quantiles),
        ),
        "tweedie_deviance": (
            f"rates, counts [{B}], power 1.5",
            lambda: jaxloss.tweedie_deviance(spread, counts, power=1.5),
        ),
        "poisson_deviance": (
            f"rates, counts [{B}]",
            lambda: jaxloss.poisson_deviance(spread, counts),
        ),
        "gamma_deviance": (
            f"means, positive targets [{B}]",
            lambda: jaxloss.gamma_deviance(spread, jnp.exp(targets)),
        ),
        "gaussian_crps": (
            pt + ", scales",
            lambda: jaxloss.gaussian_crps(mean, targets, spread),
        ),
        "ensemble_crps": (
            f"ensemble [{B},{D}], targets [{B}], fair",
            lambda: jaxloss.ensemble_crps(members, targets, estimator="fair"),
        ),
        "student_t_nll": (
            pt + ", scales, df 4",
            lambda: jaxloss.student_t_nll(mean, targets, spread, df=4.0),
        ),
        "general_robust_loss": (
            pt + ", alpha 0 (Cauchy)",
            lambda: jaxloss.general_robust_loss(mean, targets, alpha=0.0),
        ),
    }


def _distances(key):
    x, y = jax.random.normal(key, (2, B, D))
    xy = f"x, y [{B},{D}]"
    binary_x, binary_y = x > 0, y > 0
    labels_a = jax.random.randint(key, (64,), 0, 4)
    labels_b = (labels_a + jax.random.bernoulli(key, 0.3, (64,))) % 4
    signal = jax.random.uniform(key, (256,))
    noisy = jnp.clip(signal + 0.1 * jax.random.normal(jax.random.fold_in(key, 1), (256,)), 0, 1)
    joint = jnp.array([[0.3, 0.1], [0.1, 0.5]])
    cov = jnp.eye(D) + 0.5
    labels = "two labelings of 64 points, 4 classes"
    return {
        "euclidean_distance": (xy, lambda: jaxloss.euclidean_distance(x, y)),
        "squared_euclidean_distance": (xy, lambda: jaxloss.squared_euclidean_distance(x, y)),
        "minkowski_distance": (xy + ", p 3", lambda: jaxloss.minkowski_distance(x, y, p=3.0)),
        "manhattan_distance": (xy, lambda: jaxloss.manhattan_distance(x, y)),
        "chebyshev_distance": (xy, lambda: jaxloss.chebyshev_distance(x, y)),
        "mahalanobis_distance": (
            xy + ", covariance I + 0.5",
            lambda: jaxloss.mahalanobis_distance(x, y, covariance=cov),
        ),
        "cosine_similarity": (xy, lambda: jaxloss.cosine_similarity(x, y)),
        "cosine_distance": (xy, lambda: jaxloss.cosine_distance(x, y)),
        "pearson_correlation": (xy, lambda: jaxloss.pearson_correlation(x, y)),
        "correlation_distance": (xy, lambda: jaxloss.correlation_distance(x, y)),
        "jaccard_index": (xy + " > 0 (binary)", lambda: jaxloss.jaccard_index(binary_x, binary_y)),
        "jaccard_distance": (
            xy + " > 0 (binary)",
            lambda: jaxloss.jaccard_distance(binary_x, binary_y),
        ),
        "hamming_distance": (
            xy + " > 0 (binary)",
            lambda: jaxloss.hamming_distance(binary_x, binary_y),
        ),
        "pairwise_distances": (
            f"x [{B},{D}], self, euclidean",
            lambda: jaxloss.pairwise_distances(x),
        ),
        "mutual_information": (
            labels,
            lambda: jaxloss.mutual_information(
                labels_a, labels_b, num_classes_a=4, num_classes_b=4
            ),
        ),
        "normalized_mutual_information": (
            labels,
            lambda: jaxloss.normalized_mutual_information(
                labels_a, labels_b, num_classes_a=4, num_classes_b=4
            ),
        ),
        "mutual_information_from_joint": (
            "joint table [2,2]",
            lambda: jaxloss.mutual_information_from_joint(joint),
        ),
        "soft_mutual_information": (
            "signal [256] vs noisy copy, Parzen",
            lambda: jaxloss.soft_mutual_information(signal, noisy),
        ),
    }


def _embeddings(key):
    e = jax.random.normal(key, (4, B, D))
    a, p, n, n2 = e[0], e[0] + 0.3 * e[1], e[2], e[3]
    batch = jnp.concatenate([a, p])
    ids = jnp.tile(jnp.arange(B) % 4, 2)
    pairs = jnp.where(jnp.arange(B) % 2 == 0, 1.0, 0.0)
    signs = 2.0 * pairs - 1.0
    trip = f"anchors, positives, negatives [{B},{D}]"
    mined = f"embeddings [{2 * B},{D}], 4 classes"
    beta = jnp.full((4,), 1.2)
    return {
        "cosine_similarity_loss": (f"a, p [{B},{D}]", lambda: jaxloss.cosine_similarity_loss(a, p)),
        "cosine_embedding_loss": (
            f"x1, x2 [{B},{D}], labels +-1",
            lambda: jaxloss.cosine_embedding_loss(a, p, signs),
        ),
        "contrastive_loss": (
            f"x1, x2 [{B},{D}], labels 0/1",
            lambda: jaxloss.contrastive_loss(a, p, pairs),
        ),
        "ntxent": (mined, lambda: jaxloss.ntxent(batch, ids)),
        "triplet_margin_loss": (trip, lambda: jaxloss.triplet_margin_loss(a, p, n)),
        "quadruplet_loss": (trip + ", negatives2", lambda: jaxloss.quadruplet_loss(a, p, n, n2)),
        "batch_all_triplet_loss": (mined, lambda: jaxloss.batch_all_triplet_loss(batch, ids)),
        "batch_hard_triplet_loss": (mined, lambda: jaxloss.batch_hard_triplet_loss(batch, ids)),
        "semihard_triplet_loss": (mined, lambda: jaxloss.semihard_triplet_loss(batch, ids)),
        "batch_hard_quadruplet_loss": (
            mined,
            lambda: jaxloss.batch_hard_quadruplet_loss(batch, ids),
        ),
        "clip_loss": (
            f"images, texts [{B},{D}], scale 10",
            lambda: jaxloss.clip_loss(a, p, logit_scale=10.0),
        ),
        "sigmoid_contrastive_loss": (
            f"images, texts [{B},{D}], scale 10, bias -10",
            lambda: jaxloss.sigmoid_contrastive_loss(a, p, logit_scale=10.0, logit_bias=-10.0),
        ),
        "infonce_loss": (f"queries, keys [{B},{D}]", lambda: jaxloss.infonce_loss(a, p)),
        "supervised_contrastive_loss": (
            mined,
            lambda: jaxloss.supervised_contrastive_loss(batch, ids),
        ),
        "multi_similarity_loss": (mined, lambda: jaxloss.multi_similarity_loss(batch, ids)),
        "circle_loss": (mined, lambda: jaxloss.circle_loss(batch, ids)),
        "lifted_structure_loss": (mined, lambda: jaxloss.lifted_structure_loss(batch, ids)),
        "npairs_loss": (mined, lambda: jaxloss.npairs_loss(batch, ids)),
        "margin_loss": (mined + ", beta [4]", lambda: jaxloss.margin_loss(batch, ids, beta=beta)),
        "fast_ap_loss": (mined, lambda: jaxloss.fast_ap_loss(batch, ids)),
        "angular_loss": (mined, lambda: jaxloss.angular_loss(batch, ids)),
    }


def _optax_reexports(key):
    scores = jax.random.normal(key, (B, K))
    labels = jax.random.randint(jax.random.fold_in(key, 1), (B,), 0, K)
    signs = jnp.where(jax.random.bernoulli(jax.random.fold_in(key, 2), 0.5, (B,)), 1.0, -1.0)
    targets = jax.nn.one_hot(labels, K)
    T, N = 6, 2
    seq_logits = jax.random.normal(jax.random.fold_in(key, 3), (B, T, K))
    seq_labels = jax.random.randint(jax.random.fold_in(key, 4), (B, N), 1, K)
    ctc_args = (seq_logits, jnp.zeros((B, T)), seq_labels, jnp.zeros((B, N)))
    ctc = f"logits [{B},{T},{K}], labels [{B},{N}] (optax)"
    cls = f"scores [{B},{K}], labels [{B}] (optax)"
    binary = f"scores [{B}], targets +-1 (optax)"
    fy = jaxloss.make_fenchel_young_loss(jax.scipy.special.logsumexp)
    return {
        "ctc_loss": (ctc, lambda: jaxloss.ctc_loss(*ctc_args)),
        "ctc_loss_with_forward_probs": (
            ctc,
            lambda: jaxloss.ctc_loss_with_forward_probs(*ctc_args),
        ),
        "hinge_loss": (binary, lambda: jaxloss.hinge_loss(scores[:, 0], signs)),
        "perceptron_loss": (binary, lambda: jaxloss.perceptron_loss(scores[:, 0], signs)),
        "multiclass_hinge_loss": (cls, lambda: jaxloss.multiclass_hinge_loss(scores, labels)),
        "multiclass_perceptron_loss": (
            cls,
            lambda: jaxloss.multiclass_perceptron_loss(scores, labels),
        ),
        "multiclass_sparsemax_loss": (
            cls,
            lambda: jaxloss.multiclass_sparsemax_loss(scores, labels),
        ),
        "sparsemax_loss": (
            f"scores [{B},{K}], 0/1 labels (optax)",
            lambda: jaxloss.sparsemax_loss(scores, targets),
        ),
        "poly_loss_cross_entropy": (
            f"logits [{B},{K}], one-hot (optax)",
            lambda: jaxloss.poly_loss_cross_entropy(scores, targets),
        ),
        "ranking_softmax_loss": (
            f"scores [{B},{K}], relevance [{B},{K}], reduce_fn=None (optax)",
            lambda: jaxloss.ranking_softmax_loss(scores, targets, reduce_fn=None),
        ),
        "make_fenchel_young_loss": (
            f"logsumexp, scores [{B},{K}], one-hot (optax)",
            lambda: fy(scores, targets),
        ),
    }


def _regression(key):
    preds = jax.random.normal(key, (B, D))
    targets = preds + 0.5 * jax.random.normal(jax.random.fold_in(key, 1), (B, D))
    targets = targets.at[0, 0].add(8.0)  # one outlier
    pt = f"predictions, targets [{B},{D}], one outlier"
    params = {"w": preds, "b": targets[0]}
    no_bias = {"where": lambda path, leaf: "b" not in jax.tree_util.keystr(path)}

    def cost(p, x, y):
        return jaxloss.squared_error(x @ p["w"].T + p["b"][None, :B], y[:, :B], reduction="mean")

    objective = jaxloss.objective(cost, regularizer=jaxloss.l2_penalty, strength=0.1)
    return {
        "squared_error": (pt, lambda: jaxloss.squared_error(preds, targets)),
        "l2_loss": (pt, lambda: jaxloss.l2_loss(preds, targets)),
        "absolute_error": (pt, lambda: jaxloss.absolute_error(preds, targets)),
        "huber_loss": (pt + ", delta 1", lambda: jaxloss.huber_loss(preds, targets)),
        "smooth_l1_loss": (pt + ", beta 1", lambda: jaxloss.smooth_l1_loss(preds, targets)),
        "pseudo_huber_loss": (pt, lambda: jaxloss.pseudo_huber_loss(preds, targets)),
        "log_cosh": (pt, lambda: jaxloss.log_cosh(preds, targets)),
        "mean_squared_error": (pt, lambda: jaxloss.mean_squared_error(preds, targets, axis=-1)),
        "mean_absolute_error": (pt, lambda: jaxloss.mean_absolute_error(preds, targets, axis=-1)),
        "root_mean_squared_error": (
            pt,
            lambda: jaxloss.root_mean_squared_error(preds, targets, axis=-1),
        ),
        "l1_penalty": (
            "params {w, b}, bias excluded",
            lambda: jaxloss.l1_penalty(params, **no_bias),
        ),
        "l2_penalty": (
            "params {w, b}, bias excluded",
            lambda: jaxloss.l2_penalty(params, **no_bias),
        ),
        "elastic_net_penalty": (
            "params {w, b}, l1_ratio 0.5",
            lambda: jaxloss.elastic_net_penalty(params, l1_ratio=0.5),
        ),
        "objective": (
            "MSE cost + 0.1 * L2 penalty",
            lambda: objective(params, preds, targets)[0],
        ),
    }


def _images(key):
    h = w = 16
    images = jax.random.uniform(key, (2, h, w, 3))
    noisy = images + 0.1 * jax.random.normal(jax.random.fold_in(key, 1), images.shape)
    imgs = f"images [2,{h},{w},3]"

    def features(x):
        return {"pixels": x, "pooled": x.reshape(x.shape[0], h // 2, 2, w // 2, 2, 3).mean((2, 4))}

    return {
        "gram_matrix": (imgs, lambda: jaxloss.gram_matrix(images)),
        "style_loss": (imgs + " vs noisy", lambda: jaxloss.style_loss(noisy, images)),
        "perceptual_loss": (
            imgs + ", 2-layer feature map",
            lambda: jaxloss.perceptual_loss(noisy, images, feature_fn=features),
        ),
        "lpips": (
            imgs + " in [-1, 1], random 8-channel VGG16 trunk",
            lambda: jaxloss.lpips(2 * noisy - 1, 2 * images - 1, *_thin_lpips(key)),
        ),
        "total_variation": (imgs + ", beta 1", lambda: jaxloss.total_variation(noisy)),
        "anisotropic_total_variation": (
            imgs,
            lambda: jaxloss.anisotropic_total_variation(noisy),
        ),
        "ssim": (imgs + " vs noisy", lambda: jaxloss.ssim(noisy, images)),
        "ssim_loss": (imgs + " vs noisy", lambda: jaxloss.ssim_loss(noisy, images)),
        "psnr": (imgs + " vs noisy (dB)", lambda: jaxloss.psnr(noisy, images)),
        **{
            name: (
                imgs + " vs noisy, 3-tap window, 3 scales",
                lambda name=name: getattr(jaxloss, name)(
                    noisy, images, window_size=3, power_factors=(0.2, 0.3, 0.5)
                ),
            )
            for name in ("ms_ssim", "ms_ssim_loss", "ms_ssim_l1_loss")
        },
    }


def _thin_lpips(key, width=8):
    """Random variables for the 13 convolutions of VGG16 with `width` channels, unit heads."""
    params, c_in = {}, 3
    for block, depth in enumerate((2, 2, 3, 3, 3), 1):
        for k in range(1, depth + 1):
            key, sub = jax.random.split(key)
            kernel = jax.random.normal(sub, (3, 3, c_in, width)) * (2 / (9 * c_in)) ** 0.5
            params[f"conv{block}_{k}"] = {"kernel": kernel, "bias": jnp.full((width,), 0.1)}
            c_in = width
    layers = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
    return {"params": params}, {name: jnp.ones((width,)) for name in layers}


def _divergences(p, q, key):
    pq = f"P, Q [{B},{K}]"
    mean, log_var = jax.random.normal(key, (2, B, D))
    return {
        "entropy": (f"P [{B},{K}]", lambda: jaxloss.entropy(p)),
        "cross_entropy": (pq, lambda: jaxloss.cross_entropy(jnp.log(q), p)),
        "kl_divergence": (pq, lambda: jaxloss.kl_divergence(jnp.log(q), p)),
        "kl_divergence_with_log_targets": (
            pq,
            lambda: jaxloss.kl_divergence_with_log_targets(jnp.log(q), jnp.log(p)),
        ),
        "generalized_kl_divergence": (pq, lambda: jaxloss.generalized_kl_divergence(jnp.log(q), p)),
        "convex_kl_divergence": (pq, lambda: jaxloss.convex_kl_divergence(jnp.log(q), p)),
        "js_divergence": (pq, lambda: jaxloss.js_divergence(q, p)),
        "generalized_js_divergence": (
            pq + ", mixture weights (0.3, 0.7)",
            lambda: jaxloss.generalized_js_divergence(q, p, mixture_weights=(0.3, 0.7)),
        ),
        "gaussian_kl_divergence": (
            f"mean, log-variance [{B},{D}] vs N(0, 1)",
            lambda: jaxloss.gaussian_kl_divergence(mean, log_var),
        ),
    }


def _distribution_distances(p, q, key):
    pq = f"P, Q [{B},{K}]"
    x, y = jax.random.normal(key, (2, B, 32, 2)) + jnp.array([[[[0.0, 0.0]]], [[[2.0, 0.0]]]])
    clouds = f"x, y [{B},32,2] (y shifted by 2)"
    lines = f"x, y [{B},32] (y shifted by 2)"
    return {
        "hellinger_distance": (pq, lambda: jaxloss.hellinger_distance(q, p)),
        "bhattacharyya_distance": (pq, lambda: jaxloss.bhattacharyya_distance(q, p)),
        "total_variation_distance": (pq, lambda: jaxloss.total_variation_distance(q, p)),
        "renyi_divergence": (pq + ", alpha 2", lambda: jaxloss.renyi_divergence(q, p, alpha=2.0)),
        "wasserstein_distance": (lines, lambda: jaxloss.wasserstein_distance(x[..., 0], y[..., 0])),
        "sliced_wasserstein_distance": (
            clouds + ", 50 directions",
            lambda: jaxloss.sliced_wasserstein_distance(x, y, key=key),
        ),
        "mmd": (clouds + ", Gaussian, median bandwidth", lambda: jaxloss.mmd(x, y)),
        "energy_distance": (clouds, lambda: jaxloss.energy_distance(x, y)),
        "sinkhorn_divergence": (
            clouds + ", epsilon 0.1",
            lambda: jaxloss.sinkhorn_divergence(x, y, regularization=0.1),
        ),
    }


def _segmentation_examples(k1, k2) -> dict[str, Example]:
    seg_logits = 2.0 * jax.random.normal(k1, (B, 8, 8, 3))
    seg_labels = jax.random.randint(k2, (B, 8, 8), 0, 3)
    seg_onehot = jax.nn.one_hot(seg_labels, 3)
    seg = f"logits [{B},8,8,3], labels [{B},8,8]"
    seg1 = f"logits [{B},8,8], 0/1 masks"
    mask = (seg_labels > 0).astype(jnp.float32)
    s = jaxloss
    return {
        "dice_coefficient": (seg, lambda: s.dice_coefficient(seg_logits, seg_labels)),
        "dice_loss": (seg + " one-hot", lambda: s.dice_loss(seg_logits, seg_onehot)),
        "binary_dice_loss": (seg1, lambda: s.binary_dice_loss(seg_logits[..., 1], mask)),
        "multiclass_generalized_dice_loss": (
            seg + " one-hot",
            lambda: s.multiclass_generalized_dice_loss(seg_logits, seg_onehot),
        ),
        "generalized_dice_loss": (seg, lambda: s.generalized_dice_loss(seg_logits, seg_labels)),
        "tversky_loss": (
            seg + ", alpha 0.3, beta 0.7",
            lambda: s.tversky_loss(seg_logits, seg_labels, alpha=0.3, beta=0.7),
        ),
        "focal_tversky_loss": (seg, lambda: s.focal_tversky_loss(seg_logits, seg_labels)),
        "iou_loss": (seg, lambda: s.iou_loss(seg_logits, seg_labels)),
        "dice_bce_loss": (seg1, lambda: s.dice_bce_loss(seg_logits[..., 1:2], mask)),
        "dice_cross_entropy_loss": (
            seg,
            lambda: s.dice_cross_entropy_loss(seg_logits, seg_labels),
        ),
        "dice_focal_loss": (seg, lambda: s.dice_focal_loss(seg_logits, seg_labels)),
        "lovasz_softmax_loss": (seg, lambda: s.lovasz_softmax_loss(seg_logits, seg_labels)),
        "lovasz_hinge_loss": (seg1, lambda: s.lovasz_hinge_loss(seg_logits[..., 1], mask)),
        "boundary_loss": (
            seg + ", signed distance maps",
            lambda: s.boundary_loss(seg_logits, s.signed_distance_map(seg_onehot)),
        ),
        "signed_distance_map": (
            f"one-hot [{B},8,8,3]",
            lambda: s.signed_distance_map(seg_onehot),
        ),
        "soft_cldice_loss": (seg, lambda: s.soft_cldice_loss(seg_logits, seg_labels)),
        "soft_dice_cldice_loss": (seg, lambda: s.soft_dice_cldice_loss(seg_logits, seg_labels)),
        "hausdorff_dt_loss": (seg, lambda: s.hausdorff_dt_loss(seg_logits, seg_labels)),
    }


def rows() -> list[tuple[str, str, str, float, float]]:
    """(name, example, output shape, mean value, first-call seconds) for every public name."""
    examples = _examples()
    out = []
    for name in sorted(examples):
        description, thunk = examples[name]
        start = time.perf_counter()
        value = jax.jit(thunk)()
        leaves = jax.tree_util.tree_leaves(value)
        jax.block_until_ready(leaves)
        seconds = time.perf_counter() - start
        first = leaves[0]
        # In numpy: a jnp.mean here would compile one more program per output shape.
        mean = float(np.mean(np.asarray(first, np.float32)))
        out.append((name, description, str(tuple(first.shape)), mean, seconds))
    return out


def main() -> None:
    print(f"jaxloss {jaxloss.__version__} on {jax.devices()[0].platform}: every public function")
    print(f"on a small example batch (B={B}, K={K}, D={D}), jitted.\n")
    table = rows()
    header = ("function", "example input", "output shape", "mean", "first call")
    widths = [max(len(header[i]), *(len(str(r[i])) for r in table)) for i in range(3)]
    line = f"{header[0]:<{widths[0]}}  {header[1]:<{widths[1]}}  {header[2]:<{widths[2]}}"
    print(f"{line}  {header[3]:>10}  {header[4]:>10}")
    print("-" * (sum(widths) + 28))
    for name, description, shape, mean, seconds in table:
        print(
            f"{name:<{widths[0]}}  {description:<{widths[1]}}  {shape:<{widths[2]}}"
            f"  {mean:>10.4f}  {seconds * 1e3:>8.1f}ms"
        )
    missing = set(jaxloss.__all__) - {"__version__"} - {row[0] for row in table}
    if missing:
        raise SystemExit(f"demo is missing examples for: {sorted(missing)}")
    print(f"\n{len(table)} functions evaluated.")


if __name__ == "__main__":
    main()
