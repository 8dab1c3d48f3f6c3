"""VGG: all six columns of Table 1 in Simonyan & Zisserman (2015).

Each configuration is a list of stages; a stage is a list of
``(filters, kernel_size)`` convolutions followed by 2x2 max-pooling, so that
configuration C's 1x1 convolutions are plain data. ``A-LRN`` adds Local
Response Normalization after the first convolution.

Reference:
    Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale
    Image Recognition", ICLR 2015 (arXiv:1409.1556).
"""

from __future__ import annotations

from zoo.registry import register_model

PAPER = "Simonyan & Zisserman 2015, arXiv:1409.1556"


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


def _vgg(config: str, lrn: bool, spec, kwargs):
    import keras

    from zoo import blocks
    from zoo.layers import LocalResponseNormalization

    o = blocks.image_options(
        spec, kwargs, kernel_initializer="glorot_uniform", dropout=0.5, fc_units=4096
    )
    inputs = keras.Input(o.input_shape, name="input")
    x = inputs
    for b, stage in enumerate(CONFIGS[config], start=1):
        for i, (filters, kernel) in enumerate(stage, start=1):
            x = blocks.conv_bn_act(
                x,
                filters,
                kernel,
                name=f"block{b}_conv{i}",
                activation=o.activation,
                batch_norm=o.batch_norm,
                use_bias=True,
                kernel_initializer=o.kernel_initializer,
                weight_decay=o.weight_decay,
            )
            if lrn and b == 1 and i == 1:
                x = LocalResponseNormalization(name="block1_lrn")(x)
        x = keras.layers.MaxPooling2D(2, strides=2, name=f"block{b}_pool")(x)
    x = blocks.classifier_top(x, o, (o.fc_units, o.fc_units))
    return blocks.finalize(inputs, x, name=o.name or spec.name, weights=o.weights)


def _register(
    fn_name: str, config: str, alias: str, params: int, description: str, lrn: bool = False
):
    @register_model(
        name=fn_name,
        family="vgg",
        input_shape=(224, 224, 3),
        min_input_shape=(32, 32, 3),
        paper=PAPER,
        description=description,
        aliases=(alias,),
        params=params,
    )
    def builder(**kwargs):
        return _vgg(config, lrn, builder.spec, kwargs)

    builder.__name__ = fn_name
    builder.__doc__ = (
        f"VGG configuration {config}{'-LRN' if lrn else ''} ({description}).\n\n"
        f"Extra argument: ``fc_units`` (4096), the width of fc1 and fc2.\n\n"
        f"Reference:\n    {PAPER}"
    )
    return builder


vgg11 = _register("vgg11", "A", "vgg_a", 132_863_336, "VGG A: 11 weight layers")
vgg11_lrn = _register(
    "vgg11_lrn", "A", "vgg_a_lrn", 132_863_336, "VGG A-LRN: A with LRN after conv1", lrn=True
)
vgg13 = _register("vgg13", "B", "vgg_b", 133_047_848, "VGG B: 13 weight layers")
vgg16_c = _register(
    "vgg16_c", "C", "vgg_c", 133_638_952, "VGG C: 16 layers, 1x1 convs in stages 3-5"
)
vgg16 = _register("vgg16", "D", "vgg_d", 138_357_544, "VGG D: 16 weight layers, all 3x3")
vgg19 = _register("vgg19", "E", "vgg_e", 143_667_240, "VGG E: 19 weight layers")
