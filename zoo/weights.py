"""The one place weights are resolved and loaded.

``weights`` is one of:

- ``None``: random initialization;
- ``"imagenet"``: the ImageNet weights of a ``keras.applications`` model,
  fetched by Keras' own download and cache (``$KERAS_HOME/models``, by
  default ``~/.keras/models``); offline, the error names the file that is
  missing and where to put it. For the zoo's own architectures that have
  published weights (``vgg16``, ``vgg19``, ``resnet50/101/152`` with
  ``stride_on="1x1"``), ``"imagenet"`` or ``"imagenet:keras"`` loads the
  ``keras.applications`` files through `zoo.bridge` (same cache, URL and hash);
  ``"imagenet:torchvision"`` (``-v1``/``-v2``) torchvision's files for ``resnet18..152``
  (v1.5, the default ``stride_on="3x3"``), ``vgg11..19`` and ``vgg11_bn..vgg19_bn``; plain
  ``"imagenet"`` is the first of the two that fits the model's options
  (`zoo.bridge.imagenet`);
- the path of a local file: a Keras weights file (``*.weights.h5``; a
  legacy ``*.h5`` weights file for a ``keras.applications`` model, or one of
  the published ``keras.applications`` ImageNet files for the zoo's
  architectures above, mapped by `zoo.bridge.keras_h5`), a torchvision ``.pth`` or
  timm ``model.safetensors`` file (`zoo.bridge.imagenet.load_torch_file`), or a
  ``.keras`` model, loaded with ``safe_mode=True``, whose weights are copied
  layer by layer (by name, so a model with its top fits a backbone without);
- the name of a checkpoint in ``saved_models/`` (``zoo.pretrained``), whose
  files are checked against their sha256 before loading.

Example:

```python
model = zoo.build_model("lenet5", include_top=False, weights="lenet5-mnist")
backbone = build_keras_application("MobileNetV2", weights="imagenet",
                                   input_shape=(96, 96, 3))
```

The ``keras.applications`` side (its table, Keras' cache, building an
application with resolved weights) lives in `zoo.keras_applications`; its
public names stay importable from here.
"""

from __future__ import annotations

import dataclasses
import os

# The keras.applications names, importable from here as before: they live in
# zoo.keras_applications, loaded on first use (PEP 562 ``__getattr__`` below), because
# that module imports this one's errors.
_APPLICATION_NAMES = (
    "KERAS_APPLICATIONS",
    "ApplicationInfo",
    "build_keras_application",
    "is_keras_application",
    "keras_application_info",
    "keras_home",
)

__all__ = [
    "IMAGENET_SOURCES",
    "MissingWeightsError",
    "WeightsError",
    "copy_weights",
    "imagenet_preprocessing",
    "load_weights",
    "resolve",
]
__all__.extend(_APPLICATION_NAMES)


class WeightsError(ValueError):
    """Weights that cannot be found or do not fit the model."""


class MissingWeightsError(WeightsError):
    """Downloadable weights that could not be had (offline, blocked, ...).

    Attributes:
        fname: the file Keras looks for, e.g.
            ``"resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"``.
        path: where Keras' cache expects it (``$KERAS_HOME/models/<fname>``).
        origin: the URL Keras downloads it from.
    """

    def __init__(self, message: str, *, fname: str, path: str, origin: str | None):
        super().__init__(message)
        self.fname = fname
        self.path = path
        self.origin = origin


# ------------------------------------------------------------------- resolve
@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """What a ``weights`` argument names.

    Attributes:
        kind: ``"none"``, ``"imagenet"``, ``"file"`` or ``"pretrained"``.
        path: the file to load (``"file"``: the path given; ``"pretrained"``:
            the checkpoint's ``model.keras``), else None.
        name: the checkpoint name for ``"pretrained"``, else None.
        source: for ``"imagenet"``, the source asked for (``"keras"`` in
            ``"imagenet:keras"``), else None (the first there is).
    """

    kind: str
    path: str | None = None
    name: str | None = None
    source: str | None = None


#: The sources ``weights="imagenet:<source>"`` may name for the zoo's own architectures.
IMAGENET_SOURCES = ("keras", "torchvision", "torchvision-v1", "torchvision-v2")


def resolve(weights, *, root=None) -> ResolvedWeights:
    """Says what ``weights`` names, without loading anything.

    Args:
        weights: None, ``"imagenet"``, a file path or a checkpoint name.
        root: the saved-models folder (default: `zoo.pretrained.saved_models_root`).

    Raises:
        WeightsError: for a string that is neither an existing file nor a
            checkpoint, listing the checkpoints there are.
    """
    if weights is None:
        return ResolvedWeights("none")
    if isinstance(weights, str) and weights.lower() == "imagenet":
        return ResolvedWeights("imagenet")
    if isinstance(weights, str) and weights.lower().startswith("imagenet:"):
        source = weights.split(":", 1)[1].lower()
        if source not in IMAGENET_SOURCES:
            raise WeightsError(
                f"Unknown ImageNet weight source {source!r} in weights={weights!r}; "
                f"expected one of {', '.join(f'imagenet:{s}' for s in IMAGENET_SOURCES)}."
            )
        return ResolvedWeights("imagenet", source=source)
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(
            f"weights must be None, 'imagenet', a file path or a checkpoint name; "
            f"received {type(weights).__name__}."
        )
    path = os.fspath(weights)
    if os.path.isfile(path):
        return ResolvedWeights("file", path=path)
    from zoo import pretrained

    if pretrained.is_valid_name(path) and pretrained.exists(path, root=root):
        return ResolvedWeights("pretrained", path=pretrained.model_path(path, root=root), name=path)
    names = pretrained.list_pretrained(root=root)
    shown = ", ".join(map(repr, names)) if names else "none"
    raise WeightsError(
        f"Weights {path!r} not found: it is neither a file nor a checkpoint in "
        f"{pretrained.saved_models_root(root)} (checkpoints there: {shown}). Pass "
        f"weights=None for random initialization, 'imagenet' for a keras.applications "
        f"model, the path of a '.weights.h5'/'.keras' file, or a checkpoint name."
    )


# ---------------------------------------------------------------------- load
def load_weights(model, weights, *, root=None) -> None:
    """Loads ``weights`` into a built zoo ``model`` in place.

    A ``.keras`` file or checkpoint is copied layer by layer, by name: every
    layer of ``model`` that has weights must exist in the source with the
    same weight shapes; source layers ``model`` lacks (a classifier top) are
    ignored. If no layer names match at all, the weights are copied in order
    when the shapes agree.

    Raises:
        WeightsError: when the weights are missing, of an unsupported kind,
            do not match the architecture, or are ``"imagenet"`` (the zoo's
            architectures ship no ImageNet weights).
    """
    resolved = resolve(weights, root=root)
    if resolved.kind == "none":
        return
    if resolved.kind == "imagenet":
        from zoo.bridge.imagenet import load_imagenet

        load_imagenet(model, resolved.source)
        return
    if resolved.kind == "pretrained":
        from zoo import pretrained

        copy_weights(
            pretrained.load_pretrained(resolved.name, root=root), model, label=resolved.name
        )
        return
    path = resolved.path
    lower = path.lower()
    if lower.endswith(".weights.h5"):
        try:
            model.load_weights(path)
        except (ValueError, KeyError) as err:
            raise WeightsError(f"{path!r} does not fit model {model.name!r}: {err}") from err
        except OSError as err:  # truncated or not HDF5: h5py's message names no file
            raise WeightsError(f"{path!r} cannot be read as a weights file: {err}") from None
        return
    if lower.endswith(".keras"):
        from zoo.saving import load_model

        copy_weights(load_model(path), model, label=path)
        return
    if lower.endswith((".h5", ".hdf5")):
        from zoo.bridge.keras_h5 import load_keras_h5

        load_keras_h5(model, path)
        return
    if lower.endswith((".pth", ".pt", ".bin", ".safetensors")):
        from zoo.bridge.imagenet import load_torch_file

        load_torch_file(model, path)
        return
    raise WeightsError(
        f"Unsupported weights file {path!r}: expected a '.weights.h5' file, a '.keras' model, "
        f"a published keras.applications '.h5' or torchvision '.pth' ImageNet file, or timm's "
        f"'.safetensors'."
    )


def imagenet_preprocessing(arch: str, weights, options: dict | None = None) -> str | None:
    """The preprocessing mode (`zoo.training.preprocess`) ImageNet ``weights`` of ``arch`` need.

    ``"caffe"`` (BGR, ImageNet mean subtracted) for the ``keras.applications`` files,
    ``"torch"`` (RGB / 255, ImageNet mean and std) for torchvision's and timm's, whether
    named as ``"imagenet[:source]"`` (resolved against ``options``, the model's, defaults
    filled in: `zoo.bridge.imagenet.choose_source`) or by a file path; None for other
    weights (the zoo's default applies) and for ImageNet weights that do not exist.
    """
    from zoo.bridge.imagenet import full_options, source_for_weights

    try:
        source = source_for_weights(arch, weights, full_options(arch, dict(options or {})))
    except (WeightsError, KeyError, ValueError):
        return None
    return None if source is None else source.preprocessing


def resolve_is_imagenet(weights) -> bool:
    """Whether ``weights`` is ``"imagenet"`` or ``"imagenet:<source>"``."""
    return isinstance(weights, str) and (
        weights.lower() == "imagenet" or weights.lower().startswith("imagenet:")
    )


def copy_weights(source, target, *, label: str | None = None) -> None:
    """Copies weights from ``source`` into ``target`` by layer name (see `load_weights`).

    Raises:
        WeightsError: when a layer of ``target`` is missing from ``source`` or
            its weight shapes differ.
    """
    label = label or getattr(source, "name", "source")
    by_name = {layer.name: layer for layer in _flat_layers(source)}
    targets = [layer for layer in _flat_layers(target) if layer.weights]
    if targets and not any(layer.name in by_name for layer in targets):
        src, dst = source.weights, target.weights
        if [tuple(w.shape) for w in src] != [tuple(w.shape) for w in dst]:
            raise WeightsError(
                f"{label!r} holds a model whose weights do not match {target.name!r}: no "
                f"layer names in common and {len(src)} vs {len(dst)} weight tensors."
            )
        for s, d in zip(src, dst, strict=False):
            d.assign(s)
        return
    pairs = []
    for layer in targets:
        other = by_name.get(layer.name)
        if other is None:
            raise WeightsError(
                f"{label!r} does not fit {target.name!r}: it has no layer {layer.name!r}."
            )
        theirs = [tuple(w.shape) for w in other.weights]
        ours = [tuple(w.shape) for w in layer.weights]
        if theirs != ours:
            raise WeightsError(
                f"{label!r} does not fit {target.name!r}: layer {layer.name!r} has weights "
                f"{theirs} there and {ours} here (a different input size, width or class count?)."
            )
        pairs.append((layer, other))
    for layer, other in pairs:
        for d, s in zip(layer.weights, other.weights, strict=False):
            d.assign(s)


def _flat_layers(model):
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.weights:
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


def __getattr__(name: str):
    if name in _APPLICATION_NAMES:
        from zoo import keras_applications

        return getattr(keras_applications, name)
    raise AttributeError(f"module 'zoo.weights' has no attribute {name!r}")
