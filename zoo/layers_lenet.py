"""The layers of LeNet-5 as LeCun et al. (1998) built it. Backend-agnostic and serializable.

`ConnectionTableConv2D` (C3's partial connections, Table I), `TrainableSubsampling`
(S2/S4: the sum of a 2x2 window times a trainable coefficient plus a trainable
bias, per map), `ScaledTanh` (the squashing function 1.7159 tanh(2/3 a),
Appendix A) and `RBFOutput` (Euclidean radial basis function units with fixed
codes). Registered under the ``zoo`` package and imported by `zoo.layers`, so a
model using them reloads with ``safe_mode=True``.

Reference:
    LeCun, Bottou, Bengio & Haffner, "Gradient-Based Learning Applied to
    Document Recognition", Proc. IEEE 86(11), 1998, Section II-B and Appendix A.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

__all__ = ["ConnectionTableConv2D", "RBFOutput", "ScaledTanh", "TrainableSubsampling"]


@keras.saving.register_keras_serializable(package="zoo")
class ConnectionTableConv2D(keras.layers.Layer):
    """A "valid" convolution in which output map ``j`` sees only the input maps ``table[j]``.

    Only the connected kernels are weights: ``sum(len(t) for t in table) * k * k``
    kernel values plus one bias per output map (C3 of LeNet-5: 1,500 + 16 =
    1,516). The call scatters them into a full kernel with a fixed 0/1 matrix
    and runs one ordinary convolution.

    Args:
        table: per output map, the indices of the input maps it is connected to.
        kernel_size: the square kernel's side.
        kernel_initializer: initializer of the equivalent full kernel
            ``(k, k, in, out)``; the connected entries are kept, so fans are
            those of the dense convolution.
        kernel_regularizer: optional regularizer of the connected kernel.
    """

    def __init__(
        self,
        table,
        kernel_size=5,
        kernel_initializer="glorot_uniform",
        kernel_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.table = tuple(tuple(int(i) for i in row) for row in table)
        if not self.table or any(not row for row in self.table):
            raise ValueError(
                f"table needs at least one input map per output map; received {table}."
            )
        self.kernel_size = int(kernel_size)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)

    @property
    def filters(self) -> int:
        return len(self.table)

    def _placement(self, channels: int) -> np.ndarray:
        """``(connections, channels * filters)``: 1 where a connection sits in the full kernel."""
        pairs = [(i, j) for j, row in enumerate(self.table) for i in row]
        placement = np.zeros((len(pairs), channels * self.filters), dtype="float32")
        for c, (i, j) in enumerate(pairs):
            placement[c, i * self.filters + j] = 1.0
        return placement

    def build(self, input_shape):
        channels = int(input_shape[-1])
        if max(max(row) for row in self.table) >= channels:
            raise ValueError(
                f"{self.name}: the connection table names input map "
                f"{max(max(row) for row in self.table)}; the input has {channels} maps."
            )
        self._place = self._placement(channels)
        k, full_init = self.kernel_size, self.kernel_initializer
        place = self._place

        def initializer(shape, dtype=None):
            full = full_init((k, k, channels, self.filters), dtype=dtype)
            flat = ops.matmul(ops.reshape(full, (k * k, -1)), ops.transpose(place))
            return ops.reshape(flat, shape)

        self.kernel = self.add_weight(
            name="kernel",
            shape=(k, k, len(place)),
            initializer=initializer,
            regularizer=self.kernel_regularizer,
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        k, channels = self.kernel_size, inputs.shape[-1]
        flat = ops.reshape(self.kernel, (k * k, -1))
        place = ops.convert_to_tensor(self._place, dtype=self.kernel.dtype)
        full = ops.reshape(ops.matmul(flat, place), (k, k, channels, self.filters))
        out = ops.conv(inputs, ops.cast(full, inputs.dtype), padding="valid")
        return out + ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        def out(d):
            return None if d is None else d - self.kernel_size + 1

        return (input_shape[0], out(input_shape[1]), out(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            table=[list(row) for row in self.table],
            kernel_size=self.kernel_size,
            kernel_initializer=keras.initializers.serialize(self.kernel_initializer),
            kernel_regularizer=keras.regularizers.serialize(self.kernel_regularizer)
            if self.kernel_regularizer
            else None,
        )
        return config


@keras.saving.register_keras_serializable(package="zoo")
class TrainableSubsampling(keras.layers.Layer):
    """LeNet-5's S2/S4: ``coefficient[c] * sum(2x2 window of map c) + bias[c]``.

    Two trainable parameters per map (S2: 12, S4: 32). The coefficient starts
    at ``1 / pool_size**2``, so the layer starts as average pooling; the
    squashing function follows as a separate layer.

    Args:
        pool_size: the side of the non-overlapping window (2 in the paper).
    """

    def __init__(self, pool_size=2, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = int(pool_size)

    def build(self, input_shape):
        channels = int(input_shape[-1])
        self.coefficient = self.add_weight(
            name="coefficient",
            shape=(channels,),
            initializer=keras.initializers.Constant(1.0 / self.pool_size**2),
        )
        self.bias = self.add_weight(name="bias", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        p = self.pool_size
        window_sum = ops.average_pool(inputs, p, strides=p, padding="valid") * float(p * p)
        coefficient = ops.cast(self.coefficient, inputs.dtype)
        return window_sum * coefficient + ops.cast(self.bias, inputs.dtype)

    def compute_output_shape(self, input_shape):
        def out(d):
            return None if d is None else d // self.pool_size

        return (input_shape[0], out(input_shape[1]), out(input_shape[2]), input_shape[3])

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=self.pool_size)
        return config


@keras.saving.register_keras_serializable(package="zoo")
class ScaledTanh(keras.layers.Layer):
    """The squashing function of LeNet-5, ``A * tanh(S * a)`` with A = 1.7159, S = 2/3.

    Chosen so that f(1) = 1 and f(-1) = -1 and the gain is near 1 there
    (Appendix A).
    """

    A, S = 1.7159, 2.0 / 3.0

    def call(self, inputs):
        return self.A * ops.tanh(self.S * inputs)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="zoo")
class RBFOutput(keras.layers.Layer):
    """Euclidean RBF units with fixed codes: ``activation(-d)``, ``d_i = sum_j (x_j - c_ij)**2``.

    ``d_i`` is the squared distance of the input to code ``i`` (lower is
    better); the codes are fixed (not trainable), as in the paper. The layer
    returns ``-d`` (logits: the nearest code has the largest), through
    ``activation`` when one is given. Softmax cross-entropy on these logits is
    the paper's MAP criterion (its Eq. 9) without the constant ``e^{-j}``
    "rubbish class" term.

    Args:
        centers: the ``(units, features)`` codes.
        activation: applied to ``-d`` (e.g. ``"softmax"``); None: the logits.
    """

    #: Its first predictions are not near uniform (the inputs' distances to
    #: fixed codes differ), so the training doctor skips its ln(C) check.
    uniform_start = False

    def __init__(self, centers, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.centers = np.asarray(centers, dtype="float32")
        if self.centers.ndim != 2:
            raise ValueError(f"centers must be (units, features); received {self.centers.shape}.")
        self.activation = keras.activations.get(activation)

    @property
    def units(self) -> int:
        return int(self.centers.shape[0])

    def build(self, input_shape):
        if int(input_shape[-1]) != self.centers.shape[1]:
            raise ValueError(
                f"{self.name}: the codes have {self.centers.shape[1]} features; the input has "
                f"{input_shape[-1]}."
            )
        self.codes = self.add_weight(
            name="centers",
            shape=self.centers.shape,
            initializer=keras.initializers.Constant(self.centers),
            trainable=False,
        )

    def call(self, inputs):
        codes = ops.cast(self.codes, inputs.dtype)
        d = (
            ops.sum(ops.square(inputs), axis=-1, keepdims=True)
            - 2.0 * ops.matmul(inputs, ops.transpose(codes))
            + ops.sum(ops.square(codes), axis=-1)
        )
        return self.activation(-d)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(
            centers=self.centers.tolist(),
            activation=keras.activations.serialize(self.activation),
        )
        return config
