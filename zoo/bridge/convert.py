"""Converting published ImageNet weight files into zoo weights files, and listing them.

`convert` reads a ``keras.applications`` ``.h5`` file (``vgg16_weights_tf_dim_ordering_tf_kernels
[_notop].h5``, ...), a torchvision ``.pth`` (``resnet50-11ad3fa6.pth``, ...) or timm's
``model.safetensors`` (``--arch`` needed: the name does not say), builds the zoo architecture it
fits with the options the weights need, loads it through `zoo.bridge.keras_h5` /
`zoo.bridge.imagenet` and writes ``model.save_weights(OUT)`` plus a manifest beside it (``OUT``
with ``.json`` for ``.h5``). `available_weights` lists every architecture x
source the bridge supports and whether each file is in Keras' cache (``$KERAS_HOME/models``).
"""

from __future__ import annotations

import json
import math
import os

from zoo.bridge.mapping import KERAS_SOURCES, KerasSource, keras_source, zoo_layer_names
from zoo.saved_models import sha256_file
from zoo.weights import WeightsError

__all__ = ["available_weights", "convert", "manifest_path", "source_of_file"]

#: The number of classes of an ImageNet classifier top.
IMAGENET_CLASSES = 1000

#: ImageNet top-1 (%) of the keras.applications weights as Keras publishes them
#: (https://keras.io/api/applications/, "Available models").
KERAS_TOP1 = {"vgg16": 71.3, "vgg19": 71.3, "resnet50": 74.9, "resnet101": 76.4, "resnet152": 76.6}


def manifest_path(out) -> str:
    """``vgg16.weights.h5`` -> ``vgg16.weights.json``."""
    out = os.fspath(out)
    return out[: -len(".h5")] + ".json"


def source_of_file(path) -> KerasSource:
    """The `KerasSource` whose published file name ``path`` has.

    Raises:
        WeightsError: naming ``path``, when its name is none of the published ones.
    """
    name = os.path.basename(os.fspath(path)).lower()
    for source in KERAS_SOURCES.values():
        if name in (source.fname(True), source.fname(False)):
            return source
    known = ", ".join(s.fname(True) for s in KERAS_SOURCES.values())
    raise WeightsError(
        f"{os.fspath(path)!r}: cannot tell the architecture from the file name (the published "
        f"names are {known}, and '_notop' variants); give it with --arch / arch=."
    )


def _build_options(source: KerasSource, layers: dict) -> dict:
    """The zoo options for the file: the source's, ``include_top`` as the file has it, and
    (VGG with a top) the input size its first dense layer was made for."""
    names = zoo_layer_names(source.arch, layers)
    mapped = {names[n]: arrays for n, arrays in layers.items()}
    include_top = any(t in mapped for t in source.top_layers)
    options = {**dict(source.options), "include_top": include_top}
    if include_top and "fc1" in mapped:  # flatten of a (s/32, s/32, 512) map
        side = math.isqrt(int(mapped["fc1"][0].shape[0]) // 512)
        options["input_shape"] = (side * 32, side * 32, 3)
    return options


def convert(src, out, *, arch: str | None = None, progress: bool | None = None) -> dict:
    """Converts a published ImageNet weights file into a zoo weights file.

    Args:
        src: the published file: keras.applications ``.h5``, torchvision ``.pth`` or timm
            ``.safetensors`` (architecture from its name unless ``arch`` is given).
        out: the zoo weights file to write, ending in ``.weights.h5``; its manifest
            (`manifest_path`) is written beside it. Both are written atomically.
        arch: the zoo architecture (``vgg16``, ``resnet50``, ``vgg16_bn``, ``resnet18``...).
        progress: count the three steps (read and map the weights, hash the source, write)
            on stderr; None: when stderr is a terminal.

    Returns:
        The manifest: ``source``, ``url``, ``sha256`` (of ``src``), ``architecture``,
        ``options`` (load back with ``zoo.build_model(architecture, **options,
        weights=out)``), ``preprocessing``, ``include_top``, ``num_classes`` (with a top).

    Raises:
        WeightsError: one line naming ``src``: missing, not HDF5, of unknown name, or
            for another architecture; or naming ``out`` when it does not end in
            ``.weights.h5``.
    """
    src, out = os.fspath(src), os.fspath(out)
    if not out.endswith(".weights.h5"):
        raise WeightsError(f"{out!r}: a zoo weights file must end in '.weights.h5'.")
    if not os.path.isfile(src):
        raise WeightsError(f"{src!r} does not exist or is not a file.")
    from zoo.bridge.torch_files import is_torch_weights_file
    from zoo.data.progress import Progress

    steps = Progress("converting", 3, unit="steps", enabled=progress)
    model, manifest = (_from_torch if is_torch_weights_file(src) else _from_keras)(src, arch)
    steps.update()
    manifest = {"source": os.path.basename(src), **manifest, "sha256": sha256_file(src)}
    if manifest["include_top"]:
        manifest["num_classes"] = IMAGENET_CLASSES
    steps.update()
    _write(model, out, manifest)
    steps.update()
    steps.close()
    return manifest


def _jsonable(options: dict) -> dict:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()}


def _write(model, out: str, manifest: dict) -> None:
    from zoo.saving import atomic_write, write_text_atomic

    atomic_write(out, model.save_weights, suffix=".weights.h5")
    write_text_atomic(manifest_path(out), json.dumps(manifest, indent=2) + "\n")


def _from_keras(src: str, arch: str | None):
    """``(model, manifest)`` of a keras.applications ``.h5`` file."""
    import zoo
    from zoo.bridge.keras_h5 import read_keras_h5

    source = keras_source(arch) if arch else source_of_file(src)
    if source is None:
        raise WeightsError(
            f"{src!r}: there are no keras.applications weights for the zoo's {arch!r} "
            f"(there are for {', '.join(sorted(KERAS_SOURCES))})."
        )
    options = _build_options(source, read_keras_h5(src))
    model = zoo.build_model(source.arch, weights=src, **options)
    include_top = options["include_top"]
    return model, {
        "source_kind": "keras.applications",
        "url": source.origin(include_top),
        "architecture": source.arch,
        "options": _jsonable(options),
        "preprocessing": source.preprocessing,
        "include_top": include_top,
    }


def _from_torch(src: str, arch: str | None):
    """``(model, manifest)`` of a torchvision ``.pth`` or timm ``.safetensors`` file."""
    import zoo
    from zoo.bridge.imagenet import assign_state, full_options, source_for_weights
    from zoo.bridge.torch_files import read_state_dict
    from zoo.bridge.torchvision import TorchSource, source_of_torch_file

    named = source_of_torch_file(src)
    arch = arch or (named.arch if named else None)
    if arch is None:
        raise WeightsError(
            f"{src!r}: cannot tell the architecture from the file name (torchvision's are like "
            f"resnet50-11ad3fa6.pth; timm's are all model.safetensors); give it with --arch / "
            f"arch=."
        )
    source = source_for_weights(arch, src, full_options(arch, {}))
    if not isinstance(source, TorchSource):
        raise WeightsError(f"{src!r}: there are no torchvision weights for the zoo's {arch!r}.")
    state = read_state_dict(src)
    include_top = any(k.startswith(("fc.", "classifier.", "head.fc.")) for k in state)
    options = {**dict(source.options), "include_top": include_top}
    model = zoo.build_model(source.arch, **options)
    assign_state(model, state, source, src)
    published = named is not None and named.arch == source.arch
    return model, {
        "source_kind": "torchvision" if src.lower().endswith(".pth") else "safetensors",
        "url": source.url if published else None,
        "architecture": source.arch,
        "options": _jsonable(options),
        "preprocessing": source.preprocessing,
        "include_top": include_top,
        **({"top1": source.top1, "citation": source.citation} if published else {}),
    }


def available_weights() -> list[dict]:
    """Every architecture x ImageNet source the bridge supports, one dict each.

    Keys: ``arch``, ``source`` (``"keras.applications"``, ``"torchvision-v1"``...),
    ``file`` (the published file name; ``[_notop]`` marks keras' two files), ``preprocessing``,
    ``options`` (what the weights need), ``top1`` (ImageNet top-1 % as the source publishes
    it), ``cached`` (``"top"``, ``"notop"``, ``"top+notop"``, ``"yes"`` or ``"no"``:
    in ``$KERAS_HOME/models``); keras rows also ``top``/``notop`` (file names) and
    ``cached_top``/``cached_notop``. keras.applications rows first, then torchvision's.
    """
    from zoo.bridge.torchvision import TORCH_SOURCES
    from zoo.keras_applications import keras_home

    models = os.path.join(keras_home(), "models")
    rows = []
    for arch in sorted(KERAS_SOURCES, key=_arch_order):
        source = KERAS_SOURCES[arch]
        top, notop = source.fname(True), source.fname(False)
        cached = {
            k: os.path.isfile(os.path.join(models, f)) for k, f in (("top", top), ("notop", notop))
        }
        rows.append(
            {
                "arch": arch,
                "source": "keras.applications",
                "file": top[: -len(".h5")] + "[_notop].h5",
                "top": top,
                "notop": notop,
                "preprocessing": source.preprocessing,
                "options": dict(source.options),
                "top1": KERAS_TOP1.get(arch),
                "cached": "+".join(k for k in ("top", "notop") if cached[k]) or "no",
                "cached_top": cached["top"],
                "cached_notop": cached["notop"],
            }
        )
    for source in sorted(TORCH_SOURCES, key=lambda s: (_arch_order(s.arch), not s.default)):
        rows.append(
            {
                "arch": source.arch,
                "source": source.name + (" (default)" if source.default else ""),
                "file": source.fname,
                "preprocessing": source.preprocessing,
                "options": dict(source.options),
                "top1": source.top1,
                "cached": "yes" if os.path.isfile(os.path.join(models, source.fname)) else "no",
            }
        )
    return rows


def _arch_order(arch: str):
    stem = arch.split("_")[0]
    return (stem.rstrip("0123456789"), len(stem), arch)
