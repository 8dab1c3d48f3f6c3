"""LeNet-5 (LeCun et al. 1998): the modern form (default) and the paper's (``variant="1998"``).

C1 (6 5x5 convs) - S2 (2x2 subsampling) - C3 (16 5x5 convs) - S4 - C5 (120
5x5 convs) - F6 (84 units) - output. The modern form: tanh throughout,
subsampling by average pooling, a dense softmax output: 61,706 parameters at
32x32x1.

``variant="1998"`` builds the network of Section II-B: C3's partial
connection table (`C3_TABLE`, Table I), trainable subsampling (a coefficient
and a bias per map), the squashing function 1.7159 tanh(2/3 a) after every
layer up to F6, and 10 Euclidean RBF output units with fixed +-1 codes of 7x12
= 84 pixels (`RBF_ART`). Trainable parameters per layer as in the paper:
C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164 (60,000 in all; the
codes are fixed). The codes here are NOT the paper's Fig. 3 bitmaps: they are
7x12 digit glyphs drawn for the zoo (the ASCII art below), stylized digits in
the paper's spirit. The output is ``softmax(-d)`` (``d`` the squared distances
to the codes; ``classifier_activation=None`` gives ``-d`` as logits), so the
zoo's cross-entropy trains it: that is the paper's MAP loss (Eq. 9) without its
constant "rubbish class" term. The inputs (the zoo's [0, 1], ink 1) are
mapped to the paper's levels, background -0.1 and ink 1.175, by a
parameter-free ``input_scaling`` layer. Not reproduced: the paper's
initialization U(+-2.4/fan-in) (Glorot here) and its stochastic diagonal
Levenberg-Marquardt optimizer.

Reference:
    LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to
    Document Recognition", Proc. IEEE 86(11), 1998.
"""

from __future__ import annotations

from zoo.options import LeNetOptions
from zoo.registry import register_model

PAPER = "LeCun et al. 1998, Proc. IEEE 86(11)"

# Sec. II-B: the input levels of the background and of the ink.
BACKGROUND, INK = -0.1, 1.175

# (layer name, filters, kernel) of the convolutional part; S2/S4 follow C1/C3.
CONVS = (("c1", 6, 5), ("c3", 16, 5), ("c5", 120, 5))

# Table I: the S2 maps each C3 map is connected to (6 x 3 contiguous, 6 x 4
# contiguous, 3 x 4 discontinuous, 1 x all six).
C3_TABLE = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (0, 4, 5), (0, 1, 5),
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (0, 3, 4, 5), (0, 1, 4, 5), (0, 1, 2, 5),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),
    (0, 1, 2, 3, 4, 5),
)  # fmt: skip

# The RBF codes: a 7-wide, 12-high glyph per digit 0..9 (left to right),
# "#" = +1 and "." = -1. Drawn for the zoo, deterministic; NOT the bitmaps of
# the paper's Fig. 3.
RBF_ART = """
....... ....... ....... ....... ....... ....... ....... ....... ....... .......
..###.. ...#... ..###.. ####### ....#.. ####### ...###. ####### ..###.. ..###..
.#...#. ..##... .#...#. .....#. ...##.. #...... ..#.... ......# .#...#. .#...#.
#.....# .#.#... #.....# ....#.. ..#.#.. #...... .#..... .....#. #.....# #.....#
#.....# ...#... ......# ...#... .#..#.. #.###.. #...... .....#. .#...#. #.....#
#.....# ...#... .....#. ..###.. #...#.. ##...#. #.###.. ....#.. ..###.. .#...##
#.....# ...#... ....#.. .....#. ####### ......# ##...#. ....#.. .#...#. ..###.#
#.....# ...#... ...#... ......# ....#.. ......# #.....# ...#... #.....# ......#
#.....# ...#... ..#.... ......# ....#.. ......# #.....# ...#... #.....# .....#.
.#...#. ...#... .#..... #....#. ....#.. #....#. .#...#. ..#.... .#...#. ....#..
..###.. .#####. ####### .####.. ....#.. .####.. ..###.. ..#.... ..###.. .###...
....... ....... ....... ....... ....... ....... ....... ....... ....... .......
"""


NUM_CODES = 10


def rbf_codes():
    """The ``(10, 84)`` +-1 codes of `RBF_ART`, each glyph row-major (12 rows of 7)."""
    import numpy as np

    rows = [line.split() for line in RBF_ART.strip().splitlines()]
    glyphs = ["".join(row[d] for row in rows) for d in range(len(rows[0]))]
    return np.array([[1.0 if c == "#" else -1.0 for c in g] for g in glyphs], "float32")


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
    """LeNet-5, modern form or (``variant="1998"``) the paper's; options: `zoo.options.LeNetOptions`.

    MNIST digits are 28x28; as in the paper, pad them to 32x32 (the training
    engine does this for you when the data is smaller than the model input).

    Reference:
        LeCun et al., "Gradient-Based Learning Applied to Document
        Recognition", Proc. IEEE 86(11), 1998.
    """
    import keras

    from zoo import blocks

    if str(o.variant) != "modern":  # `--model-arg variant=1998` parses as the number 1998
        return _lenet5_1998(o)
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


def _check_1998(o: LeNetOptions) -> None:
    if str(o.variant) != "1998":
        raise ValueError(f"lenet5: variant must be 'modern' or '1998'; received {o.variant!r}.")
    bad = {k: v for k, v in (("activation", o.activation), ("batch_norm", o.batch_norm),
                             ("dropout", o.dropout), ("dense_activation", o.dense_activation or "tanh"))
           if v not in ("tanh", False, 0.0)}  # fmt: skip
    if bad or o.num_classes > NUM_CODES or o.classifier_activation == "threshold":
        raise ValueError(
            f"lenet5 variant='1998' has the paper's scaled tanh, no BatchNorm or dropout, and at "
            f"most {NUM_CODES} RBF classes; received {bad or ''} "
            f"num_classes={o.num_classes}, classifier_activation={o.classifier_activation!r}."
        )


def _lenet5_1998(o: LeNetOptions):
    """The network of LeCun et al. 1998, Section II-B (see the module doc)."""
    import keras

    from zoo import blocks
    from zoo.layers_lenet import ConnectionTableConv2D, RBFOutput, ScaledTanh, TrainableSubsampling

    _check_1998(o)
    init, l2 = o.kernel_initializer, blocks.regularizer(o.kernel_l2)
    inputs = blocks.model_input(o)

    def conv(name, filters):
        return keras.layers.Conv2D(filters, 5, kernel_initializer=init,
                                   kernel_regularizer=l2, name=name)  # fmt: skip

    # Sec. II-B: background -0.1, ink 1.175 (mean about 0, variance about 1);
    # the zoo's inputs are in [0, 1] with ink 1.
    x = keras.layers.Rescaling(INK - BACKGROUND, offset=BACKGROUND, name="input_scaling")(inputs)
    x = ScaledTanh(name="c1_act")(conv("c1", 6)(x))
    x = ScaledTanh(name="s2_act")(TrainableSubsampling(2, name="s2")(x))
    c3 = ConnectionTableConv2D(
        C3_TABLE, 5, kernel_initializer=init, kernel_regularizer=l2, name="c3"
    )
    x = ScaledTanh(name="c3_act")(c3(x))
    x = ScaledTanh(name="s4_act")(TrainableSubsampling(2, name="s4")(x))
    x = ScaledTanh(name="c5_act")(conv("c5", 120)(x))
    if not o.include_top:
        return blocks.finalize(inputs, blocks.global_pool(x, o.pooling), name=o.name or "lenet5")
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(84, kernel_initializer=init, kernel_regularizer=l2, name="f6")(x)
    x = ScaledTanh(name="f6_act")(x)
    act = None if o.classifier_activation == "linear" else o.classifier_activation
    x = RBFOutput(rbf_codes()[: o.num_classes], activation=act, name="predictions")(x)
    return blocks.finalize(inputs, x, name=o.name or "lenet5")
