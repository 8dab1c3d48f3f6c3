"""Kill-safe training: SIGKILL a real training process mid-epoch and mid-save, then resume.

After each kill, ``zoo train --resume RUN_DIR`` (the real CLI, invoked in this
test process: only the killed training needs a process of its own) must finish
the run with the exact epoch count, optimizer iterations and learning
rate schedule of an uninterrupted run, one continuous history with no
duplicated epoch, and a best model that is the best epoch's.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import REPO

EPOCHS = 4
TRAIN, VAL, BATCH = 600, 200, 50
STEPS = TRAIN // BATCH
LR0, GAMMA = 0.05, 0.5

pytestmark = [pytest.mark.subprocess]


@pytest.fixture(scope="module")
def small_npz(tmp_path_factory):
    from zoo.data import load_sample_arrays

    arrays = load_sample_arrays()
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(
        path,
        x_train=arrays["x_train"][:TRAIN], y_train=arrays["y_train"][:TRAIN],
        x_val=arrays["x_train"][TRAIN:TRAIN + VAL], y_val=arrays["y_train"][TRAIN:TRAIN + VAL],
    )  # fmt: skip
    return str(path)


def _env():
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(REPO))


def _worker(run_dir, data, *extra):
    cmd = [
        sys.executable,
        str(REPO / "tests" / "train_worker.py"),
        str(run_dir),
        data,
        str(EPOCHS),
        *extra,
    ]
    return subprocess.run(cmd, check=False, env=_env(), capture_output=True, text=True, timeout=600)


def _cli(*args):
    """Runs ``zoo train ARGS`` in this process; returns ``(exit code, everything it printed)``."""
    from click.testing import CliRunner

    from cli.main import cli

    result = CliRunner().invoke(cli, ["train", *args])
    text = result.output
    try:
        text += result.stderr
    except ValueError:  # older click: stderr already mixed into output
        pass
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        text += repr(result.exception)
    return result.exit_code, text


def _resume_cli(run_dir):
    return _cli("--resume", str(run_dir), "--quiet")


def _history(run_dir):
    with open(run_dir / "history.csv") as fh:
        return list(csv.DictReader(fh))


def _check_finished_run(run_dir):
    rows = _history(run_dir)
    assert [int(r["epoch"]) for r in rows] == list(
        range(1, EPOCHS + 1)
    )  # continuous, no duplicates
    state = json.loads((run_dir / "state.json").read_text())
    assert state["epoch"] == EPOCHS
    assert state["iterations"] == EPOCHS * STEPS
    lrs = [float(r["lr"]) for r in rows]
    np.testing.assert_allclose(lrs, [LR0 * GAMMA**e for e in range(EPOCHS)], rtol=1e-6)
    val_losses = [float(r["val_loss"]) for r in rows]
    best = json.loads((run_dir / "best.json").read_text())
    assert best["value"] == pytest.approx(min(val_losses), rel=1e-6)
    assert best["epoch"] == 1 + int(np.argmin(val_losses))
    assert (run_dir / "model.keras").is_file()
    assert not list(run_dir.glob(".tmp-*")) and not list((run_dir / "checkpoints").glob(".tmp-*"))
    # The best model on disk really is the best epoch's: it reproduces that val_loss.
    import zoo
    from zoo.data import load
    from zoo.training.config import TrainConfig
    from zoo.training.fit import evaluate_model
    from zoo.training.preprocess import Preprocessing

    record = json.loads((run_dir / "run.json").read_text())
    bundle = load(record["data"]["argument"])
    model = zoo.load_model(run_dir / "best.keras")
    config = TrainConfig.from_dict(record["config"])
    metrics = evaluate_model(
        model, bundle, "val", Preprocessing.from_dict(record["preprocessing"]), config
    )
    assert metrics["val_loss"] == pytest.approx(best["value"], rel=1e-4, abs=1e-5)


def test_sigkill_mid_epoch_then_resume(tmp_path, small_npz):
    run_dir = tmp_path / "run"
    killed = _worker(run_dir, small_npz, "--kill-batch", f"2:{STEPS // 2}")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    state = json.loads((run_dir / "state.json").read_text())
    assert state["epoch"] == 2 and state["iterations"] == 2 * STEPS  # epochs 1-2 committed
    assert [int(r["epoch"]) for r in _history(run_dir)] == [1, 2]
    code, output = _resume_cli(run_dir)
    assert code == 0, output[-2000:]
    _check_finished_run(run_dir)
    # Both sessions are on record, and the resumed one owns epochs 3-4.
    from zoo.training.runs import RunDirectory, session_summary

    sessions = RunDirectory(run_dir).sessions()
    assert [s["first_epoch"] for s in sessions] == [1, 3]
    assert all(s["backend"] and s["machine"]["cpus"] >= 1 for s in sessions)
    history = {k: [float(r[k]) for r in _history(run_dir)] for k in ("epoch", "epoch_time")}
    summary = session_summary(sessions, history)
    assert [s["epochs"] for s in summary] == [[1, 2], [3, 4]]
    assert summary[1]["seconds"] == pytest.approx(sum(history["epoch_time"][2:]), abs=0.1)


def test_session_summary_assigns_epochs_to_the_session_that_trained_them():
    from zoo.training.runs import session_summary

    gpu = {"first_epoch": 1, "machine": {"gpus": ["H100"]}, "backend": "jax", "started": "t0"}
    killed = {"first_epoch": 3, "machine": {"gpus": ["H100"]}, "backend": "jax", "started": "t1"}
    cpu = {"first_epoch": 3, "machine": {"gpus": []}, "backend": "tensorflow", "started": "t2"}
    history = {"epoch": [1, 2, 3, 4, 5], "epoch_time": [3.0, 3.0, 250.0, 249.0, float("nan")]}
    summary = session_summary([gpu, killed, cpu], history)  # `killed` died before its first epoch
    assert [(s["backend"], s["epochs"], s["seconds"]) for s in summary] == [
        ("jax", [1, 2], 6.0),
        ("tensorflow", [3, 5], 499.0),
    ]
    assert session_summary([], history) == []


@pytest.mark.parametrize("target", ["state.json:2", "epoch-0003.weights.h5:1", "best.keras:1"])
def test_sigkill_mid_save_then_resume(tmp_path, small_npz, target):
    run_dir = tmp_path / "run"
    killed = _worker(run_dir, small_npz, "--kill-save", target)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    json.loads((run_dir / "run.json").read_text())
    if (run_dir / "state.json").exists():  # absent when killed before the first commit
        json.loads((run_dir / "state.json").read_text())
    code, output = _resume_cli(run_dir)
    assert code == 0, output[-2000:]
    _check_finished_run(run_dir)


def test_resume_refuses_a_changed_run(tmp_path, small_npz):
    from zoo.training.config import TrainConfig
    from zoo.training.fit import train

    run_dir = tmp_path / "run"
    config = TrainConfig(
        epochs=1, batch_size=BATCH, optimizer="momentum", learning_rate=LR0, seed=3
    )
    train("lenet5", small_npz, config, run_dir=run_dir, verbose=0)
    code, output = _cli("--resume", str(run_dir), "--optimizer", "adam", "--quiet")
    assert code == 1
    assert "changed since the run started" in output
