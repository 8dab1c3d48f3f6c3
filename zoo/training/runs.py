"""Run directories: checkpoints that survive a kill, one continuous history.

A run directory holds::

    run.json          what was trained: model, kwargs, config, data, preprocessing
    state.json        the last complete training state (the commit point)
    checkpoints/      epoch-NNNN.weights.h5 + epoch-NNNN.optimizer.npz
    history.csv       one row per completed epoch, never duplicated
    best.keras        the best model by ``monitor`` (+ best.json)
    model.keras       the final model, written when training ends
    metrics.json      test-split metrics, doctor.txt the doctor's report
    sessions.json     one entry per start or resume: when, where (machine,
                      backend) and from which epoch, so a run that crossed
                      machines says which trained what

Every file is written to a temporary file in the same folder and renamed into
place, so a kill at any moment leaves the previous good file. ``state.json``
is written last and names the checkpoint it belongs to: a checkpoint that was
being written when the process died is simply never referenced.

A run's identity (what must not change for a resume to continue it) is
recorded in run.json by `new_record` and checked by `check_same_run`
(`zoo.training.run_identity`, importable from here). A resume never restarts
over a run whose state.json is missing or unreadable while committed epochs
are left (`RunDirectory.state`), and a new run that fails before its first
epoch removes what it wrote (`RunDirectory.discard_failed_start`). The
per-epoch commit is `zoo.training.run_checkpoint.RunCheckpoint` (also
importable from here).

Keras' own ``BackupAndRestore`` and ``ModelCheckpoint`` are not used: the
first loses the history and the callbacks' state on resume, the second
forgets its best value (keras#17012), so a worse epoch could replace the best
model after a restart.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import math
import os
from typing import Any

import numpy as np

from zoo.constants import json_default
from zoo.errors import FileFormatError
from zoo.jsonio import read_json as _read_trusted_json
from zoo.saving import write_text_atomic
from zoo.training.callbacks import DOCTOR_REPORT, HISTORY_CSV
from zoo.training.run_identity import (  # noqa: F401 - the run's identity, importable from here
    ResumeError,
    architecture_hash,
    check_same_run,
    config_from_record,
    new_record,
    optimizer_signature,
    run_identity,
)

RUN_JSON = "run.json"
STATE_JSON = "state.json"
BEST_MODEL = "best.keras"
BEST_JSON = "best.json"
FINAL_MODEL = "model.keras"
METRICS_JSON = "metrics.json"
CHECKPOINTS = "checkpoints"
SESSIONS_JSON = "sessions.json"


#: The keys run.json must hold for a run to be resumed or loaded.
RECORD_KEYS = ("model", "config", "data")
#: The keys state.json must hold for training to continue from it.
STATE_KEYS = ("epoch", "history")


def write_json(path: str, obj: Any) -> None:
    """Writes JSON atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=json_default) + "\n")


def read_json(path: str, kind: type | None = None) -> Any:
    """Reads one of the run's JSON files; errors name the file (`zoo.jsonio.read_json`)."""
    return _read_trusted_json(path, kind)


def _require_keys(path: str, obj: dict, keys: tuple[str, ...]) -> dict:
    missing = [k for k in keys if k not in obj]
    if missing:
        raise FileFormatError(
            path, f"lacks {', '.join(map(repr, missing))}; it is not a zoo run file."
        )
    return obj


def write_history_csv(path: str, history: dict) -> None:
    """Rewrites the whole history as CSV (atomic), one row per epoch."""
    keys = sorted(k for k in history if k != "epoch")
    epochs = len(history.get("epoch", []))
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["epoch", *keys])
    for i in range(epochs):
        writer.writerow(
            [
                history["epoch"][i],
                *(_fmt(history[k][i]) if i < len(history[k]) else "" for k in keys),
            ]
        )

    write_text_atomic(path, buf.getvalue())


def _history_rows(path: str) -> int:
    """The number of epochs history.csv records (0 when absent or unreadable)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return max(0, sum(1 for line in fh if line.strip()) - 1)
    except OSError:
        return 0


def _fmt(v):
    return "" if v is None else repr(float(v))


class RunDirectory:
    """Paths and state of one training run."""

    def __init__(self, path: str | os.PathLike):
        self.path = os.path.abspath(os.fspath(path))

    def file(self, name: str) -> str:
        return os.path.join(self.path, name)

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.file(RUN_JSON))

    def create(self, record: dict) -> None:
        """Starts a run here; files of an earlier run in the folder are removed first."""
        for name in (STATE_JSON, BEST_MODEL, BEST_JSON, FINAL_MODEL, METRICS_JSON, HISTORY_CSV, DOCTOR_REPORT,
                     SESSIONS_JSON):  # fmt: skip
            if os.path.isfile(self.file(name)):
                os.remove(self.file(name))
        self.prune_checkpoints(keep_epoch=-1)
        os.makedirs(self.file(CHECKPOINTS), exist_ok=True)
        write_json(self.file(RUN_JSON), record)

    def discard_failed_start(self) -> bool:
        """Removes what a new run wrote if it failed before committing an epoch.

        A run that failed at start (a model that does not fit the data, ...)
        would otherwise leave run.json, so the same folder is refused as
        holding a run. Nothing is removed once an epoch was committed.

        Returns:
            Whether the run's files were removed.
        """
        if os.path.isfile(self.file(STATE_JSON)) or self.committed_leftovers():
            return False
        for name in (RUN_JSON, SESSIONS_JSON, HISTORY_CSV, BEST_MODEL, BEST_JSON, DOCTOR_REPORT):
            if os.path.isfile(self.file(name)):
                os.remove(self.file(name))
        self.prune_checkpoints(keep_epoch=-1)
        try:
            os.rmdir(self.file(CHECKPOINTS))
        except OSError:
            pass
        return True

    def record(self) -> dict:
        if not self.exists:
            raise ResumeError(f"{self.path} is not a zoo run directory (no {RUN_JSON}).")
        path = self.file(RUN_JSON)
        record = _require_keys(path, read_json(path, dict), RECORD_KEYS)
        if not isinstance(record["config"], dict) or not isinstance(record["data"], dict):
            raise FileFormatError(path, "'config' and 'data' must be JSON objects.")
        if record.get("preprocessing") is not None:  # read, not trusted: a huge pad_to refused
            from zoo.training.preprocess import Preprocessing

            try:
                Preprocessing.from_dict(record["preprocessing"])
            except (ValueError, TypeError) as err:
                raise FileFormatError(path, f"its preprocessing is invalid: {err}") from None
        return record

    def remove_stale_temporaries(self) -> list[str]:
        """Deletes ``.tmp-*`` files a killed process left mid-save; returns them."""
        stale = glob.glob(os.path.join(self.path, ".tmp-*"))
        stale += glob.glob(os.path.join(self.path, CHECKPOINTS, ".tmp-*"))
        for path in stale:
            os.remove(path)
        return stale

    def state(self) -> dict | None:
        """The last committed state, or None before the first epoch completed.

        Raises:
            ResumeError: state.json is missing or unreadable while files of
                committed epochs are still there (never restarted over them).
        """
        path = self.file(STATE_JSON)
        if not os.path.isfile(path):
            left = self.committed_leftovers()
            if left:
                raise ResumeError(self._lost_state(f"{STATE_JSON} is missing", left))
            return None
        try:
            state = _require_keys(path, read_json(path, dict), STATE_KEYS)
            if not isinstance(state["history"], dict):
                raise FileFormatError(path, "'history' must be a JSON object.")
            int(state["epoch"])
        except (FileFormatError, TypeError, ValueError) as err:
            left = self.committed_leftovers() or ["nothing else"]
            raise ResumeError(
                self._lost_state(f"{STATE_JSON} is unreadable ({err})", left)
            ) from None
        return state

    def committed_leftovers(self) -> list[str]:
        """Files showing that at least one epoch was committed (so state.json existed).

        Files of epoch 1 alone do not count: a kill while epoch 1 was being
        committed leaves them before state.json is first written.
        """
        left = [n for n in (FINAL_MODEL, METRICS_JSON) if os.path.isfile(self.file(n))]
        epochs = _history_rows(self.file(HISTORY_CSV))
        if epochs >= 2:
            left.append(f"{HISTORY_CSV} ({epochs} epochs)")
        later = sorted(glob.glob(os.path.join(self.path, CHECKPOINTS, "epoch-*.weights.h5")))
        later = [p for p in later if not p.endswith("epoch-0001.weights.h5")]
        if later:
            left.append(f"{CHECKPOINTS}/{os.path.basename(later[-1])}")
        if os.path.isfile(self.file(BEST_MODEL)) and (epochs >= 2 or left):
            left.append(BEST_MODEL)
        return left

    def _lost_state(self, what: str, left: list[str]) -> str:
        return (
            f"Cannot resume {self.path}: {what}, but the run holds {', '.join(left)}; it is "
            f"not restarted over them. Keep what is there (its {BEST_MODEL} loads with "
            f"`zoo evaluate`), or start over in this folder with --overwrite-run "
            f"(overwrite=True), which deletes them."
        )

    def finished(self) -> dict | None:
        """The final metrics.json of a run that ended (completed or early-stopped), else None."""
        if os.path.isfile(self.file(FINAL_MODEL)) and os.path.isfile(self.file(METRICS_JSON)):
            return read_json(self.file(METRICS_JSON), dict)
        return None

    def sessions(self) -> list[dict]:
        """The sessions that trained this run, oldest first (empty for runs made before they were kept)."""
        path = self.file(SESSIONS_JSON)
        return list(read_json(path, list)) if os.path.isfile(path) else []

    def add_session(self, entry: dict) -> None:
        """Records that a session starts training here (``entry`` needs ``first_epoch``)."""
        write_json(self.file(SESSIONS_JSON), [*self.sessions(), entry])

    def best(self) -> dict | None:
        path = self.file(BEST_JSON)
        return read_json(path, dict) if os.path.isfile(path) else None

    def checkpoint_paths(self, epoch: int) -> tuple[str, str]:
        stem = os.path.join(self.path, CHECKPOINTS, f"epoch-{epoch:04d}")
        return stem + ".weights.h5", stem + ".optimizer.npz"

    def prune_checkpoints(self, keep_epoch: int) -> None:
        keep = set(self.checkpoint_paths(keep_epoch))
        for path in glob.glob(os.path.join(self.path, CHECKPOINTS, "*")):
            if path not in keep:
                try:
                    os.remove(path)
                except OSError:
                    pass

    def restore(self, model, optimizer, state: dict) -> None:
        """Loads the checkpoint ``state`` names into ``model`` and ``optimizer``."""
        weights, opt = self.checkpoint_paths(int(state["epoch"]))
        model.load_weights(weights)
        with np.load(opt) as npz:
            values = [npz[f"v{i}"] for i in range(len(npz.files))]
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        variables = optimizer.variables
        if len(values) != len(variables) or any(
            tuple(v.shape) != tuple(a.shape) for v, a in zip(variables, values, strict=False)
        ):
            raise ResumeError(
                f"The checkpoint's optimizer state ({len(values)} variables) does not fit "
                f"the optimizer now configured ({len(variables)} variables)."
            )
        for var, value in zip(variables, values, strict=False):
            var.assign(value)


def session_summary(sessions: list[dict], history: dict) -> list[dict]:
    """Per session: its machine and backend, the epochs it trained and their seconds.

    ``sessions`` as `RunDirectory.sessions` keeps them; epoch ``e`` belongs
    to the last session whose ``first_epoch`` is at most ``e``. Sessions that
    trained no epoch (a resume killed before its first epoch ended, or one
    that found the run finished) are left out.
    """
    epochs = [int(e) for e in history.get("epoch", [])]
    times = list(history.get("epoch_time", [math.nan] * len(epochs)))
    out = []
    for i, session in enumerate(sessions):
        first = int(session["first_epoch"])
        stop = int(sessions[i + 1]["first_epoch"]) if i + 1 < len(sessions) else math.inf
        mine = [(e, t) for e, t in zip(epochs, times, strict=False) if first <= e < stop]
        if not mine:
            continue
        seconds = sum(t for _, t in mine if t is not None and math.isfinite(t))
        out.append({
            "started": session.get("started"),
            "machine": session.get("machine"),
            "backend": session.get("backend"),
            "epochs": [mine[0][0], mine[-1][0]],
            "seconds": round(seconds, 1),
        })  # fmt: skip
    return out


def __getattr__(name: str) -> Any:
    # RunCheckpoint lives in run_checkpoint (it imports this module); still importable from here.
    if name == "RunCheckpoint":
        from zoo.training.run_checkpoint import RunCheckpoint

        return RunCheckpoint
    raise AttributeError(f"module 'zoo.training.runs' has no attribute {name!r}")
