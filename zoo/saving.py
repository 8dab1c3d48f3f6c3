"""Saving and loading models safely: atomic writes, ``.keras`` only, safe mode on.

Model files are programs: only the ``.keras`` format is loaded, always with
``safe_mode=True``. Saves go to a temporary file in the same folder and are
renamed into place, so a crash mid-save never destroys the previous file.

Layering: this is the bottom of the zoo's persistence stack. It imports only the
standard library at import time, and Keras plus `zoo.layers` (the zoo's own
serializable layers) when a model is loaded; never `zoo.models`, `zoo.training`
or `zoo.pretrained`, which all import it. Objects registered elsewhere (the
training losses) are registered by importing their module before loading, or
given as ``custom_objects``.

A model built by ``zoo.build_model`` records what it was built from
(``model.zoo_model``, ``model.zoo_options``); `save_model` adds them to the
``.keras`` zip as an extra member, ``zoo_options.json``, which Keras' own
loader ignores, and `load_model` sets them again on the loaded model.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import zipfile

from zoo.errors import ModelFileError, ZooError

REFUSED = {
    ".h5": "legacy HDF5",
    ".hdf5": "legacy HDF5",
    ".pkl": "pickle",
    ".pickle": "pickle",
    ".pt": "pickle (PyTorch)",
    ".pb": "SavedModel",
}
HOW_TO_CONVERT = (
    "Convert it once, in an environment you trust, with "
    "`keras.models.load_model(old_path).save('model.keras')`."
)


class UnsafeModelError(ZooError):
    """A model file in a format this toolkit refuses to load (a `zoo.errors.ZooError`)."""


def _register_custom_objects() -> None:
    # Importing it registers the zoo's serializable layers (LRN, Maxout, ...).
    import zoo.layers  # noqa: F401


def check_model_path(path, max_member_bytes=None) -> str:
    """Returns ``path`` if it names an existing ``.keras`` file, else raises.

    Also refuses, before anything is inflated, an archive whose members would
    inflate past the caps of `check_zip_members` (``config.json`` at most
    `MAX_JSON_MEMBER_BYTES`; any member at most ``max_member_bytes``, default
    `MAX_MEMBER_BYTES` or ``$ZOO_MAX_MEMBER_BYTES``).
    """
    path = os.fspath(path)
    lower = path.lower().rstrip("/\\")
    if os.path.isdir(path):
        raise UnsafeModelError(
            f"{path!r} is a folder (a SavedModel?); only '.keras' files are loaded. "
            + HOW_TO_CONVERT
        )
    for ext, kind in REFUSED.items():
        if lower.endswith(ext):
            raise UnsafeModelError(
                f"{path!r} is a {kind} file, which can run code when loaded; only "
                f"'.keras' files are loaded (with safe_mode=True). " + HOW_TO_CONVERT
            )
    if not lower.endswith(".keras"):
        raise UnsafeModelError(f"{path!r} is not a '.keras' file; only '.keras' models are loaded.")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No model file at {path!r}.")
    if not zipfile.is_zipfile(path):
        raise UnsafeModelError(
            f"{path!r} is not a '.keras' archive (a '.keras' file is a zip archive); "
            "it may be another format renamed. " + HOW_TO_CONVERT
        )
    check_zip_members(path, max_member_bytes, json_cap=MAX_JSON_MEMBER_BYTES)
    return path


#: Env variable overriding `MAX_MEMBER_BYTES` (a number of bytes).
ENV_MAX_MEMBER = "ZOO_MAX_MEMBER_BYTES"
#: The most any member of an archive the zoo reads (``.keras``, ``.npz``) may
#: inflate to: 4 GiB, Keras' own limit for a ``.keras`` member.
MAX_MEMBER_BYTES = 4 << 30
#: The most a ``.json`` member of a ``.keras`` file (``config.json``) may inflate to.
MAX_JSON_MEMBER_BYTES = 64 << 20
#: A member larger than `RATIO_FLOOR` bytes may inflate at most `MAX_RATIO` times
#: its stored size (zeros deflate ~1000x; weights and images far less than 100x).
MAX_RATIO = 100
RATIO_FLOOR = 16 << 20


def max_member_bytes_default() -> int:
    """`MAX_MEMBER_BYTES`, or ``$ZOO_MAX_MEMBER_BYTES`` when set."""
    raw = os.environ.get(ENV_MAX_MEMBER, "").strip()
    if not raw:
        return MAX_MEMBER_BYTES
    try:
        value = int(float(raw))
    except ValueError:
        value = 0
    if value <= 0:
        raise ZooError(f"${ENV_MAX_MEMBER} must be a positive number of bytes; got {raw!r}.")
    return value


HOW_TO_RAISE = f" If the file is genuine, set ${ENV_MAX_MEMBER} (bytes) or pass max_member_bytes=."


def check_zip_members(path, max_member_bytes=None, *, json_cap=None) -> None:
    """Refuses a zip archive with a member that would inflate past the caps, before inflating.

    Reads only the central directory: every member's uncompressed size must be
    at most ``max_member_bytes`` (default `max_member_bytes_default`), ``.json``
    members at most ``json_cap`` too. With the default cap, a member above
    `RATIO_FLOOR` bytes, and the archive as a whole, may also inflate at most
    `MAX_RATIO` times; a cap given explicitly (argument or
    ``$ZOO_MAX_MEMBER_BYTES``) replaces that ratio test. Python's ``zipfile``
    never inflates a member past the size recorded here, so the caps bound
    what reading costs.

    Raises:
        FileFormatError: naming the file and the member (and the override).
    """
    from zoo.errors import FileFormatError

    explicit = max_member_bytes is not None or bool(os.environ.get(ENV_MAX_MEMBER, "").strip())
    cap = max_member_bytes_default() if max_member_bytes is None else int(max_member_bytes)
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise FileFormatError(path, f"is not a readable zip archive ({error}).") from None
    total = sum(info.file_size for info in infos)
    stored = sum(info.compress_size for info in infos)
    whole = zipfile.ZipInfo("(all members together)")
    whole.file_size, whole.compress_size = total, stored
    for info in [*infos, whole]:
        why = _over_cap(info, cap, json_cap, ratio_test=not explicit)
        if why:
            how = "" if why.endswith("JSON") else HOW_TO_RAISE
            raise FileFormatError(
                path, f"member {info.filename!r} {why}; refused before reading (a zip bomb?).{how}"
            )


def _over_cap(info, cap: int, json_cap, ratio_test: bool) -> str:
    """Why ``info`` would inflate too much ('' when it would not)."""
    is_json = json_cap is not None and info.filename.lower().endswith(".json")
    if is_json and info.file_size > json_cap:
        return f"would inflate to {info.file_size:,} bytes, over the cap of {json_cap:,} for JSON"
    if info.file_size > cap and info.filename != "(all members together)":
        return f"would inflate to {info.file_size:,} bytes, over the cap of {cap:,}"
    ratio = info.file_size / max(info.compress_size, 1)
    if ratio_test and info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        return (
            f"would inflate {ratio:,.0f} times (to {info.file_size:,} bytes; the cap is "
            f"{MAX_RATIO} times above {RATIO_FLOOR >> 20} MiB)"
        )
    return ""


def load_model(path, *, compile: bool = False, custom_objects=None, max_member_bytes=None):
    """Loads a ``.keras`` model with ``safe_mode=True``; refuses other formats.

    Args:
        path: the ``.keras`` file.
        compile: restore the compiled state (optimizer, loss). Defaults to False.
        custom_objects: extra ``{name: object}`` for Keras' deserialization;
            the zoo's layers are always known. With ``compile=True``, a model
            compiled with a zoo loss needs ``zoo.training.losses`` imported
            first (``zoo.load_model`` is the entry point that does it).
        max_member_bytes: the most any archive member may inflate to
            (default `MAX_MEMBER_BYTES`, or ``$ZOO_MAX_MEMBER_BYTES``).

    Returns:
        The ``keras.Model``.

    Raises:
        UnsafeModelError: for ``.h5``/``.hdf5``, pickles, SavedModel folders
            and anything not ``.keras``.
        FileNotFoundError: when the file does not exist.
        TypeError: ``compile=True`` on a model whose loss or metric is not
            registered (the message names the module to import).
        ModelFileError: a corrupted or truncated archive, or a config naming
            something the zoo cannot deserialize (the message names the file).
        FileFormatError: a member that would inflate past the caps (see
            `check_zip_members`), refused before Keras reads the file.
    """
    path = check_model_path(path, max_member_bytes)  # before Keras is even imported
    import keras

    _register_custom_objects()
    try:
        model = keras.saving.load_model(
            path, custom_objects=custom_objects, compile=compile, safe_mode=True
        )
    except TypeError as error:
        if compile and "zoo>" in str(error):
            raise TypeError(
                f"{path!r} was compiled with a zoo loss or metric that is not registered; "
                "import zoo.training.losses before loading it with compile=True (or load "
                f"with compile=False). Keras said: {error}"
            ) from error
        raise _unreadable(path, error) from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as error:
        raise _unreadable(path, error) from None
    recorded = read_recorded_options(path)
    if recorded is not None:
        record_options(model, recorded["model"], recorded["options"])
    return model


def _unreadable(path: str, error: BaseException) -> ModelFileError:
    """The one-line error of a ``.keras`` file Keras could not read."""
    said = " ".join(str(error).split())[:300]
    return ModelFileError(
        path,
        f"cannot be loaded as a '.keras' model ({type(error).__name__}: {said}); the file is "
        "corrupted, truncated or not written by Keras 3. Save or download it again.",
    )


#: The member of a ``.keras`` zip holding the options a zoo model was built with.
OPTIONS_MEMBER = "zoo_options.json"
#: The most ``zoo_options.json`` may inflate to (a real one is under 1 KB).
MAX_OPTIONS_BYTES = 64 * 1024


def record_options(model, model_name: str, options: dict) -> None:
    """Sets ``model.zoo_model`` (registered name) and ``model.zoo_options`` (``weights`` left out).

    Set with ``object.__setattr__``: Keras' attribute tracking would wrap the
    dict in a tracked structure, and this is metadata, not model state.
    """
    recorded = {k: v for k, v in options.items() if k != "weights"}
    object.__setattr__(model, "zoo_model", model_name)
    object.__setattr__(model, "zoo_options", recorded)


def read_recorded_options(path) -> dict | None:
    """``{"model": name, "options": {...}}`` from a ``.keras`` file, or None if it has none."""
    try:
        with zipfile.ZipFile(os.fspath(path)) as zf:
            if OPTIONS_MEMBER not in zf.namelist():
                return None
            if zf.getinfo(OPTIONS_MEMBER).file_size > MAX_OPTIONS_BYTES:
                return None  # options are a few hundred bytes; never inflate more
            recorded = json.loads(zf.read(OPTIONS_MEMBER).decode("utf-8"))
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("options"), dict):
        return None
    return recorded


def _add_recorded_options(model, path: str) -> None:
    """Appends ``zoo_options.json`` to a freshly written ``.keras`` zip (zoo models only)."""
    name, options = getattr(model, "zoo_model", None), getattr(model, "zoo_options", None)
    if name is None or options is None:
        return
    text = json.dumps({"model": name, "options": options}, sort_keys=True)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr(OPTIONS_MEMBER, text)


def atomic_write(path, write_fn, suffix: str = "") -> None:
    """Calls ``write_fn(tmp_path)`` then renames ``tmp_path`` onto ``path``.

    The temporary file lives in the same folder (same filesystem) and is
    fsynced before ``os.replace``; it is removed if ``write_fn`` fails.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        dir=folder, prefix=".tmp-", suffix=suffix or os.path.splitext(path)[1]
    )
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
    try:
        with _without_distribution():  # one process of a data-parallel run writes alone
            write_fn(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text_atomic(path, text: str) -> None:
    """Writes ``text`` (UTF-8) to ``path`` atomically."""

    def write(tmp):
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)

    atomic_write(path, write)


def save_model(model, path) -> None:
    """Saves ``model`` as ``.keras`` atomically, with the options it was built from."""
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError(f"Models are saved as '.keras' files; received {path!r}.")

    def write(tmp):
        model.save(tmp)
        _add_recorded_options(model, tmp)

    atomic_write(path, write, suffix=".keras")


@contextlib.contextmanager
def _without_distribution():
    """Unsets a ``keras.distribution`` while this process writes a model file.

    Keras' ``model.save`` creates objects with variables (an optimizer), and under a
    multi-process distribution creating a variable is a collective step: the coordinator,
    saving alone, would fail or wait for the others. The replicated weights read the same.
    Keras is only looked up, never imported: a process without it has no distribution.
    """
    keras = sys.modules.get("keras")
    current = keras.distribution.distribution() if keras is not None else None
    if current is None:
        yield
        return
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(current)
