"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONVENTIONS for the contract.
"""

# distances
from jaxloss.distances import (
    chebyshev_distance,
    euclidean_distance,
    mahalanobis_distance,
    manhattan_distance,
    minkowski_distance,
    squared_euclidean_distance,
)
from jaxloss.information import (
    mutual_information,
    mutual_information_from_joint,
    normalized_mutual_information,
    soft_mutual_information,
)
from jaxloss.pairwise import pairwise_distances

# reductions
from jaxloss.reductions import reduce

# distances
from jaxloss.similarity import (
    correlation_distance,
    cosine_distance,
    cosine_similarity,
    hamming_distance,
    jaccard_distance,
    jaccard_index,
    pearson_correlation,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    # distances
    "chebyshev_distance",
    "correlation_distance",
    "cosine_distance",
    "cosine_similarity",
    "euclidean_distance",
    "hamming_distance",
    "jaccard_distance",
    "jaccard_index",
    "mahalanobis_distance",
    "manhattan_distance",
    "minkowski_distance",
    "mutual_information",
    "mutual_information_from_joint",
    "normalized_mutual_information",
    "pairwise_distances",
    "pearson_correlation",
    "soft_mutual_information",
    "squared_euclidean_distance",
    # reductions
    "reduce",
]
