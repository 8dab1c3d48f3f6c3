"""What screening found: `ScreenReport`, `ImageRecord`, `SkippedFile`, and `DataError`.

Plain data classes (standard library only); `zoo.data.screen` fills them and
every other data module raises `DataError`.
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import os

from zoo.errors import ZooError

__all__ = [
    "SKIPPED_FILE",
    "DataError",
    "ImageRecord",
    "ScreenReport",
    "SkippedFile",
    "printable_name",
    "read_skipped_listing",
    "skipped_listing",
    "skipped_summary",
]

_SHOWN_SKIPS = 50  # skipped files listed by str(report)
#: File name of the full list of skipped files in a run directory.
SKIPPED_FILE = "skipped_files.txt"
_MODE_NAMES = {
    "1": "1-bit",
    "LA": "gray+alpha",
    "I": "32-bit int",
    "I;16": "16-bit",
    "I;16B": "16-bit",
    "I;16L": "16-bit",
    "F": "float",
    "P": "palette",
    "PA": "palette+alpha",
}


class DataError(ZooError):
    """Data that cannot be used, with the reason; ``report`` when screened."""

    def __init__(self, message: str, report: ScreenReport | None = None):
        super().__init__(message)
        self.report = report


@dataclasses.dataclass(frozen=True)
class ImageRecord:
    """One usable image found by screening.

    Attributes:
        path: path relative to the screened root, with ``/`` separators.
        label: class index (into ``ScreenReport.class_names``).
        split: ``"train"``, ``"val"`` or ``"test"``; None for ``root/<class>``.
        width: width in pixels.
        height: height in pixels.
        mode: Pillow mode as stored (``"L"``, ``"RGB"``, ``"CMYK"``, ...).
        format: Pillow format (``"PNG"``, ``"JPEG"``, ...).
        nbytes: file size in bytes.
        sha256: hex digest of the file's bytes.
    """

    path: str
    label: int
    split: str | None
    width: int
    height: int
    mode: str
    format: str
    nbytes: int
    sha256: str


@dataclasses.dataclass(frozen=True)
class SkippedFile:
    """A file (or folder, ending in ``/``) left out, and why.

    ``path`` is printable: the bytes of a file name that is not UTF-8 (Linux
    allows any bytes) are shown as ``\\xNN`` escapes (`printable_name`).
    """

    path: str
    reason: str

    def __post_init__(self):
        object.__setattr__(self, "path", printable_name(self.path))


def printable_name(name: str) -> str:
    """``name`` with the undecodable bytes of a non-UTF-8 file name as ``\\xNN`` escapes."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return name


@dataclasses.dataclass(frozen=True)
class ScreenReport:
    """What `screen_folder` found; ``str(report)`` is a readable summary.

    Attributes:
        root: the screened folder (absolute).
        class_names: class folder names, sorted; index = label.
        images: the usable images, sorted by (split, class, path).
        skipped: files and folders left out, with reasons.
        splits: split names found (``root/<split>/<class>`` layout), or ``()``
            for the ``root/<class>`` layout.
        decoded: whether every image was fully decoded (False means only
            headers were checked).
    """

    root: str
    class_names: tuple[str, ...]
    images: tuple[ImageRecord, ...]
    skipped: tuple[SkippedFile, ...]
    splits: tuple[str, ...] = ()
    decoded: bool = True

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def counts(self) -> dict[str, int]:
        """Usable images per class name, all splits together."""
        counter = collections.Counter(record.label for record in self.images)
        return {name: counter[i] for i, name in enumerate(self.class_names)}

    @property
    def counts_by_split(self) -> dict[str | None, dict[str, int]]:
        """``{split: {class name: count}}``; the key is None for root/<class>."""
        result = {}
        for split in self.splits or (None,):
            counter = collections.Counter(r.label for r in self.files(split))
            result[split] = {n: counter[i] for i, n in enumerate(self.class_names)}
        return result

    @property
    def converted_modes(self) -> dict[str, int]:
        """Images per stored mode other than ``L``/``RGB`` (converted on load)."""
        counter = collections.Counter(r.mode for r in self.images if r.mode not in ("L", "RGB"))
        return dict(sorted(counter.items()))

    @property
    def image_sizes(self) -> dict[tuple[int, int], int]:
        """Images per ``(height, width)``, most common first."""
        counter = collections.Counter((r.height, r.width) for r in self.images)
        return dict(counter.most_common())

    @property
    def content_hash(self) -> str:
        """sha256 over every usable file's split, path, label and content."""
        digest = hashlib.sha256()
        for r in self.images:
            row = f"{r.split}\0{r.path}\0{r.label}\0{r.sha256}\n"
            digest.update(row.encode("utf-8", "surrogateescape"))  # non-UTF-8 names
        return digest.hexdigest()

    def files(self, split: str | None = None) -> list[ImageRecord]:
        """The usable images of one split (None: the ``root/<class>`` layout)."""
        return [record for record in self.images if record.split == split]

    def summary(self, max_files: int = 5) -> str:
        """A short block: skipped counts by reason, the first ``max_files`` names.

        Empty when nothing was skipped.
        """
        return skipped_summary(self.skipped, self.root, max_files=max_files)

    def __str__(self) -> str:
        layout = "root/<split>/<class>/" if self.splits else "root/<class>/"
        check = "decoded" if self.decoded else "headers checked"
        headline = (
            f"Screened {self.root} ({layout}, {check}): {self.num_images} usable "
            f"images in {self.num_classes} classes, {len(self.skipped)} skipped"
        )
        lines = [headline]
        by_split = self.counts_by_split
        columns = [s if s is not None else "images" for s in by_split]
        width = max([len("class")] + [len(n) for n in self.class_names])
        lines.append("  " + "class".ljust(width) + "".join(f"{c:>8}" for c in columns))
        for name in self.class_names:
            cells = "".join(f"{by_split[s][name]:>8}" for s in by_split)
            lines.append("  " + name.ljust(width) + cells)
        if self.converted_modes:
            modes = ", ".join(
                f"{_MODE_NAMES.get(m, m)} ({n})" for m, n in self.converted_modes.items()
            )
            lines.append(f"  modes converted on load (to L or RGB): {modes}")
        sizes = list(self.image_sizes.items())
        if sizes:
            shown = ", ".join(f"{h}x{w} ({n})" for (h, w), n in sizes[:3])
            more = f", ... {len(sizes) - 3} more" if len(sizes) > 3 else ""
            lines.append(f"  sizes (HxW): {shown}{more}")
        if self.skipped:
            lines.append(f"Skipped {len(self.skipped)}:")
            lines.extend(f"  {s.path}: {s.reason}" for s in self.skipped[:_SHOWN_SKIPS])
            if len(self.skipped) > _SHOWN_SKIPS:
                hidden = len(self.skipped) - _SHOWN_SKIPS
                lines.append(f"  ... and {hidden} more (report.skipped lists them all)")
        return "\n".join(lines)


def _reason_kind(reason: str) -> str:
    """The reason without its details (text after the first colon), for counting."""
    return reason.split(":", 1)[0].strip() or reason


def skipped_summary(skipped, root: str, max_files: int = 5, listing: str | None = None) -> str:
    """The short block `ScreenReport.summary` prints ("" for no skipped file).

    Args:
        skipped: `SkippedFile` items.
        root: the screened folder, named in the headline.
        max_files: how many file names are shown.
        listing: where the full list is (a path), named in the last line.
    """
    if not skipped:
        return ""
    counts = collections.Counter(_reason_kind(s.reason) for s in skipped)
    lines = [f"Skipped {len(skipped)} file(s) in {root}:"]
    lines.extend(f"  {n} x {kind}" for kind, n in counts.most_common())
    lines.extend(f"  {s.path}: {s.reason}" for s in skipped[:max_files])
    hidden = len(skipped) - max_files
    if hidden > 0 or listing:
        more = f"... and {hidden} more; " if hidden > 0 else ""
        where = f"full list in {listing}" if listing else "report.skipped lists them all"
        lines.append(f"  {more}{where}")
    return "\n".join(lines)


def skipped_listing(report: ScreenReport) -> str:
    """The full list for `SKIPPED_FILE`: a ``# root`` line, then ``path<TAB>reason`` lines."""
    rows = [f"{s.path}\t{s.reason}" for s in report.skipped]
    return "\n".join([f"# {report.root}", *rows]) + "\n"


def read_skipped_listing(path: str, default_root: str | None = None) -> ScreenReport:
    """Reads a `SKIPPED_FILE` written from `skipped_listing` back into a `ScreenReport`.

    ``default_root`` (else the listing's folder) stands in for a missing ``# root`` line.
    """
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    has_root = bool(lines) and lines[0].startswith("# ")
    root = lines[0][2:] if has_root else (default_root or os.path.dirname(path))
    rows = [line.split("\t", 1) for line in lines[1:] if "\t" in line]
    return ScreenReport(root, (), (), tuple(SkippedFile(p, reason) for p, reason in rows))
