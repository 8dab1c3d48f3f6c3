"""The learning-rate range test: ``zoo.training.lr_find`` and ``zoo lr-find``."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from cli.eval_cmds import lr_find_cmd


@pytest.fixture(scope="module")
def npz(tmp_path_factory):
    """400 MNIST digits (40 per class) from the embedded sample."""
    import zoo.data

    arrays = zoo.data.load_sample_arrays()
    x, y = arrays["x_train"], arrays["y_train"]
    keep = np.concatenate([np.flatnonzero(y == c)[:40] for c in range(10)])
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x_train=x[keep], y_train=y[keep], class_names=arrays["class_names"])
    return path


def _tiny_model():
    import keras

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(16, activation="relu", name="hidden")(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name="tiny")


def test_sweep_suggests_a_rate_inside_the_range_and_plots(npz, tmp_path):
    from zoo.training.config import TrainConfig
    from zoo.training.lr_find import lr_find

    config = TrainConfig(batch_size=16, seed=0, validation_split=0)
    result = lr_find("perceptron", str(npz), config, min_lr=1e-5, max_lr=10.0, steps=60)
    assert 3 <= result.steps_done <= 60
    assert 1e-5 <= result.suggestion <= 10.0 and 1e-5 <= result.suggestion_min <= 10.0
    lrs = result.lrs
    assert lrs[0] == pytest.approx(1e-5) and np.all(np.diff(lrs) > 0)
    ratios = lrs[1:] / lrs[:-1]
    assert np.allclose(ratios, (10.0 / 1e-5) ** (1 / 59))  # exponential, one step per batch
    assert len(result.losses) == len(result.smoothed) == result.steps_done
    # the loss falls somewhere in the sweep: a real training signal
    assert np.nanmin(result.smoothed) < result.smoothed[0]
    path = result.plot(tmp_path / "curve.png")
    with open(path, "rb") as fh:
        data = fh.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10000


def test_weights_are_restored_and_divergence_stops_the_sweep(npz):
    from zoo.training.config import TrainConfig
    from zoo.training.lr_find import lr_find

    model = _tiny_model()
    before = [np.array(w) for w in model.get_weights()]
    config = TrainConfig(optimizer="sgd", batch_size=16, seed=0)
    result = lr_find(model, str(npz), config, min_lr=1e-3, max_lr=1e5, steps=80, smoothing=0.9)
    after = model.get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(before, after, strict=False))
    assert result.diverged and result.steps_done < 80
    assert 1e-3 <= result.suggestion <= 1e5


def test_suggestion_is_the_steepest_descent():
    from zoo.training.lr_find import suggest_lr

    lrs = np.logspace(-6, 1, 150)
    # falls fastest at 1e-3, bottoms out near 1e-1, then explodes
    smoothed = 2.0 - np.tanh(2 * (np.log10(lrs) + 3)) + np.where(lrs > 0.1, 50 * (lrs - 0.1), 0)
    steepest, at_min = suggest_lr(lrs, smoothed, 1e-6)
    assert steepest == pytest.approx(1e-3, rel=0.15)
    assert at_min == pytest.approx(lrs[np.argmin(smoothed)] / 10)
    with pytest.raises(ValueError, match="no finite loss"):
        suggest_lr(lrs[:3], [np.nan] * 3)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"min_lr": 0}, "min_lr"),
        ({"min_lr": 1.0, "max_lr": 0.5}, "max_lr"),
        ({"steps": 1}, "steps"),
        ({"smoothing": 1.0}, "smoothing"),
        ({"diverge_factor": 1.0}, "diverge_factor"),
    ],
)
def test_bad_arguments_are_refused(kwargs, message):
    from zoo.training.lr_find import lr_find

    with pytest.raises(ValueError, match=message):
        lr_find("perceptron", "mnist-sample", **kwargs)


def test_cli_lr_find(npz, tmp_path):
    png = tmp_path / "lr.png"
    args = ["perceptron", "--data", str(npz), "--steps", "30", "--min-lr", "1e-4",
            "--plot", str(png), "--batch-size", "16",
            "--optimizer", "sgd", "--seed", "0"]  # fmt: skip
    result = CliRunner().invoke(lr_find_cmd, args)
    assert result.exit_code == 0, result.output
    assert "Suggested learning rate:" in result.output and "sgd, batch size 16" in result.output
    assert png.is_file()


def test_cli_lr_find_errors_are_one_line(tmp_path):
    runner = CliRunner()
    for args, expected in (
        (["lenet6", "--steps", "5"], "Did you mean"),
        (["lenet5", "--min-lr", "1", "--max-lr", "0.1"], "--max-lr"),
        ([str(tmp_path / "model.h5")], "HDF5"),
    ):
        result = runner.invoke(lr_find_cmd, args)
        assert result.exit_code == 1, result.output
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1 and expected in lines[0], result.output


def _three_output_model():
    """GoogLeNet's output names ([predictions, aux1, aux2]) on a tiny deterministic net."""
    import keras

    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Flatten()(inputs)
    x = keras.layers.Dense(8, activation="relu", name="hidden")(x)
    heads = [keras.layers.Dense(10, activation="softmax", name=n)(x)
             for n in ("predictions", "aux1", "aux2")]  # fmt: skip
    return keras.Model(inputs, heads, name="three_heads")


def test_sweep_of_a_model_with_aux_outputs_records_the_weighted_total_loss(npz, tmp_path):
    from zoo.training.lr_find import lr_find

    model = _three_output_model()
    with np.load(npz) as data:
        x, y = data["x_train"].astype("float32") / 255.0, data["y_train"]
    before = [np.array(w) for w in model.get_weights()]
    # one batch of the whole split: the first batch's loss is the initial weights' loss
    config = {"batch_size": len(y), "optimizer": "sgd", "seed": 0, "validation_split": 0.0}
    result = lr_find(model, str(npz), config, steps=3, min_lr=1e-6, max_lr=1e-5)
    main, aux1, aux2 = (np.asarray(p) for p in model.predict(x[..., None], verbose=0))

    def xent(p):
        return float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))

    by_hand = xent(main) + 0.3 * (xent(aux1) + xent(aux2))
    assert result.losses[0] == pytest.approx(by_hand, rel=1e-4)
    assert result.losses[0] > 1.5 * xent(main)  # the aux terms are in, not the main loss alone
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))
    saved = tmp_path / "aux.keras"
    model.save(saved)
    out = CliRunner().invoke(lr_find_cmd, [str(saved), "--data", str(npz), "--steps", "4",
                                           "--plot", str(tmp_path / "aux.png")])  # fmt: skip
    assert out.exit_code == 0, out.output
    assert "Suggested learning rate:" in out.output and (tmp_path / "aux.png").is_file()
