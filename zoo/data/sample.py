"""The small real data samples shipped inside the package.

``zoo/data/sample/`` holds, picked with a fixed seed by
``zoo/data/make_sample.py`` (``zoo/data/sample/PROVENANCE.md`` says where they
come from):

- ``mnist_sample.npz``: 5000 train (500 per digit) and 1000 test (100 per
  digit) MNIST images, 28x28x1 ``uint8``; ``zoo.data.load("mnist-sample")``.
- ``cifar10_sample.npz``: 500 train (50 per class) and 1000 test (100 per
  class) CIFAR-10 images, 32x32x3 ``uint8``;
  ``zoo.data.load("cifar10-sample")``.

This module finds and reads them, and writes them out as PNG image folders
for demos and tests.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
from pathlib import Path

import numpy as np

__all__ = [
    "DEFAULT_SAMPLE",
    "SAMPLES",
    "SAMPLE_ALIASES",
    "SAMPLE_FILE",
    "SAMPLE_NAMES",
    "SampleInfo",
    "load_sample_arrays",
    "resolve_sample",
    "sample_path",
    "write_sample_folder",
]


@dataclasses.dataclass(frozen=True)
class SampleInfo:
    """One shipped sample.

    Attributes:
        name: the name `zoo.data.load` accepts (``"mnist-sample"``).
        file: path of the ``.npz`` inside the package, relative to ``zoo/data``.
        description: one line, for messages.
    """

    name: str
    file: str
    description: str


#: The shipped samples, by the name `zoo.data.load` accepts.
SAMPLES = {
    info.name: info
    for info in (
        SampleInfo(
            "mnist-sample",
            "sample/mnist_sample.npz",
            "5000 train + 1000 test real MNIST digits, 28x28x1",
        ),
        SampleInfo(
            "cifar10-sample",
            "sample/cifar10_sample.npz",
            "500 train + 1000 test real CIFAR-10 images, 32x32x3",
        ),
    )
}

#: Other names accepted for a sample.
SAMPLE_ALIASES = {"sample": "mnist-sample"}

#: Every source string that means a shipped sample (lower case).
SAMPLE_NAMES = (*SAMPLES, *SAMPLE_ALIASES)

#: The sample used when none is named.
DEFAULT_SAMPLE = "mnist-sample"

#: Path of the MNIST sample inside the package, relative to ``zoo/data``.
SAMPLE_FILE = SAMPLES[DEFAULT_SAMPLE].file


def resolve_sample(name: str = DEFAULT_SAMPLE) -> SampleInfo:
    """Returns the `SampleInfo` of a sample name or alias (case-insensitive).

    Raises:
        ValueError: for a name that is not a shipped sample, with close matches.
    """
    key = str(name).lower()
    key = SAMPLE_ALIASES.get(key, key)
    if key in SAMPLES:
        return SAMPLES[key]
    close = difflib.get_close_matches(key, SAMPLE_NAMES, n=2)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(
        f"Unknown sample {name!r}; the shipped samples are "
        f"{', '.join(repr(n) for n in SAMPLES)}.{hint}"
    )


def sample_path(name: str = DEFAULT_SAMPLE) -> Path:
    """Returns the path of a shipped sample's ``.npz``.

    Args:
        name: ``"mnist-sample"`` (default), ``"cifar10-sample"`` or an alias.

    Raises:
        ValueError: for an unknown sample name.
        FileNotFoundError: when the package was installed without its data
            (``[options.package_data]`` must include ``sample/*.npz``).
    """
    info = resolve_sample(name)
    path = Path(__file__).resolve().parent / info.file
    if not path.is_file():
        raise FileNotFoundError(
            f"The {info.name} data is missing from the installed package ({path}); "
            f"reinstall keras-zoo with its package data."
        )
    return path


def load_sample_arrays(name: str = DEFAULT_SAMPLE) -> dict[str, np.ndarray]:
    """Returns a sample's arrays.

    Keys: ``x_train, y_train, x_test, y_test, class_names, source_ids_train,
    source_ids_test``. ``x_*`` are ``uint8 (N, H, W, C)`` (MNIST 28x28x1,
    CIFAR-10 32x32x3), ``y_*`` ``uint8`` class indices into ``class_names``.

    Args:
        name: ``"mnist-sample"`` (default), ``"cifar10-sample"`` or an alias.
    """
    with np.load(sample_path(name), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def write_sample_folder(
    dest: str | os.PathLike,
    split: str = "train",
    per_class: int | None = None,
    *,
    name: str = DEFAULT_SAMPLE,
) -> Path:
    """Writes a sample as a PNG image folder.

    Args:
        dest: folder to write into (created when missing).
        split: ``"train"`` writes ``dest/<class>/<n>.png``; ``"test"`` likewise
            from the test images; ``"all"`` writes
            ``dest/{train,test}/<class>/<n>.png``.
        per_class: images per class (the first ones of each class); None
            writes them all.
        name: which sample: ``"mnist-sample"`` (default) or ``"cifar10-sample"``.

    Returns:
        ``Path(dest)``.

    Raises:
        ValueError: for an unknown split or sample, or a non-positive
            ``per_class``.

    Example:

    >>> root = write_sample_folder("/tmp/digits", per_class=20)  # doctest: +SKIP
    >>> bundle = zoo.data.load(root)  # doctest: +SKIP
    """
    from PIL import Image

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all'; received {split!r}")
    if per_class is not None and (not isinstance(per_class, int) or per_class < 1):
        raise ValueError(f"per_class must be a positive int or None; received {per_class!r}")
    arrays = load_sample_arrays(name)
    dest = Path(dest)
    names = [str(n) for n in arrays["class_names"].tolist()]
    for part in ("train", "test") if split == "all" else (split,):
        root = dest / part if split == "all" else dest
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        for label, class_name in enumerate(names):
            folder = root / class_name
            folder.mkdir(parents=True, exist_ok=True)
            members = np.flatnonzero(y == label)[:per_class]
            for n, i in enumerate(members):
                image = x[i, :, :, 0] if x.shape[-1] == 1 else x[i]
                Image.fromarray(image).save(folder / f"{n:04d}.png")
    return dest
