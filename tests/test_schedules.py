"""Epoch schedules against their formulas, serialization, the LR callbacks."""

import json
import math

import keras
import numpy as np
import pytest

from zoo.training.config import SCHEDULES, TrainConfig
from zoo.training.schedules import (
    Constant,
    CosineDecay,
    CosineWarmRestarts,
    EpochLRScheduler,
    EpochSchedule,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    OneCycle,
    ResumableReduceLROnPlateau,
    StepDecay,
    deserialize_schedule,
    make_schedule,
    plot_schedules,
    serialize_schedule,
    tabulate_schedule,
    tabulate_schedules,
)

EPOCHS = [0, 1, 5, 19, 20, 21, 39, 40, 57]
A0 = 0.1


@pytest.mark.parametrize("t", EPOCHS)
def test_step_decay(t):
    assert StepDecay(A0)(t) == pytest.approx(A0 * 0.1 ** math.floor(t / 20))
    assert StepDecay(A0, step_size=7, gamma=0.5)(t) == pytest.approx(A0 * 0.5 ** math.floor(t / 7))


@pytest.mark.parametrize("t", EPOCHS)
def test_exponential_decay(t):
    assert ExponentialDecay(A0, 0.05)(t) == pytest.approx(A0 * math.exp(-0.05 * t))


@pytest.mark.parametrize("t", EPOCHS)
def test_inverse_time_decay(t):
    assert InverseTimeDecay(A0, 0.5)(t) == pytest.approx(A0 / (1 + 0.5 * t))


@pytest.mark.parametrize("t", EPOCHS)
def test_cosine_decay(t):
    m, T = 1e-3, 40
    expected = m + 0.5 * (A0 - m) * (1 + math.cos(math.pi * min(t, T) / T))
    assert CosineDecay(A0, T, m)(t) == pytest.approx(expected)


def test_cosine_endpoints():
    s = CosineDecay(A0, 10, 0.01)
    assert s(0) == pytest.approx(A0)
    assert s(5) == pytest.approx(0.01 + 0.5 * (A0 - 0.01))
    assert s(10) == pytest.approx(0.01) and s(25) == pytest.approx(0.01)


@pytest.mark.parametrize(
    "t, t_cur, t_i",
    # T0=10, T_mult=2: cycles [0,10), [10,30), [30,70)
    [
        (0, 0, 10),
        (5, 5, 10),
        (9, 9, 10),
        (10, 0, 20),
        (20, 10, 20),
        (29, 19, 20),
        (30, 0, 40),
        (50, 20, 40),
        (70, 0, 80),
    ],
)
def test_sgdr(t, t_cur, t_i):
    m = 1e-4
    s = CosineWarmRestarts(A0, t0=10, t_mult=2, min_lr=m)
    expected = m + 0.5 * (A0 - m) * (1 + math.cos(math.pi * t_cur / t_i))
    assert s(t) == pytest.approx(expected)
    assert s.cycle(t)[1:] == (t_cur, t_i)


def test_sgdr_t_mult_one_is_periodic():
    s = CosineWarmRestarts(A0, t0=4, t_mult=1)
    assert [s(t) for t in range(4)] == pytest.approx([s(t) for t in range(4, 8)])


def test_one_cycle():
    s = OneCycle(1.0, total_epochs=10, pct_start=0.3)
    start, end = 1.0 / 25, 1.0 / 25 / 1e4
    assert s.peak_epoch == 3  # round(0.3 * 9)
    assert s(0) == pytest.approx(start)
    assert s(1) == pytest.approx(start + (1 - start) / 3)
    assert s(3) == pytest.approx(1.0)
    assert s(6) == pytest.approx(1.0 + (end - 1.0) * 3 / 6)
    assert s(9) == pytest.approx(end) and s(12) == pytest.approx(end)
    values = tabulate_schedule(s, 10)
    assert np.all(np.diff(values[:4]) > 0) and np.all(np.diff(values[3:]) < 0)


def test_warmup_in_front_of_step():
    s = LinearWarmup(StepDecay(A0, step_size=10), warmup_epochs=4)
    assert [s(t) for t in range(5)] == pytest.approx([A0 * (t + 1) / 5 for t in range(5)])
    assert s(9) == pytest.approx(A0) and s(10) == pytest.approx(A0 * 0.1)  # absolute


def test_warmup_zero_is_identity():
    base = CosineDecay(A0, 10)
    s = LinearWarmup(base, 0)
    assert [s(t) for t in range(12)] == [base(t) for t in range(12)]


ALL = [
    Constant(A0),
    StepDecay(A0, 5, 0.5, 1e-4),
    ExponentialDecay(A0, 0.1),
    InverseTimeDecay(A0, 0.1),
    CosineDecay(A0, 30, 1e-4),
    CosineWarmRestarts(A0, 5, 2, 1e-4),
    OneCycle(A0, 30),
    LinearWarmup(CosineWarmRestarts(A0, 5), 3),
]


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
def test_serialization_round_trip(schedule):
    data = json.loads(json.dumps(serialize_schedule(schedule)))
    again = deserialize_schedule(data)
    assert again == schedule
    assert [again(t) for t in range(40)] == [schedule(t) for t in range(40)]
    assert type(schedule).from_config(schedule.get_config()) == schedule


@pytest.mark.parametrize("schedule", ALL, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("k", [1, 7, 23])
def test_resume_continuity_pure(schedule, k):
    fresh = tabulate_schedule(schedule, 40)
    resumed = deserialize_schedule(serialize_schedule(schedule))  # a new process
    assert [resumed(t) for t in range(k, 40)] == list(fresh[k:])


def test_bad_arguments():
    with pytest.raises(ValueError, match="initial_lr"):
        StepDecay(-1.0)
    with pytest.raises(ValueError, match="t_mult"):
        CosineWarmRestarts(0.1, t_mult=0.5)
    with pytest.raises(ValueError, match="epoch"):
        StepDecay(0.1)(-1)
    with pytest.raises(ValueError, match="Unknown schedule"):
        deserialize_schedule({"class_name": "Nope", "config": {}})


@pytest.mark.parametrize("name", SCHEDULES)
def test_make_schedule(name):
    cfg = TrainConfig(schedule=name, epochs=30, learning_rate=0.1)
    s = make_schedule(cfg)
    if name in ("none", "plateau"):
        assert s is None
        return
    assert isinstance(s, EpochSchedule)
    assert s(0) == pytest.approx(0.1 / 25 if name == "one_cycle" else 0.1)


def test_make_schedule_values_follow_config():
    cfg = TrainConfig(schedule="step", learning_rate=0.2, step_size=3, gamma=0.5, warmup_epochs=2)
    s = make_schedule(cfg)
    assert isinstance(s, LinearWarmup)
    assert s(0) == pytest.approx(0.2 / 3) and s(3) == pytest.approx(0.1)
    plateau = make_schedule(TrainConfig(schedule="plateau", warmup_epochs=2))
    assert isinstance(plateau, LinearWarmup)


def test_tabulate_and_plot():
    table = tabulate_schedules({"step": StepDecay(A0, 2), "cos": CosineDecay(A0, 6)}, 6)
    assert table["step"].shape == (6,) and table["step"][2] == pytest.approx(A0 / 10)
    import matplotlib

    matplotlib.use("Agg")
    ax = plot_schedules({"step": StepDecay(A0, 2)}, 6, log_scale=True)
    assert len(ax.lines) == 1


# ------------------------------------------------------------------ callbacks
def _tiny_model(lr=0.1):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(lr), loss="mse")
    return model


def _lr(model):
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


def test_scheduler_sets_lr_and_logs_it_in_fit():
    x, y = np.ones((8, 2), "float32"), np.ones((8, 1), "float32")
    sched = StepDecay(0.1, step_size=2, gamma=0.5)
    model = _tiny_model()
    hist = model.fit(x, y, epochs=5, batch_size=8, verbose=0, callbacks=[EpochLRScheduler(sched)])
    assert hist.history["lr"] == pytest.approx([sched(t) for t in range(5)])
    # resumed at epoch 3 by a fresh callback: the same values
    model2 = _tiny_model()
    hist2 = model2.fit(
        x,
        y,
        epochs=5,
        initial_epoch=3,
        batch_size=8,
        verbose=0,
        callbacks=[EpochLRScheduler(deserialize_schedule(serialize_schedule(sched)))],
    )
    assert hist2.history["lr"] == pytest.approx(hist.history["lr"][3:])


def test_scheduler_until_epoch_hands_over():
    model = _tiny_model(lr=0.5)
    cb = EpochLRScheduler(Constant(0.01), until_epoch=2)
    cb.set_model(model)
    cb.on_epoch_begin(1)
    assert _lr(model) == pytest.approx(0.01)
    model.optimizer.learning_rate = 0.003
    cb.on_epoch_begin(2)
    assert _lr(model) == pytest.approx(0.003)


PLATEAU_VALS = [1.0, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8]


def _drive(cb, model, values, start=0):
    lrs = []
    for epoch, value in enumerate(values[start:], start=start):
        logs = {"val_loss": value}
        cb.on_epoch_end(epoch, logs)
        lrs.append(_lr(model))
        assert logs["lr"] == pytest.approx(lrs[-1])
    return lrs


def test_plateau_against_scripted_history():
    model = _tiny_model(lr=0.1)
    cb = ResumableReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_delta=0)
    cb.set_model(model)
    cb.on_train_begin()
    lrs = _drive(cb, model, PLATEAU_VALS)
    # best 0.9 at epoch 1; epochs 2,3 wait -> reduce at 3; best 0.8 at 5; reduce at 7, 9
    assert lrs == pytest.approx(
        [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125]
    )


def test_plateau_state_survives_resume():
    model = _tiny_model(lr=0.1)
    full = ResumableReduceLROnPlateau(factor=0.5, patience=2, cooldown=1)
    full.set_model(model)
    full.on_train_begin()
    expected = _drive(full, model, PLATEAU_VALS)

    model = _tiny_model(lr=0.1)
    first = ResumableReduceLROnPlateau(factor=0.5, patience=2, cooldown=1)
    first.set_model(model)
    first.on_train_begin()
    part1 = _drive(first, model, PLATEAU_VALS[:7])
    state = json.loads(json.dumps(first.get_state()))
    lr_at_kill = _lr(model)

    model2 = _tiny_model(lr=lr_at_kill)  # the checkpoint restores the optimizer LR
    second = ResumableReduceLROnPlateau(factor=0.5, patience=2, cooldown=1)
    second.set_model(model2)
    second.set_state(state)
    second.on_train_begin()  # Keras resets here; the saved state must survive
    assert second.get_state() == state
    part2 = _drive(second, model2, PLATEAU_VALS, start=7)
    assert part1 + part2 == pytest.approx(expected)


def test_plateau_bad_state():
    with pytest.raises(ValueError, match="wait"):
        ResumableReduceLROnPlateau().set_state({"best": 1.0})
