"""What every benchmark script shares: arguments, interleaved timing, JSON out.

Contenders are timed *interleaved* (A, B, then B, A, ...) in one process after
their warm-up, so that a slow minute of the machine (another process, thermal
throttling) lands on both sides instead of biasing the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import time
from collections.abc import Callable

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # runnable from a fresh clone without installing
    sys.path.insert(0, str(REPO))

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from zoo.bench import machine_info, summarize

SHARED_DATA = REPO.parent / "shared" / "data"


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--json", metavar="PATH", help="Also write the results as JSON here.")
    p.add_argument(
        "--quick", action="store_true", help="Fewest steps: a smoke run, not a measurement."
    )
    return p


def interleaved(
    contenders: dict[str, Callable[[], object]], *, repeats: int, warmup: int
) -> dict[str, dict]:
    """Warms every contender up, then times them in turns ``repeats`` times.

    Turns alternate the order (A, B then B, A) so neither side always runs
    right after the other.

    Each callable must block until its work is done.

    Returns:
        ``{name: summarize(durations) | {"first_s": first warm-up call,
        "cpu_median_s": median CPU time of this process (all threads)}}``.
        On a machine shared with other jobs, CPU time is steadier than wall
        time: it does not count the time the process waited for a core.
    """
    first = {}
    for name, fn in contenders.items():
        for i in range(warmup):
            start = time.perf_counter()
            fn()
            if i == 0:
                first[name] = time.perf_counter() - start
    times: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for r in range(repeats):
        # the order is reversed every other turn (A B, B A, ...): whoever runs
        # second in a turn finds warmer caches, and no contender should always get that
        for name in names if r % 2 == 0 else names[::-1]:
            fn = contenders[name]
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return {
        name: {
            **summarize(t),
            "first_s": first.get(name),
            "cpu_median_s": statistics.median(cpu[name]),
        }
        for name, t in times.items()
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms"


def report(title: str, payload: dict, path: str | None) -> None:
    """Prints a one-line footer and writes ``payload`` (+ machine) as JSON."""
    payload = {"benchmark": title, "machine": machine_info(), **payload}
    if path:
        pathlib.Path(path).write_text(json.dumps(payload, indent=2, default=str))
        print(f"[{title}] results written to {path}")


def print_table(rows: list[tuple], header: tuple) -> None:
    rows = [tuple(str(c) for c in r) for r in [header, *rows]]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for i, row in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    sys.stdout.flush()
