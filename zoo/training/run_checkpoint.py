"""`RunCheckpoint`: the callback that commits a run's training state after every epoch."""

from __future__ import annotations

import math
import time

import keras
import numpy as np

from zoo.saving import atomic_write, save_model
from zoo.training.callbacks import HISTORY_CSV, get_callbacks_state, monitor_mode
from zoo.training.runs import (
    BEST_JSON,
    BEST_MODEL,
    STATE_JSON,
    RunDirectory,
    write_history_csv,
    write_json,
)

__all__ = ["RunCheckpoint"]


class RunCheckpoint(keras.callbacks.Callback):
    """Commits the training state at the end of every epoch.

    Order of writes for epoch ``e``: best model (if improved) and best.json,
    checkpoint weights and optimizer variables, history.csv, then state.json
    (the commit point), then older checkpoints are pruned. A non-finite loss
    commits nothing, so no NaN weights are ever written.

    Args:
        run: the `RunDirectory`.
        model: the model whose weights are saved (the training wrapper may
            differ, e.g. when augmentation layers sit in front).
        monitor: metric that decides the best model.
        callbacks: the other callbacks, whose state is saved with each epoch.
        history: the history so far (resume), as a dict of lists.
        best: the best monitor value so far (resume), or None.
    """

    def __init__(
        self, run: RunDirectory, model, monitor: str, callbacks=(), history=None, best=None
    ):
        super().__init__()
        self.run = run
        self.target = model
        self.monitor = monitor
        self.mode = monitor_mode(monitor)
        self.others = list(callbacks)
        self.history = {k: list(v) for k, v in (history or {}).items()}
        self.best = best
        self.best_epoch = None
        self.diverged = False
        self._epoch_start = None

    def _better(self, value) -> bool:
        if self.best is None:
            return True
        if self.mode == "max":
            return value > self.best
        return value < self.best

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        values = {k: float(v) for k, v in logs.items() if np.ndim(v) == 0}
        if any(not math.isfinite(v) for v in values.values()):
            self.diverged = True
            return
        values["epoch_time"] = time.perf_counter() - (self._epoch_start or time.perf_counter())
        if self.monitor not in values:
            raise ValueError(
                f"monitor {self.monitor!r} is not among the metrics this run reports: "
                f"{sorted(values)}."
            )
        done = epoch + 1
        value = values[self.monitor]
        if self._better(value):
            self.best, self.best_epoch = value, done
            save_model(self.target, self.run.file(BEST_MODEL))
            write_json(
                self.run.file(BEST_JSON), {"monitor": self.monitor, "value": value, "epoch": done}
            )
        weights_path, opt_path = self.run.checkpoint_paths(done)
        atomic_write(weights_path, self.target.save_weights, suffix=".weights.h5")
        arrays = {f"v{i}": np.asarray(v) for i, v in enumerate(self.model.optimizer.variables)}
        atomic_write(opt_path, lambda tmp: np.savez(tmp, **arrays), suffix=".npz")
        self.history.setdefault("epoch", []).append(done)
        n = len(self.history["epoch"])
        for key, v in values.items():
            column = self.history.setdefault(key, [])
            column.extend([None] * (n - 1 - len(column)))
            column.append(v)
        write_history_csv(self.run.file(HISTORY_CSV), self.history)
        write_json(
            self.run.file(STATE_JSON),
            {
                "epoch": done,
                "iterations": int(np.asarray(self.model.optimizer.iterations)),
                "best": self.best,
                "monitor": self.monitor,
                "history": self.history,
                "callbacks": get_callbacks_state(self.others),
            },
        )
        self.run.prune_checkpoints(done)
