"""The small real MNIST sample shipped inside the package.

``zoo/data/sample/mnist_sample.npz`` holds 5000 train (500 per digit) and
1000 test (100 per digit) MNIST images, 28x28x1 ``uint8``, picked with a fixed
seed by ``zoo/data/make_sample.py``; ``zoo/data/sample/PROVENANCE.md`` says
where they come from. ``zoo.data.load("mnist-sample")`` loads it; this module
also writes it out as a PNG image folder for demos and tests.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

__all__ = ["SAMPLE_FILE", "load_sample_arrays", "sample_path", "write_sample_folder"]

#: Path of the sample inside the package, relative to ``zoo/data``.
SAMPLE_FILE = "sample/mnist_sample.npz"


def sample_path() -> Path:
    """Returns the path of the shipped ``mnist_sample.npz``.

    Raises:
        FileNotFoundError: when the package was installed without its data
            (``[options.package_data]`` must include ``sample/*``).
    """
    path = Path(__file__).resolve().parent / SAMPLE_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"The MNIST sample is missing from the installed package ({path}); "
            f"reinstall keras-zoo with its package data."
        )
    return path


def load_sample_arrays() -> dict[str, np.ndarray]:
    """Returns the sample's arrays: ``x_train, y_train, x_test, y_test, class_names``.

    ``x_*`` are ``uint8 (N, 28, 28, 1)``, ``y_*`` ``uint8`` digits.
    """
    with np.load(sample_path(), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def write_sample_folder(
    dest: str | os.PathLike,
    split: str = "train",
    per_class: int | None = None,
) -> Path:
    """Writes the sample as a PNG image folder.

    Args:
        dest: folder to write into (created when missing).
        split: ``"train"`` writes ``dest/<digit>/<n>.png``; ``"test"`` likewise
            from the test images; ``"all"`` writes
            ``dest/{train,test}/<digit>/<n>.png``.
        per_class: images per class (the first ones of each class); None
            writes them all (500 train / 100 test per class).

    Returns:
        ``Path(dest)``.

    Raises:
        ValueError: for an unknown split or a non-positive ``per_class``.

    Example:

    >>> root = write_sample_folder("/tmp/digits", per_class=20)  # doctest: +SKIP
    >>> bundle = zoo.data.load(root)  # doctest: +SKIP
    """
    from PIL import Image

    if split not in ("train", "test", "all"):
        raise ValueError(f"split must be 'train', 'test' or 'all'; received {split!r}")
    if per_class is not None and (not isinstance(per_class, int) or per_class < 1):
        raise ValueError(f"per_class must be a positive int or None; received {per_class!r}")
    arrays = load_sample_arrays()
    dest = Path(dest)
    names = [str(n) for n in arrays["class_names"].tolist()]
    for name in ("train", "test") if split == "all" else (split,):
        root = dest / name if split == "all" else dest
        x, y = arrays[f"x_{name}"], arrays[f"y_{name}"]
        for label, class_name in enumerate(names):
            folder = root / class_name
            folder.mkdir(parents=True, exist_ok=True)
            members = np.flatnonzero(y == label)[:per_class]
            for n, i in enumerate(members):
                Image.fromarray(x[i, :, :, 0], mode="L").save(folder / f"{n:04d}.png")
    return dest
