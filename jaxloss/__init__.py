"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

# classification
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

# reductions
from jaxloss.reductions import reduce

# segmentation
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
    # reductions
    "reduce",
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
]
