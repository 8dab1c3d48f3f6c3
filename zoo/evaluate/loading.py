"""Loading a trained model with its class names and preprocessing: `load_trained`.

`TrainedModel` bundles the ``keras.Model`` with what using it needs; see the
package docstring (`zoo.evaluate`) for where models come from.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from zoo.training.preprocess import Preprocessing

RUN_JSON = "run.json"
FINAL_MODEL = "model.keras"
BEST_MODEL = "best.keras"
MANIFEST = "manifest.json"


@dataclasses.dataclass(frozen=True, eq=False)
class TrainedModel:
    """A loaded model and what using it needs.

    Attributes:
        model: the ``keras.Model`` (not compiled).
        class_names: class names in output (label) order.
        preprocessing: how raw ``uint8`` pixels become the model's input.
        source: where the model came from, in words.
        config: the ``TrainConfig`` it was trained with, when known.
        data_shape: the raw ``(height, width, channels)`` of the training
            data, when known (run directories record it).
        folder: the run directory or the folder holding the ``.keras`` file
            (where outputs such as plots go by default), or None.
        class_names_known: False when the names are the ``"0".."N-1"``
            stand-ins of a bare ``.keras`` file.
    """

    model: Any
    class_names: tuple[str, ...]
    preprocessing: Preprocessing
    source: str
    config: Any = None
    data_shape: tuple[int, int, int] | None = None
    folder: str | None = None
    class_names_known: bool = True

    @property
    def input_shape(self) -> tuple:
        """The model's input ``(height, width, channels)`` (None for free dims)."""
        return tuple(self.model.input_shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def raw_format(self, shape) -> tuple[tuple[int, int] | None, int | None]:
        """``(image_size, channels)`` to convert raw data of ``shape`` to, None = keep.

        Channels become those of the training data (when known), else the
        model's unless the preprocessing converts them. The size is kept when
        the preprocessing already maps it onto the model's input (e.g. 28x28
        padded to LeNet's 32x32); otherwise it becomes the training data's
        size, or the model's input size when that is unknown.
        """
        height, width, channels = (int(v) for v in shape)
        model_h, model_w, model_c = self.input_shape
        if self.data_shape is not None:
            want_c = self.data_shape[2]
        elif self.preprocessing.channels:
            want_c = channels if channels in (1, 3) else 3
        else:
            want_c = model_c
        out_h, out_w, _ = self.preprocessing.output_shape((height, width, want_c or channels))
        if _fits((out_h, out_w), (model_h, model_w)):
            size = None
        elif self.data_shape is not None and _fits(
            self.preprocessing.output_shape(self.data_shape)[:2], (model_h, model_w)
        ):
            size = tuple(self.data_shape[:2])
        elif model_h is not None and model_w is not None:
            size = (int(model_h), int(model_w))
        else:
            raise ValueError(
                f"Cannot fit {height}x{width} images to the model's input {self.input_shape}."
            )
        return size, (None if want_c in (None, channels) else int(want_c))


def _fits(shape, model_shape) -> bool:
    return all(m is None or int(s) == int(m) for s, m in zip(shape, model_shape, strict=False))


# --------------------------------------------------------------------------- loading


def load_trained(ref, *, root=None) -> TrainedModel:
    """Loads a trained model with its class names and preprocessing.

    Args:
        ref: a run directory, a ``.keras`` file, a published name in
            ``saved_models/`` (see ``zoo.pretrained``), a ``keras.Model``
            (default preprocessing, names ``"0".."N-1"``) or a
            `TrainedModel` (returned as is).
        root: the saved-models folder for published names (default: that of
            ``zoo.pretrained``: ``$ZOO_SAVED_MODELS`` or ``saved_models/``).

    Returns:
        A `TrainedModel`.

    Raises:
        FileNotFoundError: nothing by that name or path, or a run directory
            holding neither ``model.keras`` nor ``best.keras``.
        ValueError: a refused model format (``.h5``, pickle, SavedModel
            folder; `zoo.saving.UnsafeModelError`), a manifest whose hash
            does not match the file, or class names that do not fit the
            model's outputs.

    Example:

    >>> trained = load_trained("runs/lenet5")  # doctest: +SKIP
    >>> trained.class_names[:3], trained.preprocessing.pad_to  # doctest: +SKIP
    (('0', '1', '2'), (32, 32))
    """
    if isinstance(ref, TrainedModel):
        return ref
    if not isinstance(ref, (str, os.PathLike)):
        if hasattr(ref, "predict") and hasattr(ref, "input_shape"):
            return _trained(ref, None, None, f"in-memory model {getattr(ref, 'name', '')!r}")
        raise TypeError(
            f"ref must be a run directory, a .keras file or a published name; "
            f"received {type(ref).__name__}"
        )
    text = os.fspath(ref)
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / RUN_JSON).is_file():
            return _from_run(path)
        if (path / MANIFEST).is_file() and (path / FINAL_MODEL).is_file():
            return _from_file(path / FINAL_MODEL)
    from zoo.saving import REFUSED

    suffix = path.suffix.lower()
    if path.exists() or suffix == ".keras" or suffix in REFUSED:
        return _from_file(path)  # refuses folders and non-.keras formats with the reason
    if "/" in text or os.sep in text:
        raise FileNotFoundError(f"No run directory or model file at {text!r}.")
    return _from_published(text, root)


def _from_run(path: Path) -> TrainedModel:
    from zoo.jsonio import read_json

    record = read_json(path / RUN_JSON, dict)
    for name in (FINAL_MODEL, BEST_MODEL):
        if (path / name).is_file():
            model_file = path / name
            break
    else:
        raise FileNotFoundError(
            f"Run directory {str(path)!r} holds no {FINAL_MODEL} or {BEST_MODEL} yet "
            f"(training has not completed an epoch); resume it with `zoo train --resume`."
        )
    from zoo.saving import load_model
    from zoo.training.config import TrainConfig

    data = record.get("data") if isinstance(record.get("data"), dict) else {}
    from zoo.errors import FileFormatError

    try:
        config = TrainConfig.from_dict(record["config"]) if record.get("config") else None
    except ValueError as err:
        raise FileFormatError(path / RUN_JSON, f"its config is invalid: {err}") from None
    try:  # read, not trusted: sizes bounded (Preprocessing refuses a huge pad_to)
        prep = record.get("preprocessing")
        prep = Preprocessing.from_dict(prep) if isinstance(prep, dict) else None
    except (ValueError, TypeError) as err:
        raise FileFormatError(path / RUN_JSON, f"its preprocessing is invalid: {err}") from None
    shape = data.get("input_shape")
    return _trained(
        load_model(model_file),
        data.get("class_names"),
        prep,
        f"run {path} ({model_file.name})",
        config=config,
        data_shape=tuple(int(v) for v in shape) if shape else None,
        folder=str(path),
    )


def _from_file(path: Path) -> TrainedModel:
    from zoo.saving import check_model_path, load_model

    check_model_path(path)
    manifest = _sibling_manifest(path)
    model = load_model(path)
    return _from_manifest(model, manifest, f"{path}", folder=str(path.parent))


def _from_published(name: str, root) -> TrainedModel:
    from zoo import pretrained

    try:
        manifest = pretrained.read_manifest(name, root)
    except pretrained.PretrainedError as err:
        raise FileNotFoundError(
            f"{name!r} is not a run directory, a .keras file or a published model: {err}"
        ) from None
    model = pretrained.load_pretrained(name, root)  # verifies every hash first
    return _from_manifest(model, manifest, f"published model {name!r}", folder=None)


def _sibling_manifest(path: Path) -> dict | None:
    """The ``manifest.json`` next to ``path`` if it describes that file; every hash checked.

    A zoo manifest (one with ``format``, ``files``, ``class_names`` or
    ``preprocessing``) must be complete and unmodified (`zoo.saved_models.check_manifest`);
    one about other ``.keras`` files is ignored, as is a JSON file of another tool.
    """
    from zoo.saved_models import check_manifest, sha256_file

    manifest_path = path.parent / MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise ValueError(f"{manifest_path} is not valid JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{manifest_path} is not a JSON object.")
    if not {"format", "files", "class_names", "preprocessing"} & set(manifest):
        return None  # not a zoo manifest: nothing of it is used
    files = check_manifest(manifest, manifest_path)["files"]
    if path.name not in files:
        return None  # a manifest about other files
    if sha256_file(path) != str(files[path.name]).lower():
        raise ValueError(
            f"{path} does not match the sha256 in {manifest_path}; the file is corrupt "
            f"or was modified."
        )
    return manifest


def _from_manifest(model, manifest: dict | None, source: str, folder) -> TrainedModel:
    manifest = manifest or {}
    config = None
    raw = manifest.get("train_config") or manifest.get("config")
    if isinstance(raw, dict):
        from zoo.training.config import TrainConfig

        try:
            config = TrainConfig.from_dict(raw)
        except (ValueError, TypeError):
            config = None
    shape = manifest.get("data_input_shape")
    return _trained(
        model,
        manifest.get("class_names"),
        manifest.get("preprocessing"),
        source,
        config=config,
        data_shape=tuple(int(v) for v in shape) if shape else None,
        folder=folder,
    )


def _trained(model, class_names, preprocessing, source, **rest) -> TrainedModel:
    if len(getattr(model, "outputs", None) or ()) > 1:  # a run's GoogLeNet keeps its aux heads
        from zoo.training.model_setup import inference_model

        model = inference_model(model)
    outputs = model.outputs[0].shape[-1] if getattr(model, "outputs", None) else None
    outputs = int(outputs) if outputs is not None else None
    known = bool(class_names)
    if not known:
        if outputs is None:
            raise ValueError(f"{source}: cannot tell the number of classes of the model.")
        class_names = [str(i) for i in range(max(outputs, 2) if outputs == 1 else outputs)]
    class_names = tuple(str(n) for n in class_names)
    expected = 2 if outputs == 1 else outputs
    if expected is not None and expected != len(class_names):
        raise ValueError(
            f"{source}: the model has {outputs} output(s) but {len(class_names)} class names "
            f"are recorded ({list(class_names)[:10]})."
        )
    if isinstance(preprocessing, dict):
        preprocessing = Preprocessing.from_dict(preprocessing)
    return TrainedModel(
        model=model,
        class_names=class_names,
        preprocessing=preprocessing or Preprocessing(),
        source=source,
        class_names_known=known,
        **rest,
    )
