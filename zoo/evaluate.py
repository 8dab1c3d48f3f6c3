"""Evaluating and using trained models: ``load_trained``, ``evaluate``, ``predict``.

A trained model is only usable together with what it was trained on: its
class names in label order and the `Preprocessing` that turns raw ``uint8``
pixels into its input. `load_trained` finds both wherever the model comes
from:

- a run directory written by ``zoo.train(..., run_dir=...)``: ``run.json``
  holds the class names, preprocessing, config and the raw data shape; the
  model is ``model.keras`` (the final one) or, when training did not finish,
  ``best.keras``;
- a ``.keras`` file: a sibling ``manifest.json`` (as ``saved_models/<name>/``
  has) provides class names and preprocessing; without one, the default
  ``Preprocessing()`` (``x / 255``) and class names ``"0" .. "N-1"``;
- a published name in ``saved_models/`` (``zoo.pretrained``): hashes are
  verified before loading.

Models load only as ``.keras`` with ``safe_mode=True`` (`zoo.saving`); other
formats are refused with the reason.

Data and images of a size other than the one the model was trained on are
converted the way the data layer converts them (bilinear resize, 1 <-> 3
channels) to the training size, then preprocessed (scaled, zero-padded).

Example:

>>> report = evaluate("runs/lenet5", "mnist-sample")  # doctest: +SKIP
>>> report["accuracy"], report["confusion_matrix"].shape  # doctest: +SKIP
(0.97, (10, 10))
>>> predict("runs/lenet5", ["digit.png"], top_k=2)  # doctest: +SKIP
[[('7', 0.98), ('1', 0.01)]]
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.training.preprocess import Preprocessing

__all__ = [
    "TrainedModel",
    "evaluate",
    "format_report",
    "load_trained",
    "plot_confusion_matrix",
    "predict",
    "report_to_json",
]

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
    return all(m is None or int(s) == int(m) for s, m in zip(shape, model_shape))


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
    with open(path / RUN_JSON, encoding="utf-8") as fh:
        record = json.load(fh)
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

    data = record.get("data") or {}
    config = TrainConfig.from_dict(record["config"]) if record.get("config") else None
    shape = data.get("input_shape")
    return _trained(
        load_model(model_file),
        data.get("class_names"),
        record.get("preprocessing"),
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
    """The ``manifest.json`` next to ``path`` if it describes that file; hash checked."""
    manifest_path = path.parent / MANIFEST
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{manifest_path} is not valid JSON: {err}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{manifest_path} is not a JSON object.")
    files = manifest.get("files")
    if isinstance(files, dict):
        if path.name not in files:
            return None  # a manifest about other files
        import hashlib

        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != str(files[path.name]).lower():
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


# --------------------------------------------------------------------------- evaluate


def evaluate(
    ref,
    data,
    split: str = "test",
    *,
    batch_size: int | None = None,
    root=None,
) -> dict:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix on one split.

    The data goes through the training path's own helpers
    (``zoo.training.fit.load_data`` and ``prepare_split``) with the model's
    recorded config, so a run's val split is carved exactly as in training.

    Args:
        ref: anything `load_trained` takes.
        data: a folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``zoo.data.DataBundle``.
        split: ``"test"`` (default), ``"val"`` or ``"train"``.
        batch_size: prediction batch size (default: the config's).
        root: saved-models folder for published names.

    Returns:
        A dict: ``model``, ``data``, ``split``, ``num_examples``, ``loss``
        (the training loss, when the config is known or the outputs are
        probabilities; else None), ``accuracy``, ``class_names``,
        ``per_class`` (name -> ``precision``, ``recall``, ``f1``,
        ``support``), ``macro_avg`` and ``weighted_avg`` (precision, recall,
        f1), and ``confusion_matrix`` (``int64`` NumPy array, rows = true
        class, columns = predicted class).

    Raises:
        ValueError: absent split, or data whose class names do not fit the
            model's.
    """
    from zoo.training.config import TrainConfig
    from zoo.training.fit import load_data, prepare_split

    trained = load_trained(ref, root=root)
    config = trained.config or TrainConfig()
    if batch_size is not None:
        config = config.replace(batch_size=int(batch_size))
    bundle = load_data(data, config)
    if bundle.get(split) is None:
        present = [s for s in ("train", "val", "test") if bundle.get(s) is not None]
        raise ValueError(f"{bundle.source} has no {split!r} split; present: {present}.")
    bundle, trained = _conform(bundle, data, split, trained)
    prepared = prepare_split(bundle, split, trained.preprocessing, config)
    model = trained.model
    if isinstance(prepared, tuple):
        encoded = prepared[1]
        outputs = model.predict(prepared[0], batch_size=config.batch_size, verbose=0)
    else:
        outs, labels = [], []
        for i in range(len(prepared)):
            x, y = prepared[i]
            outs.append(np.asarray(model.predict_on_batch(x)))
            labels.append(np.asarray(y))
        outputs, encoded = np.concatenate(outs), np.concatenate(labels)
    outputs = np.asarray(outputs, dtype=np.float64)
    y_true = _int_labels(encoded)
    y_pred = _int_labels(_probabilities(outputs, config) if outputs.shape[-1] == 1 else outputs)
    report = classification_report(y_true, y_pred, trained.class_names)
    return {
        "model": trained.source,
        "data": bundle.source,
        "split": split,
        "num_examples": int(len(y_true)),
        "loss": _loss(outputs, encoded, config, known=trained.config is not None),
        **report,
    }


def classification_report(y_true, y_pred, class_names: Sequence[str]) -> dict:
    """Accuracy, per-class precision/recall/F1/support and the confusion matrix.

    Precision of a class never predicted (and recall of a class absent from
    the data) is 0.

    Args:
        y_true: integer labels.
        y_pred: integer predictions.
        class_names: names in label order.

    Returns:
        A dict with ``accuracy``, ``class_names``, ``per_class``,
        ``macro_avg``, ``weighted_avg`` and ``confusion_matrix``.
    """
    y_true = np.asarray(y_true, dtype=np.int64).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=np.int64).reshape(-1)
    k = len(class_names)
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    correct = np.diag(cm).astype(np.float64)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = np.divide(correct, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(correct, support, out=np.zeros(k), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros(k), where=denom > 0)
    total = int(support.sum())
    weights = support / total if total else np.zeros(k)
    per_class = {
        str(name): {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
        }
        for i, name in enumerate(class_names)
    }
    return {
        "accuracy": float(correct.sum() / total) if total else 0.0,
        "class_names": [str(n) for n in class_names],
        "per_class": per_class,
        "macro_avg": {
            "precision": float(precision.mean()),
            "recall": float(recall.mean()),
            "f1": float(f1.mean()),
        },
        "weighted_avg": {
            "precision": float(weights @ precision),
            "recall": float(weights @ recall),
            "f1": float(weights @ f1),
        },
        "confusion_matrix": cm,
    }


def _conform(bundle, data, split, trained: TrainedModel):
    """Matches the split's image format and class names to the model."""
    from zoo.data.arrays import transform_images

    size, channels = trained.raw_format(bundle.input_shape)
    values = bundle.get(split)
    if size is not None or channels is not None:
        if isinstance(values, tuple):
            values = (transform_images(values[0], size, channels), values[1])
        elif isinstance(data, (str, os.PathLike)):
            from zoo import data as data_lib

            reloaded = data_lib.load(
                data,
                image_size=size,
                channels=channels,
                batch_size=bundle.batch_size,
                split=split,
            )
            values = reloaded.get(split)
        else:
            raise ValueError(
                f"{bundle.source}: streaming data of shape {bundle.input_shape} does not fit "
                f"the model; load it with image_size={size}, channels={channels}."
            )
    names = tuple(bundle.class_names)
    model_names = trained.class_names
    if names != model_names:
        if not trained.class_names_known and len(names) == len(model_names):
            trained = dataclasses.replace(trained, class_names=names)
        elif set(names) <= set(model_names) and isinstance(values, tuple):
            index = {n: i for i, n in enumerate(model_names)}
            mapping = np.array([index[n] for n in names], dtype=np.int32)
            values = (values[0], mapping[np.asarray(values[1], dtype=np.int64)])
        else:
            missing = [n for n in names if n not in model_names]
            raise ValueError(
                f"The data's classes do not fit the model's: {len(names)} data classes "
                f"{list(names)[:10]} vs the model's {len(model_names)} {list(model_names)[:10]}"
                + (f"; unknown to the model: {missing[:10]}" if missing else "")
                + "."
            )
    shape = tuple(int(v) for v in values[0].shape[1:]) if isinstance(values, tuple) else None
    bundle = dataclasses.replace(
        bundle,
        class_names=trained.class_names,
        input_shape=shape or bundle.input_shape,
        **{_split_field(split): values},
    )
    return bundle, trained


def _split_field(split: str) -> str:
    return {"validation": "val"}.get(str(split).lower(), str(split).lower())


def _int_labels(y) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[-1] > 1:
        return y.argmax(axis=-1).astype(np.int64)
    return y.reshape(-1).astype(np.int64)


def _looks_like_probabilities(outputs: np.ndarray) -> bool:
    if outputs.shape[-1] == 1:
        return bool(np.all((outputs >= 0) & (outputs <= 1)))
    return bool(
        np.all(outputs >= -1e-6)
        and np.all(outputs <= 1 + 1e-6)
        and np.allclose(outputs.sum(axis=-1), 1.0, atol=1e-3)
    )


def _probabilities(outputs: np.ndarray, config=None) -> np.ndarray:
    """Class probabilities ``(N, K)`` from model outputs (softmax of logits/scores)."""
    outputs = np.asarray(outputs, dtype=np.float64)
    from_logits = bool(getattr(config, "from_logits", False))
    if outputs.shape[-1] == 1:  # one sigmoid unit: P(class 1)
        p = outputs[:, 0]
        if from_logits or not _looks_like_probabilities(outputs):
            p = 1.0 / (1.0 + np.exp(-p))
        return np.stack([1.0 - p, p], axis=-1)
    if not from_logits and _looks_like_probabilities(outputs):
        return outputs
    shifted = outputs - outputs.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def _loss(outputs, encoded, config, known: bool) -> float | None:
    """The configured loss on the predictions (regularization penalties excluded)."""
    if not known and not _looks_like_probabilities(outputs):
        return None
    import keras

    from zoo.training.losses import make_loss

    try:
        value = make_loss(config)(
            np.asarray(encoded).astype("float32")
            if np.asarray(encoded).ndim > 1
            else np.asarray(encoded),
            outputs.astype("float32"),
        )
        value = float(keras.ops.convert_to_numpy(value))
    except (ValueError, TypeError):
        return None
    return value if np.isfinite(value) else None


# --------------------------------------------------------------------------- predict


def predict(
    ref,
    images: str | os.PathLike | Sequence[str | os.PathLike],
    top_k: int = 3,
    *,
    root=None,
    max_pixels: int | None = None,
) -> list[list[tuple[str, float]]]:
    """Classifies image files: the ``top_k`` classes of each with their probability.

    Each file is opened with the data layer's safe decoder
    (``zoo.data.decode_image``: format, pixel-count and truncation checks),
    converted to the channels and size the model was trained on, and
    preprocessed as in training.

    Args:
        ref: anything `load_trained` takes.
        images: one path or a list of paths.
        top_k: classes per image, most probable first. Defaults to 3.
        root: saved-models folder for published names.
        max_pixels: largest ``width * height`` accepted (default: the data
            layer's, 40M).

    Returns:
        One list per image of ``(class_name, probability)`` pairs sorted by
        decreasing probability. Outputs that are not probabilities (logits,
        hinge scores) are passed through a softmax.

    Raises:
        FileNotFoundError: a missing image file.
        ValueError: a file that is not a usable image (``BadImageError``,
            naming the file), or ``top_k < 1``.
    """
    from zoo.data.images import DEFAULT_MAX_PIXELS, BadImageError, decode_image

    if isinstance(images, (str, os.PathLike)):
        images = [images]
    images = list(images)
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int; received {top_k!r}")
    for path in images:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No image file at {os.fspath(path)!r}.")
    trained = load_trained(ref, root=root)
    batch = []
    for path in images:
        with open(path, "rb") as fh:
            raw = fh.read()
        limit = max_pixels or DEFAULT_MAX_PIXELS
        try:
            pixels = decode_image(raw, max_pixels=limit)
            size, channels = trained.raw_format(pixels.shape)
            if size is not None or channels is not None:
                pixels = decode_image(raw, channels=channels, image_size=size, max_pixels=limit)
        except BadImageError as err:
            raise BadImageError(f"{os.fspath(path)}: {err}") from None
        batch.append(trained.preprocessing(pixels[None])[0])
    outputs = np.asarray(trained.model.predict(np.stack(batch), verbose=0))
    probs = _probabilities(outputs, trained.config)
    k = min(top_k, probs.shape[-1])
    results = []
    for row in probs:
        order = np.argsort(-row, kind="stable")[:k]
        results.append([(trained.class_names[i], float(row[i])) for i in order])
    return results


# --------------------------------------------------------------------------- output


def plot_confusion_matrix(
    cm,
    class_names: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    normalize: bool = False,
) -> str:
    """Saves a confusion matrix as a PNG: counts in cells, colorbar, labelled axes.

    Uses matplotlib's Agg canvas directly (no pyplot, no display needed) and
    writes atomically.

    Args:
        cm: ``(K, K)`` counts, rows = true class, columns = predicted.
        class_names: the K names.
        path: the PNG to write.
        title: figure title (default ``"Confusion matrix"`` with the accuracy).
        normalize: color by row fraction (recall) instead of counts; the
            cells still show counts.

    Returns:
        The path written, as a string.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.saving import atomic_write

    cm = np.asarray(cm)
    k = cm.shape[0]
    if cm.shape != (k, k) or len(class_names) != k:
        raise ValueError(
            f"cm must be square with one row per class; received shape {cm.shape} "
            f"for {len(class_names)} class names"
        )
    total = cm.sum()
    if title is None:
        acc = np.trace(cm) / total if total else 0.0
        title = f"Confusion matrix ({int(total)} examples, accuracy {acc:.2%})"
    rows = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0) if normalize else cm
    side = min(4.0 + 0.45 * k, 24.0)
    fig = Figure(figsize=(side + 1.2, side), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", interpolation="nearest")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("fraction of true class" if normalize else "count")
    ax.set_title(title)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    names = [str(n) if len(str(n)) <= 14 else str(n)[:13] + "…" for n in class_names]
    long_names = max(map(len, names)) > 2
    ax.set_xticks(
        range(k),
        labels=names,
        rotation=45 if long_names else 0,
        ha="right" if long_names else "center",
    )
    ax.set_yticks(range(k), labels=names)
    if k <= 40:
        threshold = shown.max() / 2 if shown.size else 0
        size = max(5, min(10, 120 / k))
        for i in range(k):
            for j in range(k):
                ax.text(
                    j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=size,
                    color="white" if shown[i, j] > threshold else "black",
                )  # fmt: skip
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    return os.fspath(path)


def report_to_json(report: dict) -> dict:
    """The `evaluate` report with NumPy values made JSON-ready."""
    out = dict(report)
    out["confusion_matrix"] = np.asarray(report["confusion_matrix"]).tolist()
    return out


def format_report(report: dict) -> str:
    """The `evaluate` report as text: accuracy, loss and a per-class table."""
    lines = [
        f"Model:    {report['model']}",
        f"Data:     {report['data']} ({report['split']} split, {report['num_examples']} examples)",
    ]
    if report.get("loss") is not None:
        lines.append(f"Loss:     {report['loss']:.4f}")
    lines.append(f"Accuracy: {report['accuracy']:.4f}")
    width = max(12, *(len(n) for n in report["class_names"]))
    lines.append("")
    lines.append(f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
            f"{row['f1']:>9.4f} {row['support']:>8d}"
        )
    for label, key in (("macro avg", "macro_avg"), ("weighted avg", "weighted_avg")):
        row = report[key]
        lines.append(
            f"{label:<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
            f"{row['f1']:>9.4f} {report['num_examples']:>8d}"
        )
    return "\n".join(lines)
