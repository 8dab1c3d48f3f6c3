"""Layers the course uses that Keras lacks. Backend-agnostic and serializable.

Every layer here is registered under the ``zoo`` package, so a model that
uses one reloads from ``.keras`` with ``safe_mode=True`` once ``zoo`` is
imported (``zoo.load_model`` does that for you). LeNet-5's 1998 layers live in
`zoo.layers_lenet` and are re-exported here.
"""

from __future__ import annotations

import keras
from keras import ops

from zoo.layers_lenet import ConnectionTableConv2D, RBFOutput, ScaledTanh, TrainableSubsampling

__all__ = [
    "ChannelPadShortcut",
    "ConnectionTableConv2D",
    "HardThreshold",
    "LocalResponseNormalization",
    "Maxout",
    "RBFOutput",
    "ScaledTanh",
    "TrainableSubsampling",
]


@keras.saving.register_keras_serializable(package="zoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Local Response Normalization across channels (AlexNet, Section 3.3).

    ``b[c] = a[c] / (k + alpha * sum_{c' in window(c)} a[c']**2) ** beta``,
    the window holding ``depth_radius`` channels on each side of ``c``
    (``n = 2 * depth_radius + 1`` channels in all, clipped at the edges).
    As in the paper and in ``tf.nn.local_response_normalization``, ``alpha``
    is *not* divided by ``n`` (PyTorch's ``LocalResponseNorm`` divides it).

    Args:
        depth_radius: half-width of the channel window (paper: n=5, so 2).
        bias: the constant ``k`` (paper: 2).
        alpha: scale of the sum of squares (paper: 1e-4).
        beta: exponent (paper: 0.75).

    Reference:
        Krizhevsky, Sutskever & Hinton, "ImageNet Classification with Deep
        Convolutional Neural Networks", NIPS 2012.
    """

    def __init__(self, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75, **kwargs):
        super().__init__(**kwargs)
        if int(depth_radius) < 0:
            raise ValueError(f"depth_radius must be >= 0; received {depth_radius}.")
        self.depth_radius = int(depth_radius)
        self.bias = float(bias)
        self.alpha = float(alpha)
        self.beta = float(beta)

    def call(self, inputs):
        channels = inputs.shape[-1]
        r = self.depth_radius
        squared = ops.square(inputs)
        padded = ops.pad(squared, [[0, 0]] * (len(inputs.shape) - 1) + [[r, r]])
        window_sum = padded[..., 0:channels]
        for i in range(1, 2 * r + 1):
            window_sum = window_sum + padded[..., i : i + channels]
        return inputs / ops.power(self.bias + self.alpha * window_sum, self.beta)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            depth_radius=self.depth_radius,
            bias=self.bias,
            alpha=self.alpha,
            beta=self.beta,
        )
        return config


@keras.saving.register_keras_serializable(package="zoo")
class Maxout(keras.layers.Layer):
    """Maxout unit: the maximum over ``pieces`` linear pieces per output unit.

    Args:
        units: number of output units.
        pieces: linear pieces per unit (k in the paper).
        kernel_initializer: initializer of the ``(in, units * pieces)`` kernel.
        kernel_regularizer: optional regularizer of the kernel.

    Reference:
        Goodfellow, Warde-Farley, Mirza, Courville & Bengio, "Maxout
        Networks", ICML 2013.
    """

    def __init__(
        self,
        units,
        pieces=2,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if int(units) <= 0 or int(pieces) <= 0:
            raise ValueError(
                f"Maxout needs units > 0 and pieces > 0; received units={units}, pieces={pieces}."
            )
        self.units = int(units)
        self.pieces = int(pieces)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_shape[-1], self.units * self.pieces),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.units * self.pieces,), initializer="zeros"
        )

    def call(self, inputs):
        z = ops.matmul(inputs, self.kernel) + self.bias
        z = ops.reshape(z, (-1, *inputs.shape[1:-1], self.units, self.pieces))
        return ops.max(z, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            pieces=self.pieces,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer)
            if self.kernel_regularizer
            else None,
        )
        return config


@keras.saving.register_keras_serializable(package="zoo")
class ChannelPadShortcut(keras.layers.Layer):
    """Parameter-free ResNet shortcut, "option A" (He et al. 2015, Section 4.2).

    Subsamples the feature map by ``strides`` (keeping every ``strides``-th
    pixel, as a 1x1 convolution with stride would) and zero-pads the channel
    axis up to ``filters``, split evenly before and after.

    Args:
        filters: output channel count (>= input channels).
        strides: spatial subsampling factor.
    """

    def __init__(self, filters, strides=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.strides = int(strides)

    def call(self, inputs):
        s = self.strides
        x = inputs[:, ::s, ::s, :] if s > 1 else inputs
        extra = self.filters - inputs.shape[-1]
        if extra < 0:
            raise ValueError(
                f"ChannelPadShortcut cannot shrink {inputs.shape[-1]} channels to {self.filters}."
            )
        if extra:
            before = extra // 2
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [before, extra - before]])
        return x

    def compute_output_shape(self, input_shape):
        def sub(d):
            return None if d is None else -(-d // self.strides)

        return (input_shape[0], sub(input_shape[1]), sub(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(filters=self.filters, strides=self.strides)
        return config


@keras.saving.register_keras_serializable(package="zoo")
class HardThreshold(keras.layers.Layer):
    """Rosenblatt's threshold unit with a straight-through gradient.

    The forward pass outputs ``1`` where the input is ``>= 0`` and ``0``
    elsewhere; the backward pass uses the sigmoid's gradient, so the
    perceptron stays trainable by gradient descent.

    Reference:
        Rosenblatt, "The Perceptron: A Probabilistic Model for Information
        Storage and Organization in the Brain", Psychological Review, 1958.
    """

    def call(self, inputs):
        soft = ops.sigmoid(inputs)
        hard = ops.cast(ops.greater_equal(inputs, 0), soft.dtype)
        return soft + ops.stop_gradient(hard - soft)

    def compute_output_shape(self, input_shape):
        return input_shape
