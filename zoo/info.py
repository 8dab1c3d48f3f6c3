"""What a model is before it is trained: parameters and multiply-adds.

FLOPs here are multiply-accumulate operations (MACs) of one forward pass for
one image, counted per layer: convolutions (``H_out * W_out * k_h * k_w *
C_in / groups * C_out``), depthwise/separable convolutions and dense layers
(``in * out``). Normalization, pooling, activations and additions are not
counted; they are a fraction of a percent of these networks' work. This is
the convention of the papers (VGG-16: 15.5 G, ResNet-50: 4.1 G).
"""

from __future__ import annotations

import math


def _prod(shape) -> int:
    return math.prod(int(d) for d in shape if d is not None)


def layer_macs(layer) -> int:
    """Multiply-accumulates of one forward pass of ``layer`` (batch of one)."""
    import keras

    kind = type(layer)
    try:
        out_shape = layer.output.shape
    except (AttributeError, ValueError):
        return 0
    if issubclass(kind, keras.layers.DepthwiseConv2D):
        kh, kw = layer.kernel_size
        return _prod(out_shape[1:]) * kh * kw
    if issubclass(kind, keras.layers.SeparableConv2D):
        kh, kw = layer.kernel_size
        c_in = layer.input.shape[-1]
        return _prod(out_shape[1:-1]) * c_in * (kh * kw * layer.depth_multiplier + out_shape[-1])
    if issubclass(kind, keras.layers.Conv2D):
        kh, kw = layer.kernel_size
        c_in = layer.input.shape[-1]
        return _prod(out_shape[1:]) * kh * kw * c_in // layer.groups
    if issubclass(kind, keras.layers.Dense):
        return _prod(out_shape[1:]) * layer.input.shape[-1]
    if hasattr(layer, "units") and hasattr(layer, "pieces"):  # zoo Maxout
        return _prod(out_shape[1:]) * layer.pieces * layer.input.shape[-1]
    if isinstance(layer, keras.Model):
        return count_macs(layer)
    return 0


def count_macs(model) -> int:
    """Total multiply-accumulates of one forward pass of ``model``."""
    return sum(layer_macs(layer) for layer in model.layers)


def count_params(weights) -> int:
    return sum(_prod(w.shape) for w in weights)


def human(n: float, unit: str = "") -> str:
    """Formats 138357544 as '138.36M'."""
    for div, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= div:
            return f"{n / div:.2f}{suffix}{unit}"
    return f"{n:g}{unit}"
