"""The ``zoo`` command: a click group whose commands import Keras only when run."""

from __future__ import annotations

import click

from cli.bench_cmds import bench_cmd
from cli.eval_cmds import evaluate_cmd, lr_find_cmd, plot_cmd, predict_cmd
from cli.registry_cmds import build_cmd, info_cmd, models_cmd
from cli.train_cmds import train_cmd
from cli.transfer_cmds import embed_cmd, export_cmd, finetune_cmd
from cli.tune_cmds import tune_cmd, tune_report_cmd

COMMANDS = (
    models_cmd,
    info_cmd,
    build_cmd,
    train_cmd,
    evaluate_cmd,
    predict_cmd,
    lr_find_cmd,
    plot_cmd,
    finetune_cmd,
    embed_cmd,
    export_cmd,
    tune_cmd,
    tune_report_cmd,
    bench_cmd,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="keras-zoo", prog_name="zoo")
def cli():
    """keras-zoo: classic deep-learning architectures, trained, tuned and fine-tuned."""


for _command in COMMANDS:
    cli.add_command(_command)


def main() -> None:
    cli(prog_name="zoo")


if __name__ == "__main__":
    main()
