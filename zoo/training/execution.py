"""Where and how a run executes: mixed precision, distribution, and the record of the machine.

`precision_policy` and `distribution_scope` are the contexts the model is built
and compiled in; `machine` and `versions` describe, for run.json sessions and
published manifests, what trained it.
"""

from __future__ import annotations

import contextlib
import platform
from collections.abc import Iterator

from zoo.training.config import TrainConfig

__all__ = ["backend_devices", "distribution_scope", "machine", "precision_policy", "versions"]


@contextlib.contextmanager
def precision_policy(config: TrainConfig) -> Iterator[None]:
    """Sets Keras' mixed-precision policy per ``config.mixed_precision``; restores it after."""
    import keras

    if not config.mixed_precision:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(
        "mixed_bfloat16" if config.mixed_precision == "bfloat16" else "mixed_float16"
    )
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def distribution_scope(config: TrainConfig):
    """The scope models are built and compiled in, per ``config.distribute``.

    Raises:
        ValueError: a strategy the current backend does not have.
    """
    import keras

    if config.distribute == "none":
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "tensorflow" and config.distribute in ("auto", "mirrored"):
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    if backend == "jax" and config.distribute in ("auto", "data_parallel"):
        from zoo.training import distribute

        distribute.start(config)  # DataParallel (across processes when the environment says so)
        return contextlib.nullcontext()
    if config.distribute == "data_parallel":
        from zoo.training import distribute

        distribute.start(config)  # raises: what Keras 3 supports on this backend
    raise ValueError(
        f"distribute={config.distribute!r} is not available on the {backend} backend: use "
        f"'mirrored' (TensorFlow) or 'data_parallel' (JAX), or 'auto'."
    )


def backend_devices() -> list[str]:
    """The devices the Keras backend sees (informational; empty when they cannot be listed)."""
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return [str(d) for d in jax.devices()]
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_logical_devices()]
    except Exception:  # noqa: BLE001 -- device listing is informational only
        return []
    return []


def machine() -> dict:
    """Where a model was trained: CPU, cores, GPU names, platform, backend devices."""
    from zoo.machine import machine_info

    info = machine_info()
    return {
        "cpu": info["cpu"],
        "cpus": info["cores"],
        "gpus": info["gpus"],
        "platform": info["platform"],
        "backend_devices": backend_devices(),
    }


def versions() -> dict:
    """Versions of the zoo, Keras, its backend and Python."""
    import keras

    import zoo

    return {
        "zoo": zoo.__version__,
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "python": platform.python_version(),
    }
