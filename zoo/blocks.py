"""Small shared Keras pieces every architecture is assembled from.

``conv_bn_act``, ``dense``, ``predictions``, ``classifier_top`` and
``global_pool`` build the repeated parts with the deterministic names
fine-tuning relies on. The builder contract itself (which options exist,
their defaults and their validation) is data in `zoo.options`; loading
weights is `zoo.build_model`'s job (`zoo.weights`), not the blocks'.
"""

from __future__ import annotations

import keras

from zoo.choices import maxout_pieces


def regularizer(kernel_l2: float):
    """An L2 kernel regularizer, or None when ``kernel_l2`` is 0.

    Keras' ``L2(l)`` adds ``l * sum(w**2)`` to the loss; SGD weight decay
    ``lambda`` (w <- w - lr * lambda * w) corresponds to ``l = lambda / 2``.
    """
    return keras.regularizers.L2(float(kernel_l2)) if kernel_l2 else None


def activation_layer(activation: str, name: str):
    """Returns a Keras layer applying ``activation`` (PReLU shares per channel)."""
    if activation == "prelu":
        return keras.layers.PReLU(shared_axes=None, name=name)
    if activation == "leaky_relu":
        return keras.layers.LeakyReLU(negative_slope=0.01, name=name)
    if activation == "hard_swish":
        return keras.layers.Activation("hard_silu", name=name)
    return keras.layers.Activation(activation, name=name)


def _prelu_axes(x):
    return list(range(1, len(x.shape) - 1)) or None


def apply_activation(x, activation: str, name: str):
    """Applies ``activation`` to ``x``; PReLU gets one slope per channel."""
    if activation == "prelu":
        return keras.layers.PReLU(shared_axes=_prelu_axes(x), name=name)(x)
    return activation_layer(activation, name)(x)


def conv_bn_act(
    x,
    filters: int,
    kernel_size,
    *,
    name: str,
    strides=1,
    padding: str = "same",
    groups: int = 1,
    activation: str | None = "relu",
    batch_norm: bool = False,
    use_bias: bool | None = None,
    kernel_initializer: str = "he_normal",
    kernel_l2: float = 0.0,
    bn_epsilon: float = 1e-5,
):
    """Conv2D, optional BatchNorm, optional activation: ``{name}``, ``{name}_bn``, ``{name}_act``.

    ``use_bias`` defaults to ``not batch_norm`` (a bias before BatchNorm is
    redundant).
    """
    if use_bias is None:
        use_bias = not batch_norm
    x = keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        groups=groups,
        use_bias=use_bias,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer(kernel_l2),
        name=name,
    )(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(epsilon=bn_epsilon, momentum=0.9, name=f"{name}_bn")(x)
    if activation:
        x = apply_activation(x, activation, f"{name}_act")
    return x


def padded_conv_bn_act(x, filters: int, kernel_size, *, name: str, pad: int, **kwargs):
    """``conv_bn_act`` after an explicit symmetric ``ZeroPadding2D(pad)`` named ``{name}_pad``.

    Keras' ``padding="same"`` pads a strided convolution asymmetrically
    (e.g. (2, 3) for a 7x7/2 conv on an even input); Caffe, torchvision and
    ``keras.applications`` pad ``pad`` on every side. Output sizes are the
    same as with ``"same"`` (``ceil(n / stride)``) and no weights are added.
    """
    x = keras.layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
    return conv_bn_act(x, filters, kernel_size, name=name, padding="valid", **kwargs)


def dense(
    x,
    units: int,
    *,
    name: str,
    kernel_initializer: str,
    kernel_l2: float = 0.0,
    activation: str | None = None,
    batch_norm: bool = False,
    dropout: float = 0.0,
):
    """Dense, optional BatchNorm and activation, then optional dropout.

    ``activation="maxout"``/``"maxout:K"`` makes the layer a `zoo.layers.Maxout`
    named ``name`` (``units * K`` linear pieces, the max over each group of K;
    Goodfellow et al. 2013), followed by the optional BatchNorm and dropout.
    """
    pieces = maxout_pieces(activation)
    if pieces:
        from zoo.layers import Maxout

        layer = Maxout(units, pieces=pieces, kernel_initializer=kernel_initializer, name=name,
                       kernel_regularizer=regularizer(kernel_l2))  # fmt: skip
        activation = None  # the max over the pieces is the nonlinearity
    else:
        layer = keras.layers.Dense(units, use_bias=not batch_norm, name=name,
                                   kernel_initializer=kernel_initializer,
                                   kernel_regularizer=regularizer(kernel_l2))  # fmt: skip
    x = layer(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    if activation:
        x = apply_activation(x, activation, f"{name}_act")
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def dense_activation(o) -> str:
    """The activation of a model's fully connected hidden layers: ``dense_activation`` or ``activation``."""
    return getattr(o, "dense_activation", None) or o.activation


def predictions(
    x,
    num_classes: int,
    classifier_activation,
    *,
    kernel_initializer="glorot_uniform",
    kernel_l2: float = 0.0,
):
    """The final classifier layer, always named ``predictions``."""
    threshold = classifier_activation == "threshold"
    act = None if threshold or classifier_activation == "linear" else classifier_activation
    x = keras.layers.Dense(
        num_classes,
        activation=act,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer(kernel_l2),
        name="predictions",
    )(x)
    if threshold:
        from zoo.layers import HardThreshold

        x = HardThreshold(name="threshold")(x)
    return x


def classifier_top(x, o, units, names=None, batch_norm=False):
    """The dense top of LeNet/AlexNet/VGG, or global pooling without it.

    With ``o.include_top``: ``flatten``, one dense layer per entry of
    ``units`` (named ``fc1``, ``fc2``... or ``names``) with the model's
    dense activation (``dense_activation`` or ``activation``), dropout and L2 kernel penalty (and BatchNorm when ``batch_norm``;
    VGG and AlexNet normalize their convolutions only), then ``predictions``.
    Otherwise ``o.pooling`` is applied to the feature map.
    """
    if not o.include_top:
        return global_pool(x, o.pooling)
    x = keras.layers.Flatten(name="flatten")(x)
    names = names or [f"fc{k}" for k in range(1, len(units) + 1)]
    for layer_name, width in zip(names, units, strict=False):
        x = dense(
            x,
            width,
            name=layer_name,
            activation=dense_activation(o),
            batch_norm=batch_norm,
            kernel_initializer=o.kernel_initializer,
            kernel_l2=o.kernel_l2,
            dropout=o.dropout,
        )
    return predictions(x, o.num_classes, o.classifier_activation, kernel_l2=o.kernel_l2)


def pooled_top(x, o):
    """The global-average-pooling top of ResNet and the Inception nets: ``avg_pool``, optional
    ``top_dropout`` and ``predictions``; without a top, `global_pool` by ``o.pooling``."""
    if not o.include_top:
        return global_pool(x, o.pooling)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if o.dropout:
        x = keras.layers.Dropout(o.dropout, name="top_dropout")(x)
    return predictions(x, o.num_classes, o.classifier_activation, kernel_l2=o.kernel_l2)


def global_pool(x, pooling):
    """Global average/max pooling named ``avg_pool``/``max_pool``; None: identity."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def conv_options(o) -> dict:
    """The ``conv_bn_act`` arguments every convolution of a model shares."""
    return {
        "activation": o.activation,
        "batch_norm": o.batch_norm,
        "kernel_initializer": o.kernel_initializer,
        "kernel_l2": o.kernel_l2,
    }


def model_input(o):
    """``keras.Input`` of the options' (validated) input shape, named ``input``."""
    return keras.Input(o.input_shape, name="input")


def finalize(inputs, outputs, *, name: str):
    """Wraps the graph in a functional ``keras.Model`` named ``name``."""
    return keras.Model(inputs, outputs, name=name)
