"""The ``zoo`` command line: help for every command, errors as one line, no heavy imports."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import heavy_imports

from cli.main import cli

COMMANDS = sorted(cli.commands)


def test_root_help_lists_every_command():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_importing_the_cli_imports_no_tensorflow_or_keras():
    assert heavy_imports("import cli.main") == []


def test_zoo_models_imports_no_keras_either():
    code = (
        "from click.testing import CliRunner; from cli.main import cli; "
        "r = CliRunner().invoke(cli, ['models']); assert r.exit_code == 0, r.output"
    )
    assert heavy_imports(code, ("keras", "tensorflow")) == []


def test_models_table():
    result = CliRunner().invoke(cli, ["models", "vgg*"])
    assert result.exit_code == 0
    assert (
        "vgg16_c" in result.output and "138.36M" in result.output and "resnet" not in result.output
    )
    result = CliRunner().invoke(cli, ["models", "--family", "resnet_cifar"])
    rows = [line.split()[0] for line in result.output.splitlines()[2:]]
    assert rows == ["resnet20", "resnet32", "resnet44", "resnet56", "resnet110"]


def test_unknown_model_is_one_line_with_suggestions():
    for args in (["info", "vgg61"], ["build", "vgg61", "-o", "x.keras"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0
        lines = [line for line in result.output.splitlines() if line.strip()]
        assert len(lines) == 1, result.output
        assert "Unknown model 'vgg61'" in lines[0] and "Did you mean" in lines[0]


def test_bad_values_are_rejected():
    runner = CliRunner()
    assert runner.invoke(cli, ["models", "--family", "transformers"]).exit_code == 2
    assert runner.invoke(cli, ["info", "lenet5", "--input-shape", "a,b"]).exit_code == 2
    assert runner.invoke(cli, ["info", "lenet5", "--num-classes", "0"]).exit_code == 2
    result = runner.invoke(cli, ["info", "lenet5", "--input-shape", "16,16,1"])
    assert result.exit_code == 1 and "at least 32x32" in result.output


def test_info_prints_spec_params_and_flops():
    result = CliRunner().invoke(cli, ["info", "lenet5", "--num-classes", "10"])
    assert result.exit_code == 0, result.output
    assert "61,706" in result.output and "FLOPs" in result.output and "c5" in result.output


def test_build_saves_a_loadable_model(tmp_path):
    import zoo

    out = tmp_path / "m.keras"
    result = CliRunner().invoke(cli, ["build", "resnet20", "-o", str(out), "--num-classes", "4"])
    assert result.exit_code == 0, result.output
    assert zoo.load_model(out).output_shape == (None, 4)
    again = CliRunner().invoke(cli, ["build", "resnet20", "-o", str(out)])
    assert again.exit_code == 1 and "--force" in again.output
    bad = CliRunner().invoke(cli, ["build", "resnet20", "-o", str(tmp_path / "m.h5")])
    assert bad.exit_code == 2
