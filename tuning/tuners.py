"""keras-tuner's tuners, made kill-safe.

`make_tuner` returns one of keras-tuner's own tuners (random search, grid,
Bayesian optimization, Hyperband) with two mixins:

- `SafeOracleMixin`: every state file (``oracle.json``, ``trial.json``) is
  written atomically with a last-good backup (`tuning.state`); a resume
  reads the backup when a file is truncated, re-queues the trial that was
  running when the process died (also one whose creation was never committed
  to ``oracle.json``), never re-runs a trial whose ``trial.json`` says it
  completed or failed, respects ``max_trials`` (Hyperband included) and stops
  handing out trials after a time budget.
- `SafeTunerMixin`: writes ``<tuner_id>.json`` atomically, persists a crash
  ledger *before* each trial starts, and marks a trial failed (no more
  attempts) once the process has died during it ``max_attempts`` times
  (keras-tuner's own retries only count Python exceptions, so an OOM-killed
  trial would run forever). Each execution trains through ``zoo.train`` into
  ``trial_<id>/execution<k>/``; the best model of the best trial is restored
  from there. Keras' session is cleared before every build (keras-tuner's
  ``_try_build``), so memory does not grow across trials.
"""

from __future__ import annotations

import copy
import functools
import gc
import glob
import os
import sys
import time
from typing import Any

import keras
import keras_tuner as kt
from keras_tuner.engine.trial import Trial, TrialStatus

from tuning.state import read_ledger, read_state, update_ledger, write_state
from zoo.constants import TUNERS

__all__ = ["TUNERS", "SafeOracleMixin", "SafeTunerMixin", "make_tuner"]

_DONE = (TrialStatus.COMPLETED, TrialStatus.FAILED)


class SafeOracleMixin:
    """Atomic, resumable oracle state (mix in before a keras-tuner Oracle)."""

    deadline: float | None = None
    per_process: int | None = None  # trials one process runs (`--trial-subprocess`: 1)
    started_here = 0
    paused = False

    def save(self):
        write_state(self._get_oracle_fname(), self.get_state())

    def _save_trial(self, trial):
        write_state(
            os.path.join(self._get_trial_dir(trial.trial_id), "trial.json"), trial.get_state()
        )

    def reload(self):
        for fname in sorted(glob.glob(os.path.join(self._project_dir, "trial_*", "trial.json"))):
            state = read_state(fname)
            if state is None:
                print(f"[tune] skipping unreadable {fname}", file=sys.stderr)
                continue
            trial = Trial.from_state(state)
            self.trials[trial.trial_id] = trial
            if read_state(fname, backup=False) is None:
                write_state(fname, state)  # restored from the backup: make the file whole again
        state = read_state(self._get_oracle_fname(), required=True)
        state["ongoing_trials"] = {
            k: v for k, v in state["ongoing_trials"].items() if v in self.trials
        }
        state["retry_queue"] = [t for t in state["retry_queue"] if t in self.trials]
        try:
            self.set_state(state)
        except KeyError as err:
            raise RuntimeError(
                f"Cannot resume the search in {self._project_dir}: its state does not match "
                f"this tuner ({err}). Start a new search (another --directory or --overwrite)."
            ) from err
        self._repair()
        self.save()

    def _repair(self):
        """Re-queues interrupted trials; never re-runs finished ones."""
        queue = list(self._retry_queue) + [t.trial_id for t in self.ongoing_trials.values()]
        self.ongoing_trials = {}
        for trial_id, trial in self.trials.items():
            if trial_id not in self.start_order:
                self.start_order.append(trial_id)
            if trial.status in _DONE:
                if trial_id not in self.end_order:
                    self.end_order.append(trial_id)
                continue
            if trial_id in self.end_order:  # its finished trial.json was lost: run it again
                self.end_order.remove(trial_id)
            if trial_id not in queue:
                queue.append(trial_id)  # created, but the process died before oracle.json said so
            self._tried_so_far.add(self._compute_values_hash(trial.hyperparameters.values))
        if hasattr(self, "_ordered_ids"):
            self._rebuild_grid()
        seen = set()
        # create_trial pops from the end: keep the oldest interrupted trial last.
        self._retry_queue = [
            t
            for t in reversed(queue)
            if not (t in seen or seen.add(t)) and self.trials[t].status not in _DONE
        ]

    def _rebuild_grid(self):
        """keras-tuner's grid oracle keeps its walk in memory only; rebuild it from the trials."""
        # The walk is a keras-tuner LinkedList, which has no public name: make a new, empty
        # one of the type the oracle created in its own __init__ instead of importing it.
        linked_list = type(self._ordered_ids)
        ids = sorted(
            self.trials,
            key=functools.cmp_to_key(
                lambda a, b: self._compare(
                    self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values
                )
            ),
        )
        self._ordered_ids = linked_list()
        for trial_id in ids:
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(ids)

    def create_trial(self, tuner_id):
        spent = self.per_process is not None and self.started_here >= self.per_process
        late = self.deadline is not None and time.time() >= self.deadline
        if (late or spent) and tuner_id not in self.ongoing_trials:
            self.tuner_ids.discard(tuner_id)
            self.paused = spent and not late  # `--trial-subprocess`: the next process goes on
            return Trial(self.get_space(), status=TrialStatus.STOPPED)
        trial = super().create_trial(tuner_id)
        self.started_here += trial.status == TrialStatus.RUNNING
        return trial


class SafeTunerMixin:
    """Crash ledger, atomic tuner state and zoo run folders per execution."""

    max_attempts: int = 3
    progress = print

    def save(self):
        if not self._is_worker():
            self.oracle.save()
        write_state(self._get_tuner_fname(), self.get_state())

    def reload(self):
        if not self._is_worker():
            self.oracle.reload()
        self.set_state(read_state(self._get_tuner_fname()) or {})

    def execution_dir(self, trial_id: str, execution: int) -> str:
        return os.path.join(self.get_trial_dir(trial_id), f"execution{execution}")

    def run_trial(self, trial, *args, **kwargs):
        """Runs every execution of ``trial``, with the crash ledger around them."""
        trial_dir = self.get_trial_dir(trial.trial_id)
        ledger = self._start_in_ledger(trial, trial_dir)
        started = time.time()
        executions, results = [], []
        try:
            for execution in range(self.executions_per_trial):
                copied = copy.copy(kwargs)
                callbacks = self._deepcopy_callbacks(kwargs.get("callbacks", []))
                callbacks.append(_TrialCallback(self, trial))
                copied["callbacks"] = callbacks
                copied["run_dir"] = self.execution_dir(trial.trial_id, execution)
                results.append(self.train_execution(trial, *args, **copied))
                executions.append(dict(self.hypermodel.last_fit, metrics=results[-1]))
        finally:
            update_ledger(
                trial_dir,
                ends=ledger["ends"] + 1,
                finished=time.time(),
                duration_s=round(time.time() - started, 3),
                executions=executions or [dict(getattr(self.hypermodel, "last_fit", {}) or {})],
                epochs=sum(int(e.get("epochs") or 0) for e in executions),
            )
        return results

    def _start_in_ledger(self, trial, trial_dir: str) -> dict:
        """Counts a start in the ledger (before anything can crash); fails a trial that kept dying.

        Returns:
            The ledger as it was before this start.

        Raises:
            keras_tuner.errors.FailedTrialError: once the process died ``max_attempts`` times in it.
        """
        ledger = read_ledger(trial_dir)
        crashes = ledger["starts"] - ledger["ends"]
        if crashes >= self.max_attempts:
            update_ledger(trial_dir, ends=ledger["ends"] + 1, finished=time.time(), crashed=crashes)
            raise kt.errors.FailedTrialError(
                f"trial {trial.trial_id} was started {ledger['starts']} times and its process died "
                f"each time (out of memory? killed?); marked failed after {crashes} attempts."
            )
        update_ledger(trial_dir, starts=ledger["starts"] + 1, started=time.time(), crashed=crashes)
        values = {
            k: v for k, v in trial.hyperparameters.values.items() if k not in ("tuner/trial_id",)
        }
        again = (
            f" (attempt {ledger['starts'] + 1}, after {crashes} crash(es))"
            if ledger["starts"]
            else ""
        )
        self.progress(
            f"[tune] trial {trial.trial_id} started{again}: "
            + ", ".join(f"{k}={_short(v)}" for k, v in values.items())
            + f" [{self._count()}]"
        )
        return ledger

    def train_execution(self, trial, *args, **kwargs) -> dict:
        """Builds and trains one execution of ``trial``; returns its metrics.

        Runs after the ledger counted the start, so a process that dies in here
        (tests/tuning_faults.py wraps it to die for real) counts as a crash.

        Raises:
            keras_tuner.errors.FatalValueError: when the metrics lack the objective.
        """
        hp = trial.hyperparameters
        model = self._try_build(hp)
        results = self.hypermodel.fit(hp, model, *args, **kwargs)
        name = self.oracle.objective.name
        if not isinstance(results, dict) or name not in results:
            raise kt.errors.FatalValueError(
                f"HyperModel.fit() must return a dict of metrics with {name!r}; received {results!r}."
            )
        return results

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        keras.backend.clear_session(free_memory=True)  # the trial's model, graph and names
        gc.collect()
        try:
            done = self.oracle.get_trial(trial.trial_id)
        except Exception:  # noqa: BLE001  # pragma: no cover - a chief that went away (any gRPC error)
            done = trial
        ledger = read_ledger(self.get_trial_dir(trial.trial_id))
        score = "" if done.score is None else f" {self.oracle.objective.name}={done.score:.4f}"
        values = {
            k: v for k, v in done.hyperparameters.values.items() if not k.startswith("tuner/")
        }
        shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        message = ""
        if done.status == TrialStatus.FAILED and done.message:
            message = " -- " + done.message.strip().splitlines()[-1][:160]
        self.progress(
            f"[tune] trial {done.trial_id} {done.status}{score} in {ledger.get('duration_s', 0):.1f}s "
            f"({shown}){message} [{self._count(best=True)}]"
        )

    def _count(self, best: bool = False) -> str:
        """``3/10`` trials (``, best val_accuracy=0.9100`` so far); ``?`` for a worker's oracle."""
        try:  # a worker's oracle is a gRPC client that may not say
            text = f"{len(self.oracle.trials)}/{self.oracle.max_trials}"
            top = self.oracle.get_best_trials(1) if best else []
        except Exception:  # noqa: BLE001  # pragma: no cover - a client, or a chief gone away
            return "?"
        if top and top[0].score is not None:
            text += f", best {self.oracle.objective.name}={top[0].score:.4f}"
        return text

    def load_model(self, trial):
        """The best model of a trial, restored from its zoo run folder."""
        from zoo.saving import load_model
        from zoo.training.runs import BEST_MODEL, FINAL_MODEL

        for execution in range(max(1, self.executions_per_trial)):
            folder = self.execution_dir(trial.trial_id, execution)
            for name in (BEST_MODEL, FINAL_MODEL):
                path = os.path.join(folder, name)
                if os.path.isfile(path):
                    return load_model(path)
        raise FileNotFoundError(
            f"No saved model for trial {trial.trial_id} under {self.get_trial_dir(trial.trial_id)}."
        )


class _HyperbandMixin:
    """Hyperband continues a trial from its parent's best model (not keras-tuner's checkpoint)."""

    def _build_hypermodel(self, hp):
        model = self.hypermodel.build(hp)
        parent = hp.values.get("tuner/trial_id")
        if parent:
            model.set_weights(self.load_model(self.oracle.get_trial(parent)).get_weights())
        return model

    def run_trial(self, trial, *args, **kwargs):
        return SafeTunerMixin.run_trial(self, trial, *args, **kwargs)


class _TrialCallback(keras.callbacks.Callback):
    """Forwards epoch and batch events to the tuner, as keras-tuner's own (non-public) one does."""

    def __init__(self, tuner, trial):
        super().__init__()
        self.tuner = tuner
        self.trial = trial

    def on_epoch_begin(self, epoch, logs=None):
        self.tuner.on_epoch_begin(self.trial, self.model, epoch, logs=logs)

    def on_batch_begin(self, batch, logs=None):
        self.tuner.on_batch_begin(self.trial, self.model, batch, logs)

    def on_batch_end(self, batch, logs=None):
        self.tuner.on_batch_end(self.trial, self.model, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self.tuner.on_epoch_end(self.trial, self.model, epoch, logs=logs)


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _algorithm(kind: str, max_trials: int, max_epochs: int, hyperband_factor: int):
    """``(keras-tuner oracle class, tuner class, oracle arguments)`` of one search algorithm."""
    oracles = kt.oracles
    if kind == "random":
        return oracles.RandomSearchOracle, kt.RandomSearch, {"max_trials": max_trials}
    if kind == "grid":
        return oracles.GridSearchOracle, kt.GridSearch, {"max_trials": max_trials}
    if kind == "bayesian":
        extra = {"max_trials": max_trials, "num_initial_points": max(1, min(3, max_trials - 1))}
        return oracles.BayesianOptimizationOracle, kt.BayesianOptimization, extra
    return (
        oracles.HyperbandOracle,
        kt.Hyperband,
        {"max_epochs": max_epochs, "factor": hyperband_factor},
    )


def make_tuner(
    kind: str,
    hypermodel,
    *,
    objective: str,
    max_trials: int,
    max_epochs: int,
    directory: str,
    project_name: str = "search",
    executions_per_trial: int = 1,
    overwrite: bool = False,
    seed: int | None = None,
    max_attempts: int = 3,
    max_consecutive_failed_trials: int = 3,
    deadline: float | None = None,
    hyperband_factor: int = 3,
    progress=print,
):
    """Builds the kill-safe keras-tuner tuner of ``kind`` (one of `TUNERS`).

    Raises:
        ValueError: for an unknown tuner (listing the valid ones).
    """
    from zoo.training.callbacks import monitor_mode

    if kind not in TUNERS:
        raise ValueError(f"Unknown tuner {kind!r}; choose one of: {', '.join(TUNERS)}.")
    direction = monitor_mode(objective)
    objective_obj = kt.Objective(objective, direction="max" if direction == "max" else "min")
    common = {
        "objective": objective_obj,
        "seed": seed,
        "max_retries_per_trial": 0,
        "max_consecutive_failed_trials": max_consecutive_failed_trials,
    }
    base_oracle, base_tuner, extra = _algorithm(kind, max_trials, max_epochs, hyperband_factor)
    oracle_cls = type(f"Safe{base_oracle.__name__}", (SafeOracleMixin, base_oracle), {})
    oracle = oracle_cls(**common, **extra)
    oracle.max_trials = max_trials  # Hyperband has no max_trials of its own
    oracle.deadline = deadline
    oracle.verbose = 0
    mixins = (_HyperbandMixin, SafeTunerMixin) if kind == "hyperband" else (SafeTunerMixin,)
    # Every keras-tuner tuner is Tuner + its oracle: build on kt.Tuner with ours.
    tuner_cls = type(f"Safe{base_tuner.__name__}", (*mixins, kt.Tuner), {})
    tuner_cls.max_attempts = max_attempts
    tuner_cls.progress = staticmethod(progress)
    return tuner_cls(
        oracle=oracle,
        hypermodel=hypermodel,
        directory=directory,
        project_name=project_name,
        executions_per_trial=executions_per_trial,
        overwrite=overwrite,
    )
