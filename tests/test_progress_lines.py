"""Progress on the long steps (issue 17): ``zoo lr-find`` counts its sweep, ``zoo evaluate`` its
prediction batches. Each command runs as a real process with its output captured; the test reads
its first lines (what it announces, then the counter), never their timing."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from test_tuning import write_tiny_npz

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _zoo(args, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": REPO, "KERAS_BACKEND": "tensorflow"}
    return subprocess.run(
        [sys.executable, "-m", "cli.main", *map(str, args)], cwd=cwd, env=env, check=False,
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def _ours(stderr: str) -> list[str]:
    """stderr without the backend's own lines (the zoo filters those it knows; a few slip by)."""
    return [
        line for line in stderr.splitlines() if line.startswith(("zoo ", "lr-find", "evaluating"))
    ]


@pytest.mark.subprocess
def test_lr_find_announces_then_counts_its_steps(tmp_path):
    data = write_tiny_npz(tmp_path / "tiny.npz", n_train=64, n_test=8)
    result = _zoo(
        ["lr-find", "mlp", "--data", data, "--steps", "4", "--batch-size", "16"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = _ours(result.stderr)
    assert lines[0].startswith("zoo lr-find: mlp on "), result.stderr
    assert lines[1] == "lr-find 0/4 batches", result.stderr
    assert re.fullmatch(r"lr-find [1-4]/4 batches done", lines[-1]), result.stderr
    assert "Suggested learning rate" in result.stdout


@pytest.mark.subprocess
def test_evaluate_announces_then_counts_its_batches(tmp_path):
    result = _zoo(["evaluate", "lenet5-mnist", "--batch-size", "250", "--no-plot"], tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = _ours(result.stderr)
    assert lines[0].startswith("zoo evaluate: lenet5-mnist on mnist-sample"), result.stderr
    assert lines[1] == "evaluating 0/4 batches", result.stderr  # 1,000 test digits / 250
    assert lines[-1] == "evaluating 4/4 batches done", result.stderr
    assert "accuracy" in result.stdout.lower()
