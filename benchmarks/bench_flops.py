"""Achieved FLOP/s of a ResNet training step vs this machine's measured matmul peak.

Peak: the best of a few large float32 matmuls (N x N by N x N, 2*N^3 FLOPs)
with NumPy (its BLAS) and with the Keras backend (``keras.ops.matmul``).
Achieved: ResNet-20 (CIFAR, 32x32x3) training step via
`zoo.bench.benchmark_model`, counted as 3 forward passes (forward, and a
backward of about twice the forward) x 2 FLOPs per multiply-add
(`zoo.info.count_macs`); normalization, activations and the optimizer update
are not counted, so the fraction slightly understates the work done.

Run: python benchmarks/bench_flops.py [--quick] [--json out.json]
"""

from __future__ import annotations

import time

import _common  # noqa: F401  (sys.path, quiet TF logs)
from _common import parser, print_table, report


def matmul_peak(n: int, repeats: int) -> dict:
    import keras
    import numpy as np

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    flops = 2 * n**3
    out = {}
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    out["numpy"] = flops / best / 1e9
    ka, kb = keras.ops.convert_to_tensor(a), keras.ops.convert_to_tensor(b)
    keras.ops.convert_to_numpy(keras.ops.matmul(ka, kb))  # warm-up
    best = min(
        _timed(lambda: keras.ops.convert_to_numpy(keras.ops.matmul(ka, kb))) for _ in range(repeats)
    )
    out[keras.backend.backend()] = flops / best / 1e9
    return out


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None) -> dict:
    args = parser(__doc__.splitlines()[0]).parse_args(argv)
    import keras

    from zoo.bench import benchmark_model

    n = 1024 if args.quick else 4096
    peaks = matmul_peak(n, 2 if args.quick else 4)
    peak = max(peaks.values())
    cases = [("resnet20", 64 if not args.quick else 8, (32, 32, 3))]
    rows, models = [], []
    for name, batch, shape in cases:
        r = benchmark_model(
            name,
            batch_size=batch,
            input_shape=shape,
            mode="train",
            steps=3 if args.quick else 10,
            warmup=2 if not args.quick else 1,
        )
        frac = r["achieved_gflops"] / peak
        models.append({**r, "fraction_of_peak": frac})
        rows.append(
            (
                name,
                "train",
                batch,
                "x".join(map(str, shape)),
                f"{r['macs_per_image'] / 1e6:.1f} M",
                f"{r['step_time']['median_s'] * 1e3:.0f}",
                f"{r['achieved_gflops']:.1f}",
                f"{frac:.0%}",
            )
        )
    print(
        f"matmul peak (float32, {n}x{n}): "
        + ", ".join(f"{k} {v:.1f} GFLOP/s" for k, v in peaks.items())
    )
    print_table(
        rows,
        ("model", "mode", "batch", "input", "MACs/image", "step ms", "achieved GFLOP/s", "of peak"),
    )
    payload = {
        "command": "python benchmarks/bench_flops.py" + (" --quick" if args.quick else ""),
        "backend": keras.backend.backend(),
        "matmul_n": n,
        "matmul_peak_gflops": peaks,
        "peak_gflops": peak,
        "models": models,
    }
    report("flops", payload, args.json)
    return payload


if __name__ == "__main__":
    main()
