"""Tuning at scale (issue 17): the architecture as a search dimension, trials released or each
in its own process, and the search's progress (trial i/N, best so far) on every trial line."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner
from test_tuning import write_tiny_npz

from tuning.params import SpaceError

FAST = {"jit_compile": False, "doctor": False}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz", n_train=120, n_test=20)


def test_the_architecture_is_searched_and_the_best_record_names_it(tiny, tmp_path):
    from tuning.search import search

    lines = []
    doc = search(
        "mlp", tiny, ["model=mlp,perceptron", "learning_rate=0.01"], directory=str(tmp_path / "s"),
        tuner="grid", max_trials=2, max_epochs=1, config=FAST, progress=lines.append,
    )  # fmt: skip
    built = {t["hyperparameters"]["model"] for t in doc["trials"]}
    assert built == {"mlp", "perceptron"}
    best = doc["best"]
    record = json.loads((tmp_path / "s" / "best" / "best.json").read_text())
    assert record["model"] == best["hyperparameters"]["model"]
    ends = [line for line in lines if line.startswith("[tune] trial") and "COMPLETED" in line]
    assert ends[0].endswith("[1/2, best val_accuracy=" + ends[0].rsplit("=", 1)[1])
    assert "[2/2, best val_accuracy=" in ends[1]


def test_options_must_be_valid_for_every_architecture(tiny):
    from tuning import ZooHyperModel, parse_space

    with pytest.raises(SpaceError, match="hidden_units"):  # perceptron has no hidden layers
        ZooHyperModel("mlp", tiny, parse_space(["model=mlp,perceptron", "hidden_units=16"]))
    with pytest.raises(SpaceError, match="list of registered models"):
        ZooHyperModel("mlp", tiny, parse_space(["model=log:1e-3:1e-1"]))
    with pytest.raises(ValueError, match="resnet20"):  # an unknown name suggests close ones
        ZooHyperModel("mlp", tiny, parse_space(["model=mlp,resnet2O"]))


def test_resnets_build_as_chosen_on_a_tiny_input(tiny):
    import keras_tuner as kt

    from tuning import ZooHyperModel, parse_space

    hm = ZooHyperModel("resnet20", tiny, parse_space(["model=resnet20,resnet32"]))
    hp = kt.HyperParameters()
    hp.Fixed("model", "resnet32")
    assert hm.build(hp).name == "resnet32" and hm.architecture(hp) == "resnet32"


@pytest.mark.subprocess
def test_each_trial_in_its_own_process(tiny, tmp_path):
    from cli.tune_cmds import tune_cmd

    config = tmp_path / "fast.json"
    config.write_text(json.dumps(FAST))
    args = ["mlp", "--data", tiny, "--tuner", "grid", "--max-trials", "2", "--max-epochs", "1",
            "--space", "optimizer=sgd,adam", "--config", str(config), "-d", str(tmp_path / "s"),
            "--trial-subprocess"]  # fmt: skip
    result = CliRunner().invoke(tune_cmd, args)
    assert result.exit_code == 0, result.output
    # one child per trial, then one that finds the search done and reports it
    assert result.output.count("[tune] grid search of mlp") == 3, result.output
    assert result.output.count(" COMPLETED ") >= 2 and os.path.isfile(
        tmp_path / "s" / "best" / "model.keras"
    )
