"""The degradation experiment of He et al. (2016), Fig. 6, through ``zoo train``.

Trains plain-20, plain-56, ResNet-20 and ResNet-56 on CIFAR-10 with one
recipe, one ``zoo train`` command per curve (printed, and recorded in
``OUT/commands.json``), and plots training error (thin dashed) and test
error (bold) per epoch like the paper's Fig. 6: plain nets left, ResNets
right. The paper's finding: the deeper plain net has *higher* training
error than the shallower one (degradation), the deeper ResNet does not.

Resumable: every curve is a zoo run directory under ``--work``; a finished
run (``metrics.json`` written) is skipped, an interrupted one is continued
with ``zoo train --resume``. Kill it at any moment and start it again.

Default (CPU): a shortened schedule on a class-balanced subset, written once
as ``WORK/cifar10-subset.npz`` (see ``--train-per-class``). ``--full`` is
the paper's schedule on all of CIFAR-10 (a GPU job): all 50k training images
(the paper chose its schedule on a 45k/5k split, then trained on 50k), batch
128, SGD momentum 0.9, lr 0.1 divided by 10 at epochs 82 and 123 (32k and
48k iterations), weight decay 1e-4, flip + 4-pixel pad-and-crop, 164 epochs
(64k iterations). The CPU default: batch 32 at lr 0.025, 60 epochs, the
rate divided by 10 at epochs 30 and 45 (see `recipe`).

Run (from the repository root):
    nice -n 10 python benchmarks/degradation.py                 # CPU, shortened
    python benchmarks/degradation.py --full --work runs/deg-full --out benchmarks/degradation/full
    python benchmarks/degradation.py --plot-only                # redraw from the runs
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import pathlib
import shlex
import subprocess
import sys
import tarfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
MODELS = ("plain20", "plain56", "resnet20", "resnet56")
CANDIDATES = (
    pathlib.Path("/work/data/cifar10"),
    REPO.parent / "shared" / "data" / "cifar10.tar.gz",
    REPO.parent.parent / "shared" / "data" / "cifar10.tar.gz",
)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def rel(path) -> str:
    """``path`` relative to the repository (where the commands run) when inside it."""
    path = pathlib.Path(path).resolve()
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def recipe(args) -> list[str]:
    """The one training recipe every curve shares, as ``zoo train`` flags.

    The paper's weight decay 1e-4 is a gradient term 1e-4 * w, i.e. the loss
    term 0.5e-4 * sum(w^2): ``--l2 5e-5`` (the zoo's l2 is l2 * sum(w^2)). The
    paper divides the rate by 10 at 32k and 48k of its 64k iterations (epochs
    82 and 123 of 164): a ``multistep`` schedule at 1/2 and 3/4 of the epochs.
    The rate is the paper's 0.1 at batch 128, scaled linearly with the batch
    (Goyal et al. 2017) when ``--batch-size`` differs: the CPU run takes batch
    32 (lr 0.025) for four times the updates at about the same cost per image.
    """
    epochs = 164 if args.full else args.epochs
    batch = 128 if args.full else args.batch_size
    steps = sorted({max(1, epochs // 2), max(1, (3 * epochs) // 4)})  # short runs: one step
    milestones = ",".join(map(str, steps))
    return [
        "--epochs", str(epochs), "--batch-size", str(batch),
        "--optimizer", "momentum", "--momentum", "0.9", "--learning-rate", f"{0.1 * batch / 128:g}",
        "--schedule", "multistep", "--milestones", milestones, "--gamma", "0.1",
        "--l2", "5e-5", "--augment", "flip", "--augment", "crop:0.125",
        "--validation-split", "0" if args.full else "0.1", "--seed", str(args.seed),
        "--track-test", "--no-doctor", "--quiet",
    ]  # fmt: skip


def find_source(given: str | None) -> pathlib.Path:
    for path in [pathlib.Path(given)] if given else CANDIDATES:
        if path.exists():
            return path
    sys.exit(f"degradation: no CIFAR-10 found (tried {', '.join(map(str, CANDIDATES))}); --data")


def _subset_members(source: pathlib.Path, split: str, per_class: int):
    """Yields (class index, JPEG bytes) for the first ``per_class`` files of each class."""
    if source.is_dir():
        for k, name in enumerate(CLASSES):
            for path in sorted((source / split / name).glob("*.jpg"))[:per_class]:
                yield k, path.read_bytes()
        return
    counts = dict.fromkeys(CLASSES, 0)
    with tarfile.open(source) as tar:  # one pass, no unpacking
        for member in tar:
            parts = member.name.split("/")
            wanted = member.isfile() and len(parts) == 4 and parts[1] == split
            if wanted and parts[2] in counts and counts[parts[2]] < per_class:
                counts[parts[2]] += 1
                yield CLASSES.index(parts[2]), tar.extractfile(member).read()


def write_subset(source: pathlib.Path, path: pathlib.Path, train: int, test: int) -> None:
    """A class-balanced CIFAR-10 subset as an ``.npz`` the zoo reads (x_train, y_train, ...)."""
    import numpy as np
    from PIL import Image

    arrays = {}
    for split, per_class in (("train", train), ("test", test)):
        pairs = list(_subset_members(source, split, per_class))
        x = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for _, b in pairs])
        arrays[f"x_{split}"], arrays[f"y_{split}"] = x, np.array([k for k, _ in pairs])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, class_names=np.array(CLASSES), **arrays)
    os.replace(tmp, path)
    print(f"subset: {len(arrays['x_train'])} train, {len(arrays['x_test'])} test -> {path}")


def command_for(name: str, run_dir: pathlib.Path, data: str, flags: list[str]) -> list[str]:
    """``zoo train`` arguments: resume an unfinished run, start a new one otherwise."""
    if (run_dir / "state.json").exists():
        return ["train", "--resume", rel(run_dir)]
    fresh = ["train", name, "--data", data, "--run-dir", rel(run_dir), *flags]
    return [*fresh, "--overwrite-run"] if run_dir.exists() else fresh


def train_all(args, data: str, flags: list[str]) -> dict:
    """Trains (or resumes) every curve's run; returns each curve's full ``zoo train`` command."""
    commands = {
        name: ["zoo", "train", name, "--data", data, "--run-dir", rel(args.work / name), *flags]
        for name in args.models
    }
    if args.plot_only:
        return commands
    for name in args.models:
        run_dir = args.work / name
        if (run_dir / "metrics.json").exists():
            print(f"[{name}] finished already ({run_dir})")
            continue
        argv = command_for(name, run_dir, data, flags)
        print(f"[{name}] $ zoo {shlex.join(argv)}", flush=True)
        env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
        started = time.time()
        code = subprocess.call([sys.executable, "-m", "cli.main", *argv], cwd=REPO, env=env)
        print(f"[{name}] exit {code} after {time.time() - started:.0f}s", flush=True)
        if code != 0:
            sys.exit(f"degradation: {name} failed (exit {code}); run again to resume")
    return commands


def landscapes(args) -> dict:
    """``zoo landscape`` (1-D curve and 2-D contour) of every finished run; done ones skipped."""
    data = rel(args.work / "cifar10-subset.npz") if not args.full else rel(find_source(args.data))
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    commands = {}
    for name in args.models:
        run_dir = args.work / name
        for dims, steps in (("1", "21"), ("2", str(args.landscape_steps))):
            png = args.out / f"landscape_{name}_{dims}d.png"
            argv = ["landscape", rel(run_dir), "--data", data, "--dims", dims, "--steps", steps,
                    "--samples", str(args.landscape_samples), "-o", rel(png)]  # fmt: skip
            commands[png.name] = "zoo " + shlex.join(argv)
            if png.exists() or not (run_dir / "metrics.json").exists():
                continue
            print(f"[{name}] $ {commands[png.name]}", flush=True)
            code = subprocess.call([sys.executable, "-m", "cli.main", *argv], cwd=REPO, env=env)
            if code != 0:
                sys.exit(f"degradation: the landscape of {name} failed (exit {code})")
    return commands


def read_history(run_dir: pathlib.Path) -> dict[str, list[float]]:
    with open(run_dir / "history.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return (
        {k: [float(r[k]) if r[k] else float("nan") for r in rows] for k in rows[0]} if rows else {}
    )


def collect(args) -> dict:
    """Every finished or partial run's per-epoch errors (percent)."""
    out = {}
    for name in args.models:
        run_dir = args.work / name
        if not (run_dir / "history.csv").exists():
            continue
        h = read_history(run_dir)
        out[name] = {
            "epoch": [int(e) for e in h["epoch"]],
            "train_error": [100 * (1 - a) for a in h["accuracy"]],
            "test_error": [100 * (1 - a) for a in h.get("test_accuracy", [])],
            "epoch_time_s": h.get("epoch_time", []),
            "finished": (run_dir / "metrics.json").exists(),
        }
        (args.out / f"{name}.history.csv").write_text((run_dir / "history.csv").read_text())
    return out


def plot(curves: dict, path: pathlib.Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    colors = {"20": "tab:orange", "56": "tab:red"}
    for ax, family in zip(axes, ("plain", "resnet"), strict=True):
        for name, c in curves.items():
            if not name.startswith(family):
                continue
            color = colors.get(name[len(family) :], "gray")
            label = f"{family}-{name[len(family) :]}".replace("resnet", "ResNet")
            ax.plot(c["epoch"], c["train_error"], "--", lw=1, color=color, label=f"{label} train")
            if c["test_error"]:
                ax.plot(
                    c["epoch"], c["test_error"], "-", lw=2.2, color=color, label=f"{label} test"
                )
        ax.set_title({"plain": "plain", "resnet": "ResNet"}[family])
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    axes[0].set_ylabel("error (%)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"plot -> {path}")


def compare_landscapes(out: pathlib.Path, names=("plain56", "resnet56")) -> str | None:
    """Plain vs residual on shared axes: both 1-D curves, and the 2-D contours with the same levels."""
    import numpy as np

    grids = {}
    for name in names:
        for dims in (1, 2):
            path = out / f"landscape_{name}_{dims}d.json"
            if path.exists():
                grids[name, dims] = json.loads(path.read_text())
    if len(grids) < 4:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2))
    for name, color in zip(names, ("tab:red", "tab:blue"), strict=True):
        g = grids[name, 1]
        axes[0].plot(g["coords"], g["loss"], "o-", ms=3, color=color, label=name)
    axes[0].set(xlabel="alpha", ylabel="train loss", title="1-D, filter-normalized direction")
    axes[0].legend()
    losses = [np.asarray(grids[n, 2]["loss"], dtype=float) for n in names]
    levels = np.linspace(min(np.nanmin(v) for v in losses), max(np.nanmax(v) for v in losses), 30)
    for ax, name, loss in zip(axes[1:], names, losses, strict=True):
        c = np.asarray(grids[name, 2]["coords"])
        cs = ax.contour(c, c, loss.T, levels=levels, cmap="viridis", linewidths=1)
        ax.clabel(cs, cs.levels[::5], fontsize=7, fmt="%.1f")
        ax.plot([0], [0], "r+", ms=10)
        ax.set(title=f"{name}: 2-D (same contour levels)", xlabel="d1", ylabel="d2", aspect="equal")
    fig.tight_layout()
    path = out / "landscape_plain56_vs_resnet56.png"
    fig.savefig(path, dpi=110)
    print(f"landscape comparison -> {path}")
    return str(path)


def summarize(curves: dict) -> dict:
    """Final (last-epoch) errors and the paper's two orderings, where both curves exist."""
    last = {n: {"epochs": c["epoch"][-1], "train_error": round(c["train_error"][-1], 2),
                "test_error": round(c["test_error"][-1], 2) if c["test_error"] else None}
            for n, c in curves.items()}  # fmt: skip
    checks = {}
    if {"plain20", "plain56"} <= last.keys():
        checks["plain56_trains_worse_than_plain20"] = (
            last["plain56"]["train_error"] > last["plain20"]["train_error"]
        )
    if {"resnet20", "resnet56"} <= last.keys():
        checks["resnet56_trains_not_worse_than_resnet20"] = (
            last["resnet56"]["train_error"] <= last["resnet20"]["train_error"]
        )
    return {"final": last, "checks": checks}


def parse(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", help="CIFAR-10 folder or cifar10.tar.gz (default: found)")
    p.add_argument("--work", type=pathlib.Path, default=REPO / "runs" / "degradation")
    p.add_argument("--out", type=pathlib.Path, default=REPO / "benchmarks" / "degradation")
    p.add_argument("--full", action="store_true", help="Paper schedule, all of CIFAR-10 (GPU).")
    p.add_argument("--epochs", type=int, default=60, help="Shortened schedule's epochs.")
    p.add_argument("--batch-size", type=int, default=32, help="Shortened schedule's batch.")
    p.add_argument("--train-per-class", type=int, default=500)
    p.add_argument("--test-per-class", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    p.add_argument("--plot-only", action="store_true", help="Only redraw from the runs.")
    p.add_argument(
        "--landscape",
        action="store_true",
        help="Then `zoo landscape` each finished run (1-D and 2-D) into --out.",
    )
    p.add_argument("--landscape-steps", type=int, default=11, help="2-D grid points per axis.")
    p.add_argument("--landscape-samples", type=int, default=500, help="Train images per point.")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse(argv)
    args.work, args.out = args.work.resolve(), args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    flags = recipe(args)
    if args.full:
        data, scope = rel(find_source(args.data)), "all of CIFAR-10 (paper schedule)"
        if data.endswith(".tar.gz"):
            sys.exit("degradation --full: unpack cifar10.tar.gz and pass the folder as --data")
    else:
        data = rel(args.work / "cifar10-subset.npz")
        scope = f"{args.train_per_class}/{args.test_per_class} train/test images per class"
        if not args.plot_only and not (REPO / data).exists():
            write_subset(find_source(args.data), REPO / data,
                         args.train_per_class, args.test_per_class)  # fmt: skip
    record = {"recipe": flags, "data": scope}
    record["commands"] = {n: shlex.join(c) for n, c in train_all(args, data, flags).items()}
    (args.out / "commands.json").write_text(json.dumps(record, indent=2))
    if args.landscape:
        record["landscape_commands"] = landscapes(args)
        (args.out / "landscape_commands.json").write_text(
            json.dumps(record["landscape_commands"], indent=2)
        )
    curves = collect(args)
    summary = summarize(curves)
    (args.out / "histories.json").write_text(json.dumps({**record, **summary, "curves": curves},
                                                        indent=1))  # fmt: skip
    plot(curves, args.out / "degradation.png", f"CIFAR-10, {scope}; thin dashed: training error, "
         "bold: test error")  # fmt: skip
    compare_landscapes(args.out)
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the zoo command has said what it kept
        sys.exit("degradation: interrupted; run the same command again to resume")
