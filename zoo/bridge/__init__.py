"""Weight bridges: published ImageNet weights for the zoo's own architectures.

``keras.applications`` files (VGG-16/19, ResNet-50/101/152 with the paper's
stride placement, ``stride_on="1x1"``, Inception v3) are read from their published HDF5
layout (`zoo.bridge.keras_h5`) with layer names mapped onto the zoo's
(`zoo.bridge.mapping`). torchvision's Inception v3 state dicts map onto the zoo's with
`zoo.bridge.torch_inception_v3`. Use them through ``zoo.build_model``::

    zoo.build_model("resnet50", stride_on="1x1", weights="imagenet:keras")
    zoo.build_model("vgg16", weights="vgg16_weights_tf_dim_ordering_tf_kernels.h5")

torchvision's ``.pth`` files (ResNet-18..152 v1.5, VGG-11..19 with and without BatchNorm)
and timm's ``model.safetensors`` of the same weights are read by `zoo.bridge.torch_files`
(safetensors without torch), listed in `zoo.bridge.torchvision` and mapped by
`zoo.bridge.torch_map`; `zoo.bridge.imagenet` says which source ``weights="imagenet"``,
``"imagenet:keras"`` or ``"imagenet:torchvision"`` loads::

    zoo.build_model("resnet18", weights="imagenet")            # torchvision's
    zoo.build_model("vgg16_bn", weights="/path/vgg16_bn-6c64b313.pth")

`convert` turns such a file into a zoo weights file plus a manifest (``zoo convert``);
`available_weights` lists every architecture x source and whether it is cached.

Importing this package imports no Keras.
"""

from __future__ import annotations

from zoo.bridge.convert import available_weights, convert
from zoo.bridge.mapping import (
    KERAS_SOURCES,
    KerasSource,
    keras_source,
    zoo_layer_name,
    zoo_layer_names,
)
from zoo.bridge.torchvision import TORCH_SOURCES, TorchSource, torch_source, torch_sources

__all__ = [
    "KERAS_SOURCES",
    "TORCH_SOURCES",
    "KerasSource",
    "TorchSource",
    "available_weights",
    "convert",
    "keras_source",
    "torch_source",
    "torch_sources",
    "zoo_layer_name",
    "zoo_layer_names",
]
