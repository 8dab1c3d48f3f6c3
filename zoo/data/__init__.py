"""Data: image folders, ``.npz`` files, tfds names and the embedded samples.

``load(source)`` returns a `DataBundle` of ``train``/``val``/``test`` splits
with raw ``uint8`` pixels (0..255) and ``int32`` labels; image folders are
screened first (`screen_folder`) so that bad files are skipped with a reason
instead of crashing an epoch.

Names are imported on first use, so ``import zoo.data`` stays light (no Keras,
no TensorFlow, no Pillow).

Example:

>>> import zoo.data
>>> bundle = zoo.data.load("mnist-sample")  # doctest: +SKIP
>>> model.fit(**bundle.fit_kwargs(batch_size=64), epochs=2)  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__all__ = [
    "DEFAULT_MAX_IN_MEMORY_BYTES",
    "DEFAULT_MAX_PIXELS",
    "BadImageError",
    "DataBundle",
    "DataError",
    "ImageRecord",
    "ScreenReport",
    "SkippedFile",
    "decode_image",
    "load",
    "load_sample_arrays",
    "sample_path",
    "screen_folder",
    "write_sample_folder",
]

_EXPORTS = {
    "BadImageError": "images",
    "DEFAULT_MAX_PIXELS": "images",
    "decode_image": "images",
    "DataError": "screen_report",
    "ImageRecord": "screen_report",
    "ScreenReport": "screen_report",
    "SkippedFile": "screen_report",
    "screen_folder": "screen",
    "DataBundle": "bundle",
    "DEFAULT_MAX_IN_MEMORY_BYTES": "sources",
    "load": "sources",
    "load_sample_arrays": "sample",
    "sample_path": "sample",
    "write_sample_folder": "sample",
}

if TYPE_CHECKING:
    from zoo.data.bundle import DataBundle
    from zoo.data.images import DEFAULT_MAX_PIXELS, BadImageError, decode_image
    from zoo.data.sample import load_sample_arrays, sample_path, write_sample_folder
    from zoo.data.screen import screen_folder
    from zoo.data.screen_report import DataError, ImageRecord, ScreenReport, SkippedFile
    from zoo.data.sources import DEFAULT_MAX_IN_MEMORY_BYTES, load


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo.data' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"zoo.data.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
