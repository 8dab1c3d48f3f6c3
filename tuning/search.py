"""Running a search: validate, open the folder, search, report, keep the best model.

`search` runs everything in the calling process. ``zoo tune`` instead runs
the search in a child process (``python -m tuning.search``, `main`) under
`supervise` (`tuning.supervisor`), which restarts it when it dies by a signal.
The steps live in their own modules, re-exported here: `tuning.request`
(`prepare`, `open_directory`, `parse_duration`), `execute` here, and
`tuning.best` (the best model kept and published).

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
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from tuning import report
from tuning.best import hp_text, keep_best
from tuning.params import Param
from tuning.request import (
    BEST_DIR,
    REQUEST_KEYS,
    SearchError,
    open_directory,
    parse_duration,
    prepare,
)
from tuning.state import read_state, write_state
from tuning.supervisor import EXIT_MORE, die_with_parent, supervise
from zoo.constants import TUNERS

__all__ = [
    "BEST_DIR",
    "REQUEST_KEYS",
    "TUNERS",
    "SearchError",
    "execute",
    "main",
    "open_directory",
    "parse_duration",
    "prepare",
    "search",
    "supervise",
]


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
    trials_per_process: int | None = None,
) -> dict:
    """Runs (or resumes) the search stored in ``directory``; returns the results document.

    With ``trials_per_process`` this process starts that many trials at most
    and returns ``{"paused": True}`` when more remain (`supervise` then starts
    the next process: ``--trial-subprocess``).

    In a distributed setup (see `tuning.distributed`) the chief serves the
    oracle and reports at the end; a worker runs trials and returns its own
    summary.
    """
    from tuning import distributed

    directory = os.path.abspath(directory)
    if hypermodel is None:
        _, hypermodel = prepare(**{k: request[k] for k in REQUEST_KEYS})
    who = distributed.role()
    deadline = time.time() + time_budget if time_budget else None
    tuner = _tuner_for(directory, request, hypermodel, max_attempts, deadline, progress)
    if trials_per_process is not None:  # a worker's oracle is a client of the chief's
        tuner.oracle.per_process = trials_per_process
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
    if getattr(tuner.oracle, "paused", False):
        return {"paused": True}
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
        f"with {hp_text(best['hyperparameters'])}"
    )
    doc["best_model"] = keep_best(
        directory, request, hypermodel, tuner, best, save_as, overwrite_saved, progress
    )
    write_state(os.path.join(directory, report.RESULTS_JSON), doc)
    return doc


def _tuner_for(directory, request, hypermodel, max_attempts, deadline, progress):
    """The kill-safe keras-tuner tuner of a stored request."""
    from tuning.tuners import make_tuner

    return make_tuner(
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
    hyperband_factor: int = 3,
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
        hyperband_factor: Hyperband's reduction factor (``tuner="hyperband"``).
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
        hyperband_factor=hyperband_factor, verbose=verbose,
    )  # fmt: skip
    directory = open_directory(directory, request, resume=resume, overwrite=overwrite)
    return execute(
        directory, request, hypermodel, time_budget=budget, max_attempts=max_attempts, save_as=save_as,
        overwrite_saved=overwrite_saved, progress=progress,
    )  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry point: ``python -m tuning.search DIR [--request FILE] ...``."""
    parser = argparse.ArgumentParser(prog="python -m tuning.search")
    parser.add_argument("directory")
    parser.add_argument("--request")
    parser.add_argument("--max-attempts", type=int, default=3)
    parser.add_argument("--deadline", type=float)
    parser.add_argument("--save-as")
    parser.add_argument("--overwrite-saved", action="store_true")
    parser.add_argument("--trial-subprocess", action="store_true")
    args = parser.parse_args(argv)
    die_with_parent()
    try:
        request = read_state(
            args.request or os.path.join(args.directory, report.REQUEST), required=True
        )
        _, hypermodel = prepare(**{k: request[k] for k in REQUEST_KEYS})
        budget = None if args.deadline is None else max(1e-3, args.deadline - time.time())
        doc = execute(
            args.directory, request, hypermodel, time_budget=budget, max_attempts=args.max_attempts,
            save_as=args.save_as, overwrite_saved=args.overwrite_saved,
            progress=lambda line: print(line, flush=True),
            trials_per_process=1 if args.trial_subprocess else None,
        )  # fmt: skip
    except (ValueError, FileNotFoundError, RuntimeError) as err:
        text = str(err).strip().splitlines()
        print(f"Error: {text[0] if text else type(err).__name__}", flush=True)
        return 2
    return EXIT_MORE if doc.get("paused") else 0


if __name__ == "__main__":
    sys.exit(main())
