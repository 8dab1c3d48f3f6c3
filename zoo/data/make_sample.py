"""Rebuilds ``zoo/data/sample/mnist_sample.npz`` from the MNIST PNG folders.

Usage (the MNIST PNGs of rasbt/mnist-pngs, as in ``../shared/data``)::

    tar -xzf ../shared/data/mnist.tar.gz -C /tmp
    python -m zoo.data.make_sample --src /tmp/mnist

Selection: for every digit, the PNG files of the split are sorted by their
numeric name, then ``numpy.random.default_rng(SEED).choice`` picks
``per_class`` of them without replacement (one generator, digits in order,
train before test); the picks are kept in file-name order. Images are stored
as ``uint8 (N, 28, 28, 1)``, class by class, with their source file numbers.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

SEED = 20240607
TRAIN_PER_CLASS = 500
TEST_PER_CLASS = 100


def build(src: Path, out: Path, seed: int = SEED) -> dict:
    """Selects, decodes and writes the sample; returns its arrays."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {"class_names": np.array([str(d) for d in range(10)])}
    for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        images, labels, ids = [], [], []
        for digit in range(10):
            files = sorted((src / split / str(digit)).glob("*.png"), key=lambda p: int(p.stem))
            picked = sorted(rng.choice(len(files), size=per_class, replace=False))
            for i in picked:
                with Image.open(files[i]) as image:
                    array = np.asarray(image.convert("L"), dtype=np.uint8)
                if array.shape != (28, 28):
                    raise ValueError(f"{files[i]} is {array.shape}, expected 28x28")
                images.append(array[:, :, None])
                labels.append(digit)
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
    parser.add_argument("--src", type=Path, required=True, help="folder with train/ and test/")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(__file__).resolve().parent / "sample" / "mnist_sample.npz",
    )
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    arrays = build(args.src, args.out, args.seed)
    print(
        f"wrote {args.out} ({args.out.stat().st_size:,} bytes): "
        f"{len(arrays['y_train'])} train + {len(arrays['y_test'])} test"
    )


if __name__ == "__main__":
    main()
