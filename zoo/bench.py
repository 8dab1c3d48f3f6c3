"""Measuring a model's speed: images/s, step time, FLOPs and memory.

`benchmark_model` is what ``zoo bench NAME`` runs: it builds a registered
model, feeds it seeded random batches of the requested shape and times
``train_on_batch`` (one optimizer step) or ``predict_on_batch`` (one forward
pass) after a few warm-up steps that pay for tracing and compilation. Both
calls return NumPy values, so every timed step has really finished.

The timing helpers (`time_calls`, `summarize`, `machine_info`) are shared with
the side-by-side scripts in ``benchmarks/``, so every figure in
``benchmarks/RESULTS.md`` is measured and reported the same way.

Memory is the process's peak resident set size (``resource.getrusage``
``ru_maxrss``): it includes the backend's own buffers, which ``tracemalloc``
cannot see. The delta is how much the peak grew while the model was built and
run; it is a lower bound when the process had peaked higher before.

This module imports no Keras at import time. Layering: it builds models through
`zoo.build_model` and counts them with `zoo.info`; it imports nothing of
`zoo.training`. `machine_info` lives in `zoo.machine` and is re-exported here.

Example:

>>> from zoo.bench import benchmark_model
>>> result = benchmark_model("resnet20", batch_size=32, mode="train")  # doctest: +SKIP
>>> result["images_per_s"]  # doctest: +SKIP
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from zoo.machine import machine_info

__all__ = [
    "MODES",
    "benchmark_model",
    "format_result",
    "machine_info",
    "peak_rss_mb",
    "summarize",
    "time_calls",
]

MODES = ("train", "infer")


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def time_calls(fn: Callable[[], object], *, steps: int, warmup: int) -> list[float]:
    """Calls ``fn`` ``warmup`` times untimed, then ``steps`` times timed.

    ``fn`` must block until its work is done (return host values).

    Returns:
        The ``steps`` wall-clock durations in seconds.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def summarize(times: Sequence[float]) -> dict:
    """Median, min and max of a list of durations (seconds)."""
    if not times:
        raise ValueError("summarize needs at least one duration")
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "repeats": len(times),
    }


def _check_args(batch_size, input_shape, mode, steps, warmup):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}; received {mode!r}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int; received {batch_size!r}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive int; received {steps!r}")
    if not isinstance(warmup, int) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative int; received {warmup!r}")
    if input_shape is not None and (
        len(input_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in input_shape)
    ):
        raise ValueError(
            f"input_shape must be (height, width, channels) of positive ints; "
            f"received {input_shape!r}"
        )


def benchmark_model(
    name: str,
    *,
    batch_size: int = 8,
    input_shape: Sequence[int] | None = None,
    mode: str = "infer",
    steps: int = 10,
    warmup: int = 2,
    num_classes: int | None = None,
    jit_compile: bool | str = "auto",
    seed: int = 0,
) -> dict:
    """Times a registered model on random batches in this process's backend.

    Args:
        name: registered model name or alias.
        batch_size: images per step. Defaults to 8.
        input_shape: ``(height, width, channels)``; defaults to the model's.
        mode: ``"train"`` (one SGD step: forward, backward, update) or
            ``"infer"`` (one forward pass). Defaults to ``"infer"``.
        steps: timed steps. Defaults to 10.
        warmup: untimed steps first (tracing, compilation). Defaults to 2.
        num_classes: classes of the head; defaults to the builder's.
        jit_compile: passed to ``model.compile`` (``"auto"``: Keras' choice,
            which is XLA off on a CPU-only TensorFlow). Defaults to ``"auto"``.
        seed: seed of the random batch and of the weights. Defaults to 0.

    Returns:
        A dict: ``name``, ``mode``, ``backend``, ``batch_size``,
        ``input_shape``, ``steps``, ``warmup``, ``params``,
        ``macs_per_image`` (forward multiply-adds), ``flops_per_step``
        (2 FLOPs per MAC; a training step counts 3 forward passes),
        ``step_time`` (`summarize` of the timed steps), ``images_per_s``
        (batch size / median step time), ``achieved_gflops`` (FLOPs per
        step / median), ``build_s``, ``first_step_s`` (first warm-up step,
        mostly compilation), ``peak_rss_mb``, ``peak_rss_delta_mb`` and
        ``memory_method``.

    Raises:
        UnknownModelError: for an unknown name.
        ValueError: for invalid arguments (including the model's own input
            checks, e.g. an input below its minimum).
    """
    _check_args(batch_size, input_shape, mode, steps, warmup)
    rss_before = peak_rss_mb()

    import keras

    import zoo
    from zoo.info import count_macs

    spec = zoo.get_spec(name)
    kwargs = {}
    if input_shape is not None:
        kwargs["input_shape"] = tuple(input_shape)
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    keras.utils.set_random_seed(seed)
    start = time.perf_counter()
    model = zoo.build_model(spec.name, **kwargs)
    build_s = time.perf_counter() - start
    step = _compiled_step(model, mode, batch_size, seed, jit_compile)
    first_step_s = None
    if warmup:
        start = time.perf_counter()
        step()
        first_step_s = time.perf_counter() - start
    stats = summarize(time_calls(step, steps=steps, warmup=max(warmup - 1, 0)))
    macs = count_macs(model)
    flops_per_step = 2 * macs * batch_size * (3 if mode == "train" else 1)
    peak = peak_rss_mb()
    return {
        "name": spec.name,
        "mode": mode,
        "backend": keras.backend.backend(),
        "batch_size": batch_size,
        "input_shape": tuple(int(d) for d in model.input_shape[1:]),
        "steps": steps,
        "warmup": warmup,
        "params": int(model.count_params()),
        "macs_per_image": int(macs),
        "flops_per_step": int(flops_per_step),
        "step_time": stats,
        "images_per_s": batch_size / stats["median_s"],
        "achieved_gflops": flops_per_step / stats["median_s"] / 1e9,
        "build_s": build_s,
        "first_step_s": first_step_s,
        "peak_rss_mb": peak,
        "peak_rss_delta_mb": max(peak - rss_before, 0.0),
        "memory_method": "resource.getrusage(RUSAGE_SELF).ru_maxrss (process peak RSS)",
    }


def _compiled_step(model, mode: str, batch_size: int, seed: int, jit_compile) -> Callable:
    """Compiles ``model`` for ``mode`` and returns one blocking step on a seeded random batch.

    ``"train"``: one SGD-with-momentum ``train_on_batch``; ``"infer"``: one
    ``predict_on_batch``. Both return NumPy values, so the step has finished.
    """
    import keras
    import numpy as np

    shape = tuple(int(d) for d in model.input_shape[1:])
    classes = int(model.outputs[0].shape[-1])
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, size=(batch_size, *shape)).astype("float32")
    y = rng.integers(0, classes, size=(batch_size,)).astype("int32")
    if mode == "train":
        model.compile(
            optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            jit_compile=jit_compile,
        )
        return lambda: model.train_on_batch(x, y)
    model.compile(jit_compile=jit_compile)
    return lambda: model.predict_on_batch(x)


def format_result(result: dict) -> str:
    """A short human-readable report of a `benchmark_model` result."""
    from zoo.info import human

    t = result["step_time"]
    shape = "x".join(str(d) for d in result["input_shape"])
    what = "training step" if result["mode"] == "train" else "forward pass"
    lines = [
        (
            f"{result['name']} {result['mode']} on {result['backend']}: batch "
            f"{result['batch_size']}, input {shape}, {result['steps']} timed steps "
            f"after {result['warmup']} warm-up"
        ),
        f"  throughput:   {result['images_per_s']:.1f} images/s",
        (
            f"  step time:    median {t['median_s'] * 1e3:.1f} ms "
            f"(min {t['min_s'] * 1e3:.1f}, max {t['max_s'] * 1e3:.1f}) per {what}"
        ),
        f"  parameters:   {result['params']:,}",
        (
            f"  FLOPs:        {human(result['flops_per_step'])} per step "
            f"({human(result['macs_per_image'])} MACs per image forward); "
            f"achieved {result['achieved_gflops']:.1f} GFLOP/s"
        ),
        (
            f"  first step:   {result['first_step_s'] or 0:.2f} s (tracing/compilation); "
            f"build {result['build_s']:.2f} s"
        ),
        (
            f"  peak memory:  {result['peak_rss_mb']:.0f} MiB process peak RSS "
            f"(+{result['peak_rss_delta_mb']:.0f} MiB during this run; ru_maxrss)"
        ),
    ]
    return "\n".join(lines)
