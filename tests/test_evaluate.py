"""Evaluating and using trained models: ``zoo.evaluate`` and ``zoo evaluate/predict``."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from cli.eval_cmds import evaluate_cmd, predict_cmd

N_TRAIN, N_TEST = 30, 20  # per class


def _subset(x, y, per_class):
    keep = np.concatenate([np.flatnonzero(y == c)[:per_class] for c in range(10)])
    return x[keep], y[keep]


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    """A few hundred MNIST digits from the embedded sample, as an .npz."""
    import zoo.data

    arrays = zoo.data.load_sample_arrays()
    x_train, y_train = _subset(arrays["x_train"], arrays["y_train"], N_TRAIN)
    x_test, y_test = _subset(arrays["x_test"], arrays["y_test"], N_TEST)
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             class_names=arrays["class_names"])  # fmt: skip
    return path


@pytest.fixture(scope="module")
def run_dir(npz, tmp_path_factory):
    """LeNet-5 trained for one epoch into a run directory."""
    from zoo.training.config import TrainConfig
    from zoo.training.fit import train

    path = tmp_path_factory.mktemp("runs") / "lenet5"
    config = TrainConfig(epochs=1, batch_size=32, seed=0, doctor=False)
    result = train("lenet5", str(npz), config, run_dir=path, verbose=0)
    assert result.status == "completed"
    return path


@pytest.fixture(scope="module")
def report(run_dir, npz):
    from zoo.evaluate import evaluate

    return evaluate(run_dir, str(npz))


def _test_arrays(npz):
    with np.load(npz) as f:
        return f["x_test"], f["y_test"].astype(np.int64)


def test_load_trained_reads_the_run(run_dir):
    from zoo.evaluate import load_trained

    trained = load_trained(run_dir)
    assert trained.class_names == tuple(str(i) for i in range(10))
    assert trained.preprocessing.pad_to == (32, 32)
    assert trained.data_shape == (28, 28, 1)
    assert trained.input_shape == (32, 32, 1)
    assert trained.folder == str(run_dir)


def test_evaluate_matches_predictions_computed_by_hand(run_dir, npz, report):
    from zoo.evaluate import load_trained

    x, y = _test_arrays(npz)
    trained = load_trained(run_dir)
    pred = trained.model.predict(trained.preprocessing(x), verbose=0).argmax(axis=-1)

    assert report["num_examples"] == len(y) == 10 * N_TEST
    assert report["accuracy"] == pytest.approx(np.mean(pred == y))
    cm = report["confusion_matrix"]
    assert cm.shape == (10, 10) and cm.dtype == np.int64 and cm.sum() == len(y)
    assert np.array_equal(cm.sum(axis=1), np.bincount(y, minlength=10))
    for c in range(10):
        row = report["per_class"][str(c)]
        assert row["support"] == N_TEST
        assert row["recall"] == pytest.approx(np.mean(pred[y == c] == c))
        predicted = np.sum(pred == c)
        expected = np.sum((pred == c) & (y == c)) / predicted if predicted else 0.0
        assert row["precision"] == pytest.approx(expected)
    # the training path's own test metrics agree
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert report["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-6)
    assert report["loss"] == pytest.approx(metrics["test_loss"], rel=1e-4)


def test_evaluate_falls_back_to_best_keras(run_dir, npz, tmp_path):
    from zoo.evaluate import evaluate

    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / "model.keras").unlink()
    report = evaluate(copy, str(npz))
    assert "best.keras" in report["model"] and report["confusion_matrix"].sum() == 10 * N_TEST


def test_keras_file_with_and_without_manifest(run_dir, npz, tmp_path):
    from zoo.evaluate import evaluate, load_trained
    from zoo.saved_models import manifest_digest, sha256_file

    bare = tmp_path / "bare" / "lenet.keras"
    bare.parent.mkdir()
    shutil.copy(run_dir / "model.keras", bare)
    trained = load_trained(bare)
    assert trained.class_names == tuple(str(i) for i in range(10)) and not trained.class_names_known
    assert trained.preprocessing.pad_to is None  # default Preprocessing(): 28x28 is resized
    assert evaluate(bare, str(npz))["confusion_matrix"].sum() == 10 * N_TEST

    folder = tmp_path / "published"
    folder.mkdir()
    shutil.copy(run_dir / "model.keras", folder / "model.keras")
    run = json.loads((run_dir / "run.json").read_text())
    names = [f"digit {i}" for i in range(10)]
    manifest = {"class_names": names, "preprocessing": run["preprocessing"]}
    manifest["files"] = {"model.keras": sha256_file(folder / "model.keras")}
    manifest["manifest_sha256"] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))
    trained = load_trained(folder / "model.keras")
    assert trained.class_names == tuple(names) and trained.preprocessing.pad_to == (32, 32)
    assert load_trained(folder).class_names == tuple(names)  # the folder itself


def test_manifest_hash_mismatch_is_refused(run_dir, tmp_path):
    from zoo.evaluate import load_trained

    shutil.copy(run_dir / "model.keras", tmp_path / "model.keras")
    manifest = {"class_names": list("0123456789"), "files": {"model.keras": "0" * 64}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="sha256"):
        load_trained(tmp_path / "model.keras")


def test_published_name(run_dir, tmp_path, monkeypatch):
    pretrained = pytest.importorskip("zoo.pretrained")
    from zoo.evaluate import load_trained
    from zoo.saving import load_model

    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path))
    run = json.loads((run_dir / "run.json").read_text())
    fields = {"class_names": list("abcdefghij"), "preprocessing": run["preprocessing"]}
    pretrained.publish(load_model(run_dir / "model.keras"), "lenet5-test", fields)
    trained = load_trained("lenet5-test")
    assert trained.class_names == tuple("abcdefghij") and trained.preprocessing.pad_to == (32, 32)
    with pytest.raises(FileNotFoundError, match="lenet5-tset"):
        load_trained("lenet5-tset")


def test_evaluate_resizes_data_of_another_size(run_dir, npz, report, tmp_path):
    from zoo.data.arrays import transform_images
    from zoo.evaluate import evaluate

    x, y = _test_arrays(npz)
    big = tmp_path / "big.npz"
    np.savez(big, x_test=transform_images(x, (56, 56), 3), y_test=y)
    resized = evaluate(run_dir, str(big))
    assert resized["confusion_matrix"].sum() == len(y)
    assert abs(resized["accuracy"] - report["accuracy"]) < 0.15


def test_class_names_that_do_not_fit_are_refused(run_dir, npz, tmp_path):
    from zoo.evaluate import evaluate

    x, y = _test_arrays(npz)
    other = tmp_path / "other.npz"
    np.savez(other, x_test=x, y_test=y, class_names=np.array([f"c{i}" for i in range(10)]))
    with pytest.raises(ValueError, match="classes do not fit"):
        evaluate(run_dir, str(other))
    with pytest.raises(ValueError, match="no 'val' split"):
        evaluate(run_dir, str(other), split="val")


def test_predict_on_png_files(run_dir, npz, tmp_path):
    from PIL import Image

    import zoo.data
    from zoo.evaluate import load_trained, predict

    root = zoo.data.write_sample_folder(tmp_path / "digits", split="test", per_class=1)
    files = sorted(root.glob("*/*.png"))
    results = predict(run_dir, files, top_k=3)
    assert len(results) == len(files) == 10
    trained = load_trained(run_dir)
    x = np.stack([np.asarray(Image.open(f))[..., None] for f in files])
    probs = trained.model.predict(trained.preprocessing(x), verbose=0)
    for ranked, row in zip(results, probs, strict=False):
        assert len(ranked) == 3
        assert all(name in trained.class_names for name, _ in ranked)
        values = [p for _, p in ranked]
        assert values == sorted(values, reverse=True) and sum(values) <= 1 + 1e-6
        assert ranked[0][0] == str(int(row.argmax()))
        assert ranked[0][1] == pytest.approx(float(row.max()), rel=1e-5)

    # a color image of another size is converted to the 28x28 gray the model saw
    color = tmp_path / "color.png"
    Image.open(files[3]).convert("RGB").resize((64, 64)).save(color)
    [ranked] = predict(run_dir, color, top_k=20)
    assert len(ranked) == 10 and sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-5)


def test_predict_refuses_bad_files(run_dir, tmp_path):
    from zoo.evaluate import predict

    with pytest.raises(FileNotFoundError, match="No image file"):
        predict(run_dir, tmp_path / "missing.png")
    fake = tmp_path / "fake.png"
    fake.write_text("not an image")
    with pytest.raises(ValueError, match="fake.png: not an image"):
        predict(run_dir, fake)


def test_plot_confusion_matrix_writes_a_png(tmp_path):
    from zoo.evaluate import plot_confusion_matrix

    cm = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    path = plot_confusion_matrix(cm, ["cat", "dog", "horse"], tmp_path / "cm.png")
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix(cm, ["a", "b"], tmp_path / "bad.png")


# ------------------------------------------------------------------------- CLI


def test_cli_evaluate(run_dir, npz, tmp_path):
    out = tmp_path / "report.json"
    args = [str(run_dir), "--data", str(npz), "--json", str(out)]
    result = CliRunner().invoke(evaluate_cmd, args)
    assert result.exit_code == 0, result.output
    for text in ("Accuracy:", "precision", "recall", "macro avg"):
        assert text in result.output
    assert (run_dir / "confusion_matrix_test.png").is_file()
    report = json.loads(out.read_text())
    assert np.asarray(report["confusion_matrix"]).sum() == 10 * N_TEST

    png = tmp_path / "cm.png"
    result = CliRunner().invoke(evaluate_cmd, [str(run_dir / "model.keras"), "--data", str(npz),
                                               "--confusion-matrix", str(png)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert png.is_file()


def test_cli_predict(run_dir, tmp_path):
    import zoo.data

    root = zoo.data.write_sample_folder(tmp_path / "digits", split="test", per_class=1)
    files = [str(root / "7" / "0000.png"), str(root / "2" / "0000.png")]
    result = CliRunner().invoke(predict_cmd, [str(run_dir), *files, "--top-k", "2"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(files[0]) and lines[0].count("%") == 2


def _one_line_error(result):
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    return lines[0]


def test_cli_errors_are_one_line(run_dir, tmp_path):
    runner = CliRunner()
    line = _one_line_error(runner.invoke(evaluate_cmd, [str(tmp_path / "nope.keras")]))
    assert "No model file" in line
    line = _one_line_error(runner.invoke(evaluate_cmd, [str(tmp_path / "runs" / "nope")]))
    assert "No run directory or model file" in line
    sentinel = tmp_path / "sentinel"
    h5 = tmp_path / "model.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + f"open({str(sentinel)!r}, 'w')".encode())
    line = _one_line_error(runner.invoke(evaluate_cmd, [str(h5)]))
    assert "HDF5" in line and ".keras" in line and not sentinel.exists()
    line = _one_line_error(runner.invoke(predict_cmd, [str(h5), str(tmp_path / "x.png")]))
    assert "No image file" in line
    line = _one_line_error(runner.invoke(predict_cmd, [str(run_dir), str(tmp_path / "x.png")]))
    assert "x.png" in line
    from PIL import Image

    png = tmp_path / "digit.png"
    Image.new("L", (28, 28)).save(png)
    line = _one_line_error(runner.invoke(predict_cmd, ["no-such-model", str(png)]))
    assert "no-such-model" in line and "published model" in line
    args = [str(run_dir), "--data", str(tmp_path / "none")]
    line = _one_line_error(runner.invoke(evaluate_cmd, args))
    assert "Unknown data source" in line
