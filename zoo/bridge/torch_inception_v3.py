"""torchvision's ``inception_v3`` state dicts in the zoo's Inception v3.

torchvision's model is the zoo's with ``bn_scale=True`` (its ``BasicConv2d`` has a
BatchNorm with a scale, epsilon 1e-3) and ``pool_include_pad=True`` (its branch pools
are ``avg_pool2d(3, 1, padding=1)``, counting the zeros); its auxiliary head
(``AuxLogits``) is the zoo's ``aux_logits=True`` head. The published weights are
Google's, ported with ``transform_input=True``: the model takes inputs normalized
with the ImageNet mean and std and turns them back into ``x / 127.5 - 1``, so the zoo
model, which has no such layer, takes the ``"tf"`` preprocessing (scaled to [-1, 1])
and computes the same function. `TORCHVISION_ENTRIES` is the published file for the
weight-source table; `assign_inception_v3` copies a torch-layout state dict
(NumPy arrays, as a ``.pth`` reader returns them) into a zoo model.

Importing this module imports neither Keras nor torch.
"""

from __future__ import annotations

import re

import numpy as np

from zoo.bridge.mapping import shape_mismatch
from zoo.weights import WeightsError

__all__ = ["TORCHVISION_ENTRIES", "assign_inception_v3", "zoo_name"]

#: torchvision's ``Inception_V3_Weights.IMAGENET1K_V1`` (top-1/top-5 as its model card gives them).
TORCHVISION_ENTRIES = [
    {
        "arch": "inception_v3",
        "url": "https://download.pytorch.org/models/inception_v3_google-0cc3c7bd.pth",
        "fname": "inception_v3_google-0cc3c7bd.pth",
        "sha256_prefix": "0cc3c7bd",
        "top1": 77.294,
        "top5": 93.45,
        "options": {"bn_scale": True, "pool_include_pad": True},
        "preprocessing": "tf",
    }
]

_STEM = re.compile(r"^Conv2d_(\d[a-z])_\w+$")
_MIXED = re.compile(r"^Mixed_(\d[a-z])\.branch_?(\w+)$")
_FIXED = {
    "AuxLogits.conv0": "aux_conv1",
    "AuxLogits.conv1": "aux_conv2",
    "AuxLogits.fc": "aux",
    "fc": "predictions",
}


def zoo_name(module: str) -> str | None:
    """The zoo layer of torchvision module ``module`` (``Mixed_5b.branch5x5_1`` ->
    ``mixed_5b_5x5_1``, ``branch_pool`` -> ``pool_proj``), or None for an unknown one."""
    if module in _FIXED:
        return _FIXED[module]
    m = _STEM.match(module)
    if m:
        return f"conv_{m.group(1)}"
    m = _MIXED.match(module)
    if m:
        branch = "pool_proj" if m.group(2) == "pool" else m.group(2)
        return f"mixed_{m.group(1)}_{branch}"
    return None


def _layer_arrays(state: dict) -> dict[str, list]:
    """``{zoo layer: [arrays in Keras' order]}`` from a torchvision state dict."""
    groups: dict[str, dict] = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            continue
        module, _, leaf = key.rpartition(".")
        bn = module.endswith(".bn")
        if module.endswith((".conv", ".bn")):
            module = module.rsplit(".", 1)[0]
        name = zoo_name(module)
        if name is None:
            raise WeightsError(f"unknown torchvision inception_v3 key {key!r}")
        groups.setdefault(f"{name}_bn" if bn else name, {})[leaf] = np.asarray(value)
    out = {}
    for name, g in groups.items():
        if "running_mean" in g:
            out[name] = [g["weight"], g["bias"], g["running_mean"], g["running_var"]]
        elif g["weight"].ndim == 4:  # (out, in, kh, kw) -> (kh, kw, in, out)
            out[name] = [np.transpose(g["weight"], (2, 3, 1, 0))] + (
                [g["bias"]] if "bias" in g else []
            )
        else:  # Linear (out, in) -> Dense (in, out)
            out[name] = [g["weight"].T, g["bias"]]
    return out


def assign_inception_v3(model, state: dict, *, label: str = "state dict") -> None:
    """Copies torchvision ``inception_v3`` weights (NumPy, torch layout) into zoo ``model``.

    ``model`` must be built with ``bn_scale=True`` (torchvision's BatchNorm has a scale);
    for torchvision's function also ``pool_include_pad=True``. The classifier
    (``fc``) is skipped for a model without a top, the auxiliary head
    (``AuxLogits``) for one without ``aux_logits``.

    Raises:
        WeightsError: one line naming ``label``: a key of another architecture, a
            layer of ``model`` the state does not fill, or unfitting shapes.
    """
    arrays = _layer_arrays(state)
    layers = {layer.name: layer for layer in model.layers if layer.weights}
    optional = {"predictions", "aux", "aux_conv1", "aux_conv1_bn", "aux_conv2", "aux_conv2_bn"}
    missing = sorted(set(layers) - set(arrays))
    extra = sorted(set(arrays) - set(layers) - optional)
    if missing or extra:
        raise WeightsError(
            f"{label} does not fit the zoo's inception_v3 ({model.name!r}): layers without "
            f"weights there {missing[:3]}, weights for layers it lacks {extra[:3]} (bn_scale=True "
            f"is needed for torchvision's BatchNorm scales)."
        )
    mismatch = shape_mismatch((layer, arrays[name]) for name, layer in layers.items())
    if mismatch:
        layer, theirs, ours = mismatch
        raise WeightsError(
            f"{label} does not fit {model.name!r}: layer {layer.name!r} has weights {theirs} "
            f"there and {ours} here (built without bn_scale=True, torchvision's BatchNorm "
            f"scales, or for another class count?)."
        )
    for name, layer in layers.items():
        for variable, value in zip(layer.weights, arrays[name], strict=True):
            variable.assign(value)
