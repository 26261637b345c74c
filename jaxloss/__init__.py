"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

from jaxloss.reductions import reduce
from jaxloss.segmentation import (
    binary_dice_loss,
    dice_coefficient,
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
    "reduce",
    # segmentation
    "binary_dice_loss",
    "dice_coefficient",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "iou_loss",
    "multiclass_generalized_dice_loss",
    "tversky_loss",
]
