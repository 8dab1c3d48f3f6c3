"""The zoo's own pretrained checkpoints: hashes verified, accuracy re-measured.

Every checkpoint in the repository's ``saved_models/`` is reloaded through
``zoo.load_pretrained`` (which checks the sha256 of every file in its
manifest) and re-evaluated on the real data sample the project ships for its
data set. The re-measured accuracy must agree with the manifest's test-split
figure within the sampling error of a 1,000-image sample: at most three
binomial standard errors, ``3 * sqrt(p * (1 - p) / n)``, below the manifest's
accuracy ``p`` (about 0.009 for p = 0.99, 0.031 for p = 0.88 at n = 1000). A
sound checkpoint falls below that on only about 1 in 740 random samples
(normal approximation); a broken one (chance is 0.1 for 10 classes) fails.
"""

from __future__ import annotations

import math
import shutil
import sys

import pytest

from zoo.pretrained import ChecksumError, list_pretrained, read_manifest, shipped_root, verify

SHIPPED = list_pretrained(shipped_root())
# The shipped sample each checkpoint's data set has (zoo.data.load names).
SAMPLE_FOR = {"lenet5-mnist": "mnist-sample", "resnet20-cifar10": "cifar10-sample"}


def accuracy_tolerance(p: float, n: int, z: float = 3.0) -> float:
    """``z`` binomial standard errors of an accuracy ``p`` measured on ``n`` examples."""
    return z * math.sqrt(p * (1.0 - p) / n)


def test_accuracy_tolerance_is_three_standard_errors_and_can_fail():
    assert accuracy_tolerance(0.8781, 1000) == pytest.approx(0.03104, abs=1e-5)
    assert accuracy_tolerance(0.99, 1000) == pytest.approx(0.00944, abs=1e-5)
    # A model guessing among 10 classes (0.1) is far outside any manifest's band.
    for p in (0.5, 0.8781, 0.99):
        assert 0.1 < p - accuracy_tolerance(p, 1000)


def test_the_zoo_ships_its_lenet5_checkpoint():
    assert "lenet5-mnist" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_is_complete(name):
    m = read_manifest(name)
    for key in (
        "architecture",
        "class_names",
        "preprocessing",
        "metrics",
        "train_config",
        "command",
        "versions",
        "files",
    ):
        assert key in m, f"{name}: manifest lacks {key!r}"
    assert m["metrics"]["test_accuracy"] > 0
    assert name in SAMPLE_FOR, f"say which shipped sample re-measures {name}"


@pytest.mark.parametrize("name", SHIPPED)
def test_reload_verifies_hashes_and_accuracy_holds_on_the_shipped_sample(name):
    import zoo

    manifest = verify(name)
    model = zoo.load_pretrained(name)
    assert model.output_shape[-1] == len(manifest["class_names"])
    from zoo.evaluate import evaluate

    report = evaluate(name, SAMPLE_FOR[name], split="test")
    assert report["num_examples"] == 1000
    p = manifest["metrics"]["test_accuracy"]
    floor = p - accuracy_tolerance(p, report["num_examples"])
    assert report["accuracy"] >= floor, (
        f"{name}: accuracy {report['accuracy']:.4f} on {SAMPLE_FOR[name]} is below "
        f"{floor:.4f} (manifest {p:.4f} minus 3 binomial standard errors)"
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_a_modified_checkpoint_is_refused(name, tmp_path):
    import zoo

    shutil.copytree(shipped_root() / name, tmp_path / name)
    with open(tmp_path / name / "model.keras", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError, match="does not match its manifest"):
        zoo.load_pretrained(name, root=tmp_path)


CHECKPOINT_MODULES = ("saving", "saved_models", "publishing", "exporting", "pretrained")


def test_checkpoint_modules_stand_below_models_and_training():
    """Layering: saving and the checkpoint modules never import a model or training module.

    Every import statement counts, function-local ones included (they are the hidden
    cycles this guards against); importing the modules pulls in no Keras either.
    """
    import ast
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    below = ("zoo.models", "zoo.training", "zoo.transfer", "zoo.evaluate", "zoo.weights", "cli")
    offenders = []
    for name in CHECKPOINT_MODULES:
        with open(os.path.join(root, "zoo", f"{name}.py"), encoding="utf-8") as fh:
            tree = ast.parse(fh.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                modules = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            else:
                continue
            offenders += [
                f"zoo/{name}.py:{node.lineno} {m}"
                for m in modules
                if m in below or m.startswith(tuple(f"{b}." for b in below))
            ]
    assert not offenders, offenders
    code = (
        "import sys, zoo.saving, zoo.pretrained; print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('keras', 'tensorflow', 'jax', 'numpy') "
        "or m.startswith(('zoo.models', 'zoo.training'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout


def _tiny_model():
    import keras

    inputs = keras.Input((4,))
    return keras.Model(inputs, keras.layers.Dense(2)(inputs))


def test_user_folder_comes_from_env_and_publishing_never_writes_the_shipped_folder(
    tmp_path, monkeypatch
):
    from zoo import pretrained

    monkeypatch.delenv("ZOO_SAVED_MODELS", raising=False)
    monkeypatch.setenv("ZOO_HOME", str(tmp_path / "home"))
    user = tmp_path / "home" / "saved_models"
    assert pretrained.saved_models_root() == user.resolve()
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("ZOO_HOME")
    if sys.platform.startswith("linux"):
        assert pretrained.saved_models_root() == tmp_path / "xdg" / "keras-zoo" / "saved_models"
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(user))
    shipped = shipped_root()
    before = sorted(p.name for p in shipped.iterdir())
    folder = pretrained.publish(_tiny_model(), "tiny-user")
    assert folder == user.resolve() / "tiny-user"
    # Both folders are listed: the user's checkpoint and the shipped ones.
    assert {"tiny-user", "lenet5-mnist"} <= set(pretrained.list_pretrained())
    assert pretrained.list_pretrained(user) == ["tiny-user"]  # an explicit root is the only one
    # A shipped name is not shadowed by accident; with overwrite the user's copy wins.
    with pytest.raises(pretrained.PretrainedError, match="already exists.*overwrite"):
        pretrained.publish(_tiny_model(), "lenet5-mnist")
    pretrained.publish(_tiny_model(), "lenet5-mnist", overwrite=True)
    assert pretrained.model_path("lenet5-mnist") == str(
        user.resolve() / "lenet5-mnist" / "model.keras"
    )
    assert sorted(p.name for p in shipped.iterdir()) == before
    assert verify("lenet5-mnist", root=shipped)["architecture"] == "lenet5"


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_is_covered_by_its_own_hash(name, tmp_path):
    """Each shipped manifest carries manifest_sha256; an edited copy is refused."""
    import json

    from zoo.saved_models import manifest_digest

    m = read_manifest(name, shipped_root())  # verifies manifest_sha256
    assert m["manifest_sha256"] == manifest_digest(m)
    shutil.copytree(shipped_root() / name, tmp_path / name)
    path = tmp_path / name / "manifest.json"
    m["class_names"] = m["class_names"][::-1]
    path.write_text(json.dumps(m))
    with pytest.raises(ChecksumError, match="manifest.json does not match its manifest_sha256"):
        read_manifest(name, tmp_path)
