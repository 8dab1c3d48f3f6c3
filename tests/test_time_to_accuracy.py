"""The time-to-accuracy benchmark's bookkeeping (its quick run is in test_benchmarks.py)."""

from __future__ import annotations

import importlib
import sys

import pytest
from conftest import REPO


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        yield importlib.import_module("bench_time_to_accuracy")
    finally:
        sys.path.remove(str(REPO / "benchmarks"))


def _result(zoo_acc, ref_acc):
    return {
        "backend": "jax", "target": 0.99, "ratio": 2.0,
        "zoo": {"wall_s": 50.0, "epochs": 10, "test_accuracy": zoo_acc},
        "keras_io": {"wall_s": 100.0, "epochs": 5, "test_accuracy": ref_acc},
        "load_average_before": [1.0, 1.0, 1.0], "load_average_after": [2.0, 1.5, 1.0],
    }  # fmt: skip


def test_rows_accumulate_between_the_markers(bench, tmp_path):
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nkept above\n")
    bench.write_results(_result(0.9912, 0.9894), results)
    bench.write_results(_result(0.9905, 0.9901), results)
    text = results.read_text()
    assert text.startswith("# Benchmark results\n\nkept above\n")
    inside = text.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0]
    rows = [line for line in inside.splitlines() if line.startswith("| 20")]
    assert len(rows) == 2 and text.count(bench.BEGIN) == 1
    assert "99.12 % (yes)" in rows[0] and "98.94 % (NO)" in rows[0] and "**2.0x**" in rows[0]
    assert "1.0 / 1.0 / 1.0 -> 2.0 / 1.5 / 1.0" in rows[1]
