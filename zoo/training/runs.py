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
recorded in run.json by `new_record` and checked by `check_same_run`. The
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
import hashlib
import io
import json
import math
import os
import time
import warnings
from typing import Any

import numpy as np

from zoo.constants import json_default
from zoo.saving import write_text_atomic
from zoo.training.callbacks import DOCTOR_REPORT, HISTORY_CSV
from zoo.training.config import TrainConfig
from zoo.training.results import jsonable_kwargs

RUN_JSON = "run.json"
STATE_JSON = "state.json"
BEST_MODEL = "best.keras"
BEST_JSON = "best.json"
FINAL_MODEL = "model.keras"
METRICS_JSON = "metrics.json"
CHECKPOINTS = "checkpoints"
SESSIONS_JSON = "sessions.json"


class ResumeError(ValueError):
    """A resume that cannot continue the run as it was (unless forced)."""


def write_json(path: str, obj: Any) -> None:
    """Writes JSON atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=True, default=json_default) + "\n")


def read_json(path: str) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def architecture_hash(model, *, legacy: bool = False) -> str:
    """sha256 of the model's architecture (its JSON config, weights excluded).

    The compile config is left out: it names the optimizer instance, and
    Keras numbers those per process (``adam``, ``adam_1``, ...), so a run
    resumed in the same Python process would look like another model.
    ``legacy=True`` hashes the whole JSON, as runs written before this did.
    """
    text = model.to_json(sort_keys=True)
    if not legacy:
        config = json.loads(text)
        config.pop("compile_config", None)
        text = json.dumps(config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def optimizer_signature(optimizer) -> list:
    """The optimizer's class and variable shapes, to refuse a changed optimizer."""
    return [type(optimizer).__name__, [list(v.shape) for v in optimizer.variables]]


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

    def record(self) -> dict:
        if not self.exists:
            raise ResumeError(f"{self.path} is not a zoo run directory (no {RUN_JSON}).")
        return read_json(self.file(RUN_JSON))

    def remove_stale_temporaries(self) -> list[str]:
        """Deletes ``.tmp-*`` files a killed process left mid-save; returns them."""
        stale = glob.glob(os.path.join(self.path, ".tmp-*"))
        stale += glob.glob(os.path.join(self.path, CHECKPOINTS, ".tmp-*"))
        for path in stale:
            os.remove(path)
        return stale

    def state(self) -> dict | None:
        """The last committed state, or None before the first epoch completed."""
        path = self.file(STATE_JSON)
        if not os.path.isfile(path):
            return None
        return read_json(path)

    def finished(self) -> dict | None:
        """The final metrics.json of a run that ended (completed or early-stopped), else None."""
        if os.path.isfile(self.file(FINAL_MODEL)) and os.path.isfile(self.file(METRICS_JSON)):
            return read_json(self.file(METRICS_JSON))
        return None

    def sessions(self) -> list[dict]:
        """The sessions that trained this run, oldest first (empty for runs made before they were kept)."""
        path = self.file(SESSIONS_JSON)
        return list(read_json(path)) if os.path.isfile(path) else []

    def add_session(self, entry: dict) -> None:
        """Records that a session starts training here (``entry`` needs ``first_epoch``)."""
        write_json(self.file(SESSIONS_JSON), [*self.sessions(), entry])

    def best(self) -> dict | None:
        path = self.file(BEST_JSON)
        return read_json(path) if os.path.isfile(path) else None

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


# ------------------------------------------------------------ run identity
def run_identity(built, config: TrainConfig, bundle, data_arg: str | None) -> dict:
    """What a run is: model, builder kwargs, config, data, preprocessing, architecture, optimizer.

    Args:
        built: the run's `zoo.training.model_setup.BuiltModel`.
        config: the run's `TrainConfig`.
        bundle: the `zoo.data.DataBundle` trained on.
        data_arg: how to find the data again (`fit_data.data_argument`).

    Returns:
        The JSON-ready identity stored in run.json and compared on resume.
    """
    data = {
        "argument": data_arg,
        "source": bundle.source,
        "fingerprint": bundle.fingerprint,
        "class_names": list(bundle.class_names),
        "input_shape": list(bundle.input_shape),
    }
    return {
        "model": built.name,
        "model_kwargs": jsonable_kwargs(built.model_kwargs or {}),
        "config": config.to_dict(),
        "data": data,
        "preprocessing": built.prep.to_dict(),
        "architecture_sha256": architecture_hash(built.net),
        "optimizer": optimizer_signature(built.trainer.optimizer),
    }


def new_record(identity: dict, versions: dict, command: str | None) -> dict:
    """run.json of a new run: its identity, the versions, the command line, the time."""
    created = time.strftime("%Y-%m-%dT%H:%M:%S")
    return {**identity, "versions": versions, "command": command, "created": created}


def config_from_record(record: dict) -> TrainConfig:
    """The `TrainConfig` a run.json records (old key names read silently: the file is not the user's to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return TrainConfig.from_dict(record["config"])


def check_same_run(
    record: dict, identity: dict, force: bool, *, legacy_hash: str | None = None
) -> None:
    """Refuses to resume a run whose model, architecture, optimizer, config or data changed.

    Args:
        record: the run's run.json.
        identity: `run_identity` of what would be trained now.
        force: continue anyway.
        legacy_hash: `architecture_hash(model, legacy=True)`, accepted for runs
            written when the hash still covered the compile config.

    Raises:
        ResumeError: something changed and ``force`` is False.
    """
    changes = []
    for key, label in (
        ("model", "model"),
        ("architecture_sha256", "model architecture"),
        ("optimizer", "optimizer"),
        ("config", "training config"),
    ):
        recorded = record.get(key)
        if key == "config" and recorded is not None:  # fields added since then take their defaults
            recorded = config_from_record(record).to_dict()
        if key == "architecture_sha256" and legacy_hash is not None and recorded == legacy_hash:
            continue
        if _norm(recorded) != _norm(identity.get(key)):
            changes.append(label)
    if record["data"]["fingerprint"] != identity["data"]["fingerprint"]:
        changes.append("data")
    if changes and not force:
        raise ResumeError(
            f"Cannot resume: the {', '.join(changes)} changed since the run started; pass "
            f"force=True (--force) to continue anyway."
        )


def _norm(value):
    return json.loads(json.dumps(value, sort_keys=True, default=list))


def __getattr__(name: str) -> Any:
    # RunCheckpoint lives in run_checkpoint (it imports this module); still importable from here.
    if name == "RunCheckpoint":
        from zoo.training.run_checkpoint import RunCheckpoint

        return RunCheckpoint
    raise AttributeError(f"module 'zoo.training.runs' has no attribute {name!r}")
