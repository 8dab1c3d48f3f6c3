"""`make_callbacks`: the one factory for a run's callbacks, built from Keras'.

Order of the returned list (it matters: callbacks share one ``logs`` dict per
epoch, so later ones see what earlier ones wrote):

0. `TestSplitTracker` (``track_test=True``); writes ``logs["test_*"]``.
1. `EpochLRScheduler` (schedule, or the warmup before reduce-on-plateau);
   writes ``logs["lr"]``.
2. `ResumableReduceLROnPlateau` (``schedule="plateau"``).
3. `keras.callbacks.TerminateOnNaN`.
4. `DoctorCallback` (``doctor=True``); report at ``run_dir/doctor.txt``.
5. `ResumableEarlyStopping` (``early_stopping=True``).
6. `keras.callbacks.CSVLogger` at ``run_dir/history.csv``, append mode.
7. `keras.callbacks.TensorBoard` at ``run_dir/tensorboard`` (TensorFlow
   backend and ``tensorboard=True`` only).
8. ``extra``: the caller's callbacks (checkpointing goes here, so it sees the
   final logs of the epoch, ``lr`` included).

Callbacks with counters expose ``get_state()``/``set_state()``;
`get_callbacks_state` / `set_callbacks_state` save and restore all of them
for a resume.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import keras

from zoo.training.doctor import DoctorCallback
from zoo.training.fit_data import data_kwargs
from zoo.training.schedules import (
    EpochLRScheduler,
    ResumableCounters,
    ResumableReduceLROnPlateau,
    make_schedule,
)

__all__ = [
    "DOCTOR_REPORT",
    "HISTORY_CSV",
    "TENSORBOARD_DIR",
    "ResumableEarlyStopping",
    "TestSplitTracker",
    "evaluate_kwargs",
    "find_callback",
    "get_callbacks_state",
    "make_callbacks",
    "monitor_mode",
    "set_callbacks_state",
]

#: File names inside a run directory.
HISTORY_CSV = "history.csv"
DOCTOR_REPORT = "doctor.txt"
TENSORBOARD_DIR = "tensorboard"


_MAX_WORDS = ("acc", "auc", "precision", "recall", "f1", "iou", "top_k", "r2")
_MIN_WORDS = ("loss", "error", "mae", "mse", "hinge", "crossentropy", "perplexity")


def monitor_mode(monitor: str) -> str:
    """Returns ``"min"``/``"max"`` for a monitor name, or ``"auto"``.

    Keras' ``mode="auto"`` only knows ``loss`` and *compiled* metrics and
    raises for anything else (e.g. ``val_accuracy`` on a model compiled
    without it); naming the direction here avoids that. Use it for
    checkpoints too, so every callback agrees.
    """
    name = monitor.lower().removeprefix("val_")
    if any(word in name for word in _MIN_WORDS):
        return "min"
    if any(word in name for word in _MAX_WORDS):
        return "max"
    return "auto"


class ResumableEarlyStopping(ResumableCounters, keras.callbacks.EarlyStopping):
    """Keras' `EarlyStopping` whose ``wait``, ``best`` and ``best_epoch``
    survive a resume (see `ResumableCounters`).

    The best weights themselves are not JSON: pass them to `set_state` (e.g.
    loaded from the best checkpoint) or, without them, Keras falls back to
    the weights of the first resumed epoch when ``restore_best_weights=True``.
    """

    #: Key of this callback's state in state.json (stable across renames).
    state_key = "ResumableEarlyStopping"
    _STATE = ("wait", "best", "best_epoch")
    _INT_STATE = ("wait", "best_epoch")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.best_epoch = 0
        self._pending_weights: list[Any] | None = None

    def set_state(self, state: Mapping[str, Any], best_weights: list[Any] | None = None) -> None:
        """Restores `get_state` output (and optionally the best weights)."""
        super().set_state(state)
        self._pending_weights = best_weights

    def on_train_begin(self, logs=None):
        restore = self._pending_state is not None
        super().on_train_begin(logs)
        if restore:
            self.best_weights = self._pending_weights
            self._pending_weights = None


def evaluate_kwargs(data, batch_size: int | None) -> dict:
    """``Model.evaluate``'s data arguments (see `zoo.training.fit_data.data_kwargs`)."""
    return data_kwargs(data, batch_size)


class TestSplitTracker(keras.callbacks.Callback):
    """Evaluates the test split after every epoch; adds ``test_*`` to the logs.

    For test-error curves during training, as He et al. (2016), "Deep Residual
    Learning for Image Recognition", Fig. 6 plots them, and for time-to-
    accuracy figures. It only reports: `TrainConfig` refuses a ``test_*``
    monitor, so no epoch, weight or schedule is ever chosen on test data.
    ``test_time`` is the seconds the evaluation took (inside ``epoch_time``).

    Args:
        data: ``(x, y)`` arrays or a ``keras.utils.PyDataset`` yielding ``(x, y)``.
        batch_size: evaluation batch size, with arrays.
    """

    def __init__(self, data, batch_size: int | None = None):
        super().__init__()
        self.data, self.batch_size = data, batch_size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        start = time.perf_counter()
        values = self.model.evaluate(
            **data_kwargs(self.data, self.batch_size), verbose=0, return_dict=True
        )
        logs.update({f"test_{name}": float(value) for name, value in values.items()})
        logs["test_time"] = time.perf_counter() - start


def make_callbacks(
    config: Any,
    run_dir: str | os.PathLike | None = None,
    *,
    extra: Iterable[keras.callbacks.Callback] = (),
    num_classes: int | None = None,
    has_validation: bool | None = None,
    verbose: int = 1,
    csv_log: bool = True,
    test_data: tuple | Any = None,
    monitor: str | None = None,
) -> list[keras.callbacks.Callback]:
    """Builds the callbacks a `TrainConfig` asks for (see the module doc).

    Args:
        config: a `TrainConfig`.
        run_dir: run directory for the CSV log, doctor report and TensorBoard
            logs (created if missing); ``None`` writes no files.
        extra: callbacks appended last (e.g. the run's checkpointing).
        num_classes: for the doctor's ln(C) checks; ignored unless
            ``config.loss == "categorical_crossentropy"``.
        has_validation: whether ``fit`` gets validation data; when False, a
            ``val_`` monitor for early stopping/plateau raises now instead of
            warning every epoch. ``None`` = unknown, no check.
        verbose: verbosity of the Keras callbacks and the doctor.
        csv_log: add Keras' ``CSVLogger`` (append mode) when ``run_dir`` is
            given; ``zoo.train`` passes False because its run checkpoint
            writes one continuous history itself, resume included.
        test_data: ``(x, y)`` arrays or a dataset of the test split; with
            ``config.track_test`` it is evaluated after every epoch.
        monitor: the metric early stopping and reduce-on-plateau watch;
            default ``config.monitor`` (``zoo.train`` passes the name the run
            actually reports, e.g. ``loss`` for ``val_loss`` without
            validation data).

    Returns:
        A new list of new callback instances.

    Raises:
        ValueError: a ``val_*`` monitor without validation data, or
            ``track_test`` without ``test_data``.
    """
    _check_monitor(config, has_validation)
    monitor = config.monitor if monitor is None else monitor
    if run_dir is not None:
        run_dir = os.fspath(run_dir)
        os.makedirs(run_dir, exist_ok=True)
    callbacks: list[keras.callbacks.Callback] = []
    if getattr(config, "track_test", False):
        callbacks.append(_test_tracker(config, test_data))
    callbacks.extend(_lr_callbacks(config, monitor, verbose))
    callbacks.append(keras.callbacks.TerminateOnNaN())
    if config.doctor:
        report = None if run_dir is None else os.path.join(run_dir, DOCTOR_REPORT)
        # the ln(C) checks only hold for softmax crossentropy
        classes = num_classes if config.loss == "categorical_crossentropy" else None
        callbacks.append(DoctorCallback(num_classes=classes, report_path=report, verbose=verbose))
    if config.early_stopping:
        callbacks.append(
            ResumableEarlyStopping(
                monitor=monitor,
                mode=monitor_mode(monitor),
                patience=config.patience,
                min_delta=config.min_delta,
                restore_best_weights=config.restore_best_weights,
                verbose=verbose,
            )
        )
    if run_dir is not None:
        callbacks.extend(_file_callbacks(config, run_dir, csv_log))
    callbacks.extend(extra)
    return callbacks


def _check_monitor(config: Any, has_validation: bool | None) -> None:
    """Refuses a ``val_`` monitor for early stopping/plateau when there is no validation data."""
    monitor = config.monitor
    watches = config.early_stopping or config.schedule == "plateau"
    if watches and has_validation is False and monitor.startswith("val_"):
        raise ValueError(
            f"TrainConfig.monitor={monitor!r} needs validation data (used by "
            f"{'early stopping' if config.early_stopping else 'reduce-on-plateau'}); "
            "set validation_split > 0, pass validation data, or monitor "
            f"{monitor[4:]!r}."
        )


def _test_tracker(config: Any, test_data: Any) -> TestSplitTracker:
    if test_data is None:
        raise ValueError(
            "TrainConfig.track_test=True needs a test split: use a folder with a test/ "
            "subfolder, an .npz with x_test/y_test, or turn track_test off."
        )
    return TestSplitTracker(test_data, config.batch_size)


def _lr_callbacks(config: Any, monitor: str, verbose: int) -> list[keras.callbacks.Callback]:
    """The schedule's `EpochLRScheduler`, and reduce-on-plateau (after any warmup)."""
    schedule = make_schedule(config)
    if config.schedule != "plateau":
        return [] if schedule is None else [EpochLRScheduler(schedule)]
    out: list[keras.callbacks.Callback] = []
    if schedule is not None:  # warmup first, then plateau takes over
        out.append(EpochLRScheduler(schedule, until_epoch=config.warmup_epochs))
    out.append(
        ResumableReduceLROnPlateau(
            monitor=monitor,
            mode=monitor_mode(monitor),
            factor=config.plateau_factor,
            patience=config.plateau_patience,
            cooldown=config.plateau_cooldown,
            min_delta=config.min_delta,
            min_lr=config.min_lr,
            verbose=verbose,
        )
    )
    return out


def _file_callbacks(config: Any, run_dir: str, csv_log: bool) -> list[keras.callbacks.Callback]:
    """Keras' CSV log and TensorBoard writers in ``run_dir``, as asked."""
    out: list[keras.callbacks.Callback] = []
    if csv_log:
        out.append(keras.callbacks.CSVLogger(os.path.join(run_dir, HISTORY_CSV), append=True))
    if config.tensorboard:
        if keras.backend.backend() == "tensorflow":
            out.append(keras.callbacks.TensorBoard(log_dir=os.path.join(run_dir, TENSORBOARD_DIR)))
        else:
            warnings.warn(
                "TrainConfig.tensorboard=True is skipped: TensorBoard logging "
                "needs the TensorFlow backend; the current backend is "
                f"{keras.backend.backend()!r}.",
                stacklevel=3,
            )
    return out


def find_callback(callbacks: Iterable[Any], kind: type) -> Any:
    """The first callback in ``callbacks`` that is a ``kind`` (an instance), or None."""
    return next((cb for cb in callbacks if isinstance(cb, kind)), None)


def _keys(callbacks: Sequence[Any]) -> list[tuple[str, Any]]:
    """(unique key, callback) for the callbacks that have state."""
    seen: dict[str, int] = {}
    out = []
    for cb in callbacks:
        if not (hasattr(cb, "get_state") and hasattr(cb, "set_state")):
            continue
        name = getattr(cb, "state_key", None) or type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        out.append((name if seen[name] == 1 else f"{name}_{seen[name]}", cb))
    return out


def get_callbacks_state(callbacks: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Collects ``get_state()`` of every stateful callback (JSON-ready).

    Keys are each callback's ``state_key`` (the zoo's callbacks keep the class
    name they had when state.json files were first written, so old runs
    resume), else its class name; ``_2``, ``_3``... for repeats, so the same
    `make_callbacks` call on resume lines up.
    """
    return {key: cb.get_state() for key, cb in _keys(callbacks)}


def set_callbacks_state(callbacks: Sequence[Any], state: Mapping[str, Any]) -> None:
    """Restores `get_callbacks_state` output; unknown keys raise.

    Raises:
        ValueError: ``state`` holds a key no callback in the list matches.
    """
    targets = dict(_keys(callbacks))
    unknown = [k for k in state if k not in targets]
    if unknown:
        raise ValueError(
            f"Saved callback state for {unknown} matches none of the callbacks "
            f"with state: {sorted(targets)}"
        )
    for key, value in state.items():
        targets[key].set_state(value)
