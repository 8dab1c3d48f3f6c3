"""Supervision: the search runs in a child process that is restarted when it dies.

``zoo tune`` runs the search in a child (``python -m tuning.search``) under
`supervise`: when the child dies by a signal (OOM killer, SIGKILL, a trial
calling ``os._exit``) it is restarted with a resume; the crash ledger makes the
offending trial fail after ``max_attempts`` deaths, so the search always ends.

This module imports no Keras.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence

from tuning import report
from tuning.state import read_state

__all__ = ["CHILD", "EXIT_MORE", "die_with_parent", "supervise"]

#: The child's command before its arguments: the search's own entry point.
CHILD = (sys.executable, "-m", "tuning.search")
_NOISE = (
    "cuda",
    "cpu_feature_guard",
    "absl::InitializeLog",
    "rebuild TensorFlow",
    "oneDNN",
    "TF_ENABLE_ONEDNN",
)
#: A ``--trial-subprocess`` child's exit status: it ran its trial and more remain.
EXIT_MORE = 75
_DEATHS = (128 + signal.SIGKILL, 128 + signal.SIGSEGV, 128 + signal.SIGABRT)


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
    child: Sequence[str] | None = None,
    trial_subprocess: bool = False,
) -> int:
    """Runs the stored search in a child process, restarting it when it dies by a signal.

    Args:
        directory: the search folder (its request is already stored).
        request_file: the request to run; ``directory/search.json`` when None.
        time_budget: seconds after which no new trial starts (over all restarts).
        max_attempts: process deaths during one trial before it is failed.
        save_as: publish the best model to ``saved_models/<save_as>``.
        overwrite_saved: allow replacing that published name.
        max_restarts: restarts at most; ``max_trials * max_attempts + 2`` when None.
        echo: receives each line the child prints (its library noise left out).
        env: the child's environment; this process's when None.
        child: the command that runs the child, before its arguments; `CHILD`
            when None. Any command that ends in `tuning.search.main` will do (a
            wrapper may prepare the process first, as tests/tuning_faults.py does).
        trial_subprocess: run each trial in a new child process, so nothing a
            trial leaves in memory reaches the next.

    Returns:
        The child's exit status (0 on success).
    """
    request_file = request_file or os.path.join(directory, report.REQUEST)
    request = read_state(request_file, required=True)
    if max_restarts is None:
        max_restarts = request["max_trials"] * max_attempts + 2
    deadline = time.time() + time_budget if time_budget else None
    cmd = [
        *(CHILD if child is None else child),
        directory,
        "--request",
        request_file,
        "--max-attempts",
        str(max_attempts),
    ]
    if deadline is not None:
        cmd += ["--deadline", repr(deadline)]
    if save_as:
        cmd += ["--save-as", save_as] + (["--overwrite-saved"] if overwrite_saved else [])
    if trial_subprocess:
        cmd.append("--trial-subprocess")
    restarts = 0
    while True:
        rc = _run_child(cmd, _child_env(env), echo)
        if rc == 0:
            return 0
        if rc == EXIT_MORE and trial_subprocess:
            continue
        died = rc < 0 or rc in _DEATHS
        if not died or restarts >= max_restarts:
            return rc if rc > 0 else 1
        restarts += 1
        sig = -rc if rc < 0 else rc - 128
        echo(
            f"[tune] the search process died ({signal.Signals(sig).name}); resuming ({restarts}/{max_restarts})"
        )


def _child_env(env: Mapping[str, str] | None) -> dict[str, str]:
    """The child's environment: unbuffered, quiet TensorFlow, this project importable."""
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    child_env["PYTHONUNBUFFERED"] = "1"
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    child_env["PYTHONPATH"] = os.pathsep.join(p for p in (here, child_env.get("PYTHONPATH")) if p)
    return child_env


def _run_child(cmd: Sequence[str], env: dict[str, str], echo: Callable[[str], None]) -> int:
    """Runs the child once, echoing its lines; returns its exit status."""
    proc = subprocess.Popen(
        list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    try:
        for line in proc.stdout:
            line = line.rstrip("\n")
            if not _noise(line):
                echo(line)
        return proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _noise(line: str) -> bool:
    return any(n in line for n in _NOISE) or line.startswith(("I0000 ", "W0000 "))


def die_with_parent() -> None:
    """Linux: a supervised child dies with its supervisor (no orphan keeps writing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover
        pass
