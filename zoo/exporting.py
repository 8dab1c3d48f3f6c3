"""Exporting a model through Keras' own ``model.export`` (SavedModel, ONNX, TFLite).

Layering: imports `zoo.saved_models`, `zoo.saving` and `zoo.jsonio` (never a
model, training or evaluate module); Keras inside `export_model` only.

The exported file holds the network only: the scaling, padding and channel
conversion of the checkpoint's manifest are not in it. Each export therefore
writes them beside it, in ``OUT.preprocessing.json`` (`sidecar_path`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil

from zoo.saved_models import (
    check_manifest,
    checkpoint_folder,
    exists,
    is_valid_name,
    load_pretrained,
    read_manifest,
    sha256_file,
)
from zoo.saving import atomic_write, load_model

__all__ = ["EXPORT_FORMATS", "ExportError", "export_model", "sidecar_path"]

#: ``format`` of the preprocessing file written beside each export.
SIDECAR_FORMAT = "keras-zoo-export-preprocessing"

#: The defaults of ``zoo.training.preprocess.Preprocessing`` (a manifest's missing keys).
DEFAULT_PREPROCESSING = {
    "mode": "scale",
    "scale": 1.0 / 255.0,
    "offset": 0.0,
    "pad_to": None,
    "channels": None,
}


class ExportError(ValueError):
    """An export that this installation or backend cannot do."""


#: CLI format name -> Keras ``model.export`` format.
EXPORT_FORMATS = {"savedmodel": "tf_saved_model", "onnx": "onnx", "tflite": "litert"}


def _module_available(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def export_model(
    model, path, *, format: str = "savedmodel", overwrite: bool = False, root=None
) -> str:
    """Exports a model through Keras' own ``model.export`` (auxiliary outputs dropped).

    Args:
        model: a ``keras.Model``, a checkpoint name (hashes verified) or a
            ``.keras`` path (loaded with ``safe_mode=True``).
        path: output folder (``savedmodel``) or file (``onnx``, ``tflite``).
        format: ``"savedmodel"`` (TensorFlow backend), ``"onnx"`` (needs
            ``tf2onnx`` on TensorFlow, ``jax2onnx`` on JAX; ``pip install
            'keras-zoo[onnx]'``) or ``"tflite"`` (TensorFlow backend; Keras'
            ``"litert"`` format).
        overwrite: replace an existing output.
        root: saved-models folder for checkpoint names.

    Returns:
        The output path.

    Raises:
        ExportError: a format the backend or installation cannot produce
            (the message names the backend or the pip package to install).
    """
    import keras

    if format not in EXPORT_FORMATS:
        raise ExportError(
            f"Unknown export format {format!r}; expected one of {sorted(EXPORT_FORMATS)}."
        )
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise ExportError(f"{path} exists; pass overwrite=True (--force) to replace it.")
    backend = keras.backend.backend()
    if format in ("savedmodel", "tflite") and backend != "tensorflow":
        raise ExportError(
            f"Exporting to {format} needs the TensorFlow backend; the current backend is "
            f"{backend!r}. Run with KERAS_BACKEND=tensorflow."
        )
    if format == "onnx":
        needed = {
            "tensorflow": ("tf2onnx", "onnx"),
            "jax": ("jax2onnx", "onnx"),
            "torch": ("onnx",),
        }
        missing = [m for m in needed.get(backend, ()) if not _module_available(m)]
        if backend not in needed:
            raise ExportError(f"ONNX export is not available on the {backend!r} backend.")
        if missing:
            raise ExportError(
                f"ONNX export on the {backend} backend needs the {' and '.join(missing)} "
                f"package{'s' if len(missing) > 1 else ''}: pip install {' '.join(missing)} "
                f"(or pip install 'keras-zoo[onnx]')."
            )
    model, record = _load(model, root)
    if len(model.outputs) > 1 and all(n.startswith("aux") for n in model.output_names[1:]):
        # a run's GoogLeNet keeps its auxiliary heads: export the main output only
        model = keras.Model(model.inputs, model.outputs[0], name=model.name)
    _call_once(model)
    if os.path.exists(path):
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    model.export(path, format=EXPORT_FORMATS[format], verbose=False)
    _write_sidecar(path, format, record, model)
    return path


def sidecar_path(path) -> str:
    """The preprocessing file written beside an export: ``PATH.preprocessing.json``."""
    return os.fspath(path).rstrip("/\\") + ".preprocessing.json"


def _load(model, root):
    """``(keras model, record)``; the record holds the manifest's preprocessing and names."""
    if not isinstance(model, (str, os.PathLike)):
        return model, {"source": f"in-memory model {getattr(model, 'name', '')!r}"}
    source = os.fspath(model)
    if is_valid_name(source) and not os.path.exists(source):
        if not exists(source, root) and source.endswith(".keras"):
            return load_model(source), {}  # a missing file: load_model says so
        checkpoint_folder(source, root)  # absent: the close checkpoint names
        loaded = load_pretrained(source, root)  # verifies every hash first
        return loaded, dict(read_manifest(source, root), source=f"checkpoint {source!r}")
    return load_model(source), _record_beside(source)


def _record_beside(source: str) -> dict:
    """The ``manifest.json`` (hash-checked) or ``run.json`` next to a ``.keras`` file, if any."""
    from zoo.jsonio import read_json

    folder, name = os.path.split(os.path.abspath(source))
    manifest = os.path.join(folder, "manifest.json")
    if os.path.isfile(manifest):
        record = read_json(manifest, dict)
        files = record.get("files")
        if isinstance(files, dict) and name in files:
            check_manifest(record, manifest)
            if sha256_file(source) != str(files[name]).lower():
                raise ExportError(f"{source} does not match the sha256 in {manifest}.")
            return dict(record, source=source)
    run = os.path.join(folder, "run.json")
    if os.path.isfile(run):
        record = read_json(run, dict)
        data = record.get("data") if isinstance(record.get("data"), dict) else {}
        return {
            "source": source,
            "preprocessing": record.get("preprocessing"),
            "class_names": data.get("class_names"),
        }
    return {"source": source}


def _call_once(model) -> None:
    """Calls a loaded model once on zeros: Keras' ONNX export refuses a model never called."""
    import numpy as np

    shapes = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    if any(d is None for shape in shapes for d in shape[1:]):
        return  # free spatial dims: nothing to call it with; Keras traces the signature
    dtypes = [getattr(t, "dtype", "float32") for t in model.inputs]
    zeros = [np.zeros((1, *s[1:]), dtype=str(d)) for s, d in zip(shapes, dtypes, strict=True)]
    model(zeros if len(zeros) > 1 else zeros[0], training=False)


def _write_sidecar(path: str, fmt: str, source: dict, model) -> None:
    """Writes ``PATH.preprocessing.json``: what to do to uint8 pixels before the export."""
    given = source.get("preprocessing") if isinstance(source.get("preprocessing"), dict) else {}
    prep = {key: given.get(key, value) for key, value in DEFAULT_PREPROCESSING.items()}
    names = source.get("class_names")
    known = isinstance(names, list) and len(names) > 0
    if not known:
        outputs = int(model.outputs[0].shape[-1])
        names = [str(i) for i in range(max(outputs, 2) if outputs == 1 else outputs)]
    record = {
        "format": SIDECAR_FORMAT,
        "format_version": 1,
        "export": os.path.basename(os.path.normpath(path)),
        "export_format": fmt,
        "source": source.get("source"),
        "input_shape": [None if d is None else int(d) for d in model.input_shape[1:]],
        "input_dtype": str(getattr(model.inputs[0], "dtype", "float32")),
        "preprocessing": prep,
        "steps": (
            "uint8 NHWC pixels -> float32; convert to `channels` channels (1->3 repeats, "
            "3->1 averages) when set; zero-pad centrally to `pad_to` (height, width) when "
            "set; then by `mode`: scale: x * scale + offset, tf: x / 127.5 - 1, torch: "
            "(x / 255 - ImageNet mean) / std, caffe: RGB->BGR minus the ImageNet BGR mean, "
            "none: as is. None of this is inside the exported file."
        ),
        "class_names": [str(n) for n in names],
        "class_names_known": known,
    }
    text = json.dumps(record, indent=2) + "\n"

    def write(tmp):
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    atomic_write(sidecar_path(path), write, suffix=".json")
