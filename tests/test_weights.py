"""Weight resolution (None | "imagenet" | file | checkpoint) and the zoo's checkpoints."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest


@pytest.fixture()
def lenet():
    import zoo

    return zoo.build_model("lenet5", num_classes=10)


def test_keras_application_table_matches_keras():
    import keras

    from zoo.weights import KERAS_APPLICATIONS

    assert set(KERAS_APPLICATIONS) == {n for n in dir(keras.applications) if n[0].isupper()}
    assert KERAS_APPLICATIONS["ResNet50"].preprocessing == "caffe"
    assert KERAS_APPLICATIONS["MobileNetV2"].preprocessing == "tf"
    assert KERAS_APPLICATIONS["DenseNet121"].preprocessing == "torch"
    assert KERAS_APPLICATIONS["EfficientNetB0"].preprocessing == "none"


def test_keras_application_names_stay_importable_from_zoo_weights():
    from zoo import keras_applications, weights

    for name in keras_applications.__all__:
        assert getattr(weights, name) is getattr(keras_applications, name)
        assert name in weights.__all__
    with pytest.raises(AttributeError, match="no attribute 'no_such_thing'"):
        weights.no_such_thing  # noqa: B018


def test_resolve_kinds(tmp_path, lenet):
    from zoo import pretrained
    from zoo.weights import WeightsError, resolve

    assert resolve(None).kind == "none" and resolve("imagenet").kind == "imagenet"
    path = tmp_path / "w.weights.h5"
    lenet.save_weights(str(path))
    assert resolve(str(path)).kind == "file"
    pretrained.publish(lenet, "lenet-w", root=tmp_path / "sm")
    got = resolve("lenet-w", root=tmp_path / "sm")
    assert got.kind == "pretrained" and got.path.endswith(os.path.join("lenet-w", "model.keras"))
    with pytest.raises(WeightsError, match=r"neither a file nor a checkpoint.*'lenet-w'"):
        resolve("lenet-x", root=tmp_path / "sm")


def test_load_weights_file_keras_and_checkpoint_by_name(tmp_path, lenet, monkeypatch):
    import zoo
    from zoo import pretrained
    from zoo.weights import WeightsError, load_weights

    path = str(tmp_path / "lenet.weights.h5")
    lenet.save_weights(path)
    other = zoo.build_model("lenet5", num_classes=10)
    load_weights(other, path)
    np.testing.assert_array_equal(
        np.asarray(other.get_layer("c1").kernel), np.asarray(lenet.get_layer("c1").kernel)
    )
    # a .keras model with its top fits a backbone without (copied by layer name)
    from zoo.saving import save_model

    save_model(lenet, tmp_path / "lenet.keras")
    backbone = zoo.build_model("lenet5", include_top=False, weights=str(tmp_path / "lenet.keras"))
    np.testing.assert_array_equal(
        np.asarray(backbone.get_layer("c5").kernel), np.asarray(lenet.get_layer("c5").kernel)
    )
    pretrained.publish(lenet, "lenet-w", root=tmp_path / "sm")
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path / "sm"))
    viaenv = zoo.build_model("lenet5", include_top=False, weights="lenet-w")
    np.testing.assert_array_equal(
        np.asarray(viaenv.get_layer("c3").kernel), np.asarray(lenet.get_layer("c3").kernel)
    )
    with pytest.raises(WeightsError, match="layer 'c1' has weights"):
        zoo.build_model(
            "lenet5",
            input_shape=(32, 32, 3),
            include_top=False,
            weights=str(tmp_path / "lenet.keras"),
        )
    with pytest.raises(WeightsError, match="no ImageNet weights"):
        zoo.build_model("lenet5", weights="imagenet")


def test_keras_application_local_file_mismatch(tmp_path):
    import keras

    from zoo.weights import WeightsError, build_keras_application

    net = keras.applications.MobileNetV2(
        weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35
    )
    path = str(tmp_path / "m.weights.h5")
    net.save_weights(path)
    loaded = build_keras_application(
        "MobileNetV2", weights=path, input_shape=(32, 32, 3), alpha=0.35
    )
    np.testing.assert_array_equal(
        np.asarray(loaded.get_layer("Conv1").kernel), np.asarray(net.get_layer("Conv1").kernel)
    )
    with pytest.raises(WeightsError, match="does not fit MobileNetV2"):
        build_keras_application("MobileNetV2", weights=path, input_shape=(32, 32, 3), alpha=0.5)
    with pytest.raises(
        WeightsError, match="not a keras.applications model. Did you mean 'MobileNetV2'"
    ):
        build_keras_application("MobileNetv2")


@pytest.mark.parametrize("how", ["get_file", "urlretrieve"])
def test_imagenet_offline_names_missing_file(tmp_path, monkeypatch, how):
    """No network: the download is stubbed to fail the way it does offline."""
    import urllib.error

    import keras

    from zoo.weights import MissingWeightsError, build_keras_application

    home = tmp_path / "keras_home"
    monkeypatch.setenv("KERAS_HOME", str(home))
    calls = []
    if how == "get_file":

        def offline(fname=None, origin=None, **kwargs):
            calls.append((fname, kwargs.get("cache_dir")))
            # Keras' get_file raises a bare Exception on a failed download: mimic it exactly.
            raise Exception(  # noqa: TRY002
                f"URL fetch failure on {origin}: None -- [Errno -3] Temporary failure in name resolution"
            )

        monkeypatch.setattr(keras.utils, "get_file", offline)
    else:
        from keras.src.utils import file_utils

        def offline(url, *args, **kwargs):
            calls.append(url)
            raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

        monkeypatch.setattr(file_utils, "urlretrieve", offline)
    fname = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    with pytest.raises(MissingWeightsError) as info:
        build_keras_application(
            "MobileNetV2", weights="imagenet", input_shape=(96, 96, 3), alpha=0.35
        )
    err = info.value
    assert calls, "the download was not attempted through Keras"
    assert err.fname == fname
    assert err.path == str(home / "models" / fname)
    assert fname in str(err) and str(home / "models" / fname) in str(err)
    assert not (home / "models" / fname).exists()


# ------------------------------------------------------------- checkpoints
def test_publish_list_load_verify(tmp_path, lenet):
    from zoo import pretrained

    root = tmp_path / "sm"
    folder = pretrained.publish(
        lenet,
        "lenet5-test",
        {"class_names": list("0123456789"), "metrics": {"acc": np.float32(0.5)}},
        root=root,
    )
    assert pretrained.list_pretrained(root) == ["lenet5-test"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["files"]["model.keras"] == pretrained.sha256_file(folder / "model.keras")
    assert manifest["class_names"] == list("0123456789") and manifest["metrics"]["acc"] == 0.5
    assert manifest["input_shape"] == [32, 32, 1] and "keras" in manifest["versions"]
    model = pretrained.load_pretrained("lenet5-test", root)
    x = np.random.default_rng(0).random((2, 32, 32, 1), dtype=np.float32)
    np.testing.assert_array_equal(
        np.asarray(model.predict_on_batch(x)), np.asarray(lenet.predict_on_batch(x))
    )
    assert not [p for p in os.listdir(root) if p.startswith(".")]  # no temp folders left


def test_publish_refuses_overwrite_and_bad_names(tmp_path, lenet):
    from zoo import pretrained

    root = tmp_path / "sm"
    pretrained.publish(lenet, "net", root=root)
    with pytest.raises(pretrained.PretrainedError, match="already exists"):
        pretrained.publish(lenet, "net", root=root)
    before = pretrained.sha256_file(root / "net" / "model.keras")
    pretrained.publish(lenet, "net", {"note": "v2"}, root=root, overwrite=True)
    assert pretrained.read_manifest("net", root)["note"] == "v2"
    assert pretrained.list_pretrained(root) == ["net"] and before
    for bad in ("../x", "/abs", "a/b", "..", ".hidden", "", "a\\b", "x" * 200):
        with pytest.raises(pretrained.PretrainedError, match="Invalid checkpoint name"):
            pretrained.publish(lenet, bad, root=root)
        with pytest.raises(pretrained.PretrainedError):
            pretrained.load_pretrained(bad, root)
    assert sorted(os.listdir(root)) == ["net"]
    assert not (tmp_path / "x").exists()
    with pytest.raises(
        pretrained.PretrainedError, match="No checkpoint 'nett'.*Did you mean 'net'"
    ):
        pretrained.load_pretrained("nett", root)


def test_tampered_checkpoint_refused(tmp_path, lenet):
    from zoo import pretrained
    from zoo.saved_models import manifest_digest

    root = tmp_path / "sm"
    folder = pretrained.publish(lenet, "net", root=root)
    with open(folder / "model.keras", "ab") as fh:
        fh.write(b"\0")
    with pytest.raises(pretrained.ChecksumError, match="does not match its manifest"):
        pretrained.load_pretrained("net", root)
    folder = pretrained.publish(lenet, "net2", root=root)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["../net/model.keras"] = "0" * 64
    manifest["manifest_sha256"] = manifest_digest(manifest)  # the manifest's own hash, redone
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(pretrained.ChecksumError, match="outside its folder"):
        pretrained.load_pretrained("net2", root)
    (folder / "model.keras").unlink()
    with pytest.raises(pretrained.PretrainedError):
        pretrained.load_pretrained("net2", root)
