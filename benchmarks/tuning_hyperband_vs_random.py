"""Hyperband vs random search at the same trial budget: LeNet-5 on the shipped MNIST sample.

Both searches get the same space, the same number of trials and the same
largest per-trial epoch budget. Reported per tuner: best validation accuracy
reached, total epochs trained (the cost), wall time, and the test accuracy of
the best model kept by the search.

Usage:

    python benchmarks/tuning_hyperband_vs_random.py --max-trials 8 --max-epochs 6 \
        --out runs/bench-tuning

Writes ``<out>/summary.json`` and prints a Markdown table (recorded in
benchmarks/TUNING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SPACE = [
    "learning_rate=log:1e-4:1e-1",
    "optimizer=sgd,momentum,adam,rmsprop",
    "batch_size=32,64,128",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="lenet5")
    parser.add_argument("--data", default="mnist-sample")
    parser.add_argument("--max-trials", type=int, default=8)
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="runs/bench-tuning")
    args = parser.parse_args(argv)

    import keras

    from tuning.search import search

    rows = {}
    for tuner in ("random", "hyperband"):
        started = time.time()
        doc = search(
            args.model, args.data, SPACE, directory=os.path.join(args.out, tuner), tuner=tuner,
            objective="val_accuracy", max_trials=args.max_trials, max_epochs=args.max_epochs,
            config={"seed": args.seed, "doctor": False}, seed=args.seed, overwrite=True,
            progress=lambda line: print(line, flush=True),
        )  # fmt: skip
        best = doc["best"] or {}
        rows[tuner] = {
            "trials": len(doc["trials"]),
            "completed": doc["counts"].get("COMPLETED", 0),
            "best_val_accuracy": best.get("objective"),
            "best_hyperparameters": {
                k: v
                for k, v in (best.get("hyperparameters") or {}).items()
                if not k.startswith("tuner/")
            },
            "total_epochs": doc["total_epochs"],
            "seconds": round(time.time() - started, 1),
            "best_test_accuracy": (doc.get("best_model") or {})
            .get("metrics", {})
            .get("test_accuracy"),
        }
    summary = {
        "model": args.model,
        "data": args.data,
        "max_trials": args.max_trials,
        "max_epochs": args.max_epochs,
        "seed": args.seed,
        "space": SPACE,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
        "cpu_count": os.cpu_count(),
        "results": rows,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=2)
    print()
    print(
        "| tuner | trials | best val_accuracy | test accuracy of best | total epochs | wall time |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for tuner, r in rows.items():
        test = f"{r['best_test_accuracy']:.4f}" if r["best_test_accuracy"] is not None else "-"
        print(f"| {tuner} | {r['trials']} | {r['best_val_accuracy']:.4f} | {test} | {r['total_epochs']} | "
              f"{r['seconds']:.0f} s |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
