"""`BatchProgress`: a Keras callback that counts batches on stderr (`zoo.data.progress.Progress`).

Used where one call of ``fit``/``predict`` can take minutes with nothing to
show: ``zoo lr-find`` (one line per sweep, counted per step) and ``zoo
evaluate`` on large folders (counted per batch). On a terminal it redraws in
place; forced on (``enabled=True``) with captured output it prints a few whole
lines, at most every few seconds; off (``False``) it prints nothing.
"""

from __future__ import annotations

import keras

from zoo.data.progress import Progress

__all__ = ["BatchProgress"]


class BatchProgress(keras.callbacks.Callback):
    """Counts training or prediction batches: ``lr-find 12/100 batches``.

    Args:
        verb: what is counted (``"lr-find"``, ``"evaluating"``).
        total: batches expected (None while unknown).
        enabled: True, False, or None for "when stderr is a terminal".
        stream: where to write (stderr by default).
    """

    def __init__(self, verb: str, total: int | None, *, enabled=None, stream=None):
        super().__init__()
        self.counter = Progress(verb, total, "batches", enabled=enabled, stream=stream)

    def on_train_batch_end(self, batch, logs=None):
        self.counter.update(1)

    def on_predict_batch_end(self, batch, logs=None):
        self.counter.update(1)

    def on_train_end(self, logs=None):
        self.counter.close()
