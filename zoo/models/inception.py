"""GoogLeNet / Inception v1 (Szegedy et al. 2015), Table 1.

The network is a table of Inception modules; one function builds a module
from its row (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj). Max-
pooling 3x3/2 sits between the stages and Local Response Normalization
follows conv1's pooling and conv2, as in the paper. ``aux_logits=True`` adds
the two auxiliary classifiers on inception 4a and 4d: the model then has
three outputs ``[predictions, aux1, aux2]``, meant to be trained with loss
weights ``[1, 0.3, 0.3]`` (``AUX_LOSS_WEIGHTS``); ``without_aux(model)``
returns the inference model that drops them, sharing the weights.

Padding: the 7x7/2 conv1 pads 3 on every side (``conv1_pad``), as the
paper's Caffe model and torchvision do. The 3x3/2 max-pools keep Keras'
``"same"``: on even inputs (224 and every size of Table 1) that is exactly
Caffe's and torchvision's ``ceil_mode=True`` pooling (no padding before, the
last window overhanging by one); on odd inputs ``"same"`` pads one on each
side and gives one more row than ``ceil_mode`` would. The paper's behaviour
(Table 1's output sizes) is kept there; the stride-1 convs pad symmetrically
either way.

torchvision's GoogLeNet is registered as its own variant, ``googlenet_tv``
(6,624,904 parameters without the auxiliary heads), so that torchvision's
ImageNet weights fit it: BatchNorm (epsilon 1e-3) after every bias-free conv,
no LRN, a 3x3 conv where Table 1 has 5x5 (torchvision's known deviation,
kept for its weights), ``ceil_mode`` max-pools (the last one 2x2/2),
4x4 adaptive average pooling in the auxiliary heads and ``transform_input``.

Reference:
    Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
    (arXiv:1409.4842).
"""

from __future__ import annotations

from zoo.options import AUX_MIN_SIZE, GoogLeNetOptions
from zoo.options_tv import GoogLeNetTVOptions
from zoo.registry import register_model

PAPER = "Szegedy et al. 2015, arXiv:1409.4842"
TV_PAPER = "Szegedy et al. 2015, torchvision's BatchNorm variant"
#: torchvision's BasicConv2d BatchNorm epsilon.
TV_BN_EPSILON = 1e-3
#: torchvision's ``transform_input``: ImageNet mean/std normalization -> (x - 0.5) / 0.5.
TV_TRANSFORM_SCALE = (0.229 / 0.5, 0.224 / 0.5, 0.225 / 0.5)
TV_TRANSFORM_OFFSET = ((0.485 - 0.5) / 0.5, (0.456 - 0.5) / 0.5, (0.406 - 0.5) / 0.5)

# Table 1: module -> (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj).
MODULES = {
    "3a": (64, 96, 128, 16, 32, 32),
    "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64),
    "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64),
    "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128),
    "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}
# Max-pooling 3x3/2 follows these modules.
POOL_AFTER = ("3b", "4e")
AUX_AFTER = ("4a", "4d")
AUX_LOSS_WEIGHTS = (1.0, 0.3, 0.3)
__all__ = [
    "AUX_LOSS_WEIGHTS", "AUX_MIN_SIZE", "googlenet", "googlenet_tv", "inception_module", "without_aux",
]  # fmt: skip


def _tv(o) -> bool:
    return isinstance(o, GoogLeNetTVOptions)


def _conv_kwargs(o) -> dict:
    from zoo import blocks

    return {**blocks.conv_options(o), **({"bn_epsilon": TV_BN_EPSILON} if _tv(o) else {})}


def inception_module(x, row, *, name: str, o):
    """One Inception module: four parallel branches concatenated on channels."""
    import keras

    from zoo import blocks

    n1, r3, n3, r5, n5, pp = row
    kwargs = _conv_kwargs(o)

    def conv(t, filters, kernel, suffix):
        return blocks.conv_bn_act(t, filters, kernel, name=f"{name}_{suffix}", **kwargs)

    b1 = conv(x, n1, 1, "1x1")
    b3 = conv(conv(x, r3, 1, "3x3_reduce"), n3, 3, "3x3")
    # torchvision's "5x5" branch is a 3x3 conv (kept for its weights).
    b5 = conv(conv(x, r5, 1, "5x5_reduce"), n5, 3 if _tv(o) else 5, "5x5")
    bp = keras.layers.MaxPooling2D(3, strides=1, padding="same", name=f"{name}_pool")(x)
    bp = conv(bp, pp, 1, "pool_proj")
    return keras.layers.Concatenate(name=f"{name}_concat")([b1, b3, b5, bp])


def _aux_head(x, *, name: str, o):
    import keras

    from zoo import blocks

    if _tv(o):
        x = keras.layers.AdaptiveAveragePooling2D((4, 4), name=f"{name}_pool")(x)
    else:
        x = keras.layers.AveragePooling2D(5, strides=3, name=f"{name}_pool")(x)
    x = blocks.conv_bn_act(x, 128, 1, name=f"{name}_conv", **_conv_kwargs(o))
    x = keras.layers.Flatten(name=f"{name}_flatten")(x)
    x = blocks.dense(
        x,
        1024,
        name=f"{name}_fc",
        activation=o.activation,
        kernel_initializer=o.kernel_initializer,
        kernel_l2=o.kernel_l2,
        dropout=0.7,
    )
    act = None if o.classifier_activation in ("linear", "threshold") else o.classifier_activation
    return keras.layers.Dense(o.num_classes, activation=act, name=name)(x)


@register_model(
    family="inception",
    input_shape=(224, 224, 3),
    min_input_shape=(32, 32, 3),
    paper=PAPER,
    description="GoogLeNet (Inception v1), Table 1; optional auxiliary classifiers",
    aliases=("inception_v1",),
    params=6_998_552,
    options=GoogLeNetOptions,
)
def googlenet(o: GoogLeNetOptions):
    """GoogLeNet; options: `zoo.options.GoogLeNetOptions` (``aux_logits``, ``lrn``).

    Reference:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
        (arXiv:1409.4842), Table 1.
    """

    from zoo import blocks
    from zoo.layers import LocalResponseNormalization

    conv = blocks.conv_options(o)
    inputs = blocks.model_input(o)
    x = blocks.padded_conv_bn_act(inputs, 64, 7, strides=2, name="conv1", pad=3, **conv)
    x = _pool(x, 3, "pool1", o)
    if o.lrn:
        x = LocalResponseNormalization(name="pool1_lrn")(x)
    x = blocks.conv_bn_act(x, 64, 1, name="conv2_reduce", **conv)
    x = blocks.conv_bn_act(x, 192, 3, name="conv2", **conv)
    if o.lrn:
        x = LocalResponseNormalization(name="conv2_lrn")(x)
    x = _pool(x, 3, "pool2", o)
    return _modules_and_top(inputs, x, o, "googlenet")


def _pool(x, size: int, name: str, o):
    """Max-pooling ``size``x``size``/2: Keras' ``"same"`` (the paper's sizes) or torchvision's."""
    import keras

    if _tv(o):
        return _ceil_pool(x, size, name)
    return keras.layers.MaxPooling2D(size, strides=2, padding="same", name=name)(x)


def _modules_and_top(inputs, x, o, name: str):
    """Inception 3a-5b (Table 1) with the pools between stages and the aux heads, then the top."""

    from zoo import blocks

    aux = []
    for key, row in MODULES.items():
        x = inception_module(x, row, name=f"inception_{key}", o=o)
        if o.aux_logits and key in AUX_AFTER:
            aux.append(_aux_head(x, name=f"aux{len(aux) + 1}", o=o))
        if key in POOL_AFTER:  # torchvision's last pool is 2x2/2
            x = _pool(x, 2 if _tv(o) and key == "4e" else 3, f"pool{key[0]}", o)
    x = blocks.pooled_top(x, o)
    outputs = [x, *aux] if aux else x
    return blocks.finalize(inputs, outputs, name=o.name or name)


@register_model(
    family="inception",
    input_shape=(224, 224, 3),
    min_input_shape=(32, 32, 3),
    paper=TV_PAPER,
    description="torchvision's GoogLeNet: BatchNorm, 3x3 '5x5' branch, ceil-mode pools",
    params=6_639_464,
    options=GoogLeNetTVOptions,
)
def googlenet_tv(o: GoogLeNetTVOptions):
    """torchvision's GoogLeNet; options: `zoo.options_tv.GoogLeNetTVOptions`.

    Not the paper's network (see ``googlenet`` and this module's docstring):
    6,624,904 trainable parameters without the auxiliary heads, as
    torchvision's (Keras also counts the 14,560 BatchNorm moving statistics);
    the layer names are the same, so fine-tuning code treats both alike.
    The max-pools use ``ceil_mode`` as torchvision's: zero padding at the
    bottom/right where the last window overhangs (their inputs are ReLU
    outputs, >= 0, so zeros never win over a real value; with an activation
    that goes negative this differs from torchvision's -inf padding).

    Reference:
        Szegedy et al., "Going Deeper with Convolutions", CVPR 2015
        (arXiv:1409.4842); torchvision.models.googlenet.
    """
    return _googlenet_tv(o)


def _ceil_pool(x, size: int, name: str):
    """torchvision's ``MaxPool2d(size, 2, ceil_mode=True)``: zero padding after, then valid."""
    import keras

    pads = [max(-(-(n - size) // 2) * 2 + size - n, 0) for n in x.shape[1:3]]
    if any(pads):
        x = keras.layers.ZeroPadding2D(((0, pads[0]), (0, pads[1])), name=f"{name}_pad")(x)
    return keras.layers.MaxPooling2D(size, strides=2, name=name)(x)


def _googlenet_tv(o: GoogLeNetTVOptions):
    import keras

    from zoo import blocks

    conv = _conv_kwargs(o)
    inputs = blocks.model_input(o)
    x = inputs
    if o.transform_input:
        x = keras.layers.Rescaling(
            list(TV_TRANSFORM_SCALE), list(TV_TRANSFORM_OFFSET), name="transform_input"
        )(x)
    x = blocks.padded_conv_bn_act(x, 64, 7, strides=2, name="conv1", pad=3, **conv)
    x = _ceil_pool(x, 3, "pool1")
    x = blocks.conv_bn_act(x, 64, 1, name="conv2_reduce", **conv)
    x = _ceil_pool(blocks.conv_bn_act(x, 192, 3, name="conv2", **conv), 3, "pool2")
    return _modules_and_top(inputs, x, o, "googlenet_tv")


def without_aux(model):
    """Returns the inference model of a GoogLeNet built with ``aux_logits=True``.

    It shares every weight with ``model`` and has the single ``predictions``
    output.
    """
    import keras

    return keras.Model(model.inputs, model.get_layer("predictions").output, name=model.name)
