"""Decoded-data cache and parallel decode: the full MNIST PNG folder (70,000 files).

Times ``zoo.data.load`` on ``mnist/{train,test}`` unpacked from
``../shared/data/mnist.tar.gz`` (skips cleanly, exit 0, when it is absent):

- serial: screening and decoding on 1 thread, no cache;
- parallel: the default thread count (`zoo.data.images.default_workers`), no cache;
- cold: the default load with an empty cache folder (screens, decodes, writes the entry);
- cached: the same load again (reads the entry; nothing is screened or decoded);
- decode only: `zoo.data.images.decode_many` on all 70,000 files, 1 thread vs the default.

The serial, parallel and cached arrays and reports are checked equal. Every
timed load runs once (the page cache is warmed first by one listing pass and
the untimed unpacking), so on a shared machine read the load average with the
figures. The results replace the section between the ``decode-cache`` markers
of benchmarks/RESULTS.md (appended the first time).

Run: python benchmarks/bench_decode_cache.py [--shared ../shared/data] [--json out.json]
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import tarfile
import tempfile
import time

import _common
import numpy as np

from zoo.data import cache as cache_lib
from zoo.data import load
from zoo.data.images import decode_many, default_workers
from zoo.machine import machine_info

HERE = pathlib.Path(__file__).resolve().parent
BEGIN, END = "<!-- BEGIN decode-cache -->", "<!-- END decode-cache -->"


def _unpack(shared: pathlib.Path, root: pathlib.Path) -> pathlib.Path | None:
    folder = root / "mnist"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return folder
    archive = shared / "mnist.tar.gz"
    if not archive.is_file():
        return None
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    return folder


def _unpack_quick(shared: pathlib.Path, root: pathlib.Path, per_class: int = 20):
    """``--quick``: only the first ``per_class`` images of each class and split (a smoke run)."""
    folder = root / "mnist-quick"
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        return folder
    archive = shared / "mnist.tar.gz"
    if not archive.is_file():
        return None
    counts: dict[str, int] = {}
    with tarfile.open(archive) as tar:
        for member in tar:
            parts = pathlib.PurePosixPath(member.name).parts
            if not member.isfile() or len(parts) < 4:
                continue
            key = "/".join(parts[1:3])
            if counts.get(key, 0) < per_class:
                counts[key] = counts.get(key, 0) + 1
                member.name = "/".join(parts[1:])
                tar.extract(member, folder, filter="data")
    return folder


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _same(a, b) -> bool:
    if a.screen_report != b.screen_report or a.fingerprint != b.fingerprint:
        return False
    for split in ("train", "val", "test"):
        x, y = getattr(a, split), getattr(b, split)
        if not (np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1])):
            return False
    return True


def measure(folder: pathlib.Path) -> dict:
    """The figures; ``folder`` is the unpacked MNIST root."""
    load_before = os.getloadavg()
    cache_lib.folder_key(folder, {})  # warm the page cache of the listing
    workers = default_workers()
    serial_s, serial = _timed(lambda: load(folder, workers=1, cache=False))
    parallel_s, parallel = _timed(lambda: load(folder, cache=False))
    with tempfile.TemporaryDirectory(prefix="zoo-bench-cache-") as where:
        cold_s, cold = _timed(lambda: load(folder, cache=where))
        entry_mb = sum(p.stat().st_size for p in pathlib.Path(where).glob("*.npz")) / 1e6
        hits = cache_lib.STATS.hits
        cached_s, cached = _timed(lambda: load(folder, cache=where))
        hit = cache_lib.STATS.hits == hits + 1
    paths = sorted(folder.glob("*/*/*.png"))
    kwargs = {"channels": 1, "image_size": (28, 28), "verify": False}
    decode_1_s, (x1, _) = _timed(lambda: decode_many(paths, workers=1, **kwargs))
    decode_n_s, (xn, _) = _timed(lambda: decode_many(paths, workers=workers, **kwargs))
    return {
        "images": serial.screen_report.num_images,
        "workers": workers,
        "serial_s": round(serial_s, 2),
        "parallel_s": round(parallel_s, 2),
        "cold_s": round(cold_s, 2),
        "cached_s": round(cached_s, 2),
        "cache_hit": hit,
        "entry_mb": round(entry_mb, 1),
        "decode_serial_s": round(decode_1_s, 2),
        "decode_parallel_s": round(decode_n_s, 2),
        "equal": _same(serial, parallel)
        and _same(serial, cached)
        and _same(serial, cold)
        and x1.tobytes() == xn.tobytes(),
        "load_average_before": [round(v, 2) for v in load_before],
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
        "machine": machine_info(),
    }


def section(r: dict) -> str:
    m = r["machine"]
    return "\n".join(
        [
            BEGIN,
            "### Decoded-data cache and parallel decode: MNIST PNG folder, 70,000 files",
            "",
            (
                f"`{r['command']}` on {m['date']}: {m['cpu']}, "
                f"{m['cores']} cores, Python {m['python']}, Pillow "
                f"{m['versions'].get('pillow', '?')}; load average (1/5/15 min) "
                f"{'/'.join(map(str, r['load_average_before']))} before, "
                f"{'/'.join(map(str, r['load_average_after']))} after (the machine is shared)."
            ),
            "",
            "| `zoo.data.load(mnist/)` ({:,} images) | seconds |".format(r["images"]),
            "| --- | ---: |",
            f"| serial (screen + decode, 1 thread, no cache) | {r['serial_s']} |",
            f"| parallel ({r['workers']} threads, no cache) | {r['parallel_s']} |",
            f"| cold (parallel + writing the {r['entry_mb']} MB cache entry) | {r['cold_s']} |",
            f"| cached (second load: entry read, nothing decoded) | {r['cached_s']} |",
            f"| decode only, `decode_many`, 1 thread | {r['decode_serial_s']} |",
            f"| decode only, `decode_many`, {r['workers']} threads | {r['decode_parallel_s']} |",
            "",
            (
                f"Cached load {r['cold_s'] / max(r['cached_s'], 1e-9):.1f}x faster than cold; "
                f"cache hit: {r['cache_hit']}; serial, parallel, cold and cached arrays and "
                f"reports identical: {r['equal']}."
            ),
            END,
        ]
    )


def write_results(r: dict, path: pathlib.Path) -> None:
    text = path.read_text() if path.exists() else ""
    block = section(r)
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text)


def main(argv=None) -> dict | None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--shared", default=str(_common.SHARED_DATA), help="Holds mnist.tar.gz.")
    p.add_argument("--root", default="/tmp/zoo-bench", help="Where MNIST is unpacked.")
    p.add_argument("--results", default=str(HERE / "RESULTS.md"), help="File to update.")
    args = p.parse_args(argv)
    unpack = _unpack_quick if args.quick else _unpack
    folder = unpack(pathlib.Path(args.shared), pathlib.Path(args.root))
    if folder is None:
        print(f"skipped: {args.shared}/mnist.tar.gz is absent", file=sys.stderr)
        return None
    r = measure(folder)
    r["command"] = " ".join(["python benchmarks/bench_decode_cache.py", *(argv or sys.argv[1:])])
    print(json.dumps({k: v for k, v in r.items() if k != "machine"}, indent=1))
    _common.report("decode cache", r, args.json)
    if not args.quick:
        write_results(r, pathlib.Path(args.results))
    return r


if __name__ == "__main__":
    main()
