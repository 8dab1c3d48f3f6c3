"""Publishing a model as a checkpoint of the saved-models folder, atomically.

A checkpoint is whole or absent: `publish` writes ``model.keras`` and
``manifest.json`` into a temporary folder inside the saved-models folder and
renames it into place, with ``README.md``, its model card generated from
the manifest (`zoo.model_card`; derived, so not among the hashed files). The manifest holds the sha256 of every file, the
versions it was made with, its own sha256 (``manifest_sha256``), and what a
user of the model needs: the registry
name, input shape, preprocessing, class names in index order, metrics and
training config.

Layering: imports `zoo.saved_models`, `zoo.saving` and `zoo.constants`; Keras and
NumPy only inside `publish`. Training (`zoo.training`) calls it, never the
other way round.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from zoo.constants import json_ready
from zoo.saved_models import (
    DIGEST_FIELD,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MODEL_FILE,
    PretrainedError,
    check_manifest,
    check_name,
    checkpoint_folder,
    exists,
    manifest_digest,
    saved_models_root,
    sha256_file,
)
from zoo.saving import save_model

__all__ = ["publish", "write_model_card"]

_RESERVED = ("format", "format_version", "name", "files", "created", DIGEST_FIELD)
_TMP_PREFIX = ".tmp-publish-"


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
        overwrite: replace an existing checkpoint, or shadow a shipped one
            of that name (the shipped files are never written). Defaults to False.
        root: the folder to publish to; default: the user folder (see
            `saved_models_root`), never the package or the source checkout.

    Returns:
        The checkpoint folder.

    Raises:
        PretrainedError: an invalid name, an existing one without
            ``overwrite``, or fields that cannot be written as JSON or use a
            reserved key.
    """
    check_name(name)
    fields = _checked_fields(manifest_fields)
    if root is None and not overwrite and exists(name):
        raise PretrainedError(
            f"Checkpoint {name!r} already exists in {checkpoint_folder(name).parent}; pass "
            f"overwrite=True (--overwrite-saved) to publish yours in its place, or choose another name."
        )
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
        _write_checkpoint(tmp, model, name, fields)
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


def _checked_fields(manifest_fields: Mapping[str, Any] | None) -> dict:
    """``manifest_fields`` as plain JSON; `PretrainedError` for reserved keys or non-JSON values."""
    fields = dict(manifest_fields or {})
    reserved = sorted(set(fields) & set(_RESERVED))
    if reserved:
        raise PretrainedError(f"manifest_fields may not set {reserved}; the zoo writes those.")
    try:
        return json_ready(fields)
    except (TypeError, ValueError) as err:
        raise PretrainedError(f"manifest_fields cannot be written as JSON: {err}") from None


def _write_checkpoint(folder: Path, model, name: str, fields: dict) -> None:
    """Writes ``model.keras`` and its ``manifest.json`` into ``folder``, fsynced."""
    save_model(model, folder / MODEL_FILE)
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
        "files": {MODEL_FILE: sha256_file(folder / MODEL_FILE)},
    }
    manifest = json.loads(json.dumps(manifest))  # exactly what a reader will see
    manifest[DIGEST_FIELD] = manifest_digest(manifest)
    check_manifest(manifest, folder / MANIFEST)  # sizes a reader would refuse
    with open(folder / MANIFEST, "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    write_model_card(folder, manifest)
    _fsync_dir(folder)


def write_model_card(folder, manifest: Mapping) -> Path:
    """Writes ``README.md`` (`zoo.model_card.model_card`) beside the manifest; not hashed.

    The card is derived from the manifest, which stays the hashed record: it is
    not added to ``files`` and regenerating it never changes ``manifest_sha256``.
    """
    from zoo.model_card import CARD_FILE, model_card

    path = Path(folder) / CARD_FILE
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(model_card(manifest))
        fh.flush()
        os.fsync(fh.fileno())
    return path
