"""The named choices the builder options accept, and the checks of their values.

Re-exported by `zoo.options` (``ACTIVATIONS``, ``check_choice``, ...). This
module imports no Keras.

``dense_activation`` (the activation of the fully connected hidden layers of
the MLP and of the LeNet/AlexNet/VGG classifier heads) takes any of
``ACTIVATIONS`` or ``"maxout"``/``"maxout:K"``: a maxout layer (Goodfellow et
al. 2013) of ``units * K`` linear pieces with a max over each group of ``K``
(``"maxout"`` is ``K = 2``), i.e. K times the weights of a plain dense layer.
"""

from __future__ import annotations

__all__ = [
    "ACTIVATIONS", "CLASSIFIER_ACTIVATIONS", "INITIALIZERS", "MAXOUT_PIECES", "POOLINGS",
    "check_choice", "check_dense_activation", "check_input_shape", "maxout_pieces",
]  # fmt: skip

ACTIVATIONS = (
    "relu", "relu6", "leaky_relu", "prelu", "elu", "selu", "gelu", "swish", "silu",
    "hard_swish", "mish", "softplus", "tanh", "sigmoid", "hard_sigmoid", "linear",
)  # fmt: skip
INITIALIZERS = (
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform",
    "lecun_normal", "orthogonal", "random_normal", "random_uniform", "truncated_normal",
)  # fmt: skip
POOLINGS = (None, "avg", "max")
CLASSIFIER_ACTIVATIONS = (None, "softmax", "sigmoid", "linear")
#: Pieces of ``dense_activation="maxout"`` (k in Goodfellow et al. 2013).
MAXOUT_PIECES = 2


def check_choice(what: str, value, choices) -> None:
    """Raises a ValueError naming the valid choices when ``value`` is not one."""
    if value not in choices:
        shown = ", ".join(repr(c) for c in choices)
        raise ValueError(f"Unknown {what} {value!r}; expected one of: {shown}.")


def maxout_pieces(activation) -> int | None:
    """K of ``"maxout"``/``"maxout:K"`` (``"maxout"``: 2); None for any other activation.

    Raises:
        ValueError: a ``"maxout:..."`` whose K is not an integer >= 2.
    """
    if not isinstance(activation, str) or activation.split(":")[0] != "maxout":
        return None
    _, sep, k = activation.partition(":")
    if not sep:
        return MAXOUT_PIECES
    if not k.isdigit() or int(k) < 2:
        raise ValueError(
            f"dense_activation {activation!r}: maxout:K needs an integer K >= 2 "
            f"(the pieces per unit), e.g. 'maxout:3'."
        )
    return int(k)


def check_dense_activation(value) -> None:
    """Checks ``dense_activation``: None, one of ``ACTIVATIONS``, ``"maxout"`` or ``"maxout:K"``."""
    if value is None or maxout_pieces(value):
        return
    if value not in ACTIVATIONS:
        shown = ", ".join(repr(c) for c in ACTIVATIONS)
        raise ValueError(
            f"Unknown dense_activation {value!r}; expected None (the model's activation), "
            f"'maxout', 'maxout:K' (K >= 2 pieces) or one of: {shown}."
        )


def _dims(shape) -> str:
    return "x".join(str(d) for d in shape)


def check_input_shape(spec, input_shape) -> tuple:
    """The input shape as a tuple of ints, checked against the spec's rank and minimum."""
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
    return shape
