"""The perceptron and the multilayer perceptron.

Both flatten an input of any rank (an image or a feature vector) and end in
a dense classifier.

References:
    Rosenblatt, "The Perceptron: A Probabilistic Model for Information
    Storage and Organization in the Brain", Psychological Review 65, 1958.
    Rumelhart, Hinton & Williams, "Learning representations by
    back-propagating errors", Nature 323, 1986.
"""

from __future__ import annotations

from zoo.options import MLPOptions, PerceptronOptions
from zoo.registry import register_model


def _flat_input(o):
    import keras

    inputs = keras.Input(o.input_shape, name="input")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(o.input_shape) > 1 else inputs
    return inputs, x


@register_model(
    family="perceptron",
    input_shape=(28, 28, 1),
    min_input_shape=(1, 1, 1),
    paper="Rosenblatt 1958, Psychological Review 65",
    description="Perceptron: one dense layer with a threshold or sigmoid output",
    image_model=False,
    params=785,
    options=PerceptronOptions,
)
def perceptron(o: PerceptronOptions):
    """A single-layer perceptron: one dense layer; options: `zoo.options.PerceptronOptions`.

    ``num_classes=1`` (default) gives one binary unit; more gives one unit per
    class. ``classifier_activation`` is ``"sigmoid"`` (default, smooth),
    ``"threshold"`` (Rosenblatt's step, trained through a straight-through
    gradient), ``"softmax"`` or ``None``.

    Reference:
        Rosenblatt, "The Perceptron: A Probabilistic Model for Information
        Storage and Organization in the Brain", Psychological Review 65, 1958.
    """
    from zoo import blocks

    inputs, x = _flat_input(o)
    x = blocks.predictions(x, o.num_classes, o.classifier_activation, kernel_l2=o.kernel_l2)
    return blocks.finalize(inputs, x, name=o.name or "perceptron")


@register_model(
    family="mlp",
    input_shape=(28, 28, 1),
    min_input_shape=(1, 1, 1),
    paper="Rumelhart, Hinton & Williams 1986, Nature 323",
    description="Multilayer perceptron with configurable hidden sizes and activation",
    image_model=False,
    params=535_818,
    options=MLPOptions,
)
def mlp(o: MLPOptions):
    """A multilayer perceptron; options: `zoo.options.MLPOptions` (``hidden_units``).

    Each hidden layer is ``dense{i}`` (a `zoo.layers.Maxout` with
    ``dense_activation="maxout"``; + ``dense{i}_bn`` with ``batch_norm``,
    + ``dense{i}_dropout`` with ``dropout``).

    Reference:
        Rumelhart, Hinton & Williams, "Learning representations by
        back-propagating errors", Nature 323, 1986.
    """
    from zoo import blocks

    inputs, x = _flat_input(o)
    for i, u in enumerate(o.hidden_units, start=1):
        x = blocks.dense(
            x,
            u,
            name=f"dense{i}",
            activation=blocks.dense_activation(o),
            batch_norm=o.batch_norm,
            kernel_initializer=o.kernel_initializer,
            kernel_l2=o.kernel_l2,
            dropout=o.dropout,
        )
    if o.include_top:
        x = blocks.predictions(x, o.num_classes, o.classifier_activation, kernel_l2=o.kernel_l2)
    return blocks.finalize(inputs, x, name=o.name or "mlp")
