"""Loading an image folder: screen it, carve val, decode in threads or stream.

Decoded folders are kept in the decoded-data cache (`zoo.data.cache`).

`zoo.data.sources.load` calls `from_folder` for a folder source.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from zoo.data import cache as cache_lib
from zoo.data.bundle import DataBundle
from zoo.data.images import GRAY_MODES, decode_many
from zoo.data.progress import Progress, progress_enabled
from zoo.data.screen import screen_folder
from zoo.data.screen_report import (
    DataError,
    ImageRecord,
    ScreenReport,
    SkippedFile,
    printable_name,
)
from zoo.data.splits import SPLITS, LoadOptions, carve, fingerprint

__all__ = ["from_folder"]


def from_folder(
    root: Path, opts: LoadOptions, *, cache=True, progress: bool | None = None
) -> DataBundle:
    """Screens ``root`` and loads its splits into a `DataBundle` (see `zoo.data.load`).

    ``cache`` (True: the default folder of `zoo.data.cache`; False: off; or a
    folder) keeps the decoded arrays and the screening report so that the next
    load of an unchanged folder skips both. ``progress`` shows counters on
    stderr (None: when stderr is a terminal).
    """
    folder = cache_lib.cache_dir(cache)
    key = cache_lib.folder_key(root, _cache_options(opts)) if folder is not None else None
    entry = cache_lib.read_entry(key, folder) if key is not None else None
    cached = _from_entry(*entry) if entry is not None and _entry_fits(entry[0], opts) else None
    if cached is not None:
        if progress_enabled(progress):
            where = cache_lib.entry_path(key, folder)
            print(f"loaded decoded {root} from the cache ({where})", file=sys.stderr)
        data, report, input_shape, failed = cached
        streaming = False
    else:
        report = screen_folder(
            root,
            max_pixels=opts.max_pixels,
            decode=opts.screen,
            workers=opts.workers,
            progress=progress,
        )
        data, report, input_shape, failed, streaming = _decode_splits(root, report, opts, progress)
        if key is not None and not streaming:
            cache_lib.write_entry(key, folder, *_to_entry(data, report, input_shape, failed))
    if failed:
        warnings.warn(
            f"{len(failed)} file(s) failed to decode after screening and were "
            f"skipped: " + "; ".join(f"{s.path}: {s.reason}" for s in failed[:5]),
            stacklevel=3,
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


def _decode_splits(root: Path, report: ScreenReport, opts: LoadOptions, progress):
    """Decodes (or streams) the requested splits of a screened folder.

    Returns ``(data, report, input_shape, failed, streaming)``; the report
    lists files that failed to decode as skipped.
    """
    records = _split_records(report, root, opts)
    chosen = [r for group in records.values() for r in group]
    image_size = opts.image_size or _common_size(chosen, root)
    channels = opts.channels or (1 if all(r.mode in GRAY_MODES for r in chosen) else 3)
    input_shape = (*image_size, channels)
    decoded_bytes = len(chosen) * int(np.prod(input_shape))
    streaming = decoded_bytes > opts.max_in_memory_bytes
    data: dict[str, Any] = {}
    failed: list[SkippedFile] = []
    counter = None
    if not streaming:
        counter = Progress("decoding", len(chosen), enabled=progress, detail=f"from {root}")
    for name, group in records.items():
        if streaming:
            data[name] = _stream(root, group, name, image_size, channels, opts)
        else:
            data[name], bad = _decode_all(root, group, image_size, channels, opts, counter)
            failed.extend(bad)
    if counter is not None:
        counter.close()
    if failed:
        bad_paths = {s.path for s in failed}
        report = dataclasses.replace(
            report,
            images=tuple(r for r in report.images if r.path not in bad_paths),
            skipped=tuple(sorted(report.skipped + tuple(failed), key=lambda s: s.path)),
        )
    return data, report, input_shape, failed, streaming


def _cache_options(opts: LoadOptions) -> dict:
    """The load options that shape the decoded arrays and the report (the cache key)."""
    return {
        **opts.describe(),
        "max_pixels": opts.max_pixels,
        "screen": opts.screen,
    }


def _entry_fits(arrays: dict, opts: LoadOptions) -> bool:
    """False when the cached arrays are above the in-memory limit (the load must stream)."""
    return sum(int(a.nbytes) for a in arrays.values()) <= opts.max_in_memory_bytes


def _to_entry(data: dict, report: ScreenReport, input_shape, failed) -> tuple[dict, dict]:
    """The arrays and the JSON metadata of a cache entry."""
    arrays = {}
    for name, (x, y) in data.items():
        arrays[f"x_{name}"], arrays[f"y_{name}"] = x, y
    meta = {
        "report": dataclasses.asdict(report),
        "input_shape": list(input_shape),
        "failed": [dataclasses.asdict(s) for s in failed],
        "splits": list(data),
    }
    return arrays, meta


def _from_entry(arrays: dict, meta: dict):
    """``(data, report, input_shape, failed)`` back from a cache entry; None if malformed."""
    try:
        raw = meta["report"]
        report = ScreenReport(
            root=raw["root"],
            class_names=tuple(printable_name(n) for n in raw["class_names"]),
            images=tuple(ImageRecord(**r) for r in raw["images"]),
            skipped=tuple(SkippedFile(**s) for s in raw["skipped"]),
            splits=tuple(raw["splits"]),
            decoded=raw["decoded"],
        )
        data = {name: (arrays[f"x_{name}"], arrays[f"y_{name}"]) for name in meta["splits"]}
        failed = [SkippedFile(**s) for s in meta["failed"]]
        input_shape = tuple(int(v) for v in meta["input_shape"])
        if any(x.shape[1:] != input_shape or len(x) != len(y) for x, y in data.values()):
            raise ValueError("arrays do not match the recorded shape")
    except (KeyError, TypeError, ValueError, AttributeError):
        cache_lib.STATS.corrupt += 1
        return None
    return data, report, input_shape, failed


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


def _decode_all(root, group, image_size, channels, opts, counter=None):
    """Decodes a split into one array; returns ((x, y), skipped files)."""
    x, errors = decode_many(
        [root / r.path for r in group],
        channels=channels,
        image_size=image_size,
        max_pixels=opts.max_pixels,
        verify=not opts.screen,  # screening verified every file already
        workers=opts.workers,
        progress=counter,
    )
    y = np.array([r.label for r in group], dtype=np.int32)
    bad = [SkippedFile(group[i].path, e) for i, e in enumerate(errors) if e]
    if bad:
        keep = np.array([e is None for e in errors], dtype=bool)
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
