"""Transfer vs. scratch: a pretrained backbone fine-tuned on a small new task.

Default: LeNet-5 trained on MNIST digits 0-4 (the embedded sample, 2500
images) and published into a temporary saved-models folder; the target is a
small folder of the *other* digits 5-9, ``--per-class`` images each (default
40: 200 images), tested on the sample's 500 test images of digits 5-9.

With ``--backbone NAME`` (a shipped checkpoint such as ``lenet5-mnist``,
trained on the MNIST training split), the target is a folder of all ten
digits drawn from the sample's *test* split, which the backbone never saw:
the first ``--per-class`` of each digit to train on, the rest to test on.
``--invert`` makes the target images dark-on-light. Both contenders are the
same architecture with the same epoch budget; only the starting weights
differ:

- transfer: ``zoo.fine_tune(checkpoint, ...)`` (head phase, then top block);
- scratch: ``zoo.train("lenet5", ...)`` from random initialization.

Runs in a few minutes on 2 CPU cores. Prints and optionally writes JSON.

Usage:
    python benchmarks/transfer_vs_scratch.py [--seeds 3] [--per-class 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def write_digits(
    root: pathlib.Path,
    digits,
    per_class: int | None,
    split: str,
    *,
    skip: int = 0,
    invert: bool = False,
) -> None:
    """Writes sample digits as PNG folders: per class, images ``skip`` .. ``skip + per_class``."""
    import numpy as np
    from PIL import Image

    from zoo.data import load_sample_arrays

    arrays = load_sample_arrays()
    x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
    for d in digits:
        folder = root / str(d)
        folder.mkdir(parents=True, exist_ok=True)
        members = np.flatnonzero(y == d)[skip:]
        for n, i in enumerate(members[:per_class]):
            pixels = 255 - x[i, :, :, 0] if invert else x[i, :, :, 0]
            Image.fromarray(pixels, mode="L").save(folder / f"{n:04d}.png")


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--backbone", help="An existing checkpoint to start from (default: pretrain one)."
    )
    p.add_argument("--pretrain-epochs", type=int, default=8)
    p.add_argument(
        "--per-class", type=int, default=40, help="Target-task training images per class."
    )
    p.add_argument("--epochs", type=int, default=10, help="Total epoch budget on the target task.")
    p.add_argument("--freeze-epochs", type=int, default=3)
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--json", metavar="PATH")
    p.add_argument(
        "--invert", action="store_true", help="Target images dark-on-light (scanned-paper style)."
    )
    args = p.parse_args(argv)

    import zoo.data
    import zoo.transfer
    from zoo.training.config import TrainConfig
    from zoo.training.fit import train

    work = pathlib.Path(tempfile.mkdtemp(prefix="transfer-bench-"))
    root = work / "saved_models"
    backbone = args.backbone
    if backbone is None:
        write_digits(work / "source" / "train", range(5), None, "train")
        write_digits(work / "source" / "test", range(5), None, "test")
        started = time.perf_counter()
        pre = train(
            "lenet5", work / "source", TrainConfig(epochs=args.pretrain_epochs, seed=0), verbose=0
        )
        from zoo.pretrained import publish

        publish(pre.model, "lenet5-digits04", {"architecture": "lenet5", "class_names": list(pre.class_names),
                                                "preprocessing": pre.preprocessing.to_dict(),
                                                "metrics": pre.metrics}, root=root)  # fmt: skip
        backbone = "lenet5-digits04"
        print(
            f"pretrained {backbone} on digits 0-4: {pre.metrics} ({time.perf_counter() - started:.0f}s)"
        )
        classes = range(5, 10)
        write_digits(
            work / "target" / "train", classes, args.per_class, "train", invert=args.invert
        )
        write_digits(work / "target" / "test", classes, None, "test", invert=args.invert)
    else:
        # A shipped checkpoint was trained on the MNIST training split, so the custom folder is
        # made of digits it never saw: the sample's test split (100 per digit), the first
        # --per-class of each digit to train on and the rest to test on.
        root = None
        classes = range(10)
        write_digits(work / "target" / "train", classes, args.per_class, "test", invert=args.invert)
        write_digits(
            work / "target" / "test", classes, None, "test", skip=args.per_class, invert=args.invert
        )
    target = zoo.data.load(work / "target", validation_split=0.1, seed=0)
    print(target)

    results = {"transfer": [], "scratch": []}
    phase2 = args.epochs - args.freeze_epochs
    for seed in range(args.seeds):
        # a small task: batches of 16 so that an epoch is more than a handful of steps
        cfg = TrainConfig(epochs=phase2, seed=seed, learning_rate=3e-3, batch_size=16)
        ft = zoo.transfer.fine_tune(backbone, target, root=root, freeze_epochs=args.freeze_epochs,
                                    unfreeze="all", fine_tune_lr=1e-3, config=cfg, verbose=0,
                                    head_init=None, patience=None, keep_best=False)  # the recipe recorded in TRANSFER.md (before issue 15's defaults)  # fmt: skip
        sc = train("lenet5", target, TrainConfig(epochs=args.epochs, seed=seed, learning_rate=1e-3,
                                                 batch_size=16), verbose=0)  # fmt: skip
        results["transfer"].append(ft.metrics["test_accuracy"])
        results["scratch"].append(sc.metrics["test_accuracy"])
        print(
            f"seed {seed}: transfer {ft.metrics['test_accuracy']:.3f}  scratch {sc.metrics['test_accuracy']:.3f}"
        )
    summary = {
        name: {
            "mean": statistics.mean(v),
            "sd": statistics.stdev(v) if len(v) > 1 else 0.0,
            "runs": v,
        }
        for name, v in results.items()
    }
    out = {
        "backbone": backbone,
        "target": (
            f"MNIST digits {classes.start}-{classes.stop - 1}{' inverted' if args.invert else ''}, "
            f"{args.per_class} train images per class, {target.num_examples('test')} test images"
        ),
        "epochs": args.epochs,
        "freeze_epochs": args.freeze_epochs,
        "test_accuracy": summary,
    }
    print(json.dumps(out, indent=2))
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return out


if __name__ == "__main__":
    main()
