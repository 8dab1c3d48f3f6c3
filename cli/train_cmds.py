"""``zoo train``: the training engine from the shell, one flag per config field.

The TrainConfig flags are generated from the dataclass (`cli.config_flags`), so
the CLI can never lag behind the config; ``--config FILE`` loads a JSON/YAML
base that flags then override. The options other commands share come from
`cli.params`.
"""

from __future__ import annotations

import os
import shlex
import sys
import time

import click

from cli import params
from cli.aliases import ZooCommand, alias_option
from cli.config_flags import collect_config, config_options, config_values, given_values
from cli.feedback import announce
from cli.params import DATA_HELP, user_errors
from cli.screening import print_run_skipped


def _check_data(data: str) -> None:
    from zoo.data.sample import SAMPLE_NAMES

    special = data.lower() in SAMPLE_NAMES or data.startswith("tfds:")
    if not special and not os.path.exists(data):
        raise click.BadParameter(
            f"no such file or folder: {data!r}. {DATA_HELP}", param_hint="--data"
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


def prepare_run_dir(name, run_dir, resuming: bool, overwrite_run: bool) -> str:
    """The run directory, checked (and created for a new run) before anything trains.

    Args:
        name: the model name.
        run_dir: ``--run-dir`` or ``--resume``'s directory (None: the default).
        resuming: continue the run in ``run_dir``.
        overwrite_run: a new run may replace one already in ``run_dir``.

    Raises:
        click.BadParameter: not a run directory to resume, or not writable.
        click.ClickException: a new run in a directory holding one.
    """
    if resuming:
        if not os.path.isfile(os.path.join(run_dir, "run.json")):
            raise click.BadParameter(
                f"{run_dir!r} is not a zoo run directory (no run.json).", param_hint="--resume"
            )
        return run_dir
    run_dir = run_dir or os.path.join("runs", f"{name}-{time.strftime('%Y%m%d-%H%M%S')}")
    _check_writable(run_dir)
    if os.path.isfile(os.path.join(run_dir, "run.json")) and not overwrite_run:
        raise click.ClickException(
            f"{run_dir} already holds a run: continue it with --resume {run_dir} "
            f"(or start over with --overwrite-run)."
        )
    return run_dir


def train_config(config_path, given: dict, resuming: bool, run_dir=None):
    """The TrainConfig of the flags (None when resuming with no flag: the run's own).

    Resuming, the flags change the run's RECORDED config (run.json), never
    the defaults: ``--resume RUN --epochs 30 --force`` keeps the run's
    learning rate and schedule. ``--config FILE`` replaces it as a whole.

    Args:
        config_path: ``--config`` or None.
        given: the TrainConfig flags given on the command line (`given_values`).
        resuming: continuing the run in ``run_dir``.
        run_dir: the run directory (resuming).

    Raises:
        ValueError: an invalid value, or an unreadable run.json (naming it).
    """
    if resuming and not given and not config_path:
        return None
    base = None
    if resuming and not config_path:
        from zoo.training.runs import RunDirectory, config_from_record

        base = config_from_record(RunDirectory(run_dir).record())
    return collect_config(config_path, given, base=base)


def train_settings(name, recipe_name, config_path, given: dict):
    """``(config, recipe)`` of a new run: the config argument of ``zoo.train``, the recipe.

    A new run of an architecture that has recipes starts from ``--recipe``
    (default: the architecture's default recipe), and ``--config FILE``'s keys
    and the flags given override its fields; then ``config`` is those
    overrides (a dict) and ``recipe`` the `zoo.recipes.Recipe`. ``--config``
    without ``--recipe`` and a model without recipes use none (``recipe``
    None, ``config`` the `TrainConfig` of `train_config`).

    Raises:
        ValueError: an unknown recipe (listing the architecture's) or invalid values.
    """
    from zoo.recipes import get_recipe, overrides_of, recipes_for

    if recipe_name is None and (config_path or not recipes_for(name)):
        return train_config(config_path, given, False), None
    recipe = get_recipe(name, recipe_name)
    keys = {*overrides_of(config_path or {}), *(k for k, v in given.items() if v not in (None, ()))}
    values = collect_config(config_path, given).to_dict()
    overrides = {k: values[k] for k in sorted(keys)}
    recipe.config(**overrides)  # invalid combinations fail here, before anything loads
    return overrides, recipe


def _settings(name, recipe_name, config_path, given: dict, resuming: bool):
    """`train_settings` of a new run; ``(None, None)`` resuming (the run's own, read later)."""
    if not resuming:
        return train_settings(name, recipe_name, config_path, given)
    if recipe_name:
        raise click.BadParameter(
            "a resumed run keeps the recipe it started from (run.json); drop --recipe.",
            param_hint="--recipe",
        )
    return None, None


def _print_recipe(recipe, overrides: dict) -> None:
    click.echo(f"Recipe:    {recipe.name}: {recipe.summary()}")
    click.echo(f"           ({recipe.citation})")
    if overrides:
        changed = ", ".join(f"{k}={v}" for k, v in overrides.items())
        click.echo(f"           overridden: {changed}")


@click.command("train", cls=ZooCommand, context_settings={"show_default": False})
@click.argument("name", required=False)
@params.data_option(help=DATA_HELP + " [default: mnist-sample]")
@params.config_option(help="JSON/YAML TrainConfig; flags override it.")
@params.run_dir_option(help="Run directory [default: runs/NAME-TIMESTAMP].")
@params.resume_option()
@params.force_option()
@params.overwrite_run_option()
@params.input_shape_option(help="Model input shape H,W,C [default: from the data].")
@params.model_arg_option()
@params.save_as_option()
@params.overwrite_saved_option()
@params.saved_models_option()
@alias_option("--overwrite", of="overwrite_saved", use_instead="--overwrite-saved", is_flag=True)
@params.quiet_option()
@click.option(
    "--recipe", "recipe_name", metavar="NAME",
    help="Start from this training recipe of the architecture (see `zoo info NAME`: 'paper', "
    "'fast', ...); training flags and --config override its fields. [default: the "
    "architecture's default recipe; none with --config]",
)  # fmt: skip
@config_options
def train_cmd(name, data, config_path, run_dir, resume, force, overwrite_run, input_shape,
              model_arg, save_as, overwrite_saved, quiet, recipe_name, **fields):  # fmt: skip
    """Train model NAME on DATA with the course's whole toolbox.

    \b
    With no training flag, NAME trains with its default recipe (`zoo info
    NAME` lists them; --recipe picks another); flags override single fields.

    \b
    Examples:
      zoo train lenet5                                  # shipped MNIST sample
      zoo train lenet5 --data mnist/                    # its 'fast' recipe: >= 99 % test
      zoo train resnet20 --data cifar10/ --recipe paper --epochs 30
      zoo train lenet5 --data mnist/ --epochs 15 --schedule step --step-size 5
      zoo train resnet20 --data cifar10/ --optimizer nesterov --learning-rate 0.1 \\
          --schedule step --augment flip --augment crop --l2 1e-4
      zoo train --resume runs/lenet5-20261122-101500   # after a kill
    """
    run_dir, resuming = params.resolve_resume(resume, run_dir, overwrite_run=overwrite_run)
    if not name and not resuming:
        raise click.UsageError("give a model NAME (see `zoo models`) or --resume RUN_DIR.")
    if name:
        from zoo.registry import resolve_name

        with user_errors():
            name = resolve_name(name)
    if resuming:
        run_dir = prepare_run_dir(name, run_dir, resuming, overwrite_run)
    given = given_values(click.get_current_context(), config_values(fields))
    with user_errors():  # resuming, the recorded config is read after the announcement
        config, recipe = _settings(name, recipe_name, config_path, given, resuming)
    if data is not None:
        _check_data(data)
    kwargs = _model_kwargs(model_arg, input_shape)
    with user_errors():
        params.check_save_as(save_as, overwrite_saved)
    created = not resuming and not (run_dir and os.path.isdir(run_dir))
    from zoo.training import distribute

    run_dir = _coordinator_run_dir(name, run_dir, resuming, overwrite_run, config)
    data = data if resuming else (data or "mnist-sample")

    announce(f"resuming {run_dir}" if resuming else f"{name} on {data}", quiet=quiet)
    with user_errors():
        config = train_config(config_path, given, resuming, run_dir) if resuming else config
    from zoo.training.fit import publish_result, train

    if recipe is not None and not quiet:
        _print_recipe(recipe, config)
    verbose = 0 if quiet else (1 if sys.stdout.isatty() else 2)
    command = "zoo " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    try:
        with user_errors():
            result = train(
                name, data, config, run_dir=run_dir, resume=resuming, force=force,
                overwrite=overwrite_run, model_kwargs=kwargs, verbose=verbose, command=command,
                recipe=recipe,
            )  # fmt: skip
    except KeyboardInterrupt:
        raise _interrupted(run_dir, created) from None
    except distribute.DistributedError as err:  # exit now: JAX's shutdown would wait for the lost
        click.echo(f"Error: {err}", err=True)
        sys.stderr.flush(), sys.stdout.flush()
        os._exit(1)
    except BaseException:
        _remove_if_empty(run_dir, created)
        raise
    _print_summary(result, doctor_printed=not quiet)
    print_run_skipped(result.run_dir)
    if save_as and distribute.cluster().coordinator:
        if result.status == "diverged":
            raise click.ClickException("training diverged; nothing was published.")
        with user_errors():
            path = publish_result(result, save_as, overwrite=overwrite_saved)
        click.echo(f"Published to {path}")
    if result.status == "diverged":
        raise click.ClickException(
            "training diverged (non-finite loss); see the doctor's report above."
        )


def _model_kwargs(model_arg, input_shape):
    """The builder keywords of ``--model-arg`` and ``--input-shape`` (None: none given)."""
    kwargs = params.parse_model_args(model_arg) or None
    return {**(kwargs or {}), "input_shape": input_shape} if input_shape else kwargs


def _coordinator_run_dir(name, run_dir, resuming: bool, overwrite_run: bool, config):
    """`prepare_run_dir`, on the coordinator only: a data-parallel worker writes nothing."""
    from zoo.training import distribute

    mode = (
        config.get("distribute")
        if isinstance(config, dict)
        else getattr(config, "distribute", None)
    )
    if distribute.is_worker(mode):
        return run_dir
    return prepare_run_dir(name, run_dir, resuming, overwrite_run)


def _remove_if_empty(run_dir: str, created: bool) -> None:
    """Removes the run directory this command created when a failed start left it empty."""
    if created and os.path.isdir(run_dir) and not os.listdir(run_dir):
        os.rmdir(run_dir)


def _interrupted(run_dir: str, created: bool) -> click.ClickException:
    """Ctrl-C: how to continue the run (or that nothing was started)."""
    if os.path.isfile(os.path.join(run_dir, "run.json")):
        message = (
            f"interrupted; the run keeps every completed epoch. Continue it with: "
            f"zoo train --resume {shlex.quote(run_dir)}"
        )
    else:
        _remove_if_empty(run_dir, created)
        message = "interrupted before training started; nothing was written."
    error = click.ClickException(message)
    error.exit_code = 130
    return error


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
