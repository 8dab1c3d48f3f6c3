"""Plain networks: the ResNets without their shortcuts (He et al. 2016, Section 4, Fig. 6).

The paper's control experiment: the same stacks of 3x3 convolutions, BatchNorm
and ReLU as ResNet, but no shortcut and no addition. Deeper plain nets train
worse than shallower ones (the "degradation" of Fig. 6); the residual ones do
not. Built by the ResNet builders with ``residual=False``: the layer names are
the ResNet's (``stage2_unit1_conv1``...), with no ``_shortcut`` or ``_add``
layers, so the parameter count is the ResNet's minus its projection shortcuts
(1x1 conv + BN on the first unit of stages 2-4 of the ImageNet nets; the CIFAR
nets' option-A shortcuts have no parameters, so their counts are equal).

Reference:
    He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition",
    CVPR 2016 (arXiv:1512.03385), Table 2 (plain-18/34) and Fig. 6
    (plain-20/32/44/56/110).
"""

from __future__ import annotations

import dataclasses

from zoo.models.resnet import (
    CIFAR_PARAMS,
    IMAGENET_CONFIGS,
    IMAGENET_PARAMS,
    PAPER,
    _resnet_cifar,
    _resnet_imagenet,
)
from zoo.options import CifarResNetOptions, ResNetOptions
from zoo.registry import register_model

__all__ = ["PROJECTION_PARAMS", "PlainCifarOptions", "PlainOptions"]

#: Parameters of the ImageNet basic-block nets' three projection shortcuts
#: (1x1 conv, no bias, + BatchNorm's 4 per channel): 64->128, 128->256, 256->512.
PROJECTION_PARAMS = sum(
    c_in * c_out + 4 * c_out for c_in, c_out in ((64, 128), (128, 256), (256, 512))
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlainOptions(ResNetOptions):
    """`ResNetOptions` with ``residual=False``: the ImageNet plain nets.

    Attributes:
        batch_norm: True, as in the paper.
        stride_on: where a bottleneck's stride sits (see `ResNetOptions`).
        residual: False: no shortcuts (True gives back the ResNet).
    """

    residual: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class PlainCifarOptions(CifarResNetOptions):
    """`CifarResNetOptions` with ``residual=False``: the CIFAR-10 plain nets of Fig. 6.

    Attributes:
        num_classes: 10 (CIFAR-10).
        batch_norm: True, as in the paper.
        residual: False: no shortcuts (True gives back the ResNet).
    """

    residual: bool = False


def _imagenet_plain(depth: int):
    """`register_model` for ImageNet plain-``depth`` (Table 2's plain-18/34)."""
    kind, depths = IMAGENET_CONFIGS[depth]
    return register_model(
        name=f"plain{depth}",
        family="plain",
        input_shape=(224, 224, 3),
        min_input_shape=(32, 32, 3),
        paper=PAPER,
        description=f"Plain-{depth} for ImageNet: ResNet-{depth} without shortcuts, {kind} {depths}",
        params=IMAGENET_PARAMS[depth] - PROJECTION_PARAMS,
        options=PlainOptions,
    )


def _cifar_plain(depth: int):
    """`register_model` for CIFAR-10 plain-``depth`` (Fig. 6, left)."""
    return register_model(
        name=f"plain{depth}",
        family="plain_cifar",
        input_shape=(32, 32, 3),
        min_input_shape=(8, 8, 3),
        paper=PAPER,
        description=f"CIFAR plain-{depth}: ResNet-{depth} without shortcuts (Fig. 6)",
        params=CIFAR_PARAMS[depth],
        options=PlainCifarOptions,
    )


@_imagenet_plain(18)
def plain18(o: PlainOptions):
    """Plain-18 for ImageNet (He et al. 2016, Table 2); options: `PlainOptions`."""
    return _resnet_imagenet(18, o)


@_imagenet_plain(34)
def plain34(o: PlainOptions):
    """Plain-34 for ImageNet (He et al. 2016, Table 2); options: `PlainOptions`."""
    return _resnet_imagenet(34, o)


@_cifar_plain(20)
def plain20(o: PlainCifarOptions):
    """CIFAR-10 plain-20 (He et al. 2016, Fig. 6); options: `PlainCifarOptions`."""
    return _resnet_cifar(20, o)


@_cifar_plain(32)
def plain32(o: PlainCifarOptions):
    """CIFAR-10 plain-32 (He et al. 2016, Fig. 6); options: `PlainCifarOptions`."""
    return _resnet_cifar(32, o)


@_cifar_plain(44)
def plain44(o: PlainCifarOptions):
    """CIFAR-10 plain-44 (He et al. 2016, Fig. 6); options: `PlainCifarOptions`."""
    return _resnet_cifar(44, o)


@_cifar_plain(56)
def plain56(o: PlainCifarOptions):
    """CIFAR-10 plain-56 (He et al. 2016, Fig. 6); options: `PlainCifarOptions`."""
    return _resnet_cifar(56, o)


@_cifar_plain(110)
def plain110(o: PlainCifarOptions):
    """CIFAR-10 plain-110 (He et al. 2016, Fig. 6); options: `PlainCifarOptions`."""
    return _resnet_cifar(110, o)
