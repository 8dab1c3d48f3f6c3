"""Splits and load options: split names, the seeded stratified carve, the fingerprint.

Shared by `zoo.data.bundle`, `zoo.data.folders` and `zoo.data.sources`; imports
only NumPy and `zoo.constants`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import numpy as np

__all__ = ["SPLITS", "LoadOptions", "carve", "fingerprint", "split_name"]

SPLITS = ("train", "val", "test")
_SPLIT_ALIASES = {"train": "train", "val": "val", "validation": "val", "test": "test"}


@dataclasses.dataclass(frozen=True)
class LoadOptions:
    """The checked options of one `zoo.data.load` call."""

    image_size: tuple[int, int] | None
    channels: int | None
    batch_size: int
    validation_split: float
    seed: int
    splits: tuple[str, ...]
    max_in_memory_bytes: int
    screen: bool
    max_pixels: int
    workers: int | None

    @classmethod
    def make(cls, *, image_size, channels, batch_size, validation_split, split, **rest):
        if image_size is not None:
            size = (image_size, image_size) if isinstance(image_size, int) else image_size
            size = tuple(size)
            if len(size) != 2 or not all(isinstance(v, int) and v > 0 for v in size):
                raise ValueError(
                    f"image_size must be (height, width) of positive ints; received {image_size!r}"
                )
            image_size = size
        if channels not in (None, 1, 3):
            raise ValueError(f"channels must be 1, 3 or None; received {channels!r}")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int; received {batch_size!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1); received {validation_split!r}")
        if split is None:
            splits = SPLITS
        else:
            names = [split] if isinstance(split, str) else list(split)
            splits = tuple(split_name(name) for name in names)
        return cls(
            image_size=image_size,
            channels=channels,
            batch_size=batch_size,
            validation_split=float(validation_split),
            splits=splits,
            **rest,
        )

    def describe(self) -> dict:
        """The options that change the data a model sees (for the fingerprint)."""
        return {
            "image_size": self.image_size,
            "channels": self.channels,
            "validation_split": self.validation_split,
            "seed": self.seed,
            "splits": self.splits,
        }


def split_name(name: str) -> str:
    """The canonical split name (``"validation"`` -> ``"val"``); ValueError when unknown."""
    try:
        return _SPLIT_ALIASES[str(name).lower()]
    except KeyError:
        raise ValueError(
            f"Unknown split {name!r}; expected one of train, val (validation), test"
        ) from None


def fingerprint(content: str, opts: LoadOptions, shape) -> str:
    """sha256 of the data's content, the options that shaped it and the input shape."""
    payload = json.dumps(
        {"content": content, "options": opts.describe(), "input_shape": shape},
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def carve(labels: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified, seeded split of indices into (train, val), both sorted.

    The val total is ``round(len(labels) * fraction)`` spread over classes in
    proportion (largest remainders first); every class with at least 2
    examples keeps at least one on each side.
    """
    if fraction <= 0:
        return np.arange(len(labels)), np.zeros(0, dtype=np.int64)
    classes, sizes = np.unique(labels, return_counts=True)
    exact = sizes * fraction
    counts = np.floor(exact).astype(int)
    missing = int(np.floor(len(labels) * fraction + 0.5)) - int(counts.sum())
    for i in np.argsort(-(exact - counts), kind="stable")[: max(missing, 0)]:
        counts[i] += 1
    counts = np.where(sizes >= 2, np.clip(counts, 1, sizes - 1), 0)
    rng = np.random.default_rng(seed)
    val = []
    for label, count in zip(classes, counts, strict=False):
        members = np.flatnonzero(labels == label)
        val.extend(rng.permutation(members)[:count])
    val = np.sort(np.asarray(val, dtype=np.int64))
    train = np.setdiff1d(np.arange(len(labels)), val)
    return train, val
