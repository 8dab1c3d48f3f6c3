"""Untrusted model files are never executed: crafted files and a sentinel that must not appear."""

from __future__ import annotations

import os
import pickle
import zipfile

import pytest


def _lambda_model_file(tmp_path, sentinel):
    """A real `.keras` file whose Lambda layer, if ever deserialized, creates ``sentinel``."""
    import keras

    payload = eval(f"lambda x: (open({str(sentinel)!r}, 'w').write('pwned'), x)[1]")
    inputs = keras.Input((4,))
    model = keras.Model(
        inputs, keras.layers.Dense(2)(keras.layers.Lambda(payload, name="evil")(inputs))
    )
    path = tmp_path / "evil.keras"
    model.save(path)
    if sentinel.exists():  # building the graph traced the lambda once; start clean
        sentinel.unlink()
    return path


@pytest.fixture()
def sentinel(tmp_path):
    path = tmp_path / "SENTINEL"
    yield path


def test_crafted_lambda_keras_file_is_live_but_refused(tmp_path, sentinel):
    import keras

    import zoo
    from zoo.saving import load_model

    path = _lambda_model_file(tmp_path, sentinel)
    with zipfile.ZipFile(path) as archive:
        assert "Lambda" in archive.read("config.json").decode()
    # control: the payload is real — Keras with safe mode OFF runs it
    keras.saving.load_model(path, safe_mode=False)(keras.ops.ones((1, 4)))
    assert sentinel.exists()
    sentinel.unlink()
    # the zoo loads with safe_mode=True: clear error, payload never runs
    for load in (zoo.load_model, load_model):
        with pytest.raises(ValueError, match="(?i)lambda|safe"):
            load(path)
    assert not sentinel.exists()


def test_crafted_file_refused_on_every_user_entry_point(tmp_path, sentinel, monkeypatch):
    from click.testing import CliRunner

    import zoo.transfer as T
    from cli.transfer_cmds import embed_cmd, export_cmd, finetune_cmd
    from zoo.data import write_sample_folder
    from zoo.weights import load_weights

    path = _lambda_model_file(tmp_path, sentinel)
    with pytest.raises(ValueError):
        T.load_backbone(str(path), (28, 28, 1))
    import zoo

    target = zoo.build_model("lenet5")
    with pytest.raises(ValueError):
        load_weights(target, str(path))
    data = write_sample_folder(tmp_path / "digits", per_class=2)
    runner = CliRunner()
    for cmd, args in (
        (embed_cmd, [str(path), str(data), "-o", str(tmp_path / "e")]),
        (finetune_cmd, [str(path), str(data), "--quiet", "--freeze-epochs", "1"]),
        (export_cmd, [str(path), "-o", str(tmp_path / "x")]),
    ):
        result = runner.invoke(cmd, args)
        assert result.exit_code != 0 and "Error" in result.output, result.output
    assert not sentinel.exists()


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


@pytest.mark.parametrize(
    "name", ["model.pkl", "model.pickle", "model.pt", "model.h5", "model.hdf5"]
)
def test_pickle_and_h5_refused(tmp_path, sentinel, name):
    import zoo
    import zoo.transfer as T
    from zoo.saving import UnsafeModelError

    path = tmp_path / name
    if name.endswith((".h5", ".hdf5")):
        import keras

        inputs = keras.Input((4,))
        keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)  # a real legacy HDF5 model
    else:
        path.write_bytes(pickle.dumps(_Evil(sentinel)))
    with pytest.raises(UnsafeModelError, match="only '.keras' files are loaded"):
        zoo.load_model(path)
    with pytest.raises(UnsafeModelError, match="Convert it once"):
        T.load_backbone(str(path), (32, 32, 1))
    assert not sentinel.exists()


def test_pickle_disguised_as_keras_and_weights_refused(tmp_path, sentinel):
    import zoo
    from zoo.saving import UnsafeModelError
    from zoo.weights import WeightsError, load_weights

    disguised = tmp_path / "model.keras"
    disguised.write_bytes(pickle.dumps(_Evil(sentinel)))
    with pytest.raises(UnsafeModelError, match="not a '.keras' archive"):
        zoo.load_model(disguised)
    evil = tmp_path / "w.pkl"
    evil.write_bytes(pickle.dumps(_Evil(sentinel)))
    with pytest.raises(WeightsError, match="Unsupported weights file"):
        load_weights(zoo.build_model("lenet5"), str(evil))
    assert not sentinel.exists()


def test_savedmodel_folder_refused(tmp_path):
    import zoo
    from zoo.saving import UnsafeModelError

    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "saved_model.pb").write_bytes(b"")
    with pytest.raises(UnsafeModelError, match="folder"):
        zoo.load_model(folder)


def test_checkpoint_with_swapped_model_refused_before_loading(tmp_path, sentinel):
    """A checkpoint whose model.keras was replaced: the hash check stops it; a fixed-up manifest hits safe mode."""
    import json
    import shutil

    import zoo
    from zoo import pretrained
    from zoo.saved_models import manifest_digest

    root = tmp_path / "sm"
    folder = pretrained.publish(zoo.build_model("lenet5"), "net", root=root)
    evil = _lambda_model_file(tmp_path, sentinel)
    shutil.copy(evil, folder / "model.keras")
    with pytest.raises(pretrained.ChecksumError):
        pretrained.load_pretrained("net", root)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model.keras"] = pretrained.sha256_file(folder / "model.keras")
    manifest["manifest_sha256"] = manifest_digest(manifest)  # the manifest's own hash, redone
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="(?i)lambda|safe"):
        pretrained.load_pretrained("net", root)
    assert not sentinel.exists()
    assert os.listdir(root) == ["net"]
