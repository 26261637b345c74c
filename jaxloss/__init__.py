"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

# images
from jaxloss.images import (
    anisotropic_total_variation,
    gram_matrix,
    perceptual_loss,
    style_loss,
    total_variation,
)

# reductions
from jaxloss.reductions import reduce

__version__ = "0.1.0"

# One sorted list (ruff RUF022 sorts across comment lines); the family is noted per name.
__all__ = [
    "__version__",
    "anisotropic_total_variation",  # images
    "gram_matrix",  # images
    "perceptual_loss",  # images
    "reduce",  # reductions
    "style_loss",  # images
    "total_variation",  # images
]
