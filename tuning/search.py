"""Running a search: validate, open the folder, search, report, keep the best model.

`search` runs everything in the calling process. ``zoo tune`` instead runs
the search in a child process (``python -m tuning.search``) under
`supervise`: when the child dies by a signal (OOM killer, SIGKILL, a trial
calling ``os._exit``) it is restarted with ``resume``; the crash ledger makes
the offending trial fail after ``max_attempts`` deaths, so the search always
ends.

A search folder holds::

    search.json                 the request (model, data, space, tuner, ...)
    search/                     keras-tuner's project: oracle.json, trial_*/
    search/trial_<id>/          trial.json, zoo_trial.json (crash ledger),
                                execution<k>/ (a zoo run: best.keras, ...)
    results.csv, results.json   the table of every trial
    objective_per_trial.png, hparams_vs_objective.png
    best/model.keras, best/best.json   the best model and its configuration

Example:

```python
from tuning import search
doc = search("mlp", "mnist-sample", ["learning_rate=log:1e-4:1e-1"],
             tuner="random", max_trials=3, max_epochs=2, directory="runs/tune-mlp")
doc["best"]["hyperparameters"]
```
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tuning import report
from tuning.space import Param, parse_space, space_from_dict, space_to_dict
from tuning.state import read_state, write_state

__all__ = [
    "SearchError",
    "execute",
    "open_directory",
    "parse_duration",
    "prepare",
    "search",
    "supervise",
]

TUNERS = ("random", "grid", "bayesian", "hyperband")
REQUEST_KEYS = (
    "model", "data", "space", "tuner", "objective", "max_trials", "max_epochs",
    "executions_per_trial", "config", "model_kwargs", "seed", "hyperband_factor",
)  # fmt: skip
BEST_DIR = "best"


class SearchError(ValueError):
    """A search that cannot start (or resume) as asked."""


def parse_duration(text: str | float | None) -> float | None:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"1h30m"`` or seconds -> seconds (None stays None)."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
        import re

        s = str(text).strip().lower()
        parts = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", s)
        if not s or parts is None or not any(parts.groups()):
            raise SearchError(f"A time budget looks like 90s, 30m, 2h or 1h30m; received {text!r}.")
        h, m, sec = (float(g) if g else 0.0 for g in parts.groups())
        seconds = h * 3600 + m * 60 + sec
    if not seconds > 0 or not math.isfinite(seconds):
        raise SearchError(f"The time budget must be positive; received {text!r}.")
    return seconds


def prepare(
    model: str,
    data: Any,
    space: Sequence[Param] | Sequence[str] | Mapping[str, Any],
    *,
    tuner: str = "random",
    objective: str = "val_accuracy",
    max_trials: int = 10,
    max_epochs: int = 10,
    executions_per_trial: int = 1,
    config: Any = None,
    model_kwargs: Mapping[str, Any] | None = None,
    seed: int | None = None,
    hyperband_factor: int = 3,
    verbose: int = 0,
):
    """Validates a search before anything runs; returns ``(request, hypermodel)``.

    Raises:
        SearchError / SpaceError / ValueError: one line each, naming the
            valid choices (tuners, hyperparameter names, objectives).
    """
    from tuning.hypermodel import ZooHyperModel
    from zoo.training.callbacks import monitor_mode
    from zoo.training.fit import as_config

    if tuner not in TUNERS:
        raise SearchError(f"Unknown tuner {tuner!r}; choose one of: {', '.join(TUNERS)}.")
    for name, value in (("max_trials", max_trials), ("max_epochs", max_epochs),
                        ("executions_per_trial", executions_per_trial)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SearchError(f"{name} must be a positive integer; received {value!r}.")
    if tuner == "bayesian":
        try:
            import sklearn  # noqa: F401  keras-tuner's Gaussian process needs it
        except ImportError:
            raise SearchError(
                "The bayesian tuner needs scikit-learn: pip install scikit-learn "
                "(or keras-tuner[bayesian]); random, grid and hyperband work without it."
            ) from None
    if tuner == "hyperband" and not (isinstance(hyperband_factor, int) and hyperband_factor >= 2):
        raise SearchError(
            f"hyperband_factor must be an integer >= 2; received {hyperband_factor!r}."
        )
    if isinstance(space, Mapping):
        space = space_from_dict(space)
    elif space and all(isinstance(s, str) for s in space):
        space = parse_space(space)
    space = tuple(space)
    names = {p.name.split(".")[-1] if p.name.startswith("train.") else p.name for p in space}
    epochs_param = next((p for p in space if p.name in ("epochs", "train.epochs")), None)
    if tuner == "hyperband" and "epochs" in names:
        raise SearchError(
            "Hyperband sets each trial's epochs itself; remove 'epochs' from the space."
        )
    if (
        epochs_param is not None
        and max(int(v) for v in epochs_param.candidates() if isinstance(v, (int, float)))
        > max_epochs
    ):
        raise SearchError(
            f"The space lets epochs exceed --max-epochs={max_epochs}: {epochs_param.describe()}."
        )
    base = as_config(config).replace(epochs=max_epochs)
    hypermodel = ZooHyperModel(
        model, data, space, base, model_kwargs=model_kwargs, objective=objective, verbose=verbose
    )
    request = {
        "model": hypermodel.model_name,
        "data": data if isinstance(data, str) else str(hypermodel.bundle.source),
        "space": space_to_dict(space),
        "tuner": tuner,
        "objective": objective,
        "direction": "max" if monitor_mode(objective) == "max" else "min",
        "max_trials": max_trials,
        "max_epochs": max_epochs,
        "executions_per_trial": executions_per_trial,
        "config": hypermodel.base_config.to_dict(),
        "model_kwargs": {
            k: list(v) if isinstance(v, tuple) else v for k, v in (model_kwargs or {}).items()
        },
        "seed": seed,
        "hyperband_factor": hyperband_factor,
        "data_fingerprint": hypermodel.bundle.fingerprint,
    }
    return request, hypermodel


def open_directory(
    directory: str, request: dict, *, resume: bool = False, overwrite: bool = False
) -> str:
    """Creates, checks or cleans the search folder and stores the request.

    A new search refuses a folder that already holds one (unless
    ``overwrite``); a resume refuses a request that differs from the stored
    one (naming the differences).

    Returns:
        The absolute folder path.
    """
    directory = os.path.abspath(os.fspath(directory))
    path = os.path.join(directory, report.REQUEST)
    exists = os.path.isfile(path) or os.path.isfile(path + ".bak")
    if resume:
        if not exists:
            raise SearchError(f"Nothing to resume: {directory} holds no search ({report.REQUEST}).")
        stored = read_state(path, required=True)
        changed = [
            k
            for k in REQUEST_KEYS + ("data_fingerprint",)
            if _norm(stored.get(k)) != _norm(request.get(k))
        ]
        if changed:
            raise SearchError(
                f"Cannot resume {directory}: {', '.join(changed)} differ from the search stored there; "
                f"run it with the same arguments, or start a new search."
            )
        return directory
    if exists or os.path.isdir(os.path.join(directory, report.PROJECT)):
        if not overwrite:
            raise SearchError(
                f"{directory} already holds a search; pass --resume to continue it or --overwrite to "
                f"start over."
            )
        for name in (report.PROJECT, BEST_DIR):
            shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
        for name in (report.REQUEST, report.REQUEST + ".bak", report.RESULTS_CSV, report.RESULTS_JSON,
                     report.RESULTS_JSON + ".bak", report.PLOT_OBJECTIVE, report.PLOT_HPARAMS):  # fmt: skip
            if os.path.exists(os.path.join(directory, name)):
                os.remove(os.path.join(directory, name))
    os.makedirs(directory, exist_ok=True)
    write_state(path, request)
    return directory


def _norm(value):
    import json

    return json.loads(json.dumps(value, sort_keys=True, default=list))


def execute(
    directory: str,
    request: dict,
    hypermodel=None,
    *,
    time_budget: float | None = None,
    max_attempts: int = 3,
    save_as: str | None = None,
    overwrite_saved: bool = False,
    progress: Callable[[str], None] = print,
) -> dict:
    """Runs (or resumes) the search stored in ``directory``; returns the results document.

    In a distributed setup (see `tuning.distributed`) the chief serves the
    oracle and reports at the end; a worker runs trials and returns its own
    summary.
    """
    from tuning import distributed
    from tuning.tuners import make_tuner

    directory = os.path.abspath(directory)
    if hypermodel is None:
        _, hypermodel = prepare(**{k: request[k] for k in REQUEST_KEYS})
    who = distributed.role()
    deadline = time.time() + time_budget if time_budget else None
    tuner = make_tuner(
        request["tuner"],
        hypermodel,
        objective=request["objective"],
        max_trials=request["max_trials"],
        max_epochs=request["max_epochs"],
        directory=directory,
        project_name=report.PROJECT,
        executions_per_trial=request["executions_per_trial"],
        seed=request.get("seed"),
        max_attempts=max_attempts,
        deadline=deadline,
        hyperband_factor=request.get("hyperband_factor", 3),
        progress=progress,
    )
    started = time.time()
    progress(
        f"[tune] {request['tuner']} search of {request['model']} on {request['data']}: up to "
        f"{request['max_trials']} trials, objective {request['objective']} ({request['direction']}), "
        f"folder {directory}" + (f" [{who}]" if who != "single" else "")
    )
    if who == "chief":
        tuner.save()
        distributed.serve(tuner.oracle, progress=progress)
    else:
        if who == "single":
            tuner.save()
        tuner.search()
    if who == "worker":
        progress(f"[tune] worker {os.environ.get(distributed.ENV_ID)} done")
        return {"role": "worker"}
    doc = report.summarize(directory)
    doc["seconds"] = round(time.time() - started, 1)
    if deadline is not None and time.time() >= deadline:
        progress("[tune] time budget reached: no new trials were started after it")
    progress(report.format_table(doc["trials"], request["objective"]))
    best = doc.get("best")
    if best is None:
        progress("[tune] no trial completed; nothing to keep")
        return doc
    progress(
        f"[tune] best trial {best['trial_id']}: {request['objective']}={best['objective']:.4f} "
        f"with {_hp_text(best['hyperparameters'])}"
    )
    doc["best_model"] = _keep_best(
        directory, request, hypermodel, tuner, best, save_as, overwrite_saved, progress
    )
    write_state(os.path.join(directory, report.RESULTS_JSON), doc)
    return doc


def _hp_text(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
                     if not k.startswith("tuner/")) or "the defaults"  # fmt: skip


def _keep_best(
    directory, request, hypermodel, tuner, best, save_as, overwrite_saved, progress
) -> dict:
    """Restores the best trial's model (or retrains its configuration), saves and publishes it."""
    import keras_tuner as kt

    from zoo.saving import save_model
    from zoo.training.fit import TrainResult, evaluate_model, publish_result
    from zoo.training.preprocess import for_model

    hp = kt.HyperParameters()
    hypermodel.values(hp)
    hp.values.update(best["hyperparameters"])
    config = hypermodel.config_for(hp)
    model_kwargs = hypermodel.model_kwargs_for(hp)
    source = "restored"
    try:
        model = tuner.load_model(tuner.oracle.get_trial(best["trial_id"]))
    except (FileNotFoundError, OSError, ValueError) as err:
        progress(
            f"[tune] cannot restore trial {best['trial_id']}'s model ({err}); retraining its configuration"
        )
        from zoo.saving import load_model
        from zoo.training.runs import BEST_MODEL

        retrain_dir = os.path.join(directory, BEST_DIR, "retrain")
        hypermodel.fit(hp, hypermodel.build(hp), run_dir=retrain_dir)
        model = load_model(os.path.join(retrain_dir, BEST_MODEL))
        source = "retrained"
    bundle = hypermodel.bundle
    shape = tuple(model.input_shape[1:])
    prep = for_model(bundle.input_shape, shape, model_channels=shape[-1])
    metrics = dict(best["metrics"])
    if bundle.get("test") is not None:
        metrics.update(evaluate_model(model, bundle, "test", prep, config))
    out = os.path.join(directory, BEST_DIR)
    os.makedirs(out, exist_ok=True)
    save_model(model, os.path.join(out, "model.keras"))
    info = {
        "trial_id": best["trial_id"],
        "source": source,
        "model": request["model"],
        "model_kwargs": {
            k: list(v) if isinstance(v, tuple) else v for k, v in model_kwargs.items()
        },
        "hyperparameters": best["hyperparameters"],
        "train_config": config.to_dict(),
        "objective": {request["objective"]: best["objective"]},
        "metrics": metrics,
        "class_names": list(bundle.class_names),
        "preprocessing": prep.to_dict(),
        "data": request["data"],
        "path": os.path.join(out, "model.keras"),
    }
    write_state(os.path.join(out, "best.json"), info)
    progress(f"[tune] best model ({source}) saved to {info['path']}")
    if save_as:
        result = TrainResult(
            model=model, history={}, metrics=metrics, run_dir=directory, class_names=tuple(bundle.class_names),
            preprocessing=prep, config=config, diagnoses=[], status="completed", epochs=config.epochs,
            model_name=request["model"], model_kwargs=model_kwargs, data_source=bundle.source,
        )  # fmt: skip
        try:
            published = publish_result(
                result, save_as, overwrite=overwrite_saved, command="zoo tune"
            )
        except ImportError:
            progress(
                f"[tune] zoo.pretrained is not available: not published; the best model is in {out}"
            )
            info["published"] = None
        else:
            info["published"] = str(published)
            progress(f"[tune] published as saved_models/{save_as}")
        write_state(os.path.join(out, "best.json"), info)
    return info


def search(
    model: str,
    data: Any,
    space: Sequence[Param] | Sequence[str] | Mapping[str, Any],
    *,
    directory: str,
    tuner: str = "random",
    objective: str = "val_accuracy",
    max_trials: int = 10,
    max_epochs: int = 10,
    executions_per_trial: int = 1,
    time_budget: str | float | None = None,
    config: Any = None,
    model_kwargs: Mapping[str, Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    max_attempts: int = 3,
    seed: int | None = None,
    save_as: str | None = None,
    overwrite_saved: bool = False,
    verbose: int = 0,
    progress: Callable[[str], None] = print,
) -> dict:
    """Searches hyperparameters of a registered model, in this process.

    Args:
        model: registered name.
        data: data source (see `zoo.data.load`) or a `DataBundle`.
        space: `Param`s, ``NAME=SPEC`` strings or a ``{name: spec}`` mapping.
        directory: the search folder.
        tuner: ``random``, ``grid``, ``bayesian`` or ``hyperband``.
        objective: metric to optimize, e.g. ``val_accuracy``, ``val_loss``.
        max_trials: trials at most (Hyperband included).
        max_epochs: epochs per trial (Hyperband: the largest budget).
        executions_per_trial: trainings per trial, metrics averaged.
        time_budget: stop starting new trials after it (``"30m"``, seconds).
        config: base `TrainConfig` (dict, path) the space overrides.
        model_kwargs: fixed builder arguments.
        resume: continue the search in ``directory``.
        overwrite: replace a search already in ``directory``.
        max_attempts: process deaths during one trial before it is failed.
        seed: oracle seed.
        save_as: publish the best model to ``saved_models/<save_as>``.
        overwrite_saved: allow replacing that published name.
        verbose: Keras verbosity inside trials.
        progress: receives one line per event.

    Returns:
        The results document (also in ``directory/results.json``).
    """
    budget = parse_duration(time_budget)
    request, hypermodel = prepare(
        model, data, space, tuner=tuner, objective=objective, max_trials=max_trials, max_epochs=max_epochs,
        executions_per_trial=executions_per_trial, config=config, model_kwargs=model_kwargs, seed=seed,
        verbose=verbose,
    )  # fmt: skip
    directory = open_directory(directory, request, resume=resume, overwrite=overwrite)
    return execute(
        directory, request, hypermodel, time_budget=budget, max_attempts=max_attempts, save_as=save_as,
        overwrite_saved=overwrite_saved, progress=progress,
    )  # fmt: skip


# ------------------------------------------------------------- supervision
def supervise(
    directory: str,
    *,
    request_file: str | None = None,
    time_budget: float | None = None,
    max_attempts: int = 3,
    save_as: str | None = None,
    overwrite_saved: bool = False,
    max_restarts: int | None = None,
    echo: Callable[[str], None] = print,
    env: Mapping[str, str] | None = None,
) -> int:
    """Runs the stored search in a child process, restarting it when it dies by a signal.

    Returns:
        The child's exit status (0 on success).
    """
    request_file = request_file or os.path.join(directory, report.REQUEST)
    request = read_state(request_file, required=True)
    if max_restarts is None:
        max_restarts = request["max_trials"] * max_attempts + 2
    deadline = time.time() + time_budget if time_budget else None
    restarts = 0
    while True:
        cmd = [sys.executable, "-m", "tuning.search", directory, "--request", request_file,
               "--max-attempts", str(max_attempts)]  # fmt: skip
        if deadline is not None:
            cmd += ["--deadline", repr(deadline)]
        if save_as:
            cmd += ["--save-as", save_as] + (["--overwrite-saved"] if overwrite_saved else [])
        child_env = dict(os.environ if env is None else env)
        child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        child_env["PYTHONUNBUFFERED"] = "1"
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        child_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, child_env.get("PYTHONPATH")) if p
        )
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env
        )
        try:
            for line in proc.stdout:
                line = line.rstrip("\n")
                if _noise(line):
                    continue
                echo(line)
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        if rc == 0:
            return 0
        died = rc < 0 or rc in (128 + signal.SIGKILL, 128 + signal.SIGSEGV, 128 + signal.SIGABRT)
        if not died or restarts >= max_restarts:
            return rc if rc > 0 else 1
        restarts += 1
        sig = -rc if rc < 0 else rc - 128
        echo(
            f"[tune] the search process died ({signal.Signals(sig).name}); resuming ({restarts}/{max_restarts})"
        )


_NOISE = (
    "cuda",
    "cpu_feature_guard",
    "absl::InitializeLog",
    "rebuild TensorFlow",
    "oneDNN",
    "TF_ENABLE_ONEDNN",
)


def _noise(line: str) -> bool:
    return any(n in line for n in _NOISE) or line.startswith(("I0000 ", "W0000 "))


def _die_with_parent() -> None:
    """Linux: a supervised child dies with its supervisor (no orphan keeps writing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: ``python -m tuning.search DIR [--request FILE] ...``."""
    parser = argparse.ArgumentParser(prog="python -m tuning.search")
    parser.add_argument("directory")
    parser.add_argument("--request")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--deadline", type=float)
    parser.add_argument("--save-as")
    parser.add_argument("--overwrite-saved", action="store_true")
    args = parser.parse_args(argv)
    _die_with_parent()
    try:
        request = read_state(
            args.request or os.path.join(args.directory, report.REQUEST), required=True
        )
        _, hypermodel = prepare(**{k: request[k] for k in REQUEST_KEYS})
        budget = None if args.deadline is None else max(1e-3, args.deadline - time.time())
        execute(
            args.directory, request, hypermodel, time_budget=budget, max_attempts=args.max_attempts,
            save_as=args.save_as, overwrite_saved=args.overwrite_saved,
            progress=lambda line: print(line, flush=True),
        )  # fmt: skip
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        text = str(err).strip().splitlines()
        print(f"Error: {text[0] if text else type(err).__name__}", flush=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
