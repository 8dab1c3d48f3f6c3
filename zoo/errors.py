"""The zoo's exceptions: what a caller can catch, and what the CLI turns into one line.

Every error the zoo raises for bad input (a wrong argument, a file it cannot
use, a run it cannot continue) is a ``ValueError``, so ``except ValueError``
keeps working; the zoo's own classes share the base `ZooError`::

    ValueError
    └── ZooError                        any bad input the zoo refuses
        ├── FileFormatError             a file the zoo reads is unreadable or malformed
        │                               (``.path`` names it): JSON/YAML that does not
        │                               parse, is too large or too deep, lacks a key
        ├── ModelFileError              a ``.keras`` file that cannot be loaded
        │   │                           (corrupted, truncated, foreign config)
        │   └── (zoo.saving.UnsafeModelError is a ZooError: refused formats)
        ├── (tuning.state.StateError, a FileFormatError and a RuntimeError: a
        │    search state file that neither it nor its backup can be read)
        ├── (zoo.training.runs.ResumeError: a run that cannot be continued)
        └── (zoo.data.DataError: a data set or folder that cannot be used)

The registry's unknown-name error and the options' validation raise plain
``ValueError`` subclasses and are caught as ``ValueError``.

The CLI's error boundary (`cli.main`) prints these, and the library errors
that bad files and environments cause (``OSError``, ``zipfile.BadZipFile``,
``UnicodeDecodeError``, ``RecursionError`` of a deeply nested file, ...), as
one line ``Error: ...`` with exit code 1; ``zoo --debug`` or ``ZOO_DEBUG=1``
shows the traceback instead.
"""

from __future__ import annotations

import os

__all__ = ["FileFormatError", "ModelFileError", "ZooError"]


class ZooError(ValueError):
    """Bad input the zoo refuses: the message says what and how to fix it."""


class FileFormatError(ZooError):
    """A file the zoo reads that it cannot use; ``path`` names it.

    Args:
        path: the file.
        reason: what is wrong, without the file name (it is prefixed).
    """

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelFileError(FileFormatError):
    """A model file (``.keras``) that cannot be loaded: corrupted, truncated or foreign."""
