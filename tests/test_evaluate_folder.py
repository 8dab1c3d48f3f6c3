"""Evaluating a plain class folder as a whole, flip TTA, and saying what was evaluated."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cli.eval_cmds import evaluate_cmd, predict_cmd

MODEL_CLASSES = ("cat", "ant", "bee")  # not alphabetical: folders match by name, not order
SIZE = 8


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """An untrained Flatten+Dense softmax model with fixed weights (not flip-invariant)."""
    import keras

    from zoo.saved_models import manifest_digest, sha256_file

    inputs = keras.Input((SIZE, SIZE, 1))
    outputs = keras.layers.Dense(3, activation="softmax")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, (SIZE * SIZE, 3)), np.zeros(3)])
    folder = tmp_path_factory.mktemp("model")
    model.save(folder / "model.keras")
    manifest = {"class_names": list(MODEL_CLASSES)}
    manifest["files"] = {"model.keras": sha256_file(folder / "model.keras")}
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _write_folder(root, counts: dict[str, int], seed=1):
    """``root/<class>/NNNN.png``: random 8x8 grayscale images written with PIL."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    files = {}
    for name, count in counts.items():
        (root / name).mkdir(parents=True)
        files[name] = []
        for i in range(count):
            path = root / name / f"{i:04d}.png"
            Image.fromarray(rng.integers(0, 256, (SIZE, SIZE), dtype=np.uint8)).save(path)
            files[name].append(path)
    return files


def _pixels(paths):
    from PIL import Image

    return np.stack([np.asarray(Image.open(p), dtype=np.float32)[..., None] / 255 for p in paths])


def _by_hand(model_dir, paths, flip: bool):
    import keras

    model = keras.saving.load_model(model_dir / "model.keras")
    x = _pixels(paths)
    probs = np.asarray(model.predict(x, verbose=0), dtype=np.float64)
    if flip:
        probs = (probs + np.asarray(model.predict(x[:, :, ::-1], verbose=0))) / 2
    return probs


def test_plain_class_folder_is_evaluated_whole(model_dir, tmp_path):
    from zoo.evaluate import evaluate

    files = _write_folder(tmp_path / "pets", {"ant": 3, "cat": 4})  # a subset of the model's
    report = evaluate(model_dir, str(tmp_path / "pets"))
    assert report["split"] == "all" and report["num_examples"] == 7  # no val carved, no test/
    assert report["class_names"] == list(MODEL_CLASSES)
    support = {n: row["support"] for n, row in report["per_class"].items()}
    assert support == {"cat": 4, "ant": 3, "bee": 0}
    paths = files["ant"] + files["cat"]
    y_true = np.array([1] * 3 + [0] * 4)
    y_pred = _by_hand(model_dir, paths, flip=False).argmax(axis=-1)
    cm = np.zeros((3, 3), dtype=np.int64)
    np.add.at(cm, (y_true, y_pred), 1)
    np.testing.assert_array_equal(report["confusion_matrix"], cm)
    with pytest.raises(ValueError, match="evaluated as a whole"):
        evaluate(model_dir, str(tmp_path / "pets"), split="val")


def test_unknown_classes_are_named_in_one_line(model_dir, tmp_path):
    _write_folder(tmp_path / "zoo", {"ant": 2, "dog": 2, "eel": 1})
    result = CliRunner().invoke(evaluate_cmd, [str(model_dir), "--data", str(tmp_path / "zoo")])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "unknown to the model: ['dog', 'eel']" in lines[0]


def test_flip_tta_is_the_mean_of_both_predictions(model_dir, tmp_path):
    from zoo.evaluate import evaluate, predict

    files = _write_folder(tmp_path / "bugs", {"ant": 4, "bee": 4}, seed=2)
    paths = files["ant"] + files["bee"]
    plain, flipped = _by_hand(model_dir, paths, False), _by_hand(model_dir, paths, True)
    assert np.abs(plain - flipped).max() > 1e-3  # the model is not flip-invariant
    ranked = predict(model_dir, paths, top_k=3, tta="flip")
    got = np.array([[dict(r)[n] for n in MODEL_CLASSES] for r in ranked])
    np.testing.assert_allclose(got, flipped, rtol=1e-5, atol=1e-6)
    report = evaluate(model_dir, str(tmp_path / "bugs"), tta="flip")
    y_true = np.array([1] * 4 + [2] * 4)
    assert report["tta"] == "flip"
    assert report["accuracy"] == pytest.approx(np.mean(flipped.argmax(-1) == y_true))
    expected_loss = -np.mean(np.log(flipped[np.arange(8), y_true]))
    assert report["loss"] == pytest.approx(expected_loss, rel=1e-4)
    with pytest.raises(ValueError, match="tta must be one of"):
        predict(model_dir, paths, tta="rotate")


def test_cli_says_what_was_evaluated(model_dir, tmp_path):
    _write_folder(tmp_path / "digits", {"ant": 2, "bee": 3, "cat": 2})
    png = tmp_path / "cm.png"
    args = [str(model_dir), "--data", str(tmp_path / "digits"), "--confusion-matrix", str(png)]
    result = CliRunner().invoke(evaluate_cmd, [*args, "--tta", "flip"])
    assert result.exit_code == 0, result.output
    assert f"Evaluated on the whole folder {tmp_path / 'digits'} (7 images)" in result.output
    assert "whole folder, 7 examples" in result.output and png.is_file()

    split = tmp_path / "split"
    _write_folder(split / "test", {"ant": 2, "bee": 1})
    _write_folder(split / "train", {"ant": 1, "bee": 1}, seed=3)
    result = CliRunner().invoke(evaluate_cmd, [str(model_dir), "--data", str(split), "--no-plot"])
    assert result.exit_code == 0, result.output
    assert f"Evaluated on the test split of {split} (3 images)" in result.output
    result = CliRunner().invoke(predict_cmd, [str(model_dir), str(split / "test/ant/0000.png"),
                                              "--tta", "flip"])  # fmt: skip
    assert result.exit_code == 0, result.output
