"""A flat folder of class subfolders split into train, val and test for a fine-tune.

`zoo.data.load` carves only a validation split from a ``root/<class>``
folder, so a fine-tune on one had no test metrics. `carve_folder` carves a
seeded, stratified test split first (``test_split`` of every class), then
validation (``validation_split`` of the whole) from the rest, and returns
the `DataBundle` with the file list of each split, which `fine_tune` saves
as ``splits.json`` in its run directory. Like `zoo.data.load`, a folder too
large for memory (``DEFAULT_MAX_IN_MEMORY_BYTES`` decoded) is streamed.
"""

from __future__ import annotations

import concurrent.futures
import os
from pathlib import Path

import numpy as np

from zoo.data.splits import carve

__all__ = ["SPLITS_JSON", "carve_folder", "carve_three", "is_flat_folder", "load_carved"]

SPLITS_JSON = "splits.json"


def is_flat_folder(data) -> bool:
    """Whether ``data`` names a ``root/<class>`` folder (no train/val/test subfolders)."""
    from zoo.data.screen import detect_layout

    if not isinstance(data, (str, os.PathLike)) or not os.path.isdir(data):
        return False
    return list(detect_layout(data)) == [None]


def carve_three(
    labels, test_split: float, validation_split: float, seed: int
) -> dict[str, np.ndarray]:
    """Seeded, stratified, disjoint ``train``/``val``/``test`` indices (sorted).

    Test takes ``round(n * test_split)`` examples spread over the classes in
    proportion; val takes ``round(n * validation_split)`` of the rest. Every
    class with enough examples keeps at least one in each split (see `carve`).
    """
    labels = np.asarray(labels)
    rest, test = carve(labels, test_split, seed)
    fraction = validation_split / (1 - test_split) if validation_split else 0.0
    train, val = carve(labels[rest], min(fraction, 0.9), seed + 1)
    return {"train": rest[train], "val": rest[val], "test": test}


def carve_folder(root, config, *, test_split: float, image_size=None, channels=None):
    """Loads a flat class folder as train/val/test carved with ``config.seed``.

    Args:
        root: the ``root/<class>`` folder.
        config: the `TrainConfig` (``validation_split``, ``seed``, ``batch_size``).
        test_split: fraction of the images held out as the test split (0 < f < 0.5).
        image_size: resize to ``(height, width)``; default: the images' common size.
        channels: 1 or 3; default: 1 when every image is grayscale.

    Returns:
        ``(bundle, splits)``: the `DataBundle` and ``{"seed", "test_split",
        "validation_split", "train": [paths], "val": [...], "test": [...]}``
        (paths relative to ``root``).

    Raises:
        ValueError: a bad ``test_split``; `DataError` for an unusable folder.
    """
    from zoo.constants import DEFAULT_SEED
    from zoo.data.bundle import DataBundle
    from zoo.data.images import GRAY_MODES
    from zoo.data.screen import screen_folder
    from zoo.data.sources import DEFAULT_MAX_IN_MEMORY_BYTES
    from zoo.data.splits import LoadOptions, fingerprint

    if not 0 < test_split < 0.5:
        raise ValueError(f"test_split must be in (0, 0.5); received {test_split!r}.")
    root = Path(root)
    seed = DEFAULT_SEED if config.seed is None else config.seed
    report = screen_folder(root)
    records = report.files(None)
    index = carve_three([r.label for r in records], test_split, config.validation_split, seed)
    order = np.random.default_rng(seed).permutation(len(index["train"]))
    index["train"] = index["train"][order]
    size = tuple(image_size or _common_size(records, root))
    channels = channels or (1 if all(r.mode in GRAY_MODES for r in records) else 3)
    streaming = len(records) * int(np.prod((*size, channels))) > DEFAULT_MAX_IN_MEMORY_BYTES
    load = _stream if streaming else _decode
    arrays = {s: load([records[i] for i in idx], root, size, channels, s, config.batch_size, seed)
              for s, idx in index.items()}  # fmt: skip
    splits = {s: [records[i].path for i in idx] for s, idx in index.items()}
    opts = LoadOptions.make(
        image_size=size, channels=channels, batch_size=config.batch_size,
        validation_split=config.validation_split, split=None, seed=seed,
        max_in_memory_bytes=0, screen=True, max_pixels=0, workers=None,
    )  # fmt: skip
    content = f"{report.content_hash} carved test_split={test_split}"
    bundle = DataBundle(
        train=arrays["train"], val=arrays["val"] if len(index["val"]) else None,
        test=arrays["test"], class_names=report.class_names, input_shape=(*size, channels),
        source=f"image folder {root} (root/<class>, carved train/val/test)"
        + (", streaming" if streaming else ""),
        fingerprint=fingerprint(content, opts, (*size, channels)),
        batch_size=config.batch_size, screen_report=report,
    )  # fmt: skip
    meta = {"seed": seed, "test_split": test_split, "validation_split": config.validation_split}
    return bundle, {**meta, **splits}


def _common_size(records, root) -> tuple[int, int]:
    from zoo.data.screen_report import DataError

    sizes = {(r.height, r.width) for r in records}
    if len(sizes) != 1:
        raise DataError(
            f"Images in {root} have {len(sizes)} different sizes; pass image_size=(height, "
            f"width) to resize them all."
        )
    return sizes.pop()


def _stream(records, root: Path, size, channels, split, batch_size, seed):
    """A split too large for memory, read from its files batch by batch (as `zoo.data.load`)."""
    from zoo.data.streaming import ImageFileDataset

    return ImageFileDataset(
        [root / r.path for r in records], [r.label for r in records], image_size=size,
        channels=channels, batch_size=batch_size, shuffle=split == "train", seed=seed,
    )  # fmt: skip


def _decode(records, root: Path, size, channels, *_):
    """Decodes screened images into ``(x uint8 NHWC, y int32)``."""
    from zoo.data.images import decode_image

    x = np.empty((len(records), *size, channels), dtype=np.uint8)

    def work(i):
        x[i] = decode_image(
            root / records[i].path, channels=channels, image_size=size, verify=False
        )

    with concurrent.futures.ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(work, range(len(records))))
    return x, np.array([r.label for r in records], dtype=np.int32)


def load_carved(data, config, test_split, run_dir, *, resume: bool, force: bool):
    """The data bundle, a flat class folder carved into train/val/test.

    Returns:
        ``(bundle, splits)``: ``splits`` is the carve (saved as
        ``<run_dir>/splits.json``), or None for data that has its own splits.

    Raises:
        ValueError: a bad ``test_split``, or (on resume, unless ``force``) a
            carve that differs from the one the run saved.
    """
    from zoo.training.fit import load_data
    from zoo.training.runs import read_json, write_json

    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)):
        raise ValueError(f"test_split must be a fraction in [0, 0.5); received {test_split!r}.")
    if not (test_split and is_flat_folder(data)):
        return load_data(data, config), None
    bundle, splits = carve_folder(data, config, test_split=float(test_split))
    if run_dir is None:
        return bundle, splits
    path = os.path.join(os.fspath(run_dir), SPLITS_JSON)
    if resume and os.path.exists(path) and not force and read_json(path) != splits:
        raise ValueError(
            f"{path}: the folder's carve (train/val/test files) differs from the one this run "
            f"was trained on; resume with force=True to continue anyway."
        )
    os.makedirs(os.fspath(run_dir), exist_ok=True)
    write_json(path, splits)
    return bundle, splits
