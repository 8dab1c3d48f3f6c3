"""The model code must not need TensorFlow: run the model tests under the JAX backend.

Many GPU hosts carry JAX or PyTorch and no TensorFlow. This starts a separate
pytest process with ``KERAS_BACKEND=jax`` over the registry-wide model tests,
the layer and data tests and the training path, with ``import tensorflow``
made to fail (``ZOO_FORBID_TENSORFLOW=1``, see conftest.py), as on a host that
has no TensorFlow.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_model_suite_passes_under_jax_without_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="jax", ZOO_FORBID_TENSORFLOW="1", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_models.py", "tests/test_layers.py", "tests/test_data.py", "tests/test_train.py"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=3000,
    check=False,
    )  # fmt: skip
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    assert " passed" in proc.stdout and " failed" not in proc.stdout, tail
