"""``zoo tune`` and ``zoo tune-report``: hyperparameter search from the shell.

Keras is imported inside the command bodies only.
"""

from __future__ import annotations

import os

import click

from cli import params
from cli.aliases import ZooCommand, alias_option
from cli.feedback import announce
from cli.params import RESUME_IN_RUN_DIR, user_errors
from zoo.constants import TUNERS

SPACE_HELP = (
    "A hyperparameter to search, NAME=SPEC (repeatable). SPEC: 'log:1e-4:1e-1' (log-uniform), "
    "'0:0.5:0.1' (range min:max[:step]; ints when all parts are), 'sgd,adam,rmsprop' (choice), "
    "'3' (fixed); append '@optimizer=momentum,nesterov' to make it conditional. NAME is a "
    "TrainConfig field (learning_rate, optimizer, batch_size, dense_dropout, weight_decay, l2, "
    "...) or a builder argument of the model (dropout, kernel_l2, activation, hidden_units, ...); "
    "'train.X' / 'model.X' disambiguate."
)


def _search_directory(name, directory, resume, overwrite_run) -> tuple[str, bool]:
    """The search folder and whether to resume: ``--resume DIR``, ``-d DIR``, or tune-NAME."""
    if resume == RESUME_IN_RUN_DIR:
        directory = directory or f"tune-{name}"  # the old flag form resumed the default folder
    directory, resuming = params.resolve_resume(
        resume, directory, where="--directory", overwrite_run=overwrite_run
    )
    return directory or f"tune-{name}", resuming


def _configure_role(chief, worker, worker_id, allow_remote) -> dict:
    """The environment of this process's role: chief, worker or a lone search.

    Raises:
        click.UsageError: contradictory role options.
    """
    from tuning import distributed

    if chief and worker:
        raise click.UsageError("--chief and --worker are exclusive.")
    if worker_id and not worker:
        raise click.UsageError("--worker-id goes with --worker.")
    env = dict(os.environ)
    with user_errors():
        if chief:
            distributed.configure("chief", chief, allow_remote=allow_remote, environ=env)
            if allow_remote:
                env["ZOO_TUNE_ALLOW_REMOTE"] = "1"
        elif worker:
            distributed.configure("worker", worker, worker_id=worker_id, environ=env)
    return env


def _open_search(name, directory, resuming, overwrite_run, env, settings: dict):
    """Parses the space, prepares the search and opens its folder.

    Returns:
        ``(directory, request, hypermodel, request_file)``.
    """
    from tuning import distributed
    from tuning.search import open_directory, prepare
    from tuning.space import parse_space
    from tuning.state import write_state

    space = parse_space(settings.pop("spaces"), settings.pop("space_file"))
    if not space:
        raise click.UsageError("Give a search space with --space NAME=SPEC or --space-file FILE.")
    request, hypermodel = prepare(name, settings.pop("data"), space, **settings)
    if distributed.role(env) == "worker":
        directory = os.path.abspath(directory)
        os.makedirs(directory, exist_ok=True)
        request_file = os.path.join(directory, f"request-{env[distributed.ENV_ID]}.json")
        write_state(request_file, request)
        return directory, request, hypermodel, request_file
    directory = open_directory(directory, request, resume=resuming, overwrite=overwrite_run)
    return directory, request, hypermodel, None


@click.command("tune", cls=ZooCommand)
@click.argument("name")
@params.data_option(required=True)
@click.option("--tuner", type=click.Choice(TUNERS), default="random", show_default=True,
              help="Search algorithm.")  # fmt: skip
@click.option("--space", "spaces", multiple=True, metavar="NAME=SPEC", help=SPACE_HELP)
@click.option("--space-file", type=click.Path(dir_okay=False),
              help="Search space as a YAML/JSON mapping NAME: SPEC.")  # fmt: skip
@click.option("--max-trials", type=click.IntRange(min=1), default=10, show_default=True,
              help="Trials at most.")  # fmt: skip
@click.option("--max-epochs", type=click.IntRange(min=1), default=10, show_default=True,
              help="Epochs per trial (Hyperband: the largest per-trial budget).")  # fmt: skip
@click.option("--objective", default="val_accuracy", show_default=True,
              help="Metric to optimize: loss, accuracy, val_loss, val_accuracy.")  # fmt: skip
@click.option("--time-budget", help="Start no new trial after this long, e.g. 90s, 30m, 2h.")
@click.option("--executions-per-trial", type=click.IntRange(min=1), default=1, show_default=True,
              help="Trainings per trial from fresh weights; metrics are averaged.")  # fmt: skip
@params.config_option(help="Base TrainConfig (.yaml/.json) that the space overrides.")
@click.option("-d", "--directory", help="Search folder [default: tune-NAME].")
@params.resume_option(what="search", force=False)
@params.overwrite_run_option(what="search", where="--directory")
@alias_option("--overwrite", of="overwrite_run", use_instead="--overwrite-run", is_flag=True)
@params.save_as_option(what="the best model")
@params.overwrite_saved_option()
@params.saved_models_option()
@click.option("--max-attempts", type=click.IntRange(min=1), default=3, show_default=True,
              help="Process deaths (OOM, kill) during one trial before it is marked failed.")  # fmt: skip
@params.seed_option(help="Seed of the search algorithm (a trial's training seed is "
                    "TrainConfig.seed: --config or --space seed=...).")  # fmt: skip
@click.option("--chief", metavar="HOST:PORT",
              help="Run the chief of a distributed search: serve the oracle on HOST:PORT "
                   "(127.0.0.1 only unless --allow-remote). The gRPC channel is UNAUTHENTICATED.")  # fmt: skip
@click.option("--worker", metavar="HOST:PORT",
              help="Run a worker that takes trials from the chief at HOST:PORT.")  # fmt: skip
@click.option("--worker-id", help="Unique id of this worker (with --worker).")
@click.option("--allow-remote", is_flag=True,
              help="Let the chief listen on a non-loopback address. Anyone reaching the port can read "
                   "and alter the search: use only on a trusted network.")  # fmt: skip
@click.option("--in-process", is_flag=True,
              help="Run in this process, without the supervisor that resumes after a crash.")  # fmt: skip
@click.option("--trial-subprocess", is_flag=True,
              help="Run each trial in a new process (nothing a trial holds in memory stays).")  # fmt: skip
@click.option("-v", "--verbose", count=True, help="Keras progress inside each trial.")
def tune_cmd(name, directory, resume, overwrite_run, save_as, overwrite_saved, max_attempts,
             time_budget, chief, worker, worker_id, allow_remote, in_process, trial_subprocess,
             verbose, **settings):  # fmt: skip
    """Search hyperparameters of model NAME with keras-tuner.

    Prints one line per trial, then the results table; writes results.csv,
    results.json and PNG plots into the search folder and keeps the best
    model in <directory>/best (published with --save-as). After a kill,
    --resume DIR re-runs only the interrupted trial.

    Distributed: start `zoo tune ... --chief 127.0.0.1:8000`, then workers
    with `--worker 127.0.0.1:8000 --worker-id w1` (same arguments and
    --directory). keras-tuner's env vars KERASTUNER_TUNER_ID,
    KERASTUNER_ORACLE_IP and KERASTUNER_ORACLE_PORT work as well.

    Example:

        zoo tune lenet5 --data mnist-sample --tuner hyperband --max-trials 20 --max-epochs 9
        --space learning_rate=log:1e-4:1e-1 --space optimizer=sgd,adam,rmsprop
    """
    if in_process and trial_subprocess:
        raise click.UsageError("--in-process and --trial-subprocess are exclusive.")
    directory, resuming = _search_directory(name, directory, resume, overwrite_run)
    announce(f"search over {name} on {settings['data']}")
    env = _configure_role(chief, worker, worker_id, allow_remote)
    with user_errors():
        from tuning import distributed
        from tuning.search import parse_duration

        if distributed.role(env) != "worker":
            params.check_save_as(save_as, overwrite_saved)
        budget = parse_duration(time_budget)
        settings["config"] = settings.pop("config_path")
        settings["verbose"] = min(verbose, 2)
        directory, request, hypermodel, request_file = _open_search(
            name, directory, resuming, overwrite_run, env, settings
        )
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
    from tuning.search import supervise

    rc = supervise(
        directory, request_file=request_file, time_budget=budget, max_attempts=max_attempts, save_as=save_as,
        overwrite_saved=overwrite_saved, echo=click.echo, env=env, trial_subprocess=trial_subprocess,
    )  # fmt: skip
    if rc:
        raise click.exceptions.Exit(rc)


@click.command("tune-report", cls=ZooCommand)
@click.argument("directory", type=click.Path(exists=True, file_okay=False))
@click.option("--plots/--no-plots", default=True, help="Rewrite the PNG plots.")
@params.json_option()
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
