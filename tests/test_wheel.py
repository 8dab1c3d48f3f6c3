"""The built wheel works like the clone: shipped checkpoints inside, user checkpoints outside.

Builds the wheel from a copy of the sources (offline: ``--no-deps --no-build-isolation``),
installs it into a fresh virtual environment that sees the current environment's packages
(``--system-site-packages``: Keras and TensorFlow come from here, nothing is downloaded), and
from a folder outside the repository, with the checkout nowhere on ``sys.path``, lists and loads
``lenet5-mnist`` from the installed package data and publishes a checkpoint to the user folder
(``$ZOO_HOME/saved_models``), leaving every installed file of the package as it was.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

REPO = Path(__file__).resolve().parent.parent
SOURCES = ("setup.cfg", "pyproject.toml", "README.md", "zoo", "cli", "tuning", "saved_models")
SHIPPED = ("lenet5-mnist", "resnet20-cifar10")

# Runs in the venv, from outside the repository; prints one JSON line.
SCRIPT = r"""
import hashlib, json, pathlib, sys

repo = pathlib.Path(sys.argv[1]).resolve()
assert not any(pathlib.Path(p or ".").resolve() == repo for p in sys.path), sys.path
import zoo
from zoo import pretrained, saved_models

package = pathlib.Path(zoo.__file__).resolve().parent

def snapshot():
    return {str(f.relative_to(package)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(package.rglob("*")) if f.is_file() and "__pycache__" not in f.parts}

before = snapshot()
listed = pretrained.list_pretrained()
folder = saved_models.checkpoint_folder("lenet5-mnist")
model = pretrained.load_pretrained("lenet5-mnist")
import keras
inputs = keras.Input((4,))
published = pretrained.publish(keras.Model(inputs, keras.layers.Dense(2)(inputs)), "tiny-user")
print(json.dumps({
    "zoo": str(package), "prefix": sys.prefix, "listed": listed, "folder": str(folder),
    "params": model.count_params(), "published": str(published),
    "listed_after": pretrained.list_pretrained(), "untouched": snapshot() == before,
    "shipped_files": sorted(k for k in before if k.startswith("saved_models_data/")),
}))
"""


def _require_tools() -> None:
    for module, why in (("wheel", "building the wheel"), ("venv", "a fresh environment"),
                        ("pip", "installing the wheel"), ("setuptools", "the build backend")):  # fmt: skip
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed ({why} needs it)")


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _build_wheel(tmp_path: Path) -> Path:
    """Builds from a copy, so the checkout gets no build/ or egg-info."""
    src = tmp_path / "src"
    src.mkdir()
    for name in SOURCES:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, src / name)
    wheelhouse = tmp_path / "wheelhouse"
    _run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation",
          "--no-index", "-q", "-w", str(wheelhouse)])  # fmt: skip
    (wheel,) = wheelhouse.glob("keras_zoo-*.whl")
    return wheel


def test_the_wheel_ships_the_checkpoints_and_publishes_outside_the_package(tmp_path):
    _require_tools()
    wheel = _build_wheel(tmp_path)
    members = set(zipfile.ZipFile(wheel).namelist())
    for name in SHIPPED:
        for file in ("manifest.json", "model.keras"):
            assert f"zoo/saved_models_data/{name}/{file}" in members

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)])
    python = venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ZOO_SAVED_MODELS")}
    env.update(ZOO_HOME=str(tmp_path / "home"), TF_CPP_MIN_LOG_LEVEL="3")
    outside = tmp_path / "outside"
    outside.mkdir()
    # pip comes from the current environment; --ignore-installed: a development install of
    # keras-zoo visible through --system-site-packages must not count as "already satisfied".
    _run([str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--ignore-installed",
          "-q", str(wheel)], cwd=outside, env=env)  # fmt: skip
    repo_before = sorted(p.name for p in (REPO / "saved_models").iterdir())

    proc = _run([str(python), "-c", SCRIPT, str(REPO)], cwd=outside, env=env)
    got = json.loads(proc.stdout.strip().splitlines()[-1])

    site = Path(got["prefix"]).resolve()
    assert site == venv.resolve()
    zoo_dir = Path(got["zoo"])
    assert zoo_dir.is_relative_to(venv.resolve()), f"zoo imported from {zoo_dir}, not the venv"
    assert set(SHIPPED) <= set(got["listed"])
    assert Path(got["folder"]) == zoo_dir / "saved_models_data" / "lenet5-mnist"
    assert got["params"] > 0
    user = (tmp_path / "home" / "saved_models").resolve()
    assert Path(got["published"]) == user / "tiny-user"
    assert (user / "tiny-user" / "manifest.json").is_file()
    assert {"tiny-user", *SHIPPED} <= set(got["listed_after"])
    assert got["untouched"], "publishing changed the installed package's files"
    assert len(got["shipped_files"]) == 3 * len(SHIPPED)
    assert sorted(p.name for p in (REPO / "saved_models").iterdir()) == repo_before

    # The installed command lists both folders; --saved-models picks another user folder.
    zoo_cmd = venv / ("Scripts/zoo.exe" if os.name == "nt" else "bin/zoo")
    listing = _run([str(zoo_cmd), "models", "--pretrained"], cwd=outside, env=env).stdout
    assert all(name in listing for name in ("tiny-user", *SHIPPED)), listing
    other = tmp_path / "other"
    listing = _run([str(zoo_cmd), "models", "--pretrained", "--saved-models", str(other)],
                   cwd=outside, env=env).stdout  # fmt: skip
    assert "tiny-user" not in listing and all(name in listing for name in SHIPPED), listing
