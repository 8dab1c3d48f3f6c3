"""`load`: one entry point for image folders, ``.npz`` files, tfds and the samples.

Images are decoded with Pillow into NumPy, so loading works on every Keras
backend without TensorFlow. Pixel values stay raw ``uint8`` in ``0..255``
(arrays given as float stay ``float32``); scaling is the model's or the
training's business. Labels are ``int32`` class indices into
``class_names``.

Layout of the package: `zoo.data.bundle` (`DataBundle`), `zoo.data.splits`
(options, split names, carve, fingerprint), `zoo.data.folders` (image folders),
`zoo.data.arrays` (``.npz`` and arrays), `zoo.data.tfds_source`, `zoo.data.sample`.
This module only dispatches; it imports no Keras.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from zoo.constants import DEFAULT_SEED
from zoo.data.arrays import check_labels, check_pair, read_npz, transform_images
from zoo.data.bundle import DataBundle
from zoo.data.folders import from_folder
from zoo.data.images import DEFAULT_MAX_PIXELS
from zoo.data.sample import SAMPLE_NAMES, resolve_sample, sample_path
from zoo.data.screen_report import DataError
from zoo.data.splits import SPLITS, LoadOptions, carve, fingerprint

__all__ = ["DEFAULT_MAX_IN_MEMORY_BYTES", "SAMPLE_NAMES", "DataBundle", "load"]

#: Decoded data larger than this streams from files instead (2 GiB).
DEFAULT_MAX_IN_MEMORY_BYTES = 2 * 1024**3


def load(
    source: str | os.PathLike,
    *,
    image_size: int | Sequence[int] | None = None,
    channels: int | None = None,
    batch_size: int = 32,
    validation_split: float = 0.1,
    seed: int = DEFAULT_SEED,
    split: str | Sequence[str] | None = None,
    max_in_memory_bytes: int = DEFAULT_MAX_IN_MEMORY_BYTES,
    screen: bool = True,
    data_dir: str | os.PathLike | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int | None = None,
    cache: bool | str | os.PathLike = True,
    progress: bool | None = None,
) -> DataBundle:
    """Loads an image classification data set.

    Sources:

    - an image folder ``root/<class>/*`` or ``root/{train,val,test}/<class>/*``
      (``validation`` and ``valid`` also name the val split), screened first
      with `zoo.data.screen_folder`: bad files are skipped with a reason;
    - a ``.npz`` file with ``x_train, y_train`` (and optionally ``x_val,
      y_val``, ``x_test, y_test``) or ``x, y``, plus optional
      ``class_names``; it is read with ``allow_pickle=False``;
    - ``"tfds:NAME"`` (or ``"tfds:NAME:VERSION"``), a tensorflow-datasets
      data set already prepared under ``data_dir``; nothing is downloaded;
    - ``"mnist-sample"`` (or ``"sample"``): 5000 train + 1000 test real MNIST
      digits shipped in the package;
    - ``"cifar10-sample"``: 500 train + 1000 test real CIFAR-10 images
      shipped in the package.

    When there is no val split, one is carved from train: ``validation_split``
    of every class, chosen with ``seed`` (stratified and deterministic).

    Pixels are kept raw (``uint8`` 0..255); models decide the scaling.

    Args:
        source: folder path, ``.npz`` path, ``"tfds:NAME"``, ``"mnist-sample"``
            or ``"cifar10-sample"``.
        image_size: ``(height, width)`` (or one int for square) to resize to
            (bilinear). None keeps the size; a folder of mixed sizes then
            raises.
        channels: 1 or 3 to convert to; None keeps (a folder mixing gray and
            color images becomes 3).
        batch_size: default batch size of `DataBundle.as_fit_args` and of the
            streaming datasets. Defaults to 32.
        validation_split: fraction of train carved as val when the source has
            none; 0 for no val. Defaults to 0.1.
        seed: seed of the carve and of the one-time shuffle of folder train
            data. Defaults to ``DEFAULT_SEED`` (1337).
        split: load only these splits (``"train"``, ``"val"``, ``"test"``);
            None loads all.
        max_in_memory_bytes: decoded folders larger than this stream from
            files as a `keras.utils.PyDataset`. Defaults to 2 GiB.
        screen: fully decode every file while screening (True) or check only
            headers (faster; files failing later are skipped at load time).
        data_dir: tfds data folder (tfds' default when None).
        max_pixels: largest ``width * height`` accepted per image.
        workers: threads for screening and decoding (default: CPU count, at
            most 8); also the streaming datasets' ``workers``.
        cache: image folders only: keep the decoded arrays and the screening
            report in the decoded-data cache, keyed by the folder's listing
            (paths, sizes, mtimes) and these options, so that loading an
            unchanged folder again skips screening and decoding. True uses
            ``$ZOO_CACHE`` or ``~/.cache/keras-zoo/decoded`` (``ZOO_CACHE=off``
            disables), False bypasses it, a path names the folder. See
            `zoo.data.cache`.
        progress: show screening/decoding counters on stderr; None (the
            default) shows them when stderr is a terminal.

    Returns:
        A `DataBundle`.

    Raises:
        DataError: (a ValueError) for a missing/unknown source, unusable data
            (empty class folder, single class, no images, labels beyond the
            class count, NaN/Inf, mixed sizes without ``image_size``), or a
            tfds data set that is not prepared (the message says where to put
            it).
        ValueError: for invalid arguments.
    """
    opts = LoadOptions.make(
        image_size=image_size,
        channels=channels,
        batch_size=batch_size,
        validation_split=validation_split,
        seed=seed,
        split=split,
        max_in_memory_bytes=max_in_memory_bytes,
        screen=screen,
        max_pixels=max_pixels,
        workers=workers,
    )
    if isinstance(source, str) and source.lower() in SAMPLE_NAMES:
        path = sample_path(source)
        arrays, class_names = read_npz(path)
        label = f"{resolve_sample(source).name} ({path.name}, embedded)"
        return _from_arrays(arrays, class_names, label, opts)
    if isinstance(source, str) and source.startswith("tfds:"):
        from zoo.data.tfds_source import read_tfds

        arrays, class_names, label = read_tfds(
            source[5:], data_dir, opts.splits, opts.max_in_memory_bytes
        )
        return _from_arrays(arrays, class_names, label, opts)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"source must be a path or a string; received {type(source).__name__}")
    path = Path(source).expanduser()
    if path.is_dir():
        return from_folder(path, opts, cache=cache, progress=progress)
    if path.is_file() and path.suffix.lower() == ".npz":
        arrays, class_names = read_npz(path)
        return _from_arrays(arrays, class_names, f"npz {path}", opts)
    state = "a file that is not .npz" if path.exists() else "does not exist"
    raise DataError(
        f"Unknown data source {str(source)!r} ({state}). Expected an image folder "
        f"(root/<class>/*), a .npz file, 'tfds:NAME' or "
        f"{' / '.join(repr(n) for n in SAMPLE_NAMES)}."
    )


# --------------------------------------------------------------------------- arrays


def _from_arrays(arrays: dict, class_names, source: str, opts: LoadOptions) -> DataBundle:
    checked = {s: check_pair(s, *pair, source) for s, pair in arrays.items()}
    class_names = check_labels([y for _, y in checked.values()], class_names, source)
    if len(class_names) < 2:
        raise DataError(f"{source}: needs at least 2 classes; found {len(class_names)}")
    if "val" not in checked and "train" in checked and opts.validation_split > 0:
        x, y = checked["train"]
        train_idx, val_idx = carve(y, opts.validation_split, opts.seed)
        checked["train"] = (x[train_idx], y[train_idx])
        checked["val"] = (x[val_idx], y[val_idx])
    content = hashlib.sha256()
    for split in SPLITS:
        if split in checked:
            for array in checked[split]:
                content.update(f"{split}{array.dtype}{array.shape}".encode())
                content.update(np.ascontiguousarray(array).tobytes())
    content.update(json.dumps(list(class_names)).encode())
    data = {
        s: (transform_images(x, opts.image_size, opts.channels), y)
        for s, (x, y) in checked.items()
        if s in opts.splits
    }
    if not data:
        raise DataError(
            f"None of the requested splits {list(opts.splits)} is in {source} "
            f"(found: {sorted(checked)})"
        )
    input_shape = tuple(int(v) for v in next(iter(data.values()))[0].shape[1:])
    return DataBundle(
        train=data.get("train"),
        val=data.get("val"),
        test=data.get("test"),
        class_names=tuple(class_names),
        input_shape=input_shape,
        source=source,
        fingerprint=fingerprint(content.hexdigest(), opts, input_shape),
        batch_size=opts.batch_size,
    )
