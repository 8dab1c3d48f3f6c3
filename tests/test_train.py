"""The one training path: ``zoo.train`` and ``zoo train`` on small real data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import zoo
from cli.main import cli
from zoo.training.config import TrainConfig
from zoo.training.fit import train


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """800 train / 200 val / 200 test real MNIST digits from the shipped sample."""
    from zoo.data import load_sample_arrays

    a = load_sample_arrays()
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(
        path,
        x_train=a["x_train"][:800], y_train=a["y_train"][:800],
        x_val=a["x_train"][800:1000], y_val=a["y_train"][800:1000],
        x_test=a["x_test"][:200], y_test=a["y_test"][:200],
    )  # fmt: skip
    return str(path)


@pytest.mark.backend
def test_train_lenet5_learns_and_writes_a_run(digits, tmp_path):
    config = TrainConfig(epochs=3, batch_size=32, optimizer="adam", learning_rate=2e-3, seed=1)
    result = train("lenet5", digits, config, run_dir=tmp_path / "run", verbose=0)
    assert result.status == "completed" and result.epochs == 3
    assert result.history["epoch"] == [1, 2, 3]
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.metrics["test_accuracy"] > 0.6  # well above chance (0.1) after 3 short epochs
    assert result.preprocessing.pad_to == (32, 32)  # 28x28 digits padded as in LeCun 1998
    assert result.model.input_shape == (None, 32, 32, 1)
    for name in (
        "run.json",
        "state.json",
        "history.csv",
        "best.keras",
        "model.keras",
        "metrics.json",
        "doctor.txt",
    ):
        assert (tmp_path / "run" / name).is_file(), name
    reloaded = zoo.load_model(tmp_path / "run" / "model.keras")
    x = result.preprocessing(np.load(digits)["x_test"][:8])
    np.testing.assert_allclose(
        reloaded.predict(x, verbose=0), result.model.predict(x, verbose=0), rtol=1e-5
    )


def test_existing_run_directory_is_not_overwritten(digits, tmp_path):
    config = TrainConfig(epochs=2, batch_size=100)
    train("perceptron", digits, config, run_dir=tmp_path / "run", verbose=0)
    with pytest.raises(ValueError, match="already holds a run"):
        train("perceptron", digits, config, run_dir=tmp_path / "run", verbose=0)
    # overwrite=True starts afresh: nothing of the first run is left to mix into a resume,
    # even if the new run is killed before its first epoch commits.
    from zoo.training.runs import RunDirectory

    run = RunDirectory(tmp_path / "run")
    run.create({"model": "perceptron"})
    left = sorted(p.name for p in (tmp_path / "run").rglob("*") if p.is_file())
    assert left == ["run.json"] and run.state() is None


@pytest.mark.backend
def test_regularization_augmentation_and_schedule_together(digits):
    config = TrainConfig(
        epochs=2, batch_size=64, optimizer="nesterov", learning_rate=0.05, schedule="step",
        step_size=1, gamma=0.1, l2=1e-4, dense_dropout=0.25, augment=["translate:0.05", "rotate:0.02"],
        early_stopping=True, patience=1,
    )  # fmt: skip
    result = train("mlp", digits, config, verbose=0, model_kwargs={"hidden_units": [64]})
    np.testing.assert_allclose(result.history["lr"], [0.05, 0.005], rtol=1e-6)
    names = [layer.name for layer in result.model.layers]
    assert any("dropout" in n for n in names)  # the policy inserted dropout before dense layers
    assert result.model.losses  # and an L2 penalty


@pytest.mark.backend
def test_divergence_stops_without_writing_nan_weights(digits, tmp_path):
    config = TrainConfig(epochs=3, batch_size=32, optimizer="sgd", learning_rate=1e30, seed=0)
    result = train("mlp", digits, config, run_dir=tmp_path / "run", verbose=0)
    assert result.status == "diverged"
    assert any(d.code in ("nan_loss", "exploding_loss") for d in result.diagnoses)
    assert not (tmp_path / "run" / "model.keras").exists()
    state_path = tmp_path / "run" / "state.json"
    if state_path.exists():  # any committed epoch holds finite numbers only
        state = json.loads(state_path.read_text())
        assert all(np.isfinite(v) for v in state["history"]["loss"])


def test_svm_hinge_trains_a_linear_output(digits):
    config = TrainConfig(epochs=1, batch_size=64, loss="svm_hinge", learning_rate=1e-3)
    result = train("lenet5", digits, config, verbose=0)
    assert result.model.get_layer("predictions").activation.__name__ == "linear"
    assert np.isfinite(result.history["loss"][-1])


class TestCli:
    def invoke(self, *args):
        return CliRunner().invoke(cli, ["train", *args], catch_exceptions=False)

    def test_train_from_the_command_line(self, digits, tmp_path):
        run = tmp_path / "cli-run"
        r = self.invoke(
            "lenet5",
            "--data",
            digits,
            "--epochs",
            "1",
            "--batch-size",
            "64",
            "--run-dir",
            str(run),
            "--quiet",
        )
        assert r.exit_code == 0, r.output
        assert "Status:    completed after 1 epoch" in r.output and "test_accuracy" in r.output
        record = json.loads((run / "run.json").read_text())
        assert record["config"]["epochs"] == 1 and record["model"] == "lenet5"

    def test_config_file_and_flags(self, digits, tmp_path):
        cfg = tmp_path / "train.yaml"
        cfg.write_text("epochs: 1\nbatch_size: 128\noptimizer: rmsprop\n")
        run = tmp_path / "r"
        r = self.invoke(
            "perceptron",
            "--data",
            digits,
            "--config",
            str(cfg),
            "--learning-rate",
            "0.01",
            "--run-dir",
            str(run),
            "--quiet",
        )
        assert r.exit_code == 0, r.output
        config = json.loads((run / "run.json").read_text())["config"]
        assert (config["optimizer"], config["batch_size"], config["learning_rate"]) == (
            "rmsprop",
            128,
            0.01,
        )

    @pytest.mark.parametrize(
        "args, message",
        [
            (["lenet7"], "Unknown model 'lenet7'"),
            (["lenet5", "--epochs", "0"], "epochs"),
            (["lenet5", "--data", "/no/such/folder"], "no such file or folder"),
            (["lenet5", "--run-dir", "/proc/zoo-run"], "cannot write"),
            (["lenet5", "--optimizer", "adamax"], "adamax"),
            (["lenet5", "--augment", "blur"], "blur"),
            (["lenet5", "--resume", "/tmp"], "not a zoo run directory"),
            ([], "give a model NAME"),
        ],
    )
    def test_bad_arguments_are_one_line_errors(self, args, message, tmp_path, monkeypatch):
        monkeypatch.chdir(tmp_path)
        r = CliRunner().invoke(cli, ["train", *args])
        assert r.exit_code != 0
        lines = [line for line in r.output.splitlines() if line.strip()]
        assert any(message in line for line in lines), r.output
        assert "Traceback" not in r.output
        assert len([line for line in lines if line.startswith("Error")]) == 1


@pytest.mark.parametrize(
    "field", [{"distribute": "auto"}, {"mixed_precision": True}, {"mixed_precision": "bfloat16"}]
)
@pytest.mark.backend
def test_distribution_and_mixed_precision_run_through_keras(digits, field):
    import keras

    before = keras.config.dtype_policy().name
    result = train("lenet5", digits, TrainConfig(epochs=1, batch_size=64, **field), verbose=0)
    assert result.status == "completed" and np.isfinite(result.history["loss"][-1])
    if field.get("mixed_precision"):
        expected = "mixed_bfloat16" if field["mixed_precision"] == "bfloat16" else "mixed_float16"
        assert result.model.dtype_policy.name == expected
        assert keras.config.dtype_policy().name == before  # the global policy is restored
    if keras.backend.backend() == "jax":
        keras.distribution.set_distribution(None)


def test_a_regularization_penalty_is_no_bad_initial_loss(digits):
    config = TrainConfig(epochs=1, batch_size=100, l2=1e-2)
    result = train("mlp", digits, config, verbose=0)
    assert result.history["loss"][0] > 2 * np.log(10)  # the penalty dominates the first loss
    assert "bad_initial_loss" not in [d.code for d in result.diagnoses]


@pytest.mark.backend
def test_track_test_logs_the_test_curve_without_choosing_on_it(digits, tmp_path):
    config = TrainConfig(epochs=2, batch_size=64, track_test=True, doctor=False)
    result = train("lenet5", digits, config, run_dir=tmp_path / "run", verbose=0)
    for key in ("test_accuracy", "test_loss", "test_time"):
        assert len(result.history[key]) == 2, key
    # the last epoch's test accuracy is the final model's test accuracy
    assert result.history["test_accuracy"][-1] == pytest.approx(
        result.metrics["test_accuracy"], abs=1e-6
    )
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert "test_accuracy" in header
    with pytest.raises(ValueError, match="not watch the test split"):
        TrainConfig(monitor="test_accuracy")


def test_track_test_needs_a_test_split(digits, tmp_path):
    with np.load(digits) as a:
        np.savez(tmp_path / "no_test.npz", x_train=a["x_train"], y_train=a["y_train"])
    with pytest.raises(ValueError, match="track_test=True needs a test split"):
        train(
            "lenet5",
            str(tmp_path / "no_test.npz"),
            TrainConfig(epochs=1, track_test=True),
            verbose=0,
        )


@pytest.mark.backend
def test_jax_compiles_models_with_random_image_transforms():
    """Under JAX, Keras' own 'auto' would run a model with RandomTranslation eagerly."""
    import keras

    from zoo.training.fit import compile_model

    inputs = keras.Input((8, 8, 1))
    x = keras.layers.RandomTranslation(0.1, 0.1)(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    compile_model(model, TrainConfig())
    expected = keras.backend.backend() == "jax"  # TF keeps Keras' choice: no XLA for this layer
    assert bool(model.jit_compile) is expected
    compile_model(model, TrainConfig(jit_compile=False))
    assert model.jit_compile is False


def test_a_run_from_before_a_new_config_field_still_resumes_in_the_same_process(digits, tmp_path):
    """Fields added to TrainConfig later take their defaults; they are no 'changed config'.

    Resuming in the process that trained (a notebook) used to fail: Keras numbers optimizer
    instances per process (adam, adam_1), and the architecture hash covered the compile config.
    """
    import json

    run_dir = tmp_path / "run"
    train(
        "lenet5",
        digits,
        TrainConfig(epochs=1, batch_size=100, doctor=False),
        run_dir=run_dir,
        verbose=0,
    )
    record = json.loads((run_dir / "run.json").read_text())
    del record["config"]["track_test"]  # as written by a version without the field
    (run_dir / "run.json").write_text(json.dumps(record))
    result = train(run_dir=run_dir, resume=True, verbose=0)
    assert result.status == "completed"
    assert result.history["epoch"] == [1]


@pytest.mark.backend
def test_the_steps_of_train_one_by_one(digits, tmp_path):
    """``train`` is prepare -> restore -> fit -> finalize -> publish; each step runs on its own."""
    from zoo.training import steps
    from zoo.training.callbacks import find_callback
    from zoo.training.doctor import DoctorCallback

    run_dir = tmp_path / "run"
    config = TrainConfig(epochs=1, batch_size=64, seed=1)
    tr = steps.prepare_run("lenet5", digits, config, run_dir=run_dir, verbose=0)
    assert (run_dir / "run.json").is_file() and tr.state is None and tr.monitor == "val_loss"
    assert isinstance(find_callback(tr.callbacks, DoctorCallback), DoctorCallback)
    assert tr.built.trainer is tr.built.net  # no augmentation: the model is trained as is
    steps.restore_run(tr)
    assert tr.initial_epoch == 0 and tr.callbacks[-1] is tr.checkpoint
    steps.fit_run(tr, verbose=0)
    assert tr.keras_history is not None and isinstance(tr.seconds, float)  # recorded
    result = steps.finalize_run(tr)
    assert (result.status, result.epochs) == ("completed", 1)
    assert (run_dir / "model.keras").is_file() and "test_accuracy" in result.metrics
    steps.publish_run(result, None)  # nothing asked: nothing published


def test_training_code_imports_no_benchmark_and_no_publisher_at_module_level():
    """Layering: training describes the machine through zoo.machine, publishes in one step."""
    import ast
    import pathlib

    root = pathlib.Path(zoo.__file__).parent / "training"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names]
                module = getattr(node, "module", None) or ""
                assert "zoo.bench" not in [module, *names], path.name
                assert "bench" not in names or module != "zoo", path.name
        for node in tree.body:  # module level
            if isinstance(node, ast.ImportFrom):
                assert node.module != "zoo.pretrained", path.name
                assert not (node.module == "zoo" and "pretrained" in [a.name for a in node.names])


def test_importing_the_training_path_imports_no_keras():
    from conftest import heavy_imports

    assert heavy_imports("import zoo.training.fit", ("keras", "tensorflow", "jax")) == []


def test_all_layers_walks_nested_models_with_public_api():
    import keras

    from zoo.training.model_setup import all_layers, has_penalty

    inner_in = keras.Input((4,))
    inner = keras.Model(
        inner_in, keras.layers.Dense(3, kernel_regularizer="l2", name="deep")(inner_in)
    )
    outer_in = keras.Input((4,))
    outer = keras.Model(outer_in, keras.layers.Dense(2, name="top")(inner(outer_in)))
    names = [layer.name for layer in all_layers(outer)]
    assert "deep" in names and "top" in names
    assert has_penalty(outer) and not has_penalty(keras.Model(outer_in, outer_in))
