"""VGG16/VGG19 feature stacks (torchvision layout) in flax.linen, and safe weight loading.

The modules reproduce torchvision's ``vgg16().features`` / ``vgg19().features`` (configurations
D and E of Simonyan & Zisserman): 3x3 convolutions with padding 1, each followed by a ReLU,
and 2x2 max-pools of stride 2. They return a dict of named activations for the perceptual and
style losses of `jaxloss.images`. Nothing is downloaded: weights come from a local file through
`load_torchvision_vgg`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VGG16",
    "VGG19",
    "convert_lpips_heads",
    "convert_torchvision_vgg",
    "load_lpips_heads",
    "load_torchvision_vgg",
    "vgg_layer_names",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_M = "M"
CONFIGS = {
    "vgg16": (64, 64, _M, 128, 128, _M, 256, 256, 256, _M, 512, 512, 512, _M, 512, 512, 512, _M),
    "vgg19": (
        *(64, 64, _M, 128, 128, _M),
        *(256, 256, 256, 256, _M, 512, 512, 512, 512, _M, 512, 512, 512, 512, _M),
    ),
}
VARIANTS = tuple(CONFIGS)


def vgg_layer_names(variant: str = "vgg16") -> tuple[str, ...]:
    """Names of every activation of a VGG feature stack, in order.

    ``conv{b}_{k}`` (convolution output, before the ReLU), ``relu{b}_{k}`` and ``pool{b}``
    for block ``b`` and convolution ``k``; these are the names `VGG16`/`VGG19` accept in
    ``output_layers``.

    Args:
      variant: ``"vgg16"`` or ``"vgg19"``.

    Returns:
      A tuple of layer names.

    References:
      Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
      Recognition", ICLR 2015 (configurations D and E); torchvision ``models.vgg``.

    Examples:
      >>> from jaxloss.models import vgg_layer_names
      >>> vgg_layer_names("vgg16")[:5]
      ('conv1_1', 'relu1_1', 'conv1_2', 'relu1_2', 'pool1')
    """
    if variant not in CONFIGS:
        raise ValueError(f"`variant` must be one of {VARIANTS}; got {variant!r}.")
    return tuple(entry[1] for entry in _layout(variant))


class _VGG(nn.Module):
    """Shared implementation of `VGG16` and `VGG19` (see their docstrings)."""

    output_layers: Sequence[str] | None = None
    normalize_input: bool = True
    dtype: Any = None
    param_dtype: Any = jnp.float32
    precision: Any = None

    variant: ClassVar[str] = "vgg16"

    @nn.compact
    def __call__(self, images: jax.Array) -> dict[str, jax.Array]:
        layout = _layout(self.variant)
        names = [entry[1] for entry in layout]
        if self.output_layers is None:
            wanted = tuple(n for n in names if n.startswith("relu"))
        elif isinstance(self.output_layers, str):
            wanted = (self.output_layers,)
        else:
            wanted = tuple(self.output_layers)
        unknown = [n for n in wanted if n not in names]
        if unknown or not wanted:
            raise ValueError(
                f"`output_layers` must name layers of {self.variant} ({', '.join(names)}); "
                f"got unknown {unknown or 'none requested'}."
            )
        x = jnp.asarray(images)
        if not jnp.issubdtype(x.dtype, jnp.floating):
            raise TypeError(
                f"`images` must be a floating-point array; got dtype {x.dtype} "
                "(scale uint8 images to [0, 1] first)."
            )
        if x.ndim < 3 or x.shape[-1] != 3:
            raise ValueError(f"`images` must have shape [..., H, W, 3]; got {x.shape}.")
        if self.normalize_input:
            ones = (1,) * (x.ndim - 1)
            mean = jnp.asarray(IMAGENET_MEAN, x.dtype).reshape((*ones, 3))
            std = jnp.asarray(IMAGENET_STD, x.dtype).reshape((*ones, 3))
            x = (x - mean) / std
        deepest = max(names.index(n) for n in wanted)
        out = {}
        for kind, name, _, channels in layout[: deepest + 1]:
            if kind == "conv":
                x = nn.Conv(
                    channels,
                    (3, 3),
                    padding=((1, 1), (1, 1)),
                    dtype=self.dtype,
                    param_dtype=self.param_dtype,
                    precision=self.precision,
                    name=name,
                )(x)
            elif kind == "relu":
                x = nn.relu(x)
            else:
                x = nn.max_pool(x, (2, 2), strides=(2, 2), padding="VALID")
            if name in wanted:
                out[name] = x
        return {n: out[n] for n in wanted}


class VGG16(_VGG):
    """VGG16 feature stack (torchvision ``vgg16().features``, configuration D), flax.linen.

    13 convolutions (3x3, padding 1) each with a ReLU, in five blocks closed by 2x2 max-pools
    of stride 2 (odd sizes are floored, as in torch). Parameters are named ``conv{b}_{k}``
    with ``kernel`` ``[3, 3, C_in, C_out]`` (HWIO) and ``bias``; `load_torchvision_vgg`
    produces them from torchvision weights.

    Attributes:
      output_layers: names of the activations to return (see `vgg_layer_names`: ``conv*``
        before ReLU, ``relu*``, ``pool*``); ``None`` returns every ``relu{b}_{k}``. The stack
        stops at the deepest requested layer, so a module asked for ``("relu2_2",)`` only
        computes (and only initializes) the first four convolutions; applying it with full
        variables works, the deeper parameters are ignored.
      normalize_input: ``True`` (default): inputs are RGB in ``[0, 1]`` and are normalized
        with the ImageNet mean ``(0.485, 0.456, 0.406)`` and std ``(0.229, 0.224, 0.225)``
        (torchvision's preprocessing); ``False``: inputs are already normalized.
      dtype: computation dtype of the convolutions (``None``: promote inputs and params).
      param_dtype: dtype of initialized parameters.
      precision: convolution precision (``"highest"`` for full float32 on GPU/TPU).

    Args:
      images: (of ``__call__``) ``[..., H, W, 3]`` floating RGB images; ``H, W >= 32`` for
        every pool to be non-empty.

    Returns:
      (of ``__call__``) a dict ``{name: [..., H_l, W_l, C_l]}`` in the order of
      ``output_layers`` (network order by default; a dict returned through ``jax.jit`` comes
      back with sorted keys).

    References:
      Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
      Recognition", ICLR 2015; torchvision ``models.vgg16`` (``features``).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss.models import VGG16
      >>> model = VGG16(output_layers=("relu1_2", "relu2_1"))
      >>> images = jnp.zeros((1, 8, 8, 3))
      >>> variables = model.init(jax.random.key(0), images)
      >>> {k: v.shape for k, v in model.apply(variables, images).items()}
      {'relu1_2': (1, 8, 8, 64), 'relu2_1': (1, 4, 4, 128)}
    """

    variant: ClassVar[str] = "vgg16"


class VGG19(_VGG):
    """VGG19 feature stack (torchvision ``vgg19().features``, configuration E), flax.linen.

    16 convolutions (3x3, padding 1) each with a ReLU, in five blocks (2, 2, 4, 4, 4
    convolutions) closed by 2x2 max-pools of stride 2. Same attributes, parameter names and
    outputs as `VGG16` (``relu1_1`` ... ``relu5_4``).

    Attributes:
      output_layers: activations to return (``None``: every ``relu{b}_{k}``); the stack stops
        at the deepest one.
      normalize_input: ``True``: inputs in ``[0, 1]``, ImageNet mean/std applied inside;
        ``False``: inputs already normalized.
      dtype: computation dtype of the convolutions.
      param_dtype: dtype of initialized parameters.
      precision: convolution precision.

    Args:
      images: (of ``__call__``) ``[..., H, W, 3]`` floating RGB images.

    Returns:
      (of ``__call__``) a dict ``{name: [..., H_l, W_l, C_l]}``.

    References:
      Simonyan & Zisserman, ICLR 2015 (configuration E); torchvision ``models.vgg19``.

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from jaxloss.models import VGG19
      >>> model = VGG19(output_layers=("relu3_4",))
      >>> images = jnp.zeros((1, 16, 16, 3))
      >>> variables = model.init(jax.random.key(0), images)
      >>> model.apply(variables, images)["relu3_4"].shape
      (1, 4, 4, 256)
    """

    variant: ClassVar[str] = "vgg19"


def load_torchvision_vgg(path: str | os.PathLike, *, variant: str = "vgg16") -> dict:
    """Loads torchvision VGG weights from a local file as Flax variables for `VGG16`/`VGG19`.

    The file holds a torchvision state dict (``model.state_dict()`` of ``vgg16``/``vgg19``):
    keys ``features.{i}.weight`` ``[C_out, C_in, 3, 3]`` (OIHW) and ``features.{i}.bias``,
    converted to Flax's HWIO kernels. Keys of the ``classifier.*`` head are ignored. Formats,
    chosen by suffix, all read without unpickling arbitrary objects:

    - ``.npz``: ``numpy.load(path, allow_pickle=False)`` (no torch needed);
    - ``.safetensors``: ``safetensors.numpy.load_file`` (the ``safetensors`` package,
      ``pip install jaxloss[weights]``; no torch needed);
    - anything else (``.pth``, ``.pt``, ``.bin``): ``torch.load(path, map_location="cpu",
      weights_only=True)`` (torch is imported only then).

    Nothing is downloaded; to convert a torchvision checkpoint once, e.g.
    ``numpy.savez("vgg16.npz", **{k: v.numpy() for k, v in vgg16(weights=...).state_dict()
    .items()})``.

    Args:
      path: local file.
      variant: ``"vgg16"`` or ``"vgg19"``.

    Returns:
      ``{"params": {"conv1_1": {"kernel": ..., "bias": ...}, ...}}`` of float32 arrays.

    Raises:
      ValueError: the tensors do not match the variant (missing, unexpected or wrongly
        shaped tensors are listed; a state dict of the other variant, or of a batch-norm VGG,
        is named as such).
      FileNotFoundError: no file at ``path``.
      ImportError: the format needs ``torch`` or ``safetensors`` and it is not installed.

    References:
      torchvision ``models.vgg16`` / ``models.vgg19`` state dicts; ``torch.load`` with
      ``weights_only=True``; safetensors.

    Examples:
      >>> import os, tempfile
      >>> import numpy as np
      >>> from jaxloss.models import VGG16, load_torchvision_vgg
      >>> rng = np.random.default_rng(0)
      >>> state, c_in, i = {}, 3, 0
      >>> for c in (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
      ...           512, 512, 512, "M"):
      ...     if c == "M":
      ...         i += 1
      ...         continue
      ...     state[f"features.{i}.weight"] = rng.normal(size=(c, c_in, 3, 3)).astype("f4")
      ...     state[f"features.{i}.bias"] = np.zeros(c, "f4")
      ...     c_in, i = c, i + 2
      >>> path = os.path.join(tempfile.mkdtemp(), "vgg16.npz")
      >>> np.savez(path, **state)
      >>> variables = load_torchvision_vgg(path)
      >>> variables["params"]["conv1_1"]["kernel"].shape
      (3, 3, 3, 64)
    """
    if variant not in CONFIGS:
        raise ValueError(f"`variant` must be one of {VARIANTS}; got {variant!r}.")
    return convert_torchvision_vgg(_read_state_dict(path), variant=variant)


def convert_torchvision_vgg(state_dict: Mapping[str, Any], *, variant: str = "vgg16") -> dict:
    """Converts an in-memory torchvision VGG state dict to Flax variables.

    The conversion behind `load_torchvision_vgg`: checks every ``features.*`` tensor against
    the variant (``classifier.*`` keys are ignored) and transposes kernels OIHW -> HWIO.

    Args:
      state_dict: mapping of torchvision key to array (numpy arrays or CPU torch tensors).
      variant: ``"vgg16"`` or ``"vgg19"``.

    Returns:
      ``{"params": {"conv{b}_{k}": {"kernel": [3, 3, C_in, C_out], "bias": [C_out]}}}``,
      float32.

    Raises:
      ValueError: missing, unexpected or wrongly shaped tensors (listed), or a state dict of
        another variant.

    References:
      torchvision ``models.vgg`` (``features`` indices).

    Examples:
      >>> import numpy as np
      >>> from jaxloss.models import convert_torchvision_vgg
      >>> try:
      ...     convert_torchvision_vgg({"features.0.weight": np.zeros((64, 3, 3, 3))})
      ... except ValueError as e:
      ...     print(str(e)[:60])
      State dict does not match torchvision vgg16 features: missin
    """
    if variant not in CONFIGS:
        raise ValueError(f"`variant` must be one of {VARIANTS}; got {variant!r}.")
    arrays = {
        str(k): _to_numpy(v) for k, v in state_dict.items() if not str(k).startswith("classifier.")
    }
    expected = _expected_shapes(variant)
    problems = _mismatches(arrays, expected)
    if problems:
        for other in VARIANTS:
            if other != variant and not _mismatches(arrays, _expected_shapes(other)):
                raise ValueError(
                    f"This state dict holds the features of torchvision {other}, but it was "
                    f"loaded with `variant`={variant!r}; pass variant={other!r}."
                )
        hint = ""
        if any("running_mean" in k for k in arrays):
            hint = " (batch-norm VGGs such as vgg16_bn are not supported)"
        raise ValueError(
            f"State dict does not match torchvision {variant} features{hint}: {problems}"
        )
    params = {}
    for kind, name, index, _ in _layout(variant):
        if kind != "conv":
            continue
        weight = arrays[f"features.{index}.weight"].astype(np.float32)
        bias = arrays[f"features.{index}.bias"].astype(np.float32)
        params[name] = {
            "kernel": jnp.asarray(weight.transpose(2, 3, 1, 0)),
            "bias": jnp.asarray(bias),
        }
    return {"params": params}


# The LPIPS layers of VGG16 and their channels: the package's heads lin0 ... lin4 in order.
LPIPS_HEAD_LAYERS = (
    ("relu1_2", 64),
    ("relu2_2", 128),
    ("relu3_3", 256),
    ("relu4_3", 512),
    ("relu5_3", 512),
)


def load_lpips_heads(path: str | os.PathLike) -> dict:
    """Loads the linear heads of LPIPS (VGG16 trunk) from a local file, for `jaxloss.lpips`.

    The ``lpips`` package ships them in its wheel, ``lpips/weights/v0.1/vgg.pth``: five 1x1
    convolutions without bias, ``lin{k}.model.1.weight`` ``[1, C_k, 1, 1]`` (``model.0``
    when saved without dropout). They become one weight vector per compared layer. Keys that
    are not heads (a whole LPIPS state dict's ``net.*``, ``scaling_layer.*``) are ignored.
    Formats as `load_torchvision_vgg` (``.npz``, ``.safetensors``, else ``torch.load(...,
    weights_only=True)``); nothing is downloaded. The file's location in an installed
    package: ``importlib.resources.files("lpips") / "weights/v0.1/vgg.pth"``.

    Args:
      path: local file.

    Returns:
      ``{"relu1_2": [64], "relu2_2": [128], "relu3_3": [256], "relu4_3": [512],
      "relu5_3": [512]}`` float32 arrays.

    Raises:
      ValueError: a head is missing, ambiguous or wrongly shaped (listed).
      FileNotFoundError: no file at ``path``.
      ImportError: the format needs ``torch`` or ``safetensors`` and it is not installed.

    References:
      Zhang et al., "The Unreasonable Effectiveness of Deep Features as a Perceptual
      Metric", CVPR 2018; the ``lpips`` package 0.1.4 (``NetLinLayer``, ``weights/v0.1``).

    Examples:
      >>> import os, tempfile
      >>> import numpy as np
      >>> from jaxloss.models import load_lpips_heads
      >>> state = {f"lin{k}.model.1.weight": np.full((1, c, 1, 1), 0.5, "f4")
      ...          for k, c in enumerate((64, 128, 256, 512, 512))}
      >>> path = os.path.join(tempfile.mkdtemp(), "heads.npz")
      >>> np.savez(path, **state)
      >>> {k: v.shape for k, v in load_lpips_heads(path).items()}["relu3_3"]
      (256,)
    """
    return convert_lpips_heads(_read_state_dict(path))


def convert_lpips_heads(state_dict: Mapping[str, Any]) -> dict:
    """Converts an in-memory LPIPS state dict (VGG16 heads) to the heads of `jaxloss.lpips`.

    The conversion behind `load_lpips_heads`: finds ``lin{k}.model.{0,1}.weight``
    ``[1, C_k, 1, 1]`` for ``k = 0 .. 4`` (other keys are ignored) and flattens each to
    ``[C_k]``.

    Args:
      state_dict: mapping of key to array (numpy arrays or CPU torch tensors).

    Returns:
      ``{"relu1_2": [64], ..., "relu5_3": [512]}`` float32 arrays.

    Raises:
      ValueError: missing, ambiguous or wrongly shaped heads (listed).

    References:
      the ``lpips`` package 0.1.4 (``LPIPS.lins``, ``NetLinLayer``).

    Examples:
      >>> import numpy as np
      >>> from jaxloss.models import convert_lpips_heads
      >>> try:
      ...     convert_lpips_heads({"lin0.model.1.weight": np.ones((1, 64, 1, 1))})
      ... except ValueError as e:
      ...     print(str(e)[:50])
      State dict does not hold the five LPIPS VGG16 head
    """
    heads, problems = {}, []
    for k, (layer, channels) in enumerate(LPIPS_HEAD_LAYERS):
        keys = [
            f"lin{k}.model.{i}.weight" for i in (0, 1) if f"lin{k}.model.{i}.weight" in state_dict
        ]
        if len(keys) != 1:
            problems.append(f"lin{k}: {'missing' if not keys else f'ambiguous {keys}'}")
            continue
        weight = _to_numpy(state_dict[keys[0]])
        if weight.shape != (1, channels, 1, 1) or not np.issubdtype(weight.dtype, np.floating):
            problems.append(
                f"{keys[0]}: {weight.shape} {weight.dtype}, expected (1, {channels}, 1, 1) float"
            )
            continue
        heads[layer] = jnp.asarray(weight.reshape(channels).astype(np.float32))
    if problems:
        raise ValueError(
            "State dict does not hold the five LPIPS VGG16 heads (lin0 ... lin4 of "
            f"lpips/weights/v0.1/vgg.pth): {'; '.join(problems)}."
        )
    return heads


def _layout(variant: str) -> list[tuple[str, str, int, int]]:
    """(kind, name, torchvision index, output channels) for every layer of `features`."""
    layers = []
    index, block, k = 0, 1, 1
    for v in CONFIGS[variant]:
        if v == _M:
            layers.append(("pool", f"pool{block}", index, 0))
            index, block, k = index + 1, block + 1, 1
        else:
            layers.append(("conv", f"conv{block}_{k}", index, v))
            layers.append(("relu", f"relu{block}_{k}", index + 1, v))
            index, k = index + 2, k + 1
    return layers


def _expected_shapes(variant: str) -> dict[str, tuple[int, ...]]:
    shapes = {}
    c_in = 3
    for kind, _, index, c_out in _layout(variant):
        if kind == "conv":
            shapes[f"features.{index}.weight"] = (c_out, c_in, 3, 3)
            shapes[f"features.{index}.bias"] = (c_out,)
            c_in = c_out
    return shapes


def _mismatches(arrays: Mapping[str, np.ndarray], expected: Mapping[str, tuple]) -> str:
    """A description of every missing, unexpected or misshaped tensor ('' if none)."""
    missing = [k for k in expected if k not in arrays]
    extra = [k for k in arrays if k not in expected]
    wrong = [
        f"{k}: {arrays[k].shape} {arrays[k].dtype}, expected {expected[k]} float"
        for k in expected
        if k in arrays
        and (arrays[k].shape != expected[k] or not np.issubdtype(arrays[k].dtype, np.floating))
    ]
    parts = []
    if missing:
        parts.append(f"missing {missing}")
    if extra:
        parts.append(f"unexpected {extra}")
    if wrong:
        parts.append(f"wrong shape or dtype [{'; '.join(wrong)}]")
    return "; ".join(parts) + ("." if parts else "")


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor; bfloat16/float16 have no exact numpy peer
        value = value.detach().cpu()
        if value.is_floating_point():
            value = value.float()
        return value.numpy()
    return np.asarray(value)


def _read_state_dict(path: str | os.PathLike) -> dict[str, np.ndarray]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"`path` {path!r} is not a file.")
    suffix = os.path.splitext(path)[1].lower()
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}
    if suffix == ".safetensors":
        try:
            from safetensors.numpy import load_file
        except ImportError as e:
            raise ImportError(
                "Reading .safetensors files needs the `safetensors` package "
                "(`pip install jaxloss[weights]`)."
            ) from e
        return dict(load_file(path))
    try:
        import torch
    except ImportError as e:
        raise ImportError(
            f"Reading {suffix or 'extension-less'} torch checkpoints needs torch; or convert "
            "the state dict to .npz or .safetensors."
        ) from e
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, Mapping):
        raise ValueError(f"`path` {path!r} does not hold a state dict; got {type(state)}.")
    return {str(k): _to_numpy(v) for k, v in state.items()}
