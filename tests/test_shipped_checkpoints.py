"""The zoo's own pretrained checkpoints: hashes verified, accuracy re-measured.

Every checkpoint in the repository's ``saved_models/`` is reloaded through
``zoo.load_pretrained`` (which checks the sha256 of every file in its
manifest) and re-evaluated on the real data sample the project ships for its
data set. The re-measured accuracy must agree with the manifest's test-split
figure within the sampling error of a 1,000-image sample.
"""

from __future__ import annotations

import shutil

import pytest

from zoo.pretrained import ChecksumError, list_pretrained, read_manifest, verify

SHIPPED = list_pretrained()
# The shipped sample each checkpoint's data set has (zoo.data.load names).
SAMPLE_FOR = {"lenet5-mnist": "mnist-sample"}


def test_the_zoo_ships_its_lenet5_checkpoint():
    assert "lenet5-mnist" in SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
def test_manifest_is_complete(name):
    m = read_manifest(name)
    for key in ("architecture", "class_names", "preprocessing", "metrics", "train_config", "command", "versions", "files"):
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
    assert report["accuracy"] >= manifest["metrics"]["test_accuracy"] - 0.015


@pytest.mark.parametrize("name", SHIPPED)
def test_a_modified_checkpoint_is_refused(name, tmp_path):
    import zoo
    from zoo.pretrained import saved_models_root

    shutil.copytree(saved_models_root() / name, tmp_path / name)
    with open(tmp_path / name / "model.keras", "r+b") as fh:
        fh.seek(100)
        byte = fh.read(1)
        fh.seek(100)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ChecksumError, match="does not match its manifest"):
        zoo.load_pretrained(name, root=tmp_path)
