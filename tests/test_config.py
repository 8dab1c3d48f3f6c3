"""TrainConfig: defaults, round trips, files, validation messages."""

import dataclasses
import json

import pytest
from conftest import heavy_imports

from zoo.training.config import LOSSES, OPTIMIZERS, SCHEDULES, TrainConfig


def test_defaults_are_valid_and_sensible():
    cfg = TrainConfig()
    assert cfg.optimizer == "adam" and cfg.schedule == "none"
    assert cfg.loss == "categorical_crossentropy" and cfg.monitor == "val_loss"
    assert cfg.step_size == 20 and cfg.gamma == 0.1
    assert cfg.augment == ()


def test_frozen():
    cfg = TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.epochs = 3  # type: ignore[misc]


def _full():
    return TrainConfig(
        epochs=7,
        optimizer="nesterov",
        learning_rate=0.05,
        weight_decay=1e-4,
        clipnorm=1.0,
        schedule="sgdr",
        sgdr_t0=3,
        warmup_epochs=2,
        min_lr=1e-5,
        early_stopping=True,
        loss="svm_hinge",
        sparse_labels=True,
        l2=1e-4,
        dense_dropout=0.5,
        max_norm=3.0,
        augment=["flip", "rotate:0.1", ("zoom", 0.2)],
        seed=3,
        validation_split=0.2,
        jit_compile=False,
    )


def test_dict_and_json_round_trip():
    cfg = _full()
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg
    assert TrainConfig.from_json(cfg.to_json()) == cfg
    data = json.loads(cfg.to_json())
    assert data["augment"] == {"flip": 1.0, "rotate": 0.1, "zoom": 0.2}


@pytest.mark.parametrize("ext", [".json", ".yaml", ".yml"])
def test_file_round_trip(tmp_path, ext):
    cfg = _full()
    path = tmp_path / f"cfg{ext}"
    cfg.to_file(path)
    assert TrainConfig.from_file(path) == cfg


def test_yaml_hand_written(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("optimizer: momentum\nlearning_rate: 1e-2\naugment: [flip, crop]\n")
    cfg = TrainConfig.from_file(path)
    assert cfg.learning_rate == 0.01  # YAML 1.1 reads 1e-2 as a string
    assert [n for n, _ in cfg.augment] == ["flip", "crop"]
    (tmp_path / "empty.yml").write_text("")
    assert TrainConfig.from_file(tmp_path / "empty.yml") == TrainConfig()


def test_replace_validates():
    cfg = TrainConfig().replace(epochs=3)
    assert cfg.epochs == 3
    with pytest.raises(ValueError, match="epochs"):
        cfg.replace(epochs=0)


def test_unknown_key_lists_valid_ones():
    with pytest.raises(ValueError) as err:
        TrainConfig.from_dict({"lr": 0.1})
    text = str(err.value)
    assert "'lr'" in text and "learning_rate" in text and "Valid keys" in text


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"batch_size": "32"}, "batch_size"),
        ({"optimizer": "adm"}, "optimizer"),
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"momentum": 1.0}, "momentum"),
        ({"clipnorm": 1.0, "clipvalue": 1.0}, "clipvalue"),
        ({"schedule": "cosin"}, "schedule"),
        ({"gamma": 0.0}, "gamma"),
        ({"plateau_factor": 1.0}, "plateau_factor"),
        ({"loss": "xent"}, "loss"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"label_smoothing": 0.1, "loss": "mse"}, "label_smoothing"),
        ({"dense_dropout": 1.0}, "dense_dropout"),
        ({"augment": ["flp"]}, "augment"),
        ({"augment": ["zoom:2"]}, "augment"),
        ({"validation_split": 1.0}, "validation_split"),
        ({"jit_compile": "yes"}, "jit_compile"),
        ({"distribute": "tpu"}, "distribute"),
        ({"early_stopping": "true"}, "early_stopping"),
        ({"schedule": "one_cycle", "warmup_epochs": 2}, "warmup_epochs"),
        ({"min_lr": 0.1, "learning_rate": 0.01}, "min_lr"),
        ({"sparse_labels": True, "loss": "hinge_cs"}, "sparse_labels"),
    ],
)
def test_bad_values_name_field_and_value(kwargs, field):
    with pytest.raises(ValueError) as err:
        TrainConfig(**kwargs)
    assert field in str(err.value)
    assert "received" in str(err.value)


def test_bad_file_inputs(tmp_path):
    with pytest.raises(ValueError, match=".json, .yaml or .yml"):
        TrainConfig.from_file(tmp_path / "cfg.toml")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="invalid JSON"):
        TrainConfig.from_file(bad)
    with pytest.raises(ValueError, match="mapping"):
        TrainConfig.from_dict(["epochs", 3])


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_every_optimizer_accepted(name):
    assert TrainConfig(optimizer=name).optimizer == name


@pytest.mark.parametrize("name", SCHEDULES)
def test_every_schedule_accepted(name):
    assert TrainConfig(schedule=name).schedule == name


@pytest.mark.parametrize("name", LOSSES)
def test_every_loss_accepted(name):
    assert TrainConfig(loss=name).loss == name


def test_config_import_does_not_import_keras():
    assert heavy_imports("import zoo.training.config", ("keras",)) == []


# ----------------------------------------------------------- make_optimizer
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_make_optimizer_every_name(name):
    import keras

    from zoo.training.optimizers import make_optimizer

    opt = make_optimizer(TrainConfig(optimizer=name, learning_rate=0.05, clipnorm=1.0))
    assert isinstance(opt, keras.optimizers.Optimizer)
    assert float(keras.ops.convert_to_numpy(opt.learning_rate)) == pytest.approx(0.05)
    assert opt.clipnorm == 1.0


def test_make_optimizer_details():
    import keras

    from zoo.training.optimizers import make_optimizer

    sgd = make_optimizer(TrainConfig(optimizer="sgd"))
    assert sgd.momentum == 0.0 and not sgd.nesterov
    mom = make_optimizer(TrainConfig(optimizer="momentum", momentum=0.8))
    assert mom.momentum == 0.8 and not mom.nesterov
    nag = make_optimizer(TrainConfig(optimizer="nesterov"))
    assert nag.momentum == 0.9 and nag.nesterov
    adamw = make_optimizer(TrainConfig(optimizer="adamw", weight_decay=0.01, clipvalue=0.5))
    assert isinstance(adamw, keras.optimizers.AdamW)
    assert adamw.weight_decay == 0.01 and adamw.clipvalue == 0.5
    sgdw = make_optimizer(TrainConfig(optimizer="momentum", weight_decay=1e-4))
    assert sgdw.weight_decay == 1e-4
    assert make_optimizer(TrainConfig(optimizer="adam")).weight_decay is None


# ------------------------------------------- dropout -> dense_dropout rename
def test_dense_dropout_old_keyword_warns_and_maps():
    import dataclasses

    with pytest.warns(DeprecationWarning, match="dense_dropout"):
        old = TrainConfig(dropout=0.3)
    new = TrainConfig(dense_dropout=0.3)
    assert old == new and old.dense_dropout == 0.3
    assert "dropout" not in old.to_dict() and old.to_dict()["dense_dropout"] == 0.3
    assert "dropout" not in [f.name for f in dataclasses.fields(TrainConfig)]
    assert dataclasses.replace(old, epochs=2) == new.replace(epochs=2)
    with pytest.warns(DeprecationWarning):
        assert TrainConfig().replace(dropout=0.3) == new
    with pytest.raises(ValueError, match="dense_dropout"):
        TrainConfig(dropout=0.3, dense_dropout=0.2)


@pytest.mark.parametrize("ext", [".json", ".yaml"])
def test_dense_dropout_old_key_in_files(tmp_path, ext):
    import yaml

    path = tmp_path / f"old{ext}"
    data = {"epochs": 3, "dropout": 0.25}
    path.write_text(json.dumps(data) if ext == ".json" else yaml.safe_dump(data))
    with pytest.warns(DeprecationWarning, match="dense_dropout"):
        cfg = TrainConfig.from_file(path)
    assert cfg == TrainConfig(epochs=3, dense_dropout=0.25)
    with pytest.warns(DeprecationWarning):
        assert TrainConfig.from_dict({"dropout": 0.25, "dense_dropout": 0.25}).dense_dropout == 0.25
    with pytest.raises(ValueError, match="old name"), pytest.warns(DeprecationWarning):
        TrainConfig.from_dict({"dropout": 0.25, "dense_dropout": 0.5})
