"""Smoke runs of every benchmark script: each must run and write its JSON.

``--quick`` makes each script a few steps long: the figures are meaningless
and nothing about timing is asserted (timing belongs in ``benchmarks/``).
A contender that is not installed (PyTorch, a GPU) is reported as skipped by
the script itself, which must still exit 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from conftest import REPO

BENCHMARKS = REPO / "benchmarks"
SCRIPTS = sorted(p.name for p in BENCHMARKS.glob("bench_*.py"))

pytestmark = [pytest.mark.subprocess]


def _run(args, tmp_path, timeout=900):
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    return subprocess.run(
        [sys.executable, *args],
        cwd=BENCHMARKS,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_every_benchmark_script_is_covered():
    assert {"bench_vs_applications.py", "bench_train_overhead.py", "bench_backends.py",
            "bench_input_pipeline.py", "bench_flops.py", "bench_gpu_resnet50.py"} <= set(SCRIPTS)  # fmt: skip


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_script_runs_quick(script, tmp_path):
    out = tmp_path / "result.json"
    done = _run([script, "--quick", "--json", str(out)], tmp_path)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    payload = json.loads(out.read_text())
    assert payload["benchmark"] and payload["machine"]["cores"] >= 1


def test_run_all_writes_its_results_file(tmp_path):
    results = tmp_path / "RESULTS.md"
    done = _run(["run_all.py", "--quick", "--only", "flops", "--results", str(results),
                 "--keep-json", str(tmp_path / "json")], tmp_path)  # fmt: skip
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    text = results.read_text()
    assert "Achieved FLOP/s" in text and "not measurements" in text
