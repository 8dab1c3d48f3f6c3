"""tensorflow-datasets sources: read a prepared data set into arrays, never download.

``tensorflow_datasets`` is imported only when a ``"tfds:NAME"`` source is
loaded. Data sets stored as ``array_record`` read without TensorFlow; the
default ``tfrecord`` storage needs TensorFlow installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from zoo.data.screen_report import DataError

__all__ = ["read_tfds"]


def _missing_tensorflow(error: BaseException) -> bool:
    """Whether ``error`` (or what it wraps) is TensorFlow failing to import."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if (
            isinstance(error, ModuleNotFoundError)
            and (error.name or "").split(".")[0] == "tensorflow"
        ):
            return True
        if "No module named 'tensorflow" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def read_tfds(spec: str, data_dir, splits, max_in_memory_bytes: int):
    """Reads a prepared tfds data set into arrays; never downloads."""
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError(
            f"'tfds:{spec}' needs tensorflow-datasets: pip install tensorflow-datasets"
        ) from None
    try:
        builder = tfds.builder(spec, data_dir=None if data_dir is None else str(data_dir))
    except Exception as error:  # noqa: BLE001 - DatasetNotFoundError and friends
        if _missing_tensorflow(error):
            raise DataError(
                f"tfds data set {spec!r} needs TensorFlow to be read, and TensorFlow is not "
                f"installed here. Install tensorflow, or export the data as an image folder or "
                f"an .npz file and pass that instead."
            ) from None
        raise DataError(f"Unknown tfds data set {spec!r}: {error}") from None
    if not builder.is_prepared():
        root = Path(builder.data_dir).parent.parent
        raise DataError(
            f"tfds data set {spec!r} is not prepared under {root} (looked for "
            f"{builder.data_dir}). keras-zoo never downloads data. To use it: on "
            f"a machine with network access run `tfds build {builder.name} "
            f"--data_dir DIR`, then copy DIR/{builder.name}/ to {root}/"
            f"{builder.name}/ here (or pass data_dir=DIR / set TFDS_DATA_DIR). "
            f"Data sets that need a manual download read their files from "
            f"{root}/downloads/manual/. Or export the images as folders "
            f"root/<class>/* and load the folder."
        )
    info = builder.info
    keys = info.supervised_keys
    if not keys or len(keys) != 2 or not all(isinstance(k, str) for k in keys):
        raise DataError(f"tfds data set {spec!r} has no (image, label) supervised keys")
    image_key, label_key = keys
    label_feature = info.features[label_key]
    class_names = list(getattr(label_feature, "names", None) or []) or None
    shape = info.features[image_key].shape
    wanted = {"train": "train", "validation": "val", "val": "val", "test": "test"}
    arrays = {}
    for tfds_split, split_info in info.splits.items():
        split = wanted.get(tfds_split)
        if split is None or split in arrays:
            continue
        if split not in splits and not (split == "train" and "val" in splits):
            continue
        if None not in shape:
            size = split_info.num_examples * int(np.prod(shape))
            if size > max_in_memory_bytes:
                raise DataError(
                    f"tfds {spec!r} split {tfds_split!r} would take {size:,} bytes, "
                    f"above max_in_memory_bytes={max_in_memory_bytes:,}; export "
                    f"it as an image folder to stream it."
                )
        arrays[split] = _read_tfds_split(builder, tfds_split, image_key, label_key)
    if not arrays:
        raise DataError(f"tfds data set {spec!r} has no train/validation/test split")
    label = f"tfds {builder.name}:{builder.version} ({Path(builder.data_dir)})"
    return arrays, class_names, label


def _read_tfds_split(builder, split, image_key, label_key):
    file_format = getattr(builder.info, "file_format", None)
    if str(getattr(file_format, "value", file_format)) == "array_record":
        source = builder.as_data_source(split=split)  # reads without TensorFlow
        examples = [source[i] for i in range(len(source))]
        x = np.stack([np.asarray(e[image_key]) for e in examples])
        y = np.asarray([e[label_key] for e in examples])
        return x, y
    try:
        import tensorflow_datasets as tfds

        dataset = builder.as_dataset(split=split, batch_size=-1, as_supervised=True)
        x, y = tfds.as_numpy(dataset)
        return x, y
    except ImportError as error:
        raise DataError(
            f"tfds {builder.name} is stored as tfrecord, which needs TensorFlow to "
            f"read ({error}); install tensorflow or prepare it with "
            f"file_format='array_record'."
        ) from None
