"""Data-parallel training across two real processes on 127.0.0.1 (JAX CPU collectives over Gloo).

Two ``zoo train --distribute data_parallel`` processes (tests/distributed_worker.py,
the real CLI) train a tiny MLP in lock step: process 1 is SIGKILLed after its
second epoch, process 0 must then fail cleanly (non-zero, no hang), and
``--resume`` on both continues from the coordinator's checkpoint to the end.
Both processes must then print the same final-weights digest, and the
coordinator's final model must equal a single-process run at the same global
batch (full-batch steps, so the order of examples cannot matter).
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest

from zoo.training import distribute

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKER = os.path.join(REPO, "tests", "distributed_worker.py")
EPOCHS = 4
N_TRAIN = 64
TIMEOUT_S = 240

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="JAX is not installed: data-parallel training across processes runs on JAX only",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(port=None, pid=None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERAS_DISTRIBUTION_")}
    env.update(PYTHONPATH=REPO, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", TF_CPP_MIN_LOG_LEVEL="3")
    if port is not None:
        env.update({distribute.ENV_ADDRESSES: f"127.0.0.1:{port}",
                    distribute.ENV_PROCESSES: "2", distribute.ENV_PROCESS_ID: str(pid)})  # fmt: skip
    return env


def _train_args(data, run_dir, distribute_as="data_parallel") -> list[str]:
    return ["train", "mlp", "--data", str(data), "--run-dir", str(run_dir),
            "--epochs", str(EPOCHS), "--batch-size", str(N_TRAIN), "--validation-split", "0",
            "--model-arg", "hidden_units=[8]", "--seed", "1", "--optimizer", "adam",
            "--distribute", distribute_as, "--quiet"]  # fmt: skip


def _start(args, env, kill_after=None) -> subprocess.Popen:
    cue = ["--kill-after-epoch", str(kill_after)] if kill_after is not None else []
    return subprocess.Popen(
        [sys.executable, WORKER, *cue, *args], cwd=REPO, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip


def _finish(proc) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"process hung past {TIMEOUT_S} s:\n{out[-3000:]}")
    return proc.returncode, out


def _digest(out: str) -> str:
    lines = [line for line in out.splitlines() if line.startswith("[distribute] process")]
    assert len(lines) == 1, out[-3000:]
    return lines[0].rsplit(" ", 1)[1]


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (N_TRAIN + 16, 6, 6, 1)).astype("uint8")
    y = (x.reshape(len(x), -1).mean(axis=1) > 127).astype("int32")
    path = tmp_path_factory.mktemp("data") / "tiny.npz"
    np.savez(path, x_train=x[:N_TRAIN], y_train=y[:N_TRAIN], x_test=x[N_TRAIN:], y_test=y[N_TRAIN:])
    return path


@pytest.mark.subprocess
def test_two_processes_train_in_lock_step_survive_a_kill_and_match_one_process(tmp_path, tiny_npz):
    import keras

    run, single = tmp_path / "run", tmp_path / "single"
    port = _free_port()
    # round 1: the pair, process 1 killed after its 2nd epoch; the single-process reference
    reference = _start(_train_args(tiny_npz, single, "none"), _env())
    p0 = _start(_train_args(tiny_npz, run), _env(port, 0))
    p1 = _start(_train_args(tiny_npz, run), _env(port, 1), kill_after=1)
    rc1, out1 = _finish(p1)
    rc0, out0 = _finish(p0)
    assert rc1 == -signal.SIGKILL, out1[-3000:]
    assert rc0 == 1, out0[-3000:]  # failed cleanly: non-zero, one line saying what to do
    assert "Error: process 0 of 2 stopped" in out0 and f"--resume {run}" in out0, out0[-3000:]
    assert not (run / "model.keras").exists()
    state = json.loads((run / "state.json").read_text())
    assert 1 <= state["epoch"] < EPOCHS
    assert _finish(reference)[0] == 0
    # round 2: both resume from the coordinator's checkpoint
    port = _free_port()
    resumed = [_start(["train", "--resume", str(run), "--quiet"], _env(port, i)) for i in (0, 1)]
    (rc0, out0), (rc1, out1) = (_finish(p) for p in resumed)
    assert rc0 == 0 and rc1 == 0, out0[-3000:] + out1[-3000:]
    assert _digest(out0) == _digest(out1)  # lock step: the same weights on both processes
    history = json.loads((run / "state.json").read_text())["history"]
    assert history["epoch"] == list(range(1, EPOCHS + 1))
    ours = keras.saving.load_model(run / "model.keras").get_weights()
    theirs = keras.saving.load_model(single / "model.keras").get_weights()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_the_environment_is_checked_before_anything_starts():
    env = {distribute.ENV_PROCESSES: "2", distribute.ENV_PROCESS_ID: "1"}
    with pytest.raises(ValueError, match=distribute.ENV_ADDRESSES):
        distribute.cluster_from_env(env)
    with pytest.raises(ValueError, match=distribute.ENV_PROCESS_ID):
        distribute.cluster_from_env({**env, distribute.ENV_PROCESS_ID: "2"})
    with pytest.raises(ValueError, match="not an integer"):
        distribute.cluster_from_env({distribute.ENV_PROCESSES: "two"})
    c = distribute.cluster_from_env({**env, distribute.ENV_ADDRESSES: "127.0.0.1:1234"})
    assert (c.num_processes, c.process_id, c.worker, c.coordinator) == (2, 1, True, False)
    assert distribute.is_worker("data_parallel", {**env, distribute.ENV_ADDRESSES: "h:1"})
    assert not distribute.is_worker("none", {**env, distribute.ENV_ADDRESSES: "h:1"})


def test_shards_are_disjoint_and_equal_in_size():
    from zoo.data import DataBundle

    x, y = np.arange(10)[:, None, None, None], np.arange(10)
    bundle = DataBundle((x, y), None, (x[:3], y[:3]), ("a",), (1, 1, 1), "test", "f")
    seen = []
    for pid in range(3):
        distribute._CLUSTER = distribute.Cluster(3, pid)
        try:
            shard = distribute.local_shard(bundle)
        finally:
            distribute._CLUSTER = None
        assert len(shard.train[1]) == 3 and len(shard.test[1]) == 1
        seen.extend(shard.train[1].tolist())
    assert sorted(seen) == list(range(9))  # one example left out so all have as many


@pytest.mark.backend
def test_tensorflow_says_what_keras_3_supports():
    import keras

    from zoo.training.config import TrainConfig

    config = TrainConfig(distribute="data_parallel")
    if keras.backend.backend() == "jax":
        pytest.skip("data_parallel runs on JAX")
    with pytest.raises(ValueError, match="needs the JAX backend.*MirroredStrategy"):
        distribute.start(config)


def test_a_streamed_folder_is_sharded_by_file_with_the_batch_split():
    from zoo.data.streaming import ImageFileDataset

    paths = [f"/nowhere/{i}.png" for i in range(11)]
    stream = ImageFileDataset(paths, list(range(11)), image_size=(4, 4), channels=1, batch_size=4)
    shards = []
    for pid in range(2):
        distribute._CLUSTER = distribute.Cluster(2, pid)
        try:
            shards.append(distribute._shard(stream, distribute.cluster(), "train"))
        finally:
            distribute._CLUSTER = None
    assert [s.batch_size for s in shards] == [2, 2] and [len(s) for s in shards] == [3, 3]
    assert sorted(shards[0].paths + shards[1].paths) == sorted(paths[:10])
