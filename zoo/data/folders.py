"""Loading an image folder: screen it, carve val, decode in threads or stream.

`zoo.data.sources.load` calls `from_folder` for a folder source.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data.bundle import DataBundle
from zoo.data.images import GRAY_MODES, BadImageError, decode_image
from zoo.data.screen import screen_folder
from zoo.data.screen_report import DataError, ImageRecord, ScreenReport, SkippedFile
from zoo.data.splits import SPLITS, LoadOptions, carve, fingerprint

__all__ = ["from_folder"]


def from_folder(root: Path, opts: LoadOptions) -> DataBundle:
    """Screens ``root`` and loads its splits into a `DataBundle` (see `zoo.data.load`)."""
    report = screen_folder(
        root, max_pixels=opts.max_pixels, decode=opts.screen, workers=opts.workers
    )
    records = _split_records(report, root, opts)
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
        fingerprint=fingerprint(report.content_hash, opts, input_shape),
        batch_size=opts.batch_size,
        screen_report=report,
    )


def _split_records(
    report: ScreenReport, root: Path, opts: LoadOptions
) -> dict[str, list[ImageRecord]]:
    """The screened images of each requested split, val carved from train when absent.

    Train is shuffled once with ``opts.seed``; the carve is stratified and seeded.

    Raises:
        DataError: when none of the requested splits is in the folder.
    """
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
            train_idx, val_idx = carve(labels, opts.validation_split, opts.seed)
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
    return records


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
