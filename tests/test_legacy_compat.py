"""Runs and checkpoints written before the contract redesign still load and resume.

``tests/fixtures/legacy_run`` was written by ``tests/fixtures/make_legacy_run.py`` at the
commit before the redesign: an MLP (built with the old ``weight_decay`` builder argument)
SIGKILLed after 2 of 4 epochs of a cosine schedule.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

#: Keras-level behaviour: tests/test_backends.py re-runs this file under JAX.
pytestmark = pytest.mark.backend

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURE = os.path.join(HERE, "fixtures", "legacy_run")
DATA = os.path.join(HERE, "fixtures", "legacy_data.npz")


@pytest.fixture
def legacy_run(tmp_path):
    run_dir = tmp_path / "legacy_run"
    shutil.copytree(FIXTURE, run_dir)
    return run_dir


def test_legacy_run_resumes_to_the_end(legacy_run):
    from zoo.training.fit import train

    result = train(data=DATA, run_dir=legacy_run, resume=True, verbose=0)
    assert result.epochs == 4
    assert result.history["epoch"] == [1, 2, 3, 4]
    # the two recorded epochs are kept exactly, not re-trained
    with open(os.path.join(FIXTURE, "state.json")) as f:
        old = json.load(f)["history"]
    assert result.history["loss"][:2] == pytest.approx(old["loss"])
    # the cosine schedule of the recorded config continues: lr of epoch 3 and 4
    assert result.config.schedule == "cosine"
    assert result.config.learning_rate == pytest.approx(0.05)
    assert result.history["lr"][2] < result.history["lr"][1]
    assert "test_accuracy" in result.metrics
    # that run.json spells TrainConfig.dense_dropout "dropout": read as it, not a changed config
    with open(os.path.join(FIXTURE, "run.json")) as f:
        assert "dropout" in json.load(f)["config"]
    assert result.config.dense_dropout == 0.0
    # the recorded builder arguments still build the same model
    assert result.model.get_layer("dense1").kernel.shape == (784, 16)
    assert result.model.get_layer("dense1").kernel_regularizer is not None


def test_legacy_best_model_loads(legacy_run):
    import zoo

    model = zoo.load_model(legacy_run / "best.keras")
    assert model.output_shape == (None, 10)


def test_a_model_compiled_with_a_zoo_loss_loads_compiled(tmp_path):
    """``zoo.load_model(compile=True)`` registers the zoo's losses itself (fresh process)."""
    import subprocess
    import sys

    from conftest import REPO

    code = (
        "import zoo, keras\n"
        "from zoo.training.losses import MulticlassHinge\n"
        "m = zoo.build_model('perceptron', num_classes=3, input_shape=(4,))\n"
        "m.compile(optimizer='sgd', loss=MulticlassHinge())\n"
        f"m.save({str(tmp_path / 'm.keras')!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True, capture_output=True)
    load = (
        f"import zoo; m = zoo.load_model({str(tmp_path / 'm.keras')!r}, compile=True); "
        "print(type(m.loss).__name__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", load], cwd=REPO, check=True, capture_output=True, text=True
    )
    assert out.stdout.strip().splitlines()[-1] == "MulticlassHinge"
