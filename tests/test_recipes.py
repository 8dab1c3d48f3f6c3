"""Paper recipes as registry data: the table, the precedence (recipe < flag), run.json, resume."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from click.testing import CliRunner
from conftest import heavy_imports

import zoo
from cli.main import cli
from zoo.recipes import Recipe, UnknownRecipeError, get_recipe, overrides_of, recipe_config
from zoo.registry import get_spec, list_models
from zoo.training.config import TrainConfig
from zoo.training.schedules import MultiStepDecay, deserialize_schedule, make_schedule


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """200 train / 50 val / 50 test real MNIST digits from the shipped sample."""
    from zoo.data import load_sample_arrays

    a = load_sample_arrays()
    rng = np.random.default_rng(0)  # the sample is sorted by class
    train, test = rng.permutation(len(a["y_train"]))[:250], rng.permutation(len(a["y_test"]))[:50]
    path = tmp_path_factory.mktemp("digits") / "digits.npz"
    np.savez(
        path,
        x_train=a["x_train"][train[:200]], y_train=a["y_train"][train[:200]],
        x_val=a["x_train"][train[200:]], y_val=a["y_train"][train[200:]],
        x_test=a["x_test"][test], y_test=a["y_test"][test],
    )  # fmt: skip
    return str(path)


# ----------------------------------------------------------------- the data
@pytest.mark.parametrize("name", list_models())
def test_every_registered_model_has_a_cited_valid_default_recipe(name):
    spec = get_spec(name)
    recipes = spec.recipes
    assert spec.default_recipe in recipes, f"{name}: no default recipe"
    for key, recipe in recipes.items():
        assert isinstance(recipe, Recipe) and recipe.name == key
        assert recipe.citation and recipe.notes, f"{name}/{key}: cite the source, say what differs"
        config = recipe.config()  # every recipe is a valid TrainConfig
        for field, value in recipe.fields.items():
            assert getattr(config, field) == value, (name, key, field)
        assert set(recipe.record()) == {"name", "citation", "settings", "overridden"}


def test_resnet_cifar_paper_recipe_is_section_4_2():
    """He et al. 2016, Sec. 4.2: 64k iterations of batch 128 on 45k images, /10 at 32k and 48k."""
    for name in ("resnet20", "resnet56", "plain20", "plain56"):
        config = get_recipe(name, "paper").config()
        assert (config.optimizer, config.learning_rate, config.momentum) == ("momentum", 0.1, 0.9)
        assert config.batch_size == 128 and config.validation_split == pytest.approx(0.1)
        assert 2 * config.l2 == pytest.approx(1e-4)  # the gradient of l2*sum(w^2) is 1e-4 w
        assert dict(config.augment) == {"flip": 1.0, "crop": 0.125}  # 4 pixels of 32
        iterations_per_epoch = 45_000 / 128
        assert config.milestones == (91, 136) and config.epochs == 182
        assert [round(k / iterations_per_epoch) for k in (32_000, 48_000, 64_000)] == [91, 137, 182]
        lr = make_schedule(config)
        assert [lr(e) for e in (0, 90, 91, 135, 136, 181)] == pytest.approx(
            [0.1, 0.1, 0.01, 0.01, 0.001, 0.001]
        )


def test_lenet5_has_the_paper_and_the_fast_recipe():
    spec = get_spec("lenet5")
    assert spec.default_recipe == "fast" and set(spec.recipes) == {"fast", "paper"}
    paper = spec.recipes["paper"].config()
    assert paper.epochs == 20 and not paper.augment  # the 0.95 % is without distortions
    assert make_schedule(paper)(0) == pytest.approx(5e-4) and make_schedule(paper)(19) < 2e-5


def test_recipes_import_no_keras():
    code = "import zoo.recipes as r; r.get_recipe('resnet20').config(); r.recipes_for('vgg16')"
    assert heavy_imports(code) == []


def test_unknown_recipe_names_the_ones_there_are():
    with pytest.raises(UnknownRecipeError, match=r"lenet5 has no recipe 'bogus'.*fast, paper"):
        get_recipe("lenet5", "bogus")
    result = CliRunner().invoke(cli, ["train", "lenet5", "--recipe", "bogus"])
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code != 0 and len(lines) == 1, result.output
    assert "no recipe 'bogus'" in lines[0] and "fast, paper" in lines[0]


# ------------------------------------------------------------- precedence
def test_what_overrides_a_recipe():
    assert overrides_of({"epochs": 2}) == {"epochs": 2}
    assert overrides_of(TrainConfig(epochs=2, optimizer="sgd")) == {"epochs": 2, "optimizer": "sgd"}
    config, record = recipe_config("resnet20", "paper", {"epochs": 3, "learning_rate": 0.05})
    assert (config.epochs, config.learning_rate, config.milestones) == (3, 0.05, (91, 136))
    assert record["name"] == "paper" and record["overridden"] == ["epochs", "learning_rate"]
    with pytest.raises(ValueError, match="milestones"):
        TrainConfig(schedule="multistep", milestones=[5, 3])


def test_config_file_keys_override_the_recipe(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("epochs: 4\nbatch_size: 32\n")
    config, record = recipe_config("lenet5", "paper", str(path))
    assert (config.epochs, config.batch_size, config.learning_rate) == (4, 32, 5e-4)
    assert record["overridden"] == ["batch_size", "epochs"]


def test_multistep_schedule_values_and_round_trip():
    s = MultiStepDecay(0.1, [3, 5], gamma=0.5)
    assert [s(e) for e in range(7)] == pytest.approx([0.1] * 3 + [0.05] * 2 + [0.025] * 2)
    again = deserialize_schedule({"class_name": "MultiStepDecay", "config": s.get_config()})
    assert again.get_config() == s.get_config()
    assert TrainConfig(milestones="91,136").milestones == (91, 136)
    assert TrainConfig.from_json(TrainConfig(milestones=[4]).to_json()).milestones == (4,)


# ---------------------------------------------------- CLI, run.json, resume
def test_cli_flag_beats_recipe_and_run_json_keeps_it_through_resume(digits, tmp_path):
    run = tmp_path / "r"
    args = ["train", "lenet5", "--data", digits, "--epochs", "1", "--batch-size", "64",
            "--run-dir", str(run)]  # fmt: skip
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "Recipe:    fast:" in result.output and "overridden: batch_size=64, epochs=1" in (
        result.output
    )
    record = json.loads((run / "run.json").read_text())
    fast = get_recipe("lenet5", "fast").fields
    config = record["config"]
    assert (config["epochs"], config["batch_size"]) == (1, 64)  # the flags
    for field in ("optimizer", "learning_rate", "schedule", "label_smoothing", "seed"):
        assert config[field] == fast[field]  # the recipe
    assert record["recipe"]["name"] == "fast" and record["recipe"]["overridden"] == [
        "batch_size",
        "epochs",
    ]
    refused = CliRunner().invoke(cli, ["train", "--resume", str(run), "--recipe", "paper"])
    assert refused.exit_code != 0 and "keeps the recipe" in refused.output


class _KilledAt(keras.callbacks.Callback):
    """Stands for a kill: raises at the start of epoch ``epoch`` (0-based)."""

    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_python_train_takes_a_recipe_and_a_resume_keeps_it(digits, tmp_path):
    run = tmp_path / "p"
    with pytest.raises(KeyboardInterrupt):
        zoo.train("lenet5", digits, {"epochs": 2}, recipe="paper", run_dir=run, verbose=0,
                  callbacks=[_KilledAt(1)])  # fmt: skip
    record = json.loads((run / "run.json").read_text())
    assert record["recipe"]["name"] == "paper" and record["recipe"]["overridden"] == ["epochs"]
    assert record["config"] == get_recipe("lenet5", "paper").config(epochs=2).to_dict()
    resumed = CliRunner().invoke(cli, ["train", "--resume", str(run), "--quiet"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((run / "state.json").read_text())["epoch"] == 2  # it went on
    assert json.loads((run / "run.json").read_text())["recipe"] == record["recipe"]
    result = zoo.train(run_dir=run, resume=True, verbose=0)
    assert result.config == get_recipe("lenet5", "paper").config(epochs=2)
    plain = zoo.train("lenet5", digits, {"epochs": 1}, run_dir=tmp_path / "q", verbose=0)
    assert plain.config == TrainConfig(epochs=1)  # no recipe asked: the config as given
    assert "recipe" not in json.loads((tmp_path / "q" / "run.json").read_text())
    with pytest.raises(ValueError, match="registered architectures"):
        zoo.train(result.model, digits, recipe="paper")
    with pytest.raises(ValueError, match="keeps the recipe"):
        zoo.train(run_dir=run, resume=True, recipe="paper")
