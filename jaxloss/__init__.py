"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

from jaxloss.classification import (
    binary_cross_entropy,
    log_sigmoid,
    log_softmax,
    safe_softmax_cross_entropy,
    sigmoid,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
    smooth_labels,
    softmax,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    softmax_focal_loss,
)
from jaxloss.divergences import (
    convex_kl_divergence,
    cross_entropy,
    entropy,
    gaussian_kl_divergence,
    generalized_js_divergence,
    generalized_kl_divergence,
    js_divergence,
    kl_divergence,
    kl_divergence_with_log_targets,
)
from jaxloss.images import (
    anisotropic_total_variation,
    gram_matrix,
    perceptual_loss,
    style_loss,
    total_variation,
)
from jaxloss.objectives import (
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    objective,
)
from jaxloss.reductions import (
    reduce,
)
from jaxloss.regression import (
    absolute_error,
    huber_loss,
    l2_loss,
    log_cosh,
    mean_absolute_error,
    mean_squared_error,
    pseudo_huber_loss,
    root_mean_squared_error,
    smooth_l1_loss,
    squared_error,
)
from jaxloss.segmentation import (
    binary_dice_loss,
    dice_bce_loss,
    dice_coefficient,
    dice_cross_entropy_loss,
    dice_focal_loss,
    dice_loss,
    focal_tversky_loss,
    generalized_dice_loss,
    iou_loss,
    multiclass_generalized_dice_loss,
    tversky_loss,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # classification
    "binary_cross_entropy",
    "log_sigmoid",
    "log_softmax",
    "safe_softmax_cross_entropy",
    "sigmoid",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "softmax_focal_loss",
    # regression
    "absolute_error",
    "huber_loss",
    "l2_loss",
    "log_cosh",
    "mean_absolute_error",
    "mean_squared_error",
    "pseudo_huber_loss",
    "root_mean_squared_error",
    "smooth_l1_loss",
    "squared_error",
    # objectives
    "elastic_net_penalty",
    "l1_penalty",
    "l2_penalty",
    "objective",
    # divergences
    "convex_kl_divergence",
    "cross_entropy",
    "entropy",
    "gaussian_kl_divergence",
    "generalized_js_divergence",
    "generalized_kl_divergence",
    "js_divergence",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    # images
    "anisotropic_total_variation",
    "gram_matrix",
    "perceptual_loss",
    "style_loss",
    "total_variation",
    # segmentation
    "binary_dice_loss",
    "dice_bce_loss",
    "dice_coefficient",
    "dice_cross_entropy_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "iou_loss",
    "multiclass_generalized_dice_loss",
    "tversky_loss",
    # reductions
    "reduce",
]
