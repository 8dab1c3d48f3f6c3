"""The zoo's checkpoints: ``saved_models/<name>/model.keras`` + ``manifest.json``.

A checkpoint is whole or absent: `publish` writes it into a temporary folder
inside the saved-models folder and renames it into place. Its
``manifest.json`` holds the sha256 of every file, the versions it was made
with, and what a user of the model needs: the registry name, input shape,
preprocessing, class names in index order, metrics and training config.
`load_pretrained` checks every hash before loading, and loads only
``.keras`` with ``safe_mode=True``.

The saved-models folder is ``root`` when given, else ``$ZOO_SAVED_MODELS``,
else ``saved_models/`` next to the ``zoo`` package (the repository's own).

Example:

```python
zoo.pretrained.publish(result.model, "lenet5-mnist",
                       {"architecture": "lenet5", "class_names": result.class_names})
model = zoo.load_pretrained("lenet5-mnist")
```
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST",
    "MODEL_FILE",
    "ChecksumError",
    "ExportError",
    "PretrainedError",
    "exists",
    "export_model",
    "is_valid_name",
    "list_pretrained",
    "load_pretrained",
    "model_path",
    "publish",
    "read_manifest",
    "saved_models_root",
    "sha256_file",
]

MANIFEST = "manifest.json"
MODEL_FILE = "model.keras"
FORMAT = "keras-zoo-checkpoint"
FORMAT_VERSION = 1
ENV_ROOT = "ZOO_SAVED_MODELS"
_RESERVED = ("format", "format_version", "name", "files", "created")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_TMP_PREFIX = ".tmp-publish-"


class PretrainedError(ValueError):
    """A checkpoint that is unknown, malformed, or cannot be written."""


class ChecksumError(PretrainedError):
    """A checkpoint file whose sha256 differs from its manifest."""


def saved_models_root(root=None) -> Path:
    """The saved-models folder: ``root``, else ``$ZOO_SAVED_MODELS``, else the repository's."""
    if root is not None:
        return Path(os.fspath(root)).expanduser().resolve()
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parent.parent / "saved_models"


def is_valid_name(name) -> bool:
    """Whether ``name`` is a plain checkpoint name (no path, no ``..``, not hidden)."""
    return isinstance(name, str) and bool(_NAME.match(name)) and ".." not in name


def check_name(name) -> str:
    """Returns ``name`` if it is a valid checkpoint name; raises ``PretrainedError`` otherwise."""
    if not is_valid_name(name):
        raise PretrainedError(
            f"Invalid checkpoint name {name!r}: use letters, digits, '.', '_' and '-' "
            f"(starting with a letter or digit, no '..', no '/'), e.g. 'lenet5-mnist'."
        )
    return name


def list_pretrained(root=None) -> list[str]:
    """Names of the checkpoints in the saved-models folder, sorted."""
    folder = saved_models_root(root)
    if not folder.is_dir():
        return []
    return sorted(
        p.name
        for p in folder.iterdir()
        if is_valid_name(p.name) and p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()
    )


def exists(name: str, root=None) -> bool:
    """Whether a checkpoint called ``name`` exists (a valid name with a manifest)."""
    return is_valid_name(name) and name in list_pretrained(root)


def _folder(name: str, root=None) -> Path:
    check_name(name)
    folder = saved_models_root(root) / name
    if not (folder / MANIFEST).is_file() or folder.is_symlink():
        names = list_pretrained(root)
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise PretrainedError(
            f"No checkpoint {name!r} in {saved_models_root(root)}.{hint} Available: "
            f"{', '.join(names) if names else 'none'} (set ${ENV_ROOT} to use another folder)."
        )
    return folder


def model_path(name: str, root=None) -> str:
    """The path of a checkpoint's ``model.keras`` (not verified; see `load_pretrained`)."""
    return str(_folder(name, root) / MODEL_FILE)


def read_manifest(name: str, root=None) -> dict:
    """The checkpoint's manifest as a dict.

    Raises:
        PretrainedError: unknown name or a manifest that is not a JSON object
            with a ``files`` mapping.
    """
    path = _folder(name, root) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise PretrainedError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise PretrainedError(f"{path} has no 'files' mapping of file name -> sha256.")
    return manifest


def sha256_file(path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(name: str, root=None) -> dict:
    """Checks the sha256 of every file the manifest lists; returns the manifest.

    Raises:
        ChecksumError: a listed file is missing, outside the checkpoint
            folder, or its hash differs.
        PretrainedError: the manifest is malformed or omits ``model.keras``.
    """
    folder = _folder(name, root)
    manifest = read_manifest(name, root)
    files = manifest["files"]
    if MODEL_FILE not in files:
        raise PretrainedError(f"The manifest of {name!r} does not list {MODEL_FILE}.")
    real_folder = os.path.realpath(folder)
    for rel, expected in files.items():
        if not isinstance(rel, str) or not isinstance(expected, str):
            raise PretrainedError(f"The manifest of {name!r} lists a malformed entry {rel!r}.")
        path = os.path.realpath(os.path.join(folder, rel))
        if os.path.isabs(rel) or os.path.commonpath([real_folder, path]) != real_folder:
            raise ChecksumError(f"The manifest of {name!r} lists {rel!r}, outside its folder.")
        if not os.path.isfile(path):
            raise ChecksumError(f"Checkpoint {name!r} is incomplete: {rel} is missing.")
        actual = sha256_file(path)
        if actual != expected.lower():
            raise ChecksumError(
                f"Checkpoint {name!r}: {rel} does not match its manifest (sha256 {actual[:16]}... "
                f"instead of {expected[:16]}...); the file is corrupt or was modified. "
                f"Re-publish or re-download it."
            )
    return manifest


def load_pretrained(name: str, root=None, *, compile: bool = False):
    """Loads a checkpoint after verifying the sha256 of every file in its manifest.

    Args:
        name: checkpoint name, e.g. ``"lenet5-mnist"`` (see `list_pretrained`).
        root: saved-models folder (see `saved_models_root`).
        compile: compile the model as saved. Defaults to False.

    Returns:
        The ``keras.Model`` (loaded with ``safe_mode=True``).

    Raises:
        PretrainedError: unknown name or malformed manifest.
        ChecksumError: a file that does not match its hash.
    """
    from zoo.saving import load_model

    verify(name, root)
    return load_model(model_path(name, root), compile=compile)


def _versions() -> dict:
    import platform
    import sys

    import keras
    import numpy as np

    import zoo

    out = {
        "keras_zoo": zoo.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    if "tensorflow" in sys.modules:
        out["tensorflow"] = getattr(sys.modules["tensorflow"], "__version__", "?")
    return out


def _fsync_dir(path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _json_ready(obj: Any) -> Any:
    return json.loads(json.dumps(obj, default=_default))


def _default(obj):
    import numpy as np

    if isinstance(obj, (np.floating, np.integer)):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (tuple, set)):
        return list(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def publish(
    model,
    name: str,
    manifest_fields: Mapping[str, Any] | None = None,
    *,
    overwrite: bool = False,
    root=None,
) -> Path:
    """Publishes ``model`` as checkpoint ``name``, atomically.

    Writes ``model.keras`` and ``manifest.json`` into a temporary folder in
    the saved-models folder and renames it into place: the checkpoint is
    whole or absent, whatever moment the process dies.

    Args:
        model: the ``keras.Model``.
        name: checkpoint name (letters, digits, ``.``, ``_``, ``-``).
        manifest_fields: JSON-ready facts to record, e.g. ``architecture``
            (registry name), ``model_kwargs``, ``preprocessing`` (a dict or a
            ``Preprocessing``), ``class_names`` (index order), ``metrics``,
            ``config`` (a ``TrainConfig`` or its dict), ``data``.
        overwrite: replace an existing checkpoint. Defaults to False.
        root: saved-models folder (see `saved_models_root`).

    Returns:
        The checkpoint folder.

    Raises:
        PretrainedError: an invalid name, an existing one without
            ``overwrite``, or fields that cannot be written as JSON or use a
            reserved key.
    """
    from zoo.saving import save_model

    check_name(name)
    fields = dict(manifest_fields or {})
    reserved = sorted(set(fields) & set(_RESERVED))
    if reserved:
        raise PretrainedError(f"manifest_fields may not set {reserved}; the zoo writes those.")
    try:
        fields = _json_ready(fields)
    except (TypeError, ValueError) as err:
        raise PretrainedError(f"manifest_fields cannot be written as JSON: {err}") from None
    folder = saved_models_root(root)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise PretrainedError(
            f"Checkpoint {name!r} already exists in {folder}; pass overwrite=True "
            f"(--overwrite) to replace it."
        )
    tmp = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX, dir=folder))
    old = None
    try:
        save_model(model, tmp / MODEL_FILE)
        input_shape = [None if d is None else int(d) for d in model.input_shape[1:]]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "model_name": model.name,
            "input_shape": input_shape,
            "params": int(model.count_params()),
            **fields,
            "versions": {**_versions(), **dict(fields.get("versions") or {})},
            "files": {MODEL_FILE: sha256_file(tmp / MODEL_FILE)},
        }
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        _fsync_dir(tmp)
        if target.exists() or target.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=_TMP_PREFIX + "old-", dir=folder))
            os.rmdir(old)
            os.rename(target, old)
        os.rename(tmp, target)
        _fsync_dir(folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None and old.exists() and not target.exists():
            os.rename(old, target)  # put the previous checkpoint back
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


# -------------------------------------------------------------------- export
class ExportError(ValueError):
    """An export that this installation or backend cannot do."""


#: CLI format name -> Keras ``model.export`` format.
EXPORT_FORMATS = {"savedmodel": "tf_saved_model", "onnx": "onnx", "tflite": "litert"}


def _module_available(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def export_model(
    model, path, *, format: str = "savedmodel", overwrite: bool = False, root=None
) -> str:
    """Exports a model through Keras' own ``model.export``.

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
            from zoo.saving import load_model

            model = load_model(source)
    if os.path.exists(path):
        if os.path.isdir(path):
            shutil.rmtree(path)
        else:
            os.remove(path)
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    model.export(path, format=EXPORT_FORMATS[format], verbose=False)
    return path
