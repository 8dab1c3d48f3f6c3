"""Resident memory (RSS) of a tuning process across trials: does it stay flat?

Runs a random search of N trials (default 20) of a small MLP on a few hundred
digits of the shipped MNIST sample, in this process (``tuning.search.search``,
as ``zoo tune --in-process`` does), and records this process's RSS after every
trial. Each trial's model and Keras state are released when it ends
(``keras.backend.clear_session`` + ``gc.collect``, `tuning.tuners`); the
search keeps only the best model, on disk. The bound checked: RSS growth from
trial 5 to the last trial (after the first trials have warmed every cache)
stays under ``--bound-mb`` (default 64 MiB).

    nice -n 10 python benchmarks/bench_tuning_memory.py --trials 20 --json /tmp/tm.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

from _common import REPO, parser, report  # noqa: F401  (puts the repository on sys.path)


def rss_mib() -> float:
    """This process's resident set size (MiB), from /proc/self/status."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    p = parser("RSS of a tuning process across trials")
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--bound-mb", type=float, default=64.0)
    args = p.parse_args()
    import numpy as np

    from tuning.search import search
    from zoo.data.sample import load_sample_arrays

    folder = tempfile.mkdtemp(prefix="zoo-tune-mem-")
    a = load_sample_arrays()
    data = os.path.join(folder, "digits.npz")
    pick = np.random.default_rng(0).permutation(len(a["y_train"]))[:400]
    np.savez(data, x_train=a["x_train"][pick], y_train=a["y_train"][pick])
    per_trial = []

    def progress(line: str) -> None:
        if line.startswith("[tune] trial ") and " started" not in line:
            per_trial.append(round(rss_mib(), 1))
            print(f"{line}  RSS {per_trial[-1]:.1f} MiB", flush=True)

    before = rss_mib()
    started = time.time()
    trials = 2 if args.quick else args.trials
    search(
        "mlp", data, ["learning_rate=log:1e-3:1e-1", "hidden_units=16,32,64", "batch_size=32,64"],
        directory=os.path.join(folder, "search"), tuner="random", max_trials=trials,
        max_epochs=1, config={"jit_compile": False, "doctor": False, "validation_split": 0.2},
        seed=1, progress=progress,
    )  # fmt: skip
    warm = per_trial[min(4, len(per_trial) - 1)]
    growth = per_trial[-1] - warm
    result = {
        "trials": len(per_trial),
        "rss_mib_before_search": round(before, 1),
        "rss_mib_per_trial": per_trial,
        "growth_mib_from_trial_5": round(growth, 1),
        "bound_mib": args.bound_mb,
        "within_bound": growth <= args.bound_mb,
        "seconds": round(time.time() - started, 1),
        "loadavg": os.getloadavg(),
    }
    print(json.dumps(result, indent=2))
    report("tuning memory", result, args.json)
    return 0 if result["within_bound"] else 1


if __name__ == "__main__":
    sys.exit(main())
