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

# distances
from jaxloss.distances import (
    chebyshev_distance,
    euclidean_distance,
    mahalanobis_distance,
    manhattan_distance,
    minkowski_distance,
    squared_euclidean_distance,
)

# embeddings
from jaxloss.embeddings import (
    batch_all_triplet_loss,
    batch_hard_quadruplet_loss,
    batch_hard_triplet_loss,
    contrastive_loss,
    cosine_embedding_loss,
    cosine_similarity_loss,
    ntxent,
    quadruplet_loss,
    semihard_triplet_loss,
    triplet_margin_loss,
)

# distances
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
    # embeddings
    "batch_all_triplet_loss",
    "batch_hard_quadruplet_loss",
    "batch_hard_triplet_loss",
    "contrastive_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "ntxent",
    "quadruplet_loss",
    "semihard_triplet_loss",
    "triplet_margin_loss",
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
