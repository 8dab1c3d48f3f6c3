"""The steps of ``zoo.train``: prepare -> restore -> fit -> finalize -> publish.

Each step is a function of one `TrainingRun`, the state of a call of
``train`` that the steps fill in turn:

1. `prepare_run`: reads a resumed run's record, loads the data, builds and
   compiles the model, checks (resume) or creates (new run) the run
   directory, builds the callbacks.
2. `restore_run`: puts back a resumed run's weights, optimizer, callback
   state, history and best value; adds the checkpoint and the caller's
   callbacks.
3. `fit_run`: records the session and fits the remaining epochs.
4. `finalize_run`: history, status, doctor's findings, test metrics, final
   model and metrics.json; returns the `TrainResult`.
5. `publish_run`: publishes the result to ``saved_models/`` when asked.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable
from typing import Any

from zoo.training import runs
from zoo.training.callbacks import (
    ResumableEarlyStopping,
    find_callback,
    make_callbacks,
    monitor_mode,
    set_callbacks_state,
)
from zoo.training.config import TrainConfig, as_config
from zoo.training.doctor import DoctorCallback
from zoo.training.execution import machine, versions
from zoo.training.fit_data import data_argument, data_kwargs, load_data, prepare_split
from zoo.training.model_setup import BuiltModel, build_trainer, evaluate_model, has_penalty
from zoo.training.preprocess import Preprocessing
from zoo.training.results import TrainResult, publish_result
from zoo.training.run_checkpoint import RunCheckpoint

__all__ = ["TrainingRun", "finalize_run", "fit_run", "prepare_run", "publish_run", "restore_run"]


@dataclasses.dataclass
class TrainingRun:
    """The state of one call of ``zoo.train``, filled in by the steps.

    Attributes:
        config: the `TrainConfig` used.
        bundle: the `zoo.data.DataBundle` trained on.
        built: the model, its training wrapper and preprocessing (`BuiltModel`).
        run: the `runs.RunDirectory`, or None when nothing is written.
        record: the run.json of the run being resumed, else None.
        command: the command line recorded for the run.
        monitor: the metric that picks the best epoch (``val_`` dropped
            without validation data).
        train_data: the train split, ready for `data_kwargs`.
        val_data: the validation split, or None.
        callbacks: every callback ``fit`` gets, in order.
        checkpoint: the run's `RunCheckpoint`, when there is a run directory.
        state: the resumed run's state.json, else None.
        initial_epoch: epochs already done.
        history: the history so far.
        best: the best ``monitor`` value so far.
        finished: a resumed run's final metrics.json when it had already ended.
        keras_history: what ``fit`` returned (None when nothing was trained).
        seconds: wall time of the fit.
    """

    config: TrainConfig
    bundle: Any
    built: BuiltModel
    run: runs.RunDirectory | None
    record: dict | None
    command: str | None
    monitor: str
    train_data: Any
    val_data: Any
    callbacks: list = dataclasses.field(default_factory=list)
    checkpoint: RunCheckpoint | None = None
    state: dict | None = None
    initial_epoch: int = 0
    history: dict = dataclasses.field(default_factory=dict)
    best: float | None = None
    finished: dict | None = None
    keras_history: Any = None
    seconds: float = 0.0


# ------------------------------------------------------------------ prepare
def prepare_run(
    model: Any,
    data: Any,
    config: Any,
    *,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    force: bool = False,
    overwrite: bool = False,
    preprocessing: Preprocessing | None = None,
    model_kwargs: dict | None = None,
    verbose: int | str = 1,
    command: str | None = None,
) -> TrainingRun:
    """Step 1: the data, the compiled model, the run directory and the callbacks.

    Arguments as ``zoo.train``'s.

    Returns:
        A `TrainingRun` ready for `restore_run`.

    Raises:
        ValueError: bad arguments, or a run directory that already holds a run;
            ``runs.ResumeError`` when a resume would not continue the same run.
    """
    import keras

    run = runs.RunDirectory(run_dir) if run_dir is not None else None
    record = None
    if resume:
        record, model, data, config, model_kwargs, preprocessing = _resume_arguments(
            run, model, data, config, model_kwargs, preprocessing
        )
    elif run is not None and run.exists and not overwrite:
        raise ValueError(
            f"{run.path} already holds a run; resume it (resume=True / --resume) or choose "
            f"another directory (or pass overwrite=True)."
        )
    config = as_config(config)
    data_arg = data_argument(data)
    if model is None:
        raise ValueError("No model given: pass a registered name or a built keras.Model.")
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    bundle = load_data(data, config)
    built = build_trainer(model, bundle, config, model_kwargs, preprocessing)
    val_data = prepare_split(bundle, "val", built.prep, config)
    tr = TrainingRun(
        config=config,
        bundle=bundle,
        built=built,
        run=run,
        record=record,
        command=command,
        monitor=_reported_monitor(config, has_validation=val_data is not None),
        train_data=prepare_split(bundle, "train", built.prep, config),
        val_data=val_data,
    )
    identity = runs.run_identity(built, config, bundle, data_arg)
    tr.callbacks = make_callbacks(
        config,
        run.path if run else None,
        # The doctor compares the first loss with ln(C); a regularization penalty
        # (or auxiliary losses) in the loss would make that comparison raise a false alarm.
        num_classes=None if has_penalty(built.net) or built.net.outputs[1:] else bundle.num_classes,
        has_validation=val_data is not None,
        verbose=1 if verbose else 0,
        csv_log=False,
        test_data=prepare_split(bundle, "test", built.prep, config) if config.track_test else None,
        monitor=tr.monitor,
    )
    _open_run_directory(tr, identity, force)  # last: a new run's run.json only once all is ready
    _write_skipped(tr)
    return tr


def _write_skipped(tr: TrainingRun) -> None:
    """Writes the files screening skipped (`SKIPPED_FILE`) into the run directory."""
    from zoo.data.screen_report import SKIPPED_FILE, skipped_listing
    from zoo.saving import write_text_atomic

    report = tr.bundle.screen_report
    if tr.run is not None and report is not None and report.skipped:
        write_text_atomic(os.path.join(tr.run.path, SKIPPED_FILE), skipped_listing(report))


def _resume_arguments(run, model, data, config, model_kwargs, preprocessing) -> tuple:
    """Fills what the caller left None from the run's record."""
    if run is None:
        raise ValueError("resume=True needs the run_dir of the run to continue.")
    record = run.record()
    if config is None:
        config = runs.config_from_record(record)
    if model is None:
        model = record["model"]
        model_kwargs = record.get("model_kwargs") if model_kwargs is None else model_kwargs
    if data is None:
        data = record["data"].get("argument")
        if data is None:
            raise ValueError(
                f"The run in {run.path} was trained on an in-memory DataBundle; pass the same "
                "data to resume."
            )
    if preprocessing is None and record.get("preprocessing"):
        preprocessing = Preprocessing.from_dict(record["preprocessing"])
    return record, model, data, config, model_kwargs, preprocessing


def _reported_monitor(config: TrainConfig, *, has_validation: bool) -> str:
    """``config.monitor``, or its training twin (``val_loss`` -> ``loss``) without validation data."""
    if has_validation or not config.monitor.startswith("val_"):
        return config.monitor
    return config.monitor[4:]


def _open_run_directory(tr: TrainingRun, identity: dict, force: bool) -> None:
    """Resume: checks the run is the same and reads its state. New run: writes run.json."""
    run = tr.run
    if run is None:
        return
    if tr.record is None:
        run.create(runs.new_record(identity, versions(), tr.command))
        return
    legacy = runs.architecture_hash(tr.built.net, legacy=True)
    runs.check_same_run(tr.record, identity, force, legacy_hash=legacy)
    run.remove_stale_temporaries()
    tr.state = run.state()
    if tr.record.get("command"):
        tr.command = tr.record["command"]


# ------------------------------------------------------------------ restore
def restore_run(tr: TrainingRun, extra_callbacks: Iterable[Any] = ()) -> None:
    """Step 2: a resumed run's weights, optimizer, callbacks, history and best; the checkpoint.

    Args:
        tr: the prepared run.
        extra_callbacks: the caller's callbacks, appended last.
    """
    run, net = tr.run, tr.built.net
    if tr.state is not None:
        run.restore(net, tr.built.trainer.optimizer, tr.state)
        set_callbacks_state(tr.callbacks, tr.state.get("callbacks", {}))
        tr.initial_epoch = int(tr.state["epoch"])
        tr.history, tr.best = tr.state["history"], tr.state.get("best")
        saved_best = run.best()
        if saved_best is not None and (
            tr.best is None or _better(saved_best["value"], tr.best, tr.monitor)
        ):
            tr.best = saved_best["value"]
        _restore_early_stopping_weights(tr)
    if run is not None:
        tr.checkpoint = RunCheckpoint(
            run, net, tr.monitor, callbacks=tr.callbacks, history=tr.history, best=tr.best
        )
        tr.callbacks.append(tr.checkpoint)
    tr.callbacks.extend(extra_callbacks)
    tr.finished = run.finished() if (run is not None and tr.state is not None) else None
    if tr.finished is not None:  # the run already ended: nothing to train, keep its final weights
        from zoo.saving import load_model

        net.set_weights(load_model(run.file(runs.FINAL_MODEL)).get_weights())
        tr.initial_epoch = tr.config.epochs


def _better(a, b, monitor) -> bool:
    return a > b if monitor_mode(monitor) == "max" else a < b


def _restore_early_stopping_weights(tr: TrainingRun) -> None:
    """Gives a resumed early stopping the best weights it would restore (from best.keras)."""
    stopper = find_callback(tr.callbacks, ResumableEarlyStopping)
    best_path = tr.run.file(runs.BEST_MODEL)
    if stopper is None or not stopper.restore_best_weights or not os.path.isfile(best_path):
        return
    from zoo.saving import load_model

    net = tr.built.net
    current = net.get_weights()
    net.set_weights(load_model(best_path).get_weights())
    best_weights = tr.built.trainer.get_weights()
    net.set_weights(current)
    stopper.set_state(stopper.get_state(), best_weights=best_weights)


# ---------------------------------------------------------------------- fit
def fit_run(tr: TrainingRun, verbose: int | str = "auto", class_weight=None) -> None:
    """Step 3: records this session in the run directory and fits the remaining epochs.

    ``class_weight`` (``{class: weight}``) is Keras' own ``fit`` argument.
    """
    import keras

    config = tr.config
    if tr.initial_epoch >= config.epochs:
        return
    if tr.run is not None:
        tr.run.add_session({"started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                            "first_epoch": tr.initial_epoch + 1,
                            "machine": machine(), "backend": keras.backend.backend()})  # fmt: skip
    started = time.perf_counter()
    try:
        tr.keras_history = tr.built.trainer.fit(
            **data_kwargs(tr.train_data, config.batch_size, shuffle=True),
            validation_data=tr.val_data,
            epochs=config.epochs,
            initial_epoch=tr.initial_epoch,
            callbacks=tr.callbacks,
            verbose=verbose,
            **({"class_weight": class_weight} if class_weight else {}),
        )
    except Exception:
        if tr.run is not None and tr.record is None:
            tr.run.discard_failed_start()  # a plain re-run in the same folder is accepted
        raise
    tr.seconds = time.perf_counter() - started


# ----------------------------------------------------------------- finalize
def finalize_run(tr: TrainingRun, evaluate_test: bool = True) -> TrainResult:
    """Step 4: the run's history, status and findings; test metrics; final model and metrics.json.

    A diverged run writes no final model and returns its best model (when saved).
    A model with auxiliary outputs is saved whole and returned with its main output only.
    """
    from zoo.training.model_setup import inference_model

    history = _full_history(tr)
    epochs_done = len(history.get("epoch", history.get("loss", [])))
    status = _status(tr, epochs_done)
    net, metrics, bundle = tr.built.net, {}, tr.bundle
    if status == "diverged":
        if tr.run is not None:
            net = _load_best_or_none(tr.run, net)
    else:
        if evaluate_test and bundle.get("test") is not None:
            metrics = evaluate_model(inference_model(net), bundle, "test", tr.built.prep, tr.config)
        if tr.run is not None:
            from zoo.saving import save_model

            save_model(net, tr.run.file(runs.FINAL_MODEL))
            runs.write_json(tr.run.file(runs.METRICS_JSON),
                            {"status": status, "epochs": epochs_done, **metrics})  # fmt: skip
    net = inference_model(net)  # the run keeps every output (for resume); callers get the main one
    doctor = find_callback(tr.callbacks, DoctorCallback)
    splits = {
        s: bundle.num_examples(s) for s in ("train", "val", "test") if bundle.get(s) is not None
    }
    return TrainResult(
        model=net,
        history=history,
        metrics=metrics,
        run_dir=tr.run.path if tr.run else None,
        class_names=tuple(bundle.class_names),
        preprocessing=tr.built.prep,
        config=tr.config,
        diagnoses=list(getattr(doctor, "diagnoses", []) or []),
        status=status,
        epochs=epochs_done,
        model_name=tr.built.name,
        model_kwargs=dict(tr.built.model_kwargs or {}),
        data_source=bundle.source,
        seconds=tr.seconds,
        command=tr.command,
        data_splits=splits,
        sessions=runs.session_summary(tr.run.sessions(), history) if tr.run is not None else [],
    )


def _full_history(tr: TrainingRun) -> dict:
    """The whole run's history (resumed epochs included), as the checkpoint or Keras kept it."""
    if tr.checkpoint is not None:
        return tr.checkpoint.history
    if tr.keras_history is not None:
        return {"epoch": [e + 1 for e in tr.keras_history.epoch], **tr.keras_history.history}
    return tr.history


def _status(tr: TrainingRun, epochs_done: int) -> str:
    """``"diverged"`` (a NaN loss or weights), ``"completed"`` or ``"early_stopped"``."""
    import numpy as np

    if tr.finished is not None and "status" in tr.finished:
        return tr.finished["status"]
    losses = tr.keras_history.history.get("loss", []) if tr.keras_history is not None else []
    diverged = (
        (tr.checkpoint is not None and tr.checkpoint.diverged)
        or not all(np.all(np.isfinite(np.asarray(w))) for w in tr.built.net.weights)
        or any(not np.isfinite(v) for v in losses)
    )
    if diverged:
        return "diverged"
    return "completed" if epochs_done >= tr.config.epochs else "early_stopped"


def _load_best_or_none(run, net):
    from zoo.saving import load_model

    path = run.file(runs.BEST_MODEL)
    return load_model(path) if os.path.isfile(path) else net


# ------------------------------------------------------------------ publish
def publish_run(result: TrainResult, save_as: str | None, *, overwrite: bool = False) -> None:
    """Step 5: publishes ``result`` to ``saved_models/<save_as>`` (not a diverged run)."""
    if save_as and result.status != "diverged":
        publish_result(result, save_as, overwrite=overwrite)
