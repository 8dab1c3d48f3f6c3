"""Losses Keras lacks (multiclass SVM hinge, robust regression) and `make_loss`.

All are `keras.losses.Loss` subclasses registered under the ``zoo`` package,
written with `keras.ops` only, so models compiled with them save and reload
as ``.keras`` files on every backend.

Robust losses take the residual ``r = y_pred - y_true`` and a scale ``c``;
their defaults give 95% asymptotic efficiency on Gaussian noise (Zhang 1997).
Per-sample values are the mean over the last axis, like ``keras.losses.MSE``.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = [
    "ROBUST_DEFAULTS",
    "Cauchy",
    "Fair",
    "MulticlassHinge",
    "OutputWeightedLoss",
    "TukeyBiweight",
    "make_loss",
]

#: Default scale c per robust loss (95% efficiency under Gaussian noise).
ROBUST_DEFAULTS = {"huber": 1.0, "cauchy": 2.3849, "fair": 1.3998, "tukey": 4.6851}


@keras.saving.register_keras_serializable(package="zoo")
class MulticlassHinge(keras.losses.Loss):
    """Weston-Watkins multiclass SVM hinge loss.

    ``L = sum_{j != y} max(0, s_j - s_y + margin)`` for scores ``s`` (use a
    linear output, no softmax) and true class ``y``.

    Labels are one-hot by default (as `categorical_crossentropy`); with
    ``sparse=True`` they are integer class ids of shape ``(batch,)`` or
    ``(batch, 1)``. The flag is explicit because shape alone is ambiguous.

    Args:
        margin: Delta. Defaults to 1.0.
        sparse: labels are class ids instead of one-hot. Defaults to False.
        reduction: Keras reduction. Defaults to ``"sum_over_batch_size"``.
        name: loss name. Defaults to ``"multiclass_hinge"``.

    Reference:
        Weston & Watkins, "Support Vector Machines for Multi-Class Pattern
        Recognition", ESANN 1999.
    """

    def __init__(
        self,
        margin: float = 1.0,
        sparse: bool = False,
        reduction: str | None = "sum_over_batch_size",
        name: str = "multiclass_hinge",
        dtype: Any = None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if margin < 0:
            raise ValueError(f"margin must be >= 0; received margin={margin!r}")
        self.margin = float(margin)
        self.sparse = bool(sparse)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        num_classes = y_pred.shape[-1]
        if self.sparse:
            labels = ops.cast(ops.reshape(y_true, (-1,)), "int32")
            y_true = ops.one_hot(labels, num_classes, dtype=y_pred.dtype)
        else:
            y_true = ops.cast(y_true, y_pred.dtype)
        true_score = ops.sum(y_true * y_pred, axis=-1, keepdims=True)
        margins = ops.relu(y_pred - true_score + self.margin) * (1.0 - y_true)
        return ops.sum(margins, axis=-1)

    def get_config(self):
        config = super().get_config()
        config.update({"margin": self.margin, "sparse": self.sparse})
        return config


class _RobustLoss(keras.losses.Loss):
    """Shared plumbing: residual, scale ``c``, mean over the last axis."""

    default_c = 1.0

    def __init__(self, c=None, reduction="sum_over_batch_size", name=None, dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        c = self.default_c if c is None else float(c)
        if not c > 0:
            raise ValueError(f"{type(self).__name__}: c must be > 0; received c={c!r}")
        self.c = c

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        return ops.mean(self.rho(y_pred - y_true), axis=-1)

    def rho(self, r):
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config.update({"c": self.c})
        return config


@keras.saving.register_keras_serializable(package="zoo")
class Cauchy(_RobustLoss):
    """Cauchy (Lorentzian) loss: ``c^2 / 2 * log(1 + (r / c)^2)``.

    Args:
        c: scale. Defaults to 2.3849.
        reduction: Keras reduction. Defaults to ``"sum_over_batch_size"``.
        name: loss name. Defaults to ``"cauchy"``.

    Reference:
        Zhang, "Parameter estimation techniques: a tutorial with application
        to conic fitting", Image and Vision Computing 15(1), 1997.
    """

    default_c = ROBUST_DEFAULTS["cauchy"]

    def __init__(self, c=None, reduction="sum_over_batch_size", name="cauchy", dtype=None):
        super().__init__(c=c, reduction=reduction, name=name, dtype=dtype)

    def rho(self, r):
        c = self.c
        return (c * c / 2.0) * ops.log1p(ops.square(r / c))


@keras.saving.register_keras_serializable(package="zoo")
class Fair(_RobustLoss):
    """Fair loss: ``c^2 * (|r| / c - log(1 + |r| / c))``.

    Args:
        c: scale. Defaults to 1.3998.
        reduction: Keras reduction. Defaults to ``"sum_over_batch_size"``.
        name: loss name. Defaults to ``"fair"``.

    Reference:
        Zhang, "Parameter estimation techniques: a tutorial with application
        to conic fitting", Image and Vision Computing 15(1), 1997.
    """

    default_c = ROBUST_DEFAULTS["fair"]

    def __init__(self, c=None, reduction="sum_over_batch_size", name="fair", dtype=None):
        super().__init__(c=c, reduction=reduction, name=name, dtype=dtype)

    def rho(self, r):
        a = ops.abs(r) / self.c
        return (self.c * self.c) * (a - ops.log1p(a))


@keras.saving.register_keras_serializable(package="zoo")
class TukeyBiweight(_RobustLoss):
    """Tukey's biweight: ``c^2/6 * (1 - (1 - (r/c)^2)^3)`` if ``|r| <= c``, else ``c^2/6``.

    Bounded, so gross outliers stop pulling the fit (their gradient is 0).

    Args:
        c: scale. Defaults to 4.6851.
        reduction: Keras reduction. Defaults to ``"sum_over_batch_size"``.
        name: loss name. Defaults to ``"tukey_biweight"``.

    Reference:
        Beaton & Tukey, "The fitting of power series, meaning polynomials,
        illustrated on band-spectroscopic data", Technometrics 16(2), 1974;
        Zhang 1997 (see `Cauchy`).
    """

    default_c = ROBUST_DEFAULTS["tukey"]

    def __init__(self, c=None, reduction="sum_over_batch_size", name="tukey_biweight", dtype=None):
        super().__init__(c=c, reduction=reduction, name=name, dtype=dtype)

    def rho(self, r):
        c2_6 = self.c * self.c / 6.0
        u = ops.minimum(ops.square(r / self.c), 1.0)  # |r| > c  ->  u = 1  ->  c^2/6
        return c2_6 * (1.0 - ops.power(1.0 - u, 3))


class OutputWeightedLoss(keras.losses.Loss):
    """A loss on outputs stacked on axis 1: ``sum_i weights[i] * loss(y, y_pred[:, i])``.

    With GoogLeNet's weights (1, 0.3, 0.3) the value is main + 0.3 * (aux1 + aux2),
    each term the configured loss averaged over the batch as Keras would report it
    for that output alone.

    Args:
        loss: a `keras.losses.Loss` (its per-example ``call`` is used).
        weights: one weight per stacked output.
    """

    def __init__(self, loss, weights, name="output_weighted_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.loss, self.output_weights = loss, tuple(float(w) for w in weights)

    def call(self, y_true, y_pred):
        return sum(
            w * self.loss.call(y_true, y_pred[:, i]) for i, w in enumerate(self.output_weights) if w
        )


def make_loss(config: Any) -> keras.losses.Loss:
    """Builds the loss a `TrainConfig` asks for.

    Args:
        config: a `TrainConfig` (uses ``loss``, ``from_logits``,
            ``sparse_labels``, ``label_smoothing``, ``robust_c``).

    Returns:
        A `keras.losses.Loss` instance.

    Raises:
        ValueError: unknown loss name.
    """
    name, c = config.loss, config.robust_c
    if name == "categorical_crossentropy":
        if config.sparse_labels:
            return keras.losses.SparseCategoricalCrossentropy(from_logits=config.from_logits)
        return keras.losses.CategoricalCrossentropy(
            from_logits=config.from_logits, label_smoothing=config.label_smoothing
        )
    if name == "binary_crossentropy":
        return keras.losses.BinaryCrossentropy(from_logits=config.from_logits)
    if name == "svm_hinge":
        return MulticlassHinge(sparse=config.sparse_labels)
    if name == "hinge_cs":
        return keras.losses.CategoricalHinge()
    if name == "mse":
        return keras.losses.MeanSquaredError()
    if name == "mae":
        return keras.losses.MeanAbsoluteError()
    if name == "huber":
        return keras.losses.Huber(delta=ROBUST_DEFAULTS["huber"] if c is None else c)
    if name == "cauchy":
        return Cauchy(c)
    if name == "fair":
        return Fair(c)
    if name == "tukey":
        return TukeyBiweight(c)
    raise ValueError(f"Unknown loss {name!r}")
