"""AlexNet (Krizhevsky, Sutskever & Hinton 2012).

227x227x3 input; five convolutions (11x11/4, 5x5, 3x3, 3x3, 3x3) and three
dense layers; ReLU; Local Response Normalization after conv1 and conv2;
overlapping 3x3/2 max-pooling after LRN1, LRN2 and conv5; dropout 0.5 on the
first two dense layers. ``grouped=True`` (the default) reproduces the two-GPU
split: conv2, conv4 and conv5 see only their own GPU's half of the channels,
as grouped convolutions (60,965,224 parameters; 62,378,344 without).

Padding is the paper's Caffe model's: conv1 (11x11/4) and the 3x3/2 pools
pad nothing (``"valid"``), the stride-1 convs pad symmetrically (``"same"``:
2 for 5x5, 1 for 3x3). Caffe pools with ``ceil``, which at 227x227 gives the
same 55/27/13/6 sizes. torchvision's AlexNet is another network (one tower,
64/192/384/256/256 filters, conv1 padded 2 on 224x224 inputs, no LRN).

torchvision's network is registered as its own variant, ``alexnet_tv``
(61,100,840 parameters), so that torchvision's ImageNet weights fit it; it
follows Krizhevsky's "One weird trick" (2014), not the 2012 paper.

References:
    Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
    Convolutional Neural Networks", NIPS 2012.
    Krizhevsky, "One weird trick for parallelizing convolutional neural
    networks", arXiv:1404.5997, 2014 (torchvision's AlexNet).
"""

from __future__ import annotations

from zoo.options import AlexNetOptions
from zoo.options_tv import AlexNetTVOptions
from zoo.registry import register_model

PAPER = "Krizhevsky et al. 2012, NIPS"
TV_PAPER = "Krizhevsky 2014, arXiv:1404.5997 (torchvision)"

# (name, filters, kernel, strides, groups when grouped, LRN after, pool after)
CONVS = (
    ("conv1", 96, 11, 4, 1, True, True),
    ("conv2", 256, 5, 1, 2, True, True),
    ("conv3", 384, 3, 1, 1, False, False),
    ("conv4", 384, 3, 1, 2, False, False),
    ("conv5", 256, 3, 1, 2, False, True),
)
# torchvision's one tower: (name, filters, kernel, strides, symmetric padding, pool after).
TV_CONVS = (
    ("conv1", 64, 11, 4, 2, True),
    ("conv2", 192, 5, 1, 2, True),
    ("conv3", 384, 3, 1, 1, False),
    ("conv4", 256, 3, 1, 1, False),
    ("conv5", 256, 3, 1, 1, True),
)


@register_model(
    family="alexnet",
    input_shape=(227, 227, 3),
    min_input_shape=(67, 67, 3),
    paper=PAPER,
    description="AlexNet: 5 conv + 3 dense, LRN, overlapping pooling, dropout",
    params=60_965_224,
    options=AlexNetOptions,
)
def alexnet(o: AlexNetOptions):
    """AlexNet; options: `zoo.options.AlexNetOptions` (``grouped``, ``lrn``).

    The smallest input is 67x67: below it the third overlapping pool has
    nothing to pool.

    Reference:
        Krizhevsky et al., "ImageNet Classification with Deep Convolutional
        Neural Networks", NIPS 2012.
    """
    import keras

    from zoo import blocks
    from zoo.layers import LocalResponseNormalization

    inputs = blocks.model_input(o)
    x = inputs
    for name, filters, kernel, strides, groups, lrn, pool in CONVS:
        x = blocks.conv_bn_act(
            x,
            filters,
            kernel,
            strides=strides,
            padding="valid" if name == "conv1" else "same",
            groups=groups if o.grouped else 1,
            name=name,
            **blocks.conv_options(o),
        )
        if lrn and o.lrn:
            x = LocalResponseNormalization(
                depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, name=f"{name}_lrn"
            )(x)
        if pool:
            x = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    x = blocks.classifier_top(x, o, (4096, 4096))
    return blocks.finalize(inputs, x, name=o.name or "alexnet")


@register_model(
    family="alexnet",
    input_shape=(224, 224, 3),
    min_input_shape=(63, 63, 3),
    paper=TV_PAPER,
    description="torchvision's AlexNet: one tower, 64/192/384/256/256 filters, no LRN",
    params=61_100_840,
    options=AlexNetTVOptions,
)
def alexnet_tv(o: AlexNetTVOptions):
    """torchvision's AlexNet; options: `zoo.options_tv.AlexNetTVOptions`.

    Not the 2012 paper's network (see ``alexnet``): one tower of
    64/192/384/256/256 filters, no LRN, conv1 11x11/4 padded 2 on every side
    (explicit ``conv1_pad``), the stride-1 convs padded symmetrically, 3x3/2
    max-pooling without padding, adaptive average pooling to 6x6 (``avgpool``,
    the identity at 224x224), then dropout-fc1-ReLU-dropout-fc2-ReLU-predictions
    as torchvision orders them. 61,100,840 parameters, as torchvision's.
    Inputs of at least 63x63.

    Reference:
        Krizhevsky, "One weird trick for parallelizing convolutional neural
        networks", arXiv:1404.5997, 2014 (as torchvision cites it).
    """
    return _alexnet_tv(o)


def _alexnet_tv(o: AlexNetTVOptions):
    import keras

    from zoo import blocks

    inputs = blocks.model_input(o)
    x = inputs
    for name, filters, kernel, strides, pad, pool in TV_CONVS:
        x = blocks.padded_conv_bn_act(
            x, filters, kernel, strides=strides, name=name, pad=pad, **blocks.conv_options(o)
        )
        if pool:
            x = keras.layers.MaxPooling2D(3, strides=2, name=f"{name}_pool")(x)
    if not o.include_top:
        return blocks.finalize(
            inputs, blocks.global_pool(x, o.pooling), name=o.name or "alexnet_tv"
        )
    x = keras.layers.AdaptiveAveragePooling2D((6, 6), name="avgpool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    for layer_name in ("fc1", "fc2"):
        if o.dropout:
            x = keras.layers.Dropout(o.dropout, name=f"{layer_name}_dropout")(x)
        x = blocks.dense(
            x,
            4096,
            name=layer_name,
            activation=blocks.dense_activation(o),
            kernel_initializer=o.kernel_initializer,
            kernel_l2=o.kernel_l2,
        )
    x = blocks.predictions(x, o.num_classes, o.classifier_activation, kernel_l2=o.kernel_l2)
    return blocks.finalize(inputs, x, name=o.name or "alexnet_tv")
