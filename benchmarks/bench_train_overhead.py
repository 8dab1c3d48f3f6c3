"""zoo.train vs a bare model.fit: what the one training path costs on top of Keras.

Both sides train a fresh LeNet-5 (same seed) on the embedded MNIST sample
(4,500 train + 500 val after the default 10% carve), padded to 32x32 and
scaled by 1/255, with Adam 1e-3, categorical cross-entropy + accuracy, batch
64, shuffled, validated every epoch, ``verbose=0``:

- bare: ``model.compile(...)`` + ``model.fit(x, y, validation_data=...)`` on
  arrays prepared by hand;
- zoo: ``zoo.train(model, bundle, TrainConfig(...), evaluate_test=False)``
  with its defaults (training doctor and TerminateOnNaN on, no run folder);
- zoo + run_dir (informative): also checkpoints every epoch (model, optimizer
  and callback state, atomically) so that a killed run can resume.

Two figures per contender, timed interleaved after one warm-up call each:
the whole call (data preparation, compile, fit) and the steady-state epoch
(epochs 2.. measured by a callback, i.e. without tracing), plus the whole
call's CPU time (steadier than wall time when other jobs share the cores).
Overhead ratio = zoo / bare; the target is <= 1.03.

Also measured (bare fit, informative, for the lead's defaults): XLA
(``jit_compile=True``) and ``steps_per_execution`` on the same training.

Run: python benchmarks/bench_train_overhead.py [--quick] [--json out.json]
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time

import _common  # noqa: F401  (sys.path, quiet TF logs)
from _common import interleaved, parser, print_table, report

BATCH = 64


def _train_fn():
    import zoo

    if hasattr(zoo, "train"):
        return zoo.train
    from zoo.training.fit import train  # before zoo/__init__ exports it

    return train


class EpochTimer:
    """Collects per-epoch wall times (a Keras callback, built lazily)."""

    def __new__(cls):
        import keras

        class _Timer(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.times = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.times.append(time.perf_counter() - self._start)

        return _Timer()


def main(argv=None) -> dict:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-knobs", action="store_true", help="Skip the XLA/steps_per_execution part.")
    args = p.parse_args(argv)
    import keras
    import numpy as np

    import zoo
    import zoo.data
    from zoo.training import TrainConfig

    epochs, repeats = (2, 1) if args.quick else (args.epochs, args.repeats)
    train = _train_fn()
    bundle = zoo.data.load("mnist-sample")  # once, outside the timing, for both
    config = TrainConfig(
        epochs=epochs,
        batch_size=BATCH,
        optimizer="adam",
        learning_rate=1e-3,
        seed=None,
        validation_split=0.0,
    )
    epoch_times: dict[str, list[float]] = {}

    def fresh():
        keras.utils.set_random_seed(0)
        return zoo.build_model("lenet5", input_shape=(32, 32, 1), num_classes=10)

    def prepare(split):
        x, y = bundle.get(split)
        x = np.pad(x.astype("float32") / np.float32(255), ((0, 0), (2, 2), (2, 2), (0, 0)))
        return x, keras.utils.to_categorical(y, 10).astype("float32")

    def bare(label="bare", jit_compile="auto", steps_per_execution=1):
        def run():
            model = fresh()
            timer = EpochTimer()
            x, y = prepare("train")
            model.compile(
                optimizer=keras.optimizers.Adam(1e-3),
                loss="categorical_crossentropy",
                metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                jit_compile=jit_compile,
                steps_per_execution=steps_per_execution,
            )
            model.fit(
                x,
                y,
                batch_size=BATCH,
                epochs=epochs,
                shuffle=True,
                validation_data=prepare("val"),
                callbacks=[timer],
                verbose=0,
            )
            epoch_times.setdefault(label, []).extend(timer.times[1:])

        return run

    def with_zoo(label="zoo", run_dir=False):
        def run():
            model = fresh()
            timer = EpochTimer()
            folder = tempfile.mkdtemp(prefix="zoo-bench-run-") if run_dir else None
            try:
                train(
                    model,
                    bundle,
                    config,
                    run_dir=folder and f"{folder}/run",
                    verbose=0,
                    evaluate_test=False,
                    callbacks=[timer],
                )
            finally:
                if folder:
                    shutil.rmtree(folder, ignore_errors=True)
            epoch_times.setdefault(label, []).extend(timer.times[1:])

        return run

    contenders = {
        "bare model.fit": bare(),
        "zoo.train": with_zoo(),
        "zoo.train + run_dir": with_zoo("zoo+run_dir", run_dir=True),
    }
    labels = {"bare model.fit": "bare", "zoo.train": "zoo", "zoo.train + run_dir": "zoo+run_dir"}
    timing = interleaved(contenders, repeats=repeats, warmup=1)
    # the warm-up call's epochs are steady-state too, but keep only timed calls'
    # epochs: drop what the warm-up added (its epochs come first)
    for label in labels.values():
        epoch_times[label] = epoch_times[label][epochs - 1 :]
    base_call = timing["bare model.fit"]["median_s"]
    base_cpu = timing["bare model.fit"]["cpu_median_s"]
    base_epoch = statistics.median(epoch_times["bare"])
    rows, results = [], {}
    for name, label in labels.items():
        t = timing[name]
        ep = epoch_times[label]
        results[label] = {
            "call": t,
            "epoch_median_s": statistics.median(ep),
            "epoch_min_s": min(ep),
            "epoch_max_s": max(ep),
            "ratio_call": t["median_s"] / base_call,
            "ratio_cpu": t["cpu_median_s"] / base_cpu,
            "ratio_epoch": statistics.median(ep) / base_epoch,
            "images_per_s": bundle.num_examples("train") / statistics.median(ep),
        }
        r = results[label]
        rows.append(
            (
                name,
                f"{t['median_s']:.2f} ({t['min_s']:.2f}-{t['max_s']:.2f})",
                f"{r['ratio_call']:.3f}",
                f"{r['epoch_median_s']:.3f} ({r['epoch_min_s']:.3f}-{r['epoch_max_s']:.3f})",
                f"{r['ratio_epoch']:.3f}",
                f"{t['cpu_median_s']:.2f}",
                f"{r['ratio_cpu']:.3f}",
                f"{r['images_per_s']:.0f}",
            )
        )
    print(
        f"LeNet-5, mnist-sample ({bundle.num_examples('train')} train, "
        f"{bundle.num_examples('val')} val), batch {BATCH}, {epochs} epochs, "
        f"{repeats} interleaved repeats after 1 warm-up, backend {keras.backend.backend()}"
    )
    print_table(
        rows,
        (
            "contender",
            "call s median (min-max)",
            "ratio",
            "epoch s median (min-max)",
            "ratio",
            "call CPU s",
            "ratio",
            "train images/s",
        ),
    )

    knobs = {}
    if not args.no_knobs and not args.quick:
        variants = {
            "jit_compile=False (TF CPU default)": {"jit_compile": False},
            "jit_compile=True (XLA)": {"jit_compile": True},
            "steps_per_execution=8": {"jit_compile": False, "steps_per_execution": 8},
        }
        if keras.backend.backend() != "tensorflow":
            variants = {"default": {}}
        runs = {name: bare(label=name, **kw) for name, kw in variants.items()}
        # one call each: the process is warm by now (XLA compiles for ~30 s per call)
        timing_k = interleaved(runs, repeats=1, warmup=0)
        ref = None
        rows = []
        for name in variants:
            ep = epoch_times[name]
            med = statistics.median(ep)
            ref = ref or med
            knobs[name] = {
                "call": timing_k[name],
                "epoch_median_s": med,
                "speedup_vs_first": ref / med,
            }
            rows.append(
                (name, f"{timing_k[name]['median_s']:.2f}", f"{med:.3f}", f"{ref / med:.2f}x")
            )
        print("\nbare model.fit knobs (steady-state epoch; speed-up vs the first row):")
        print_table(rows, ("variant", "call s", "epoch s", "speed-up"))

    payload = {
        "command": "python benchmarks/bench_train_overhead.py" + (" --quick" if args.quick else ""),
        "backend": keras.backend.backend(),
        "epochs": epochs,
        "repeats": repeats,
        "batch_size": BATCH,
        "train_examples": bundle.num_examples("train"),
        "results": results,
        "target": "<= 1.03",
        "met": results["zoo"]["ratio_call"] <= 1.03 and results["zoo"]["ratio_epoch"] <= 1.03,
        "knobs": knobs,
    }
    report("train_overhead", payload, args.json)
    return payload


if __name__ == "__main__":
    main()
