"""Loss landscapes (Li et al. 2018): ``zoo.evaluate.landscape`` and ``zoo landscape``."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from cli.landscape_cmds import landscape_cmd
from zoo.evaluate.landscape import filter_normalized_direction, loss_landscape, save_landscape

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(60, 8, 8, 1), dtype=np.uint8)
    y = np.arange(60) % 3
    path = tmp_path_factory.mktemp("landscape") / "data.npz"
    np.savez(path, x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    return path


def _model():
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(3, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_filter_normalization_follows_its_definition():
    rng = np.random.default_rng(1)
    conv = rng.normal(size=(3, 3, 2, 5)) * np.arange(1, 6)  # filters of different norms
    dense, bias, gamma = rng.normal(size=(7, 4)), rng.normal(size=4), rng.normal(size=5)
    d_conv, d_dense, d_bias, d_gamma = filter_normalized_direction(
        [conv, dense, bias, gamma], np.random.default_rng(2)
    )
    for w, d in ((conv, d_conv), (dense, d_dense)):
        assert d.shape == w.shape
        for j in range(w.shape[-1]):  # filter j: ||d_j|| == ||w_j||, d_j not a copy of w_j
            assert np.linalg.norm(d[..., j]) == pytest.approx(np.linalg.norm(w[..., j]))
            assert not np.allclose(d[..., j] / np.linalg.norm(d[..., j]),
                                   w[..., j] / np.linalg.norm(w[..., j]))  # fmt: skip
    assert not d_bias.any() and not d_gamma.any()  # bias and BatchNorm directions are zero
    again = filter_normalized_direction([conv], np.random.default_rng(2))[0]
    np.testing.assert_array_equal(again, d_conv)  # seeded


def test_grid_shape_center_and_weights_restored(npz, tmp_path):
    from zoo.evaluate import evaluate

    model = _model()
    before = [np.array(w) for w in model.weights]
    seen = []
    result = loss_landscape(model, str(npz), dims=2, steps=3, span=0.5, split="test",
                            samples=1000, progress=lambda *a: seen.append(a))  # fmt: skip
    assert result["loss"].shape == result["accuracy"].shape == (3, 3)
    np.testing.assert_allclose(result["coords"], [-0.5, 0.0, 0.5])
    assert [s[:2] for s in seen] == [(i, 9) for i in range(1, 10)]
    assert result["samples"] == 20  # the whole test split
    reference = evaluate(model, str(npz), "test")["loss"]  # the model's own loss on the data
    assert result["center_loss"] == pytest.approx(reference, rel=1e-5)
    assert result["loss"][1, 1] == pytest.approx(reference, rel=1e-5)
    assert np.all(result["loss"] >= 0) and not np.allclose(result["loss"], reference)
    for w, b in zip(model.weights, before, strict=True):
        np.testing.assert_array_equal(np.array(w), b)
    paths = save_landscape(result, tmp_path / "two.png")
    assert pathlib.Path(paths["png"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    raw = json.loads(pathlib.Path(paths["json"]).read_text())
    assert np.asarray(raw["loss"]).shape == (3, 3)
    with np.load(paths["npz"]) as grid:
        np.testing.assert_allclose(grid["loss"], result["loss"])


def test_bad_arguments_are_refused(npz):
    with pytest.raises(ValueError, match="dims must be 1 or 2"):
        loss_landscape(_model(), str(npz), dims=3)
    with pytest.raises(ValueError, match="span must be > 0"):
        loss_landscape(_model(), str(npz), span=0)


def test_cli_writes_a_curve_and_its_grid(npz, tmp_path):
    saved = tmp_path / "tiny.keras"
    _model().save(saved)
    out = tmp_path / "curve.png"
    args = [str(saved), "--data", str(npz), "--steps", "4", "--samples", "30", "-o", str(out)]
    result = CliRunner().invoke(landscape_cmd, args)
    assert result.exit_code == 0, result.output
    assert "train loss on 30 samples, 4 points" in result.output
    assert out.is_file() and (tmp_path / "curve.json").is_file()
    assert (tmp_path / "curve.npz").is_file()


def test_first_line_comes_before_the_backend_import(tmp_path):
    runner = (
        "import importlib.abc, sys\n"
        "class Refuse(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'keras', 'jax', 'torch'):\n"
        "            raise ModuleNotFoundError('REFUSED ' + name, name=name)\n"
        "sys.meta_path.insert(0, Refuse())\n"
        "from cli.main import main\n"
        "sys.argv = ['zoo', *sys.argv[1:]]\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": REPO, "KERAS_BACKEND": "tensorflow"}
    args = ["landscape", "runs/x", "--data", "d.npz", "--dims", "2", "-o", "x.png"]
    done = subprocess.run([sys.executable, "-c", runner, *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    first = done.stderr.splitlines()[0]
    assert first.startswith("zoo landscape: runs/x on d.npz (train, 500 samples), 121 grid points")
    assert done.returncode != 0 and "REFUSED" in done.stderr
