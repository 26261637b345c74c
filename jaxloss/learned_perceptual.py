"""Learned perceptual metrics: LPIPS with a VGG16 trunk (Zhang et al. 2018).

Images are channel-last RGB, ``[..., H, W, 3]``, in ``[-1, 1]`` as the ``lpips`` package
takes them (``normalize=True`` for ``[0, 1]``). The learned quantities are arguments, so a
jitted step receives them as arrays: the VGG16 trunk's Flax variables (the layout of
`jaxloss.models.VGG16`, from ``jaxloss.models.load_torchvision_vgg``) and the five linear
heads (from ``jaxloss.models.load_lpips_heads``, which reads the ``lpips`` package's
``weights/v0.1/vgg.pth``). The trunk runs here in plain JAX, so the metric itself needs no
flax; nothing is downloaded.

The value is one number per image pair, reduced by ``reduction`` with a per-image mask
``where``, per-image ``weights`` and ``axis_name`` as `jaxloss.reduce` does
(CONTRIBUTING.md, section 4). A masked pair is replaced by zeros before the network, so a NaN
there reaches neither the value nor the gradient.

Memory and time are VGG16's: both images of a pair go through the trunk in one batch of
``2 N`` images. Use ``precision="highest"`` for full float32 convolutions on GPU/TPU.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from jaxloss import _checks, _dispatch, _numerics
from jaxloss.reductions import reduce_loss

__all__ = ["lpips"]

# The layers LPIPS compares: the last ReLU of each of VGG16's five blocks.
LPIPS_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")
# VGG16's convolutions (torchvision ``vgg16().features``, named as in `jaxloss.models.VGG16`),
# one tuple per block; a 2x2 max-pool of stride 2 precedes every block but the first.
_VGG16_BLOCKS = (
    ("conv1_1", "conv1_2"),
    ("conv2_1", "conv2_2"),
    ("conv3_1", "conv3_2", "conv3_3"),
    ("conv4_1", "conv4_2", "conv4_3"),
    ("conv5_1", "conv5_2", "conv5_3"),
)
# The package's ScalingLayer: ``(x - shift) / scale`` maps [-1, 1] RGB to ImageNet-normalized
# inputs (the ImageNet mean and std expressed in [-1, 1] units, rounded as the package has
# them).
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
# Four pools halve the image before relu5_3: below 16 pixels its map would be empty.
MIN_SIZE = 16


@_dispatch.compiled_when_eager
def lpips(
    predictions: ArrayLike,
    targets: ArrayLike,
    vgg_variables: Any,
    lpips_heads: Any,
    *,
    normalize: bool = False,
    eps: float = 1e-10,
    precision: jax.lax.PrecisionLike = None,
    reduction: str = "none",
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    axis_name: Hashable | None = None,
) -> jax.Array:
    r"""LPIPS distance (VGG16 trunk, version 0.1): weighted differences of unit-normalized features.

    With :math:`\phi_l` the VGG16 activations at ``relu1_2, relu2_2, relu3_3, relu4_3,
    relu5_3`` (``C_l`` channels on an ``H_l x W_l`` grid), :math:`w_l \in \mathbb{R}^{C_l}`
    the linear heads and ``s(x) = (x - shift) / scale`` the package's scaling layer::

        u_l(x)[h, w] = phi_l(s(x))[h, w] / (||phi_l(s(x))[h, w]||_2 + eps)     (over channels)
        lpips(x, y)  = sum_l mean_{h, w} sum_c w_l[c] * (u_l(x) - u_l(y))[h, w, c] ** 2

    ``shift = (-0.030, -0.088, -0.188)``, ``scale = (0.458, 0.448, 0.450)``: the ImageNet mean
    and std in ``[-1, 1]`` units. The heads are the package's 1x1 convolutions ``lin0 ..
    lin4`` (one output, no bias), so the inner sum is their output and the spatial mean the
    package's ``spatial_average``. ``lpips_heads=None`` is the package's ``lpips=False``
    baseline: every head weight 1, i.e. the squared distance of the unit features summed
    over channels.

    Edge cases: identical images give 0 and a zero gradient up to rounding (the channel norm
    is one reduction over the batch of ``2 N`` feature maps, which XLA:CPU may round
    differently at another batch position: values of order 1e-16 in float32). A feature
    vector that is zero at a pixel (every channel's ReLU off) normalizes to 0
    (``0 / (0 + eps)``), with the derivative of ``v / (||v|| + eps)`` there, ``1 / eps``
    times the identity, as in the package; the ReLU in front of it passes no gradient unless
    a pre-activation is exactly 0 (ReLU's derivative at 0 is 0, as torch's). Max-pool ties
    (flat regions) send the gradient to one maximum of each window.
    The package's ``spatial=True`` map and its ``version="0.0"`` (no scaling layer) are not
    offered.

    Args:
      predictions: ``[..., H, W, 3]`` floating RGB images in ``[-1, 1]`` (``[0, 1]`` with
        ``normalize=True``), ``H, W >= 16``.
      targets: ``[..., H, W, 3]`` floating images, same shape and range.
      vgg_variables: the trunk's Flax variables, ``{"params": {"conv1_1": {"kernel": [3, 3,
        3, C], "bias": [C]}, ...}}`` for the 13 convolutions of `jaxloss.models.VGG16`
        (``conv1_1`` ... ``conv5_3``; deeper or classifier parameters are not used). Any
        channel counts that chain are accepted; torchvision's VGG16 has 64, 128, 256, 512,
        512 per block. Cast to the computation dtype.
      lpips_heads: ``{"relu1_2": [C_1], ..., "relu5_3": [C_5]}``, the linear heads' weights
        (`jaxloss.models.load_lpips_heads`; the package's trained weights are non-negative),
        or ``None`` for the unweighted baseline.
      normalize: the images are in ``[0, 1]`` and are mapped to ``2 x - 1`` first (the
        package's ``forward(..., normalize=True)``).
      eps: added to the channel norm of every feature vector, as above (the package's
        ``normalize_tensor``, 1e-10).
      precision: convolution and head contraction precision (``None``: JAX's default, which
        may use TF32/bfloat16 passes on GPU/TPU; ``"highest"`` for full float32).
      reduction: ``"none"`` (default), ``"mean"``, ``"sum"`` or ``"sum_and_count"``.
      where: optional boolean per-pair mask broadcastable to ``[...]``.
      weights: optional non-negative per-pair weights broadcastable to ``[...]``.
      axis_name: the data-parallel batch axis: reductions run over the global batch.

    Returns:
      Per-pair distances ``[...]`` for ``reduction="none"``, else a scalar (a pair for
      ``"sum_and_count"``), in the promoted dtype of the images (computed, trunk included, in
      at least float32). Non-negative for non-negative heads; 0 for identical images (up to
      rounding, see above).

    References:
      Zhang, Isola, Efros, Shechtman & Wang, "The Unreasonable Effectiveness of Deep
      Features as a Perceptual Metric", CVPR 2018; the ``lpips`` package 0.1.4
      (``lpips.LPIPS(net="vgg", version="0.1")``: ``ScalingLayer``, ``normalize_tensor``,
      ``NetLinLayer``, ``spatial_average``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss import lpips
      >>> from jaxloss.models import VGG16
      >>> x = jax.random.uniform(jax.random.key(0), (2, 16, 16, 3), minval=-1.0, maxval=1.0)
      >>> vgg = VGG16().init(jax.random.key(1), x)  # random; or load_torchvision_vgg(path)
      >>> heads = {"relu1_2": jnp.full(64, 0.1), "relu2_2": jnp.full(128, 0.1),
      ...          "relu3_3": jnp.full(256, 0.1), "relu4_3": jnp.full(512, 0.1),
      ...          "relu5_3": jnp.full(512, 0.1)}  # or load_lpips_heads(".../vgg.pth")
      >>> lpips(x, x[::-1], vgg, heads).shape
      (2,)
      >>> print(bool(jnp.all(lpips(x, x, vgg, heads) < 1e-12)))  # 0 up to rounding
      True
    """
    _checks.check_reduction(reduction)
    _checks.check_nonnegative("eps", eps)
    predictions = _checks.as_float("predictions", predictions)
    targets = _checks.as_float("targets", targets)
    _check_images("predictions", predictions)
    _check_images("targets", targets)
    _checks.check_same_shape(predictions=predictions, targets=targets)
    out_dtype = _checks.result_dtype(predictions, targets)
    acc = _checks.compute_dtype(out_dtype)
    params, channels = _trunk_params(vgg_variables, acc)
    heads = _head_weights(lpips_heads, channels, acc)

    batch = predictions.shape[:-3]
    mask = None
    pair = jnp.stack([predictions.astype(acc), targets.astype(acc)])  # [2, ..., H, W, 3]
    if where is not None:
        mask = _checks.broadcast_to("where", _checks.as_bool("where", where), batch)
        pair = jnp.where(mask[..., None, None, None], pair, jnp.zeros((), acc))
    images = pair.reshape((-1, *pair.shape[-3:]))  # both sides in one batch of 2N
    if normalize:
        images = 2 * images - 1
    shift = jnp.asarray(LPIPS_SHIFT, acc).reshape(1, 1, 1, 3)
    scale = jnp.asarray(LPIPS_SCALE, acc).reshape(1, 1, 1, 3)
    features = _vgg16_features(params, (images - shift) / scale, precision)

    offset = jnp.asarray(eps, acc)
    total = jnp.zeros((images.shape[0] // 2,), acc)
    for feature, head in zip(features, heads, strict=True):
        # inside shard_map, replicated heads and eps enter the custom VJP as device-varying
        # values, whose transposes sum their cotangents over the devices
        head, layer_eps = (_numerics.match_varying(a, feature) for a in (head, offset))
        total = total + _layer_distance(feature, head, layer_eps)
    return reduce_loss(
        total.reshape(batch),
        out_dtype,
        reduction=reduction,
        where=mask,
        weights=weights,
        axis_name=axis_name,
    )


def _check_images(name: str, x: jax.Array) -> None:
    """RGB, channel-last, at least 16x16 (relu5_3 is 1/16 of the image)."""
    _checks.check_min_rank(name, x, 3)
    h, w, c = x.shape[-3:]
    if c != 3:
        raise ValueError(f"`{name}` must be RGB images [..., H, W, 3]; got shape {x.shape}.")
    if h < MIN_SIZE or w < MIN_SIZE:
        raise ValueError(
            f"`{name}` must be at least {MIN_SIZE}x{MIN_SIZE} pixels (VGG16's relu5_3 is 1/16 "
            f"of the image); got shape {x.shape}."
        )


def _trunk_params(variables: Any, dtype: Any) -> tuple[dict, tuple[int, ...]]:
    """The 13 convolutions of `variables`, checked to chain from RGB, cast to `dtype`; and
    the channel count at each LPIPS layer."""
    params = variables.get("params", variables) if isinstance(variables, Mapping) else None
    if not isinstance(params, Mapping):
        raise TypeError(
            "`vgg_variables` must be Flax variables {'params': {'conv1_1': {'kernel', 'bias'}, "
            f"...}} of jaxloss.models.VGG16; got {type(variables).__name__}."
        )
    if "conv3_4" in params:
        raise ValueError(
            "`vgg_variables` must be VGG16's; got VGG19's (it has conv3_4): LPIPS uses VGG16."
        )
    out, problems, channels = {}, [], []
    c_in = 3
    for block in _VGG16_BLOCKS:
        for name in block:
            layer = params.get(name)
            if not isinstance(layer, Mapping) or "kernel" not in layer or "bias" not in layer:
                problems.append(f"{name}: missing")
                break
            kernel, bias = jnp.asarray(layer["kernel"]), jnp.asarray(layer["bias"])
            c_out = kernel.shape[-1] if kernel.ndim == 4 else -1
            if kernel.shape != (3, 3, c_in, c_out) or bias.shape != (c_out,):
                problems.append(
                    f"{name}: kernel {kernel.shape} and bias {bias.shape}, expected kernel "
                    f"(3, 3, {c_in}, C) and bias (C,)"
                )
                break
            out[name] = (kernel.astype(dtype), bias.astype(dtype))
            c_in = c_out
        if problems:
            break
        channels.append(c_in)
    if problems:
        raise ValueError(
            "`vgg_variables` must hold VGG16's 13 3x3 convolutions conv1_1 ... conv5_3 "
            f"(jaxloss.models.VGG16), chaining from 3 input channels; {problems[0]}."
        )
    return out, tuple(channels)


def _head_weights(heads: Any, channels: tuple[int, ...], dtype: Any) -> list[jax.Array]:
    """One ``[C_l]`` weight vector per LPIPS layer (ones for ``None``), checked, cast."""
    if heads is None:
        return [jnp.ones((c,), dtype) for c in channels]
    if not isinstance(heads, Mapping) or set(heads) != set(LPIPS_LAYERS):
        got = sorted(heads) if isinstance(heads, Mapping) else type(heads).__name__
        raise ValueError(f"`lpips_heads` must be a dict with the keys {LPIPS_LAYERS}; got {got}.")
    out = []
    for name, c in zip(LPIPS_LAYERS, channels, strict=True):
        w = jnp.asarray(heads[name])
        if w.shape != (c,):
            raise ValueError(
                f"`lpips_heads` must hold one weight per channel of {name}, shape ({c},); "
                f"got {w.shape}."
            )
        out.append(w.astype(dtype))
    return out


@jax.custom_vjp
def _layer_distance(feature: jax.Array, head: jax.Array, eps: jax.Array) -> jax.Array:
    """One layer's term ``mean_{h, w} sum_c head[c] (u(a) - u(b))[h, w, c] ** 2`` for the
    ``[2 N, H, W, C]`` features of both sides (``a`` the first N, ``b`` the last), with
    ``u(v) = v / (|v| + eps)`` over channels; ``[N]``.

    Its gradient is written out (a custom VJP): with ``r`` the cotangent of ``u`` and
    ``n = |v| + eps``, the cotangent of ``v`` is ``(r - v (v . r) / (|v| n)) / n``, one channel
    reduction and one elementwise pass per layer. JAX's own backward of the same forward
    compiled 0.15-0.2 s slower in ``value_and_grad`` (twice the fusions). At ``v = 0`` the
    second term is 0 (``v (v . r) / |v|`` tends to 0), so the derivative is ``I / eps``; where
    ``|v| + eps`` is 0 (``eps = 0``) ``u`` is 0 and its derivative the identity, as
    `_numerics.unit_normalize`'s. Forward-over-reverse (Hessians) differentiates these
    formulas like any other JAX code.
    """
    return _layer_distance_forward(feature, head, eps)[0]


def _layer_distance_forward(feature, head, eps):
    norm = _numerics.sqrt_of_nonnegative(jnp.sum(jnp.square(feature), axis=-1, keepdims=True))
    inverse = _numerics.ratio_or(jnp.ones_like(norm), norm + eps, 1.0)
    ours, theirs = jnp.split(feature * inverse, 2)
    difference = ours - theirs
    # The 1x1 head (a weighted channel sum) and the spatial mean in one reduction (an einsum
    # compiled a dot and its transposes: value_and_grad 0.03-0.05 s slower).
    pixels = feature.shape[1] * feature.shape[2]
    value = jnp.sum(jnp.square(difference) * head.reshape(1, 1, 1, -1), axis=(1, 2, 3)) / pixels
    return value, (feature, norm, inverse, difference, head, eps)


def _layer_distance_backward(residuals, cotangent):
    feature, norm, inverse, difference, head, eps = residuals
    pixels = feature.shape[1] * feature.shape[2]
    scale = (cotangent / pixels).reshape(-1, 1, 1, 1)
    # the cotangent of u(a); that of u(b) is its negative
    half = 2 * scale * head.reshape(1, 1, 1, -1) * difference
    unit_cotangent = jnp.concatenate([half, -half])
    projection = jnp.sum(feature * unit_cotangent, axis=-1, keepdims=True)  # v . r
    along = _numerics.ratio_or(projection * inverse, norm, 0.0)
    d_feature = (unit_cotangent - feature * along) * inverse
    d_head = jnp.sum(scale * jnp.square(difference), axis=(0, 1, 2))
    # du/d eps = -u / n: the sum of -(v . r) / n^2 (0 at v = 0, where v . r is 0)
    d_eps = -jnp.sum(projection * jnp.square(inverse))
    return d_feature, d_head, d_eps.astype(jnp.result_type(eps))


_layer_distance.defvjp(_layer_distance_forward, _layer_distance_backward)


def _max_pool_2x2(x: jax.Array) -> jax.Array:
    """2x2 max-pool of stride 2 (an odd last row or column dropped, as torch's ``max_pool2d``)
    as a reshape and a max: its gradient is a comparison with the max instead of
    ``reduce_window``'s ``select_and_scatter``, which XLA:CPU compiled 0.3 s slower in LPIPS's
    ``value_and_grad`` (1.1 -> 0.8 s) and ran 3x slower (forward+backward of [8, 224, 224, 64]).
    At a tie the gradient is shared by the tied values (torch's goes to one of them); after a
    ReLU the only likely tie is between zeros, where the ReLU's derivative is zero anyway."""
    n, h, w, c = x.shape
    x = x[:, : h // 2 * 2, : w // 2 * 2]
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _vgg16_features(params: dict, x: jax.Array, precision: Any) -> list[jax.Array]:
    """The activations at `LPIPS_LAYERS` of VGG16 (3x3 convolutions, padding 1, ReLU; 2x2
    max-pools of stride 2 between blocks) on ``[N, H, W, 3]`` images."""
    features = []
    for index, block in enumerate(_VGG16_BLOCKS):
        if index:
            x = _max_pool_2x2(x)
        for name in block:
            kernel, bias = params[name]
            x = jax.lax.conv_general_dilated(
                x,
                kernel,
                window_strides=(1, 1),
                padding=((1, 1), (1, 1)),
                dimension_numbers=("NHWC", "HWIO", "NHWC"),
                precision=precision,
            )
            x = jax.nn.relu(x + bias.reshape(1, 1, 1, -1))
        features.append(x)
    return features
