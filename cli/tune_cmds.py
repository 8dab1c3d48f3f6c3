"""``zoo tune`` and ``zoo tune-report``: hyperparameter search from the shell.

Register in ``cli/main.py`` with ``cli.add_command(tune_cmd)`` and
``cli.add_command(tune_report_cmd)``. Keras is imported inside the command
bodies only.
"""

from __future__ import annotations

import os

import click

from cli.params import user_errors

TUNERS = ("random", "grid", "bayesian", "hyperband")

SPACE_HELP = (
    "A hyperparameter to search, NAME=SPEC (repeatable). SPEC: 'log:1e-4:1e-1' (log-uniform), "
    "'0:0.5:0.1' (range min:max[:step]; ints when all parts are), 'sgd,adam,rmsprop' (choice), "
    "'3' (fixed); append '@optimizer=momentum,nesterov' to make it conditional. NAME is a "
    "TrainConfig field (learning_rate, optimizer, batch_size, epochs, ...) or a builder argument "
    "of the model (dropout, activation, hidden_units, ...); 'train.X' / 'model.X' disambiguate."
)


@click.command("tune")
@click.argument("name")
@click.option(
    "--data",
    required=True,
    help="Image folder, .npz, 'tfds:NAME', 'mnist-sample' or 'cifar10-sample'.",
)
@click.option(
    "--tuner",
    type=click.Choice(TUNERS),
    default="random",
    show_default=True,
    help="Search algorithm.",
)
@click.option("--space", "spaces", multiple=True, metavar="NAME=SPEC", help=SPACE_HELP)
@click.option(
    "--space-file",
    type=click.Path(dir_okay=False),
    help="Search space as a YAML/JSON mapping NAME: SPEC.",
)
@click.option(
    "--max-trials",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Trials at most.",
)
@click.option("--max-epochs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Epochs per trial (Hyperband: the largest per-trial budget).")  # fmt: skip
@click.option("--objective", default="val_accuracy", show_default=True,
              help="Metric to optimize: loss, accuracy, val_loss, val_accuracy.")  # fmt: skip
@click.option("--time-budget", help="Start no new trial after this long, e.g. 90s, 30m, 2h.")
@click.option("--executions-per-trial", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trainings per trial from fresh weights; metrics are averaged.")  # fmt: skip
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="Base TrainConfig (.yaml/.json) that the space overrides.")  # fmt: skip
@click.option("-d", "--directory", help="Search folder [default: tune-NAME].")
@click.option("--resume", is_flag=True, help="Continue the search in --directory (same arguments).")
@click.option("--overwrite", is_flag=True, help="Replace a search already in --directory.")
@click.option("--save-as", help="Publish the best model to saved_models/<NAME>.")
@click.option(
    "--overwrite-saved", is_flag=True, help="Allow --save-as to replace an existing name."
)
@click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
              help="Process deaths (OOM, kill) during one trial before it is marked failed.")  # fmt: skip
@click.option("--seed", type=int, help="Seed of the search algorithm.")
@click.option("--chief", metavar="HOST:PORT",
              help="Run the chief of a distributed search: serve the oracle on HOST:PORT "
                   "(127.0.0.1 only unless --allow-remote). The gRPC channel is UNAUTHENTICATED.")  # fmt: skip
@click.option(
    "--worker",
    metavar="HOST:PORT",
    help="Run a worker that takes trials from the chief at HOST:PORT.",
)
@click.option("--worker-id", help="Unique id of this worker (with --worker).")
@click.option("--allow-remote", is_flag=True,
              help="Let the chief listen on a non-loopback address. Anyone reaching the port can read "
                   "and alter the search: use only on a trusted network.")  # fmt: skip
@click.option("--in-process", is_flag=True,
              help="Run in this process, without the supervisor that resumes after a crash.")  # fmt: skip
@click.option("-v", "--verbose", count=True, help="Keras progress inside each trial.")
def tune_cmd(name, data, tuner, spaces, space_file, max_trials, max_epochs, objective, time_budget,
             executions_per_trial, config_path, directory, resume, overwrite, save_as, overwrite_saved,
             max_attempts, seed, chief, worker, worker_id, allow_remote, in_process, verbose):  # fmt: skip
    """Search hyperparameters of model NAME with keras-tuner.

    Prints one line per trial, then the results table; writes results.csv,
    results.json and PNG plots into the search folder and keeps the best
    model in <directory>/best (published with --save-as). After a kill,
    --resume re-runs only the interrupted trial.

    Distributed: start `zoo tune ... --chief 127.0.0.1:8000`, then workers
    with `--worker 127.0.0.1:8000 --worker-id w1` (same arguments and
    --directory). keras-tuner's env vars KERASTUNER_TUNER_ID,
    KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT work as well.

    Example:

        zoo tune lenet5 --data mnist-sample --tuner hyperband --max-trials 20 --max-epochs 9
        --space learning_rate=log:1e-4:1e-1 --space optimizer=sgd,adam,rmsprop
    """
    if chief and worker:
        raise click.UsageError("--chief and --worker are exclusive.")
    if worker_id and not worker:
        raise click.UsageError("--worker-id goes with --worker.")
    if resume and overwrite:
        raise click.UsageError("--resume and --overwrite are exclusive.")
    directory = directory or f"tune-{name}"
    with user_errors():
        from tuning import distributed
        from tuning.search import open_directory, parse_duration, prepare, supervise
        from tuning.space import parse_space
        from tuning.state import write_state

        env = dict(os.environ)
        if chief:
            distributed.configure("chief", chief, allow_remote=allow_remote, environ=env)
            if allow_remote:
                env["ZOO_TUNE_ALLOW_REMOTE"] = "1"
        elif worker:
            distributed.configure("worker", worker, worker_id=worker_id, environ=env)
        who = distributed.role(env)
        if save_as and who != "worker":
            from zoo import pretrained

            pretrained.check_name(save_as)
            if pretrained.exists(save_as) and not overwrite_saved:
                raise ValueError(
                    f"saved_models/{save_as} exists; pass --overwrite-saved to replace it or choose another name."
                )
        budget = parse_duration(time_budget)
        space = parse_space(spaces, space_file)
        if not space:
            raise click.UsageError(
                "Give a search space with --space NAME=SPEC or --space-file FILE."
            )
        request, hypermodel = prepare(
            name, data, space, tuner=tuner, objective=objective, max_trials=max_trials, max_epochs=max_epochs,
            executions_per_trial=executions_per_trial, config=config_path, seed=seed,
            verbose=min(verbose, 2),
        )  # fmt: skip
        if who == "worker":
            directory = os.path.abspath(directory)
            os.makedirs(directory, exist_ok=True)
            request_file = os.path.join(directory, f"request-{env[distributed.ENV_ID]}.json")
            write_state(request_file, request)
        else:
            directory = open_directory(directory, request, resume=resume, overwrite=overwrite)
            request_file = None
    if in_process:
        from tuning.search import execute

        os.environ.update(
            {k: v for k, v in env.items() if k.startswith(("KERASTUNER_", "ZOO_TUNE"))}
        )
        with user_errors():
            execute(directory, request, hypermodel, time_budget=budget, max_attempts=max_attempts,
                    save_as=save_as, overwrite_saved=overwrite_saved, progress=click.echo)  # fmt: skip
        return
    del hypermodel  # the child process loads its own
    rc = supervise(
        directory, request_file=request_file, time_budget=budget, max_attempts=max_attempts, save_as=save_as,
        overwrite_saved=overwrite_saved, echo=click.echo, env=env,
    )  # fmt: skip
    if rc:
        raise click.exceptions.Exit(rc)


@click.command("tune-report")
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--plots/--no-plots", default=True, help="Rewrite the PNG plots.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def tune_report_cmd(directory, plots, as_json):
    """Reprint the results of a search in DIRECTORY (finished or interrupted)."""
    import json

    from tuning import report

    with user_errors():
        request = report.load_request(directory)
        doc = report.summarize(directory, plots=plots)
    if as_json:
        click.echo(json.dumps(doc, indent=2, default=str))
        return
    counts = (
        ", ".join(f"{v} {k.lower()}" for k, v in sorted(doc["counts"].items())) or "no trials yet"
    )
    click.echo(
        f"{request['tuner']} search of {request['model']} on {request['data']}: {counts} "
        f"(max {request['max_trials']}), {doc['total_epochs']} epochs in all"
    )
    click.echo(report.format_table(doc["trials"], request["objective"]))
    best = doc.get("best")
    if best:
        shown = ", ".join(
            f"{k}={v}" for k, v in best["hyperparameters"].items() if not k.startswith("tuner/")
        )
        click.echo(
            f"best: trial {best['trial_id']} {request['objective']}={best['objective']:.4f} ({shown})"
        )
    best_json = os.path.join(directory, "best", "best.json")
    if os.path.isfile(best_json):
        click.echo(f"best model: {os.path.join(directory, 'best', 'model.keras')}")
    for path in doc.get("plots", []):
        click.echo(f"plot: {path}")
    click.echo(f"table: {os.path.join(directory, report.RESULTS_CSV)}")
