"""Shared test setup: quiet backend logs, seeded randomness, backend-agnostic gradients."""

from __future__ import annotations

import atexit
import contextlib
import importlib.abc
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The decoded-data cache of image folders goes to a throwaway folder, not the user's ~/.cache.
os.environ.setdefault("ZOO_CACHE", tempfile.mkdtemp(prefix="keras-zoo-test-cache-"))
atexit.register(shutil.rmtree, os.environ["ZOO_CACHE"], ignore_errors=True)


class _BlockTensorFlow(importlib.abc.MetaPathFinder):
    """Makes ``import tensorflow`` fail, as on a GPU host that has only JAX or PyTorch."""

    def find_spec(self, name, path, target=None):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ModuleNotFoundError(
                f"No module named {name!r} (ZOO_FORBID_TENSORFLOW=1)", name=name
            )


# torch imports triton (its GPU compiler) when installed, and triton loaded into a process that
# already holds TensorFlow segfaults (torch 2.14): the tests need no triton, so it stays out.
sys.modules.setdefault("triton", None)

if os.environ.get("ZOO_FORBID_TENSORFLOW") == "1":
    sys.meta_path.insert(0, _BlockTensorFlow())

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"

#: The frameworks a light import must not pull in.
FRAMEWORKS = ("tensorflow", "keras", "jax", "torch")


def heavy_imports(code: str, heavy=FRAMEWORKS) -> list[str]:
    """Runs ``code`` in a fresh interpreter (in the repo); returns which of ``heavy`` it imported.

    A module counts when it or any of its submodules is in ``sys.modules`` afterwards;
    ``code`` failing fails the test with its output.
    """
    probe = (
        f"{code}\nimport json as _json, sys as _sys\n"
        f"print(_json.dumps(sorted({{m.split('.')[0] for m in _sys.modules}} & {set(heavy)!r})))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def _seed():
    import keras

    keras.utils.set_random_seed(1234)
    yield


def gradients(model, x, y):
    """Gradients of a sparse cross-entropy loss w.r.t. ``model.trainable_variables``.

    Test-only helper: the model code is backend-agnostic, but taking a
    gradient is backend-specific.
    """
    import keras

    backend = keras.backend.backend()

    def loss_of(y_pred):
        if isinstance(y_pred, (list, tuple)):
            y_pred = y_pred[0]
        return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, y_pred))

    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss = loss_of(model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        return [None if g is None else np.asarray(g) for g in grads]
    if backend == "jax":
        import jax

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]

        def loss_fn(tv):
            y_pred, _ = model.stateless_call(tv, non_trainable, x, training=True)
            return loss_of(y_pred)

        return [np.asarray(g) for g in jax.grad(loss_fn)(trainable)]
    if backend == "torch":
        loss = loss_of(model(x, training=True))
        loss.backward()
        return [
            None if v.value.grad is None else v.value.grad.cpu().numpy()
            for v in model.trainable_variables
        ]
    pytest.skip(f"no gradient helper for backend {backend}")


def pytest_sessionfinish(session, exitstatus):
    """With ZOO_FORBID_TENSORFLOW=1 (TensorFlow blocked), fail the run if it got imported anyway."""
    if os.environ.get("ZOO_FORBID_TENSORFLOW") == "1" and "tensorflow" in sys.modules:
        print("\nZOO_FORBID_TENSORFLOW: tensorflow was imported during the run", file=sys.stderr)
        session.exitstatus = 1


def write_digit_folder(root, classes: dict, per_class: int):
    """A flat grayscale 28x28 folder ``root/<name>/NNN.png`` of real MNIST-sample digits.

    ``classes`` maps folder names to digits; the first ``per_class`` training digits of each.
    """
    from PIL import Image

    from zoo.data import load_sample_arrays

    arrays = load_sample_arrays()
    for name, digit in classes.items():
        (root / name).mkdir(parents=True)
        for n, i in enumerate(np.flatnonzero(arrays["y_train"] == digit)[:per_class]):
            Image.fromarray(arrays["x_train"][i, :, :, 0], mode="L").save(
                root / name / f"{n:03d}.png"
            )
    return root


def publish_bn_lenet(root, name: str):
    """Publishes LeNet-5 with BatchNorm (10 classes, seeded) as ``name`` into ``root``.

    Its BatchNorm statistics are non-trivial, as a trained checkpoint's are.
    """
    import keras

    import zoo
    from zoo.pretrained import publish

    keras.utils.set_random_seed(7)
    model = zoo.build_model("lenet5", batch_norm=True, num_classes=10)
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.moving_mean.shape[0]
            layer.moving_mean.assign(np.linspace(-0.5, 0.5, n).astype("float32"))
            layer.moving_variance.assign(np.linspace(0.5, 2.0, n).astype("float32"))
    prep = {"mode": "scale", "scale": 1 / 255, "offset": 0.0, "pad_to": [32, 32], "channels": None}
    manifest = {"architecture": "lenet5", "class_names": [str(i) for i in range(10)]}
    publish(model, name, {**manifest, "preprocessing": prep}, root=root)
    return root


@contextlib.contextmanager
def keras_dtype(dtype: str):
    """Keras' float type and dtype policy set to ``dtype`` (restored after): float64 parity
    checks of deep BatchNorm nets, where float32 rounding alone exceeds 1e-4 in training mode."""
    import keras

    floatx, policy = keras.config.floatx(), keras.config.dtype_policy()
    keras.config.set_floatx(dtype)  # the inputs' dtype
    keras.config.set_dtype_policy(dtype)  # the layers' (an explicit policy overrides floatx)
    try:
        yield
    finally:
        keras.config.set_floatx(floatx)
        keras.config.set_dtype_policy(policy)
