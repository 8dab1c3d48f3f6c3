"""torchvision's AlexNet and GoogLeNet weights onto the zoo's ``alexnet_tv`` and ``googlenet_tv``.

A mapper takes a built zoo model and a torchvision state dict already read
into NumPy arrays in torch's layout (``{"features.0.weight": (O, I, H, W)
array, ...}``) and assigns every weight the model has: conv kernels OIHW ->
HWIO, dense kernels transposed, and the first dense layer after a flatten
(AlexNet's ``classifier.1``, GoogLeNet's ``aux*.fc1``) with its input rows
permuted from torch's channels-first flatten order to Keras' channels-last one.
Layers the model lacks (the top of an ``include_top=False`` model, the
auxiliary heads of a model built without them) are skipped; a key the model
needs that is missing, or of another shape, is a one-line ``ValueError``
naming the key and the layer.

`TORCHVISION_ENTRIES` lists torchvision's published files for both (URL, file
name, the sha256 prefix torchvision checks, the options and preprocessing the
weights need, the published ImageNet top-1) as plain dicts with the fields of
the bridge's ``TorchSource``. Importing this module imports no Keras.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TORCHVISION_ENTRIES", "assign_alexnet_tv", "assign_googlenet_tv"]

_TV = "https://download.pytorch.org/models/"

#: torchvision's ImageNet weights for the two variants (``torchvision.models.AlexNet_Weights``
#: and ``GoogLeNet_Weights.IMAGENET1K_V1``, torchvision 0.29); ``top1`` is its published acc@1.
TORCHVISION_ENTRIES = [
    {
        "arch": "alexnet_tv",
        "fname": "alexnet-owt-7be5be79.pth",
        "url": _TV + "alexnet-owt-7be5be79.pth",
        "sha256_prefix": "7be5be79",
        "options": {},
        "preprocessing": "torch",
        "top1": 56.522,
        "citation": "torchvision AlexNet_Weights.IMAGENET1K_V1 (Krizhevsky 2014, arXiv:1404.5997)",
        "mapper": "zoo.bridge.tv_classic:assign_alexnet_tv",
    },
    {
        "arch": "googlenet_tv",
        "fname": "googlenet-1378be20.pth",
        "url": _TV + "googlenet-1378be20.pth",
        "sha256_prefix": "1378be20",
        "options": {"transform_input": True},
        "preprocessing": "torch",
        "top1": 69.778,
        "citation": "torchvision GoogLeNet_Weights.IMAGENET1K_V1 (Szegedy et al. 2015)",
        "mapper": "zoo.bridge.tv_classic:assign_googlenet_tv",
    },
]

# AlexNet: zoo layer -> torch module prefix.
_ALEXNET = {
    "conv1": "features.0",
    "conv2": "features.3",
    "conv3": "features.6",
    "conv4": "features.8",
    "conv5": "features.10",
    "fc1": "classifier.1",
    "fc2": "classifier.4",
    "predictions": "classifier.6",
}
# GoogLeNet inception branches: zoo suffix -> torch submodule.
_BRANCHES = {
    "1x1": "branch1",
    "3x3_reduce": "branch2.0",
    "3x3": "branch2.1",
    "5x5_reduce": "branch3.0",
    "5x5": "branch3.1",
    "pool_proj": "branch4.1",
}


def _googlenet_names() -> dict[str, str]:
    """GoogLeNet: zoo conv layer -> torch BasicConv2d prefix (its ``.conv`` and ``.bn``)."""
    from zoo.models.inception import MODULES

    names = {"conv1": "conv1", "conv2_reduce": "conv2", "conv2": "conv3"}
    for key in MODULES:
        for suffix, branch in _BRANCHES.items():
            names[f"inception_{key}_{suffix}"] = f"inception{key}.{branch}"
    for aux in ("aux1", "aux2"):
        names[f"{aux}_conv"] = f"{aux}.conv"
    return names


def _get(state: dict, key: str, layer: str, shape=None) -> np.ndarray:
    if key not in state:
        raise ValueError(f"The torchvision state dict has no {key!r} (needed by layer {layer!r}).")
    value = np.asarray(state[key])
    if shape is not None and value.shape != tuple(shape):
        raise ValueError(
            f"The torchvision state dict's {key!r} has shape {value.shape}; layer {layer!r} "
            f"needs {tuple(shape)}."
        )
    return value


def _conv_kernel(state, key, layer):
    """An OIHW torch kernel as Keras' HWIO, checked against the layer's kernel shape."""
    h, w, i, o = layer.kernel.shape
    return _get(state, key, layer.name, (o, i, h, w)).transpose(2, 3, 1, 0)


def _dense_kernel(state, key, layer, spatial=None):
    """A torch (out, in) weight as Keras' (in, out); ``spatial=(H, W, C)``: CHW rows -> HWC."""
    n_in, n_out = layer.kernel.shape
    w = _get(state, key, layer.name, (n_out, n_in))
    if spatial is not None:
        h, wd, c = spatial
        w = w.reshape(n_out, c, h, wd).transpose(0, 2, 3, 1).reshape(n_out, n_in)
    return w.T


def _assign(layer, arrays) -> None:
    layer.set_weights([np.asarray(a, dtype=np.float32) for a in arrays])


def _layers(model) -> dict:
    return {layer.name: layer for layer in model.layers}


def _set_dense(state, layer, prefix, spatial=None) -> None:
    kernel = _dense_kernel(state, f"{prefix}.weight", layer, spatial)
    bias = _get(state, f"{prefix}.bias", layer.name, (kernel.shape[1],))
    _assign(layer, [kernel, bias])


def _set_bn(state, layer, prefix) -> None:
    (n,) = layer.gamma.shape
    keys = ("weight", "bias", "running_mean", "running_var")
    _assign(layer, [_get(state, f"{prefix}.{k}", layer.name, (n,)) for k in keys])


def _flatten_input_shape(model, flatten: str):
    return tuple(int(d) for d in model.get_layer(flatten).input.shape[1:])


def assign_alexnet_tv(model, state: dict[str, np.ndarray]) -> None:
    """Assigns torchvision's AlexNet state dict to a zoo ``alexnet_tv`` model.

    Args:
        model: ``zoo.build_model("alexnet_tv", ...)``, with or without the top.
        state: torchvision's ``AlexNet`` state dict as NumPy arrays (torch layout).

    Raises:
        ValueError: naming the first key the model needs that is missing or misshapen.
    """
    layers = _layers(model)
    for name, prefix in _ALEXNET.items():
        layer = layers.get(name)
        if layer is None:
            continue
        if name.startswith("conv"):
            kernel = _conv_kernel(state, f"{prefix}.weight", layer)
            _assign(layer, [kernel, _get(state, f"{prefix}.bias", name, (kernel.shape[-1],))])
        else:
            spatial = _flatten_input_shape(model, "flatten") if name == "fc1" else None
            _set_dense(state, layer, prefix, spatial)


def assign_googlenet_tv(model, state: dict[str, np.ndarray]) -> None:
    """Assigns torchvision's GoogLeNet state dict to a zoo ``googlenet_tv`` model.

    The auxiliary heads' weights (``aux1.*``, ``aux2.*``, in torchvision's
    published file) are assigned when the model has the heads and ignored
    otherwise.

    Args:
        model: ``zoo.build_model("googlenet_tv", ...)``, with or without top/aux heads.
        state: torchvision's ``GoogLeNet`` state dict as NumPy arrays (torch layout).

    Raises:
        ValueError: naming the first key the model needs that is missing or misshapen.
    """
    layers = _layers(model)
    if "conv1" in layers and layers["conv1"].use_bias:
        raise ValueError("torchvision's GoogLeNet weights need googlenet_tv with batch_norm=True.")
    for name, prefix in _googlenet_names().items():
        if name not in layers:
            continue
        _assign(layers[name], [_conv_kernel(state, f"{prefix}.conv.weight", layers[name])])
        if f"{name}_bn" in layers:
            _set_bn(state, layers[f"{name}_bn"], f"{prefix}.bn")
    for aux in ("aux1", "aux2"):
        if aux in layers:
            spatial = _flatten_input_shape(model, f"{aux}_flatten")
            _set_dense(state, layers[f"{aux}_fc"], f"{aux}.fc1", spatial)
            _set_dense(state, layers[aux], f"{aux}.fc2")
    if "predictions" in layers:
        _set_dense(state, layers["predictions"], "fc")
