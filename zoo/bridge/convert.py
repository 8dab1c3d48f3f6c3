"""Converting published ImageNet weight files into zoo weights files, and listing them.

`convert` reads a ``keras.applications`` ``.h5`` file (``vgg16_weights_tf_dim_ordering_tf_kernels
[_notop].h5``, ...), builds the zoo architecture it fits with the options the weights need,
loads it through `zoo.bridge.keras_h5` and writes ``model.save_weights(OUT)`` plus a manifest
beside it (``OUT`` with ``.json`` for ``.h5``). `available_weights` lists every architecture x
source the bridge supports and whether each file is in Keras' cache (``$KERAS_HOME/models``).
"""

from __future__ import annotations

import hashlib
import json
import math
import os

from zoo.bridge.mapping import KERAS_SOURCES, KerasSource, keras_source, zoo_layer_names
from zoo.weights import WeightsError

__all__ = ["available_weights", "convert", "manifest_path", "source_of_file"]

#: The number of classes of an ImageNet classifier top.
IMAGENET_CLASSES = 1000


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


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def convert(src, out, *, arch: str | None = None) -> dict:
    """Converts a published ``keras.applications`` ``.h5`` file into a zoo weights file.

    Args:
        src: the published file (architecture from its name unless ``arch`` is given).
        out: the zoo weights file to write, ending in ``.weights.h5``; its manifest
            (`manifest_path`) is written beside it. Both are written atomically.
        arch: the zoo architecture (``vgg16``, ``vgg19``, ``resnet50/101/152``).

    Returns:
        The manifest: ``source``, ``url``, ``sha256`` (of ``src``), ``architecture``,
        ``options`` (load back with ``zoo.build_model(architecture, **options,
        weights=out)``), ``preprocessing``, ``include_top``, ``num_classes`` (with a top).

    Raises:
        WeightsError: one line naming ``src``: missing, not HDF5, of unknown name, or
            for another architecture; or naming ``out`` when it does not end in
            ``.weights.h5``.
    """
    import zoo
    from zoo.bridge.keras_h5 import read_keras_h5
    from zoo.saving import atomic_write, write_text_atomic

    src, out = os.fspath(src), os.fspath(out)
    if not out.endswith(".weights.h5"):
        raise WeightsError(f"{out!r}: a zoo weights file must end in '.weights.h5'.")
    if not os.path.isfile(src):
        raise WeightsError(f"{src!r} does not exist or is not a file.")
    source = keras_source(arch) if arch else source_of_file(src)
    if source is None:
        raise WeightsError(
            f"{src!r}: there are no keras.applications weights for the zoo's {arch!r} "
            f"(there are for {', '.join(sorted(KERAS_SOURCES))})."
        )
    options = _build_options(source, read_keras_h5(src))
    model = zoo.build_model(source.arch, weights=src, **options)
    include_top = options["include_top"]
    manifest = {
        "source": os.path.basename(src),
        "source_kind": "keras.applications",
        "url": source.origin(include_top),
        "sha256": _sha256(src),
        "architecture": source.arch,
        "options": {k: list(v) if isinstance(v, tuple) else v for k, v in options.items()},
        "preprocessing": source.preprocessing,
        "include_top": include_top,
    }
    if include_top:
        manifest["num_classes"] = IMAGENET_CLASSES
    atomic_write(out, model.save_weights, suffix=".weights.h5")
    write_text_atomic(manifest_path(out), json.dumps(manifest, indent=2) + "\n")
    return manifest


def available_weights() -> list[dict]:
    """Every architecture x ImageNet source the bridge supports, one dict each.

    Keys: ``arch``, ``source`` (``"keras.applications"``), ``top`` and ``notop`` (the
    published file names), ``preprocessing``, ``options`` (what the weights need),
    ``cached_top`` / ``cached_notop`` (whether the file is in ``$KERAS_HOME/models``).
    """
    from zoo.keras_applications import keras_home

    models = os.path.join(keras_home(), "models")
    rows = []
    for arch in sorted(KERAS_SOURCES, key=lambda a: (a.rstrip("0123456789"), len(a), a)):
        source = KERAS_SOURCES[arch]
        top, notop = source.fname(True), source.fname(False)
        rows.append(
            {
                "arch": arch,
                "source": "keras.applications",
                "top": top,
                "notop": notop,
                "preprocessing": source.preprocessing,
                "options": dict(source.options),
                "cached_top": os.path.isfile(os.path.join(models, top)),
                "cached_notop": os.path.isfile(os.path.join(models, notop)),
            }
        )
    return rows
