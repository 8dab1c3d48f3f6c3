"""One CLI vocabulary: a shared option means the same in every command, old spellings
still work (hidden from --help), and ``--resume RUN_DIR`` continues a run everywhere.

Parsing is checked with ``make_context`` (the command's real parser, stopping before
its body runs); what a command does with an option is checked where it fails fast,
before anything trains.
"""

from __future__ import annotations

import dataclasses
import re

import click
import pytest
from click.testing import CliRunner

from cli import params
from cli.main import cli
from cli.params import ShapeType
from cli.transfer_cmds import finetune_arguments
from cli.tune_cmds import _search_directory
from zoo.constants import OPTIMIZERS, TUNERS
from zoo.training.config import TrainConfig

#: Each shared option and the commands that take it (the table is checked both ways:
#: every listed command has the option, and they all declare it alike).
SHARED = {
    "--data": ["train", "evaluate", "lr-find", "tune", "landscape"],
    "--config": ["train", "finetune", "lr-find", "tune"],
    "--run-dir": ["train", "finetune"],
    "--resume": ["train", "finetune", "tune"],
    "--force": ["train", "finetune"],
    "--overwrite-run": ["train", "finetune", "tune"],
    "--save-as": ["train", "finetune", "tune"],
    "--overwrite-saved": ["train", "finetune", "tune"],
    "--saved-models": [
        "train",
        "finetune",
        "tune",
        "embed",
        "evaluate",
        "predict",
        "models",
        "landscape",
        "explain",
    ],
    "--learning-rate": ["train", "finetune"],
    "--batch-size": ["train", "finetune", "evaluate", "lr-find", "embed", "bench", "landscape"],
    "--epochs": ["train", "finetune"],
    "--optimizer": ["train", "lr-find"],
    "--seed": ["train", "lr-find", "tune", "landscape"],
    "--quiet": ["train", "finetune"],
    "--input-shape": ["train", "info", "build", "bench"],
    "--num-classes": ["info", "build", "bench"],
    "--model-arg": ["train", "info", "build"],
    "--weights": ["finetune", "embed"],
    "--alpha": ["finetune", "embed"],
    "--output": ["build", "embed", "export", "plot", "convert", "landscape", "explain"],
    "--jit-compile": ["train", "bench"],
    "--json": ["predict", "bench", "tune-report"],
}

#: Old spellings: (command, old flag, new spelling shown in --help).
ALIASES = [
    ("train", "--lr", "--learning-rate"),
    ("finetune", "--lr", "--learning-rate"),
    ("train", "--dropout", "--dense-dropout"),
    ("train", "--overwrite", "--overwrite-saved"),
    ("finetune", "--overwrite", "--overwrite-run"),
    ("tune", "--overwrite", "--overwrite-run"),
    ("plot", "--out", "--output"),
    ("bench", "--jit", "--jit-compile"),
    ("bench", "--no-jit", "--jit-compile"),
]

_KINDS = (
    click.types.BoolParamType,
    click.types.IntParamType,
    click.types.FloatParamType,
    click.Choice,
    click.Path,
    ShapeType,
    click.types.StringParamType,
)


def _option(command: str, flag: str) -> click.Option:
    for param in cli.commands[command].params:
        if flag in param.opts + param.secondary_opts:
            return param
    raise AssertionError(f"zoo {command} has no {flag}")


def _declaration(param: click.Option) -> tuple:
    """What an option means to a user: its spellings, value kind and choices."""
    kind = next(k.__name__ for k in _KINDS if isinstance(param.type, k))
    choices = tuple(param.type.choices) if isinstance(param.type, click.Choice) else None
    return (param.name, tuple(sorted(param.opts + param.secondary_opts)), param.is_flag, param.multiple,
            kind, choices, param.hidden)  # fmt: skip


def _hidden_spellings(command: str, dest: str) -> list[str]:
    return sorted(
        p.opts[0] for p in cli.commands[command].params if dest in getattr(p, "alias_of", ())
    )


def _parse(command: str, args: list[str]) -> dict:
    return cli.commands[command].make_context(command, args).params


@pytest.mark.parametrize("flag", sorted(SHARED))
def test_a_shared_option_is_declared_alike_in_every_command(flag):
    commands = SHARED[flag]
    declarations = {c: _declaration(_option(c, flag)) for c in commands}
    assert len(set(declarations.values())) == 1, declarations
    dest = declarations[commands[0]][0]
    # the old --overwrite is the one old spelling whose meaning was per command
    # (test_overwrite_keeps_its_old_meaning_per_command)
    hidden = {tuple(s for s in _hidden_spellings(c, dest) if s != "--overwrite") for c in commands}
    assert len(hidden) == 1, hidden


@pytest.mark.parametrize("flag", sorted(SHARED))
def test_no_other_command_spells_the_option_differently(flag):
    """A command outside the table may not take the flag (except --force, see below)."""
    others = [c for c in cli.commands if c not in SHARED[flag]]
    for command in others:
        names = {o for p in cli.commands[command].params for o in p.opts + p.secondary_opts}
        if flag == "--force" and command in ("build", "export", "convert"):
            continue  # "replace the output file": its own meaning, documented in the help
        if flag == "--json" and command == "evaluate":
            assert _option(command, flag).flag_value == "-"  # bare --json prints it, as above
            continue
        assert flag not in names, f"zoo {command} takes {flag} outside the shared vocabulary"


def test_every_command_applies_old_spellings():
    """An old spelling reaches its target only through ZooCommand's parser."""
    from cli.aliases import ZooCommand

    commands = [
        sub
        for command in cli.commands.values()
        for sub in (command.commands.values() if isinstance(command, click.Group) else [command])
    ]
    assert all(isinstance(command, ZooCommand) for command in commands)


def test_the_constants_are_the_ones_offered():
    assert tuple(_option("lr-find", "--optimizer").type.choices) == OPTIMIZERS
    assert tuple(_option("train", "--optimizer").type.choices) == OPTIMIZERS
    assert tuple(_option("tune", "--tuner").type.choices) == TUNERS


@pytest.mark.parametrize("command, old, new", ALIASES)
def test_old_spellings_are_hidden_from_help(command, old, new):
    text = CliRunner().invoke(cli, [command, "--help"]).output
    assert new in text
    assert not re.search(rf"(?<![\w-]){re.escape(old)}(?![\w-])", text), text


def test_learning_rate_and_its_old_spelling_give_the_same_config(capsys):
    for old in ([], ["--lr", "0.05"]):
        args = old or ["--learning-rate", "0.05"]
        train = _parse("train", ["lenet5", *args])
        finetune = _finetune(["bb", "data", *args])
        assert train["learning_rate"] == 0.05 and finetune["config"].learning_rate == 0.05
    assert "--lr is deprecated; use --learning-rate" in capsys.readouterr().err


def test_dense_dropout_and_dropout_give_the_same_config_value():
    """Holds before and after TrainConfig.dropout becomes dense_dropout."""
    from cli.config_flags import collect_config, config_values

    names = {f.name for f in dataclasses.fields(TrainConfig)}
    field = "dense_dropout" if "dense_dropout" in names else "dropout"
    values = []
    for flag in ("--dense-dropout", "--dropout"):
        config = collect_config(None, config_values(_parse("train", ["lenet5", flag, "0.2"])))
        values.append(getattr(config, field))
    assert values == [0.2, 0.2]
    result = CliRunner().invoke(
        cli, ["train", "lenet5", "--dropout", "0.2", "--dense-dropout", "0.3"]
    )
    assert result.exit_code == 2 and "give only one of them" in result.output


def test_every_train_config_field_has_its_flag():
    flags = {o for p in cli.commands["train"].params for o in p.opts}
    renamed = {"dropout": "dense_dropout"}
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    for name in names:
        if renamed.get(name) in names:
            continue
        assert "--" + renamed.get(name, name).replace("_", "-") in flags


def test_overwrite_keeps_its_old_meaning_per_command():
    train = _parse("train", ["lenet5", "--overwrite"])
    assert train["overwrite_saved"] and not train["overwrite_run"]
    finetune = _parse("finetune", ["bb", "data", "--overwrite"])
    assert finetune["overwrite_saved"] and finetune["overwrite_run"]
    tune = _parse("tune", ["mlp", "--data", "x", "--overwrite"])
    assert tune["overwrite_run"] and not tune["overwrite_saved"]


def test_plot_out_and_bench_jit_old_spellings():
    assert _parse("plot", ["r", "--out", "a.png"])["output"] == "a.png"
    assert _parse("bench", ["lenet5", "--jit"])["jit_compile"] == "true"
    assert _parse("bench", ["lenet5", "--no-jit"])["jit_compile"] == "false"
    assert params.jit_compile_value(_parse("bench", ["lenet5"])["jit_compile"]) == "auto"


# --- --resume RUN_DIR ---------------------------------------------------------------------


def _finetune(args: list[str]) -> dict:
    options = _parse("finetune", args)
    options.pop("backbone"), options.pop("data")
    return finetune_arguments(**options)


def _resolved(command: str, args: list[str]) -> tuple:
    """(run directory, resume) as the command resolves them."""
    if command == "finetune":
        kwargs = _finetune(["bb", "data", *args])
        return kwargs["run_dir"], kwargs["resume"]
    if command == "tune":
        p = _parse("tune", ["mlp", "--data", "x", *args])
        return _search_directory("mlp", p["directory"], p["resume"], p["overwrite_run"])
    p = _parse("train", ["lenet5", *args])
    return params.resolve_resume(p["resume"], p["run_dir"], overwrite_run=p["overwrite_run"])


RUN_DIR_FLAG = {"train": "--run-dir", "finetune": "--run-dir", "tune": "--directory"}


@pytest.mark.parametrize("command", ["train", "finetune", "tune"])
def test_resume_run_dir_means_the_same_in_every_command(command, tmp_path, capsys):
    where = RUN_DIR_FLAG[command]
    run = str(tmp_path / "run")
    assert _resolved(command, ["--resume", run]) == (run, True)
    assert _resolved(command, [where, run, "--resume", run]) == (run, True)
    assert _resolved(command, [])[1] is False
    # the old flag form: --resume beside the directory option, at the end or before an option
    assert _resolved(command, [where, run, "--resume"]) == (run, True)
    assert _resolved(
        command, [where, run, "--resume", "--force" if command != "tune" else "-v"]
    ) == (
        run,
        True,
    )
    assert f"{where} DIR --resume is deprecated; use --resume DIR" in capsys.readouterr().err
    help_text = CliRunner().invoke(cli, [command, "--help"]).output
    assert "--resume RUN_DIR" in help_text


@pytest.mark.parametrize("command", ["train", "finetune", "tune"])
def test_resume_refuses_contradictions_before_any_work(command, tmp_path):
    where = RUN_DIR_FLAG[command]
    base = {"train": ["lenet5"], "finetune": ["bb", "data"], "tune": ["mlp", "--data", "x"]}[
        command
    ]
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    for extra, message in (
        ([where, a, "--resume", b], "different directories"),
        (["--resume", a, "--overwrite-run"], "exclusive"),
    ):
        result = CliRunner().invoke(cli, [command, *base, *extra])
        assert result.exit_code == 2 and message in result.output, result.output


def test_a_bare_resume_needs_a_directory_except_in_tune():
    for command, base in (("train", []), ("finetune", ["bb", "data"])):
        result = CliRunner().invoke(cli, [command, *base, "--resume"])
        assert result.exit_code == 2 and "--resume RUN_DIR" in result.output
    assert _resolved("tune", ["--resume"]) == ("tune-mlp", True)  # tune's default folder, as before


@pytest.mark.parametrize("form", ["new", "old"])
def test_train_resume_of_a_folder_without_a_run(form, tmp_path):
    args = (
        ["--resume", str(tmp_path)] if form == "new" else ["--run-dir", str(tmp_path), "--resume"]
    )
    result = CliRunner().invoke(cli, ["train", *args])
    assert result.exit_code == 2 and "not a zoo run directory" in result.output


def test_train_refuses_a_run_directory_in_use_unless_overwrite_run(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    result = CliRunner().invoke(cli, ["train", "lenet5", "--run-dir", str(tmp_path)])
    assert result.exit_code == 1
    assert f"--resume {tmp_path}" in result.output and "--overwrite-run" in result.output


def test_finetune_overwrite_flags_each_mean_only_their_own(tmp_path, monkeypatch):
    run = tmp_path / "ft"
    (run / "phase1-head").mkdir(parents=True)
    (run / "phase1-head" / "run.json").write_text("{}")
    with pytest.raises(click.ClickException, match="already holds a fine-tune"):
        _finetune(["bb", "data", "--run-dir", str(run), "--overwrite-saved"])
    assert _finetune(["bb", "data", "--run-dir", str(run), "--overwrite-run"])["overwrite"]
    assert _finetune(["bb", "data", "--resume", str(run)])["resume"]
    with pytest.raises(ValueError, match="--overwrite-saved"):
        name = _taken_name(tmp_path, monkeypatch)
        _finetune(["bb", "data", "--run-dir", str(tmp_path / "new"), "--save-as", name,
                   "--overwrite-run"])  # fmt: skip


def _taken_name(tmp_path, monkeypatch) -> str:
    """A checkpoint name that saved_models/ already holds."""
    (tmp_path / "saved" / "taken").mkdir(parents=True)
    (tmp_path / "saved" / "taken" / "manifest.json").write_text("{}")
    monkeypatch.setenv("ZOO_SAVED_MODELS", str(tmp_path / "saved"))
    return "taken"


def test_a_taken_save_as_name_is_refused_before_training(tmp_path, monkeypatch):
    name = _taken_name(tmp_path, monkeypatch)
    result = CliRunner().invoke(
        cli, ["train", "lenet5", "--run-dir", str(tmp_path / "r"), "--save-as", name]
    )
    assert result.exit_code == 1 and "--overwrite-saved" in result.output, result.output
    assert not (tmp_path / "r" / "run.json").exists()
