"""Weight bridges: published ImageNet weights for the zoo's own architectures.

``keras.applications`` files (VGG-16/19, ResNet-50/101/152 with the paper's
stride placement, ``stride_on="1x1"``, Inception v3) are read from their published HDF5
layout (`zoo.bridge.keras_h5`) with layer names mapped onto the zoo's
(`zoo.bridge.mapping`). torchvision's Inception v3 state dicts map onto the zoo's with
`zoo.bridge.torch_inception_v3`. Use them through ``zoo.build_model``::

    zoo.build_model("resnet50", stride_on="1x1", weights="imagenet:keras")
    zoo.build_model("vgg16", weights="vgg16_weights_tf_dim_ordering_tf_kernels.h5")

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

__all__ = [
    "KERAS_SOURCES",
    "KerasSource",
    "available_weights",
    "convert",
    "keras_source",
    "zoo_layer_name",
    "zoo_layer_names",
]
