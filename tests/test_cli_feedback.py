"""Instant feedback (issue 17) and TensorFlow's start-up noise (issue 16) in the ``zoo`` CLI.

Each command runs as a real process whose Keras / TensorFlow / JAX imports are
refused (as conftest's ZOO_FORBID_TENSORFLOW does): the first line of stderr
must be the command's announcement, and the refused import must come after it,
so the line is printed before the backend loads, whatever the import costs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from cli import feedback

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORBIDDEN = "ZOO_FORBID_BACKEND"
#: Runs ``zoo ARGS`` with every backend import refused.
RUNNER = f"""
import importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras", "jax", "torch"):
            raise ModuleNotFoundError(f"No module named {{name!r}} ({FORBIDDEN})", name=name)
sys.meta_path.insert(0, Refuse())
from cli.main import main
sys.argv = ["zoo", *sys.argv[1:]]
main()
"""


def _env(**extra) -> dict:
    env = {
        k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", feedback._ZOO_SET)
    }
    env.update({"PYTHONPATH": REPO, "KERAS_BACKEND": "tensorflow", **extra})
    return env


def _zoo(args, cwd, **env) -> subprocess.CompletedProcess:
    """Runs ``zoo ARGS`` with the backend imports refused."""
    return subprocess.run(
        [sys.executable, "-c", RUNNER, *map(str, args)], cwd=cwd, env=_env(**env), check=False,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def _run_dir(tmp_path) -> str:
    run = tmp_path / "old-run"
    run.mkdir()
    (run / "run.json").write_text(json.dumps({"config": {}}))
    return str(run)


#: (arguments, what the announcement says after "zoo COMMAND: "), all failing at the backend import.
ANNOUNCED = [
    (["info", "lenet5"], "lenet5, loading TensorFlow\u2026"),
    (
        ["build", "lenet5", "-o", "m.keras"],
        "building lenet5 into m.keras, loading TensorFlow\u2026",
    ),
    (["train", "lenet5", "--epochs", "1", "--run-dir", "r"], "lenet5 on mnist-sample, loading"),
    (["train", "--resume", "RUN"], "resuming RUN, loading TensorFlow\u2026"),
    (["evaluate", "lenet5-mnist"], "lenet5-mnist on mnist-sample (test), loading"),
    (["predict", "lenet5-mnist", "a.png", "b.png"], "lenet5-mnist on 2 image(s), loading"),
    (["lr-find", "lenet5", "--steps", "2"], "lenet5 on mnist-sample, 2 batches, loading"),
    (["finetune", "lenet5-mnist", "digits"], "lenet5-mnist on digits, loading"),
    (["embed", "lenet5", "digits", "-o", "feat"], "lenet5 features of digits (all), loading"),
    (["export", "lenet5-mnist", "-o", "m.onnx", "--format", "onnx"], "lenet5-mnist as onnx to"),
    (
        ["convert", "vgg16.h5", "-o", "v.weights.h5"],
        "converting vgg16.h5 into v.weights.h5, loading",
    ),
    (["bench", "lenet5", "--steps", "1"], "lenet5, infer, batch size 8, loading TensorFlow\u2026"),
    (
        [
            "tune",
            "lenet5",
            "--data",
            "mnist-sample",
            "--space",
            "learning_rate=log:1e-4:1e-1",
            "-d",
            "search",
            "--in-process",
        ],
        "search over lenet5 on mnist-sample, loading",
    ),
]


@pytest.mark.parametrize(
    "args, said", ANNOUNCED, ids=lambda a: " ".join(a) if isinstance(a, list) else ""
)
def test_first_line_comes_before_the_backend_import(args, said, tmp_path):
    run = _run_dir(tmp_path)
    args = [run if a == "RUN" else a for a in args]
    result = _zoo(args, tmp_path)
    lines = result.stderr.splitlines()
    assert result.returncode != 0, result.stderr
    assert lines and lines[0].startswith(f"zoo {args[0]}: {said.replace('RUN', run)}"), (
        result.stderr
    )
    assert lines[0].endswith(", loading TensorFlow\u2026")
    assert FORBIDDEN in result.stderr  # the backend was imported after the line, and refused
    assert result.stdout == ""


def test_plot_announces_without_a_backend(tmp_path):
    result = _zoo(["plot", "nowhere"], tmp_path)
    lines = result.stderr.splitlines()
    assert lines[0] == "zoo plot: drawing 1 run(s)\u2026", result.stderr
    assert (
        lines[1].startswith("Error: ") and "nowhere" in lines[1] and FORBIDDEN not in result.stderr
    )


@pytest.mark.parametrize(
    "args",
    [
        ["train", "lenet5", "--quiet", "--run-dir", "r"],
        ["finetune", "lenet5-mnist", "digits", "--quiet"],
        ["evaluate", "lenet5-mnist", "--json"],
        ["predict", "lenet5-mnist", "a.png", "--json"],
        ["bench", "lenet5", "--json"],
    ],
    ids=" ".join,
)
def test_quiet_and_json_print_no_announcement(args, tmp_path):
    result = _zoo(args, tmp_path)
    assert FORBIDDEN in result.stderr  # it got as far as the backend import
    assert "loading TensorFlow" not in result.stderr and result.stdout == ""


def test_announcement_names_the_configured_backend(tmp_path):
    (tmp_path / "keras.json").write_text(json.dumps({"backend": "jax"}))
    assert feedback.backend_label({"KERAS_HOME": str(tmp_path)}) == "JAX"
    assert (
        feedback.backend_label({"KERAS_HOME": str(tmp_path), "KERAS_BACKEND": "torch"}) == "PyTorch"
    )
    assert feedback.backend_label({"KERAS_HOME": str(tmp_path / "none")}) == "TensorFlow"
    result = _zoo(["info", "lenet5"], tmp_path, KERAS_BACKEND="jax")
    assert result.stderr.splitlines()[0] == "zoo info: lenet5, loading JAX\u2026", result.stderr


def test_the_users_log_level_is_kept():
    env = {"TF_CPP_MIN_LOG_LEVEL": "0"}
    feedback.quiet_backend_logs(env)
    assert env == {"TF_CPP_MIN_LOG_LEVEL": "0"} and not feedback._filtering(env)
    env = {}
    feedback.quiet_backend_logs(env)
    assert env["TF_CPP_MIN_LOG_LEVEL"] == "2" and feedback._filtering(env)


NOISE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1795987979.466961   25993 port.cc:153] oneDNN custom operations are on.",
    (
        "I0000 00:00:1795987979.467313   25993 cudart_stub.cc:31] Could not find cuda drivers on your "
        "machine, GPU will not be used."
    ),
    (
        "I0000 00:00:1795987979.509231   25993 cpu_feature_guard.cc:227] This TensorFlow binary is "
        "optimized to use available CPU instructions in performance-critical operations."
    ),
    (
        "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with "
        "the appropriate compiler flags."
    ),
    (
        "E0000 00:00:1795987982.812700   25993 cuda_platform.cc:52] failed call to cuInit: INTERNAL: "
        "CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)"
    ),
]


def test_noise_is_recognized_and_real_errors_are_not():
    assert all(feedback.is_noise(line) for line in NOISE)
    assert not feedback.is_noise(NOISE[-1], gpu=True)  # with a GPU, a failed cuInit is real
    for line in (
        "E0000 00:00:1795987982.812700   25993 op_kernel.cc:1830] OP_REQUIRES failed: OOM",
        "F0000 00:00:1795987982.812700   25993 check.cc:1] Check failed: shape",
        "Traceback (most recent call last):",
        "Error: no such file or folder: 'x'",
        "UserWarning: Do not pass an `input_shape`",
    ):
        assert not feedback.is_noise(line), line


def _start_zoo(args, cwd, **env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli.main", *args], cwd=cwd, env=_env(**env),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_tensorflow_start_up_noise_is_silenced_unless_the_user_asks(tmp_path):
    args = ["info", "lenet5", "--no-summary"]
    quiet = _start_zoo(args, tmp_path)  # the two TensorFlow start-ups run side by side
    loud = _start_zoo(args, tmp_path, TF_CPP_MIN_LOG_LEVEL="0")
    (out, err), (_, loud_err) = quiet.communicate(timeout=180), loud.communicate(timeout=180)
    assert quiet.returncode == 0, err
    assert err.splitlines() == ["zoo info: lenet5, loading TensorFlow\u2026"], err
    assert out.startswith("lenet5: LeNet-5")
    assert loud.returncode == 0 and loud_err.startswith("zoo info: lenet5, loading"), loud_err
    shown = [line for line in loud_err.splitlines()[1:] if feedback.is_noise(line)]
    if not shown:
        pytest.skip("this TensorFlow writes no start-up lines here, even at level 0")
    assert any("oneDNN" in line or "cuInit" in line or "absl" in line for line in shown)
