"""A progress counter on stderr for the long data steps (screening, decoding).

`Progress` prints its first line before the work starts, then updates: in
place (``\\r``) on a terminal, or as a few whole lines at most every few
seconds when forced on for captured output, so logs never get ``\\r`` noise.
It is off when stderr is not a terminal unless asked (``progress=True``).
"""

from __future__ import annotations

import sys
import time

__all__ = ["Progress", "progress_enabled"]

_TTY_EVERY_S = 0.2  # in-place refresh interval on a terminal
_LINE_EVERY_S = 5.0  # whole-line interval when stderr is not a terminal


def progress_enabled(progress: bool | None, stream=None) -> bool:
    """True when ``progress`` is True, or None and ``stream`` (stderr) is a terminal."""
    if progress is not None:
        return bool(progress)
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class Progress:
    """``decoding 12,000/70,000 images`` on stderr, refreshed as work completes.

    Args:
        verb: what is being done (``"decoding"``, ``"screening"``).
        total: how many items; None while still unknown (set ``total`` later).
        unit: what the items are (``"images"``, ``"files"``).
        enabled: True, False, or None for "when stderr is a terminal".
        stream: where to write; ``sys.stderr`` by default.
        detail: text appended to the first line (e.g. the folder).
    """

    def __init__(self, verb, total, unit="images", *, enabled=None, stream=None, detail=""):
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = progress_enabled(enabled, self.stream)
        self.tty = self.enabled and progress_enabled(None, self.stream)
        self.verb, self.unit, self.detail = verb, unit, detail
        self.total = None if total is None else int(total)
        self.done = 0
        self._last = 0.0
        self._closed = False
        if self.enabled:
            self._emit(final=False, first=True)

    def update(self, count: int = 1) -> None:
        """Adds ``count`` finished items; redraws when enough time has passed."""
        self.done += count
        if not self.enabled:
            return
        every = _TTY_EVERY_S if self.tty else _LINE_EVERY_S
        if time.monotonic() - self._last >= every:
            self._emit(final=False)

    def close(self) -> None:
        """Prints the final count (once)."""
        if self.enabled and not self._closed:
            self._emit(final=True)
        self._closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _emit(self, *, final: bool, first: bool = False) -> None:
        if self.total is None:
            text = f"{self.verb} {self.detail}".rstrip() + " ..."
        else:
            text = f"{self.verb} {self.done:,}/{self.total:,} {self.unit}"
        if first and self.detail and self.total is not None:
            text += f" {self.detail}"
        if final:
            text += " done"
        if self.tty:
            end = "\n" if final else ""
            self.stream.write(f"\r{text}\x1b[K{end}")
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self._last = time.monotonic()
