"""The signature convention (CONTRIBUTING.md, sections 2-4), checked over every public name.

In the spirit of dm_pix's ``api_test.py``: the rules are read off ``inspect.signature``, so a
new function that breaks the contract fails here before anyone reviews it. Every exception is
in one of the explicit, commented allowlists below; there are no others.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import jax
import optax
import pytest

import jaxloss
from jaxloss import optax_reexports

# The positional array arguments of every family (section 2). Anything else is an option.
ARRAYS = {
    "logits", "labels", "probabilities", "predictions", "targets", "log_predictions",
    "log_targets", "x", "y", "x1", "x2", "anchors", "positives", "negatives", "negatives2",
    "embeddings", "weight", "images", "features", "values", "params", "mean",
    "log_variance", "joint", "labels_a", "labels_b", "sum_and_count",
    # composite_loss / objective take the loss terms and the loss function
    "terms", "loss_fn", "feature_fn",
    # the contrastive losses' paired batches
    "image_embeddings", "text_embeddings", "queries", "keys",
    # the proxy losses' learnable class proxies (the heads' class matrix is `weight`)
    "proxies",
    # lpips: its learned networks, the VGG16 trunk's Flax variables and the linear heads
    "vgg_variables", "lpips_heads",
}  # fmt: skip

# The vocabulary of options (section 3): one name per idea. A new option name is added here
# only together with its row in CONTRIBUTING.md's vocabulary table.
OPTIONS = {
    "reduction", "where", "weights", "axis_name", "vocab_axis_name", "axis", "class_weights",
    "ignore_index", "margin", "margin2", "delta", "beta", "alpha", "gamma", "eps", "smooth",
    "label_smoothing", "temperature", "activation", "distance", "penalty", "p", "num_classes",
    "precision", "covariance", "normalize_features", "layer_weights", "ignore_background",
    "lambda_dice", "lambda_ce", "lambda_focal", "lambda_bce", "pos_weight", "squared",
    "soft", "bins", "bandwidth", "dim", "norm_degree", "chunk_size", "z_loss", "soft_cap",
    "normalize", "normalized", "average_method", "reduction_axes", "average", "l1_ratio",
    "scale", "strength", "mask_diagonal", "batch_dice", "weight_type", "prior_mean",
    "prior_log_variance", "bias", "logit_softcap", "token_chunk_size", "num_classes_a",
    "num_classes_b", "num_bins", "value_range", "swap", "mean_over", "mixture_weights",
    "layers", "mine",
    # objective(loss_fn, ...): jax's own `has_aux`, and the penalty it adds
    "has_aux", "regularizer",
    # the contrastive losses: CLIP/SigLIP's learnable scale and bias, how S is computed
    "logit_scale", "logit_bias", "method", "block_size", "form",
    # arcface_loss: the ArcFace code's (insightface's) name for its margin variant
    "easy_margin",
    # distances between sample sets: the samples' masses, a random key, and the transport
    # and kernel hyperparameters (POT's and ott-jax's names, spelled out)
    "x_weights", "y_weights", "key", "projections", "num_projections", "kernel", "estimator",
    "regularization", "threshold", "max_iterations",
    # image quality: the spatial rank of channel-last images (MONAI's name), the SSIM window
    # and constants (pytorch-msssim's and scikit-image's, spelled out), MS-SSIM's exponents
    "spatial_dims", "data_range", "window_size", "sigma", "k1", "k2", "power_factors",
    # the Lovász-Softmax loss: the authors' choice of averaged classes ("present", "all");
    # signed_distance_map: scipy's distance_transform_edt pixel spacing
    "classes", "sampling",
    # clDice's soft skeleton: its number of erosion steps (MONAI's `iter_`)
    "iterations",
}  # fmt: skip

# Probabilistic regression and torch parity: the predicted spread follows `targets`
# (`gaussian_nll_loss(predictions, targets, variance)`, `gaussian_crps(..., scale)`), and the
# references' own option names (torch's `full`, `log_input`; scikit-learn's `power`; scipy's
# `df`; the quantile levels; the ensemble CRPS estimator).
ARRAYS |= {"variance", "scale"}
OPTIONS |= {"full", "log_input", "power", "df", "quantiles", "estimator"}

# Registration: the deformation regularizers take a displacement field; LNCC keeps MONAI's
# names for its window, its two smoothing constants and the number of spatial axes.
ARRAYS |= {"displacement"}
OPTIONS |= {"kernel_size", "smooth_nr", "smooth_dr", "spatial_dims"}

# Spellings the contract replaced; they survive only where optax's own signature has them.
FORBIDDEN = {
    "apply_softmax": "activation='softmax'",
    "apply_sigmoid": "activation='sigmoid'",
    "sigmoid": "activation='sigmoid'",
    "use_sigmoid": "activation='sigmoid'",
    "from_logits": "activation=",
    "epsilon": "eps",
    "mask": "where",
    "metric": "distance",
    "reduce_fn": "reduction",
}

DISTANCES = {"euclidean", "squared_euclidean", "cosine", "manhattan", "chebyshev", "minkowski"}
ACTIVATIONS = {"softmax", "sigmoid", None}
PENALTIES = {"squared_error", "absolute_error"}

# optax's own functions, re-exported unchanged (section 2): exempt from every rule below.
REEXPORTS = set(optax_reexports.__all__)

# Names that exist in optax.losses: their positional parameters (names, order, defaults) and
# their optax keywords are optax's, so they may keep positional options and optax's
# spellings (`epsilon`, `apply_softmax`, `where` as an element mask). Checked against the
# installed optax in `test_optax_names_keep_optax_signature`.
OPTAX_NAMES = {n for n in dir(optax.losses) if not n.startswith("_")} & set(jaxloss.__all__)

# The activations are jax.nn's, with jax.nn's signatures (positional `axis`).
JAX_NN_NAMES = {"softmax", "log_softmax", "sigmoid", "log_sigmoid"}


def _reference_signature(name: str) -> dict:
    """The parameters of the library whose drop-in `name` is (optax or jax.nn), else {}."""
    if name in OPTAX_NAMES:
        return dict(inspect.signature(getattr(optax.losses, name)).parameters)
    if name in JAX_NN_NAMES:
        return dict(inspect.signature(getattr(jax.nn, name)).parameters)
    return {}


# `reduction` defaults other than "none" (section 4's table): optax names whose optax value
# is not per-example, and the reduction itself.
REDUCTION_DEFAULTS = {
    "ntxent": "mean",  # optax returns a scalar
    "multiclass_generalized_dice_loss": "mean",  # optax returns a scalar
    "dice_loss": "mean",  # optax's own `reduction` keyword, over the class axis
    "reduce": "mean",  # the reduction itself: "none" would be the identity
}

# scipy's cdist: `metric=` (scipy's spellings and ours) and the metric's own keyword options
# (`p`, `w`, `VI`, ...) passed through, as scipy passes them.
CDIST_NAMES = {"pairwise_distances"}

# Reducing functions without `axis_name`: optax's dice_loss reduces over the class axis only
# (its `reduction` keyword), so there is no example reduction to make global.
NO_AXIS_NAME = {"dice_loss"}

# Public functions that do not return per-example values, hence take no `reduction`.
NOT_PER_EXAMPLE = {
    "softmax": "an activation",
    "log_softmax": "an activation",
    "sigmoid": "an activation",
    "log_sigmoid": "an activation",
    "smooth_labels": "transforms targets",
    "gram_matrix": "a feature statistic",
    "pairwise_distances": "a [n, m] matrix (scipy cdist)",
    "mutual_information": "one value per labeling, not per example",
    "normalized_mutual_information": "one value per labeling, not per example",
    "mutual_information_from_joint": "one value per joint table",
    "soft_mutual_information": "one value per pair of signals",
    "l1_penalty": "a penalty on a parameter pytree",
    "l2_penalty": "a penalty on a parameter pytree",
    "elastic_net_penalty": "a penalty on a parameter pytree",
    "objective": "builds a function",
    "composite_loss": "a weighted sum of already reduced terms",
    "mean_from_sum_and_count": "divides an already reduced pair",
    "proxy_anchor_loss": "averages per-proxy log-sum-exps over the batch, one value per batch",
    "sparse_centers_penalty": "a penalty on SoftTriple's centres",
    "signed_distance_map": "preprocessing: a map of the targets, per pixel",
}


def violations(name: str, fn: Callable) -> list[str]:
    """Every way `fn`'s signature breaks the contract (empty when it conforms)."""
    found: list[str] = []
    params = inspect.signature(fn).parameters
    optax_params = _reference_signature(name)
    for p in params.values():
        if name in CDIST_NAMES and (p.name == "metric" or p.kind is p.VAR_KEYWORD):
            continue
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            found.append(f"`*{p.name}`/`**{p.name}`: no variadic arguments")
            continue
        if p.name in optax_params:
            continue  # optax's own parameter, kept as optax has it
        if p.name in FORBIDDEN:
            found.append(f"`{p.name}`: spelled `{FORBIDDEN[p.name]}` in jaxloss")
        elif p.name not in ARRAYS and p.name not in OPTIONS:
            found.append(f"`{p.name}`: not in the vocabulary (CONTRIBUTING.md section 3)")
        if p.name not in ARRAYS and p.kind is not p.KEYWORD_ONLY:
            found.append(f"`{p.name}`: options are keyword-only")
    if "reduction" in params:
        want = REDUCTION_DEFAULTS.get(name, "none")
        if params["reduction"].default != want:
            found.append(f"`reduction` defaults to {params['reduction'].default!r}, not {want!r}")
        for option in ("where", "weights", "axis_name"):
            if option not in params and not (option == "axis_name" and name in NO_AXIS_NAME):
                found.append(f"reduces but has no `{option}`")
    elif name not in NOT_PER_EXAMPLE and name != "reduce":
        found.append("returns per-example values but has no `reduction`")
    # On an optax name, distance=None means optax's own distance (triplet_margin_loss's p-norm).
    distances = DISTANCES | {None} if name in OPTAX_NAMES else DISTANCES
    choices = {"distance": distances, "activation": ACTIVATIONS, "penalty": PENALTIES}
    for option, allowed in choices.items():
        if option in params and params[option].default not in allowed:
            found.append(f"`{option}` default {params[option].default!r} not in {allowed}")
    return found


PUBLIC = sorted(n for n in jaxloss.__all__ if callable(getattr(jaxloss, n)) and n not in REEXPORTS)


@pytest.mark.parametrize("name", PUBLIC)
def test_signature_follows_the_contract(name):
    found = violations(name, getattr(jaxloss, name))
    assert not found, f"{name}: " + "; ".join(found)


@pytest.mark.parametrize("name", sorted(OPTAX_NAMES - REEXPORTS))
def test_optax_names_keep_optax_signature(name):
    """Drop-in: optax's parameters, in optax's order, kinds and defaults; extras keyword-only."""
    ours = inspect.signature(getattr(jaxloss, name)).parameters
    theirs = inspect.signature(getattr(optax.losses, name)).parameters
    for p in theirs.values():
        assert p.name in ours, f"{name} lacks optax's `{p.name}`"
        q = ours[p.name]
        assert q.kind == p.kind, f"{name}: `{p.name}` is {q.kind}, optax: {p.kind}"
        if p.default is not p.empty and p.name != "reduction":
            assert q.default == p.default, f"{name}: `{p.name}` defaults to {q.default}"
    positional = [p.name for p in ours.values() if p.kind is not p.KEYWORD_ONLY]
    assert positional == [p.name for p in theirs.values() if p.kind is not p.KEYWORD_ONLY]


def test_allowlists_name_real_functions():
    public = set(jaxloss.__all__)
    for allowlist in (REDUCTION_DEFAULTS, NOT_PER_EXAMPLE, NO_AXIS_NAME, CDIST_NAMES):
        assert set(allowlist) <= public, set(allowlist) - public


def test_checker_rejects_a_nonconforming_function():
    """The checker can fail: a function written against the contract is caught on each rule."""

    def sloppy_dice(predictions, targets, smooth=1.0, *, apply_softmax=True, metric="l2",
                    reduction="mean"):  # fmt: skip
        return predictions

    def no_reduction(predictions, targets):
        return predictions

    def half_reducing(x, y, *, reduction="none", distance="sqeuclidean"):
        return x

    assert violations("sloppy_dice", sloppy_dice) == [
        "`smooth`: options are keyword-only",
        "`apply_softmax`: spelled `activation='softmax'` in jaxloss",
        "`metric`: spelled `distance` in jaxloss",
        "`reduction` defaults to 'mean', not 'none'",
        "reduces but has no `where`",
        "reduces but has no `weights`",
        "reduces but has no `axis_name`",
    ]
    assert violations("no_reduction", no_reduction) == [
        "returns per-example values but has no `reduction`"
    ]
    assert "`distance` default 'sqeuclidean' not in" in " ".join(
        violations("half_reducing", half_reducing)
    )
