"""Hyperparameter search: spaces, the hypermodel at a pinned point, the CLI end to end, bad input."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import heavy_imports

pytest.importorskip("keras_tuner")


def write_tiny_npz(path, n_train=300, n_test=60, seed=0):
    """A few hundred real MNIST digits from the shipped sample, every class present."""
    from zoo.data.sample import load_sample_arrays

    a = load_sample_arrays()
    rng = np.random.default_rng(seed)
    i = rng.permutation(len(a["y_train"]))[:n_train]
    j = rng.permutation(len(a["y_test"]))[:n_test]
    np.savez(
        path,
        x_train=a["x_train"][i],
        y_train=a["y_train"][i],
        x_test=a["x_test"][j],
        y_test=a["y_test"][j],
    )
    return str(path)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return write_tiny_npz(tmp_path_factory.mktemp("data") / "tiny.npz")


# Fast, deterministic trainings for every search in the tests.
FAST = json.dumps({"jit_compile": False, "doctor": False})


@pytest.fixture(scope="module")
def fast_config(tmp_path_factory):
    path = tmp_path_factory.mktemp("cfg") / "fast.json"
    path.write_text(FAST)
    return str(path)


# ----------------------------------------------------------------- spaces
def test_cli_space_forms():
    from tuning.space import parse_space

    space = {p.name: p for p in parse_space([
        "learning_rate=log:1e-4:1e-1", "optimizer=sgd,momentum,adam", "dropout=0:0.5:0.1",
        "batch_size=32,64,128", "units=16:128:16", "epochs=3", "momentum=0.5:0.99@optimizer=momentum",
        "hidden_units=32,64-32",
    ])}  # fmt: skip
    lr = space["learning_rate"]
    assert (lr.kind, lr.min, lr.max, lr.sampling) == ("float", 1e-4, 1e-1, "log")
    assert space["optimizer"].values == ("sgd", "momentum", "adam")
    assert (space["dropout"].kind, space["dropout"].step) == ("float", 0.1)
    assert space["batch_size"].values == (32, 64, 128)
    assert (space["units"].kind, space["units"].step) == ("int", 16)
    assert (space["epochs"].kind, space["epochs"].value) == ("fixed", 3)
    assert (space["momentum"].parent_name, space["momentum"].parent_values) == (
        "optimizer",
        ("momentum",),
    )
    assert space["hidden_units"].values == ("32", "64-32")  # mixed choices become strings


def test_space_file_yaml_and_json_round_trip(tmp_path):
    from tuning.space import load_space_file, parse_space, space_from_dict, space_to_dict

    yml = tmp_path / "space.yaml"
    yml.write_text(
        "learning_rate: log:1e-4:1e-1\n"
        "optimizer: [sgd, momentum, adam]\n"
        "dropout: {min: 0, max: 0.5, step: 0.1}\n"
        "batch_size: {values: [32, 64]}\n"
        "momentum: {min: 0.5, max: 0.99, parent: optimizer, parent_values: [momentum]}\n"
        "epochs: 2\n"
    )
    space = load_space_file(yml)
    assert [p.name for p in space] == [
        "learning_rate",
        "optimizer",
        "dropout",
        "batch_size",
        "momentum",
        "epochs",
    ]
    assert space_from_dict(space_to_dict(space)) == space
    js = tmp_path / "space.json"
    js.write_text(json.dumps(space_to_dict(space)))
    assert load_space_file(js) == space
    # CLI items override file entries of the same name
    merged = {p.name: p for p in parse_space(["epochs=1:3"], yml)}
    assert merged["epochs"].kind == "int"


@pytest.mark.parametrize(
    "item, words",
    [
        ("learning_rate=1:0.1", "min must be < max"),
        ("learning_rate=log:0:1", "log sampling needs min > 0"),
        ("dropout=0:0.5:0.9", "step must be in"),
        ("dropout=a:b", "is not a number"),
        ("learning_rate", "NAME=SPEC"),
        ("momentum=0.1:0.9@optimizer", "condition"),
        ("tuner/epochs=1", "reserved"),
    ],
)
def test_malformed_specs_are_rejected(item, words):
    from tuning.space import SpaceError, parse_space

    with pytest.raises(SpaceError, match=words):
        parse_space([item])


# ---------------------------------------------------------------- routing
def test_names_go_where_their_set_says_and_old_prefixes_still_work():
    from tuning.routing import target_of

    builder = {"dropout": 0.0, "kernel_l2": 0.0, "hidden_units": (512,), "activation": "relu"}
    train = ["learning_rate", "dense_dropout", "weight_decay", "l2", "epochs"]
    expected = {
        "dropout": ("model", "dropout"),  # the architecture's own dropout
        "kernel_l2": ("model", "kernel_l2"),
        "hidden_units": ("model", "hidden_units"),
        "dense_dropout": ("train", "dense_dropout"),
        "weight_decay": ("train", "weight_decay"),  # decoupled optimizer decay
        "l2": ("train", "l2"),
        "learning_rate": ("train", "learning_rate"),
        "model.weight_decay": ("model", "kernel_l2"),  # old name of the L2 kernel penalty
        "train.dropout": ("train", "dense_dropout"),  # old name of the Dense-layer dropout
        "model.activation": ("model", "activation"),
        "train.epochs": ("train", "epochs"),
        "nonsense": ("train", "nonsense"),  # left for validate_space to refuse
    }
    assert {name: target_of(name, builder, train) for name in expected} == expected
    # A registry and TrainConfig from before the renames keep the old meanings.
    old_builder, old_train = {"dropout": 0.0, "weight_decay": 0.0}, ["dropout", "weight_decay"]
    assert target_of("weight_decay", old_builder, old_train) == ("model", "weight_decay")
    assert target_of("model.weight_decay", old_builder, old_train) == ("model", "weight_decay")
    assert target_of("train.dropout", old_builder, old_train) == ("train", "dropout")


def test_a_registered_model_routes_its_options_and_the_training_fields():
    from tuning.routing import builder_options, target_of, train_fields
    from tuning.space import SpaceError, parse_space, validate_space
    from zoo.training.config import TrainConfig

    options = builder_options("mlp")
    assert {"hidden_units", "dropout", "activation", "num_classes"} <= set(options)
    assert isinstance(options["hidden_units"], tuple)  # defaults come along
    fields = train_fields()
    assert target_of("hidden_units", options, fields) == ("model", "hidden_units")
    assert target_of("learning_rate", options, fields) == ("train", "learning_rate")
    side, field = target_of("train.dropout", options, fields)
    assert side == "train" and field in fields
    side, field = target_of("model.weight_decay", options, fields)
    assert side == "model" and field in options
    space = parse_space(["train.dropout=0:0.5", "model.weight_decay=log:1e-5:1e-3", "dropout=0:0.5",
                         "hidden_units=16,32", "learning_rate=log:1e-3:1e-1"])  # fmt: skip
    validate_space(space, train_fields=fields, builder_kwargs=options, base_config=TrainConfig())
    with pytest.raises(SpaceError, match="did you mean 'hidden_units'"):
        validate_space(parse_space(["hiden_units=16"]), train_fields=fields, builder_kwargs=options)


# ------------------------------------------------------------- hypermodel
def test_pinned_point_builds_the_registry_model_and_config(tiny):
    import keras_tuner as kt

    from tuning.hypermodel import ZooHyperModel
    from tuning.space import parse_space

    space = parse_space([
        "learning_rate=log:1e-4:1e-1", "optimizer=sgd,momentum,adam", "momentum=0.5:0.99@optimizer=momentum",
        "hidden_units=16,32-16", "dropout=0:0.5:0.25", "train.dropout=0:0.5", "batch_size=16,64", "epochs=1:3",
    ])  # fmt: skip
    hm = ZooHyperModel("mlp", tiny, space, json.loads(FAST))
    hp = kt.HyperParameters()
    for name, value in (("learning_rate", 0.01), ("optimizer", "adam"), ("hidden_units", "32-16"),
                        ("dropout", 0.25), ("train.dropout", 0.0), ("batch_size", 16), ("epochs", 1)):  # fmt: skip
        hp.Fixed(name, value)
    model = hm.build(hp)
    dense = [layer for layer in model.layers if layer.name in ("dense1", "dense2")]
    assert [d.units for d in dense] == [32, 16]  # builder kwarg, not a copy of the architecture
    assert {"dense1_dropout", "dense2_dropout"} <= {layer.name for layer in model.layers}
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    config = hm.config_for(hp)
    assert (config.learning_rate, config.optimizer, config.batch_size, config.epochs) == (
        0.01,
        "adam",
        16,
        1,
    )
    assert config.monitor == "val_accuracy"
    assert "momentum" not in hm.values(hp)  # conditional: inactive for adam
    metrics = hm.fit(hp, model)
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(metrics)
    assert hm.last_fit["epochs"] == 1


def test_lenet_input_is_padded_like_zoo_train(tiny):
    import keras_tuner as kt

    from tuning.hypermodel import ZooHyperModel
    from tuning.space import parse_space

    hm = ZooHyperModel("lenet5", tiny, parse_space(["activation=tanh,relu"]), json.loads(FAST))
    hp = kt.HyperParameters()
    hp.Fixed("activation", "relu")
    model = hm.build(hp)
    assert model.input_shape == (None, 32, 32, 1)
    assert model.get_layer("c1_act").get_config()["activation"] == "relu"


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"space": ["hiden_units=16,32"]}, "did you mean 'hidden_units'"),
        ({"space": ["num_classes=2,3"]}, "set by the search"),
        ({"space": ["optimizer=sgd,adamx"]}, "must be one of"),
        ({"objective": "val_auc"}, "choose one of: loss, accuracy, val_loss, val_accuracy"),
        ({"tuner": "annealing"}, "choose one of: random, grid, bayesian, hyperband"),
        ({"tuner": "hyperband", "space": ["epochs=1:2"]}, "Hyperband sets"),
        ({"space": ["epochs=1:50"]}, "exceed --max-epochs"),
    ],
)
def test_bad_requests_fail_before_the_search(tiny, kwargs, words):
    from tuning.search import prepare

    args = {"space": ["learning_rate=log:1e-3:1e-1"], "max_epochs": 2, **kwargs}
    with pytest.raises(ValueError, match=words):
        prepare("mlp", tiny, args.pop("space"), **args)


# -------------------------------------------------------------------- CLI
def test_cli_bad_input_is_one_line_and_non_zero(tiny, tmp_path):
    from cli.tune_cmds import tune_cmd

    base = ["mlp", "--data", tiny, "-d", str(tmp_path / "s")]
    cases = [
        ["--space", "foo=1:2"],
        ["--space", "learning_rate=1:0.1"],
        ["--space", "optimizer=sgd,adam", "--objective", "val_auc"],
        ["--space", "optimizer=sgd", "--tuner", "annealing"],
        ["--space", "optimizer=sgd,adam", "--time-budget", "soon"],
        ["--space", "optimizer=sgd,adam", "--chief", "0.0.0.0:8470"],
        ["--space", "optimizer=sgd,adam", "--save-as", "../x"],
        [],
    ]
    for extra in cases:
        result = CliRunner().invoke(tune_cmd, base + extra)
        assert result.exit_code != 0, (extra, result.output)
        lines = [line for line in result.output.strip().splitlines() if line.startswith("Error")]
        assert len(lines) == 1, result.output
    result = CliRunner().invoke(tune_cmd, base + ["--space", "foo=1:2"])
    assert (
        "Valid names:" in result.output
        and "learning_rate" in result.output
        and "hidden_units" in result.output
    )
    result = CliRunner().invoke(
        tune_cmd, base + ["--space", "optimizer=sgd", "--chief", "0.0.0.0:8470"]
    )
    assert "--allow-remote" in result.output and "unauthenticated" in result.output
    assert not (tmp_path / "s" / "search").exists()  # nothing started


def test_help_says_the_channel_is_unauthenticated():
    from cli.tune_cmds import tune_cmd

    out = CliRunner().invoke(tune_cmd, ["--help"]).output
    assert "UNAUTHENTICATED" in out and "--allow-remote" in out


def test_the_library_holds_no_test_hooks_and_one_private_keras_tuner_use():
    """Faults are injected by tests/tuning_faults.py; keras_tuner.src only where no public way exists."""
    import glob

    from conftest import REPO

    private = []
    for path in sorted(glob.glob(os.path.join(REPO, "tuning", "*.py"))):
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        assert "ZOO_TUNE_TEST" not in text, path
        if "keras_tuner.src" in text:
            private.append(os.path.basename(path))
    assert private == ["distributed.py"]  # serve(): see the comment there


def test_importing_the_tune_commands_imports_no_keras():
    code = "import cli.tune_cmds, tuning, tuning.space, tuning.report"
    assert heavy_imports(code, ("tensorflow", "keras", "keras_tuner", "jax")) == []


@pytest.fixture(scope="module")
def finished_search(tiny, fast_config, tmp_path_factory):
    """A real 2-trial grid search run by `zoo tune --in-process`.

    The supervised child process (the default) is run, with ``--save-as``, by
    test_tuning_faults.py::test_self_killing_trial_fails_while_the_search_completes.
    """
    from cli.tune_cmds import tune_cmd

    folder = tmp_path_factory.mktemp("tune") / "mlp-grid"
    saved = tmp_path_factory.mktemp("saved_models")
    args = ["mlp", "--data", tiny, "--tuner", "grid", "--max-trials", "3", "--max-epochs", "1",
            "--space", "optimizer=sgd,adam", "--space", "hidden_units=16", "--config", fast_config,
            "-d", str(folder)]  # fmt: skip
    old = os.environ.get("ZOO_SAVED_MODELS")
    os.environ["ZOO_SAVED_MODELS"] = str(saved)  # never publish into the repository
    try:
        result = CliRunner().invoke(tune_cmd, args + ["--save-as", "mlp_tuned", "--in-process"])
    finally:
        if old is None:
            os.environ.pop("ZOO_SAVED_MODELS")
        else:
            os.environ["ZOO_SAVED_MODELS"] = old
    return folder, args, result, saved


def test_cli_search_end_to_end(finished_search):
    folder, _, result, saved = finished_search
    assert result.exit_code == 0, result.output
    assert result.output.count(" started: ") == 2 and result.output.count(" COMPLETED ") >= 2
    with open(folder / "results.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["status"] for r in rows] == ["COMPLETED", "COMPLETED"]  # grid of 2 < max_trials 3
    assert {r["hp:optimizer"] for r in rows} == {"sgd", "adam"}
    assert all(
        r["metric:val_accuracy"] and float(r["duration_s"]) > 0 and r["epochs"] == "1" for r in rows
    )
    doc = json.loads((folder / "results.json").read_text())
    assert doc["counts"] == {"COMPLETED": 2} and doc["total_epochs"] == 2
    assert doc["best"]["objective"] == max(t["objective"] for t in doc["trials"])
    for png in ("objective_per_trial.png", "hparams_vs_objective.png"):
        assert (folder / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    best = json.loads((folder / "best" / "best.json").read_text())
    assert best["hyperparameters"] == doc["best"]["hyperparameters"] and best["model"] == "mlp"
    assert best["class_names"] == [str(i) for i in range(10)] and "test_accuracy" in best["metrics"]
    import zoo

    model = zoo.load_model(folder / "best" / "model.keras")
    assert model.output_shape == (None, 10)
    from zoo import pretrained

    manifest = pretrained.read_manifest(
        "mlp_tuned", root=saved
    )  # published through the project's publish
    assert (
        manifest["class_names"] == best["class_names"]
        and "published as saved_models/mlp_tuned" in result.output
    )
    pretrained.verify("mlp_tuned", root=saved)


def test_tune_report_reprints_and_new_search_refuses_existing_folder(finished_search):
    from cli.tune_cmds import tune_cmd, tune_report_cmd

    folder, args, _, _ = finished_search
    result = CliRunner().invoke(tune_report_cmd, [str(folder), "--no-plots"])
    assert result.exit_code == 0, result.output
    assert (
        "2 completed" in result.output and "best: trial" in result.output and "sgd" in result.output
    )
    result = CliRunner().invoke(tune_cmd, args)
    assert result.exit_code != 0 and "--resume" in result.output
    result = CliRunner().invoke(tune_report_cmd, [str(folder.parent)])
    assert result.exit_code != 0 and "holds no search" in result.output


def test_truncated_state_resumes_from_the_last_good_copy(finished_search):
    from cli.tune_cmds import tune_cmd

    folder, args, _, _ = finished_search
    before = json.loads((folder / "results.json").read_text())
    oracle = folder / "search" / "oracle.json"
    text = oracle.read_text()
    oracle.write_text(text[: len(text) // 2])  # what a kill during keras-tuner's own write leaves
    result = CliRunner().invoke(tune_cmd, args + ["--resume", "--in-process"])
    assert result.exit_code == 0, result.output
    assert " started" not in result.output  # nothing re-run
    after = json.loads((folder / "results.json").read_text())
    assert [(t["trial_id"], t["status"], t["objective"]) for t in after["trials"]] == [
        (t["trial_id"], t["status"], t["objective"]) for t in before["trials"]
    ]
    json.loads(oracle.read_text())  # rewritten whole


def test_changed_request_refuses_to_resume(finished_search):
    from cli.tune_cmds import tune_cmd

    _folder, args, _, _ = finished_search
    changed = [a if a != "optimizer=sgd,adam" else "optimizer=sgd,rmsprop" for a in args]
    result = CliRunner().invoke(tune_cmd, changed + ["--resume"])
    assert result.exit_code != 0 and "space" in result.output and "differ" in result.output


def test_state_files_fall_back_to_the_last_good_copy(tmp_path):
    from tuning.state import read_state, write_state

    path = str(tmp_path / "oracle.json")
    write_state(path, {"n": 1})
    write_state(path, {"n": 2, "bad": float("nan")})  # NaN is stored as null: strict JSON
    assert read_state(path) == {"n": 2, "bad": None}
    with open(path, "w") as fh:
        fh.write('{"n": 3, "tru')  # a torn write
    with pytest.warns(UserWarning, match="last good copy"):
        assert read_state(path) == {"n": 1}
    assert read_state(path, backup=False) is None


def test_hyperband_continues_from_parent_models_within_max_trials(tiny, tmp_path):
    from tuning.search import search

    # factor 2 over 2 epochs: two 1-epoch trials, the best promoted to 2 epochs, then a
    # second bracket that max_trials=3 cuts off.
    doc = search(
        "mlp", tiny, ["learning_rate=log:1e-3:1e-1", "hidden_units=16"], directory=str(tmp_path / "hb"),
        tuner="hyperband", max_trials=3, max_epochs=2, hyperband_factor=2, config=json.loads(FAST),
        seed=3, progress=lambda _: None,
    )  # fmt: skip
    trials = doc["trials"]
    assert len(trials) == 3 and doc["counts"].get("COMPLETED") == 3
    assert not (tmp_path / "hb" / "search" / "trial_3").exists()  # max_trials respected
    budgets = [
        t["hyperparameters"]["tuner/epochs"] - t["hyperparameters"]["tuner/initial_epoch"]
        for t in trials
    ]
    # each trial trains only its own share of epochs
    assert [t["epochs"] for t in trials] == budgets
    assert doc["total_epochs"] == sum(budgets)
    promoted = [t for t in trials if t["hyperparameters"].get("tuner/trial_id")]
    assert promoted and promoted[0]["hyperparameters"]["tuner/initial_epoch"] == 1


def test_bayesian_search_runs(tiny, tmp_path):
    from tuning.search import search

    doc = search(
        "mlp", tiny, ["learning_rate=log:1e-3:1e-1", "hidden_units=16"], directory=str(tmp_path / "bo"),
        tuner="bayesian", max_trials=2, max_epochs=1, config=json.loads(FAST), seed=3, progress=lambda _: None,
    )  # fmt: skip
    # one random initial point, then one trial proposed by the Gaussian process
    assert doc["counts"].get("COMPLETED") == len(doc["trials"]) == 2


@pytest.mark.parametrize(
    "status, series", [("completed", [0.5, float("nan")]), ("diverged", [0.1, 0.1])]
)
def test_nan_objective_or_divergence_fails_the_trial(tiny, monkeypatch, status, series):
    import keras_tuner as kt

    from tuning.hypermodel import ZooHyperModel
    from tuning.space import parse_space
    from zoo.training import fit as fit_module

    class Result:
        epochs = 2
        run_dir = None

    def fake_train(model, data, config, **kwargs):
        r = Result()
        r.status = status
        r.history = {"epoch": [1, 2], "loss": [1.0, 1.0], "val_accuracy": series}
        return r

    hm = ZooHyperModel("mlp", tiny, parse_space(["hidden_units=16"]), json.loads(FAST))
    hp = kt.HyperParameters()
    hm.values(hp)
    monkeypatch.setattr(fit_module, "train", fake_train)
    with pytest.raises(kt.errors.FailedTrialError):  # keras-tuner marks it FAILED, no retry
        hm.fit(hp, hm.build(hp))


def test_a_really_diverging_trial_is_failed_and_the_search_goes_on(tiny, tmp_path):
    from tuning.search import search

    config = {**json.loads(FAST), "optimizer": "sgd"}
    doc = search(
        "mlp", tiny, ["learning_rate=1e30,1e-2", "hidden_units=16"], directory=str(tmp_path / "nan"),
        tuner="grid", max_trials=2, max_epochs=1, config=config, seed=3, progress=lambda _: None,
    )  # fmt: skip
    by_lr = {t["hyperparameters"]["learning_rate"]: t["status"] for t in doc["trials"]}
    assert by_lr == {1e30: "FAILED", 1e-2: "COMPLETED"}
