"""Data into ``fit``/``evaluate`` arguments: the one way the training path feeds a model.

`load_data` resolves the user's data argument into a `zoo.data.DataBundle`;
`prepare_split` turns one split into preprocessed ``(x, y)`` arrays or a
streaming dataset with encoded labels; `data_kwargs` turns either into the
keyword arguments of ``Model.fit``/``Model.evaluate``. ``train``, ``lr_find``,
``evaluate_model`` and the per-epoch test tracker all go through these.
"""

from __future__ import annotations

import os
from typing import Any

from zoo.constants import DEFAULT_SEED
from zoo.training.config import TrainConfig
from zoo.training.preprocess import Preprocessing

__all__ = [
    "CLASSIFICATION_LOSSES",
    "data_argument",
    "data_kwargs",
    "load_data",
    "prepare_split",
]

#: Losses of a classifier: they get an accuracy metric, and (but the sparse
#: and binary cases) one-hot labels.
CLASSIFICATION_LOSSES = ("categorical_crossentropy", "svm_hinge", "hinge_cs", "binary_crossentropy")


def load_data(data: Any, config: TrainConfig):
    """A ``DataBundle`` from a bundle, a folder, an .npz, 'tfds:NAME' or 'mnist-sample'.

    Raises:
        ValueError: ``data`` is None, or the data cannot be read.
    """
    from zoo import data as data_lib
    from zoo.training.distribute import local_shard

    if isinstance(data, data_lib.DataBundle):
        return local_shard(data)  # a data-parallel process keeps its shard
    if data is None:
        raise ValueError(
            "No data given: pass a folder, an .npz file, 'tfds:NAME' or 'mnist-sample'."
        )
    bundle = data_lib.load(
        data,
        batch_size=config.batch_size,
        validation_split=config.validation_split,
        seed=DEFAULT_SEED if config.seed is None else config.seed,
    )
    return local_shard(bundle)  # a data-parallel process keeps its shard


def data_argument(data: Any) -> str | None:
    """How to find ``data`` again on resume: an absolute path or a source name."""
    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        return os.path.abspath(text) if os.path.exists(text) else text
    return None


def _labels(y, num_classes: int, config: TrainConfig):
    import keras
    import numpy as np

    y = np.asarray(y).reshape(-1)
    if (
        config.loss in CLASSIFICATION_LOSSES
        and not config.sparse_labels
        and config.loss != "binary_crossentropy"
    ):
        return keras.utils.to_categorical(y, num_classes).astype("float32")
    return y


def _prepared_dataset(source, prep: Preprocessing, num_classes: int, config: TrainConfig):
    """Wraps a streaming dataset so batches come preprocessed, labels encoded."""
    import keras

    class Prepared(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(
                workers=getattr(source, "workers", 1),
                use_multiprocessing=False,
                max_queue_size=getattr(source, "max_queue_size", 10),
            )

        def __len__(self):
            return len(source)

        def __getitem__(self, i):
            x, y = source[i]
            return prep(x), _labels(y, num_classes, config)

        def on_epoch_end(self):
            source.on_epoch_end()

    return Prepared()


def prepare_split(bundle, split: str, prep: Preprocessing, config: TrainConfig):
    """``(x, y)`` arrays, or a streaming dataset, ready for `data_kwargs`; None without the split."""
    data = bundle.get(split)
    if data is None:
        return None
    if isinstance(data, tuple):
        return prep(data[0]), _labels(data[1], bundle.num_classes, config)
    return _prepared_dataset(data, prep, bundle.num_classes, config)


def data_kwargs(data: Any, batch_size: int | None, *, shuffle: bool = False) -> dict:
    """``Model.fit``/``Model.evaluate`` data arguments for a `prepare_split` result.

    Args:
        data: ``(x, y)`` arrays or a dataset that yields ``(x, y)`` batches.
        batch_size: the batch size, used with arrays (a dataset batches itself).
        shuffle: shuffle arrays every epoch (``fit``); a dataset shuffles itself.

    Returns:
        ``{"x", "y", "batch_size"[, "shuffle"]}`` for arrays, ``{"x"}`` for a dataset.
    """
    if not isinstance(data, tuple):
        return {"x": data}
    from zoo.training.distribute import local_batch

    out = {"x": data[0], "y": data[1], "batch_size": local_batch(batch_size)}
    if shuffle:
        out["shuffle"] = True
    return out


def steps_per_epoch(data: Any, batch_size: int) -> int:
    """Batches in one epoch of a `prepare_split` result."""
    import math

    if isinstance(data, tuple):
        return math.ceil(len(data[1]) / batch_size)
    return len(data)
