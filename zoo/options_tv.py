"""Options of torchvision's variants of the classic architectures (`zoo.options`' contract).

torchvision's AlexNet and GoogLeNet are other networks than the papers': they
are registered as their own variants (``alexnet_tv``, ``googlenet_tv``) so that
torchvision's ImageNet weights fit them exactly. Their options extend the
papers' families' ones with torchvision's defaults. This module imports no Keras.
"""

from __future__ import annotations

import dataclasses

from zoo.options import DenseHeadOptions, GoogLeNetOptions, _check_bool

__all__ = ["AlexNetTVOptions", "GoogLeNetTVOptions"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class AlexNetTVOptions(DenseHeadOptions):
    """torchvision's AlexNet: one tower, no LRN, dropout 0.5 before fc1 and fc2.

    Attributes:
        kernel_initializer: ``"glorot_uniform"``.
        dropout: 0.5, before fc1 and before fc2 (torchvision's order).
        dense_activation: of fc1 and fc2 (`DenseHeadOptions`), e.g. ``"maxout"``.
    """

    kernel_initializer: str = "glorot_uniform"
    dropout: float = 0.5


@dataclasses.dataclass(frozen=True, kw_only=True)
class GoogLeNetTVOptions(GoogLeNetOptions):
    """torchvision's GoogLeNet: BatchNorm (epsilon 1e-3) after every conv, no LRN, dropout 0.2.

    Attributes:
        batch_norm: True: convolutions without bias, BatchNorm with epsilon 1e-3.
        dropout: 0.2 before the classifier.
        aux_logits: the two auxiliary classifiers (torchvision's: 4x4 adaptive
            average pooling, BatchNorm conv, fc 2048 -> 1024, dropout 0.7).
        lrn: False (torchvision has none).
        transform_input: first map inputs normalized with the ImageNet mean and
            std to ``(x - 0.5) / 0.5``, as torchvision does for its ImageNet
            weights (which need it); 3-channel inputs only.
    """

    kernel_initializer: str = "glorot_uniform"
    batch_norm: bool = True
    dropout: float = 0.2
    lrn: bool = False
    transform_input: bool = False

    def validate(self, spec) -> GoogLeNetTVOptions:
        o = super().validate(spec)
        _check_bool(spec.name, "transform_input", self.transform_input)
        if o.transform_input and o.input_shape[-1] != 3:
            raise ValueError(
                f"{spec.name}: transform_input=True needs 3-channel inputs; "
                f"received input_shape={o.input_shape}."
            )
        return o
