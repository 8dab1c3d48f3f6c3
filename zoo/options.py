"""The builder contract as data: one frozen options dataclass per family.

``ImageOptions`` holds what every model takes (keras.applications' transfer
signature plus the course's knobs); each family's subclass adds its own knobs
and overrides the defaults its paper uses. ``dataclasses.fields(options)`` is
the one list of a builder's arguments and defaults: the registry turns it into
the builder's signature, the tuner reads it, a built model records it.
This module imports no Keras.

Example:

```python
opts = VGGOptions(num_classes=10).validate(zoo.get_spec("vgg16"))
opts.input_shape  # (224, 224, 3), resolved from the spec
```
"""

from __future__ import annotations

import dataclasses
import difflib
import warnings
from typing import Any

from zoo.choices import (
    ACTIVATIONS,
    CLASSIFIER_ACTIVATIONS,
    INITIALIZERS,
    POOLINGS,
    check_choice,
    check_dense_activation,
    check_input_shape,
)
from zoo.constants import json_ready

__all__ = [
    "ACTIVATIONS", "CLASSIFIER_ACTIVATIONS", "DEPRECATED_NAMES", "INITIALIZERS", "POOLINGS",
    "AlexNetOptions", "CifarResNetOptions", "DenseHeadOptions", "GoogLeNetOptions", "ImageOptions",
    "InceptionV3Options", "LeNetOptions", "MLPOptions", "PerceptronOptions", "ResNetOptions", "VGGOptions",
    "check_choice", "options_from_kwargs", "rename_deprecated",
]  # fmt: skip

#: Old builder argument names -> their current names (accepted with a DeprecationWarning).
DEPRECATED_NAMES = {"weight_decay": "kernel_l2"}


def _check_bool(model: str, what: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{model}: {what} must be True or False; received {value!r}.")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ImageOptions:
    """The arguments every zoo model takes (keras.applications' contract plus the course's knobs).

    Attributes:
        input_shape: input shape, channels last; None: the paper's (the spec's
            ``input_shape``). At least the spec's ``min_input_shape``.
        num_classes: number of output classes.
        include_top: keep the classifier; False gives a feature extractor.
        pooling: without the top: None (the feature map), ``"avg"`` or ``"max"``.
        classifier_activation: ``"softmax"``, ``"sigmoid"``, ``"linear"``/None
            (logits) or, for the perceptron, ``"threshold"``.
        weights: None (random), a ``.weights.h5``/``.keras`` path or a
            ``saved_models/`` checkpoint name, loaded by ``zoo.build_model``.
        name: the Keras model's name; None: the registered name.
        activation: hidden-layer activation (see ``ACTIVATIONS``).
        kernel_initializer: initializer of conv and dense kernels.
        batch_norm: BatchNormalization after each conv (and hidden dense) layer.
        dropout: the architecture's dropout rate, in [0, 1).
        kernel_l2: L2 penalty ``kernel_l2 * sum(w**2)`` on conv and dense
            kernels (SGD weight decay ``lambda`` is ``kernel_l2 = lambda / 2``);
            formerly ``weight_decay``.
    """

    input_shape: tuple | None = None
    num_classes: int = 1000
    include_top: bool = True
    pooling: str | None = None
    classifier_activation: str | None = "softmax"
    weights: str | None = None
    name: str | None = None
    activation: str = "relu"
    kernel_initializer: str = "he_normal"
    batch_norm: bool = False
    dropout: float = 0.0
    kernel_l2: float = 0.0

    def validate(self, spec) -> ImageOptions:
        """Checks every option against ``spec`` before a layer is built.

        Args:
            spec: the model's `zoo.registry.ModelSpec` (name, input shapes).

        Returns:
            A copy with ``input_shape`` resolved to a tuple of ints.

        Raises:
            ValueError: naming the option, what was received and what is valid.
        """
        name = spec.name
        shape = check_input_shape(spec, self.input_shape)
        n = self.num_classes
        if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
            raise ValueError(f"{name}: num_classes must be a positive integer; received {n!r}.")
        _check_bool(name, "include_top", self.include_top)
        check_choice("pooling", self.pooling, POOLINGS)
        check_choice(
            "classifier_activation",
            self.classifier_activation,
            CLASSIFIER_ACTIVATIONS + ("threshold",),
        )
        if self.activation is not None:
            check_choice("activation", self.activation, ACTIVATIONS)
        if self.kernel_initializer is not None:
            check_choice("kernel_initializer", self.kernel_initializer, INITIALIZERS)
        if not 0.0 <= float(self.dropout) < 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1); received {self.dropout!r}.")
        if float(self.kernel_l2) < 0.0:
            raise ValueError(f"{name}: kernel_l2 must be >= 0; received {self.kernel_l2!r}.")
        _check_bool(name, "batch_norm", self.batch_norm)
        return dataclasses.replace(self, input_shape=shape)

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON-able dict (tuples as lists)."""
        return json_ready({f.name: getattr(self, f.name) for f in dataclasses.fields(self)})


@dataclasses.dataclass(frozen=True, kw_only=True)
class DenseHeadOptions(ImageOptions):
    """What the families with fully connected hidden layers add (MLP, LeNet, AlexNet, VGG).

    Attributes:
        dense_activation: activation of those layers; None: ``activation``; or
            ``"maxout"``/``"maxout:K"``, K >= 2 pieces per unit (`zoo.choices`).
    """

    dense_activation: str | None = None

    def validate(self, spec) -> DenseHeadOptions:
        check_dense_activation(self.dense_activation)
        return super().validate(spec)


@dataclasses.dataclass(frozen=True, kw_only=True)
class PerceptronOptions(ImageOptions):
    """Rosenblatt's perceptron: one binary sigmoid unit by default.

    Attributes:
        num_classes: 1 (one binary unit); more gives one unit per class.
        classifier_activation: ``"sigmoid"`` (smooth), ``"threshold"``
            (Rosenblatt's step, straight-through gradient), ``"softmax"`` or None.
        kernel_initializer: ``"glorot_uniform"``.
    """

    num_classes: int = 1
    classifier_activation: str | None = "sigmoid"
    kernel_initializer: str = "glorot_uniform"


@dataclasses.dataclass(frozen=True, kw_only=True)
class MLPOptions(DenseHeadOptions):
    """The multilayer perceptron: 10 classes, two hidden layers.

    Attributes:
        num_classes: 10 (MNIST).
        hidden_units: width of each hidden layer ``dense1``, ``dense2``, ...
        dense_activation: of the hidden layers (`DenseHeadOptions`), e.g. ``"maxout:3"``.
    """

    num_classes: int = 10
    hidden_units: tuple[int, ...] = (512, 256)

    def validate(self, spec) -> MLPOptions:
        o = super().validate(spec)
        units = self.hidden_units
        try:
            units = tuple(units)
        except TypeError:
            units = ()
        if not units or any(isinstance(u, bool) or not isinstance(u, int) or u <= 0 for u in units):
            raise ValueError(
                f"mlp: hidden_units must be positive integers; received {self.hidden_units!r}."
            )
        return dataclasses.replace(o, hidden_units=units)


@dataclasses.dataclass(frozen=True, kw_only=True)
class LeNetOptions(DenseHeadOptions):
    """LeNet-5: 10 classes, tanh, Glorot initialization.

    Attributes:
        num_classes: 10 (the digits).
        activation: ``"tanh"``, as in the paper.
        kernel_initializer: ``"glorot_uniform"``.
        variant: ``"modern"`` (default) or ``"1998"`` (the paper's; `zoo.models.lenet`).
        dense_activation: of F6 (`DenseHeadOptions`), e.g. ``"maxout"``.
    """

    num_classes: int = 10
    activation: str = "tanh"
    kernel_initializer: str = "glorot_uniform"
    variant: str = "modern"


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlexNetOptions(DenseHeadOptions):
    """AlexNet: Glorot initialization, dropout 0.5, the two-GPU split and LRN.

    Attributes:
        kernel_initializer: ``"glorot_uniform"``.
        dropout: 0.5 on fc1 and fc2, as in the paper.
        grouped: conv2, conv4 and conv5 as 2-group convolutions (the two-GPU
            split, 60,965,224 parameters; False: one tower, 62,378,344).
        lrn: Local Response Normalization after conv1 and conv2.
        dense_activation: of fc1 and fc2 (`DenseHeadOptions`), e.g. ``"maxout"``.
    """

    kernel_initializer: str = "glorot_uniform"
    dropout: float = 0.5
    grouped: bool = True
    lrn: bool = True

    def validate(self, spec) -> AlexNetOptions:
        o = super().validate(spec)
        _check_bool(spec.name, "grouped", self.grouped)
        _check_bool(spec.name, "lrn", self.lrn)
        return o


@dataclasses.dataclass(frozen=True, kw_only=True)
class VGGOptions(DenseHeadOptions):
    """VGG: Glorot initialization, dropout 0.5, two 4096-unit dense layers.

    Attributes:
        kernel_initializer: ``"glorot_uniform"``.
        dropout: 0.5 on fc1 and fc2, as in the paper.
        fc_units: width of fc1 and fc2.
        dense_activation: of fc1 and fc2 (`DenseHeadOptions`), e.g. ``"maxout"``.
    """

    kernel_initializer: str = "glorot_uniform"
    dropout: float = 0.5
    fc_units: int = 4096

    def validate(self, spec) -> VGGOptions:
        o = super().validate(spec)
        u = self.fc_units
        if isinstance(u, bool) or not isinstance(u, int) or u <= 0:
            raise ValueError(f"{spec.name}: fc_units must be a positive integer; received {u!r}.")
        return o


#: The GoogLeNet auxiliary heads' 5x5/3 pooling needs a 5x5 map after inception 4a.
AUX_MIN_SIZE = 65


@dataclasses.dataclass(frozen=True, kw_only=True)
class GoogLeNetOptions(ImageOptions):
    """GoogLeNet: Glorot initialization, dropout 0.4, LRN, no auxiliary heads.

    Attributes:
        kernel_initializer: ``"glorot_uniform"``.
        dropout: 0.4 before the classifier, as in the paper.
        aux_logits: add the two auxiliary classifiers on inception 4a and 4d
            (outputs ``[predictions, aux1, aux2]``); needs ``include_top`` and
            inputs of at least 65x65.
        lrn: Local Response Normalization after pool1 and conv2.
    """

    kernel_initializer: str = "glorot_uniform"
    dropout: float = 0.4
    aux_logits: bool = False
    lrn: bool = True

    def validate(self, spec) -> GoogLeNetOptions:
        o = super().validate(spec)
        _check_bool(spec.name, "aux_logits", self.aux_logits)
        _check_bool(spec.name, "lrn", self.lrn)
        if o.aux_logits and (not o.include_top or min(o.input_shape[:2]) < AUX_MIN_SIZE):
            raise ValueError(
                f"{spec.name} with aux_logits=True needs include_top=True and inputs of at "
                f"least {AUX_MIN_SIZE}x{AUX_MIN_SIZE}; received input_shape={o.input_shape}, "
                f"include_top={o.include_top}."
            )
        return o


@dataclasses.dataclass(frozen=True, kw_only=True)
class InceptionV3Options(ImageOptions):
    """Inception v3 (`zoo.models.inception_v3`): BatchNorm on; the defaults are keras.applications'.

    Attributes:
        aux_logits: the 17x17 grid's auxiliary head, outputs [predictions, aux] (a top, >= 299x299).
        bn_scale: BatchNorm learns a scale, as torchvision's (False: keras.applications').
        pool_include_pad: the branch average pools count the padding, as torchvision's.
    """

    batch_norm: bool = True
    aux_logits: bool = False
    bn_scale: bool = False
    pool_include_pad: bool = False

    def validate(self, spec) -> InceptionV3Options:
        o = super().validate(spec)
        for key in ("aux_logits", "bn_scale", "pool_include_pad"):
            _check_bool(spec.name, key, getattr(self, key))
        if o.aux_logits and (not o.include_top or min(o.input_shape[:2]) < 299):
            raise ValueError(
                f"{spec.name} with aux_logits=True needs include_top=True and inputs of at least 299x299; received input_shape={o.input_shape}, include_top={o.include_top}."
            )
        return o


@dataclasses.dataclass(frozen=True, kw_only=True)
class ResNetOptions(ImageOptions):
    """ImageNet ResNets: BatchNorm on, the bottleneck stride on the 3x3 conv (v1.5).

    Attributes:
        batch_norm: True, as in the paper.
        stride_on: where a bottleneck's stride sits: ``"3x3"`` (v1.5, as
            torchvision and timm) or ``"1x1"`` (the paper's Caffe models and
            keras.applications, 3.86 G multiply-adds for ResNet-50).
        residual: add the shortcuts; False builds the paper's plain net.
    """

    batch_norm: bool = True
    stride_on: str = "3x3"
    residual: bool = True

    def validate(self, spec) -> ResNetOptions:
        o = super().validate(spec)
        if self.stride_on not in ("3x3", "1x1"):
            raise ValueError(
                f"stride_on must be '3x3' (v1.5, default) or '1x1' (the paper's); "
                f"received {self.stride_on!r}."
            )
        return o


@dataclasses.dataclass(frozen=True, kw_only=True)
class CifarResNetOptions(ImageOptions):
    """CIFAR-10 ResNets (6n+2 layers): 10 classes, BatchNorm on.

    Attributes:
        num_classes: 10 (CIFAR-10).
        batch_norm: True, as in the paper.
        residual: add the shortcuts; False builds the plain net of Fig. 6.
    """

    num_classes: int = 10
    batch_norm: bool = True
    residual: bool = True


def rename_deprecated(kwargs: dict, *, stacklevel: int = 3) -> dict:
    """Maps old builder argument names onto current ones (``weight_decay`` -> ``kernel_l2``).

    Returns:
        A new dict; ``kwargs`` itself is not changed.

    Raises:
        ValueError: when both the old and the new name are given.
    """
    out = dict(kwargs)
    for old, new in DEPRECATED_NAMES.items():
        if old not in out:
            continue
        if new in out:
            raise ValueError(f"Pass {new}= only; {old}= is its deprecated name (both were given).")
        warnings.warn(
            f"The builder argument {old}= is deprecated; use {new}= (the L2 kernel penalty). "
            f"Decoupled optimizer weight decay is TrainConfig.weight_decay.",
            DeprecationWarning,
            stacklevel=stacklevel,
        )
        out[new] = out.pop(old)
    return out


def options_from_kwargs(spec, kwargs: dict) -> ImageOptions:
    """Validated options of ``spec.options`` from builder keyword arguments.

    Deprecated names are renamed (with a DeprecationWarning); an unknown name
    is a one-line error with the closest accepted one.

    Raises:
        ValueError: an unknown or doubly given argument, or an invalid value.
    """
    kwargs = rename_deprecated(kwargs, stacklevel=4)
    accepted = [f.name for f in dataclasses.fields(spec.options)]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        close = difflib.get_close_matches(unknown[0], accepted, n=1, cutoff=0.6)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"{spec.name} got an unexpected argument {', '.join(map(repr, unknown))}.{hint} "
            f"Accepted: {', '.join(accepted)}."
        )
    return spec.options(**kwargs).validate(spec)
