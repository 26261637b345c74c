"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

from jaxloss.images import (
    anisotropic_total_variation,
    gram_matrix,
    perceptual_loss,
    style_loss,
    total_variation,
)
from jaxloss.reductions import reduce

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "reduce",
    # images
    "anisotropic_total_variation",
    "gram_matrix",
    "perceptual_loss",
    "style_loss",
    "total_variation",
]
