"""Flax feature extractors for perceptual and style losses, and their weight loading.

Built with flax.linen. These names are not re-exported from `jaxloss` (they are models, not
losses): use ``from jaxloss.models import VGG16, load_torchvision_vgg``.
"""

from jaxloss.models.vgg import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    VGG16,
    VGG19,
    convert_torchvision_vgg,
    load_torchvision_vgg,
    vgg_layer_names,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "VGG16",
    "VGG19",
    "convert_torchvision_vgg",
    "load_torchvision_vgg",
    "vgg_layer_names",
]
