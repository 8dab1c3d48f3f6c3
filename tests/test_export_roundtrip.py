"""Export round trips: the exported file, run by its own runtime, predicts what Keras predicts.

TFLite: ``zoo export lenet5-mnist --format tflite``, loaded with TensorFlow's
``tf.lite.Interpreter`` and run on the shipped MNIST sample preprocessed as the
manifest says. The preprocessing written beside the export
(``OUT.preprocessing.json``), applied by hand, must give the same inputs.
ONNX: ``zoo export lenet5-mnist --format onnx`` (Keras' ``model.export(format="onnx")``,
through tf2onnx on TensorFlow), loaded with ``onnxruntime`` and compared the same way;
tf2onnx, onnx and onnxruntime are in the ``[test]`` extra. Without tf2onnx the export
must fail in one line naming the package.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")

N_IMAGES = 64


def _tensorflow():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("TFLite export needs the TensorFlow backend")
    return pytest.importorskip("tensorflow")


@pytest.fixture
def empty_user_folder(tmp_path, monkeypatch):
    """Only the shipped checkpoints are visible (no user copy of ``lenet5-mnist``)."""
    folder = tmp_path / "user_saved_models"
    folder.mkdir()
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(folder))
    return folder


def _export(args):
    from click.testing import CliRunner

    from cli.transfer_cmds import export_cmd

    return CliRunner().invoke(export_cmd, args)


def _by_hand(raw: np.ndarray, sidecar: dict) -> np.ndarray:
    """What a user of the exported file does with the sidecar: pad, then x * scale + offset."""
    prep = sidecar["preprocessing"]
    assert prep["mode"] == "scale" and prep["channels"] in (None, raw.shape[-1])
    x = raw.astype("float32")
    if prep["pad_to"]:
        ph, pw = prep["pad_to"][0] - x.shape[1], prep["pad_to"][1] - x.shape[2]
        x = np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))
    return x * np.float32(prep["scale"]) + np.float32(prep["offset"])


def _run_tflite(tf, path, x: np.ndarray) -> np.ndarray:
    interpreter = tf.lite.Interpreter(model_path=str(path))
    (inp,) = interpreter.get_input_details()
    (out,) = interpreter.get_output_details()
    interpreter.resize_tensor_input(inp["index"], list(x.shape))
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x.astype(inp["dtype"]))
    interpreter.invoke()
    return interpreter.get_tensor(out["index"])


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
def test_tflite_export_of_lenet5_mnist_predicts_like_keras(empty_user_folder, tmp_path):
    tf = _tensorflow()
    from zoo.data import load_sample_arrays
    from zoo.evaluate.loading import load_trained
    from zoo.exporting import sidecar_path

    out = tmp_path / "lenet5.tflite"
    res = _export(["lenet5-mnist", "-o", str(out), "--format", "tflite"])
    assert res.exit_code == 0, res.output
    assert out.is_file() and out.stat().st_size > 0
    assert f"{out}.preprocessing.json" in res.output and "not inside" in res.output

    trained = load_trained("lenet5-mnist")
    arrays = load_sample_arrays("mnist-sample")
    pick = np.linspace(0, len(arrays["x_test"]) - 1, N_IMAGES).astype(int)  # the sample is by class
    raw, labels = arrays["x_test"][pick], arrays["y_test"][pick]
    x = trained.preprocessing(raw)
    assert x.shape == (N_IMAGES, 32, 32, 1)  # 28x28 padded as the manifest says

    sidecar = json.loads(Path(sidecar_path(out)).read_text(encoding="utf-8"))
    assert sidecar["input_shape"] == [32, 32, 1]
    assert sidecar["class_names"] == list(trained.class_names) == [str(i) for i in range(10)]
    assert sidecar["class_names_known"] is True and sidecar["export_format"] == "tflite"
    np.testing.assert_array_equal(_by_hand(raw, sidecar), x)

    expected = np.asarray(trained.model.predict(x, verbose=0))
    got = _run_tflite(tf, out, _by_hand(raw, sidecar))
    assert got.shape == expected.shape == (N_IMAGES, 10)
    assert np.abs(got - expected).max() < 1e-4
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))
    assert len(set(labels.tolist())) >= 5  # real digits of several classes
    assert (got.argmax(-1) == labels).mean() >= 0.9


def test_tflite_export_refuses_an_existing_output_and_replaces_it_with_force(
    empty_user_folder, tmp_path
):
    _tensorflow()
    out = tmp_path / "m.tflite"
    out.write_bytes(b"old")
    res = _export(["lenet5-mnist", "-o", str(out), "--format", "tflite"])
    assert res.exit_code != 0 and "exists" in res.output
    assert out.read_bytes() == b"old"
    res = _export(["lenet5-mnist", "-o", str(out), "--format", "tflite", "--force"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[4:8] == b"TFL3"  # the FlatBuffer identifier of a TFLite model


def _onnx_runtime():
    _tensorflow()  # Keras exports ONNX through tf2onnx on TensorFlow (jax2onnx on JAX)
    pytest.importorskip("tf2onnx", reason="ONNX export needs tf2onnx (the [test] extra)")
    return pytest.importorskip("onnxruntime", reason="the [test] extra installs onnxruntime")


@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
def test_onnx_export_of_lenet5_mnist_predicts_like_keras(empty_user_folder, tmp_path):
    ort = _onnx_runtime()
    from zoo.data import load_sample_arrays
    from zoo.evaluate.loading import load_trained
    from zoo.exporting import sidecar_path

    out = tmp_path / "lenet5.onnx"
    res = _export(["lenet5-mnist", "-o", str(out), "--format", "onnx"])
    assert res.exit_code == 0, res.output
    assert f"{out}.preprocessing.json" in res.output and "not inside" in res.output
    sidecar = json.loads(Path(sidecar_path(out)).read_text(encoding="utf-8"))
    assert sidecar["export_format"] == "onnx" and sidecar["input_shape"] == [32, 32, 1]

    trained = load_trained("lenet5-mnist")
    arrays = load_sample_arrays("mnist-sample")
    pick = np.linspace(0, len(arrays["x_test"]) - 1, N_IMAGES).astype(int)
    raw, labels = arrays["x_test"][pick], arrays["y_test"][pick]
    x = _by_hand(raw, sidecar)  # what a user of the .onnx file does with the sidecar
    np.testing.assert_array_equal(x, trained.preprocessing(raw))

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    assert inp.type == "tensor(float)" and list(inp.shape[1:]) == [32, 32, 1]
    got = session.run(None, {inp.name: x})[0]
    expected = np.asarray(trained.model.predict(x, verbose=0))
    assert got.shape == expected.shape == (N_IMAGES, 10)
    assert np.abs(got - expected).max() < 1e-4
    np.testing.assert_array_equal(got.argmax(-1), expected.argmax(-1))
    assert (got.argmax(-1) == labels).mean() >= 0.9


def test_onnx_export_without_tf2onnx_fails_in_one_line_naming_the_extra(
    empty_user_folder, tmp_path, monkeypatch
):
    """tf2onnx made unimportable for this process (None in sys.modules): the install hint."""
    import sys

    _tensorflow()
    monkeypatch.setitem(sys.modules, "tf2onnx", None)
    assert importlib.util.find_spec("tf2onnx") is None
    out = tmp_path / "m.onnx"
    res = _export(["lenet5-mnist", "-o", str(out), "--format", "onnx"])
    assert res.exit_code != 0
    lines = [line for line in res.output.splitlines() if line.strip()]
    error = [line for line in lines if "tf2onnx" in line]
    assert len(error) == 1 and "keras-zoo[onnx]" in error[0], res.output
    assert "Traceback" not in res.output
    assert not out.exists()
