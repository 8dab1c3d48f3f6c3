"""make_callbacks: composition, early stopping on scripted histories, deepcopy,
state for resume."""

import copy
import json
import warnings

import keras
import numpy as np
import pytest

from zoo.training.callbacks import (
    ResumableEarlyStopping,
    get_callbacks_state,
    make_callbacks,
    monitor_mode,
    set_callbacks_state,
)
from zoo.training.config import TrainConfig
from zoo.training.doctor import DoctorCallback
from zoo.training.schedules import EpochLRScheduler, ResumableReduceLROnPlateau


def _types(callbacks):
    return [type(cb).__name__ for cb in callbacks]


def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_defaults():
    assert _types(make_callbacks(TrainConfig())) == ["TerminateOnNaN", "DoctorCallback"]
    assert _types(make_callbacks(TrainConfig(doctor=False))) == ["TerminateOnNaN"]


def test_full_composition_and_order(tmp_path):
    cfg = TrainConfig(schedule="step", early_stopping=True, patience=3, min_delta=0.01)
    extra = keras.callbacks.Callback()
    cbs = make_callbacks(cfg, tmp_path / "run", extra=[extra], num_classes=10)
    assert _types(cbs) == [
        "EpochLRScheduler",
        "TerminateOnNaN",
        "DoctorCallback",
        "ResumableEarlyStopping",
        "CSVLogger",
        "Callback",
    ]
    assert cbs[-1] is extra
    es = cbs[3]
    assert (es.patience, es.min_delta, es.restore_best_weights, es.monitor) == (
        3,
        0.01,
        True,
        "val_loss",
    )
    assert cbs[2].num_classes == 10 and cbs[2].report_path.endswith("doctor.txt")
    assert cbs[4].append and cbs[4].filename.endswith("history.csv")
    assert (tmp_path / "run").is_dir()


def test_plateau_with_warmup():
    cfg = TrainConfig(
        schedule="plateau", warmup_epochs=3, plateau_factor=0.5, plateau_patience=4, min_lr=1e-5
    )
    cbs = make_callbacks(cfg)
    assert isinstance(cbs[0], EpochLRScheduler) and cbs[0].until_epoch == 3
    plateau = cbs[1]
    assert isinstance(plateau, ResumableReduceLROnPlateau)
    assert (plateau.factor, plateau.patience, plateau.min_lr) == (0.5, 4, 1e-5)


def test_val_monitor_without_validation_fails_early():
    with pytest.raises(ValueError, match="validation"):
        make_callbacks(TrainConfig(early_stopping=True), has_validation=False)
    make_callbacks(TrainConfig(early_stopping=True, monitor="loss"), has_validation=False)


@pytest.mark.backend
def test_tensorboard_only_on_tensorflow(tmp_path):
    cfg = TrainConfig(tensorboard=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cbs = make_callbacks(cfg, tmp_path)
    if keras.backend.backend() == "tensorflow":
        assert "TensorBoard" in _types(cbs)
    else:
        assert "TensorBoard" not in _types(cbs)
        assert any("TensorBoard" in str(w.message) for w in caught)


@pytest.mark.parametrize(
    "cfg",
    [
        TrainConfig(),
        TrainConfig(schedule="sgdr", early_stopping=True),
        TrainConfig(schedule="plateau", warmup_epochs=2, early_stopping=True),
    ],
)
@pytest.mark.backend
def test_callbacks_survive_deepcopy(cfg, tmp_path):
    cbs = make_callbacks(cfg, tmp_path)
    copies = copy.deepcopy(cbs)
    assert _types(copies) == _types(cbs)
    assert all(a is not b for a, b in zip(cbs, copies, strict=False))
    # a copy used after the original was trained is unaffected by it
    model = _model()
    for cb in cbs:
        if isinstance(cb, ResumableEarlyStopping):
            cb.set_model(model)
            cb.on_train_begin()
            cb.on_epoch_end(0, {"val_loss": 1.0})
            twin = copies[cbs.index(cb)]
            assert getattr(twin, "best", None) != 1.0


# ----------------------------------------------------- early stopping, scripted
def _run_es(cb, model, values, start=0):
    stopped_at = None
    for epoch, value in enumerate(values[start:], start=start):
        cb.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            stopped_at = epoch
            break
    return stopped_at


VALS = [1.0, 0.8, 0.7, 0.71, 0.72, 0.69, 0.70, 0.70, 0.70, 0.70]


def test_early_stopping_against_scripted_history():
    model = _model()
    cb = make_callbacks(TrainConfig(early_stopping=True, patience=3, doctor=False))[-1]
    cb.set_model(model)
    cb.on_train_begin()
    # best 0.69 at epoch 5; 6, 7, 8 do not improve -> stop at epoch 8
    assert _run_es(cb, model, VALS) == 8
    assert cb.best == pytest.approx(0.69) and cb.best_epoch == 5


def test_early_stopping_min_delta():
    model = _model()
    cb = ResumableEarlyStopping(monitor="val_loss", patience=3, min_delta=0.05)
    cb.set_model(model)
    cb.on_train_begin()
    # 0.69 at epoch 5 is not 0.05 better than 0.7: epochs 3, 4, 5 wait -> stop at 5
    assert _run_es(cb, model, VALS) == 5


@pytest.mark.backend
def test_early_stopping_restores_best_weights():
    model = _model()
    cb = ResumableEarlyStopping(patience=1, restore_best_weights=True)
    cb.set_model(model)
    cb.on_train_begin()
    snapshots = []
    for epoch, value in enumerate([1.0, 0.5, 0.9, 0.9]):
        model.set_weights([np.full(w.shape, epoch, w.dtype) for w in model.get_weights()])
        snapshots.append(model.get_weights())
        cb.on_epoch_end(epoch, {"val_loss": value})
        if model.stop_training:
            break
    cb.on_train_end()
    assert all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), snapshots[1], strict=False)
    )


def test_early_stopping_state_survives_resume():
    model = _model()
    full = ResumableEarlyStopping(patience=3)
    full.set_model(model)
    full.on_train_begin()
    expected = _run_es(full, model, VALS)

    model = _model()
    first = ResumableEarlyStopping(patience=3)
    first.set_model(model)
    first.on_train_begin()
    assert _run_es(first, model, VALS[:7]) is None
    state = json.loads(json.dumps(first.get_state()))

    model2 = _model()
    second = ResumableEarlyStopping(patience=3)
    second.set_model(model2)
    second.set_state(state)
    second.on_train_begin()  # Keras' reset must not wipe the restored counters
    assert _run_es(second, model2, VALS, start=7) == expected


def test_missing_monitor_warns_with_available_metrics():
    model = _model()
    cb = make_callbacks(TrainConfig(early_stopping=True, monitor="val_accuracy", doctor=False))[-1]
    assert cb.mode == "max"
    cb.set_model(model)
    cb.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cb.on_epoch_end(0, {"loss": 1.0, "val_loss": 1.2})
    text = " ".join(str(w.message) for w in caught)
    assert "val_accuracy" in text and "val_loss" in text


def test_monitor_mode():
    assert monitor_mode("val_loss") == "min" and monitor_mode("mae") == "min"
    assert monitor_mode("val_accuracy") == "max" and monitor_mode("val_auc") == "max"
    assert monitor_mode("val_custom") == "auto"


def test_callbacks_state_round_trip():
    cfg = TrainConfig(schedule="plateau", early_stopping=True)
    cbs = make_callbacks(cfg)
    model = _model()
    for cb in cbs:
        cb.set_model(model)
        cb.on_train_begin()
    for epoch, value in enumerate([1.0, 0.9, 0.95]):
        for cb in cbs:
            cb.on_epoch_end(epoch, {"loss": value, "val_loss": value})
    state = json.loads(json.dumps(get_callbacks_state(cbs)))
    assert set(state) == {"ResumableReduceLROnPlateau", "DoctorCallback", "ResumableEarlyStopping"}
    fresh = make_callbacks(cfg)
    set_callbacks_state(fresh, state)
    for cb in fresh:
        cb.set_model(model)
        cb.on_train_begin()
    assert get_callbacks_state(fresh) == state
    with pytest.raises(ValueError, match="matches none"):
        set_callbacks_state(make_callbacks(TrainConfig()), {"Nope": {}})


def test_doctor_gets_num_classes_only_for_crossentropy():
    cbs = make_callbacks(TrainConfig(loss="svm_hinge"), num_classes=10)
    assert next(cb for cb in cbs if isinstance(cb, DoctorCallback)).num_classes is None


def test_doctor_is_wired_with_report(tmp_path):
    cbs = make_callbacks(TrainConfig(), tmp_path)
    doctor = next(cb for cb in cbs if isinstance(cb, DoctorCallback))
    assert doctor.report_path == str(tmp_path / "doctor.txt")


def test_state_keys_are_stable_even_for_subclasses():
    """state.json of old runs keys callback state by these names; a subclass keeps its parent's."""

    class MyDoctor(DoctorCallback):
        pass

    assert DoctorCallback.state_key == "DoctorCallback"
    assert ResumableEarlyStopping.state_key == "ResumableEarlyStopping"
    assert ResumableReduceLROnPlateau.state_key == "ResumableReduceLROnPlateau"
    assert set(get_callbacks_state([MyDoctor(verbose=0)])) == {"DoctorCallback"}
    doubled = get_callbacks_state([DoctorCallback(verbose=0), MyDoctor(verbose=0)])
    assert set(doubled) == {"DoctorCallback", "DoctorCallback_2"}


def test_monitor_is_passed_in_not_patched():
    from zoo.training.callbacks import find_callback

    cfg = TrainConfig(schedule="plateau", early_stopping=True, monitor="val_loss")
    cbs = make_callbacks(cfg, monitor="loss", has_validation=True)
    assert find_callback(cbs, ResumableEarlyStopping).monitor == "loss"
    assert find_callback(cbs, ResumableReduceLROnPlateau).monitor == "loss"
    assert find_callback(cbs, keras.callbacks.CSVLogger) is None
    # the check is on what the user asked for: val_loss without validation data still fails early
    with pytest.raises(ValueError, match="needs validation data"):
        make_callbacks(cfg, monitor="loss", has_validation=False)


def test_data_kwargs_for_arrays_and_datasets():
    from zoo.training.fit_data import data_kwargs, steps_per_epoch

    x, y = np.zeros((5, 2)), np.zeros(5)
    assert data_kwargs((x, y), 2) == {"x": x, "y": y, "batch_size": 2}
    assert data_kwargs((x, y), 2, shuffle=True)["shuffle"] is True
    assert steps_per_epoch((x, y), 2) == 3
    dataset = [(x, y)] * 4
    assert data_kwargs(dataset, 2, shuffle=True) == {"x": dataset}
    assert steps_per_epoch(dataset, 2) == 4
