"""``zoo train``: the training engine from the shell, one flag per config field.

The flags are generated from ``TrainConfig``'s fields, so the CLI can never
lag behind the config; ``--config FILE`` loads a JSON/YAML base that flags
then override.
"""

from __future__ import annotations

import dataclasses
import os
import shlex
import sys
import time
import typing

import click

from cli.params import SHAPE, user_errors
from zoo.training.config import (
    AUGMENTATIONS,
    DISTRIBUTE,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
)

_CHOICES = {
    "optimizer": OPTIMIZERS,
    "schedule": SCHEDULES,
    "loss": LOSSES,
    "distribute": DISTRIBUTE,
}
_DATA_HELP = (
    "Image folder, .npz file, tfds:NAME, 'mnist-sample' or 'cifar10-sample' "
    "(the shipped MNIST / CIFAR-10 samples)."
)


def _field_help(name: str) -> str:
    doc = TrainConfig.__doc__ or ""
    marker = f"        {name}: "
    if marker not in doc:
        return ""
    text = doc.split(marker, 1)[1]
    lines = [text.splitlines()[0]]
    for line in text.splitlines()[1:]:
        if line.startswith("            "):
            lines.append(line.strip())
        else:
            break
    return " ".join(lines)


def _config_options(fn):
    """Adds one ``--flag`` per TrainConfig field (default None = not given)."""
    hints = typing.get_type_hints(TrainConfig)
    for field in reversed(dataclasses.fields(TrainConfig)):
        name, flag = field.name, "--" + field.name.replace("_", "-")
        kind = [a for a in typing.get_args(hints[name]) if a is not type(None)] or [hints[name]]
        help_text = (
            f"{_field_help(name)} [default: {field.default!r}]"
            if field.default is not dataclasses.MISSING
            else ""
        )
        if name == "augment":
            option = click.option(
                flag, multiple=True, metavar="NAME[:STRENGTH]",
                help=f"Augmentation, repeatable: {', '.join(AUGMENTATIONS)}.")  # fmt: skip
        elif name == "jit_compile":
            option = click.option(
                flag, type=click.Choice(["auto", "true", "false"]), default=None, help=help_text
            )
        elif name == "mixed_precision":
            option = click.option(
                flag, type=click.Choice(["bfloat16", "float16", "false"]), default=None, help=help_text)  # fmt: skip
        elif name in _CHOICES:
            option = click.option(
                flag,
                type=click.Choice(_CHOICES[name], case_sensitive=False),
                default=None,
                help=help_text,
            )
        elif kind[0] is bool:
            option = click.option(f"{flag}/--no-{flag[2:]}", default=None, help=help_text)
        elif kind[0] is int:
            option = click.option(flag, type=int, default=None, help=help_text)
        elif kind[0] is float:
            option = click.option(flag, type=float, default=None, help=help_text)
        else:
            option = click.option(flag, type=str, default=None, help=help_text)
        fn = option(fn)
    return fn


def _collect_config(config_file, values: dict) -> TrainConfig:
    base = TrainConfig.from_file(config_file) if config_file else TrainConfig()
    changes = {}
    for key, value in values.items():
        if value is None or value == ():
            continue
        if key in ("jit_compile", "mixed_precision"):
            value = {"true": True, "false": False}.get(value, value)
        changes[key] = list(value) if key == "augment" else value
    return base.replace(**changes) if changes else base


def _parse_model_args(pairs) -> dict:
    import json

    kwargs = {}
    for pair in pairs:
        if "=" not in pair:
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE.", param_hint="--model-arg")
        key, raw = pair.split("=", 1)
        try:
            kwargs[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            kwargs[key.strip()] = raw
    return kwargs


def _check_data(data: str) -> None:
    from zoo.data.sample import SAMPLE_NAMES

    special = data.lower() in SAMPLE_NAMES or data.startswith("tfds:")
    if not special and not os.path.exists(data):
        raise click.BadParameter(
            f"no such file or folder: {data!r}. {_DATA_HELP}", param_hint="--data"
        )


def _check_writable(run_dir: str) -> None:
    """Creates the run directory now, so an unwritable one fails before training."""
    import tempfile

    try:
        os.makedirs(run_dir, exist_ok=True)
        with tempfile.TemporaryFile(dir=run_dir):
            pass
    except OSError as err:
        raise click.BadParameter(
            f"cannot write to {run_dir!r}: {err.strerror}.", param_hint="--run-dir"
        ) from None


@click.command("train", context_settings={"show_default": False})
@click.argument("name", required=False)
@click.option("--data", default=None, help=_DATA_HELP + " [default: mnist-sample]")
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False),
    help="JSON/YAML TrainConfig; flags override it.",
)
@click.option("--run-dir", help="Run directory [default: runs/NAME-TIMESTAMP].")
@click.option(
    "--resume",
    "resume_dir",
    type=click.Path(file_okay=False),
    help="Continue the run in this directory after a kill.",
)
@click.option(
    "--force", is_flag=True, help="Resume even if the model, optimizer, config or data changed."
)
@click.option("--input-shape", type=SHAPE, help="Model input shape H,W,C [default: from the data].")
@click.option(
    "--model-arg",
    multiple=True,
    metavar="KEY=VALUE",
    help="Builder argument, repeatable (e.g. dropout=0.3, hidden_units=[256,128]).",
)
@click.option("--save-as", help="Publish the final model to saved_models/NAME.")
@click.option("--overwrite", is_flag=True, help="Replace an existing saved_models/NAME.")
@click.option("--quiet", is_flag=True, help="No per-epoch progress.")
@_config_options
def train_cmd(
    name,
    data,
    config_file,
    run_dir,
    resume_dir,
    force,
    input_shape,
    model_arg,
    save_as,
    overwrite,
    quiet,
    **fields,
):
    """Train model NAME on DATA with the course's whole toolbox.

    \b
    Examples:
      zoo train lenet5                                  # shipped MNIST sample
      zoo train lenet5 --data mnist/ --epochs 15 --schedule step --step-size 5
      zoo train resnet20 --data cifar10/ --optimizer nesterov --learning-rate 0.1 \\
          --schedule step --augment flip --augment crop --l2 1e-4
      zoo train --resume runs/lenet5-20261122-101500   # after a kill
    """
    if not name and not resume_dir:
        raise click.UsageError("give a model NAME (see `zoo models`) or --resume RUN_DIR.")
    if name:
        from zoo.registry import resolve_name

        with user_errors():
            name = resolve_name(name)
    given = {k: v for k, v in fields.items() if v is not None and v != ()}
    with user_errors():
        config = (
            _collect_config(config_file, fields)
            if (given or config_file or not resume_dir)
            else None
        )
    if data is not None:
        _check_data(data)
    if resume_dir:
        if not os.path.isfile(os.path.join(resume_dir, "run.json")):
            raise click.BadParameter(
                f"{resume_dir!r} is not a zoo run directory (no run.json).", param_hint="--resume"
            )
        run_dir = resume_dir
    else:
        data = data or "mnist-sample"
        run_dir = run_dir or os.path.join("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
        _check_writable(run_dir)
        if os.path.isfile(os.path.join(run_dir, "run.json")):
            raise click.ClickException(
                f"{run_dir} already holds a run: continue it with --resume {run_dir}."
            )
    model_kwargs = _parse_model_args(model_arg) or None
    if input_shape:
        model_kwargs = {**(model_kwargs or {}), "input_shape": input_shape}
    if save_as:
        from zoo.pretrained import check_name

        with user_errors():
            check_name(save_as)

    from zoo.training.fit import publish_result, train

    verbose = 0 if quiet else (1 if sys.stdout.isatty() else 2)
    command = "zoo " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    with user_errors():
        result = train(
            name, data, config, run_dir=run_dir, resume=bool(resume_dir), force=force,
            model_kwargs=model_kwargs, verbose=verbose, command=command,
        )  # fmt: skip
    _print_summary(result, doctor_printed=not quiet)
    if save_as:
        if result.status == "diverged":
            raise click.ClickException("training diverged; nothing was published.")
        with user_errors():
            path = publish_result(result, save_as, overwrite=overwrite)
        click.echo(f"Published to {path}")
    if result.status == "diverged":
        raise click.ClickException(
            "training diverged (non-finite loss); see the doctor's report above."
        )


def _print_summary(result, doctor_printed: bool) -> None:
    h = result.history
    click.echo("")
    click.echo(f"Run:       {result.run_dir}")
    click.echo(
        f"Status:    {result.status} after {result.epochs} epoch(s), {result.seconds:.0f} s this session"
    )
    for key in ("accuracy", "val_accuracy", "loss", "val_loss"):
        if h.get(key):
            click.echo(f"Final {key + ':':14s} {h[key][-1]:.4f}")
    for key, value in result.metrics.items():
        click.echo(f"{key + ':':20s} {value:.4f}")
    if doctor_printed or not result.config.doctor:
        return  # the doctor's callback printed its report at the end of training
    click.echo("")
    click.echo(result.report)
