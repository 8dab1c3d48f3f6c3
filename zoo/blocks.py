"""Small shared pieces every architecture is assembled from.

``validate_image_args`` checks the common builder contract before a single
layer is made, so bad input fails with a sentence rather than a backend trace.
``conv_bn_act`` and ``classification_head`` build the repeated parts with the
deterministic names fine-tuning relies on.
"""

from __future__ import annotations

import types

import keras

from zoo.registry import ModelSpec

ACTIVATIONS = (
    "relu",
    "relu6",
    "leaky_relu",
    "prelu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "hard_swish",
    "mish",
    "softplus",
    "tanh",
    "sigmoid",
    "hard_sigmoid",
    "linear",
)
INITIALIZERS = (
    "glorot_uniform",
    "glorot_normal",
    "he_uniform",
    "he_normal",
    "lecun_uniform",
    "lecun_normal",
    "orthogonal",
    "random_normal",
    "random_uniform",
    "truncated_normal",
)
POOLINGS = (None, "avg", "max")
CLASSIFIER_ACTIVATIONS = (None, "softmax", "sigmoid", "linear")


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


def check_choice(what: str, value, choices) -> None:
    """Raises a ValueError naming the valid choices when ``value`` is not one."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Unknown {what} {value!r}; expected one of: {shown}.")


def validate_image_args(
    spec: ModelSpec,
    *,
    input_shape,
    num_classes,
    include_top=True,
    pooling=None,
    classifier_activation="softmax",
    activation=None,
    kernel_initializer=None,
    dropout=0.0,
    weight_decay=0.0,
) -> tuple:
    """Validates the shared builder contract; returns the input shape as a tuple.

    Raises:
        ValueError: naming the argument, what was received and what is valid.
    """
    name = spec.name
    shape = spec.input_shape if input_shape is None else input_shape
    try:
        shape = tuple(int(d) for d in shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: input_shape must be a tuple of integers such as "
            f"{spec.input_shape}; received input_shape={input_shape!r}."
        ) from None
    if not spec.image_model:
        if not shape or any(d <= 0 for d in shape):
            raise ValueError(
                f"{name}: input_shape must have positive dimensions, e.g. "
                f"{spec.input_shape} or (784,); received input_shape={shape}."
            )
    elif len(shape) != len(spec.min_input_shape):
        raise ValueError(
            f"{name} takes inputs of rank {len(spec.min_input_shape)} "
            f"(height, width, channels), channels last; received "
            f"input_shape={shape}."
        )
    if any(d <= 0 for d in shape):
        raise ValueError(f"{name}: every input dimension must be positive; received {shape}.")
    if any(d < m for d, m in zip(shape[:-1], spec.min_input_shape[:-1], strict=False)):
        raise ValueError(
            f"{name} needs inputs of at least {_dims(spec.min_input_shape[:-1])}; "
            f"received input_shape={shape}."
        )
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes <= 0:
        raise ValueError(
            f"{name}: num_classes must be a positive integer; received {num_classes!r}."
        )
    if not isinstance(include_top, bool):
        raise ValueError(f"{name}: include_top must be True or False; received {include_top!r}.")
    check_choice("pooling", pooling, POOLINGS)
    check_choice(
        "classifier_activation", classifier_activation, CLASSIFIER_ACTIVATIONS + ("threshold",)
    )
    if activation is not None:
        check_choice("activation", activation, ACTIVATIONS)
    if kernel_initializer is not None:
        check_choice("kernel_initializer", kernel_initializer, INITIALIZERS)
    if not 0.0 <= float(dropout) < 1.0:
        raise ValueError(f"{name}: dropout must be in [0, 1); received {dropout!r}.")
    if float(weight_decay) < 0.0:
        raise ValueError(f"{name}: weight_decay must be >= 0; received {weight_decay!r}.")
    return shape


def image_options(
    spec: ModelSpec,
    kwargs: dict,
    *,
    num_classes: int = 1000,
    activation: str = "relu",
    kernel_initializer: str = "he_normal",
    batch_norm: bool = False,
    dropout: float = 0.0,
    **family_defaults,
) -> types.SimpleNamespace:
    """Merges a builder's keyword arguments with its defaults and validates them.

    Every image model shares this contract: ``input_shape``, ``num_classes``,
    ``include_top``, ``pooling``, ``classifier_activation``, ``weights``,
    ``name``, ``activation``, ``kernel_initializer``, ``batch_norm``,
    ``dropout``, ``weight_decay``; ``family_defaults`` adds a family's own
    knobs (e.g. ``aux_logits`` for GoogLeNet).

    Returns:
        A namespace of every option, ``input_shape`` resolved to a tuple.

    Raises:
        ValueError: for an unknown argument (listing the accepted ones) or an
            invalid value.
    """
    opts = dict(
        input_shape=None,
        num_classes=num_classes,
        include_top=True,
        pooling=None,
        classifier_activation="softmax",
        weights=None,
        name=None,
        activation=activation,
        kernel_initializer=kernel_initializer,
        batch_norm=batch_norm,
        dropout=dropout,
        weight_decay=0.0,
        **family_defaults,
    )
    unknown = sorted(set(kwargs) - set(opts))
    if unknown:
        raise ValueError(
            f"{spec.name} got unexpected argument(s) {', '.join(map(repr, unknown))}; "
            f"accepted: {', '.join(sorted(opts))}."
        )
    opts.update(kwargs)
    opts["input_shape"] = validate_image_args(
        spec,
        input_shape=opts["input_shape"],
        num_classes=opts["num_classes"],
        include_top=opts["include_top"],
        pooling=opts["pooling"],
        classifier_activation=opts["classifier_activation"],
        activation=opts["activation"],
        kernel_initializer=opts["kernel_initializer"],
        dropout=opts["dropout"],
        weight_decay=opts["weight_decay"],
    )
    if not isinstance(opts["batch_norm"], bool):
        raise ValueError(
            f"{spec.name}: batch_norm must be True or False; received {opts['batch_norm']!r}."
        )
    return types.SimpleNamespace(**opts)


def regularizer(weight_decay: float):
    """An L2 kernel regularizer, or None when ``weight_decay`` is 0.

    Keras' ``L2(l)`` adds ``l * sum(w**2)`` to the loss; SGD weight decay
    ``lambda`` (w <- w - lr * lambda * w) corresponds to ``l = lambda / 2``.
    """
    return keras.regularizers.L2(float(weight_decay)) if weight_decay else None


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
    weight_decay: float = 0.0,
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
        kernel_regularizer=regularizer(weight_decay),
        name=name,
    )(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(epsilon=bn_epsilon, momentum=0.9, name=f"{name}_bn")(x)
    if activation:
        x = apply_activation(x, activation, f"{name}_act")
    return x


def dense(
    x,
    units: int,
    *,
    name: str,
    kernel_initializer: str,
    weight_decay: float = 0.0,
    activation: str | None = None,
    batch_norm: bool = False,
    dropout: float = 0.0,
):
    """Dense, optional BatchNorm and activation, then optional dropout."""
    x = keras.layers.Dense(
        units,
        use_bias=not batch_norm,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer(weight_decay),
        name=name,
    )(x)
    if batch_norm:
        x = keras.layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
    if activation:
        x = apply_activation(x, activation, f"{name}_act")
    if dropout:
        x = keras.layers.Dropout(dropout, name=f"{name}_dropout")(x)
    return x


def predictions(
    x,
    num_classes: int,
    classifier_activation,
    *,
    kernel_initializer="glorot_uniform",
    weight_decay: float = 0.0,
):
    """The final classifier layer, always named ``predictions``."""
    threshold = classifier_activation == "threshold"
    act = None if threshold or classifier_activation == "linear" else classifier_activation
    x = keras.layers.Dense(
        num_classes,
        activation=act,
        kernel_initializer=kernel_initializer,
        kernel_regularizer=regularizer(weight_decay),
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
    activation, dropout and weight decay (and BatchNorm when ``batch_norm``;
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
            activation=o.activation,
            batch_norm=batch_norm,
            kernel_initializer=o.kernel_initializer,
            weight_decay=o.weight_decay,
            dropout=o.dropout,
        )
    return predictions(x, o.num_classes, o.classifier_activation, weight_decay=o.weight_decay)


def global_pool(x, pooling):
    """Global average/max pooling named ``avg_pool``/``max_pool``; None: identity."""
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(x)
    return x


def finalize(inputs, outputs, *, name: str, weights=None):
    """Wraps the graph in a functional ``keras.Model`` and loads ``weights``."""
    model = keras.Model(inputs, outputs, name=name)
    if weights is not None:
        from zoo import weights as weights_lib

        weights_lib.load_weights(model, weights)
    return model
