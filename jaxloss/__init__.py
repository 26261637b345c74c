"""jaxloss: loss functions, divergences and distances for JAX.

Every public function is pure, traceable (jit, vmap, grad) and returns per-example values by
default; see README.md for the API table and CONTRIBUTING.md for the contract.
"""

from jaxloss.binary import (
    binary_cross_entropy,
    sigmoid_binary_cross_entropy,
    sigmoid_focal_loss,
)
from jaxloss.boundary import boundary_loss, signed_distance_map
from jaxloss.classification import (
    safe_softmax_cross_entropy,
    softmax_cross_entropy,
    softmax_cross_entropy_with_integer_labels,
    softmax_focal_loss,
)
from jaxloss.composite import (
    composite_loss,
)
from jaxloss.compound import (
    dice_bce_loss,
    dice_cross_entropy_loss,
    dice_focal_loss,
)
from jaxloss.contrastive import (
    clip_loss,
    infonce_loss,
    sigmoid_contrastive_loss,
    supervised_contrastive_loss,
)
from jaxloss.dice import (
    binary_dice_loss,
    dice_loss,
    multiclass_generalized_dice_loss,
)
from jaxloss.discrete_distances import (
    bhattacharyya_distance,
    hellinger_distance,
    renyi_divergence,
    total_variation_distance,
)
from jaxloss.distances import (
    chebyshev_distance,
    euclidean_distance,
    mahalanobis_distance,
    manhattan_distance,
    minkowski_distance,
    squared_euclidean_distance,
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
from jaxloss.fused import (
    fused_linear_cross_entropy,
)
from jaxloss.hinges import (
    hinge_embedding_loss,
    margin_ranking_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    soft_margin_loss,
)
from jaxloss.image_quality import (
    ms_ssim,
    ms_ssim_l1_loss,
    ms_ssim_loss,
    psnr,
    ssim,
    ssim_loss,
)
from jaxloss.images import (
    anisotropic_total_variation,
    gram_matrix,
    perceptual_loss,
    style_loss,
    total_variation,
)
from jaxloss.information import (
    mutual_information,
    mutual_information_from_joint,
    normalized_mutual_information,
    soft_mutual_information,
)
from jaxloss.kernels import (
    energy_distance,
    mmd,
)
from jaxloss.learned_perceptual import (
    lpips,
)
from jaxloss.likelihoods import (
    gaussian_nll_loss,
    nll_loss,
    poisson_nll_loss,
)
from jaxloss.lovasz import lovasz_hinge_loss, lovasz_softmax_loss
from jaxloss.margins import (
    arcface_loss,
    cosface_loss,
    normalized_softmax_loss,
    sphereface_loss,
    subcenter_arcface_loss,
)
from jaxloss.mean_errors import (
    mean_absolute_error,
    mean_squared_error,
    root_mean_squared_error,
)
from jaxloss.mining import (
    batch_all_triplet_loss,
    batch_hard_quadruplet_loss,
    batch_hard_triplet_loss,
    semihard_triplet_loss,
)
from jaxloss.objectives import (
    elastic_net_penalty,
    l1_penalty,
    l2_penalty,
    objective,
)
from jaxloss.optax_reexports import (
    ctc_loss,
    ctc_loss_with_forward_probs,
    hinge_loss,
    make_fenchel_young_loss,
    multiclass_hinge_loss,
    multiclass_perceptron_loss,
    multiclass_sparsemax_loss,
    perceptron_loss,
    poly_loss_cross_entropy,
    ranking_softmax_loss,
    sparsemax_loss,
)
from jaxloss.overlap import (
    dice_coefficient,
    focal_tversky_loss,
    generalized_dice_loss,
    iou_loss,
    tversky_loss,
)
from jaxloss.pair_ranking import (
    fast_ap_loss,
    margin_loss,
)
from jaxloss.pair_weighting import (
    angular_loss,
    circle_loss,
    lifted_structure_loss,
    multi_similarity_loss,
    npairs_loss,
)
from jaxloss.pairs import (
    contrastive_loss,
    cosine_embedding_loss,
    cosine_similarity_loss,
    ntxent,
)
from jaxloss.pairwise import (
    pairwise_distances,
)
from jaxloss.probabilistic import (
    ensemble_crps,
    gamma_deviance,
    gaussian_crps,
    poisson_deviance,
    quantile_loss,
    student_t_nll,
    tweedie_deviance,
)
from jaxloss.probabilities import (
    log_sigmoid,
    log_softmax,
    sigmoid,
    smooth_labels,
    softmax,
)
from jaxloss.proxies import (
    proxy_anchor_loss,
    proxy_nca_loss,
    soft_triple_loss,
    sparse_centers_penalty,
)
from jaxloss.reductions import (
    mean_from_sum_and_count,
    reduce,
)
from jaxloss.registration import (
    bending_energy_loss,
    diffusion_regularizer,
    jacobian_folding_penalty,
    local_normalized_cross_correlation_loss,
)
from jaxloss.regression import (
    absolute_error,
    huber_loss,
    l2_loss,
    log_cosh,
    pseudo_huber_loss,
    smooth_l1_loss,
    squared_error,
)
from jaxloss.robust import (
    general_robust_loss,
)
from jaxloss.similarity import (
    correlation_distance,
    cosine_distance,
    cosine_similarity,
    hamming_distance,
    jaccard_distance,
    jaccard_index,
    pearson_correlation,
)
from jaxloss.topology import (
    hausdorff_dt_loss,
    soft_cldice_loss,
    soft_dice_cldice_loss,
)
from jaxloss.transport import (
    sinkhorn_divergence,
    sliced_wasserstein_distance,
    wasserstein_distance,
)
from jaxloss.triplets import (
    quadruplet_loss,
    triplet_margin_loss,
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
    "pseudo_huber_loss",
    "smooth_l1_loss",
    "squared_error",
    # mean_errors
    "mean_absolute_error",
    "mean_squared_error",
    "root_mean_squared_error",
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
    # discrete_distances
    "bhattacharyya_distance",
    "hellinger_distance",
    "renyi_divergence",
    "total_variation_distance",
    # transport and kernels: distances between sets of samples
    "energy_distance",
    "mmd",
    "sinkhorn_divergence",
    "sliced_wasserstein_distance",
    "wasserstein_distance",
    # distances
    "chebyshev_distance",
    "euclidean_distance",
    "mahalanobis_distance",
    "manhattan_distance",
    "minkowski_distance",
    "squared_euclidean_distance",
    # similarity
    "correlation_distance",
    "cosine_distance",
    "cosine_similarity",
    "hamming_distance",
    "jaccard_distance",
    "jaccard_index",
    "pearson_correlation",
    # pairwise
    "pairwise_distances",
    # information
    "mutual_information",
    "mutual_information_from_joint",
    "normalized_mutual_information",
    "soft_mutual_information",
    # images
    "anisotropic_total_variation",
    "gram_matrix",
    "perceptual_loss",
    "style_loss",
    "total_variation",
    # image quality
    "ms_ssim",
    "ms_ssim_l1_loss",
    "ms_ssim_loss",
    "psnr",
    "ssim",
    "ssim_loss",
    # learned perceptual metrics
    "lpips",
    # segmentation
    "binary_dice_loss",
    "boundary_loss",
    "dice_bce_loss",
    "dice_coefficient",
    "dice_cross_entropy_loss",
    "dice_focal_loss",
    "dice_loss",
    "focal_tversky_loss",
    "generalized_dice_loss",
    "iou_loss",
    "lovasz_hinge_loss",
    "lovasz_softmax_loss",
    "multiclass_generalized_dice_loss",
    "signed_distance_map",
    "tversky_loss",
    # topology (segmentation)
    "hausdorff_dt_loss",
    "soft_cldice_loss",
    "soft_dice_cldice_loss",
    # pairs
    "contrastive_loss",
    "cosine_embedding_loss",
    "cosine_similarity_loss",
    "ntxent",
    # triplets
    "quadruplet_loss",
    "triplet_margin_loss",
    # mining
    "batch_all_triplet_loss",
    "batch_hard_quadruplet_loss",
    "batch_hard_triplet_loss",
    "semihard_triplet_loss",
    # margins
    "arcface_loss",
    "cosface_loss",
    "normalized_softmax_loss",
    "sphereface_loss",
    "subcenter_arcface_loss",
    # proxies
    "proxy_anchor_loss",
    "proxy_nca_loss",
    "soft_triple_loss",
    "sparse_centers_penalty",
    # pair weighting
    "angular_loss",
    "circle_loss",
    "fast_ap_loss",
    "lifted_structure_loss",
    "margin_loss",
    "multi_similarity_loss",
    "npairs_loss",
    # fused
    "fused_linear_cross_entropy",
    # composite
    "composite_loss",
    # contrastive
    "clip_loss",
    "infonce_loss",
    "sigmoid_contrastive_loss",
    "supervised_contrastive_loss",
    # registration
    "bending_energy_loss",
    "diffusion_regularizer",
    "jacobian_folding_penalty",
    "local_normalized_cross_correlation_loss",
    # optax_reexports
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "hinge_loss",
    "make_fenchel_young_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "ranking_softmax_loss",
    "sparsemax_loss",
    # torch parity (likelihoods, margins)
    "gaussian_nll_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "poisson_nll_loss",
    "soft_margin_loss",
    # probabilistic and robust regression
    "ensemble_crps",
    "gamma_deviance",
    "gaussian_crps",
    "general_robust_loss",
    "poisson_deviance",
    "quantile_loss",
    "student_t_nll",
    "tweedie_deviance",
    # reductions
    "mean_from_sum_and_count",
    "reduce",
]
