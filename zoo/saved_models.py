"""The saved-models folder: checkpoint names, manifests, hashes, verified loading.

A checkpoint is ``<root>/<name>/model.keras`` + ``manifest.json``; the manifest
lists the sha256 of every file, and its own sha256 (``manifest_sha256``: of its
canonical JSON without that field, see `manifest_digest`), so reordered class
names or edited preprocessing are refused like a modified model file. Sizes it
holds (``preprocessing.pad_to``, input shapes) are at most `MAX_SIDE`.
`load_pretrained` checks every hash before loading, and loads only ``.keras``
with ``safe_mode=True``.

Two folders hold checkpoints. The shipped ones (``lenet5-mnist``, ...) are
package data, ``zoo/saved_models_data`` of an installed wheel or the
repository's ``saved_models/`` in a checkout, and are only read. Published
ones go to the user folder (`saved_models_root`): ``$ZOO_SAVED_MODELS``, else
``$ZOO_HOME/saved_models``, else the platform's user data folder
(``~/.local/share/keras-zoo/saved_models`` on Linux). Listing and loading look
in the user folder first, then the shipped one; publishing a shipped name
needs ``overwrite`` and then shadows it (the shipped files stay as they are).
An explicit ``root`` is the only folder used.

Layering: imports `zoo.saving` only (standard library at import time); it knows
nothing of models or training. `zoo.publishing` and `zoo.exporting` build on it,
and `zoo.pretrained` re-exports all three.
"""

from __future__ import annotations

import difflib
import hashlib
import importlib.resources
import json
import os
import re
import sys
from pathlib import Path

from zoo.saving import load_model

__all__ = [
    "ENV_ROOT",
    "FORMAT",
    "FORMAT_VERSION",
    "MANIFEST",
    "MODEL_FILE",
    "ChecksumError",
    "PretrainedError",
    "check_manifest",
    "check_name",
    "checkpoint_folder",
    "exists",
    "is_valid_name",
    "list_pretrained",
    "load_pretrained",
    "manifest_digest",
    "model_path",
    "read_manifest",
    "saved_models_root",
    "search_roots",
    "sha256_file",
    "shipped_root",
    "verify",
    "with_checkpoint_hint",
]

MANIFEST = "manifest.json"
MODEL_FILE = "model.keras"
FORMAT = "keras-zoo-checkpoint"
FORMAT_VERSION = 1
ENV_ROOT = "ZOO_SAVED_MODELS"
ENV_HOME = "ZOO_HOME"
SHIPPED_PACKAGE = "saved_models_data"  # zoo/saved_models_data in a wheel (setup.cfg package_dir)
#: The manifest field holding the sha256 of the manifest's canonical JSON without it.
DIGEST_FIELD = "manifest_sha256"
#: The largest image side a manifest may ask for (``pad_to``, input shapes).
MAX_SIDE = 4096
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


class PretrainedError(ValueError):
    """A checkpoint that is unknown, malformed, or cannot be written."""


class ChecksumError(PretrainedError):
    """A checkpoint file whose sha256 differs from its manifest."""


def saved_models_root(root=None) -> Path:
    """The folder checkpoints are published to: ``root``, else the user folder.

    The user folder is ``$ZOO_SAVED_MODELS``, else ``$ZOO_HOME/saved_models``,
    else the platform's user data folder + ``keras-zoo/saved_models``; never
    the installed package or the source checkout.
    """
    if root is not None:
        return Path(os.fspath(root)).expanduser().resolve()
    env = os.environ.get(ENV_ROOT)
    if env:
        return Path(env).expanduser().resolve()
    home = os.environ.get(ENV_HOME)
    if home:
        return (Path(home).expanduser() / "saved_models").resolve()
    return _user_data_dir() / "keras-zoo" / "saved_models"


def _user_data_dir() -> Path:
    """The platform's per-user data folder (XDG on Linux), without a dependency."""
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def shipped_root() -> Path | None:
    """The read-only folder of the shipped checkpoints: the installed package data, else
    the repository's ``saved_models/`` when running from a checkout; None when neither."""
    data = importlib.resources.files("zoo") / SHIPPED_PACKAGE
    if isinstance(data, Path) and data.is_dir():
        return data.resolve()
    repo = Path(__file__).resolve().parent.parent
    if (repo / "setup.cfg").is_file() and (repo / "saved_models").is_dir():
        return repo / "saved_models"
    return None


def search_roots(root=None) -> list[Path]:
    """The folders listing and loading look in, in order: ``[root]`` when given, else the
    user folder then the shipped one."""
    if root is not None:
        return [saved_models_root(root)]
    roots = [saved_models_root()]
    shipped = shipped_root()
    if shipped is not None and shipped not in roots:
        roots.append(shipped)
    return roots


def is_valid_name(name) -> bool:
    """Whether ``name`` is a plain checkpoint name (no path, no ``..``, not hidden)."""
    return isinstance(name, str) and bool(_NAME.fullmatch(name)) and ".." not in name


def check_name(name) -> str:
    """Returns ``name`` if it is a valid checkpoint name; raises ``PretrainedError`` otherwise."""
    if not is_valid_name(name):
        raise PretrainedError(
            f"Invalid checkpoint name {name!r}: use letters, digits, '.', '_' and '-' "
            f"(starting with a letter or digit, no '..', no '/'), e.g. 'lenet5-mnist'."
        )
    return name


def list_pretrained(root=None) -> list[str]:
    """Names of the checkpoints in the saved-models folders (see `search_roots`), sorted."""
    names = set()
    for folder in search_roots(root):
        if folder.is_dir():
            names.update(
                p.name
                for p in folder.iterdir()
                if is_valid_name(p.name)
                and p.is_dir()
                and not p.is_symlink()
                and (p / MANIFEST).is_file()
            )
    return sorted(names)


def exists(name: str, root=None) -> bool:
    """Whether a checkpoint called ``name`` exists (a valid name with a manifest)."""
    return is_valid_name(name) and name in list_pretrained(root)


def checkpoint_folder(name: str, root=None) -> Path:
    """The folder of checkpoint ``name``; `PretrainedError` (with close names) when absent."""
    check_name(name)
    roots = search_roots(root)
    for base in roots:
        folder = base / name
        if (folder / MANIFEST).is_file() and not folder.is_symlink():
            return folder
    names = list_pretrained(root)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    raise PretrainedError(
        f"No checkpoint {name!r} in {' or '.join(map(str, roots))}.{hint} Available: "
        f"{', '.join(names) if names else 'none'} (set ${ENV_ROOT} to use another folder)."
    )


def with_checkpoint_hint(error: Exception, name: str, root=None) -> Exception:
    """``error`` (an unknown architecture name) with the close checkpoint names, if any.

    A typo'd checkpoint (``lenet5-mnsit``) then suggests ``'lenet5-mnist'``, not only
    the architectures it resembles.
    """
    close = difflib.get_close_matches(str(name), list_pretrained(root), n=3, cutoff=0.6)
    if not close:
        return error
    first = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return type(error)(
        f"{name!r} is neither a registered architecture nor a checkpoint. Did you mean the "
        f"checkpoint {', '.join(map(repr, close))}? (`zoo models --pretrained` lists the "
        f"checkpoints.) {first}"
    )


def model_path(name: str, root=None) -> str:
    """The path of a checkpoint's ``model.keras`` (not verified; see `load_pretrained`)."""
    return str(checkpoint_folder(name, root) / MODEL_FILE)


def read_manifest(name: str, root=None) -> dict:
    """The checkpoint's manifest as a dict.

    Raises:
        PretrainedError: unknown name or a manifest that is not a JSON object
            with a ``files`` mapping.
    """
    path = checkpoint_folder(name, root) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as err:
        raise PretrainedError(f"{path} is not valid JSON: {err}") from None
    return check_manifest(manifest, path)


def manifest_digest(manifest: dict) -> str:
    """The sha256 of ``manifest``'s canonical JSON (sorted keys, no spaces), ``manifest_sha256`` left out."""
    body = {k: v for k, v in manifest.items() if k != DIGEST_FIELD}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_manifest(manifest, path) -> dict:
    """Returns ``manifest`` if it is complete, unmodified and of sane sizes; raises otherwise.

    Complete: a ``files`` mapping listing a ``.keras`` model file. Unmodified:
    its ``manifest_sha256`` equals `manifest_digest`. Sizes: ``preprocessing.pad_to``
    and the input shapes at most `MAX_SIDE`.

    Raises:
        PretrainedError: incomplete or out of bounds (naming ``path``).
        ChecksumError: no ``manifest_sha256``, or one that differs.
    """
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise PretrainedError(f"{path} has no 'files' mapping of file name -> sha256.")
    if not any(str(rel).endswith(".keras") for rel in manifest["files"]):
        raise PretrainedError(f"{path} lists no '.keras' model file under 'files'.")
    actual = manifest_digest(manifest)
    recorded = manifest.get(DIGEST_FIELD)
    if not isinstance(recorded, str):
        raise ChecksumError(
            f"{path} has no {DIGEST_FIELD!r} (it predates manifest hashes, or it was removed): "
            f"re-publish the checkpoint, or, if you trust this manifest as it is, add "
            f'"{DIGEST_FIELD}": "{actual}" to it.'
        )
    if recorded.lower() != actual:
        raise ChecksumError(
            f"{path} does not match its {DIGEST_FIELD} ({actual[:16]}... instead of "
            f"{recorded[:16]}...): it was modified (class names, preprocessing, ...). "
            "Re-publish or re-download the checkpoint."
        )
    _check_sizes(manifest, path)
    return manifest


def _check_sizes(manifest: dict, path) -> None:
    """Refuses ``pad_to`` and input shapes that are not lists of sides in 1..`MAX_SIDE`."""
    prep = manifest.get("preprocessing")
    shapes = {
        key: manifest.get(key) for key in ("input_shape", "data_input_shape") if manifest.get(key)
    }
    if isinstance(prep, dict) and prep.get("pad_to") is not None:
        shapes["preprocessing.pad_to"] = prep["pad_to"]
    for key, shape in shapes.items():
        ok = isinstance(shape, list) and len(shape) <= 4
        ok = ok and all(d is None or (type(d) is int and 1 <= d <= MAX_SIDE) for d in shape)
        if not ok:
            raise PretrainedError(
                f"{path}: {key} {json.dumps(shape)[:80]} is not a list of sizes from 1 to "
                f"{MAX_SIDE}."
            )


def sha256_file(path) -> str:
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(name: str, root=None) -> dict:
    """Checks the sha256 of every file the manifest lists; returns the manifest.

    Raises:
        ChecksumError: a listed file is missing, outside the checkpoint
            folder, or its hash differs.
        PretrainedError: the manifest is malformed or omits ``model.keras``.
    """
    folder = checkpoint_folder(name, root)
    manifest = read_manifest(name, root)
    files = manifest["files"]
    if MODEL_FILE not in files:
        raise PretrainedError(f"The manifest of {name!r} does not list {MODEL_FILE}.")
    real_folder = os.path.realpath(folder)
    for rel, expected in files.items():
        if not isinstance(rel, str) or not isinstance(expected, str):
            raise PretrainedError(f"The manifest of {name!r} lists a malformed entry {rel!r}.")
        path = os.path.realpath(os.path.join(folder, rel))
        if os.path.isabs(rel) or os.path.commonpath([real_folder, path]) != real_folder:
            raise ChecksumError(f"The manifest of {name!r} lists {rel!r}, outside its folder.")
        if not os.path.isfile(path):
            raise ChecksumError(f"Checkpoint {name!r} is incomplete: {rel} is missing.")
        actual = sha256_file(path)
        if actual != expected.lower():
            raise ChecksumError(
                f"Checkpoint {name!r}: {rel} does not match its manifest (sha256 {actual[:16]}... "
                f"instead of {expected[:16]}...); the file is corrupt or was modified. "
                f"Re-publish or re-download it."
            )
    return manifest


def load_pretrained(name: str, root=None, *, compile: bool = False):
    """Loads a checkpoint after verifying the sha256 of every file in its manifest.

    Args:
        name: checkpoint name, e.g. ``"lenet5-mnist"`` (see `list_pretrained`).
        root: saved-models folder (see `saved_models_root`).
        compile: compile the model as saved. Defaults to False.

    Returns:
        The ``keras.Model`` (loaded with ``safe_mode=True``).

    Raises:
        PretrainedError: unknown name or malformed manifest.
        ChecksumError: a file that does not match its hash.
    """
    verify(name, root)
    return load_model(model_path(name, root), compile=compile)
