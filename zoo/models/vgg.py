"""VGG: all six columns of Table 1 in Simonyan & Zisserman (2015).

Each configuration is a list of stages; a stage is a list of
``(filters, kernel_size)`` convolutions followed by 2x2 max-pooling, so that
configuration C's 1x1 convolutions are plain data. ``A-LRN`` adds Local
Response Normalization after the first convolution.

``vgg11_bn``, ``vgg13_bn``, ``vgg16_bn`` and ``vgg19_bn`` are torchvision's
BatchNorm variants (not in the paper; Ioffe & Szegedy 2015 came later): the
same columns with ``batch_norm=True`` by default, every conv (with its bias,
as torchvision's) followed by BatchNorm and ReLU; the dense top has none.
Registered under torchvision's names so its ImageNet weights have an
architecture to load into (`zoo.bridge.torchvision`).

Reference:
    Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale
    Image Recognition", ICLR 2015 (arXiv:1409.1556).
"""

from __future__ import annotations

import dataclasses

from zoo.options import VGGOptions
from zoo.registry import register_model

PAPER = "Simonyan & Zisserman 2015, arXiv:1409.1556"


@dataclasses.dataclass(frozen=True, kw_only=True)
class VGGBNOptions(VGGOptions):
    """`zoo.options.VGGOptions` with ``batch_norm=True``: torchvision's ``vgg*_bn``.

    Attributes:
        batch_norm: True: conv (with bias) -> BatchNorm -> ReLU, as torchvision's ``vgg*_bn``.
        kernel_initializer: ``"glorot_uniform"``.
        dropout: 0.5 on fc1 and fc2.
        fc_units: width of fc1 and fc2.
        dense_activation: of fc1 and fc2 (`zoo.options.DenseHeadOptions`).
    """

    batch_norm: bool = True


def _stage(n3: int, filters: int, n1: int = 0) -> list:
    return [(filters, 3)] * n3 + [(filters, 1)] * n1


# Table 1, columns A-E: five stages each, (filters, kernel) per conv layer.
CONFIGS = {
    "A": [_stage(1, 64), _stage(1, 128), _stage(2, 256), _stage(2, 512), _stage(2, 512)],
    "B": [_stage(2, 64), _stage(2, 128), _stage(2, 256), _stage(2, 512), _stage(2, 512)],
    "C": [_stage(2, 64), _stage(2, 128), _stage(2, 256, 1), _stage(2, 512, 1), _stage(2, 512, 1)],
    "D": [_stage(2, 64), _stage(2, 128), _stage(3, 256), _stage(3, 512), _stage(3, 512)],
    "E": [_stage(2, 64), _stage(2, 128), _stage(4, 256), _stage(4, 512), _stage(4, 512)],
}


def _vgg(config: str, o: VGGOptions, *, lrn: bool = False, name: str):
    """VGG configuration ``config`` (Table 1) from validated options."""
    import keras

    from zoo import blocks
    from zoo.layers import LocalResponseNormalization

    inputs = blocks.model_input(o)
    x = inputs
    for b, stage in enumerate(CONFIGS[config], start=1):
        for i, (filters, kernel) in enumerate(stage, start=1):
            x = blocks.conv_bn_act(
                x,
                filters,
                kernel,
                name=f"block{b}_conv{i}",
                use_bias=True,
                **blocks.conv_options(o),
            )
            if lrn and b == 1 and i == 1:
                x = LocalResponseNormalization(name="block1_lrn")(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    x = blocks.classifier_top(x, o, (o.fc_units, o.fc_units))
    return blocks.finalize(inputs, x, name=o.name or name)


def _vgg_model(name: str, alias: str | None, params: int, description: str, options=VGGOptions):
    """`register_model` with what every VGG shares (family, input sizes, paper)."""
    return register_model(
        name=name,
        family="vgg",
        input_shape=(224, 224, 3),
        min_input_shape=(32, 32, 3),
        paper=PAPER,
        description=description,
        aliases=(alias,) if alias else (),
        params=params,
        options=options,
    )


def _vgg_bn_model(name: str, params: int, column: str):
    """`_vgg_model` for torchvision's BatchNorm variant of column ``column``."""
    description = f"VGG {column} with BatchNorm after every conv (torchvision's {name})"
    return _vgg_model(name, None, params, description, options=VGGBNOptions)


@_vgg_model("vgg11", "vgg_a", 132_863_336, "VGG A: 11 weight layers")
def vgg11(o: VGGOptions):
    """VGG configuration A, 11 weight layers; options: `zoo.options.VGGOptions`.

    Reference:
        Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale
        Image Recognition", ICLR 2015 (arXiv:1409.1556), Table 1.
    """
    return _vgg("A", o, name="vgg11")


@_vgg_model("vgg11_lrn", "vgg_a_lrn", 132_863_336, "VGG A-LRN: A with LRN after conv1")
def vgg11_lrn(o: VGGOptions):
    """VGG configuration A-LRN: A with LRN after conv1; options: `zoo.options.VGGOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1.
    """
    return _vgg("A", o, lrn=True, name="vgg11_lrn")


@_vgg_model("vgg13", "vgg_b", 133_047_848, "VGG B: 13 weight layers")
def vgg13(o: VGGOptions):
    """VGG configuration B, 13 weight layers; options: `zoo.options.VGGOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1.
    """
    return _vgg("B", o, name="vgg13")


@_vgg_model("vgg16_c", "vgg_c", 133_638_952, "VGG C: 16 layers, 1x1 convs in stages 3-5")
def vgg16_c(o: VGGOptions):
    """VGG configuration C: 16 layers, 1x1 convs in stages 3-5; options: `zoo.options.VGGOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1.
    """
    return _vgg("C", o, name="vgg16_c")


@_vgg_model("vgg16", "vgg_d", 138_357_544, "VGG D: 16 weight layers, all 3x3")
def vgg16(o: VGGOptions):
    """VGG configuration D, 16 weight layers, all 3x3; options: `zoo.options.VGGOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1.
    """
    return _vgg("D", o, name="vgg16")


@_vgg_model("vgg19", "vgg_e", 143_667_240, "VGG E: 19 weight layers")
def vgg19(o: VGGOptions):
    """VGG configuration E, 19 weight layers; options: `zoo.options.VGGOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1.
    """
    return _vgg("E", o, name="vgg19")


@_vgg_bn_model("vgg11_bn", 132_874_344, "A")
def vgg11_bn(o: VGGBNOptions):
    """VGG A with BatchNorm after every conv, torchvision's ``vgg11_bn``; `VGGBNOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1; BatchNorm as torchvision.
    """
    return _vgg("A", o, name="vgg11_bn")


@_vgg_bn_model("vgg13_bn", 133_059_624, "B")
def vgg13_bn(o: VGGBNOptions):
    """VGG B with BatchNorm after every conv, torchvision's ``vgg13_bn``; `VGGBNOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1; BatchNorm as torchvision.
    """
    return _vgg("B", o, name="vgg13_bn")


@_vgg_bn_model("vgg16_bn", 138_374_440, "D")
def vgg16_bn(o: VGGBNOptions):
    """VGG D with BatchNorm after every conv, torchvision's ``vgg16_bn``; `VGGBNOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1; BatchNorm as torchvision.
    """
    return _vgg("D", o, name="vgg16_bn")


@_vgg_bn_model("vgg19_bn", 143_689_256, "E")
def vgg19_bn(o: VGGBNOptions):
    """VGG E with BatchNorm after every conv, torchvision's ``vgg19_bn``; `VGGBNOptions`.

    Reference:
        Simonyan & Zisserman, ICLR 2015 (arXiv:1409.1556), Table 1; BatchNorm as torchvision.
    """
    return _vgg("E", o, name="vgg19_bn")
