"""The ``zoo`` command: a click group whose commands import Keras only when run.

The group is the CLI's one error boundary (`ZooGroup`): an exception caused by
the user's input, files or environment (see `zoo.errors`) ends the command with
one line ``Error: ...`` and exit code 1; ``zoo --debug`` or ``ZOO_DEBUG=1``
shows the traceback instead. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import zipfile

import click

from cli.bench_cmds import bench_cmd
from cli.convert_cmds import convert_cmd
from cli.eval_cmds import evaluate_cmd, lr_find_cmd, plot_cmd, predict_cmd
from cli.feedback import quiet_backend_logs
from cli.landscape_cmds import landscape_cmd
from cli.registry_cmds import build_cmd, info_cmd, models_cmd
from cli.train_cmds import train_cmd
from cli.transfer_cmds import embed_cmd, export_cmd, finetune_cmd
from cli.tune_cmds import tune_cmd, tune_report_cmd
from cli.viz_cmds import explain_cmd, viz_group

COMMANDS = (
    models_cmd,
    info_cmd,
    build_cmd,
    train_cmd,
    evaluate_cmd,
    predict_cmd,
    lr_find_cmd,
    landscape_cmd,
    plot_cmd,
    finetune_cmd,
    embed_cmd,
    export_cmd,
    convert_cmd,
    tune_cmd,
    tune_report_cmd,
    bench_cmd,
    explain_cmd,
    viz_group,
)


#: Exceptions that bad input, files or environments cause (not bugs): one line each.
#: ``ValueError`` covers the zoo's own (`zoo.errors.ZooError`), JSON errors and
#: ``UnicodeDecodeError``; ``OSError`` missing, unreadable and corrupted files.
USER_ERRORS = (
    ValueError,
    OSError,
    EOFError,
    zipfile.BadZipFile,
    RecursionError,
    MemoryError,
)


def one_line(err: BaseException) -> str:
    """The first line of ``err``'s message, prefixed by its kind when it is not the zoo's."""
    from cli.params import first_line

    text = first_line(err)
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        text = f"{err.filename}: {err.strerror}"
    elif isinstance(err, RecursionError):
        text = "input nested too deep to read (RecursionError)"
    elif isinstance(err, MemoryError):
        text = "out of memory" + (f": {text}" if text else "")
    line = text.splitlines()[0] if text else ""

    if isinstance(err, ValueError) and not isinstance(err, UnicodeDecodeError):
        return line or type(err).__name__
    return f"{type(err).__name__}: {line}" if line else type(err).__name__


def _is_yaml_error(err: BaseException) -> bool:
    return any(
        k.__module__.startswith("yaml") and k.__name__ == "YAMLError" for k in type(err).__mro__
    )


class ZooGroup(click.Group):
    """The root group: turns user-caused exceptions into one-line errors (the boundary)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as err:
            from cli.params import debug_enabled

            if debug_enabled() or not (isinstance(err, USER_ERRORS) or _is_yaml_error(err)):
                raise
            raise click.ClickException(one_line(err)) from None


@click.group(
    cls=ZooGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="keras-zoo", prog_name="zoo")
@click.option(
    "--debug",
    is_flag=True,
    help="Show the full traceback of an error (also ZOO_DEBUG=1).",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool):
    """keras-zoo: classic deep-learning architectures, trained, tuned and fine-tuned."""
    ctx.meta["zoo.debug"] = debug
    quiet_backend_logs()  # before any command imports TensorFlow


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="zoo")


if __name__ == "__main__":
    main()
