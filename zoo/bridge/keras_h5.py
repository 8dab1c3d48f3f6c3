"""Loading ``keras.applications`` ImageNet weight files into the zoo's own architectures.

The published files (``vgg16_weights_tf_dim_ordering_tf_kernels.h5``,
``resnet50_..._notop.h5``, ...) are Keras-2 HDF5 weight files: the root
lists ``layer_names``; each layer's group lists ``weight_names`` (e.g.
``conv1_conv/kernel:0``) in the layer's weight order. They are read with
h5py, their layer names mapped onto the zoo's (`zoo.bridge.mapping`), and the
values converted where the architectures differ in form but not in function:

- conv biases where the zoo's conv has none (ResNets: the bias sits before a
  BatchNorm) are folded into that BatchNorm: ``moving_mean -= bias``. Exact
  in inference; in training mode the batch mean absorbs the bias, so it is
  exact there too;
- BatchNorm epsilon: ``keras.applications`` ResNets use 1.001e-5, the zoo
  1e-5; ``moving_variance += 1.001e-5 - 1e-5`` makes ``var + eps`` equal, so
  inference is exact. The model's epsilon stays the zoo's (an option would
  change every ResNet's recorded options for a 1e-8 shift): in training mode
  the batch variance differs by 1e-8, a relative change of ``5e-9 / var``
  (measured in float64 on a random-weight ResNet-101 at 65x65: 1e-15 of the
  output scale in inference, 3e-6 in training mode);
- a model with other than 3 input channels gets the RGB input conv adapted as
  timm's ``adapt_input_conv`` does (1 channel: summed over RGB).
"""

from __future__ import annotations

import hashlib
import os

import numpy as np

from zoo.bridge.mapping import (
    KerasSource,
    check_options,
    keras_source,
    shape_mismatch,
    zoo_layer_names,
)
from zoo.weights import MissingWeightsError, WeightsError

__all__ = ["imagenet_file", "load_keras_h5", "read_keras_h5"]


def _strings(values) -> list[str]:
    return [v.decode("utf8") if isinstance(v, bytes) else str(v) for v in values]


def _attribute(group, name: str) -> list[str]:
    """A string-list attribute, also when Keras split it into ``name0``, ``name1``..."""
    if name in group.attrs:
        return _strings(group.attrs[name])
    out, k = [], 0
    while f"{name}{k}" in group.attrs:
        out += _strings(group.attrs[f"{name}{k}"])
        k += 1
    return out


def read_keras_h5(path) -> dict[str, list[np.ndarray]]:
    """``{layer name: [arrays in weight_names order]}`` of a Keras-2 HDF5 weights file.

    Layers without weights are left out.

    Raises:
        WeightsError: naming ``path``, for a file that is not HDF5, is
            truncated or corrupted, or is not in the Keras-2 weights layout.
    """
    import h5py

    path = os.fspath(path)
    try:
        with h5py.File(path, "r") as f:
            root = (
                f["model_weights"] if "layer_names" not in f.attrs and "model_weights" in f else f
            )
            names = _attribute(root, "layer_names")
            if not names:
                raise WeightsError(
                    f"{path!r} is not a Keras HDF5 weights file: it has no 'layer_names' attribute."
                )
            out = {}
            for name in names:
                group = root[name]
                weights = _attribute(group, "weight_names")
                if weights:
                    out[name] = [np.asarray(group[w]) for w in weights]
            return out
    except (OSError, KeyError, ValueError, RuntimeError) as err:
        if isinstance(err, WeightsError):
            raise
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(
            f"{path!r} cannot be read as a Keras HDF5 weights file (corrupted or truncated? "
            f"{detail}); delete it and download it again."
        ) from None


def _mapped_layers(layers: dict, model, source: KerasSource, path: str) -> dict:
    """The file's layers under the zoo's names, checked against the model's layers."""
    ours = {layer.name for layer in model.layers if layer.weights}
    names = zoo_layer_names(source.arch, layers)
    mapped = {names[name]: arrays for name, arrays in layers.items()}
    model_top = any(t in ours for t in source.top_layers)
    if model_top and not any(t in mapped for t in source.top_layers):
        raise WeightsError(
            f"{path!r} has no classifier (a '_notop' file) but the model has one: build it "
            f"with include_top=False, or use {source.fname(True)}."
        )
    if not model_top:
        mapped = {k: v for k, v in mapped.items() if k not in source.top_layers}
    extra = sorted(set(mapped) - ours)
    missing = sorted(ours - set(mapped))
    if extra or missing:
        what = f"layers the model lacks ({_few(extra)})" if extra else ""
        what += (" and " if extra and missing else "") + (
            f"no weights for its layers {_few(missing)}" if missing else ""
        )
        raise WeightsError(
            f"{path!r} does not fit the zoo's {source.arch} ({model.name!r}): the file has "
            f"{what}. Is it a file for another architecture? Expected "
            f"{source.fname(model_top)}."
        )
    return mapped


def _few(names) -> str:
    shown = ", ".join(names[:3])
    return shown + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _convert(model, mapped: dict, source: KerasSource) -> list:
    """``[(layer, [arrays])]`` in the zoo's weight order, biases folded, epsilons matched, the
    input conv adapted to the model's channels (`zoo.bridge.torch_map.adapt_input_conv`)."""
    import keras

    from zoo.bridge.torch_map import adapt_input_conv

    folded: dict[str, np.ndarray] = {}
    out = []
    for layer in model.layers:
        if layer.name not in mapped:
            continue
        arrays = [np.asarray(a) for a in mapped[layer.name]]
        if isinstance(layer, keras.layers.Conv2D) and arrays[0].shape[2] == 3:  # the input conv
            arrays[0] = adapt_input_conv(arrays[0], int(layer.kernel.shape[2]))
        if isinstance(layer, keras.layers.Conv2D) and not layer.use_bias and len(arrays) == 2:
            folded[f"{layer.name}_bn"] = arrays.pop()
        elif isinstance(layer, keras.layers.BatchNormalization) and len(arrays) == 4:
            gamma, beta, mean, var = arrays
            mean = mean - folded.pop(layer.name, 0.0)
            if source.bn_epsilon is not None:
                var = var + (source.bn_epsilon - layer.epsilon)
            arrays = [gamma, beta, mean, var]
        out.append((layer, arrays))
    if folded:
        raise WeightsError(
            f"conv biases of {sorted(folded)[:3]} have no BatchNorm to fold into in {model.name!r}."
        )
    return out


def load_keras_h5(model, path, *, arch: str | None = None) -> None:
    """Loads a ``keras.applications`` weights file into a zoo ``model`` in place.

    Args:
        model: built by ``zoo.build_model`` (its ``zoo_model`` names the
            architecture, its ``zoo_options`` are checked against the file's needs).
        path: the ``.h5`` file (e.g. ``resnet50_weights_tf_dim_ordering_tf_kernels.h5``).
        arch: the zoo architecture; default ``model.zoo_model``.

    Raises:
        WeightsError: one line naming ``path``: unreadable file, an
            architecture or option the file does not fit, unfitting shapes.
    """
    path = os.fspath(path)
    arch = arch or getattr(model, "zoo_model", None) or model.name
    source = keras_source(arch)
    if source is None:
        raise WeightsError(
            f"{path!r}: there are no keras.applications weights for the zoo's {arch!r} "
            f"(there are for {', '.join(_known())})."
        )
    check_options(model, source, path)
    mapped = _mapped_layers(read_keras_h5(path), model, source, path)
    pairs = _convert(model, mapped, source)
    mismatch = shape_mismatch(pairs)
    if mismatch:
        layer, theirs, ours = mismatch
        raise WeightsError(
            f"{path!r} does not fit {model.name!r}: layer {layer.name!r} has weights "
            f"{theirs} there and {ours} here (another input size under the classifier, "
            f"class count or input channels?)."
        )
    for layer, arrays in pairs:
        for variable, value in zip(layer.weights, arrays, strict=True):
            variable.assign(value)


def _known() -> list[str]:
    from zoo.bridge.mapping import KERAS_SOURCES

    return sorted(KERAS_SOURCES)


def _file_hash(path: str, expected: str) -> str:
    digest = hashlib.sha256() if len(expected) == 64 else hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def imagenet_file(arch: str, include_top: bool) -> str:
    """The cached ``keras.applications`` ImageNet file of ``arch``, downloaded by Keras if absent.

    The cache is Keras' (``$KERAS_HOME/models``, KERAS_HOME defaulting to
    ``~/.keras``). A cached file is checked against the publisher's hash
    first; a missing one is fetched with ``keras.utils.get_file`` (URL and hash
    as ``keras.applications`` uses them).

    Raises:
        WeightsError: the cached file's hash differs (names the file).
        MissingWeightsError: the download failed; names the file, its URL and
            where to put it.
    """
    import keras

    from zoo.keras_applications import keras_home

    source = keras_source(arch)
    fname, origin = source.fname(include_top), source.origin(include_top)
    expected = source.file_hash(include_top)
    path = os.path.join(keras_home(), "models", fname)
    if os.path.isfile(path):
        got = _file_hash(path, expected)
        if got != expected:
            raise WeightsError(
                f"{path!r} does not have the publisher's hash ({got} instead of {expected}): "
                f"a damaged or different file. Delete it and download {origin} again."
            )
        return path
    try:
        return keras.utils.get_file(
            fname, origin, cache_subdir="models", cache_dir=keras_home(), file_hash=expected
        )
    except Exception as err:  # noqa: BLE001 (Keras raises a bare Exception when offline)
        detail = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise MissingWeightsError(
            f"The keras.applications ImageNet weights of {arch} could not be downloaded "
            f"({detail}). Missing file: {fname}. Download it from {origin} on a machine with "
            f"internet access and put it at {path} (Keras' cache, $KERAS_HOME/models; "
            f"KERAS_HOME defaults to ~/.keras), or pass its path as weights=.",
            fname=fname,
            path=path,
            origin=origin,
        ) from None
