"""Search state on disk: atomic JSON with a last-good backup, and the crash ledger.

keras-tuner writes ``oracle.json``, ``trial.json`` and ``<tuner_id>.json``
with a plain ``open(..., "w")``: a kill in the middle leaves a truncated file
and the next resume dies with ``JSONDecodeError``. Here every state file is
written to a temporary file in the same folder, fsynced and renamed into
place (`zoo.saving.atomic_write`), and the previous good version is kept next
to it as ``<name>.bak``. `read_state` falls back to the backup when the file
is missing or does not parse.

The ledger (``zoo_trial.json`` in each trial folder) counts how often a trial
was started and how often it ended inside the process. A start without an end
means the process died during the trial (OOM killer, SIGKILL, ``os._exit``):
keras-tuner cannot see that, since its retries only count Python exceptions.

This module imports no Keras.
"""

from __future__ import annotations

import json
import math
import os
import time
import warnings
from typing import Any

from zoo.constants import json_default
from zoo.errors import FileFormatError

__all__ = ["LEDGER", "StateError", "read_ledger", "read_state", "update_ledger", "write_state"]

LEDGER = "zoo_trial.json"
BACKUP_SUFFIX = ".bak"


class StateError(FileFormatError, RuntimeError):
    """A search state file that neither it nor its backup can be read (a `ZooError`;
    a ``RuntimeError`` as before)."""


def _clean(obj: Any) -> Any:
    """NaN/Inf are not JSON: store them as None so every reader can parse the file."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def write_state(path: str, obj: Any) -> str:
    """Writes ``obj`` as JSON atomically, keeping the previous file as ``.bak``.

    Returns:
        The JSON text written (keras-tuner's ``save_json`` returns it too).
    """
    from zoo.saving import atomic_write

    path = os.fspath(path)
    try:
        text = json.dumps(obj, default=json_default, allow_nan=False)
    except ValueError:  # NaN/Infinity: keep the file strict JSON
        text = json.dumps(_clean(json.loads(json.dumps(obj, default=json_default))))

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)

    if os.path.isfile(path) and _parses(path):
        _backup(path)
    atomic_write(path, write, suffix=".json")
    return text


def _parses(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as fh:
            json.load(fh)
        return True
    except (OSError, ValueError):
        return False


def _backup(path: str) -> None:
    """Hard-links (or copies) the current good file to ``path.bak``, atomically."""
    bak = path + BACKUP_SUFFIX
    tmp = f"{bak}.tmp{os.getpid()}"
    try:
        if os.path.exists(tmp):
            os.remove(tmp)
        try:
            os.link(path, tmp)
        except OSError:
            import shutil

            shutil.copyfile(path, tmp)
        os.replace(tmp, bak)
    except OSError:
        pass  # a missing backup only costs the fallback, never the state


def read_state(path: str, *, required: bool = False, backup: bool = True) -> Any:
    """Reads a JSON state file, falling back to its ``.bak`` copy.

    Args:
        path: the state file.
        required: raise instead of returning None when neither parses.
        backup: fall back to the ``.bak`` copy (quietly reads only ``path`` when False).

    Returns:
        The parsed object, or None when neither file is readable.

    Raises:
        StateError: with ``required=True`` when both are unreadable (names the file).
    """
    path = os.fspath(path)
    problems = []
    for candidate in (path, path + BACKUP_SUFFIX) if backup else (path,):
        try:
            with open(candidate, encoding="utf-8") as fh:
                obj = json.load(fh)
        except FileNotFoundError:
            problems.append(f"{os.path.basename(candidate)} is missing")
            continue
        except (OSError, ValueError, RecursionError) as err:
            problems.append(f"{os.path.basename(candidate)}: {_reason(err)}")
            if not backup:
                continue
            warnings.warn(f"{candidate} is unreadable ({err}); trying its backup.", stacklevel=2)
            continue
        if candidate != path:
            warnings.warn(
                f"Restored {os.path.basename(path)} from its last good copy {candidate}.",
                stacklevel=2,
            )
        return obj
    if required:
        raise StateError(
            path,
            f"the search state cannot be read ({'; '.join(problems)}). Start the search over "
            f"with --overwrite-run (or restore the file).",
        )
    return None


def _reason(err: BaseException) -> str:
    if isinstance(err, RecursionError):
        return "nested too deep"
    if isinstance(err, json.JSONDecodeError):
        return f"invalid JSON ({err.msg}: line {err.lineno} column {err.colno})"
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def read_ledger(trial_dir: str) -> dict:
    """The crash ledger of one trial folder (zeros when absent)."""
    data = read_state(os.path.join(trial_dir, LEDGER)) or {}
    return {"starts": 0, "ends": 0, "executions": [], **data}


def update_ledger(trial_dir: str, **changes: Any) -> dict:
    """Reads, updates and atomically rewrites the ledger; returns the new one."""
    ledger = read_ledger(trial_dir)
    ledger.update(changes)
    ledger["updated"] = time.time()
    write_state(os.path.join(trial_dir, LEDGER), ledger)
    return ledger
