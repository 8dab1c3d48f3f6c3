"""Reading the JSON (and YAML) files the zoo trusts, with errors that name the file.

``json`` and ``yaml`` recurse: a file nested 100k deep raises ``RecursionError``
instead of a parse error, and a huge file is read whole. `read_json` bounds the
size before reading, and turns every failure (missing, unreadable, not UTF-8,
not JSON, too deep, not the expected type) into a `FileFormatError` whose
message starts with the file's path.

Imports nothing heavy (YAML only when a YAML text is parsed).
"""

from __future__ import annotations

import json
import os
from typing import Any

from zoo.errors import FileFormatError

__all__ = ["MAX_JSON_BYTES", "parse_json", "parse_yaml", "read_json", "read_text"]

#: The largest JSON/YAML file the zoo reads (run.json, state.json, configs are
#: kilobytes); ``read_json(path, max_bytes=...)`` reads a larger one.
MAX_JSON_BYTES = 64 * 1024 * 1024

_KINDS = {dict: "a JSON object", list: "a JSON list"}


def read_text(path: str | os.PathLike, *, max_bytes: int = MAX_JSON_BYTES) -> str:
    """The UTF-8 text of ``path``, refused when larger than ``max_bytes``.

    Raises:
        FileFormatError: too large, or not UTF-8.
        FileNotFoundError, PermissionError, IsADirectoryError: naming the file.
    """
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"No such file: {path!r}.") from None
    if size > max_bytes:
        raise FileFormatError(path, f"{size} bytes, more than the {max_bytes} bytes allowed.")
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise FileFormatError(path, f"not UTF-8 text ({err.reason} at byte {err.start}).") from None


def parse_json(text: str, source: str | os.PathLike, kind: type | None = None) -> Any:
    """``json.loads(text)``; errors name ``source`` (a path, or e.g. ``"--config"``).

    Args:
        text: the JSON text.
        source: what the text came from, named in errors.
        kind: ``dict`` or ``list`` to require that type at the top.

    Raises:
        FileFormatError: not JSON, nested too deep, or not of type ``kind``.
    """
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise FileFormatError(source, f"invalid JSON: {err}.") from None
    except RecursionError:
        raise FileFormatError(source, "JSON nested too deep to read.") from None
    return _check_kind(value, source, kind)


def parse_yaml(text: str, source: str | os.PathLike, kind: type | None = None) -> Any:
    """``yaml.safe_load(text)``, with `parse_json`'s errors."""
    import yaml

    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as err:
        reason = " ".join(str(err).split())
        raise FileFormatError(source, f"invalid YAML: {reason}.") from None
    except RecursionError:
        raise FileFormatError(source, "YAML nested too deep to read.") from None
    return _check_kind(value, source, kind)


def read_json(
    path: str | os.PathLike, kind: type | None = None, *, max_bytes: int = MAX_JSON_BYTES
) -> Any:
    """Reads the JSON file ``path``; every error names the file.

    Args:
        path: the file.
        kind: ``dict`` or ``list`` to require that type at the top.
        max_bytes: refuse larger files (default `MAX_JSON_BYTES`).

    Returns:
        The parsed value.

    Raises:
        FileFormatError: too large, not UTF-8, not JSON, too deep, wrong type.
        FileNotFoundError: no such file (naming it).

    Example:
        >>> record = read_json("runs/lenet5/run.json", dict)  # doctest: +SKIP
    """
    return parse_json(read_text(path, max_bytes=max_bytes), path, kind)


def _check_kind(value: Any, source, kind: type | None) -> Any:
    if kind is not None and not isinstance(value, kind):
        expected = _KINDS.get(kind, kind.__name__)
        raise FileFormatError(source, f"holds {type(value).__name__}, not {expected}.")
    return value
