"""LeNet-5 (LeCun et al. 1998), in its modern form.

C1 (6 5x5 convs) - S2 (2x2 subsampling) - C3 (16 5x5 convs) - S4 - C5 (120
5x5 convs) - F6 (84 units) - output, tanh throughout, subsampling by average
pooling, a dense softmax output: 61,706 parameters at 32x32x1. The paper's
partial C3 connection table, trainable subsampling coefficients and RBF
output are not reproduced (the modern form is what courses teach).

Reference:
    LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to
    Document Recognition", Proc. IEEE 86(11), 1998.
"""

from __future__ import annotations

from zoo.options import LeNetOptions
from zoo.registry import register_model

PAPER = "LeCun et al. 1998, Proc. IEEE 86(11)"

# (layer name, filters, kernel) of the convolutional part; S2/S4 follow C1/C3.
CONVS = (("c1", 6, 5), ("c3", 16, 5), ("c5", 120, 5))


@register_model(
    family="lenet",
    input_shape=(32, 32, 1),
    min_input_shape=(32, 32, 1),
    paper=PAPER,
    description="LeNet-5: C1-S2-C3-S4-C5-F6-output, tanh, average subsampling",
    aliases=("lenet",),
    params=61_706,
    options=LeNetOptions,
)
def lenet5(o: LeNetOptions):
    """LeNet-5, modern form (dense output, full C3); options: `zoo.options.LeNetOptions`.

    MNIST digits are 28x28; as in the paper, pad them to 32x32 (the training
    engine does this for you when the data is smaller than the model input).

    Reference:
        LeCun et al., "Gradient-Based Learning Applied to Document
        Recognition", Proc. IEEE 86(11), 1998.
    """
    import keras

    from zoo import blocks

    inputs = blocks.model_input(o)
    x = inputs
    for layer, filters, kernel in CONVS:
        x = blocks.conv_bn_act(
            x, filters, kernel, padding="valid", name=layer, **blocks.conv_options(o)
        )
        if layer != "c5":
            pool = "s2" if layer == "c1" else "s4"
            x = keras.layers.AveragePooling2D(2, strides=2, name=pool)(x)
    x = blocks.classifier_top(x, o, (84,), names=["f6"], batch_norm=o.batch_norm)
    return blocks.finalize(inputs, x, name=o.name or "lenet5")
