"""A search request: checked before anything runs, stored in the search folder.

`prepare` validates the arguments of a search (tuner, counts, space, epochs,
objective) and returns the request document plus the `ZooHyperModel`;
`open_directory` creates, checks or cleans the search folder and stores the
request as ``search.json``, which a resume must match.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Mapping, Sequence
from typing import Any

from tuning import report
from tuning.params import Param
from tuning.space import parse_space, space_from_dict, space_to_dict
from tuning.state import read_state, write_state
from zoo.constants import TUNERS, json_ready

__all__ = ["BEST_DIR", "REQUEST_KEYS", "SearchError", "open_directory", "parse_duration", "prepare"]

REQUEST_KEYS = (
    "model", "data", "space", "tuner", "objective", "max_trials", "max_epochs",
    "executions_per_trial", "config", "model_kwargs", "seed", "hyperband_factor",
)  # fmt: skip
BEST_DIR = "best"


class SearchError(ValueError):
    """A search that cannot start (or resume) as asked."""


def parse_duration(text: str | float | None) -> float | None:
    """``"90s"``, ``"30m"``, ``"2h"``, ``"1h30m"`` or seconds -> seconds (None stays None).

    Raises:
        SearchError: for anything else, or a budget that is not positive.
    """
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        seconds = float(text)
    else:
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
    from zoo.training.fit import as_config

    counts = {"max_trials": max_trials, "max_epochs": max_epochs}
    _check_settings(tuner, {**counts, "executions_per_trial": executions_per_trial},
                    hyperband_factor)  # fmt: skip
    space = as_space(space)
    _check_epochs(space, tuner, max_epochs)
    base = as_config(config).replace(epochs=max_epochs)
    hypermodel = ZooHyperModel(
        model, data, space, base, model_kwargs=model_kwargs, objective=objective, verbose=verbose
    )
    request = _request_document(
        hypermodel, data, space, tuner=tuner, objective=objective, **counts,
        executions_per_trial=executions_per_trial, model_kwargs=model_kwargs, seed=seed,
        hyperband_factor=hyperband_factor,
    )  # fmt: skip
    return request, hypermodel


def _check_settings(tuner: str, counts: Mapping[str, Any], hyperband_factor: Any) -> None:
    """The tuner name, the positive counts and what each tuner needs."""
    if tuner not in TUNERS:
        raise SearchError(f"Unknown tuner {tuner!r}; choose one of: {', '.join(TUNERS)}.")
    for name, value in counts.items():
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


def as_space(space: Sequence[Param] | Sequence[str] | Mapping[str, Any]) -> tuple[Param, ...]:
    """`Param`s, ``NAME=SPEC`` strings or a ``{name: spec}`` mapping -> a tuple of `Param`."""
    if isinstance(space, Mapping):
        return space_from_dict(space)
    if space and all(isinstance(s, str) for s in space):
        return parse_space(space)
    return tuple(space)


def _check_epochs(space: Sequence[Param], tuner: str, max_epochs: int) -> None:
    """Hyperband owns the epochs; any other tuner's epochs stay within ``max_epochs``."""
    names = {p.name.split(".")[-1] if p.name.startswith("train.") else p.name for p in space}
    if tuner == "hyperband" and "epochs" in names:
        raise SearchError(
            "Hyperband sets each trial's epochs itself; remove 'epochs' from the space."
        )
    epochs = next((p for p in space if p.name in ("epochs", "train.epochs")), None)
    if epochs is None:
        return
    if max(int(v) for v in epochs.candidates() if isinstance(v, (int, float))) > max_epochs:
        raise SearchError(
            f"The space lets epochs exceed --max-epochs={max_epochs}: {epochs.describe()}."
        )


def _request_document(hypermodel, data, space, *, model_kwargs, **settings) -> dict:
    """The request stored as ``search.json`` (what a resume must match)."""
    from zoo.training.callbacks import monitor_mode

    objective = settings["objective"]
    request = {
        "model": hypermodel.model_name,
        "data": data if isinstance(data, str) else str(hypermodel.bundle.source),
        "space": space_to_dict(space),
        "tuner": settings["tuner"],
        "objective": objective,
        "direction": "max" if monitor_mode(objective) == "max" else "min",
    }
    for key in ("max_trials", "max_epochs", "executions_per_trial"):
        request[key] = settings[key]
    request["config"] = hypermodel.base_config.to_dict()
    request["model_kwargs"] = json_ready(dict(model_kwargs or {}))
    request["seed"] = settings["seed"]
    request["hyperband_factor"] = settings["hyperband_factor"]
    request["data_fingerprint"] = hypermodel.bundle.fingerprint
    return request


def open_directory(
    directory: str, request: dict, *, resume: bool = False, overwrite: bool = False
) -> str:
    """Creates, checks or cleans the search folder and stores the request.

    A new search refuses a folder that already holds one (unless
    ``overwrite``); a resume refuses a request that differs from the stored
    one (naming the differences).

    Returns:
        The absolute folder path.

    Raises:
        SearchError: nothing to resume, a changed request, or a folder in use.
    """
    directory = os.path.abspath(os.fspath(directory))
    path = os.path.join(directory, report.REQUEST)
    exists = os.path.isfile(path) or os.path.isfile(path + ".bak")
    if resume:
        _check_resume(directory, path, exists, request)
        return directory
    if exists or os.path.isdir(os.path.join(directory, report.PROJECT)):
        if not overwrite:
            raise SearchError(
                f"{directory} already holds a search; pass --resume to continue it or --overwrite to "
                f"start over."
            )
        _clear(directory)
    os.makedirs(directory, exist_ok=True)
    write_state(path, request)
    return directory


def _check_resume(directory: str, path: str, exists: bool, request: dict) -> None:
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


def _clear(directory: str) -> None:
    """Removes a previous search's files (``--overwrite``)."""
    for name in (report.PROJECT, BEST_DIR):
        shutil.rmtree(os.path.join(directory, name), ignore_errors=True)
    for name in (report.REQUEST, report.REQUEST + ".bak", report.RESULTS_CSV, report.RESULTS_JSON,
                 report.RESULTS_JSON + ".bak", report.PLOT_OBJECTIVE, report.PLOT_HPARAMS):  # fmt: skip
        if os.path.exists(os.path.join(directory, name)):
            os.remove(os.path.join(directory, name))


def _norm(value):
    return json.loads(json.dumps(value, sort_keys=True, default=list))
