"""Fine-tune defaults: the linear probe and its guard, gradual unfreezing, class weights,
channels, model cards."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from conftest import publish_bn_lenet, write_digit_folder

CLASSES = {"five": 5, "six": 6, "seven": 7}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A flat grayscale 28x28 folder, imbalanced: five/ 20, seven/ 10, six/ 10 images."""
    root = write_digit_folder(tmp_path_factory.mktemp("data") / "digits", CLASSES, 20)
    for name in ("six", "seven"):
        for path in sorted((root / name).iterdir())[10:]:
            path.unlink()
    return root


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return publish_bn_lenet(tmp_path_factory.mktemp("saved_models"), "lenet5-bn-def")


def _config(**kw):
    from zoo.training.config import TrainConfig

    base = {"batch_size": 8, "doctor": False, "jit_compile": False, "seed": 0}
    return TrainConfig(**{**base, **kw})


def test_probe_guard_refuses_a_worse_result_and_force_publishes_it_with_a_card(
    folder, saved, tmp_path
):
    """A random head barely trained is worse than the probe on validation: not published, unless
    force (a warning); the checkpoint gets a model card derived from its manifest."""
    import zoo
    from zoo.model_card import CARD_FILE, model_card
    from zoo.pretrained import read_manifest
    from zoo.transfer import fine_tune

    worse = {"root": saved, "freeze_epochs": 1, "unfreeze": 0, "head_init": None,
             "keep_best": False, "head_lr": 1e-7, "config": _config(epochs=1), "verbose": 0,
             "save_as": "worse"}  # fmt: skip
    with pytest.raises(ValueError, match=r"Not published: .* below the linear probe's .*--force"):
        fine_tune("lenet5-bn-def", folder, run_dir=tmp_path / "a", **worse)
    assert not (saved / "worse").exists()
    assert json.loads((tmp_path / "a" / "finetune.json").read_text())["probe"]["C"] > 0
    with pytest.warns(UserWarning, match="WORSE THAN THE LINEAR PROBE"):
        result = fine_tune("lenet5-bn-def", folder, force=True, **worse)
    assert result.val_accuracy < result.probe["val_accuracy"]
    manifest = read_manifest("worse", saved)
    zoo.load_pretrained("worse", saved)  # hashes (manifest's own included) still hold
    card = (saved / "worse" / CARD_FILE).read_text()
    assert card == model_card(manifest) and CARD_FILE not in manifest["files"]
    for fact in ("LeNet-5", "LeCun et al. 1998", "Fine-tuned from `lenet5-bn-def`",
                 "test split, 4 images", "Linear probe", "five, seven, six", "## Intended use",
                 "## How to reproduce", manifest["manifest_sha256"]):  # fmt: skip
        assert fact in card, fact


class _Interrupt(Exception):
    pass


def _stop_at_call(n):
    """Raises at the ``n``-th epoch begun in this process (counted over runs)."""
    import keras

    seen = [0]

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen[0] += 1
            if seen[0] == n:
                raise _Interrupt

    return Stop()


def test_gradual_unfreezing_one_group_per_stage_and_resume(folder, saved, tmp_path):
    """Stage 1 trains only the top group (c5), stage 2 adds c3; a kill in stage 2 resumes there."""
    from zoo.pretrained import load_pretrained
    from zoo.saving import load_model
    from zoo.transfer import fine_tune

    source = load_pretrained("lenet5-bn-def", saved)
    kwargs = {"root": saved, "freeze_epochs": 0, "unfreeze": 2, "schedule": "gradual",
              "keep_best": False, "config": _config(epochs=4, learning_rate=0.01), "verbose": 0}  # fmt: skip
    with pytest.raises(_Interrupt):  # killed in stage 2's second epoch
        fine_tune("lenet5-bn-def", folder, run_dir=tmp_path, callbacks=[_stop_at_call(4)], **kwargs)
    result = fine_tune("lenet5-bn-def", folder, run_dir=tmp_path, resume=True, **kwargs)
    assert result.history["epoch"] == [1, 2, 3, 4] and len(result.stages) == 2
    assert [len(s.history["epoch"]) for s in result.stages] == [2, 2]
    stage1 = load_model(tmp_path / "phase2-stage1" / "model.keras")

    def changed(model, name):
        old = [np.array(w) for w in source.get_layer(name).weights]
        return not all(
            np.array_equal(a, np.array(b))
            for a, b in zip(old, model.get_layer(name).weights, strict=True)
        )

    assert changed(stage1, "c5") and not changed(stage1, "c3") and not changed(stage1, "c1")
    assert changed(result.model, "c3") and not changed(result.model, "c1")
    assert {"c3", "c5"} <= set(result.unfrozen) and "c1" not in result.unfrozen


def test_balanced_class_weights_change_the_loss_as_computed_by_hand(tmp_path):
    import keras

    import zoo
    from zoo.training.preprocess import Preprocessing
    from zoo.transfer.probe import class_weights

    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    weights = class_weights(labels, 3, "balanced")
    assert weights == pytest.approx({0: 8 / 12, 1: 8 / 6, 2: 8 / 6})
    with pytest.raises(ValueError, match="no training images"):
        class_weights(np.array([0, 0, 1]), 3, "balanced")
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 1))
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="predictions")(
        keras.layers.Flatten()(inputs)))  # fmt: skip
    x = np.random.default_rng(0).integers(0, 255, (8, 4, 4, 1)).astype("uint8")
    np.savez(tmp_path / "d.npz", x_train=x, y_train=labels, x_test=x, y_test=labels)
    p = np.asarray(model.predict_on_batch(x.astype("float32") / 255))
    ce = -np.log(p[np.arange(8), labels])
    losses = {}
    for name, cw in (("plain", None), ("weighted", weights)):
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        result = zoo.train(
            clone, str(tmp_path / "d.npz"), _config(epochs=1, batch_size=8, validation_split=0.0,
            optimizer="sgd", learning_rate=1e-9), preprocessing=Preprocessing(), class_weight=cw,
            verbose=0,
        )  # fmt: skip
        losses[name] = result.history["loss"][0]
    assert losses["plain"] == pytest.approx(ce.mean(), rel=1e-4)
    hand = np.mean([weights[int(y)] * c for y, c in zip(labels, ce, strict=True)])
    assert losses["weighted"] == pytest.approx(hand, rel=1e-4)
    assert abs(losses["weighted"] - losses["plain"]) > 1e-3


def test_class_weights_of_a_streamed_folder(folder, monkeypatch):
    """A folder too large for memory is streamed; its training labels still give the weights."""
    from zoo.transfer.carving import carve_folder
    from zoo.transfer.probe import class_weights, train_labels

    monkeypatch.setattr("zoo.data.sources.DEFAULT_MAX_IN_MEMORY_BYTES", 0)
    bundle, splits = carve_folder(folder, _config(), test_split=0.1)
    assert "streaming" in bundle.source
    counts = [sum(p.startswith(f"{c}/") for p in splits["train"]) for c in ("five", "seven", "six")]
    assert np.bincount(train_labels(bundle)).tolist() == counts
    weights = class_weights(train_labels(bundle), 3, "balanced")
    assert weights[0] == pytest.approx(sum(counts) / (3 * counts[0])) and weights[0] < weights[1]


def test_rgb_data_on_a_grayscale_backbone_needs_channels(folder, saved, tmp_path):
    from PIL import Image

    from zoo.transfer import load_backbone
    from zoo.transfer.probe import check_channels

    rgb = tmp_path / "rgb"
    for path in folder.rglob("*.png"):
        (rgb / path.parent.name).mkdir(parents=True, exist_ok=True)
        Image.open(path).convert("RGB").save(rgb / path.parent.name / path.name)
    from zoo.transfer import fine_tune

    with pytest.raises(ValueError, match=r"rgb: the images have 3 channel.*--channels 1"):
        fine_tune("lenet5-bn-def", rgb, root=saved, config=_config(epochs=1), verbose=0)
    bb = load_backbone("lenet5-bn-def", (28, 28, 3), root=saved)
    check_channels(bb, 3, 1, rgb)  # asked for: converted to gray by the preprocessing
    assert bb.preprocessing.channels == 1
    with pytest.raises(ValueError, match="takes 1-channel"):
        check_channels(bb, 3, 3, rgb)


def test_shipped_checkpoints_have_their_generated_cards():
    from zoo.model_card import CARD_FILE, model_card
    from zoo.pretrained import read_manifest
    from zoo.saved_models import shipped_root

    for name in ("lenet5-mnist", "resnet20-cifar10"):
        card = (shipped_root() / name / CARD_FILE).read_text(encoding="utf-8")
        assert card == model_card(read_manifest(name, shipped_root())), name
        assert "test split, 10,000 images" in card


def test_cli_defaults_never_worse_than_the_probe_and_class_weights(
    folder, saved, tmp_path, monkeypatch
):
    """The defaults (probe head, every block unfrozen, best kept) with --class-weight balanced."""
    from click.testing import CliRunner

    from cli.transfer_cmds import finetune_cmd

    monkeypatch.setenv("ZOO_SAVED_MODELS", str(saved))
    with warnings.catch_warnings():
        res = CliRunner().invoke(finetune_cmd, [
            "lenet5-bn-def", str(folder), "--freeze-epochs", "1", "--epochs", "2",
            "--class-weight", "balanced", "--batch-size", "8", "--run-dir", str(tmp_path),
            "--quiet"])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "Linear probe (logistic regression" in res.output and "Kept: " in res.output
    record = json.loads((tmp_path / "finetune.json").read_text())
    assert record["val_accuracy"] >= record["probe"]["val_accuracy"]
    assert (
        record["selected"] in ("probe", "phase1", "phase2") and record["plan"]["unfreeze"] == "all"
    )
    train = json.loads((tmp_path / "splits.json").read_text())["train"]
    counts = [sum(p.startswith(f"{c}/") for p in train) for c in ("five", "seven", "six")]
    assert counts[0] > counts[1]  # imbalanced: five weighs less
    expected = [len(train) / (3 * n) for n in counts]
    assert [record["class_weight"][str(i)] for i in range(3)] == pytest.approx(expected)
