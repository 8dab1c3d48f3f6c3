"""The doctor: one scripted history per diagnosis, and healthy ones that pass."""

import math
import warnings

import keras
import numpy as np
import pytest

from zoo.training.doctor import (
    Diagnosis,
    DoctorCallback,
    diagnose,
    format_report,
)

N = 15
T = np.arange(N)


def _healthy():
    loss = 2.2 * np.exp(-0.3 * T) + 0.1
    return {
        "initial_loss": [2.31],
        "loss": list(loss),
        "val_loss": list(loss * 1.1 + 0.02),
        "accuracy": list(0.95 - 0.85 * np.exp(-0.3 * T)),
        "val_accuracy": list(0.92 - 0.82 * np.exp(-0.3 * T)),
    }


def _codes(history, **kwargs):
    return [d.code for d in diagnose(history, **kwargs)]


def test_healthy_history_triggers_nothing():
    assert diagnose(_healthy(), num_classes=10) == []


def test_healthy_loss_only_history_triggers_nothing():
    h = _healthy()
    del h["accuracy"], h["val_accuracy"]
    assert diagnose(h) == []
    assert diagnose({"loss": [1.0]}) == []


SICK = {
    "nan_loss": ({"loss": [2.3, 1.5, float("nan")]}, None),
    "exploding_loss": ({"loss": [2.3, 5.0, 40.0]}, None),
    "lr_too_low": ({"loss": list(2.30 - 0.02 * np.arange(10))}, None),
    "underfitting": (
        {
            **_healthy(),
            "accuracy": [0.3] * (N - 1) + [0.5],
            "val_accuracy": [0.3] * (N - 1) + [0.48],
        },
        None,
    ),
    "overfitting": (
        {
            **_healthy(),
            "accuracy": [0.5] * (N - 1) + [0.99],
            "val_accuracy": [0.5] * (N - 1) + [0.70],
        },
        None,
    ),
    "suspicious_split": (
        {
            **_healthy(),
            "accuracy": [0.5] * (N - 1) + [0.85],
            "val_accuracy": [0.5] * (N - 1) + [0.98],
        },
        None,
    ),
    "plateau": (
        {
            "loss": list(2.2 * np.exp(-0.3 * T) + 0.1),
            "val_loss": [
                2.0,
                1.5,
                1.2,
                1.0,
                0.9,
                0.85,
                0.8,
                0.8,
                0.8,
                0.8,
                0.8,
                0.8,
                0.8,
                0.8,
                0.8,
            ],
        },
        None,
    ),
    "bad_initial_loss": ({**_healthy(), "initial_loss": [15.0]}, 10),
}


@pytest.mark.parametrize("code", sorted(SICK))
def test_each_diagnosis_triggers(code):
    history, num_classes = SICK[code]
    found = diagnose(history, num_classes=num_classes)
    assert code in [d.code for d in found]
    d = next(d for d in found if d.code == code)
    assert d.message and d.advice and d.severity in ("error", "warning", "info")


def test_loss_based_overfitting_and_leak():
    loss = list(2.0 * np.exp(-0.4 * T) + 0.05)
    val = [2.0, 1.4, 1.0, 0.8, 0.7, 0.65, 0.66, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05]
    assert "overfitting" in _codes({"loss": loss, "val_loss": val})
    assert "suspicious_split" in _codes({"loss": list(np.array(loss) * 3 + 0.5), "val_loss": loss})


def test_exploding_also_when_loss_ends_above_start():
    assert "exploding_loss" in _codes({"loss": [2.3, 2.0, 2.6]})


def test_nan_advice_mentions_lr_divided_by_10():
    d = diagnose({"loss": [2.3, float("inf")]}, learning_rate=0.5)[0]
    assert d.code == "nan_loss" and d.severity == "error"
    assert "divide it by 10" in d.advice and "0.05" in d.advice


def test_initial_loss_too_low_and_first_epoch_fallback():
    assert "bad_initial_loss" in _codes({**_healthy(), "initial_loss": [0.2]}, num_classes=10)
    # without initial_loss only a too-high first epoch can be judged
    h = _healthy()
    del h["initial_loss"]
    assert "bad_initial_loss" not in _codes(h, num_classes=10)
    h["loss"][0] = 9.0
    assert "bad_initial_loss" in _codes(h, num_classes=10)


def test_rbf_outputs_skip_the_initial_loss_check_only():
    """LeNet-5 of 1998 starts far from ln(10) by construction; the modern form must not."""
    import zoo
    from zoo.training.doctor import DoctorCallback

    history = {**_healthy(), "initial_loss": [3.9]}
    for variant, flagged in (("1998", False), ("modern", True)):
        doctor = DoctorCallback(num_classes=10, verbose=0)
        doctor.set_model(zoo.build_model("lenet5", variant=variant))
        doctor.history = {k: list(v) for k, v in history.items()}
        doctor.on_train_end()
        assert ("bad_initial_loss" in [d.code for d in doctor.diagnoses]) is flagged, variant
    assert "bad_initial_loss" not in _codes(history, num_classes=10, uniform_start=False)


def test_severity_order_and_missing_loss():
    found = diagnose({"loss": [2.3, 5.0, 40.0]}, num_classes=10)
    order = {"error": 0, "warning": 1, "info": 2}
    assert [order[d.severity] for d in found] == sorted(order[d.severity] for d in found)
    with pytest.raises(ValueError, match="loss"):
        diagnose({"accuracy": [0.5]})


def test_format_report():
    assert "no problems" in format_report([])
    text = format_report([Diagnosis("plateau", "info", "flat.", "lower the LR.")])
    assert "[INFO] plateau: flat." in text and "advice: lower the LR." in text


# ------------------------------------------------------------------- callback
def _model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    return model


def test_callback_stops_on_explosion_and_reports(tmp_path):
    model = _model()
    path = tmp_path / "doctor.txt"
    cb = DoctorCallback(report_path=path, verbose=0)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_train_batch_end(0, {"loss": 2.3})
    cb.on_epoch_end(0, {"loss": 2.3})
    assert not model.stop_training
    cb.on_epoch_end(1, {"loss": 50.0})
    assert model.stop_training
    assert cb.stop_diagnosis.code == "exploding_loss"
    cb.on_train_end()
    assert cb.history["initial_loss"] == [2.3]
    assert "exploding_loss" in path.read_text()


def test_callback_stops_on_nan_batch():
    model = _model()
    cb = DoctorCallback(verbose=0)
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_train_batch_end(0, {"loss": 2.0})
    cb.on_train_batch_end(1, {"loss": float("nan")})
    assert model.stop_training and cb.stop_diagnosis.code == "nan_loss"


def test_callback_in_real_fit_stops_diverging_run():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32") * 10
    y = (x.sum(axis=1, keepdims=True) * 10).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="mse")
    cb = DoctorCallback(verbose=0)
    hist = model.fit(x, y, epochs=20, batch_size=16, verbose=0, callbacks=[cb])
    assert len(hist.history["loss"]) < 20
    assert cb.stop_diagnosis is not None
    assert cb.diagnoses and cb.diagnoses[0].severity == "error"


def test_callback_resets_and_carries_state():
    cb = DoctorCallback(verbose=0)
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 1.0})
    state = cb.get_state()
    cb.on_train_begin()
    assert cb.history == {}  # reset for a new fit
    cb.set_state(state)
    cb.on_train_begin()
    assert cb.history == {"loss": [1.0]}


def test_callback_warns_naming_available_metrics():
    cb = DoctorCallback(verbose=0)
    cb.on_train_begin()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cb.on_epoch_end(0, {"mae": 1.0, "val_mae": 2.0})
    text = " ".join(str(w.message) for w in caught)
    assert "`loss`" in text and "mae" in text and "val_mae" in text


def test_thresholds_are_documented_constants():
    from zoo.training import doctor

    for name in doctor.__all__:
        if name.isupper():
            value = getattr(doctor, name)
            assert isinstance(value, (int, float)) and math.isfinite(value)
