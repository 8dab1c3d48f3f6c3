"""The same zoo models trained under TensorFlow, JAX and (when installed) PyTorch.

Each backend runs in its own subprocess (``KERAS_BACKEND`` must be set before
Keras is imported) on the same data, batch size and step count:

- LeNet-5 on the embedded MNIST sample (first 1,024 train images padded to
  32x32, scaled by 1/255), batch 64;
- ResNet-20 (CIFAR) on 256 seeded random 32x32x3 images, batch 32.

PyTorch runs with ``OMP_WAIT_POLICY=PASSIVE`` (unless set): with spinning
OpenMP threads it collapses on a machine whose cores other processes share.

Both are compiled with SGD (momentum 0.9) and sparse cross-entropy and
trained with ``model.fit`` for 1 warm-up epoch (tracing/compilation) plus
``--epochs`` timed epochs; images/s = images per epoch / median epoch time.
TensorFlow is run twice: with Keras' CPU default (no XLA) and with
``jit_compile=True``. A backend that is not installed is reported as skipped.

Run: python benchmarks/bench_backends.py [--quick] [--json out.json]
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time

import _common  # noqa: F401  (sys.path, quiet TF logs)
from _common import parser, print_table, report

VARIANTS = (
    ("tensorflow", "tensorflow", False),
    ("tensorflow+xla", "tensorflow", True),
    ("jax", "jax", "auto"),
    ("torch", "torch", "auto"),
)
MODULE = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}
# (model, batch size, images per epoch)
MODELS = (("lenet5", 64, 1024), ("resnet20", 32, 256))
QUICK_MODELS = (("lenet5", 64, 256), ("resnet20", 8, 32))


def worker(jit: str, epochs: int, quick: bool) -> dict:
    import keras
    import numpy as np

    import zoo
    import zoo.data

    jit_compile = {"True": True, "False": False}.get(jit, "auto")
    out = {"backend": keras.backend.backend(), "jit_compile": jit_compile, "models": {}}
    for name, batch, n in QUICK_MODELS if quick else MODELS:
        keras.utils.set_random_seed(0)
        if name == "lenet5":
            x, y = zoo.data.load("mnist-sample", split="train", validation_split=0).train
            x = np.pad(x[:n].astype("float32") / 255, ((0, 0), (2, 2), (2, 2), (0, 0)))
            y = y[:n]
        else:
            rng = np.random.default_rng(0)
            x = rng.uniform(0, 1, size=(n, 32, 32, 3)).astype("float32")
            y = rng.integers(0, 10, size=(n,)).astype("int32")
        model = zoo.build_model(name, input_shape=x.shape[1:], num_classes=10)
        model.compile(
            optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
            loss="sparse_categorical_crossentropy",
            jit_compile=jit_compile,
        )
        times = []

        class Timer(keras.callbacks.Callback):
            def __init__(self, times):
                super().__init__()
                self.times = times

            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self.start)

        model.fit(
            x,
            y,
            batch_size=batch,
            epochs=1 + epochs,
            shuffle=False,
            callbacks=[Timer(times)],
            verbose=0,
        )
        timed = times[1:]
        med = statistics.median(timed)
        out["models"][name] = {
            "batch_size": batch,
            "images_per_epoch": n,
            "first_epoch_s": times[0],
            "epoch_median_s": med,
            "epoch_min_s": min(timed),
            "epoch_max_s": max(timed),
            "images_per_s": n / med,
        }
    return out


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=2, help="Timed epochs per model.")
    p.add_argument("--worker", help=argparse_hidden())
    p.add_argument("--jit", default="auto", help=argparse_hidden())
    args = p.parse_args(argv)
    epochs = 1 if args.quick else args.epochs
    if args.worker:
        print("RESULT " + json.dumps(worker(args.jit, epochs, args.quick)))
        return {}

    results, skipped = {}, {}
    for label, backend, jit in VARIANTS:
        if importlib.util.find_spec(MODULE[backend]) is None:
            skipped[label] = f"{MODULE[backend]} is not installed"
            print(f"[{label}] skipped: {skipped[label]}", flush=True)
            continue
        env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if backend == "torch":
            # torch's OpenMP threads spin while waiting; on a busy machine
            # (other processes on the same cores) that is up to 30x slower.
            env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            backend,
            "--jit",
            str(jit),
            "--epochs",
            str(epochs),
        ] + (["--quick"] if args.quick else [])
        start = time.perf_counter()
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not lines:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            skipped[label] = f"failed (exit {proc.returncode}): {' | '.join(tail)}"
            print(f"[{label}] {skipped[label]}", flush=True)
            continue
        results[label] = json.loads(lines[-1][7:])
        results[label]["process_s"] = time.perf_counter() - start
        print(f"[{label}] done in {results[label]['process_s']:.0f} s", flush=True)

    rows, fastest = [], {}
    for name, *_ in QUICK_MODELS if args.quick else MODELS:
        ranked = sorted(
            ((r["models"][name]["images_per_s"], label) for label, r in results.items()),
            reverse=True,
        )
        if not ranked:
            continue
        fastest[name] = ranked[0][1]
        for ips, label in ranked:
            m = results[label]["models"][name]
            rows.append(
                (
                    name,
                    label,
                    m["batch_size"],
                    f"{ips:.0f}",
                    _span(m),
                    f"{m['first_epoch_s']:.1f}",
                    f"{ips / ranked[0][0]:.2f}",
                )
            )
    print(f"{epochs} timed epochs after 1 warm-up epoch, each backend in its own process")
    print_table(
        rows,
        (
            "model",
            "backend",
            "batch",
            "images/s",
            "epoch s median (min-max)",
            "first epoch s",
            "vs fastest",
        ),
    )
    payload = {
        "command": "python benchmarks/bench_backends.py" + (" --quick" if args.quick else ""),
        "epochs": epochs,
        "results": results,
        "skipped": skipped,
        "fastest": fastest,
    }
    report("backends", payload, args.json)
    return payload


def _span(m: dict) -> str:
    return f"{m['epoch_median_s']:.2f} ({m['epoch_min_s']:.2f}-{m['epoch_max_s']:.2f})"


def argparse_hidden():
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
