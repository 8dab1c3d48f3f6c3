"""The decoded-data cache, parallel decoding and progress counters of image folders."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from zoo.data import cache as cache_lib
from zoo.data import load
from zoo.data.images import decode_many
from zoo.data.screen import screen_folder

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _png(path, rng, size=(12, 10), mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    channels = 1 if mode == "L" else 3
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(pixels.squeeze(-1) if channels == 1 else pixels, mode).save(path)


def _folder(root, per_class=6, seed=0):
    rng = np.random.default_rng(seed)
    for split in ("train", "test"):
        for name in ("cat", "dog", "fox"):
            for i in range(per_class):
                _png(root / split / name / f"{i}.png", rng)
    (root / "train" / "cat" / "notes.txt").write_text("not an image")
    (root / "train" / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    return root


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("ZOO_CACHE", str(folder))
    monkeypatch.delenv("ZOO_CACHE_MAX_BYTES", raising=False)
    return folder


def _stats():
    return dataclasses.replace(cache_lib.STATS)


def _same(a, b):
    assert a.screen_report == b.screen_report
    assert str(a.screen_report) == str(b.screen_report)
    assert a.fingerprint == b.fingerprint and a.input_shape == b.input_shape
    for split in ("train", "val", "test"):
        x, y = getattr(a, split), getattr(b, split)
        assert (x is None) == (y is None)
        if x is None:
            continue
        assert x[0].dtype == y[0].dtype and np.array_equal(x[0], y[0])
        assert np.array_equal(x[1], y[1])


def test_second_load_hits_the_cache_and_matches_an_uncached_load(tmp_path, cache_dir):
    root = _folder(tmp_path / "data")
    before = _stats()
    first = load(root, validation_split=0.25)
    entries = list(cache_dir.glob("*.npz"))
    assert len(entries) == 1 and cache_lib.STATS.writes == before.writes + 1
    second = load(root, validation_split=0.25)
    assert cache_lib.STATS.hits == before.hits + 1
    assert cache_lib.STATS.writes == before.writes + 1  # nothing decoded nor written again
    _same(first, second)
    _same(second, load(root, validation_split=0.25, cache=False))
    assert any("broken.png" in s.path for s in second.screen_report.skipped)
    # Other decode options are another entry, not a wrong hit.
    resized = load(root, validation_split=0.25, image_size=8, channels=3)
    assert resized.train[0].shape[1:] == (8, 8, 3)
    assert len(list(cache_dir.glob("*.npz"))) == 2


@pytest.mark.parametrize("change", ["changed", "added", "removed"])
def test_a_changed_added_or_removed_file_invalidates(tmp_path, cache_dir, change):
    root = _folder(tmp_path / "data")
    first = load(root)
    target = root / "test" / "fox" / "0.png"
    if change == "changed":
        stamp = target.stat().st_mtime_ns
        _png(target, np.random.default_rng(99))
        os.utime(target, ns=(stamp + 10**9, stamp + 10**9))
    elif change == "added":
        _png(root / "test" / "fox" / "new.png", np.random.default_rng(99))
    else:
        target.unlink()
    before = _stats()
    second = load(root)
    assert cache_lib.STATS.hits == before.hits and cache_lib.STATS.writes == before.writes + 1
    _same(second, load(root, cache=False))
    counts = {"changed": 0, "added": 1, "removed": -1}[change]
    assert len(second.test[1]) == len(first.test[1]) + counts
    if change == "changed":
        assert first.screen_report.content_hash != second.screen_report.content_hash


def test_a_truncated_entry_is_ignored_and_rebuilt(tmp_path, cache_dir):
    root = _folder(tmp_path / "data")
    first = load(root)
    (entry,) = cache_dir.glob("*.npz")
    entry.write_bytes(entry.read_bytes()[: entry.stat().st_size // 2])
    before = _stats()
    second = load(root)  # no crash
    assert cache_lib.STATS.corrupt == before.corrupt + 1
    assert cache_lib.STATS.writes == before.writes + 1
    _same(first, second)
    entry.write_bytes(b"")  # an empty file too
    _same(first, load(root))
    # A whole entry with the right name but foreign content: a miss, rebuilt.
    cache_lib.write_entry(entry.stem, cache_dir, {"x_train": np.zeros(3, np.uint8)}, {})
    before = _stats()
    _same(first, load(root))
    assert cache_lib.STATS.corrupt == before.corrupt + 1
    assert load(root) is not None and cache_lib.STATS.hits >= before.hits + 1


def test_two_concurrent_writers_leave_one_valid_entry(tmp_path, cache_dir):
    root = _folder(tmp_path / "data", per_class=10)
    script = textwrap.dedent(
        f"""
        from zoo.data import load
        from zoo.data import cache
        from zoo.data.folders import _to_entry
        bundle = load({str(root)!r}, cache=False)
        data = {{s: getattr(bundle, s) for s in ("train", "val", "test")}}
        arrays, meta = _to_entry(data, bundle.screen_report, bundle.input_shape, [])
        for _ in range(15):
            load({str(root)!r})
            key = cache.folder_key({str(root)!r}, {{"stress": 1}})
            cache.write_entry(key, cache.cache_dir(), arrays, meta)
            assert cache.read_entry(key, cache.cache_dir()) is not None
        """
    )
    env = {**os.environ, "PYTHONPATH": REPO}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read().decode()[-2000:]
    files = sorted(p.name for p in cache_dir.iterdir())
    assert len(files) == 2 and all(name.endswith(".npz") for name in files), files
    before = _stats()
    _same(load(root), load(root, cache=False))
    assert cache_lib.STATS.hits == before.hits + 1 and cache_lib.STATS.corrupt == before.corrupt


def _entry(key, cache_dir, nbytes, stamp):
    path = cache_lib.write_entry(key, cache_dir, {"x": np.zeros(nbytes, np.uint8)}, {})
    if path is not None:
        os.utime(path, ns=(stamp, stamp))
    return path


def test_the_cap_evicts_the_least_recently_used_and_skips_oversized(cache_dir, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE_MAX_BYTES", str(25_000))
    t0 = 1_700_000_000 * 10**9
    a = _entry("a" * 64, cache_dir, 10_000, t0)
    b = _entry("b" * 64, cache_dir, 10_000, t0 + 10**9)
    assert cache_lib.read_entry("a" * 64, cache_dir) is not None  # a is now the most recent
    c = _entry("c" * 64, cache_dir, 10_000, t0 + 3 * 10**9)
    assert a.exists() and c.exists() and not b.exists()
    before = _stats()
    assert _entry("d" * 64, cache_dir, 30_000, t0) is None
    assert cache_lib.STATS.too_big == before.too_big + 1
    assert sorted(p.name[0] for p in cache_dir.glob("*.npz")) == ["a", "c"]


def test_cache_off_writes_nothing(tmp_path, cache_dir, monkeypatch):
    root = _folder(tmp_path / "data")
    load(root, cache=False)
    assert not cache_dir.exists()
    monkeypatch.setenv("ZOO_CACHE", "off")
    load(root)
    assert not cache_dir.exists()
    load(root, cache=tmp_path / "elsewhere")
    assert len(list((tmp_path / "elsewhere").glob("*.npz"))) == 1


def test_parallel_decode_and_screening_equal_serial(tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / "data"
    for i in range(600):  # several chunks of 256
        mode = "RGB" if i % 3 else "L"
        _png(root / f"c{i % 2}" / f"{i:04d}.png", rng, size=(9 + i % 5, 7), mode=mode)
    paths = sorted(root.glob("*/*.png"))
    serial, errors_1 = decode_many(paths, channels=3, image_size=(8, 8), workers=1)
    parallel, errors_3 = decode_many(paths, channels=3, image_size=(8, 8), workers=3)
    assert serial.tobytes() == parallel.tobytes() and errors_1 == errors_3 == [None] * 600
    assert serial.std() > 0
    assert screen_folder(root, workers=1) == screen_folder(root, workers=3)
    one = load(root, image_size=8, workers=1, cache=False)
    three = load(root, image_size=8, workers=3, cache=False)
    _same(one, three)


def test_progress_lines_when_asked_and_silence_otherwise(tmp_path, cache_dir, capsys):
    root = _folder(tmp_path / "data")
    load(root, progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"screening {root.resolve()} ..."  # printed before listing the folder
    assert "screening 37/37 files done" in lines
    assert lines[lines.index("screening 37/37 files done") + 1].startswith("decoding 0/36 images")
    assert "decoding 36/36 images done" in lines and "\r" not in "".join(lines)
    load(root, progress=True)
    assert capsys.readouterr().err.startswith(f"loaded decoded {root} from the cache")
    load(root, cache=False)  # captured stderr is not a terminal: no output by default
    assert capsys.readouterr().err == ""


def test_progress_redraws_in_place_on_a_terminal():
    from zoo.data.progress import Progress

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    with Progress("decoding", 3, stream=stream) as counter:
        counter.update(3)
    text = stream.getvalue()
    assert text.startswith("\rdecoding 0/3 images") and text.endswith(
        "\rdecoding 3/3 images done\x1b[K\n"
    )
