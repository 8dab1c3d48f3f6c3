"""Assigning torch-layout state dicts (torchvision / timm keys) to the zoo's layers.

A mapper (``assign(model, state)``, named by `zoo.bridge.torchvision.TorchSource.mapper`)
says which torch key prefix feeds which zoo layer; `StateAssigner` does the rest the same
way for every architecture:

- conv kernels ``(out, in, h, w)`` -> ``(h, w, in, out)``; dense ``(out, in)`` -> ``(in, out)``;
- BatchNorm ``weight, bias, running_mean, running_var`` -> ``gamma, beta, moving_mean,
  moving_variance``, ``var += source_eps - layer.epsilon`` so ``var + eps`` is the
  source's (torch's 1e-5 equals the zoo's: exact);
- a first conv for other than 3 input channels is adapted as timm's ``adapt_input_conv``
  (`adapt_input_conv`);
- every model layer with weights must be fed and every file key used (classifier keys
  skipped for a model without its top), else one `StateDictError` line says what is
  missing or left over (another architecture's file), and nothing is assigned.

The loader (`zoo.bridge.imagenet`) prefixes the file name to these errors.
"""

from __future__ import annotations

import re

import numpy as np

from zoo.bridge.mapping import shape_mismatch
from zoo.weights import WeightsError

__all__ = ["StateAssigner", "StateDictError", "adapt_input_conv", "assign_resnet", "assign_vgg"]


class StateDictError(WeightsError):
    """A state dict that does not fit the model (the caller names the file)."""


def adapt_input_conv(kernel: np.ndarray, channels: int) -> np.ndarray:
    """An RGB conv kernel ``(h, w, 3, out)`` for ``channels`` input channels, as timm does.

    1 channel: the sum over RGB (a gray image ``g`` gives what ``(g, g, g)`` gave);
    other counts: RGB repeated to ``channels`` and scaled by ``3 / channels``.
    """
    have = kernel.shape[2]
    if channels == have:
        return kernel
    if have != 3:
        raise StateDictError(f"cannot adapt a {have}-channel first conv to {channels} channels.")
    if channels == 1:
        return kernel.sum(axis=2, keepdims=True)
    reps = -(-channels // 3)
    return np.tile(kernel, (1, 1, reps, 1))[:, :, :channels] * np.float32(3.0 / channels)


def _few(names) -> str:
    names = sorted(names)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


class StateAssigner:
    """Collects ``(zoo layer, torch prefix)`` pairs, converts, checks, then assigns.

    Args:
        model: the zoo model.
        state: ``{torch key: array}``.
        top_prefixes: torch key prefixes of the classifier (skipped without a top).
        first_conv: the zoo name of the input conv (adapted to the model's channels).
        bn_epsilon: the source's BatchNorm epsilon.
    """

    def __init__(self, model, state, *, top_prefixes=(), first_conv=None, bn_epsilon=1e-5):
        self.model, self.state = model, state
        self.top_prefixes, self.first_conv, self.bn_epsilon = top_prefixes, first_conv, bn_epsilon
        self.pairs: list = []
        self.used: set[str] = set()
        self.missing: list[str] = []

    def _take(self, key: str):
        if key not in self.state:
            self.missing.append(key)
            return None
        self.used.add(key)
        return np.asarray(self.state[key], np.float32)

    def add(self, layer, prefix: str, converter=None) -> None:
        """Feeds zoo ``layer`` from the keys under ``prefix`` (``converter``: kernel -> kernel)."""
        import keras

        if isinstance(layer, keras.layers.BatchNormalization):
            names = ("weight", "bias", "running_mean", "running_var")
            arrays = [self._take(f"{prefix}.{n}") for n in names]
            self.used.add(f"{prefix}.num_batches_tracked")
            if arrays[3] is not None:
                arrays[3] = arrays[3] + np.float32(self.bn_epsilon - layer.epsilon)
        else:
            arrays = [self._take(f"{prefix}.weight")]
            if len(layer.weights) > 1:
                arrays.append(self._take(f"{prefix}.bias"))
            if arrays[0] is not None:
                arrays[0] = self._kernel(layer, arrays[0], converter)
        self.pairs.append((layer, arrays))

    def _kernel(self, layer, w, converter):
        if converter is not None:
            return converter(w)
        if w.ndim == 4:
            w = w.transpose(2, 3, 1, 0)
            if layer.name == self.first_conv:
                w = adapt_input_conv(w, int(layer.kernel.shape[2]))
            return w
        return w.T

    def assign(self) -> None:
        """Checks completeness and shapes, then assigns every collected layer."""
        has_top = any(layer.name == "predictions" for layer in self.model.layers)
        left = {
            k
            for k in self.state
            if k not in self.used and (has_top or not k.startswith(self.top_prefixes))
        }
        hint = " Is it a file for another architecture?"
        if self.missing or left:
            what = f"lacks {_few(self.missing)}" if self.missing else ""
            what += ("; it " if self.missing and left else "") + (
                f"has keys the model has no layer for ({_few(left)})" if left else ""
            )
            raise StateDictError(
                f"does not fit the zoo's {self.model.name!r}: the state dict {what}.{hint}"
            )
        mismatch = shape_mismatch(self.pairs)
        if mismatch:
            layer, theirs, ours = mismatch
            raise StateDictError(
                f"does not fit {self.model.name!r}: layer {layer.name!r} gets weights "
                f"{theirs} from it and has {ours} (class count, input size?).{hint}"
            )
        for layer, arrays in self.pairs:
            for variable, value in zip(layer.weights, arrays, strict=True):
                variable.assign(value)


_RESNET_LAYER = re.compile(r"^stage(\d)_unit(\d+)_(conv\d|shortcut)(_bn)?$")


def _resnet_prefix(name: str) -> str | None:
    """``stage2_unit1_conv3_bn`` -> ``layer2.0.bn3``; ``..._shortcut`` -> ``...downsample.0``."""
    if name in ("conv1", "conv1_bn", "predictions"):
        return {"conv1": "conv1", "conv1_bn": "bn1", "predictions": "fc"}[name]
    m = _RESNET_LAYER.match(name)
    if not m:
        return None
    stage, unit, conv, bn = m.groups()
    block = f"layer{stage}.{int(unit) - 1}"
    if conv == "shortcut":
        return f"{block}.downsample.{1 if bn else 0}"
    return f"{block}.{'bn' if bn else 'conv'}{conv[-1]}"


def assign_resnet(model, state) -> None:
    """torchvision's (and timm's ``tv_in1k``) ResNet keys -> the zoo's ImageNet ResNet."""
    assigner = StateAssigner(model, state, top_prefixes=("fc.",), first_conv="conv1")
    for layer in model.layers:
        if layer.weights:
            prefix = _resnet_prefix(layer.name)
            if prefix is None:
                raise StateDictError(f"the zoo's layer {layer.name!r} has no torchvision name.")
            assigner.add(layer, prefix)
    assigner.assign()


def _timm_vgg_keys(state: dict) -> dict:
    """timm's VGG keys (``pre_logits.fc1`` as a 7x7 conv, ``head.fc``) -> torchvision's."""
    if "pre_logits.fc1.weight" not in state:
        return state
    names = {"pre_logits.fc1": "classifier.0", "pre_logits.fc2": "classifier.3"}
    names["head.fc"] = "classifier.6"
    out = {}
    for key, value in state.items():
        stem, _, leaf = key.rpartition(".")
        key = f"{names.get(stem, stem)}.{leaf}"
        out[key] = (
            value.reshape(value.shape[0], -1) if key.endswith("weight") and stem in names else value
        )
    return out


def adaptive_pool_matrix(out: int, size: int) -> np.ndarray:
    """``(out, size)``: torch's ``AdaptiveAvgPool`` from ``size`` to ``out`` cells as a matrix."""
    p = np.zeros((out, size), np.float64)
    for i in range(out):
        start, end = (i * size) // out, -(-((i + 1) * size) // out)
        p[i, start:end] = 1.0 / (end - start)
    return p


def _fc1_converter(model):
    """torchvision's fc1 ``(4096, 512*7*7)`` over NCHW-flattened ``AdaptiveAvgPool2d(7)`` output
    -> the zoo's ``(h*w*512, 4096)`` over its NHWC-flattened ``(h, w, 512)`` map (exact)."""
    _, h, w, c = model.get_layer("flatten").input.shape

    def convert(weight):
        units = weight.shape[0]
        if weight.shape[1] != c * 49:
            return weight.T  # the shape check reports it
        kernel = weight.reshape(units, c, 7, 7)
        ph, pw = (adaptive_pool_matrix(7, n).astype(np.float32) for n in (h, w))
        folded = np.tensordot(np.tensordot(kernel, ph, axes=([2], [0])), pw, axes=([2], [0]))
        return folded.transpose(2, 3, 1, 0).reshape(h * w * c, units)  # (o, c, h, w) -> hwc, o

    return convert


def assign_vgg(model, state) -> None:
    """torchvision's VGG / VGG-BN keys (``features.N``, ``classifier.0/3/6``) -> the zoo's VGG.

    torchvision's ``features`` index every conv, BatchNorm, ReLU and pool in order; its
    classifier follows an ``AdaptiveAvgPool2d(7)`` folded into fc1 (`_fc1_converter`).
    """
    import keras

    state = _timm_vgg_keys(state)
    assigner = StateAssigner(model, state, top_prefixes=("classifier.",), first_conv="block1_conv1")
    index = 0
    top = {"fc1": "classifier.0", "fc2": "classifier.3", "predictions": "classifier.6"}
    for layer in model.layers:
        if isinstance(layer, keras.layers.MaxPooling2D):
            index += 1
        elif isinstance(layer, keras.layers.Conv2D):
            assigner.add(layer, f"features.{index}")
            index += 2
        elif isinstance(layer, keras.layers.BatchNormalization) and layer.name.startswith("block"):
            assigner.add(layer, f"features.{index - 1}")
            index += 1
        elif layer.name in top:
            converter = _fc1_converter(model) if layer.name == "fc1" else None
            assigner.add(layer, top[layer.name], converter)
        elif layer.weights:
            raise StateDictError(f"the zoo's layer {layer.name!r} has no torchvision name.")
    assigner.assign()
