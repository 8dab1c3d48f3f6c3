"""Screening an image folder before training.

Keras' ``image_dataset_from_directory`` filters by extension only, so a text
file named ``.jpg`` or a truncated JPEG crashes in the middle of an epoch, an
empty class folder silently becomes a class, and a small PNG that declares
20000x20000 pixels is decoded with no limit. `screen_folder` opens every file
first, skips the bad ones with a reason, and refuses folders that cannot make
a classification data set.

Two layouts are read:

- ``root/<class>/...`` (files may sit in subfolders of a class folder);
- ``root/{train,val|validation|valid,test}/<class>/...``: every subfolder of
  ``root`` is a split name.

Hidden files and folders (dot names) and symbolic links are never followed;
they are listed in the report as skipped.
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
from pathlib import Path

from zoo.data.images import (
    DEFAULT_MAX_PIXELS,
    IMAGE_EXTENSIONS,
    BadImageError,
    default_workers,
    open_image,
)
from zoo.data.progress import Progress
from zoo.data.screen_report import (
    DataError,
    ImageRecord,
    ScreenReport,
    SkippedFile,
    printable_name,
)

__all__ = [
    "SPLIT_NAMES",
    "DataError",
    "ImageRecord",
    "ScreenReport",
    "SkippedFile",
    "detect_layout",
    "screen_folder",
]

#: Folder names recognised as splits, mapped to the canonical split name.
SPLIT_NAMES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
}

_CHUNK = 256  # files per task of the screening threads


def detect_layout(root: str | os.PathLike) -> dict[str | None, Path]:
    """Finds the split folders of an image folder.

    Args:
        root: the data folder.

    Returns:
        ``{None: root}`` for the ``root/<class>`` layout, or
        ``{"train": ..., "val": ..., "test": ...}`` (those present) when every
        visible subfolder of ``root`` is a split name.

    Raises:
        DataError: when ``root`` is not a folder, or names one split twice
            (``val`` and ``validation``).
    """
    root = Path(root)
    if not root.is_dir():
        kind = "a file" if root.exists() else "missing"
        raise DataError(f"Expected an image folder; received {str(root)!r} ({kind})")
    subdirs = [
        entry
        for entry in sorted(os.scandir(root), key=lambda e: e.name)
        if not entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)
    ]
    if not subdirs or any(e.name.lower() not in SPLIT_NAMES for e in subdirs):
        return {None: root}
    layout: dict[str | None, Path] = {}
    for entry in subdirs:
        split = SPLIT_NAMES[entry.name.lower()]
        if split in layout:
            raise DataError(
                f"{root} has two folders for the {split!r} split: "
                f"{layout[split].name!r} and {entry.name!r}; keep one"
            )
        layout[split] = Path(entry.path)
    return layout


def screen_folder(
    root: str | os.PathLike,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    decode: bool = True,
    workers: int | None = None,
    progress: bool | None = None,
) -> ScreenReport:
    """Checks every file of an image folder and lists what is usable.

    Each candidate file is read once, hashed, opened with Pillow, refused when
    its header declares more than ``max_pixels`` pixels, then verified and
    fully decoded. Skipped (with reason): hidden files, symlinks, non-image
    extensions, zero-byte files, files Pillow cannot identify (text named
    ``.jpg``), unsupported formats, decompression bombs, corrupt or
    truncated files. Unusual modes (grayscale, RGBA, CMYK, 16-bit, palette)
    are kept and listed; they are converted on load.

    Args:
        root: ``root/<class>/...`` or ``root/<split>/<class>/...``.
        max_pixels: largest ``width * height`` accepted. Defaults to 40M.
        decode: fully decode every image (True, the default) or only check
            headers (faster; bad pixels are then found at load time).
        workers: threads used to read and decode; defaults to the CPU count
            (at most 8).
        progress: show ``screening N/M files`` on stderr (its first line
            before the folder is listed); None shows it when stderr is a
            terminal.

    Returns:
        A `ScreenReport`.

    Raises:
        DataError: for a folder that is missing, has no usable image, a single
            class, or a class folder with no usable image. ``error.report``
            holds the report.

    Example:

    >>> report = screen_folder("flowers")  # doctest: +SKIP
    >>> print(report)  # doctest: +SKIP
    """
    root = Path(root).resolve()
    layout = detect_layout(root)
    counter = Progress("screening", None, "files", enabled=progress, detail=str(root))
    skipped: list[SkippedFile] = []
    candidates: list[tuple[str | None, str, Path]] = []  # (split, class, file)
    class_dirs: dict[str | None, list[str]] = {}
    for split, split_dir in layout.items():
        class_dirs[split] = _scan_split(root, split, split_dir, candidates, skipped)
    class_names = tuple(sorted({c for names in class_dirs.values() for c in names}))
    index = {name: i for i, name in enumerate(class_names)}

    def check(item):
        split, class_name, path = item
        rel = path.relative_to(root).as_posix()
        try:
            data = path.read_bytes()
        except OSError as error:
            return SkippedFile(rel, f"cannot read: {error.strerror or error}")
        if not data:
            return SkippedFile(rel, "zero-byte file")
        try:
            image = open_image(data, max_pixels=max_pixels, decode=decode)
        except BadImageError as error:
            return SkippedFile(rel, str(error))
        return ImageRecord(
            path=rel,
            label=index[class_name],
            split=split,
            width=image.size[0],
            height=image.size[1],
            mode=image.mode,
            format=image.format,
            nbytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    counter.total = len(candidates)
    with counter:
        results = _map_chunks(check, candidates, workers or default_workers(), counter)
    images = [r for r in results if isinstance(r, ImageRecord)]
    skipped.extend(r for r in results if isinstance(r, SkippedFile))
    order = {"train": 0, "val": 1, "test": 2}
    images.sort(key=lambda r: (order.get(r.split, -1), r.label, r.path))
    skipped.sort(key=lambda s: s.path)
    report = ScreenReport(
        root=str(root),
        class_names=class_names,
        images=tuple(images),
        skipped=tuple(skipped),
        splits=tuple(s for s in ("train", "val", "test") if s in layout),
        decoded=decode,
    )
    _check_usable(report, class_dirs)
    return report


def _map_chunks(function, items: list, workers: int, counter: Progress) -> list:
    """``[function(item) for item in items]`` on ``workers`` threads, in chunks, in order."""

    def work(start: int) -> list:
        return [function(item) for item in items[start : start + _CHUNK]]

    starts = range(0, len(items), _CHUNK)
    parts: dict[int, list] = {}
    if workers == 1 or len(starts) <= 1:
        for start in starts:
            parts[start] = work(start)
            counter.update(len(parts[start]))
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(work, start): start for start in starts}
            for future in concurrent.futures.as_completed(futures):
                parts[futures[future]] = future.result()
                counter.update(len(parts[futures[future]]))
    return [result for start in starts for result in parts[start]]


def _scan_split(
    root: Path, split: str | None, split_dir: Path, candidates: list, skipped: list
) -> list[str]:
    """Lists class folders of one split; adds candidate files and skips."""

    def rel(path) -> str:
        return Path(path).relative_to(root).as_posix()

    class_names = []
    for entry in sorted(os.scandir(split_dir), key=lambda e: e.name):
        if entry.name.startswith("."):
            suffix = "/" if entry.is_dir(follow_symlinks=False) else ""
            skipped.append(SkippedFile(rel(entry.path) + suffix, "hidden (dot name)"))
        elif entry.is_symlink():
            skipped.append(SkippedFile(rel(entry.path), "symlink (not followed)"))
        elif not entry.is_dir():
            skipped.append(SkippedFile(rel(entry.path), "file outside any class folder"))
        else:
            name = printable_name(entry.name)  # a class name is shown and saved: no lone bytes
            class_names.append(name)
            found = _scan_class(Path(entry.path), rel, skipped)
            candidates.extend((split, name, path) for path in found)
    return class_names


def _scan_class(class_dir: Path, rel, skipped: list) -> list[Path]:
    """Walks one class folder; returns candidate image files, adds skips."""
    found = []
    for dirpath, dirnames, filenames in os.walk(class_dir, followlinks=False):
        kept = []
        for name in sorted(dirnames):
            path = os.path.join(dirpath, name)
            if name.startswith("."):
                skipped.append(SkippedFile(rel(path) + "/", "hidden (dot name)"))
            elif os.path.islink(path):
                skipped.append(SkippedFile(rel(path), "symlink (not followed)"))
            else:
                kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            path = Path(dirpath, name)
            if name.startswith("."):
                reason = "hidden (dot name)"
            elif path.is_symlink():
                reason = "symlink (not followed)"
            elif not path.is_file():
                reason = "not a regular file"
            elif path.suffix.lower() not in IMAGE_EXTENSIONS:
                reason = f"unsupported extension {path.suffix or '(none)'!r}"
            else:
                found.append(path)
                continue
            skipped.append(SkippedFile(rel(path), reason))
    return found


def _check_usable(report: ScreenReport, class_dirs: dict) -> None:
    """Raises DataError when the screened folder cannot make a data set."""
    where = f"in {report.root}"
    if not report.images:
        problem = (
            f"No usable images {where}"
            if report.class_names
            else f"No class folders {where}: expected root/<class>/<image files>"
        )
        raise DataError(f"{problem}.\n{report}", report)
    by_split = report.counts_by_split
    empty = [
        f"{split + '/' if split else ''}{name}"
        for split, names in class_dirs.items()
        for name in names
        if by_split[split][name] == 0
    ]
    if empty:
        raise DataError(
            f"Empty class folder(s) {where} (no usable image): {', '.join(empty)}. "
            f"Add images or remove the folder(s).\n{report}",
            report,
        )
    if report.num_classes < 2:
        raise DataError(
            f"Only one class {where} ({report.class_names[0]!r}); classification "
            f"needs at least 2 class folders.\n{report}",
            report,
        )
    if "train" in by_split:
        missing = [n for n, count in by_split["train"].items() if count == 0]
        if missing:
            raise DataError(
                f"Class(es) with no training image {where}: {', '.join(missing)} "
                f"(they appear only in other splits).\n{report}",
                report,
            )
