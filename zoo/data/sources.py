"""`load`: one entry point for image folders, ``.npz`` files, tfds and the samples.

Images are decoded with Pillow into NumPy, so loading works on every Keras
backend without TensorFlow. Pixel values stay raw ``uint8`` in ``0..255``
(arrays given as float stay ``float32``); scaling is the model's or the
training's business. Labels are ``int32`` class indices into
``class_names``.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.arrays import check_pair, read_npz, transform_images
from zoo.data.images import (
    DEFAULT_MAX_PIXELS,
    GRAY_MODES,
    BadImageError,
    decode_image,
)
from zoo.data.sample import SAMPLE_NAMES, resolve_sample, sample_path
from zoo.data.screen import (
    DataError,
    ImageRecord,
    ScreenReport,
    SkippedFile,
    screen_folder,
)

__all__ = ["DEFAULT_MAX_IN_MEMORY_BYTES", "SAMPLE_NAMES", "DataBundle", "load"]

#: Decoded data larger than this streams from files instead (2 GiB).
DEFAULT_MAX_IN_MEMORY_BYTES = 2 * 1024**3

SPLITS = ("train", "val", "test")
_SPLIT_ALIASES = {"train": "train", "val": "val", "validation": "val", "test": "test"}


@dataclasses.dataclass(frozen=True, eq=False)
class DataBundle:
    """A loaded data set: splits, class names and what identifies it.

    Each of ``train``, ``val`` and ``test`` is None, an in-memory pair
    ``(x, y)`` (``x`` NHWC ``uint8`` 0..255, or ``float32`` when the source
    was float; ``y`` ``int32``), or a streaming `keras.utils.PyDataset`
    yielding such batches.

    Attributes:
        train: training split.
        val: validation split (given, or carved from train with the seed).
        test: test split.
        class_names: class names; index = label (sorted folder names).
        input_shape: ``(height, width, channels)``.
        source: what was loaded, in words.
        fingerprint: sha256 over the data's content and the options that
            shaped it (split, seed, size, channels); a resumed training run
            can refuse data whose fingerprint changed.
        batch_size: default batch size for `as_fit_args`.
        screen_report: the `ScreenReport` for folders, else None.
    """

    train: Any
    val: Any
    test: Any
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    source: str
    fingerprint: str
    batch_size: int = 32
    screen_report: ScreenReport | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def get(self, split: str):
        """The data of one split: ``"train"``, ``"val"``/``"validation"``, ``"test"``."""
        return getattr(self, _split_name(split))

    def num_examples(self, split: str) -> int:
        """Number of examples in a split (0 when absent)."""
        data = self.get(split)
        if data is None:
            return 0
        if isinstance(data, tuple):
            return len(data[1])
        return len(data.paths)

    def as_fit_args(
        self,
        split: str = "train",
        *,
        batch_size: int | None = None,
        shuffle: bool | None = None,
    ) -> dict:
        """Keyword arguments for ``model.fit`` (or ``evaluate``) on one split.

        In memory: ``{"x": x, "y": y, "batch_size": ...}``, plus ``shuffle``
        for the train split or when given. Streaming: ``{"x": dataset}``
        (the dataset batches and shuffles itself).

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``. Defaults to train.
            batch_size: defaults to the bundle's ``batch_size``.
            shuffle: defaults to True for train, else not passed.

        Returns:
            A dict to unpack into ``fit``/``evaluate``.

        Raises:
            DataError: when the split is absent.
        """
        data = self.get(split)
        if data is None:
            raise DataError(
                f"{self.source} has no {_split_name(split)!r} split; present: "
                f"{[s for s in SPLITS if self.get(s) is not None]}"
            )
        batch_size = int(batch_size or self.batch_size)
        if shuffle is None and _split_name(split) == "train":
            shuffle = True
        if isinstance(data, tuple):
            args = {"x": data[0], "y": data[1], "batch_size": batch_size}
            if shuffle is not None:
                args["shuffle"] = bool(shuffle)
            return args
        changes = {}
        if batch_size != data.batch_size:
            changes["batch_size"] = batch_size
        if shuffle is not None and bool(shuffle) != data.shuffle:
            changes["shuffle"] = bool(shuffle)
        return {"x": data.replace(**changes) if changes else data}

    def fit_kwargs(self, *, batch_size: int | None = None, shuffle: bool = True) -> dict:
        """`as_fit_args` for train plus ``validation_data`` when there is a val split.

        Example:

        >>> bundle = load("mnist-sample")  # doctest: +SKIP
        >>> model.fit(**bundle.fit_kwargs(), epochs=2)  # doctest: +SKIP
        """
        args = self.as_fit_args("train", batch_size=batch_size, shuffle=shuffle)
        if self.val is not None:
            val = self.as_fit_args("val", batch_size=batch_size)
            args["validation_data"] = (val["x"], val["y"]) if "y" in val else val["x"]
        return args

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{s}={self.num_examples(s)}{'' if isinstance(self.get(s), tuple) else ' (streaming)'}"
            for s in SPLITS
            if self.get(s) is not None
        )
        return (
            f"DataBundle(source={self.source!r}, num_classes={self.num_classes}, "
            f"input_shape={self.input_shape}, {sizes}, "
            f"fingerprint={self.fingerprint[:12]}...)"
        )


def load(
    source: str | os.PathLike,
    *,
    image_size: int | Sequence[int] | None = None,
    channels: int | None = None,
    batch_size: int = 32,
    validation_split: float = 0.1,
    seed: int = 1337,
    split: str | Sequence[str] | None = None,
    max_in_memory_bytes: int = DEFAULT_MAX_IN_MEMORY_BYTES,
    screen: bool = True,
    data_dir: str | os.PathLike | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    workers: int | None = None,
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
            data. Defaults to 1337.
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
    opts = _Options.make(
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
        return _from_folder(path, opts)
    if path.is_file() and path.suffix.lower() == ".npz":
        arrays, class_names = read_npz(path)
        return _from_arrays(arrays, class_names, f"npz {path}", opts)
    state = "a file that is not .npz" if path.exists() else "does not exist"
    raise DataError(
        f"Unknown data source {str(source)!r} ({state}). Expected an image folder "
        f"(root/<class>/*), a .npz file, 'tfds:NAME' or "
        f"{' / '.join(repr(n) for n in SAMPLE_NAMES)}."
    )


@dataclasses.dataclass(frozen=True)
class _Options:
    image_size: tuple[int, int] | None
    channels: int | None
    batch_size: int
    validation_split: float
    seed: int
    splits: tuple[str, ...]
    max_in_memory_bytes: int
    screen: bool
    max_pixels: int
    workers: int | None

    @classmethod
    def make(cls, *, image_size, channels, batch_size, validation_split, split, **rest):
        if image_size is not None:
            size = (image_size, image_size) if isinstance(image_size, int) else image_size
            size = tuple(size)
            if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
                raise ValueError(
                    f"image_size must be (height, width) of positive ints; received {image_size!r}"
                )
            image_size = size
        if channels not in (None, 1, 3):
            raise ValueError(f"channels must be 1, 3 or None; received {channels!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; received {batch_size!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1); received {validation_split!r}")
        if split is None:
            splits = SPLITS
        else:
            names = [split] if isinstance(split, str) else list(split)
            splits = tuple(_split_name(name) for name in names)
        return cls(
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            validation_split=float(validation_split),
            splits=splits,
            **rest,
        )

    def describe(self) -> dict:
        """The options that change the data a model sees (for the fingerprint)."""
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "validation_split": self.validation_split,
            "seed": self.seed,
            "splits": self.splits,
        }


def _split_name(name: str) -> str:
    try:
        return _SPLIT_ALIASES[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"Unknown split {name!r}; expected one of train, val (validation), test"
        ) from None


def _fingerprint(content: str, opts: _Options, shape) -> str:
    payload = json.dumps(
        {"content": content, "options": opts.describe(), "input_shape": shape},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _carve(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split of indices into (train, val), both sorted.

    The val total is ``round(len(labels) * fraction)`` spread over classes in
    proportion (largest remainders first); every class with at least 2
    examples keeps at least one on each side.
    """
    if fraction <= 0:
        return np.arange(len(labels)), np.zeros(0, dtype=np.int64)
    classes, sizes = np.unique(labels, return_counts=True)
    exact = sizes * fraction
    counts = np.floor(exact).astype(int)
    missing = int(np.floor(len(labels) * fraction + 0.5)) - int(counts.sum())
    for i in np.argsort(-(exact - counts), kind="stable")[: max(missing, 0)]:
        counts[i] += 1
    counts = np.where(sizes >= 2, np.clip(counts, 1, sizes - 1), 0)
    rng = np.random.default_rng(seed)
    val = []
    for label, count in zip(classes, counts, strict=False):
        members = np.flatnonzero(labels == label)
        val.extend(rng.permutation(members)[:count])
    val = np.sort(np.asarray(val, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val


# --------------------------------------------------------------------------- folders


def _from_folder(root: Path, opts: _Options) -> DataBundle:
    report = screen_folder(
        root, max_pixels=opts.max_pixels, decode=opts.screen, workers=opts.workers
    )
    records: dict[str, list[ImageRecord]] = {}
    if report.splits:
        for name in report.splits:
            records[name] = report.files(name)
    else:
        records["train"] = report.files(None)
    rng = np.random.default_rng(opts.seed)
    if "train" in records:
        train = records["train"]
        if "val" not in records and opts.validation_split > 0:
            labels = np.array([r.label for r in train])
            train_idx, val_idx = _carve(labels, opts.validation_split, opts.seed)
            records["val"] = [train[i] for i in val_idx]
            train = [train[i] for i in train_idx]
        records["train"] = [train[i] for i in rng.permutation(len(train))]
    records = {s: records[s] for s in SPLITS if s in records and s in opts.splits}
    if not any(records.values()):
        raise DataError(
            f"None of the requested splits {list(opts.splits)} is in {root} "
            f"(found: {list(report.splits) or ['train']})",
            report,
        )
    chosen = [r for group in records.values() for r in group]
    image_size = opts.image_size or _common_size(chosen, root)
    channels = opts.channels or (1 if all(r.mode in GRAY_MODES for r in chosen) else 3)
    input_shape = (*image_size, channels)
    decoded_bytes = len(chosen) * int(np.prod(input_shape))
    streaming = decoded_bytes > opts.max_in_memory_bytes
    data: dict[str, Any] = {}
    failed: list[SkippedFile] = []
    for name, group in records.items():
        if streaming:
            data[name] = _stream(root, group, name, image_size, channels, opts)
        else:
            data[name], bad = _decode_all(root, group, image_size, channels, opts)
            failed.extend(bad)
    if failed:
        warnings.warn(
            f"{len(failed)} file(s) failed to decode after screening and were "
            f"skipped: " + "; ".join(f"{s.path}: {s.reason}" for s in failed[:5]),
            stacklevel=3,
        )
        bad_paths = {s.path for s in failed}
        report = dataclasses.replace(
            report,
            images=tuple(r for r in report.images if r.path not in bad_paths),
            skipped=tuple(sorted(report.skipped + tuple(failed), key=lambda s: s.path)),
        )
    layout = "root/<split>/<class>" if report.splits else "root/<class>"
    return DataBundle(
        train=data.get("train"),
        val=data.get("val"),
        test=data.get("test"),
        class_names=report.class_names,
        input_shape=input_shape,
        source=f"image folder {root} ({layout})" + (", streaming" if streaming else ""),
        fingerprint=_fingerprint(report.content_hash, opts, input_shape),
        batch_size=opts.batch_size,
        screen_report=report,
    )


def _common_size(records: list[ImageRecord], root: Path) -> tuple[int, int]:
    sizes = {(r.height, r.width) for r in records}
    if len(sizes) == 1:
        return sizes.pop()
    examples = ", ".join(f"{h}x{w}" for h, w in sorted(sizes)[:4])
    raise DataError(
        f"Images in {root} have {len(sizes)} different sizes (HxW: {examples}"
        f"{', ...' if len(sizes) > 4 else ''}); pass image_size=(height, width) "
        f"to resize them all."
    )


def _decode_all(root, group, image_size, channels, opts):
    """Decodes a split into one array; returns ((x, y), skipped files)."""
    x = np.empty((len(group), *image_size, channels), dtype=np.uint8)
    errors: list[str | None] = [None] * len(group)

    def work(i):
        try:
            x[i] = decode_image(
                root / group[i].path,
                channels=channels,
                image_size=image_size,
                max_pixels=opts.max_pixels,
                verify=not opts.screen,  # screening verified every file already
            )
        except BadImageError as error:
            errors[i] = str(error)

    workers = opts.workers or min(8, os.cpu_count() or 1)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, range(len(group)), chunksize=64))
    keep = np.array([e is None for e in errors], dtype=bool)
    y = np.array([r.label for r in group], dtype=np.int32)
    bad = [SkippedFile(group[i].path, e) for i, e in enumerate(errors) if e]
    if bad:
        x, y = x[keep], y[keep]
    return (x, y), bad


def _stream(root, group, name, image_size, channels, opts):
    from zoo.data.streaming import ImageFileDataset

    return ImageFileDataset(
        [root / r.path for r in group],
        [r.label for r in group],
        image_size=image_size,
        channels=channels,
        batch_size=opts.batch_size,
        shuffle=name == "train",
        seed=opts.seed,
        max_pixels=opts.max_pixels,
        workers=opts.workers or 1,
    )


# --------------------------------------------------------------------------- arrays


def _from_arrays(arrays: dict, class_names, source: str, opts: _Options) -> DataBundle:
    checked = {s: check_pair(s, *pair, source) for s, pair in arrays.items()}
    top = max((int(y.max()) for _, y in checked.values() if len(y)), default=-1)
    if top < 0:
        raise DataError(f"{source}: holds no examples")
    if class_names is None:
        class_names = [str(i) for i in range(top + 1)]
    if top >= len(class_names):
        raise DataError(
            f"{source}: label {top} is beyond the class count {len(class_names)} "
            f"(class_names={list(class_names)[:10]})"
        )
    if len(class_names) < 2:
        raise DataError(f"{source}: needs at least 2 classes; found {len(class_names)}")
    if "val" not in checked and "train" in checked and opts.validation_split > 0:
        x, y = checked["train"]
        train_idx, val_idx = _carve(y, opts.validation_split, opts.seed)
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
        fingerprint=_fingerprint(content.hexdigest(), opts, input_shape),
        batch_size=opts.batch_size,
    )
