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
import glob
import os
import signal
import sys
import time
from typing import Any

import keras_tuner as kt
from keras_tuner.src.engine import trial as trial_module
from keras_tuner.src.engine import tuner_utils

from tuning.state import read_ledger, read_state, update_ledger, write_state

__all__ = ["TUNERS", "SafeOracleMixin", "SafeTunerMixin", "make_tuner"]

TUNERS = ("random", "grid", "bayesian", "hyperband")
_DONE = (trial_module.TrialStatus.COMPLETED, trial_module.TrialStatus.FAILED)

#: Test-only hooks (tests/test_tuning_faults.py):
#: ``ZOO_TUNE_TEST_CRASH="name=value"`` SIGKILLs the process in a trial whose
#: hyperparameter ``name`` equals ``value``; ``ZOO_TUNE_TEST_HANG="<trial_id>"``
#: writes ``trial_<id>/HANGING`` and sleeps, so a test can kill mid-trial.
_CRASH_ENV = "ZOO_TUNE_TEST_CRASH"
_HANG_ENV = "ZOO_TUNE_TEST_HANG"


class SafeOracleMixin:
    """Atomic, resumable oracle state (mix in before a keras-tuner Oracle)."""

    deadline: float | None = None

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
            trial = trial_module.Trial.from_state(state)
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
        import functools

        from keras_tuner.src.tuners.gridsearch import LinkedList

        ids = sorted(
            self.trials,
            key=functools.cmp_to_key(
                lambda a, b: self._compare(
                    self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values
                )
            ),
        )
        self._ordered_ids = LinkedList()
        for trial_id in ids:
            self._ordered_ids.insert(trial_id)
        self._populate_next = list(ids)

    def create_trial(self, tuner_id):
        if (
            self.deadline is not None
            and time.time() >= self.deadline
            and tuner_id not in self.ongoing_trials
        ):
            self.tuner_ids.discard(tuner_id)
            return trial_module.Trial(self.get_space(), status=trial_module.TrialStatus.STOPPED)
        return super().create_trial(tuner_id)


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
        trial_dir = self.get_trial_dir(trial.trial_id)
        ledger = read_ledger(trial_dir)
        crashes = ledger["starts"] - ledger["ends"]
        if crashes >= self.max_attempts:
            update_ledger(trial_dir, ends=ledger["ends"] + 1, finished=time.time(), crashed=crashes)
            raise kt.errors.FailedTrialError(
                f"trial {trial.trial_id} was started {ledger['starts']} times and its process died "
                f"each time (out of memory? killed?); marked failed after {crashes} attempts."
            )
        started = time.time()
        update_ledger(trial_dir, starts=ledger["starts"] + 1, started=started, crashed=crashes)
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
        )
        self._test_hooks(trial, trial_dir)
        executions, results = [], []
        try:
            for execution in range(self.executions_per_trial):
                copied = copy.copy(kwargs)
                callbacks = self._deepcopy_callbacks(kwargs.get("callbacks", []))
                callbacks.append(tuner_utils.TunerCallback(self, trial))
                copied["callbacks"] = callbacks
                copied["run_dir"] = self.execution_dir(trial.trial_id, execution)
                results.append(self._build_and_fit_model(trial, *args, **copied))
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

    def _build_and_fit_model(self, trial, *args, **kwargs):
        hp = trial.hyperparameters
        model = self._try_build(hp)
        results = self.hypermodel.fit(hp, model, *args, **kwargs)
        tuner_utils.validate_trial_results(results, self.oracle.objective, "HyperModel.fit()")
        return results

    def _test_hooks(self, trial, trial_dir):
        crash = os.environ.get(_CRASH_ENV)
        if crash:
            name, _, value = crash.partition("=")
            if str(trial.hyperparameters.values.get(name)) == value:
                os.kill(os.getpid(), signal.SIGKILL)
        if os.environ.get(_HANG_ENV) == str(trial.trial_id):
            with open(os.path.join(trial_dir, "HANGING"), "w") as fh:
                fh.write(str(os.getpid()))
            time.sleep(600)

    def on_trial_end(self, trial):
        super().on_trial_end(trial)
        try:
            done = self.oracle.get_trial(trial.trial_id)
        except Exception:  # pragma: no cover - a chief that went away
            done = trial
        ledger = read_ledger(self.get_trial_dir(trial.trial_id))
        score = "" if done.score is None else f" {self.oracle.objective.name}={done.score:.4f}"
        values = {
            k: v for k, v in done.hyperparameters.values.items() if not k.startswith("tuner/")
        }
        shown = ", ".join(f"{k}={_short(v)}" for k, v in values.items())
        message = ""
        if done.status == trial_module.TrialStatus.FAILED and done.message:
            message = " -- " + done.message.strip().splitlines()[-1][:160]
        self.progress(
            f"[tune] trial {done.trial_id} {done.status}{score} in {ledger.get('duration_s', 0):.1f}s "
            f"({shown}){message}"
        )

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


def _short(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


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
    oracles = kt.oracles
    if kind == "random":
        base_oracle, base_tuner, extra = (
            oracles.RandomSearchOracle,
            kt.RandomSearch,
            {"max_trials": max_trials},
        )
    elif kind == "grid":
        base_oracle, base_tuner, extra = (
            oracles.GridSearchOracle,
            kt.GridSearch,
            {"max_trials": max_trials},
        )
    elif kind == "bayesian":
        base_oracle, base_tuner = oracles.BayesianOptimizationOracle, kt.BayesianOptimization
        extra = {"max_trials": max_trials, "num_initial_points": max(1, min(3, max_trials - 1))}
    else:
        base_oracle, base_tuner = oracles.HyperbandOracle, kt.Hyperband
        extra = {"max_epochs": max_epochs, "factor": hyperband_factor}
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
