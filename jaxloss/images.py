"""Image losses: Gram matrices and style loss, perceptual loss, total variation.

Images and feature maps are channel-last, ``[..., H, W, C]`` (Flax's layout). Feature
extractors for the perceptual and style losses (VGG16/VGG19 with torchvision weights) live in
`jaxloss.models`.

The losses return one value per image (the leading shape ``[...]``), reduced by
``reduction`` with a per-image mask ``where``, per-image ``weights`` and ``axis_name`` (the
data-parallel batch axis) as `jaxloss.reduce` does (CONTRIBUTING.md, section 4). A masked
image is replaced by zeros before the loss, so a NaN or Inf there reaches neither the value
nor the gradient.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from jaxloss import _checks, _numerics
from jaxloss.reductions import reduce_loss

__all__ = [
    "anisotropic_total_variation",
    "gram_matrix",
    "perceptual_loss",
    "style_loss",
    "total_variation",
]

GRAM_NORMALIZATIONS = ("hw", "chw")
PENALTIES = ("squared_error", "absolute_error")


def gram_matrix(
    features: ArrayLike,
    *,
    normalize: bool | str = True,
    precision: jax.lax.PrecisionLike = None,
) -> jax.Array:
    r"""Gram matrix of a channel-last feature map: inner products of its channel maps.

    For features :math:`F \in \mathbb{R}^{H \times W \times C}`::

        G[c, d] = sum_{h, w} F[h, w, c] * F[h, w, d] / N

    with ``N = H * W`` (``normalize=True`` or ``"hw"``, the default), ``N = C * H * W``
    (``"chw"``, the normalization of the PyTorch neural-style-transfer tutorial) or ``N = 1``
    (``normalize=False``, Gatys et al.'s unnormalized :math:`G^l`). It is one contraction over
    ``(H, W)`` (a batched matmul, ``preferred_element_type`` at least float32), no loop.

    Args:
      features: ``[..., H, W, C]`` floating feature maps.
      normalize: ``True``/``"hw"``, ``"chw"`` or ``False`` (static), see above.
      precision: matmul precision passed to the contraction (``None``: JAX's default, which
        may be TF32/bfloat16 passes on GPU/TPU; ``"highest"`` for full float32).

    Returns:
      ``[..., C, C]`` symmetric positive semi-definite matrices in the dtype of ``features``
      (accumulated in at least float32). An empty map (``H * W == 0``) gives zeros.

    References:
      Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks",
      CVPR 2016 (eq. 3); PyTorch tutorial "Neural Transfer Using PyTorch" (``gram_matrix``
      divides by ``a * b * c * d``, i.e. ``"chw"`` per image).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import gram_matrix
      >>> f = jnp.ones((2, 2, 3))
      >>> gram_matrix(f).shape
      (3, 3)
      >>> print(float(gram_matrix(f)[0, 1]), float(gram_matrix(f, normalize=False)[0, 1]))
      1.0 4.0
    """
    features = _checks.as_float("features", features)
    _checks.check_min_rank("features", features, 3)
    mode = _gram_mode(normalize)
    gram = _gram(features, mode, precision)
    return gram.astype(features.dtype)


def style_loss(
    predictions: Any,
    targets: Any,
    *,
    layer_weights: Any = None,
    normalize: bool | str = True,
    precision: jax.lax.PrecisionLike = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Style loss: weighted mean squared difference of Gram matrices over feature layers.

    For layers :math:`l` with predicted features :math:`F^l`, target features :math:`A^l`
    and ``C_l`` channels::

        loss = sum_l w_l * mean_{c, d} (G(F^l)[c, d] - G(A^l)[c, d]) ** 2

    with :math:`G` = `gram_matrix` (``normalize`` as there). With the default ``"hw"``
    normalization each term is ``4 * E_l`` of Gatys et al. (eq. 4,
    ``E_l = sum (G - A)^2 / (4 N_l^2 M_l^2)`` on unnormalized Grams).

    ``predictions`` and ``targets`` are one feature map, a sequence of maps or a dict of
    named maps (the same structure on both sides). Per layer the channel counts must agree;
    the target's spatial size may differ (Gram matrices are ``[C, C]``, so a style image of
    another size works) and its leading (batch) shape may broadcast to the prediction's
    (one style image for a batch of generated images). All layers share the leading shape.

    Args:
      predictions: ``[..., H_l, W_l, C_l]`` feature maps: an array, a sequence or a dict.
      targets: the same structure; per layer ``[..., H'_l, W'_l, C_l]`` with a leading shape
        that broadcasts to the prediction's without enlarging it.
      layer_weights: ``None`` (every weight 1), a non-negative scalar (applied to every
        layer), a sequence with one weight per layer, or for dict inputs a dict with the same
        keys.
      normalize: the Gram normalization of `gram_matrix` (static).
      precision: matmul precision of the Gram contractions.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-example mask broadcastable to ``[...]``.
      weights: optional non-negative per-example weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-example losses of shape ``[...]`` (the leading shape of the predictions) for
      ``reduction="none"``, else a scalar (a pair for ``"sum_and_count"``); dtype of the
      promoted inputs. Identical inputs give 0 with zero gradient.

    References:
      Gatys, Ecker & Bethge, "Image Style Transfer Using Convolutional Neural Networks",
      CVPR 2016; Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer
      and Super-Resolution", ECCV 2016 (style reconstruction loss).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import style_loss
      >>> a = jnp.ones((2, 4, 4, 3))
      >>> b = jnp.zeros((2, 4, 4, 3))
      >>> style_loss(a, b)
      Array([1., 1.], dtype=float32)
      >>> style_loss({"x": a, "y": a}, {"x": b, "y": a}, layer_weights={"x": 0.5, "y": 1.0})
      Array([0.5, 0.5], dtype=float32)
    """
    _checks.check_reduction(reduction)
    mode = _gram_mode(normalize)
    names, preds, targs = _paired_layers(predictions, targets)
    layer_w = _layer_weights(layer_weights, names)
    preds = [_checks.as_float("predictions", p) for p in preds]
    targs = [_checks.as_float("targets", t) for t in targs]
    out_dtype = _checks.result_dtype(*preds, *targs)
    acc = _checks.compute_dtype(out_dtype)
    batch = None
    total = None
    mask = None
    for name, p, t, w in zip(names, preds, targs, layer_w, strict=True):
        label = "" if name is None else f" (layer {name!r})"
        _checks.check_min_rank("predictions", p, 3)
        _checks.check_min_rank("targets", t, 3)
        if p.shape[-1] != t.shape[-1]:
            raise ValueError(
                f"`predictions` and `targets` must have the same number of channels{label}; "
                f"got shapes {p.shape} and {t.shape}."
            )
        if batch is None:
            batch = p.shape[:-3]
            mask = _example_mask(where, batch)
        elif p.shape[:-3] != batch:
            raise ValueError(
                f"`predictions` layers must share their leading shape; got {p.shape[:-3]}"
                f"{label} and {batch}."
            )
        p = _zero_masked(p, mask)
        t = _zero_masked(t, mask) if t.shape[:-3] == batch else t
        gp = _gram(p, mode, precision)
        gt = _checks.broadcast_to("targets", _gram(t, mode, precision), gp.shape)
        term = jnp.mean(jnp.square(gp.astype(acc) - gt.astype(acc)), axis=(-2, -1))
        term = jnp.asarray(w, acc) * term
        total = term if total is None else total + term
    return _reduce(total, out_dtype, reduction, mask, weights, axis_name)


def perceptual_loss(
    predictions: ArrayLike,
    targets: ArrayLike,
    *,
    feature_fn: Callable[[jax.Array], Mapping[str, jax.Array]],
    layers: Sequence[str] | None = None,
    layer_weights: Any = None,
    penalty: str = "squared_error",
    normalize_features: bool = False,
    eps: float = 1e-10,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Perceptual (feature reconstruction) loss: difference between deep features of images.

    With :math:`\phi_l` the activations named ``l`` returned by ``feature_fn``::

        loss = sum_l w_l * mean_{h, w, c} |phi_l(x)[h, w, c] - phi_l(y)[h, w, c]| ** p

    with ``p = 2`` for ``penalty="squared_error"`` (Johnson et al.'s feature reconstruction
    loss, the squared Euclidean distance over ``C_l H_l W_l``) and ``p = 1`` for
    ``"absolute_error"`` (gradient 0 where features are equal, as torch's ``l1_loss``). With
    ``normalize_features=True`` each feature vector is first unit-normalized over channels as
    in LPIPS, ``phi / (||phi||_2 + eps)`` (a zero vector stays zero, with finite gradient).
    LPIPS is then ``C_l`` times the ``"squared_error"`` term with its learned per-channel weights
    replaced by ones.

    ``feature_fn`` is called once on the predictions and once on the targets, each reshaped
    to one batch axis ``[N, H, W, C]`` (``N`` the product of the leading shape), and must
    return a dict of named activations ``[N, ...]`` with channels last. A Flax module's apply
    works, e.g. ``functools.partial(VGG16().apply, variables)`` with
    `jaxloss.models.VGG16`. Use ``jax.lax.stop_gradient`` on the targets if they are not
    to be differentiated.

    Args:
      predictions: ``[..., H, W, C]`` floating images (e.g. generated).
      targets: ``[..., H, W, C]`` floating images (e.g. ground truth), same shape.
      feature_fn: callable ``[N, H, W, C] -> dict[str, [N, ...]]``.
      layers: names of the activations to compare, in order (static); ``None`` uses every
        activation ``feature_fn`` returns.
      layer_weights: ``None`` (every weight 1), a non-negative scalar, a sequence aligned with
        ``layers`` (or with the iteration order of the returned dict when ``layers`` is
        ``None``; a jitted ``feature_fn`` returns sorted keys, so prefer a dict then), or a
        dict keyed by layer name with one weight per compared layer.
      penalty: the elementwise penalty of the feature differences, ``"squared_error"``
        (default) or ``"absolute_error"`` (static; the names of the regression losses).
      normalize_features: unit-normalize each feature vector over channels (LPIPS).
      eps: added to the channel norm when ``normalize_features`` (LPIPS uses 1e-10).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-example losses ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the promoted dtype of the images (features are compared in at
      least float32). Identical images give 0.

    References:
      Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
      Super-Resolution", ECCV 2016; Zhang et al., "The Unreasonable Effectiveness of Deep
      Features as a Perceptual Metric" (LPIPS), CVPR 2018 (``normalize_tensor``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import perceptual_loss
      >>> def features(x):
      ...     return {"identity": x, "squared": x**2}
      >>> x = jnp.full((1, 4, 4, 3), 2.0)
      >>> y = jnp.ones((1, 4, 4, 3))
      >>> perceptual_loss(x, y, feature_fn=features)
      Array([10.], dtype=float32)
      >>> perceptual_loss(
      ...     x, y, feature_fn=features, layers=["squared"], penalty="absolute_error"
      ... )
      Array([3.], dtype=float32)
    """
    _checks.check_reduction(reduction)
    _checks.check_choice("penalty", penalty, PENALTIES)
    if not callable(feature_fn):
        raise TypeError(f"`feature_fn` must be callable; got {type(feature_fn).__name__}.")
    _checks.check_nonnegative("eps", eps)
    predictions = _checks.as_float("predictions", predictions)
    targets = _checks.as_float("targets", targets)
    _checks.check_min_rank("predictions", predictions, 3)
    _checks.check_min_rank("targets", targets, 3)
    _checks.check_same_shape(predictions=predictions, targets=targets)
    out_dtype = _checks.result_dtype(predictions, targets)
    acc = _checks.compute_dtype(out_dtype)
    batch = predictions.shape[:-3]
    mask = _example_mask(where, batch)
    predictions, targets = _zero_masked(predictions, mask), _zero_masked(targets, mask)

    pred_features = _call_feature_fn(feature_fn, predictions)
    target_features = _call_feature_fn(feature_fn, targets)
    if layers is None:
        names = list(pred_features)
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
        if not names:
            raise ValueError("`layers` must name at least one layer; got an empty sequence.")
        unknown = [n for n in names if n not in pred_features]
        if unknown:
            raise ValueError(
                f"`layers` {unknown} are not among the activations returned by `feature_fn`: "
                f"{list(pred_features)}."
            )
    layer_w = _layer_weights(layer_weights, names)

    total = jnp.zeros(batch, acc)
    for name, w in zip(names, layer_w, strict=True):
        a = jnp.asarray(pred_features[name]).astype(acc)
        b = jnp.asarray(target_features[name]).astype(acc)
        if a.shape != b.shape or a.ndim < 2 or a.shape[0] != int(np.prod(batch)):
            raise ValueError(
                f"`feature_fn` must return [N, ...] activations for a batch of N images; "
                f"layer {name!r} has shapes {a.shape} and {b.shape} for N={np.prod(batch)}."
            )
        if normalize_features:
            a = _numerics.unit_normalize(a, -1, offset=eps)
            b = _numerics.unit_normalize(b, -1, offset=eps)
        diff = a - b
        per = jnp.square(diff) if penalty == "squared_error" else _numerics.abs_zero_grad(diff)
        per = jnp.mean(per, axis=tuple(range(1, per.ndim)))
        total = total + jnp.asarray(w, acc) * per.reshape(batch)
    return _reduce(total, out_dtype, reduction, mask, weights, axis_name)


def total_variation(
    images: ArrayLike,
    *,
    beta: float = 1.0,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Total variation :math:`V^\beta` of images (Mahendran & Vedaldi 2015).

    Per channel, with forward differences ``dy = I[i+1, j] - I[i, j]`` and
    ``dx = I[i, j+1] - I[i, j]``::

        TV_beta(I) = sum_{i, j, c} (dy[i, j, c] ** 2 + dx[i, j, c] ** 2) ** (beta / 2)

    summed over rows, columns and channels (the power applies per channel). Border: the
    difference across the last row (column) is 0, i.e. replicate padding / Neumann boundary
    as in Chambolle (2004), so every pair of neighbours is counted exactly once and a 1x1
    image has total variation 0. ``beta = 1`` is the isotropic TV; ``beta = 2`` is the sum
    of squared neighbour differences, equal to piq's
    ``total_variation(x, norm_type="l2_squared", reduction="none")`` (piq's ``"l2"`` is the
    square root of that whole sum, not ``beta = 1``).

    At a flat point (``dy = dx = 0``) the value is 0 and the gradient is taken as 0 (the
    double-``where`` trick), so gradients are finite for every ``beta > 0``; for
    ``beta < 1`` they still grow without bound as a difference tends to 0 (the function is
    not Lipschitz there).

    Args:
      images: ``[..., H, W, C]`` floating images.
      beta: exponent ``> 0`` (Mahendran & Vedaldi use ``beta = 2`` for regularization; 1 is
        the usual TV).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image values ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the dtype of ``images`` (computed in at least float32).

    References:
      Mahendran & Vedaldi, "Understanding Deep Image Representations by Inverting Them",
      CVPR 2015 (eq. for :math:`R_{V^\beta}`); Chambolle, "An Algorithm for Total Variation
      Minimization and Applications", JMIV 2004 (border handling); piq
      ``total_variation`` (``"l2_squared"``).

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import total_variation
      >>> x = jnp.array([[0.0, 3.0], [4.0, 4.0]])[..., None]
      >>> print(f"{float(total_variation(x)):.4f}")  # sqrt(4**2 + 3**2) + sqrt(1**2 + 0**2)
      6.0000
      >>> print(f"{float(total_variation(x, beta=2.0)):.4f}")
      26.0000
    """
    _checks.check_reduction(reduction)
    images = _checks.as_float("images", images)
    _checks.check_min_rank("images", images, 3)
    _checks.check_positive("beta", beta)
    acc = _checks.compute_dtype(images.dtype)
    mask = _example_mask(where, images.shape[:-3])
    dy, dx = _forward_differences(_zero_masked(images, mask).astype(acc))
    squared = jnp.square(dy) + jnp.square(dx)
    fixed = _checks.concrete(beta)
    if fixed is not None and fixed.shape == () and float(fixed) == 2.0:
        terms = squared
    else:
        positive = squared > 0
        safe = jnp.where(positive, squared, jnp.ones((), acc))
        exponent = jnp.asarray(beta, acc) / 2
        terms = jnp.where(positive, safe**exponent, jnp.zeros((), acc))
    value = jnp.sum(terms, axis=(-3, -2, -1))
    return _reduce(value, images.dtype, reduction, mask, weights, axis_name)


def anisotropic_total_variation(
    images: ArrayLike,
    *,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""Anisotropic (L1) total variation: sum of absolute neighbour differences.

    ::

        TV_1(I) = sum_{i < H-1, j, c} |I[i+1, j, c] - I[i, j, c]|
                + sum_{i, j < W-1, c} |I[i, j+1, c] - I[i, j, c]|

    over every valid pair of vertical and horizontal neighbours and every channel. Equal to
    ``kornia.losses.total_variation(img, reduction="sum")`` on the channel-first image
    (kornia's ``"mean"`` divides each of the two sums by its own number of differences).
    The gradient at equal neighbours is 0 (the subgradient ``sign(0) = 0``).

    Args:
      images: ``[..., H, W, C]`` floating images.
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-image mask broadcastable to ``[...]``.
      weights: optional non-negative per-image weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-image values ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the dtype of ``images`` (computed in at least float32). A 1x1
      image gives 0.

    References:
      Rudin, Osher & Fatemi, "Nonlinear total variation based noise removal algorithms",
      Physica D 1992 (anisotropic discretization); kornia ``losses.total_variation``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from jaxloss import anisotropic_total_variation
      >>> x = jnp.array([[0.0, 3.0], [4.0, 4.0]])[..., None]
      >>> print(f"{float(anisotropic_total_variation(x)):.4f}")
      8.0000
    """
    _checks.check_reduction(reduction)
    images = _checks.as_float("images", images)
    _checks.check_min_rank("images", images, 3)
    acc = _checks.compute_dtype(images.dtype)
    mask = _example_mask(where, images.shape[:-3])
    dy, dx = _forward_differences(_zero_masked(images, mask).astype(acc))
    value = jnp.sum(_numerics.abs_zero_grad(dy) + _numerics.abs_zero_grad(dx), axis=(-3, -2, -1))
    return _reduce(value, images.dtype, reduction, mask, weights, axis_name)


def _example_mask(where: ArrayLike | None, batch: tuple[int, ...]) -> jax.Array | None:
    """The per-image mask from `where`, broadcast to the leading shape `batch`."""
    if where is None:
        return None
    return _checks.broadcast_to("where", _checks.as_bool("where", where), batch)


def _zero_masked(x: jax.Array, mask: jax.Array | None) -> jax.Array:
    """`x` ``[..., H, W, C]`` with the masked images replaced by zeros (nothing leaks)."""
    if mask is None:
        return x
    return jnp.where(mask[..., None, None, None], x, jnp.zeros((), x.dtype))


def _reduce(values, dtype, reduction, mask, weights, axis_name):
    """The per-image values reduced as `jaxloss.reduce` does, in the result dtype."""
    return reduce_loss(
        values, dtype, reduction=reduction, where=mask, weights=weights, axis_name=axis_name
    )


def _gram_mode(normalize: Any) -> str | None:
    if normalize is True:
        return "hw"
    if normalize is False or normalize is None:
        return None
    if isinstance(normalize, str) and normalize in GRAM_NORMALIZATIONS:
        return normalize
    raise ValueError(
        f"`normalize` must be True, False or one of {GRAM_NORMALIZATIONS}; got {normalize!r}."
    )


def _gram(features: jax.Array, mode: str | None, precision: Any) -> jax.Array:
    """Gram matrix in the accumulation dtype (at least float32)."""
    h, w, c = features.shape[-3:]
    acc = _checks.compute_dtype(features.dtype)
    # One contraction axis (a free reshape of the channel-last map): XLA:CPU then contracts
    # the map in place, where two axes (h, w) made it copy a transposed [..., C, H * W] first.
    flat = features.reshape(*features.shape[:-3], h * w, c)
    gram = jnp.einsum(
        "...nc,...nd->...cd",
        flat,
        flat,
        precision=precision,
        preferred_element_type=acc,
    )
    divisor = {None: 1, "hw": h * w, "chw": c * h * w}[mode]
    return gram / max(divisor, 1)


def _paired_layers(predictions: Any, targets: Any) -> tuple[list, list, list]:
    """Layer names and per-layer arrays of two structures that must match."""
    if isinstance(predictions, Mapping):
        if not isinstance(targets, Mapping) or set(targets) != set(predictions):
            got = sorted(targets) if isinstance(targets, Mapping) else type(targets).__name__
            raise ValueError(
                f"`targets` must be a dict with the keys of `predictions` {sorted(predictions)};"
                f" got {got}."
            )
        names = list(predictions)
        return names, [predictions[n] for n in names], [targets[n] for n in names]
    if isinstance(predictions, list | tuple):
        if not isinstance(targets, list | tuple) or len(targets) != len(predictions):
            got = len(targets) if isinstance(targets, list | tuple) else type(targets).__name__
            raise ValueError(
                f"`targets` must be a sequence of {len(predictions)} layers like `predictions`;"
                f" got {got}."
            )
        if not predictions:
            raise ValueError("`predictions` must hold at least one layer; got none.")
        return list(range(len(predictions))), list(predictions), list(targets)
    if isinstance(targets, Mapping | list | tuple):
        raise ValueError(
            f"`targets` must be an array like `predictions`; got {type(targets).__name__}."
        )
    return [None], [predictions], [targets]


def _layer_weights(layer_weights: Any, names: list) -> list:
    """One weight per layer from None, a scalar, a sequence or a dict; checked >= 0."""
    if layer_weights is None:
        return [1.0] * len(names)
    if isinstance(layer_weights, Mapping):
        missing = [n for n in names if n not in layer_weights]
        extra = [k for k in layer_weights if k not in names]
        if missing or extra:
            raise ValueError(
                f"`layer_weights` must have one weight per layer {names}; "
                f"missing {missing}, unexpected {extra}."
            )
        weights = [layer_weights[n] for n in names]
    elif isinstance(layer_weights, list | tuple) or np.ndim(layer_weights) == 1:
        weights = list(layer_weights)
        if len(weights) != len(names):
            raise ValueError(
                f"`layer_weights` must have one weight per layer ({len(names)}); "
                f"got {len(weights)}."
            )
    elif np.ndim(layer_weights) == 0:
        weights = [layer_weights] * len(names)
    else:
        raise ValueError(
            f"`layer_weights` must be a scalar, a sequence or a dict; got shape "
            f"{np.shape(layer_weights)}."
        )
    for w in weights:
        _checks.check_nonnegative("layer_weights", w)
    return weights


def _call_feature_fn(feature_fn: Callable, images: jax.Array) -> Mapping[str, jax.Array]:
    flat = images.reshape((-1, *images.shape[-3:]))
    out = feature_fn(flat)
    if not isinstance(out, Mapping) or not out:
        raise TypeError(
            "`feature_fn` must return a non-empty dict of named activations; "
            f"got {type(out).__name__}."
        )
    return out


def _forward_differences(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Vertical and horizontal forward differences, 0 across the last row/column."""
    lead = [(0, 0)] * (x.ndim - 3)
    dy = jnp.diff(x, axis=-3)
    dx = jnp.diff(x, axis=-2)
    dy = jnp.pad(dy, [*lead, (0, 1), (0, 0), (0, 0)])
    dx = jnp.pad(dx, [*lead, (0, 0), (0, 1), (0, 0)])
    return dy, dx
