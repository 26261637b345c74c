"""Flax feature extractors for perceptual and style losses, and their weight loading.

`load_lpips_heads` reads the linear heads of `jaxloss.lpips` (its VGG16 trunk loads with
`load_torchvision_vgg`).

Built with flax.linen. These names are not re-exported from `jaxloss` (they are models, not
losses): use ``from jaxloss.models import VGG16, load_torchvision_vgg``. flax is not a core
dependency of jaxloss: install it with the ``models`` extra, ``pip install 'jaxloss[models]'``.
"""

try:
    import flax.linen  # noqa: F401
except ImportError as error:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "jaxloss.models needs flax, which is not installed: pip install 'jaxloss[models]'"
    ) from error

from jaxloss.models.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG16,
    VGG19,
    convert_lpips_heads,
    convert_torchvision_vgg,
    load_lpips_heads,
    load_torchvision_vgg,
    vgg_layer_names,
)

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
