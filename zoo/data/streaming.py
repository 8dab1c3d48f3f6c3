"""A `keras.utils.PyDataset` that decodes image files batch by batch.

Used by `zoo.data.load` when the decoded data would not fit under
``max_in_memory_bytes``. It decodes with Pillow into NumPy, so it works on
every Keras backend, TensorFlow not needed. Importing this module imports
Keras; `zoo.data.folders` imports it only when streaming is needed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import keras
import numpy as np

from zoo.constants import DEFAULT_SEED
from zoo.data.images import DEFAULT_MAX_PIXELS, BadImageError, decode_image
from zoo.data.screen_report import DataError

__all__ = ["ImageFileDataset"]


class ImageFileDataset(keras.utils.PyDataset):
    """Batches ``(x uint8 (B, H, W, C), y int32 (B,))`` decoded from files.

    A file that fails to decode (changed or removed after screening) does not
    stop the epoch: it is replaced by another image of the same batch and a
    warning names it once. Only a batch where every file fails raises.

    Args:
        paths: image file paths.
        labels: class index per path.
        image_size: ``(height, width)`` every image is resized to.
        channels: 1 or 3.
        batch_size: images per batch. Defaults to 32.
        shuffle: reshuffle the order at every epoch end. Defaults to False.
        seed: seed of the shuffling. Defaults to ``DEFAULT_SEED`` (1337).
        max_pixels: pixel cap checked from each header before decoding.
        workers: Keras' ``PyDataset`` workers (threads unless
            ``use_multiprocessing``). Defaults to 1.
        use_multiprocessing: use processes for the workers. Defaults to False.
        max_queue_size: batches prepared ahead. Defaults to 10.
    """

    def __init__(
        self,
        paths: Sequence[str],
        labels: Sequence[int],
        *,
        image_size: Sequence[int],
        channels: int,
        batch_size: int = 32,
        shuffle: bool = False,
        seed: int = DEFAULT_SEED,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        workers: int = 1,
        use_multiprocessing: bool = False,
        max_queue_size: int = 10,
    ):
        super().__init__(
            workers=workers,
            use_multiprocessing=use_multiprocessing,
            max_queue_size=max_queue_size,
        )
        if len(paths) != len(labels):
            raise ValueError(f"paths and labels differ in length: {len(paths)} vs {len(labels)}")
        if not paths:
            raise DataError("ImageFileDataset received no files")
        self.paths = [str(p) for p in paths]
        self.labels = np.asarray(labels, dtype=np.int32)
        self.image_size = tuple(int(v) for v in image_size)
        self.channels = int(channels)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = int(seed)
        self.max_pixels = int(max_pixels)
        self._epoch = 0
        self._order = np.arange(len(self.paths))
        self._warned: set[str] = set()
        if self.shuffle:
            self._reshuffle()

    @property
    def num_batches(self) -> int:
        return math.ceil(len(self.paths) / self.batch_size)

    def __len__(self) -> int:
        return self.num_batches

    @property
    def element_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)

    def __getitem__(self, index: int):
        if not 0 <= index < self.num_batches:
            raise IndexError(f"batch {index} out of range 0..{self.num_batches - 1}")
        chosen = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        x = np.empty((len(chosen), *self.element_shape), dtype=np.uint8)
        failed = []
        for row, item in enumerate(chosen):
            try:
                x[row] = decode_image(
                    self.paths[item],
                    channels=self.channels,
                    image_size=self.image_size,
                    max_pixels=self.max_pixels,
                    verify=False,  # screened at load; a full decode still catches damage
                )
            except BadImageError as error:
                failed.append(row)
                self._warn(self.paths[item], str(error))
        y = self.labels[chosen].copy()
        good = [row for row in range(len(chosen)) if row not in set(failed)]
        if failed and not good:
            raise DataError(
                f"Every file of batch {index} failed to decode "
                f"(first: {self.paths[chosen[0]]}); did the data change after "
                f"screening? Run zoo.data.screen_folder again."
            )
        for k, row in enumerate(failed):
            substitute = good[k % len(good)]
            x[row], y[row] = x[substitute], y[substitute]
        return x, y

    def on_epoch_end(self):
        self._epoch += 1
        if self.shuffle:
            self._reshuffle()

    def replace(self, **changes) -> ImageFileDataset:
        """A copy with some constructor arguments changed (e.g. batch_size)."""
        kwargs = {
            "image_size": self.image_size,
            "channels": self.channels,
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "seed": self.seed,
            "max_pixels": self.max_pixels,
            "workers": self.workers,
            "use_multiprocessing": self.use_multiprocessing,
            "max_queue_size": self.max_queue_size,
        }
        kwargs.update(changes)
        return ImageFileDataset(self.paths, self.labels, **kwargs)

    def _reshuffle(self) -> None:
        rng = np.random.default_rng((self.seed, self._epoch))
        self._order = rng.permutation(len(self.paths))

    def _warn(self, path: str, reason: str) -> None:
        if path not in self._warned:
            self._warned.add(path)
            warnings.warn(f"Skipping {path} in a batch: {reason}", stacklevel=2)
