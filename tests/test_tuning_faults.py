"""Tuning survives kills: mid-trial, mid-state-write, self-crashing trials; distributed chief/workers.

Real processes, real SIGKILL. The library has no test hooks: the processes run
tests/tuning_faults.py, which wraps the library's own functions to crash, hang or
tear a write at a deterministic point, then runs ``zoo tune``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner
from conftest import REPO
from test_tuning import FAST, write_tiny_npz

pytestmark = pytest.mark.subprocess
pytest.importorskip("keras_tuner")

FAULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tuning_faults.py")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


@pytest.fixture(scope="module")
def fast_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "fast.json"
    path.write_text(FAST)
    return str(path)


def _start(args, faults=(), extra_env=None, **kw):
    """``zoo tune ARGS`` in a new process (group), with the given tests/tuning_faults.py faults."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(extra_env or {})}
    cmd = [sys.executable, FAULTS, *faults, "--", *args]
    return subprocess.Popen(cmd, cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)  # fmt: skip


def _wait_for(path, proc, timeout=240):
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return
        if proc.poll() is not None:
            raise AssertionError(f"process ended early:\n{proc.stdout.read()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {path}")


def _trial(folder, trial_id):
    with open(os.path.join(folder, "search", f"trial_{trial_id}", "trial.json")) as fh:
        return json.load(fh)


def _ledger(folder, trial_id):
    with open(os.path.join(folder, "search", f"trial_{trial_id}", "zoo_trial.json")) as fh:
        return json.load(fh)


def _grid_args(tiny, fast_config, folder, values="sgd,adam", max_trials=2):
    return ["mlp", "--data", tiny, "--tuner", "grid", "--max-trials", str(max_trials), "--max-epochs", "1",
            "--space", f"optimizer={values}", "--space", "hidden_units=16", "--config", fast_config,
            "-d", str(folder)]  # fmt: skip


def test_sigkill_mid_trial_then_resume_reruns_only_that_trial(tiny, fast_config, tmp_path):
    folder = tmp_path / "s"
    args = _grid_args(tiny, fast_config, folder)
    proc = _start(args + ["--in-process"], ["--hang", "1"])
    try:
        _wait_for(folder / "search" / "trial_1" / "HANGING", proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    first = _trial(folder, "0")
    assert first["status"] == "COMPLETED"
    from cli.tune_cmds import tune_cmd

    result = CliRunner().invoke(tune_cmd, args + ["--resume", "--in-process"])
    assert result.exit_code == 0, (
        result.output,
        "".join(__import__("traceback").format_exception(result.exception)),
    )
    assert "trial 0 started" not in result.output and "trial 1 started (attempt 2" in result.output
    assert _trial(folder, "0") == first  # never re-run, never rewritten
    assert _ledger(folder, "0")["starts"] == 1 and _ledger(folder, "1")["starts"] == 2
    doc = json.loads((folder / "results.json").read_text())
    assert [t["trial_id"] for t in doc["trials"]] == ["0", "1"]
    assert doc["counts"] == {"COMPLETED": 2}
    assert not (folder / "search" / "trial_2").exists()  # max_trials respected


def test_sigkill_during_a_state_write_then_resume(tiny, fast_config, tmp_path):
    folder = tmp_path / "s"
    args = _grid_args(tiny, fast_config, folder)
    # oracle.json writes: 1 search start, 2 trial 0 created, 3+4 trial 0 ended, 5 trial 1 created
    proc = _start(args + ["--in-process"], ["--kill-in-write", "oracle.json:5"])
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode == -signal.SIGKILL, out
    json.loads((folder / "search" / "oracle.json").read_text())  # the torn write never reached it
    assert _trial(folder, "1")["status"] == "RUNNING"  # created, never committed to oracle.json
    first = _trial(folder, "0")
    from cli.tune_cmds import tune_cmd

    result = CliRunner().invoke(tune_cmd, args + ["--resume", "--in-process"])
    assert result.exit_code == 0, result.output
    assert "trial 0 started" not in result.output
    assert _trial(folder, "0") == first
    doc = json.loads((folder / "results.json").read_text())
    assert [(t["trial_id"], t["status"]) for t in doc["trials"]] == [
        ("0", "COMPLETED"),
        ("1", "COMPLETED"),
    ]
    assert sorted(t["hyperparameters"]["optimizer"] for t in doc["trials"]) == ["adam", "sgd"]


def test_self_killing_trial_fails_while_the_search_completes(tiny, fast_config, tmp_path):
    folder = tmp_path / "s"
    # learning_rate 0.02 (the first trial) SIGKILLs its own process every time, as the OOM
    # killer would; the search fails it after 2 deaths and goes on with the next trial.
    args = ["mlp", "--data", tiny, "--tuner", "grid", "--max-trials", "2", "--max-epochs", "1",
            "--space", "learning_rate=0.02,0.01", "--space", "hidden_units=16", "--space", "optimizer=sgd",
            "--config", fast_config, "--max-attempts", "2", "-d", str(folder)]  # fmt: skip
    saved = tmp_path / "saved_models"  # never publish into the repository
    proc = _start(args + ["--save-as", "mlp_tuned"], ["--crash", "learning_rate=0.02"],
                  extra_env={"ZOO_SAVED_MODELS": str(saved)})  # fmt: skip
    out, _ = proc.communicate(timeout=400)
    assert proc.returncode == 0, out
    assert "published as saved_models/mlp_tuned" in out  # --save-as reaches the child
    assert (saved / "mlp_tuned").is_dir()
    assert out.count("the search process died (SIGKILL); resuming") == 2, out
    doc = json.loads((folder / "results.json").read_text())
    status = {t["hyperparameters"]["learning_rate"]: t["status"] for t in doc["trials"]}
    assert status == {0.02: "FAILED", 0.01: "COMPLETED"}, doc["trials"]
    crashed = next(t for t in doc["trials"] if t["hyperparameters"]["learning_rate"] == 0.02)
    assert crashed["attempts"] == 2 and "process died" in crashed["message"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_chief_and_two_workers_report_every_trial_once(tiny, fast_config, tmp_path):
    folder = tmp_path / "s"
    address = f"127.0.0.1:{_free_port()}"
    args = _grid_args(tiny, fast_config, folder, values="sgd,adam,rmsprop", max_trials=3)
    chief = _start(args + ["--chief", address, "--in-process"])
    workers = []
    try:
        _wait_for(folder / "search.json", chief)
        workers = [
            _start(args + ["--worker", address, "--worker-id", f"w{i}", "--in-process"])
            for i in (1, 2)
        ]
        out, _ = chief.communicate(timeout=400)
        assert chief.returncode == 0, out
        for w in workers:
            w_out, _ = w.communicate(timeout=120)
            assert w.returncode == 0, w_out
    finally:
        for p in [chief, *workers]:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    assert "unauthenticated" in out
    doc = json.loads((folder / "results.json").read_text())
    assert [t["trial_id"] for t in doc["trials"]] == ["0", "1", "2"]
    assert doc["counts"] == {"COMPLETED": 3}
    assert sorted(t["hyperparameters"]["optimizer"] for t in doc["trials"]) == [
        "adam",
        "rmsprop",
        "sgd",
    ]
    assert all(
        _ledger(folder, t["trial_id"])["starts"] == 1 for t in doc["trials"]
    )  # each ran once
    assert (folder / "best" / "model.keras").is_file()
