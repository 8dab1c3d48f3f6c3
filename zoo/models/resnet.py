"""ResNet: the ImageNet depths of Table 1 and the CIFAR-10 depths of Section 4.2.

ImageNet ResNets are ``(block, stage depths)``: basic blocks (two 3x3 convs)
for 18/34 layers, bottlenecks (1x1, 3x3, 1x1 with 4x expansion) from 50 up;
projection shortcuts (1x1 conv + BN, "option B") where the shape changes;
by default the stride sits on the 3x3 conv of a bottleneck ("ResNet v1.5", as
in torchvision and timm: about 0.5 % more accurate, 6 % more multiply-adds).
``stride_on="1x1"`` puts it on the first 1x1 conv as in the paper's released
Caffe models and ``keras.applications`` (3.86 G multiply-adds for ResNet-50,
the paper's "3.8 x 10^9 FLOPs"). Convolutions carry no bias, so trainable
parameter counts equal torchvision's either way.

Padding is the references' (the paper's Caffe models, torchvision and
``keras.applications`` agree): the 7x7/2 stem conv pads 3 on every side
(``conv1_pad``), the 3x3/2 max-pool 1 (``pool1_pad``; zeros, as
``keras.applications``, equal to torchvision's -inf after the ReLU), and every
strided 3x3 conv (v1.5 bottlenecks, basic blocks) pads 1 (``*_conv1_pad`` /
``*_conv2_pad``, as torchvision). Keras' ``"same"`` would pad these
asymmetrically on even inputs and compute a different function. The CIFAR
ResNets keep ``"same"`` (no reference implementation; shipped checkpoints
were trained with it).

CIFAR ResNets have 6n+2 layers: a 3x3 conv with 16 filters, three stages of
n basic blocks with 16/32/64 filters, global average pooling and a 10-way
classifier; shortcuts are identities, zero-padded in channels and subsampled
where the shape changes ("option A"), so they add no parameters.

``residual=False`` drops every shortcut and its addition (the "plain" nets
of Section 4 and Fig. 6, registered as ``plain18``... in `zoo.models.plain`):
the same layers and names otherwise, so a plain net has the residual net's
parameters minus the projection shortcuts (none on CIFAR).

Reference:
    He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition",
    CVPR 2016 (arXiv:1512.03385).
"""

from __future__ import annotations

from zoo.options import CifarResNetOptions, ResNetOptions
from zoo.registry import register_model

PAPER = "He et al. 2016, arXiv:1512.03385"

# Table 1: (block type, blocks per stage) for conv2_x .. conv5_x.
IMAGENET_CONFIGS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}
IMAGENET_WIDTHS = (64, 128, 256, 512)
EXPANSION = {"basic": 1, "bottleneck": 4}

# Total parameters (Keras counts BatchNorm moving statistics too) at 224x224
# with 1000 classes; trainable counts equal torchvision's.
IMAGENET_PARAMS = {18: 11_699_112, 34: 21_814_696, 50: 25_610_152, 101: 44_654_504, 152: 60_344_232}

# Section 4.2: depth 6n+2, three stages of n blocks.
CIFAR_DEPTHS = (20, 32, 44, 56, 110)
CIFAR_WIDTHS = (16, 32, 64)
CIFAR_PARAMS = {20: 271_098, 32: 466_426, 44: 661_754, 56: 857_082, 110: 1_736_058}


def _conv(x, filters, kernel, strides, name, symmetric, **conv):
    """A conv_bn_act; strided 3x3 ones pad 1 on every side when ``symmetric``."""
    from zoo import blocks

    if symmetric and strides > 1 and kernel == 3:
        return blocks.padded_conv_bn_act(
            x, filters, kernel, strides=strides, name=name, pad=1, **conv
        )
    return blocks.conv_bn_act(x, filters, kernel, strides=strides, name=name, **conv)


def _unit(x, kind, filters, strides, prefix, shortcut, o, symmetric=False):
    """One residual unit; ``shortcut`` is 'identity', 'projection' or 'pad'.

    ``symmetric``: strided 3x3 convs pad 1 on every side (ImageNet ResNets).
    """
    import keras

    from zoo import blocks
    from zoo.layers import ChannelPadShortcut

    conv = blocks.conv_options(o)
    act = conv.pop("activation")
    out_filters = filters * EXPANSION[kind]
    if kind == "basic":
        y = _conv(x, filters, 3, strides, f"{prefix}_conv1", symmetric, activation=act, **conv)
        y = blocks.conv_bn_act(y, filters, 3, name=f"{prefix}_conv2", activation=None, **conv)
    else:
        first, second = (strides, 1) if o.stride_on == "1x1" else (1, strides)
        y = blocks.conv_bn_act(
            x, filters, 1, strides=first, name=f"{prefix}_conv1", activation=act, **conv
        )
        y = _conv(y, filters, 3, second, f"{prefix}_conv2", symmetric, activation=act, **conv)
        y = blocks.conv_bn_act(y, out_filters, 1, name=f"{prefix}_conv3", activation=None, **conv)
    if not o.residual:  # the plain net (Section 4.1, Fig. 6): no shortcut, no add
        return blocks.apply_activation(y, act, f"{prefix}_out")
    if shortcut == "projection":
        s = blocks.conv_bn_act(
            x, out_filters, 1, strides=strides, name=f"{prefix}_shortcut", activation=None, **conv
        )
    elif shortcut == "pad":
        s = ChannelPadShortcut(out_filters, strides, name=f"{prefix}_shortcut")(x)
    else:
        s = x
    x = keras.layers.Add(name=f"{prefix}_add")([s, y])
    return blocks.apply_activation(x, act, f"{prefix}_out")


def _stem(inputs, o, kernel_size, strides):
    """CIFAR: 3x3 conv, 16 filters; ImageNet: 7x7/2, 64 filters, padded 3 on every side."""
    from zoo import blocks

    if kernel_size == 3:
        return blocks.conv_bn_act(
            inputs, 16, 3, strides=strides, name="conv1", **blocks.conv_options(o)
        )
    return blocks.padded_conv_bn_act(
        inputs, 64, 7, strides=strides, name="conv1", pad=3, **blocks.conv_options(o)
    )


def _resnet_imagenet(depth: int, o: ResNetOptions):
    """ImageNet ResNet-``depth`` (Table 1) from validated options."""
    import keras

    from zoo import blocks

    kind, depths = IMAGENET_CONFIGS[depth]
    inputs = blocks.model_input(o)
    x = _stem(inputs, o, 7, 2)
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, strides=2, name="pool1")(x)
    in_filters = 64
    for s, (n, filters) in enumerate(zip(depths, IMAGENET_WIDTHS, strict=False), start=1):
        for u in range(1, n + 1):
            strides = 2 if (u == 1 and s > 1) else 1
            out = filters * EXPANSION[kind]
            shortcut = "projection" if (strides != 1 or in_filters != out) else "identity"
            x = _unit(x, kind, filters, strides, f"stage{s}_unit{u}", shortcut, o, True)
            in_filters = out
    x = blocks.pooled_top(x, o)
    return blocks.finalize(
        inputs, x, name=o.name or f"{'resnet' if o.residual else 'plain'}{depth}"
    )


def _resnet_cifar(depth: int, o: CifarResNetOptions):
    """CIFAR-10 ResNet-``depth`` (6n+2, Section 4.2) from validated options."""
    from zoo import blocks

    n = (depth - 2) // 6
    inputs = blocks.model_input(o)
    x = _stem(inputs, o, 3, 1)
    in_filters = 16
    for s, filters in enumerate(CIFAR_WIDTHS, start=1):
        for u in range(1, n + 1):
            strides = 2 if (u == 1 and s > 1) else 1
            shortcut = "pad" if (strides != 1 or in_filters != filters) else "identity"
            x = _unit(x, "basic", filters, strides, f"stage{s}_unit{u}", shortcut, o)
            in_filters = filters
    x = blocks.pooled_top(x, o)
    return blocks.finalize(
        inputs, x, name=o.name or f"{'resnet' if o.residual else 'plain'}{depth}"
    )


def _imagenet_model(depth: int):
    """`register_model` for ImageNet ResNet-``depth``: spec data from Table 1."""
    kind, depths = IMAGENET_CONFIGS[depth]
    return register_model(
        name=f"resnet{depth}",
        family="resnet",
        input_shape=(224, 224, 3),
        min_input_shape=(32, 32, 3),
        paper=PAPER,
        description=f"ResNet-{depth} for ImageNet, {kind} blocks {depths}",
        params=IMAGENET_PARAMS[depth],
        options=ResNetOptions,
    )


def _cifar_model(depth: int):
    """`register_model` for CIFAR-10 ResNet-``depth`` (Section 4.2)."""
    return register_model(
        name=f"resnet{depth}",
        family="resnet_cifar",
        input_shape=(32, 32, 3),
        min_input_shape=(8, 8, 3),
        paper=PAPER,
        description=f"CIFAR ResNet-{depth} (6n+2, n={(depth - 2) // 6}), option-A shortcuts",
        params=CIFAR_PARAMS[depth],
        options=CifarResNetOptions,
    )


@_imagenet_model(18)
def resnet18(o: ResNetOptions):
    """ResNet-18 for ImageNet, basic blocks; options: `zoo.options.ResNetOptions` (``stride_on``).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Table 1.
    """
    return _resnet_imagenet(18, o)


@_imagenet_model(34)
def resnet34(o: ResNetOptions):
    """ResNet-34 for ImageNet, basic blocks; options: `zoo.options.ResNetOptions` (``stride_on``).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Table 1.
    """
    return _resnet_imagenet(34, o)


@_imagenet_model(50)
def resnet50(o: ResNetOptions):
    """ResNet-50 for ImageNet, bottleneck blocks; options: `zoo.options.ResNetOptions` (``stride_on``).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Table 1.
    """
    return _resnet_imagenet(50, o)


@_imagenet_model(101)
def resnet101(o: ResNetOptions):
    """ResNet-101 for ImageNet, bottleneck blocks; options: `zoo.options.ResNetOptions` (``stride_on``).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Table 1.
    """
    return _resnet_imagenet(101, o)


@_imagenet_model(152)
def resnet152(o: ResNetOptions):
    """ResNet-152 for ImageNet, bottleneck blocks; options: `zoo.options.ResNetOptions` (``stride_on``).

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Table 1.
    """
    return _resnet_imagenet(152, o)


@_cifar_model(20)
def resnet20(o: CifarResNetOptions):
    """CIFAR-10 ResNet-20 (6n+2, n=3); options: `zoo.options.CifarResNetOptions`.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Section 4.2.
    """
    return _resnet_cifar(20, o)


@_cifar_model(32)
def resnet32(o: CifarResNetOptions):
    """CIFAR-10 ResNet-32 (6n+2, n=5); options: `zoo.options.CifarResNetOptions`.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Section 4.2.
    """
    return _resnet_cifar(32, o)


@_cifar_model(44)
def resnet44(o: CifarResNetOptions):
    """CIFAR-10 ResNet-44 (6n+2, n=7); options: `zoo.options.CifarResNetOptions`.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Section 4.2.
    """
    return _resnet_cifar(44, o)


@_cifar_model(56)
def resnet56(o: CifarResNetOptions):
    """CIFAR-10 ResNet-56 (6n+2, n=9); options: `zoo.options.CifarResNetOptions`.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Section 4.2.
    """
    return _resnet_cifar(56, o)


@_cifar_model(110)
def resnet110(o: CifarResNetOptions):
    """CIFAR-10 ResNet-110 (6n+2, n=18); options: `zoo.options.CifarResNetOptions`.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016
        (arXiv:1512.03385), Section 4.2.
    """
    return _resnet_cifar(110, o)
