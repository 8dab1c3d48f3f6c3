"""Fine-tune defaults vs. scratch, linear probe and the previous recipe on three transfer tasks.

Every task starts from the shipped ``lenet5-mnist`` checkpoint (LeNet-5
trained on the MNIST *training* split) and is built from real data
(``/work/data`` unpacked, else ``../shared/data/*.tar.gz`` unpacked into
``--work``):

- ``parity`` (relabelled task): MNIST *test-split* digits labelled even/odd,
  40 training images per digit (400), tested on 1,000 others;
- ``inverted`` (domain shift): MNIST test-split digits, 10 classes, dark ink
  on white, 30 per class (300), tested on 1,000 others;
- ``cifar-gray`` (another domain, new classes): CIFAR-10 training images
  converted to grayscale 28x28, 10 classes, 50 per class (500), tested on
  1,000 CIFAR-10 test images.

Each seed draws its own training subset (the test set is fixed). Four
contenders, each with its defaults only (``TrainConfig(seed=s)``):

- ``scratch``: ``zoo.train("lenet5", folder)`` from random weights;
- ``probe``: logistic regression on the backbone's features (C on val), the
  baseline `zoo.fine_tune` computes and records;
- ``previous``: main's defaults before issue 15 (`previous_recipe`: random
  head 5 epochs at lr, top block at lr/10 for 10 epochs, last epoch kept);
- ``new``: ``zoo.fine_tune(backbone, folder)`` with the new defaults.

Resumable: finished (task, seed, contender) rows are kept in ``--out`` (JSON
lines) and skipped on a re-run. Writes the table (mean ± std of test
accuracy) and a plot.

Usage:
    nice -n 10 python benchmarks/finetune_tasks.py --seeds 3 \
        --out benchmarks/finetune_tasks.jsonl --plot benchmarks/finetune_tasks.png
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import tarfile
import time

import _common
import numpy as np

TASKS = ("parity", "inverted", "cifar-gray")
CONTENDERS = ("scratch", "probe", "previous", "new")
RUN_ORDER = ("new", "probe", "previous", "scratch")  # the probe comes with "new"
TEST_PER_CLASS = 100
BACKBONE = "lenet5-mnist"


def source(name: str, work: pathlib.Path) -> pathlib.Path:
    """``/work/data/<name>``, else the shared tarball unpacked into ``work``."""
    for root in (pathlib.Path("/work/data") / name, work / name):
        if (root / "train").is_dir():
            return root
    archive = _common.SHARED_DATA / f"{name}.tar.gz"
    if not archive.is_file():
        sys.exit(f"{name}: neither /work/data/{name} nor {archive} exists.")
    with tarfile.open(archive) as tar:
        tar.extractall(work, filter="data")
    return work / name


def _files(root: pathlib.Path, split: str) -> dict[str, list[pathlib.Path]]:
    return {d.name: sorted(d.iterdir()) for d in sorted((root / split).iterdir()) if d.is_dir()}


def build_task(task: str, seed: int, work: pathlib.Path) -> pathlib.Path:
    """Writes ``work/<task>-s<seed>/{train,test}/<class>/*.png``; returns the folder."""
    from PIL import Image

    out = work / f"{task}-s{seed}"
    if (out / "done").exists():
        return out
    rng = np.random.default_rng(seed)
    mnist = task != "cifar-gray"
    root = source("mnist" if mnist else "cifar10", work)
    per_class = {"parity": 40, "inverted": 30, "cifar-gray": 50}[task]
    # MNIST: train and test images both from the test split (unseen by the backbone)
    pools = _files(root, "test") if mnist else _files(root, "train")
    tests = _files(root, "test")
    for klass, files in pools.items():
        order = rng.permutation(len(files))
        fixed = np.random.default_rng(0).permutation(len(tests[klass]))[:TEST_PER_CLASS]
        held = {tests[klass][i] for i in fixed}
        train = [files[i] for i in order if files[i] not in held][:per_class]
        for split, chosen in (("train", train), ("test", sorted(held))):
            label = ("even" if int(klass) % 2 == 0 else "odd") if task == "parity" else klass
            folder = out / split / label
            folder.mkdir(parents=True, exist_ok=True)
            for path in chosen:
                img = Image.open(path).convert("L")
                if img.size != (28, 28):
                    img = img.resize((28, 28), Image.BILINEAR)
                pixels = np.asarray(img)
                if task == "inverted":
                    pixels = 255 - pixels
                Image.fromarray(pixels, mode="L").save(folder / f"{klass}_{path.stem}.png")
    (out / "done").write_text("")
    return out


def run(contender: str, folder: pathlib.Path, seed: int, cache: dict) -> dict:
    """One contender's test accuracy (and its seconds)."""
    import zoo
    from zoo.training import TrainConfig
    from zoo.transfer.finetune import previous_recipe

    config = TrainConfig(seed=seed, doctor=False)
    start = time.time()
    if contender == "scratch":
        result = zoo.train("lenet5", str(folder), config, verbose=0)
        return {"test_accuracy": result.metrics["test_accuracy"], "seconds": time.time() - start}
    if contender == "previous":
        result = zoo.fine_tune(BACKBONE, str(folder), config=config, verbose=0,
                               **previous_recipe(config))  # fmt: skip
        return {"test_accuracy": result.metrics["test_accuracy"], "seconds": time.time() - start}
    if contender == "probe" and "probe" in cache:
        return {"test_accuracy": cache["probe"]["test_accuracy"], "C": cache["probe"]["C"],
                "seconds": 0.0}  # fmt: skip
    result = zoo.fine_tune(BACKBONE, str(folder), config=config, verbose=0)
    cache["probe"] = result.probe
    if contender == "probe":
        return {"test_accuracy": result.probe["test_accuracy"], "C": result.probe["C"],
                "seconds": time.time() - start}  # fmt: skip
    return {"test_accuracy": result.metrics["test_accuracy"], "selected": result.selected,
            "val_accuracy": result.val_accuracy, "probe_val": result.probe["val_accuracy"],
            "seconds": time.time() - start}  # fmt: skip


def _done(out: pathlib.Path) -> dict:
    rows = {}
    if out.is_file():
        for line in out.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:  # a line cut by a kill
                continue
            rows[(row["task"], row["seed"], row["contender"])] = row
    return rows


def table(rows: dict, tasks, contenders) -> str:
    lines = ["| task | " + " | ".join(contenders) + " |", "|---" * (len(contenders) + 1) + "|"]
    for task in tasks:
        cells = []
        for c in contenders:
            acc = [r["test_accuracy"] for (t, _, k), r in rows.items() if t == task and k == c]
            sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
            cells.append(f"{statistics.mean(acc):.3f} ± {sd:.3f} (n={len(acc)})" if acc else "-")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows: dict, tasks, contenders, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.8 / len(contenders)
    for j, c in enumerate(contenders):
        means, sds = [], []
        for task in tasks:
            acc = [r["test_accuracy"] for (t, _, k), r in rows.items() if t == task and k == c]
            means.append(statistics.mean(acc) if acc else 0.0)
            sds.append(statistics.stdev(acc) if len(acc) > 1 else 0.0)
        xs = [i + (j - (len(contenders) - 1) / 2) * width for i in range(len(tasks))]
        ax.bar(xs, means, width, yerr=sds, capsize=3, label=c)
    ax.set_xticks(range(len(tasks)), tasks)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title(f"Transfer from {BACKBONE}: mean ± sd over seeds")
    ax.legend(ncol=2, fontsize=8, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--tasks", default=",".join(TASKS))
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument(
        "--work", default="/tmp/finetune_tasks", help="Task folders (and unpacked data)."
    )
    p.add_argument("--out", default="benchmarks/finetune_tasks.jsonl")
    p.add_argument("--plot", default=None, help="Write the plot (PNG) here.")
    args = p.parse_args(argv)
    work, out = pathlib.Path(args.work), pathlib.Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    tasks, contenders = args.tasks.split(","), args.contenders.split(",")
    rows = _done(out)
    for task in tasks:
        for seed in range(args.seeds):
            cache: dict = {}
            for contender in [c for c in RUN_ORDER if c in contenders]:
                if (task, seed, contender) in rows:
                    continue
                folder = build_task(task, seed, work)
                row = {"task": task, "seed": seed, "contender": contender,
                       **run(contender, folder, seed, cache)}  # fmt: skip
                rows[(task, seed, contender)] = row
                with open(out, "a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(json.dumps(row), flush=True)
    print(table(rows, tasks, contenders))
    if args.plot:
        plot(rows, tasks, contenders, args.plot)


if __name__ == "__main__":
    main()
