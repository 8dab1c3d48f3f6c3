"""The CLI's first line of output, and TensorFlow's start-up noise kept off it.

Every ``zoo`` command that does real work calls `announce` before its first
heavy import: one line on stderr (``zoo train: lenet5 on mnist-sample, loading
TensorFlow...``) within a second of the command, instead of 5-35 s of silence
while the backend loads. stdout stays clean for the commands whose output is
machine-read; ``--quiet`` / ``--json`` drop the line (and so does a stderr
captured in-process, e.g. by click's CliRunner: see `announce`).

`quiet_backend_logs` (called by the ``zoo`` group before any command) sets
``TF_CPP_MIN_LOG_LEVEL=2`` when the user has not set it: TensorFlow's C++ INFO
and WARNING lines go, its ERROR and FATAL lines stay. "2", not "3": "3" would
also hide TensorFlow's real C++ errors (and does not even silence the lines
written before ``absl::InitializeLog``). Those early lines (oneDNN, the
cpu_feature_guard, "Could not find cuda drivers") and, on a machine with no
NVIDIA device, the expected ``failed call to cuInit`` error are written while
the backend loads, so `announce` loads it with stderr captured and replays
every line that is not one of those (`is_noise`). A user's own
``TF_CPP_MIN_LOG_LEVEL`` (``0`` to see everything) turns all of this off.

`interrupted` is what Ctrl-C ends a command with (`cli.aliases.ZooCommand`): exit code
130 and, for ``train``, ``finetune`` and ``tune`` with a folder to continue, the exact
command that resumes it (`resume_command`: the flags given, ``--resume FOLDER``).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile

import click

__all__ = [
    "announce",
    "backend_label",
    "interrupted",
    "is_noise",
    "quiet_backend_logs",
    "resume_command",
]

#: The level the zoo sets when the user set none: C++ INFO and WARNING hidden, ERROR kept.
ZOO_LOG_LEVEL = "2"
_ZOO_SET = "_ZOO_SET_TF_CPP_MIN_LOG_LEVEL"
_LABELS = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch", "numpy": "NumPy"}
#: absl/glog-format lines: severity letter, MMDD, time, thread, file:line]
_GLOG = re.compile(r"^([IWEF])\d{4} \d+:\d+:\d+\.\d+\s+\d+ [^\]]+\] ")
_NOISE = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "To enable the following instructions:",  # the cpu_feature_guard line's continuation
)


def quiet_backend_logs(environ=os.environ) -> None:
    """Sets ``TF_CPP_MIN_LOG_LEVEL`` to `ZOO_LOG_LEVEL` unless the user set it (before TF loads)."""
    if "TF_CPP_MIN_LOG_LEVEL" not in environ:
        environ["TF_CPP_MIN_LOG_LEVEL"] = ZOO_LOG_LEVEL
        environ[_ZOO_SET] = "1"


def _filtering(environ=os.environ) -> bool:
    return environ.get(_ZOO_SET) == "1" and environ.get("TF_CPP_MIN_LOG_LEVEL") == ZOO_LOG_LEVEL


def has_nvidia_device() -> bool:
    """Whether this machine shows an NVIDIA driver or device (a cuInit failure is then real)."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidia0")


def is_noise(line: str, gpu: bool = False) -> bool:
    """Whether ``line`` is TensorFlow start-up noise (never an error, except cuInit without GPU)."""
    if line.startswith(_NOISE):
        return True
    match = _GLOG.match(line)
    if not match:
        return False
    if match.group(1) in "IW":
        return True
    return match.group(1) == "E" and "failed call to cuInit" in line and not gpu


def backend_label(environ=os.environ) -> str:
    """The Keras backend's display name, read without importing Keras."""
    name = environ.get("KERAS_BACKEND")
    if not name:
        home = environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
        try:
            with open(os.path.join(home, "keras.json"), encoding="utf-8") as fh:
                name = json.load(fh).get("backend")
        except (OSError, ValueError, AttributeError):
            name = None
    name = str(name or "tensorflow")
    return _LABELS.get(name.lower(), name)


@contextlib.contextmanager
def _filtered_stderr():
    """Captures fd 2 into a temporary file; replays its non-noise lines on exit."""
    sys.stderr.flush()
    saved = os.dup(2)
    capture = tempfile.TemporaryFile(mode="w+b")  # noqa: SIM115 (closed in finally)
    os.dup2(capture.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        capture.seek(0)
        text = capture.read().decode("utf-8", "replace")
        capture.close()
        gpu = has_nvidia_device()
        kept = [line for line in text.splitlines(keepends=True) if not is_noise(line, gpu)]
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


def load_backend() -> None:
    """Imports Keras and initializes TensorFlow's devices, its start-up noise filtered out."""
    if "keras" in sys.modules:
        return
    with _filtered_stderr() if _filtering() else contextlib.nullcontext():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices()  # cuInit happens here, inside the filter


def _is_process_stream(stream) -> bool:
    """Whether ``stream`` is a real file (a terminal, pipe or log), not an in-process buffer."""
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return False
    return True


def announce(what: str, *, quiet: bool = False, backend: bool = True) -> None:
    """The command's first line on stderr, then (``backend``) the backend loaded quietly.

    Args:
        what: what the command is about to do, e.g. ``"lenet5 on mnist-sample"``.
        quiet: print nothing (``--quiet``, ``--json``); the backend still loads quietly.
            Nothing is printed either when stderr is captured in-process (click's
            CliRunner, a notebook's stream): the line is for a person waiting on a process,
            and a caller reading the command's output in-process gets only that output.
        backend: the command needs Keras: say so and load it now.
    """
    if not quiet and _is_process_stream(sys.stderr):
        ctx = click.get_current_context(silent=True)
        name = ctx.command_path if ctx else "zoo"
        tail = f", loading {backend_label()}\u2026" if backend else "\u2026"
        click.echo(f"{name}: {what}{tail}", err=True)
    if backend:
        load_backend()


#: Commands whose folder a Ctrl-C leaves resumable: the parameter naming the folder.
RESUMABLE = {"train": "run_dir", "finetune": "run_dir", "tune": "directory"}
#: Parameters a resume command replaces with ``--resume FOLDER``.
_NOT_REPEATED = {"resume", "run_dir", "directory", "overwrite_run"}


def interrupted(ctx: click.Context) -> click.ClickException:
    """Ctrl-C: exit code 130 and, where the command keeps a resumable folder, the exact
    command that continues it (the flags given, with ``--resume FOLDER``)."""
    name = ctx.command.name
    folder = _folder(ctx)
    if folder and _holds_state(name, folder):
        message = (
            f"interrupted; {folder} keeps every completed step. Continue with: "
            f"{resume_command(ctx, folder)}"
        )
    elif name in RESUMABLE and not folder:
        message = f"interrupted; nothing was kept (give --run-dir to make a {name} resumable)."
    elif name in RESUMABLE:
        message = "interrupted before anything was written."
    else:
        message = "interrupted."
    error = click.ClickException(message)
    error.exit_code = 130
    return error


def _folder(ctx: click.Context) -> str | None:
    from cli.params import RESUME_IN_RUN_DIR

    if ctx.command.name not in RESUMABLE:
        return None
    resume = ctx.params.get("resume")
    folder = resume if resume and resume != RESUME_IN_RUN_DIR else None
    folder = folder or ctx.params.get(RESUMABLE[ctx.command.name])
    if not folder and ctx.command.name == "tune":
        folder = f"tune-{ctx.params.get('name')}"  # the default search folder
    return folder


def _holds_state(command: str, folder: str) -> bool:
    """Whether ``folder`` holds something a ``--resume`` continues."""
    import glob

    if command == "tune":
        return os.path.isfile(os.path.join(folder, "search.json"))
    if command == "finetune":
        return bool(glob.glob(os.path.join(glob.escape(folder), "*", "run.json")))
    return os.path.isfile(os.path.join(folder, "run.json"))


def resume_command(ctx: click.Context, folder: str) -> str:
    """The command line that resumes ``folder``: this command's given parameters,
    ``--resume FOLDER`` in place of the folder options (shell-quoted)."""
    import shlex

    from click.core import ParameterSource

    words = ["zoo", ctx.command.name]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        given = ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
        if param.name in _NOT_REPEATED or not given or value is None:
            continue
        if isinstance(param, click.Argument):
            words += [str(v) for v in (value if isinstance(value, tuple) else (value,))]
        elif getattr(param, "count", False):
            words += [param.opts[0]] * int(value)
        elif getattr(param, "is_flag", False) and getattr(param, "is_bool_flag", False):
            flags = param.opts if value else param.secondary_opts
            words += flags[:1]
        elif param.multiple:
            for item in value:
                words += [param.opts[0], str(item)]
        else:
            words += [param.opts[0], str(value)]
    return " ".join(shlex.quote(w) for w in [*words, "--resume", folder])
