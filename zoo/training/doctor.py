"""The training doctor: the course's tuning heuristics, automated.

The rules (`diagnose`, `Diagnosis`, `format_report` and the thresholds) are in
`zoo.training.doctor_rules` and stay importable from here. `DoctorCallback` runs
the same checks live: it stops a run whose loss turns NaN or explodes, with a
message saying what to change, and writes the report at the end of training.
"""

from __future__ import annotations

import copy
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

from zoo.training.doctor_rules import (
    EXPLOSION_FACTOR,
    INIT_LOSS_TOLERANCE,
    LEAK_ERROR_GAP,
    LEAK_LOSS_RATIO,
    LINEAR_HALF_RATIO,
    LINEAR_R2,
    MIN_EPOCHS_TREND,
    OVERFIT_ERROR_GAP,
    OVERFIT_LOSS_RATIO,
    OVERFIT_VAL_RISE,
    PLATEAU_EPOCHS,
    PLATEAU_REL_IMPROVEMENT,
    RISE_TOLERANCE,
    SLOW_EPOCH_DECREASE,
    UNDERFIT_ERROR,
    UNDERFIT_LOSS_FRACTION,
    Diagnosis,
    diagnose,
    format_report,
)

__all__ = [
    "EXPLOSION_FACTOR",
    "INIT_LOSS_TOLERANCE",
    "LEAK_ERROR_GAP",
    "LEAK_LOSS_RATIO",
    "LINEAR_HALF_RATIO",
    "LINEAR_R2",
    "MIN_EPOCHS_TREND",
    "OVERFIT_ERROR_GAP",
    "OVERFIT_LOSS_RATIO",
    "OVERFIT_VAL_RISE",
    "PLATEAU_EPOCHS",
    "PLATEAU_REL_IMPROVEMENT",
    "RISE_TOLERANCE",
    "SLOW_EPOCH_DECREASE",
    "UNDERFIT_ERROR",
    "UNDERFIT_LOSS_FRACTION",
    "Diagnosis",
    "DoctorCallback",
    "diagnose",
    "format_report",
]


def _write_atomic(path: str, text: str) -> None:
    from zoo.saving import write_text_atomic

    write_text_atomic(path, text)


def _callback_base() -> type:
    import keras

    return keras.callbacks.Callback


class DoctorCallback(_callback_base()):
    """Live doctor: stops on NaN/explosion, reports at the end.

    - After the first training batch of a fresh run it records the loss
      before any update as ``initial_loss`` (for the ln(C) check).
    - A non-finite batch loss, or an epoch loss above `EXPLOSION_FACTOR` x
      the first epoch's, stops training (``model.stop_training = True``)
      with a message; the reason is kept in ``stop_diagnosis``.
    - At the end it runs `diagnose` on everything seen (``history``), stores
      the result in ``diagnoses`` and writes `format_report` to
      ``report_path`` (atomically) when given.

    State is reset in ``on_train_begin``; `get_state`/`set_state` carry the
    history across a resume.

    Args:
        num_classes: passed to `diagnose` (softmax classifiers only).
        report_path: file to write the report to at train end.
        stop_on_divergence: stop training on NaN/explosion. Defaults to True.
        monitor: the loss key watched live. Defaults to ``"loss"``.
        verbose: print stop messages and the final report. Defaults to 1.
    """

    #: Key of this callback's state in state.json (stable across renames).
    state_key = "DoctorCallback"

    def __init__(
        self,
        num_classes: int | None = None,
        report_path: str | os.PathLike | None = None,
        stop_on_divergence: bool = True,
        monitor: str = "loss",
        verbose: int = 1,
    ):
        super().__init__()
        self.num_classes = num_classes
        self.report_path = None if report_path is None else os.fspath(report_path)
        self.stop_on_divergence = stop_on_divergence
        self.monitor = monitor
        self.verbose = verbose
        self._pending: dict[str, list[float]] | None = None
        self._reset()

    def _reset(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.diagnoses: list[Diagnosis] = []
        self.stop_diagnosis: Diagnosis | None = None
        self._warned_missing = False
        self._epoch = 0

    # ----------------------------------------------------------------- state
    def get_state(self) -> dict[str, Any]:
        """Returns the collected history (JSON-ready) for a resume."""
        return {"history": copy.deepcopy(self.history)}

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restores `get_state` output; applied at the next ``on_train_begin``."""
        self._pending = {k: [float(x) for x in v] for k, v in state.get("history", {}).items()}
        self.history = copy.deepcopy(self._pending)

    # ------------------------------------------------------------- callbacks
    def on_train_begin(self, logs=None):
        self._reset()
        if self._pending is not None:
            self.history, self._pending = self._pending, None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            return
        value = float(value)
        if batch == 0 and not self.history:
            self.history["initial_loss"] = [value]
        if not math.isfinite(value):
            self._stop(
                Diagnosis(
                    "nan_loss",
                    "error",
                    f"{self.monitor} became {value} at epoch {self._epoch + 1}, batch {batch + 1}.",
                    "The learning rate is probably too high: divide it by 10. Also "
                    "check inputs for NaN/Inf and consider gradient clipping.",
                )
            )

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs and not self._warned_missing:
            self._warned_missing = True
            warnings.warn(
                f"DoctorCallback monitors `{self.monitor}`, which is not in the logs. "
                f"Available metrics are: {', '.join(sorted(logs)) or 'none'}.",
                stacklevel=2,
            )
        for key, value in logs.items():
            try:
                self.history.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                continue
        losses = self.history.get(self.monitor)
        if not losses:
            return
        current, first = losses[-1], losses[0]
        if not math.isfinite(current):
            self._stop(
                Diagnosis(
                    "nan_loss",
                    "error",
                    f"{self.monitor} became {current} at epoch {epoch + 1}.",
                    "The learning rate is probably too high: divide it by 10.",
                )
            )
        elif first > 0 and current > EXPLOSION_FACTOR * first:
            self._stop(
                Diagnosis(
                    "exploding_loss",
                    "error",
                    f"{self.monitor} rose to {current:.4g} at epoch {epoch + 1}, "
                    f"{current / first:.1f}x its first value {first:.4g}.",
                    "The learning rate is too high: divide it by 10, or add warmup / "
                    "gradient clipping.",
                )
            )

    def _stop(self, diagnosis: Diagnosis) -> None:
        if self.stop_diagnosis is None:
            self.stop_diagnosis = diagnosis
            if self.verbose:
                print(f"\nTraining doctor: stopping. {diagnosis.message} {diagnosis.advice}")
        if self.stop_on_divergence and self.model is not None:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if not self.history.get("loss"):
            return
        lr = None
        try:
            import keras

            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
        except (AttributeError, TypeError, ValueError):  # no model/optimizer attached
            lr = None
        uniform = not any(getattr(layer, "uniform_start", True) is False
                          for layer in getattr(self.model, "layers", ()))  # fmt: skip
        self.diagnoses = diagnose(
            self.history, self.num_classes, learning_rate=lr, uniform_start=uniform
        )
        if self.stop_diagnosis is not None and not any(
            d.code == self.stop_diagnosis.code for d in self.diagnoses
        ):
            self.diagnoses.insert(0, self.stop_diagnosis)
        report = format_report(self.diagnoses)
        if self.report_path:
            _write_atomic(self.report_path, report)
        if self.verbose:
            print(report, end="")
