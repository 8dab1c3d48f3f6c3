"""Transfer learning: backbones, head replacement, freeze/unfreeze, fine-tune, embed, export, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import publish_bn_lenet, write_digit_folder

CLASSES = {"five": 5, "six": 6, "seven": 7}  # sorted: five, seven, six


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A small grayscale 28x28 folder of three named classes (digits 5-7)."""
    return write_digit_folder(tmp_path_factory.mktemp("data") / "digits", CLASSES, 12)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved-models folder holding 'lenet5-bn-test': LeNet-5 with BatchNorm, 10 classes."""
    return publish_bn_lenet(tmp_path_factory.mktemp("saved_models"), "lenet5-bn-test")


def _weights(model, names):
    return {n: [np.array(w) for w in model.get_layer(n).weights] for n in names}


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=False))


def test_fine_tune_checkpoint_two_phases(folder, saved, tmp_path):
    import zoo.transfer as T
    from zoo.pretrained import load_pretrained, read_manifest
    from zoo.saving import load_model
    from zoo.training.config import TrainConfig

    source = load_pretrained("lenet5-bn-test", saved)
    result = T.fine_tune(
        "lenet5-bn-test", folder, root=saved, freeze_epochs=1, unfreeze=1,
        config=TrainConfig(epochs=1, batch_size=8, learning_rate=0.05, optimizer="sgd", doctor=False, jit_compile=False),
        run_dir=tmp_path / "run", save_as="ft-test", verbose=0, keep_best=False, force=True,
    )  # fmt: skip
    model = result.model
    # 1) head replaced for the folder's classes, names in (sorted) index order
    assert result.class_names == ("five", "seven", "six")
    assert tuple(model.get_layer("predictions").weights[0].shape) == (84, 3)
    assert result.preprocessing.pad_to == (32, 32) and model.input_shape == (None, 32, 32, 1)
    backbone = [n for n in result.backbone.layer_names if model.get_layer(n).weights]
    bn = [n for n in backbone if n.endswith("_bn")]
    top = [n for n in result.unfrozen]
    assert top and all(n.startswith(("c5", "f6")) for n in top)  # top block: C5 and F6
    assert not set(top) & set(bn)
    # 2) after phase 1: every backbone weight and BN statistic bitwise unchanged, head trained
    phase1 = load_model(tmp_path / "run" / "phase1-head" / "model.keras")
    before = _weights(source, backbone)
    for name in backbone:
        assert _same(before[name], _weights(phase1, [name])[name]), name
    # 3) after phase 2: frozen layers and all BN statistics still unchanged, unfrozen ones changed
    after = _weights(model, backbone)
    for name in backbone:
        if name in top:
            assert not _same(before[name], after[name]), name
        else:
            assert _same(before[name], after[name]), name
    assert result.history["phase"] == [1, 2] and result.history["epoch"] == [1, 2]
    # 4) the published model reloads, predicts identically, keeps the class names
    x = result.preprocessing(
        np.random.default_rng(0).integers(0, 255, (4, 28, 28, 1), dtype=np.uint8)
    )
    again = load_pretrained("ft-test", saved)
    sessions = read_manifest("ft-test", saved)["sessions"]  # where and how long each phase trained
    assert [(s["phase"], s["epochs"]) for s in sessions] == [(1, [1, 1]), (2, [1, 1])]
    np.testing.assert_array_equal(
        np.asarray(model.predict_on_batch(x)), np.asarray(again.predict_on_batch(x))
    )
    manifest = read_manifest("ft-test", saved)
    assert manifest["class_names"] == ["five", "seven", "six"]
    assert manifest["preprocessing"]["pad_to"] == [32, 32]
    assert manifest["backbone"]["name"] == "lenet5-bn-test"


def test_linear_probe_keeps_backbone(folder, saved):
    import zoo.transfer as T
    from zoo.pretrained import load_pretrained
    from zoo.training.config import TrainConfig

    source = load_pretrained("lenet5-bn-test", saved)
    result = T.linear_probe("lenet5-bn-test", folder, root=saved, verbose=0,
                            config=TrainConfig(epochs=1, batch_size=16, doctor=False, jit_compile=False))  # fmt: skip
    assert result.phase2 is None and result.unfrozen == []
    names = [n for n in result.backbone.layer_names if source.get_layer(n).weights]
    for name in names:
        assert _same(_weights(source, [name])[name], _weights(result.model, [name])[name])
    assert "head_dropout" not in [layer.name for layer in result.model.layers]


def test_keras_application_with_local_weights(folder, tmp_path):
    """MobileNetV2 from a local weights file; grayscale 28x28 padded to 32 and repeated to RGB."""
    import keras

    import zoo.transfer as T
    from zoo.training.config import TrainConfig

    reference = keras.applications.MobileNetV2(
        weights=None, include_top=False, input_shape=(32, 32, 3), alpha=0.35, pooling="avg"
    )
    path = str(tmp_path / "mnv2.weights.h5")
    reference.save_weights(path)
    result = T.fine_tune(
        "MobileNetV2", folder, weights=path, model_kwargs={"alpha": 0.35}, freeze_epochs=1, unfreeze=0, channels=3,
        config=TrainConfig(epochs=1, batch_size=16, doctor=False, jit_compile=False), verbose=0,
    )  # fmt: skip
    prep = result.preprocessing
    assert (prep.mode, prep.channels, prep.pad_to) == ("tf", 3, (32, 32))
    assert result.model.input_shape == (None, 32, 32, 3)
    np.testing.assert_array_equal(
        np.asarray(result.model.get_layer("Conv1").kernel),
        np.asarray(reference.get_layer("Conv1").kernel),
    )
    # phase 2 (trained on LeNet above) would unfreeze the top block by Keras' names
    names = result.backbone.layer_names
    assert T.unfreeze_top(result.model, names, 1) == ["Conv_1"]
    assert not result.model.get_layer("Conv_1_bn").trainable
    top2 = T.unfreeze_top(result.model, names, 2)
    assert top2[0] == "block_16_expand" and top2[-1] == "Conv_1"
    assert not any(n.endswith(("_BN", "_bn")) for n in top2)


def test_block_grouping_names():
    import zoo
    from zoo.transfer import backbone_blocks

    vgg = zoo.build_model("vgg11", include_top=False, input_shape=(32, 32, 3))
    assert [k for k, _ in backbone_blocks(vgg)] == [f"block{i}" for i in range(1, 6)]
    res = zoo.build_model("resnet20", include_top=False, pooling="avg", input_shape=(16, 16, 3))
    keys = [k for k, _ in backbone_blocks(res)]
    assert keys[0] == "conv1" and keys[-1] == "stage3_unit3" and len(keys) == 10
    goog = zoo.build_model(
        "googlenet", include_top=False, aux_logits=False, input_shape=(64, 64, 3)
    )
    keys = [k for k, _ in backbone_blocks(goog)]
    assert keys[-2:] == ["inception_5a", "inception_5b"] and "inception_4a" in keys


def test_unfreeze_by_prefix_and_errors():
    import zoo
    from zoo.transfer import attach_head, freeze, unfreeze_top

    backbone = zoo.build_model("vgg11", include_top=False, pooling="avg", input_shape=(32, 32, 3))
    names = [layer.name for layer in backbone.layers]
    model = attach_head(backbone, 4)
    freeze(model, names)
    trained = unfreeze_top(model, names, "block5_")
    assert trained == ["block5_conv1", "block5_conv2"]
    assert (
        model.get_layer("block5_conv1").trainable and not model.get_layer("block4_conv2").trainable
    )
    with pytest.raises(ValueError, match="has 5 blocks"):
        unfreeze_top(model, names, 9)
    with pytest.raises(ValueError, match="No backbone layer name starts with 'block9_'"):
        unfreeze_top(model, names, "block9_")
    with pytest.raises(ValueError, match="already has layer"):
        attach_head(model, 3)


def test_backbone_below_minimum_is_padded_and_unknown_names_suggest():
    import zoo
    import zoo.transfer as T
    from zoo.weights import build_keras_application

    bb = T.load_backbone("vgg11", (16, 16, 1), weights=None)
    assert bb.preprocessing.pad_to == (32, 32) and bb.model.input_shape == (None, 32, 32, 1)
    with pytest.raises(ValueError, match="InceptionV3 needs inputs of at least 75x75"):
        build_keras_application("InceptionV3", input_shape=(64, 64, 3))
    with pytest.raises(zoo.UnknownModelError, match="Did you mean"):
        T.load_backbone("resnet21", (32, 32, 3))


def test_embed_and_cli(folder, saved, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from cli.transfer_cmds import embed_cmd, export_cmd, finetune_cmd

    monkeypatch.setenv("ZOO_SAVED_MODELS", str(saved))
    runner = CliRunner()
    out = tmp_path / "emb"
    res = runner.invoke(
        embed_cmd, ["lenet5-bn-test", str(folder), "-o", str(out), "--split", "train"]
    )
    assert res.exit_code == 0, res.output
    feats, labels = np.load(out / "features_train.npy"), np.load(out / "labels_train.npy")
    assert feats.shape == (36, 84) and labels.shape == (36,) and set(labels.tolist()) == {0, 1, 2}
    assert json.loads((out / "class_names.json").read_text())["class_names"] == [
        "five",
        "seven",
        "six",
    ]

    res = runner.invoke(finetune_cmd, ["lenet5-bn-test", str(folder), "--freeze-epochs", "1", "--epochs", "1",
                                       "--unfreeze", "c5", "--save-as", "cli-ft", "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (saved / "cli-ft" / "manifest.json").is_file()
    res = runner.invoke(finetune_cmd, ["nosuchnet", str(folder), "--quiet"])
    assert res.exit_code != 0 and "Unknown model" in res.output

    res = runner.invoke(
        export_cmd, ["cli-ft", "-o", str(tmp_path / "sm"), "--format", "savedmodel"]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sm" / "saved_model.pb").is_file()
    res = runner.invoke(
        export_cmd, ["cli-ft", "-o", str(tmp_path / "sm"), "--format", "savedmodel"]
    )
    assert res.exit_code != 0 and "exists" in res.output


def test_backbone_is_cut_below_the_dropout_before_predictions(tmp_path):
    """A classifier's features are the input of ``predictions``, Dropout layers skipped,
    in the model as built and as reloaded from ``.keras``."""
    import keras

    import zoo.transfer as T
    from zoo.saving import load_model, save_model

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="features")(x)
    x = keras.layers.Dropout(0.5, name="drop1")(keras.layers.Dropout(0.1, name="drop0")(x))
    model = keras.Model(inputs, keras.layers.Dense(3, name="predictions")(x))
    save_model(model, tmp_path / "clf.keras")
    for net in (model, load_model(tmp_path / "clf.keras")):
        bb = T.load_backbone(net, (8, 8, 1))
        assert bb.model.output_shape == (None, 4)
        assert bb.layer_names[-1] == "features"
        assert not {"drop0", "drop1", "predictions"} & set(bb.layer_names)


def test_finetune_cli_policies_and_carved_split(folder, saved, tmp_path, monkeypatch):
    """--discriminative, --bn train and --test-split reach fine_tune; the carve is saved."""
    from click.testing import CliRunner

    from cli.transfer_cmds import finetune_cmd

    monkeypatch.setenv("ZOO_SAVED_MODELS", str(saved))
    run = tmp_path / "run"
    res = CliRunner().invoke(finetune_cmd, ["lenet5-bn-test", str(folder), "--freeze-epochs", "1",
                                            "--epochs", "1", "--unfreeze", "2", "--discriminative",
                                            "--bn", "train", "--test-split", "0.25", "--batch-size", "8",
                                            "--run-dir", str(run), "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "c3: " in res.output and "0.01 x the head's rate" in res.output
    assert "test 9 images" in res.output and "test_accuracy" in res.output
    splits = json.loads((run / "splits.json").read_text())
    assert len(splits["test"]) == 9 and not set(splits["test"]) & set(splits["train"])
    res = CliRunner().invoke(finetune_cmd, ["lenet5-bn-test", str(folder), "--discriminative", "1"])
    assert res.exit_code != 0 and "--discriminative" in res.output
