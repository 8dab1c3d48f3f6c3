"""The decoded-data cache: image folders decoded once, loaded in a second the next time.

Screening and decoding the 70,000-file MNIST folder costs tens of seconds
before the first epoch; the result only depends on the folder's files and the
decode options. An entry is one uncompressed ``.npz`` (the decoded arrays and
the screening report as JSON bytes) named by the sha256 of:

- the folder's absolute path and every entry below it (relative path, kind,
  size, ``mtime_ns``, ``ctime_ns``), walked without following links, so any
  changed, added, removed or renamed file makes a new key;
- the options that shape the arrays (image size, channels, split, seed,
  validation fraction, pixel cap, screening mode), the Pillow and NumPy
  versions, and `FORMAT`.

Folder: ``$ZOO_CACHE``, else ``$XDG_CACHE_HOME/keras-zoo/decoded``, else
``~/.cache/keras-zoo/decoded``; ``ZOO_CACHE=off`` (or ``load(..., cache=False)``)
turns it off. Entries are written to a temporary file in the same folder,
fsynced, then renamed into place (`os.replace`), so concurrent runs never see
a partial entry and the last writer wins with a whole file. Entries are read
with ``np.load(allow_pickle=False)``; an unreadable or truncated entry counts
as a miss, is removed, and is rebuilt. The folder holds at most
``$ZOO_CACHE_MAX_BYTES`` (default `DEFAULT_MAX_BYTES`, 4 GiB): after each
write the least recently used entries (oldest mtime; a hit touches its entry)
are removed, and an entry larger than the cap is not written.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ENV_DIR",
    "ENV_MAX_BYTES",
    "FORMAT",
    "STATS",
    "CacheStats",
    "cache_dir",
    "entry_path",
    "evict",
    "folder_key",
    "max_bytes",
    "read_entry",
    "write_entry",
]

ENV_DIR = "ZOO_CACHE"
ENV_MAX_BYTES = "ZOO_CACHE_MAX_BYTES"
#: Default size cap of the cache folder (4 GiB).
DEFAULT_MAX_BYTES = 4 * 1024**3
#: Bumped whenever the entry layout or the decoding changes.
FORMAT = 1
_OFF = {"0", "off", "false", "no", "none"}
_META = "__meta__"
_STALE_TMP_S = 3600  # temporary files older than this are leftovers of killed writers


@dataclasses.dataclass
class CacheStats:
    """Counters of this process's cache use (`STATS`); tests and benchmarks read them."""

    hits: int = 0
    misses: int = 0
    writes: int = 0
    too_big: int = 0
    corrupt: int = 0
    evicted: int = 0


#: This process's counters.
STATS = CacheStats()


def cache_dir(cache=True) -> Path | None:
    """The cache folder for a ``cache`` argument, or None when caching is off.

    ``cache`` is True (the environment decides), False (off), or a folder.
    """
    if cache is False or cache is None:
        return None
    if cache is not True:
        return Path(cache).expanduser()
    value = os.environ.get(ENV_DIR, "").strip()
    if value.lower() in _OFF:
        return None
    if value:
        return Path(value).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "keras-zoo" / "decoded"


def max_bytes() -> int:
    """The size cap: ``$ZOO_CACHE_MAX_BYTES`` or `DEFAULT_MAX_BYTES`."""
    value = os.environ.get(ENV_MAX_BYTES, "").strip()
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        return max(0, int(value))
    except ValueError:
        raise ValueError(f"{ENV_MAX_BYTES} must be a number of bytes; received {value!r}") from None


def folder_key(root: str | os.PathLike, options: dict) -> str:
    """sha256 of ``root``'s listing (paths, kinds, sizes, times) and ``options``."""
    import PIL

    root = Path(root).resolve()
    digest = hashlib.sha256()
    header = {
        "format": FORMAT,
        "root": str(root),
        "options": options,
        "pillow": PIL.__version__,
        "numpy": np.__version__,
    }
    digest.update(json.dumps(header, sort_keys=True, default=str).encode())
    stack = [(str(root), "")]  # (folder, its path relative to root with a trailing /)
    while stack:
        folder, prefix = stack.pop()
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as error:
            digest.update(f"\0unreadable {prefix}: {error}".encode())
            continue
        lines = []
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            kind = "l" if entry.is_symlink() else "d" if entry.is_dir() else "f"
            rel = prefix + entry.name
            lines.append(f"{kind}\t{rel}\t{info.st_size}\t{info.st_mtime_ns}\t{info.st_ctime_ns}")
            if kind == "d":
                stack.append((entry.path, rel + "/"))
        digest.update(("\0".join(lines) + "\0\0").encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def entry_path(key: str, folder: Path) -> Path:
    """Where the entry of ``key`` lives in ``folder``."""
    return Path(folder) / f"{key}.npz"


def read_entry(key: str, folder: Path | None) -> tuple[dict[str, np.ndarray], dict] | None:
    """``(arrays, meta)`` of the entry for ``key``, or None (miss, or unreadable: removed)."""
    if folder is None:
        return None
    path = entry_path(key, folder)
    try:
        with np.load(path, allow_pickle=False) as archive:
            meta = json.loads(bytes(archive[_META]).decode())
            if meta.get("key") != key or meta.get("format") != FORMAT:
                raise ValueError("entry does not match its name")
            arrays = {name: archive[name] for name in archive.files if name != _META}
    except FileNotFoundError:
        STATS.misses += 1
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, UnicodeDecodeError):
        STATS.corrupt += 1
        STATS.misses += 1
        _remove(path)
        return None
    try:
        os.utime(path)  # most recently used
    except OSError:
        pass
    STATS.hits += 1
    return arrays, meta


def write_entry(
    key: str, folder: Path | None, arrays: dict[str, np.ndarray], meta: dict
) -> Path | None:
    """Stores an entry atomically, then evicts beyond the cap; None when not stored.

    Not stored (and no error) when caching is off, the entry alone is bigger
    than the cap, or the folder cannot be written (read-only home, full disk).
    """
    if folder is None:
        return None
    cap = max_bytes()
    if sum(int(a.nbytes) for a in arrays.values()) > cap:
        STATS.too_big += 1
        return None
    meta = {**meta, "key": key, "format": FORMAT}
    payload = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    path = entry_path(key, folder)
    tmp = None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{key[:16]}.", suffix=".tmp", dir=folder)
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **arrays, **{_META: payload})
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            _remove(Path(tmp))
        return None
    STATS.writes += 1
    evict(folder, cap, keep=path)
    return path


def evict(folder: Path, cap: int, *, keep: Path | None = None) -> list[Path]:
    """Removes least recently used entries until ``folder`` holds at most ``cap`` bytes.

    ``keep`` (the entry just written) is never removed; leftover temporary
    files of killed writers older than an hour are removed too.
    """
    entries = []
    now = time.time()
    for path in Path(folder).glob("*"):
        try:
            info = path.stat()
        except OSError:
            continue
        if path.suffix == ".tmp" and now - info.st_mtime > _STALE_TMP_S:
            _remove(path)
        elif path.suffix == ".npz":
            entries.append((info.st_mtime_ns, path.name, path, info.st_size))
    total = sum(size for *_, size in entries)
    removed = []
    for _, _, path, size in sorted(entries):
        if total <= cap:
            break
        if keep is not None and path == keep:
            continue
        _remove(path)
        removed.append(path)
        total -= size
    STATS.evicted += len(removed)
    return removed


def _remove(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
