"""Learning-rate schedules: the maths, and the Keras callbacks that apply them.

`make_schedule` picks the schedule a `TrainConfig` asks for. The schedules
themselves (no Keras) are in `zoo.training.schedule_math`, their
tables and plots in `zoo.training.schedule_plots`; every name stays importable
from here. This module holds the callbacks: `EpochLRScheduler` applies a
schedule; reduce-on-plateau is Keras' own `ReduceLROnPlateau`, made resumable by
`ResumableReduceLROnPlateau`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras

from zoo.training.schedule_math import (
    Constant,
    CosineDecay,
    CosineWarmRestarts,
    EpochSchedule,
    ExponentialDecay,
    InverseTimeDecay,
    LinearWarmup,
    MultiStepDecay,
    OneCycle,
    StepDecay,
    deserialize_schedule,
    serialize_schedule,
)
from zoo.training.schedule_plots import plot_schedules, tabulate_schedule, tabulate_schedules

__all__ = [
    "Constant",
    "CosineDecay",
    "CosineWarmRestarts",
    "EpochLRScheduler",
    "EpochSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "MultiStepDecay",
    "OneCycle",
    "ResumableReduceLROnPlateau",
    "StepDecay",
    "deserialize_schedule",
    "make_schedule",
    "plot_schedules",
    "serialize_schedule",
    "tabulate_schedule",
    "tabulate_schedules",
]


def make_schedule(config: Any) -> EpochSchedule | None:
    """Builds the epoch schedule a `TrainConfig` asks for.

    Args:
        config: a `TrainConfig`.

    Returns:
        The schedule, wrapped in `LinearWarmup` when ``warmup_epochs > 0``;
        ``None`` for ``schedule="none"`` without warmup. For
        ``schedule="plateau"`` it returns ``None``, or only the warmup (over a
        constant rate) that `make_callbacks` applies during the first
        ``warmup_epochs`` before `ResumableReduceLROnPlateau` takes over.
    """
    lr, name = config.learning_rate, config.schedule
    if name in ("none", "plateau"):
        base = Constant(lr) if config.warmup_epochs else None
    elif name == "step":
        base = StepDecay(lr, config.step_size, config.gamma, config.min_lr)
    elif name == "multistep":
        base = MultiStepDecay(lr, config.milestones, config.gamma, config.min_lr)
    elif name == "exponential":
        base = ExponentialDecay(lr, config.decay_rate, config.min_lr)
    elif name == "inverse_time":
        base = InverseTimeDecay(lr, config.decay_rate, config.min_lr)
    elif name == "cosine":
        base = CosineDecay(lr, config.epochs, config.min_lr)
    elif name == "sgdr":
        base = CosineWarmRestarts(lr, config.sgdr_t0, config.sgdr_t_mult, config.min_lr)
    elif name == "one_cycle":
        return OneCycle(lr, max(2, config.epochs), config.cycle_pct_start)
    else:
        raise ValueError(f"Unknown schedule {name!r}")
    if base is not None and config.warmup_epochs:
        return LinearWarmup(base, config.warmup_epochs)
    return base


def _set_lr(optimizer: Any, value: float) -> None:
    if hasattr(optimizer, "group_rates"):  # GroupRateOptimizer: its setter keeps the ratios
        optimizer.learning_rate = value
        return
    optimizers: Sequence[Any] = getattr(optimizer, "optimizers", None) or [optimizer]
    for opt in optimizers:
        opt.learning_rate = value


def _get_lr(optimizer: Any) -> float:
    if hasattr(optimizer, "group_rates"):  # GroupRateOptimizer: the head's rate
        return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
    opt = (getattr(optimizer, "optimizers", None) or [optimizer])[0]
    return float(keras.ops.convert_to_numpy(opt.learning_rate))


class EpochLRScheduler(keras.callbacks.Callback):
    """Sets the optimizer's learning rate from an epoch schedule.

    At each epoch begin it sets ``lr = schedule(epoch)`` using the ABSOLUTE
    epoch index Keras passes (``fit(initial_epoch=k)`` starts at ``k``), so a
    resumed run continues the schedule exactly. At epoch end it writes the
    rate used into ``logs["lr"]`` (so History/CSVLogger record it).

    Args:
        schedule: an `EpochSchedule` (or any ``callable(epoch) -> float``).
        until_epoch: stop setting the rate from this epoch on (still logs
            it); used to hand over from a warmup to reduce-on-plateau.
        verbose: print the rate at each change.
    """

    def __init__(self, schedule: Any, until_epoch: int | None = None, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"schedule must be callable(epoch); received {schedule!r}")
        self.schedule = schedule
        self.until_epoch = until_epoch
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if self.until_epoch is not None and epoch >= self.until_epoch:
            return
        lr = float(self.schedule(epoch))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"schedule returned lr={lr!r} at epoch {epoch}")
        _set_lr(self.model.optimizer, lr)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _get_lr(self.model.optimizer)

    def get_config(self) -> dict[str, Any]:
        sched = self.schedule
        return {
            "schedule": serialize_schedule(sched) if isinstance(sched, EpochSchedule) else None,
            "until_epoch": self.until_epoch,
        }


class ResumableCounters:
    """Mixin for Keras callbacks whose counters must survive a resume.

    Keras resets a callback's counters in ``on_train_begin``. Subclasses name
    them in ``_STATE``; `get_state` returns them as plain Python (JSON-ready),
    `set_state` stores them, and they are applied again right after Keras'
    reset, so the next ``fit(initial_epoch=k)`` behaves as if training had
    never stopped.
    """

    _STATE: tuple = ()
    _INT_STATE: tuple = ()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pending_state: dict[str, Any] | None = None

    def get_state(self) -> dict[str, Any]:
        """Returns the ``_STATE`` counters as plain Python numbers."""
        out = {}
        for key in self._STATE:
            value = getattr(self, key, None)
            out[key] = (
                None if value is None else (int(value) if key in self._INT_STATE else float(value))
            )
        return out

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restores `get_state` output now and again at the next ``on_train_begin``."""
        missing = [k for k in self._STATE if k not in state]
        if missing:
            raise ValueError(
                f"{type(self).__name__} state lacks {missing}; received {dict(state)!r}"
            )
        self._pending_state = {k: state[k] for k in self._STATE}
        for key, value in self._pending_state.items():
            setattr(self, key, value)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._pending_state is not None:
            for key, value in self._pending_state.items():
                setattr(self, key, value)
            self._pending_state = None


class ResumableReduceLROnPlateau(ResumableCounters, keras.callbacks.ReduceLROnPlateau):
    """Keras' `ReduceLROnPlateau` whose ``wait``, ``best`` and ``cooldown_counter``
    survive a resume (see `ResumableCounters`).

    The reduced learning rate itself lives in the optimizer, which the run's
    checkpoint restores. Also logs ``lr`` like `EpochLRScheduler`.
    """

    #: Key of this callback's state in state.json (stable across renames).
    state_key = "ResumableReduceLROnPlateau"
    _STATE = ("wait", "best", "cooldown_counter")
    _INT_STATE = ("wait", "cooldown_counter")

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None:
            logs["lr"] = _get_lr(self.model.optimizer)
