"""Exporting a model through Keras' own ``model.export`` (SavedModel, ONNX, TFLite).

Layering: imports `zoo.saved_models` and `zoo.saving`; Keras inside
`export_model` only.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

from zoo.saved_models import exists, is_valid_name, load_pretrained
from zoo.saving import load_model

__all__ = ["EXPORT_FORMATS", "ExportError", "export_model"]


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
    if isinstance(model, (str, os.PathLike)):
        source = os.fspath(model)
        if is_valid_name(source) and exists(source, root) and not os.path.exists(source):
            model = load_pretrained(source, root)
        else:
            model = load_model(source)
    if len(model.outputs) > 1 and all(n.startswith("aux") for n in model.output_names[1:]):
        # a run's GoogLeNet keeps its auxiliary heads: export the main output only
        model = keras.Model(model.inputs, model.outputs[0], name=model.name)
    if os.path.exists(path):
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    model.export(path, format=EXPORT_FORMATS[format], verbose=False)
    return path
