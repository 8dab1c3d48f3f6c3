"""The model code must not need TensorFlow: the backend-dependent tests run again under JAX.

Many GPU hosts carry JAX or PyTorch and no TensorFlow. This starts one pytest process with
``KERAS_BACKEND=jax`` and ``import tensorflow`` made to fail (``ZOO_FORBID_TENSORFLOW=1``,
see conftest.py), as on a host that has no TensorFlow, over the tests marked ``backend``:
those whose outcome depends on the backend (every registered model's forward pass, gradients
and save/reload on a tiny config, the custom layers and losses, the training path, resume of a
run written under TensorFlow, streaming data). Tests of pure Python or NumPy logic are not
re-run: under JAX they would prove nothing new.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest
from conftest import REPO


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_backend_dependent_tests_pass_under_jax_without_tensorflow():
    env = dict(os.environ, KERAS_BACKEND="jax", ZOO_FORBID_TENSORFLOW="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    command += ["-m", "backend", "tests"]
    proc = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=1500, check=False
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= 50, tail
    assert " failed" not in proc.stdout, tail
