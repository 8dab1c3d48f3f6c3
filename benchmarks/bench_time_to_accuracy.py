"""Time to 99 % MNIST test accuracy: `zoo train lenet5` vs the keras.io "simple MNIST convnet".

Both contenders run end to end in a fresh Python process, timed from the
process start to the end of the final test evaluation (interpreter and
backend start-up, data loading and training included), on the same decoded
arrays of the MNIST PNG folder (60,000 train, the official 10,000 test):

- **zoo**: ``zoo train lenet5 --data FOLDER``, no training flag: the LeNet-5
  default recipe, ``fast`` (`zoo.recipe_table`), with its fixed epoch count.
- **keras.io**: the model and settings of https://keras.io/examples/vision/mnist_convnet/
  (Conv32-pool-Conv64-pool-Flatten-Dropout 0.5-Dense 10 softmax, Adam,
  categorical crossentropy, batch 128, ``validation_split=0.1``), trained with
  plain ``model.fit`` one epoch at a time, the test split evaluated after each
  epoch, until it reaches the target or 15 epochs (the recipe's count). The
  arrays are the zoo's decoded ones (``zoo.data.load``, the same cache entry),
  train and validation put back together so that Keras' ``validation_split``
  holds out the same 6,000 images.

Before both, one untimed ``zoo.data.load`` fills the decoded-data cache
(`zoo.data.cache`; its time is reported as the cold decode), so both read the
same cache entry. Both use the same Keras backend (``--backend``, default
JAX, the fastest for LeNet-5 on this CPU). The load average before and
after is recorded: on a shared machine the wall times are inflated.

Data: ``--data FOLDER``, else /work/data/mnist, else ``../shared/data/mnist.tar.gz``
unpacked once into ``$TMPDIR/zoo-bench-mnist`` (kept, so the cache entry stays valid). ``--quick``: a
folder of 20 train and 10 test images per class written from the shipped
sample, one epoch each (a smoke run; no figure means anything).

Run: python benchmarks/bench_time_to_accuracy.py [--data DIR] [--backend jax] [--json out.json]
"""

from __future__ import annotations

import json
import os
import pathlib
import resource
import subprocess
import sys
import tempfile
import time

import _common

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
BEGIN, END = "<!-- BEGIN time-to-accuracy -->", "<!-- END time-to-accuracy -->"
UNPACKED = pathlib.Path("/work/data/mnist")
SEED = 1  # the fast recipe's seed: its validation split, hence the cache entry, follows it


def _data_folder(args, scratch: pathlib.Path) -> pathlib.Path | None:
    if args.quick:
        return _quick_folder(scratch / "mnist-quick")
    if args.data:
        return pathlib.Path(args.data)
    if (UNPACKED / "train").is_dir():
        return UNPACKED
    archive = _common.SHARED_DATA / "mnist.tar.gz"
    if not archive.is_file():
        return None
    import tarfile

    root = pathlib.Path(tempfile.gettempdir()) / "zoo-bench-mnist"  # kept: the cache key holds
    if not (root / "mnist" / "train").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")
    return root / "mnist"


def _quick_folder(folder: pathlib.Path, train: int = 20, test: int = 10) -> pathlib.Path:
    """A PNG class folder from the shipped sample: ``train``/``test`` images per digit."""
    import numpy as np
    from PIL import Image

    from zoo.data import load_sample_arrays

    a = load_sample_arrays()
    for split, per_class in (("train", train), ("test", test)):
        x, y = a[f"x_{split}"], a[f"y_{split}"]
        for digit in range(10):
            (folder / split / str(digit)).mkdir(parents=True, exist_ok=True)
            for i, index in enumerate(np.flatnonzero(y == digit)[:per_class]):
                Image.fromarray(x[index].squeeze()).save(folder / split / str(digit) / f"{i}.png")
    return folder


def _env(args, cache: str | None) -> dict:
    env = {**os.environ, "KERAS_BACKEND": args.backend, "TF_CPP_MIN_LOG_LEVEL": "2",
           "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}  # fmt: skip
    return {**env, "ZOO_CACHE": cache} if cache else env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run(command: list[str], env: dict) -> tuple[float, str]:
    """Runs ``command``; returns its wall time and stdout (raises with its output on failure).

    The CPU time it used (user + system, all threads) is in ``_run.cpu_s`` afterwards: on a
    shared machine it is steadier than the wall time.
    """
    start, cpu = time.perf_counter(), _cpu()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    _run.cpu_s = round(_cpu() - cpu, 1)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return wall, done.stdout


def run_zoo(folder, args, env, scratch) -> dict:
    run_dir = scratch / "zoo-run"
    command = [sys.executable, "-m", "cli.main", "train", "lenet5", "--data", str(folder),
               "--run-dir", str(run_dir), "--quiet"]  # fmt: skip
    if args.quick:
        command += ["--epochs", "1"]
    wall, _ = _run(command, env)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    record = json.loads((run_dir / "run.json").read_text())
    config = record["config"]
    return {
        "recipe": (record.get("recipe") or {}).get("name"),
        "command": "zoo train lenet5 --data FOLDER" + (" --epochs 1" if args.quick else ""),
        "wall_s": round(wall, 1),
        "cpu_s": _run.cpu_s,
        "epochs": metrics["epochs"],
        "test_accuracy": metrics["test_accuracy"],
        "batch_size": config["batch_size"],
    }


def run_reference(folder, args, env) -> dict:
    command = [sys.executable, str(HERE / "bench_time_to_accuracy.py"), "--reference",
               str(folder), "--target", str(args.target),
               "--max-epochs", "1" if args.quick else str(args.max_epochs)]  # fmt: skip
    wall, out = _run(command, env)
    result = json.loads(out.strip().splitlines()[-1])
    return {"command": "keras.io mnist_convnet, model.fit epoch by epoch", "wall_s": round(wall, 1),
            "cpu_s": _run.cpu_s, **result}  # fmt: skip


def reference_main(folder: str, target: float, max_epochs: int) -> None:
    """The keras.io recipe in this process: prints one JSON line."""
    import keras
    import numpy as np

    from zoo.data import load

    bundle = load(folder, validation_split=0.1, seed=SEED)  # the zoo's arrays (cache entry)
    x = np.concatenate([bundle.train[0], bundle.val[0]]).astype("float32") / 255
    y = keras.utils.to_categorical(np.concatenate([bundle.train[1], bundle.val[1]]), 10)
    x_test = bundle.test[0].astype("float32") / 255
    y_test = keras.utils.to_categorical(bundle.test[1], 10)
    model = keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        keras.layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        keras.layers.MaxPooling2D(pool_size=(2, 2)),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    accuracy, epochs, eval_s = 0.0, 0, 0.0
    while epochs < max_epochs and accuracy < target:
        model.fit(x, y, batch_size=128, epochs=epochs + 1, initial_epoch=epochs,
                  validation_split=0.1, verbose=0)  # fmt: skip
        epochs += 1
        start = time.perf_counter()
        accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
        eval_s += time.perf_counter() - start
        print(f"keras.io convnet: epoch {epochs}, test accuracy {accuracy:.4f}", file=sys.stderr)
    print(json.dumps({"epochs": epochs, "test_accuracy": accuracy, "test_eval_s": round(eval_s, 1),
                      "batch_size": 128, "params": model.count_params()}))  # fmt: skip


def _say(text: str) -> None:
    print(text, flush=True)


def measure(args) -> dict | None:
    with tempfile.TemporaryDirectory(prefix="zoo-tta-") as tmp:
        scratch = pathlib.Path(tmp)
        folder = _data_folder(args, scratch)
        if folder is None:
            return None
        env = _env(args, str(scratch / "cache") if args.quick else None)
        before = [round(v, 2) for v in os.getloadavg()]
        fill = (
            f"from zoo.data import load; load({str(folder)!r}, validation_split=0.1, seed={SEED})"
        )
        _say(f"filling the decoded-data cache for {folder} ...")
        cold_s, _ = _run([sys.executable, "-c", fill], env)
        _say(f"{cold_s:.1f} s. zoo train lenet5 --data {folder} ...")
        zoo_r = run_zoo(folder, args, env, scratch)
        _say(f"{zoo_r['wall_s']} s, {zoo_r['test_accuracy']:.4f}. keras.io convnet ...")
        ref_r = run_reference(folder, args, env)
    return {
        "data": str(folder) if not args.quick else "quick sample folder",
        "backend": args.backend,
        "target": args.target,
        "cache_fill_s": round(cold_s, 1),
        "zoo": zoo_r,
        "keras_io": ref_r,
        "ratio": round(ref_r["wall_s"] / zoo_r["wall_s"], 2),
        "cpu_ratio": round(ref_r["cpu_s"] / max(zoo_r["cpu_s"], 1e-9), 2),
        "load_average_before": before,
        "load_average_after": [round(v, 2) for v in os.getloadavg()],
    }


def line(r: dict) -> str:
    z, k = r["zoo"], r["keras_io"]
    date = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    reached = {True: "yes", False: "NO"}
    cpu = f" (CPU {z['cpu_s']} vs {k['cpu_s']} s: {r['cpu_ratio']}x)" if "cpu_s" in z else ""
    return (
        f"| {date} | {r['backend']} | {z['wall_s']} s, {z['epochs']} ep, "
        f"{100 * z['test_accuracy']:.2f} % ({reached[z['test_accuracy'] >= r['target']]}) | "
        f"{k['wall_s']} s, {k['epochs']} ep, {100 * k['test_accuracy']:.2f} % "
        f"({reached[k['test_accuracy'] >= r['target']]}) | **{r['ratio']}x**{cpu} | "
        f"{' / '.join(map(str, r['load_average_before']))} -> "
        f"{' / '.join(map(str, r['load_average_after']))} |"
    )


def write_results(r: dict, path: pathlib.Path) -> None:
    """Adds a row to the table between the time-to-accuracy markers of ``path`` (made if absent)."""
    text = path.read_text() if path.is_file() else "# Benchmark results\n"
    if BEGIN not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{HEADER}\n{END}\n"
    head, rest = text.split(END, 1)
    path.write_text(head.rstrip("\n") + "\n" + line(r) + "\n" + END + rest)


HEADER = """### Time to 99 % MNIST test accuracy: `zoo train lenet5` vs keras.io's simple MNIST convnet

`python benchmarks/bench_time_to_accuracy.py` (one row per run; wall time end to end: process
start, backend import, data from the decoded-data cache, training, final test evaluation; the
official 10,000-image test split; ratio = keras.io wall / zoo wall, target >= 1.5 and zoo <= 90 s;
newer rows add each contender's CPU time, user + system, steadier on a shared machine)

| measured | backend | zoo (`zoo train lenet5`, recipe `fast`) | keras.io convnet (fit until 99 % or 15 epochs) | ratio | load average before -> after |
| --- | --- | --- | --- | --- | --- |"""


def main() -> None:
    p = _common.parser(__doc__.splitlines()[0])
    p.add_argument("--data", help="MNIST PNG folder with train/ and test/ [default: see above].")
    p.add_argument("--backend", default="jax", choices=["jax", "tensorflow", "torch"])
    p.add_argument("--target", type=float, default=0.99)
    p.add_argument("--max-epochs", type=int, default=15)
    p.add_argument("--results", help="RESULTS.md to add the row to [default: benchmarks/"
                   "RESULTS.md; none with --quick].")  # fmt: skip
    p.add_argument("--reference", metavar="FOLDER", help=argparse_hidden())
    args = p.parse_args()
    if args.reference:
        reference_main(args.reference, args.target, args.max_epochs)
        return
    r = measure(args)
    if r is None:
        print("Skipped: no MNIST folder (give --data, or put mnist.tar.gz in ../shared/data).")
        _common.report("time_to_accuracy", {"skipped": "no data"}, args.json)
        return
    print(json.dumps(r, indent=2))
    print(line(r))
    results = args.results or (None if args.quick else str(HERE / "RESULTS.md"))
    if results:
        write_results(r, pathlib.Path(results))
    _common.report("time_to_accuracy", r, args.json)


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
