"""Scoring a trained model on a data split: `evaluate` and `classification_report`."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence

import numpy as np

from zoo.evaluate.loading import TrainedModel, load_trained

#: Test-time augmentation modes of `evaluate` and `predict`.
TTA_MODES = ("none", "flip")

#: The ``split`` of a report on a plain folder of classes evaluated as a whole.
WHOLE_FOLDER = "all"


def evaluate(
    ref,
    data,
    split: str = "test",
    *,
    batch_size: int | None = None,
    root=None,
    tta: str = "none",
    progress: bool | None = None,
) -> dict:
    """Accuracy, per-class precision/recall/F1 and the confusion matrix on one split.

    The data goes through the training path's own helpers
    (``zoo.training.fit.load_data`` and ``prepare_split``) with the model's
    recorded config, so a run's val split is carved exactly as in training.
    A plain folder of class subfolders (no ``train/val/test`` folders) is
    evaluated as a whole: every image in it, ``split`` ``"all"``. Its classes
    are matched to the model's by name; they may be a subset of the model's.

    Args:
        ref: anything `load_trained` takes.
        data: a folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``zoo.data.DataBundle``.
        split: ``"test"`` (default), ``"val"`` or ``"train"``; for a plain
            class folder ``"test"`` or ``"all"`` (the whole folder).
        batch_size: prediction batch size (default: the config's).
        root: saved-models folder for published names.
        tta: test-time augmentation: ``"none"`` (default) or ``"flip"`` (the
            mean of the class probabilities of each image and of its
            horizontal mirror).
        progress: count the prediction batches on stderr: True, False, or
            None (the default) when stderr is a terminal.

    Returns:
        A dict: ``model``, ``data``, ``split`` (``"all"`` for a whole
        folder), ``num_examples``, ``tta``, ``skipped`` (``[path, reason]``
        of each file the folder's screening skipped), ``loss``
        (the training loss, when the config is known or the outputs are
        probabilities; else None; with ``tta="flip"`` the crossentropy of the
        averaged probabilities, or None for other losses), ``accuracy``,
        ``class_names``,
        ``per_class`` (name -> ``precision``, ``recall``, ``f1``,
        ``support``), ``macro_avg`` and ``weighted_avg`` (precision, recall,
        f1), and ``confusion_matrix`` (``int64`` NumPy array, rows = true
        class, columns = predicted class).

    Raises:
        ValueError: absent split, an unknown ``tta``, or data whose class
            names do not fit the model's (the message names the unknown ones).
    """
    from zoo.training.config import TrainConfig
    from zoo.training.fit import prepare_split

    check_tta(tta)
    trained = load_trained(ref, root=root)
    config = trained.config or TrainConfig()
    if batch_size is not None:
        config = config.replace(batch_size=int(batch_size))
    bundle, key = _load_split(data, split, config)
    bundle, trained = _conform(bundle, data, key, trained, whole=key != split)
    prepared = prepare_split(bundle, key, trained.preprocessing, config)
    outputs, encoded = _outputs(trained.model, prepared, config, tta, progress)
    y_true = _int_labels(encoded)
    y_pred = _int_labels(_probabilities(outputs, config) if outputs.shape[-1] == 1 else outputs)
    report = classification_report(y_true, y_pred, trained.class_names)
    if tta == "none":
        loss = _loss(outputs, encoded, config, known=trained.config is not None)
    elif "crossentropy" in config.loss and outputs.shape[-1] > 1:
        loss = _loss(outputs, encoded, config.replace(from_logits=False), known=True)
    else:
        loss = None
    return {
        "model": trained.source,
        "data": bundle.source,
        "split": WHOLE_FOLDER if key != split else split,
        "num_examples": len(y_true),
        "tta": tta,
        "loss": loss,
        "skipped": _skipped(bundle),
        **report,
    }


def _skipped(bundle) -> list:
    """``[[path, reason], ...]`` of the files screening skipped (an image folder), else []."""
    screened = bundle.screen_report
    return [] if screened is None else [[f.path, f.reason] for f in screened.skipped]


def check_tta(tta) -> None:
    """Raises a one-line ValueError for a ``tta`` not in `TTA_MODES`."""
    if tta not in TTA_MODES:
        raise ValueError(f"tta must be one of {list(TTA_MODES)}; received {tta!r}")


def is_class_folder(data) -> bool:
    """True when ``data`` is a folder of class subfolders without train/val/test splits."""
    if not isinstance(data, (str, os.PathLike)) or not os.path.isdir(data):
        return False
    from zoo.data.screen import detect_layout

    return set(detect_layout(data)) == {None}


def _load_split(data, split: str, config):
    """``(bundle, key)``: the data and the bundle field holding what is evaluated.

    A plain class folder is loaded whole (no val carved) as the ``train`` field.
    """
    from zoo.training.fit import load_data

    if is_class_folder(data):
        if split not in ("test", WHOLE_FOLDER):
            raise ValueError(
                f"{os.fspath(data)} is a plain folder of classes (no train/val/test "
                f"folders): it is evaluated as a whole, not its {split!r} split."
            )
        from zoo import data as data_lib

        bundle = data_lib.load(
            data, batch_size=config.batch_size, validation_split=0, split="train"
        )
        return bundle, "train"
    if split == WHOLE_FOLDER:
        raise ValueError(
            f"split {WHOLE_FOLDER!r} is for a plain folder of classes; {data!r} is not one."
        )
    bundle = load_data(data, config)
    if bundle.get(split) is None:
        present = [s for s in ("train", "val", "test") if bundle.get(s) is not None]
        raise ValueError(f"{bundle.source} has no {split!r} split; present: {present}.")
    return bundle, split


def tta_probabilities(predict_fn, x, config, tta: str) -> np.ndarray:
    """Class probabilities ``(N, K)`` of ``predict_fn(x)``, averaged with those of
    the horizontally mirrored images when ``tta == "flip"``."""
    probs = _probabilities(np.asarray(predict_fn(x), dtype=np.float64), config)
    if tta == "flip":
        flipped = _probabilities(np.asarray(predict_fn(flip_images(x)), dtype=np.float64), config)
        probs = (probs + flipped) / 2.0
    return probs


def flip_images(x) -> np.ndarray:
    """A batch of images mirrored left-right (the width axis of Keras' image data format)."""
    import keras

    axis = 2 if keras.config.image_data_format() == "channels_last" else 3
    return np.ascontiguousarray(np.flip(np.asarray(x), axis=axis))


def _outputs(model, prepared, config, tta: str, progress: bool | None = None):
    """``(outputs, encoded labels)``: raw outputs, or averaged probabilities with TTA."""
    from zoo.training.batch_progress import BatchProgress

    passes = 1 if tta == "none" else 2
    if isinstance(prepared, tuple):
        encoded = prepared[1]
        total = passes * -(-len(encoded) // config.batch_size)
        counter = BatchProgress("evaluating", total, enabled=progress)

        def predict_fn(x):
            return model.predict(x, batch_size=config.batch_size, verbose=0, callbacks=[counter])

        if tta == "none":
            outputs = predict_fn(prepared[0])
        else:
            outputs = tta_probabilities(predict_fn, prepared[0], config, tta)
        counter.counter.close()
    else:
        outs, labels = [], []
        counter = BatchProgress("evaluating", len(prepared), enabled=progress).counter
        for i in range(len(prepared)):
            x, y = prepared[i]
            if tta == "none":
                outs.append(np.asarray(model.predict_on_batch(x)))
            else:
                outs.append(tta_probabilities(model.predict_on_batch, x, config, tta))
            labels.append(np.asarray(y))
            counter.update(1)
        counter.close()
        outputs, encoded = np.concatenate(outs), np.concatenate(labels)
    return np.asarray(outputs, dtype=np.float64), encoded


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


def _conform(bundle, data, split, trained: TrainedModel, whole: bool = False):
    """Matches the split's image format and class names to the model.

    ``whole``: ``data`` is a plain class folder loaded whole (reloads carve no val).
    """
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
                **({"validation_split": 0} if whole else {}),
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
            if missing:
                raise ValueError(
                    f"{bundle.source}: the data's classes do not fit the model's: "
                    f"{len(missing)} unknown to the model: {missing[:10]} (the model's "
                    f"{len(model_names)} classes: {list(model_names)[:10]})."
                )
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
