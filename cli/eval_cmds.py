"""``zoo evaluate``, ``zoo predict``, ``zoo lr-find`` and ``zoo plot``: using trained models and runs."""

from __future__ import annotations

import os

import click

from cli import params
from cli.aliases import ZooCommand
from cli.feedback import announce
from cli.params import user_errors
from cli.screening import print_evaluated_skipped

DEFAULT_DATA = "mnist-sample"


def _default_plot_path(trained, split: str) -> str:
    """Next to the model: in the run directory or the ``.keras`` file's folder, else here."""
    name = f"confusion_matrix_{split}.png"
    folder = trained.folder
    if folder and os.path.isfile(os.path.join(folder, "run.json")):
        return os.path.join(folder, name)
    if folder:
        stem = os.path.splitext(os.path.basename(trained.source))[0]
        return os.path.join(folder, f"{stem}_{name}")
    return name


def _split_words(data, split: str) -> str:
    """``"whole folder"`` for a plain folder of classes, else ``split`` (no Keras imported)."""
    from zoo.data.screen import detect_layout

    if os.path.isdir(data):
        try:
            if set(detect_layout(data)) == {None}:
                return "whole folder"
        except ValueError:
            pass  # evaluate reports it
    return split


def _tta_option():
    return click.option(
        "--tta",
        type=click.Choice(["none", "flip"]),
        default="none",
        show_default=True,
        help="Test-time augmentation: flip averages the probabilities of each image and "
        "its horizontal mirror.",
    )


@click.command("evaluate", cls=ZooCommand)
@click.argument("model_or_run")
@params.data_option(default=DEFAULT_DATA)
@click.option(
    "--split",
    type=click.Choice(["test", "val", "train"]),
    default="test",
    show_default=True,
    help="Which split to evaluate (a plain folder of class subfolders, without "
    "train/val/test folders, is evaluated as a whole).",
)
@click.option(
    "--confusion-matrix",
    "cm_path",
    type=click.Path(dir_okay=False),
    help="Where to save the confusion-matrix PNG (default: in the run directory or next "
    "to the model file).",
)
@click.option("--no-plot", is_flag=True, help="Do not save the confusion matrix.")
@_tta_option()
@params.json_option(to_file=True)
@params.saved_models_option()
@params.batch_size_option(help="Prediction batch size.")
def evaluate_cmd(model_or_run, data, split, cm_path, no_plot, tta, json_path, batch_size):
    """Evaluate MODEL_OR_RUN (run directory, .keras file or published name) on a data split.

    Prints the accuracy and a per-class precision/recall/F1 table and saves
    the confusion matrix as a PNG.
    """
    import json

    announce(f"{model_or_run} on {data} ({_split_words(data, split)})", quiet=json_path == "-")
    from zoo.evaluate import (
        describe_evaluation,
        evaluate,
        format_report,
        load_trained,
        plot_confusion_matrix,
        report_to_json,
    )

    with user_errors():
        trained = load_trained(model_or_run)
        report = evaluate(trained, data, split, batch_size=batch_size, tta=tta,
                          progress=json_path != "-")  # fmt: skip
        print_evaluated_skipped(report, data)
        split = report["split"]
        if not no_plot:
            path = cm_path or _default_plot_path(trained, split)
            label = os.path.basename(model_or_run.rstrip("/" + os.sep)) or model_or_run
            title = (
                f"Confusion matrix of {label} ({split}): accuracy {report['accuracy']:.2%} "
                f"(n={report['num_examples']})"
            )
            cm = report["confusion_matrix"]
            plot_confusion_matrix(cm, report["class_names"], path, title=title)
    if json_path == "-":
        click.echo(json.dumps(report_to_json(report), indent=2))
        return
    click.echo(describe_evaluation(report, data))
    click.echo(format_report(report))
    if not no_plot:
        click.echo(f"\nConfusion matrix saved to {path}")
    if json_path:
        from zoo.saving import atomic_write

        text = json.dumps(report_to_json(report), indent=2) + "\n"

        def write(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text)

        with user_errors():
            atomic_write(json_path, write, suffix=".json")
        click.echo(f"Report saved to {json_path}")


@click.command("predict", cls=ZooCommand)
@click.argument("model")
@click.argument("images", nargs=-1, required=True)
@click.option("-k", "--top-k", type=click.IntRange(min=1), default=3, show_default=True,
              help="Classes shown per image.")  # fmt: skip
@_tta_option()
@params.json_option()
@params.saved_models_option()
def predict_cmd(model, images, top_k, tta, as_json):
    """Classify IMAGE files with MODEL (run directory, .keras file or published name).

    A file that is missing or not a usable image is reported on stderr and
    skipped; the others are still classified. The exit code is non-zero only
    when no image could be classified.
    """
    import json

    announce(f"{model} on {len(images)} image(s)", quiet=as_json)
    from zoo.evaluate import predict

    skipped = []
    with user_errors():
        results = predict(model, list(images), top_k=top_k, skipped=skipped, tta=tta)
    reasons = [reason if path in reason else f"{path}: {reason}" for path, reason in skipped]
    for reason in reasons:
        click.echo(f"Skipped {reason}", err=True)
    pairs = [(image, ranked) for image, ranked in zip(images, results, strict=True) if ranked]
    if not pairs:
        raise click.ClickException(
            f"none of the {len(images)} image file(s) could be classified; {reasons[0]}"
        )
    if as_json:
        payload = [
            {"image": image, "top_k": [{"class": c, "probability": p} for c, p in ranked]}
            for image, ranked in pairs
        ]
        click.echo(json.dumps(payload, indent=2))
        return
    for image, ranked in pairs:
        shown = ", ".join(f"{c} ({p:.1%})" for c, p in ranked)
        click.echo(f"{image}: {shown}")


@click.command("lr-find", cls=ZooCommand)
@click.argument("name")
@params.data_option(default=DEFAULT_DATA)
@click.option("--steps", type=click.IntRange(min=2), default=200, show_default=True,
              help="Batches in the sweep.")  # fmt: skip
@click.option("--min-lr", type=click.FloatRange(min=0, min_open=True), default=1e-7,
              show_default=True, help="First learning rate.")  # fmt: skip
@click.option("--max-lr", type=click.FloatRange(min=0, min_open=True), default=10.0,
              show_default=True, help="Last learning rate.")  # fmt: skip
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Where to save the curve PNG (default: lr_find_NAME.png here).")  # fmt: skip
@params.batch_size_option(help="Batch size (default: the config's, 32).")
@params.optimizer_option(help="Optimizer (default: the config's, adam).")
@params.config_option(help="A TrainConfig JSON/YAML file (loss, regularization, ...).")
@params.seed_option()
def lr_find_cmd(
    name, data, steps, min_lr, max_lr, plot_path, batch_size, optimizer, config_path, seed
):
    """Learning-rate range test for NAME (a registered model or a .keras file).

    Sweeps the learning rate exponentially from --min-lr to --max-lr over
    --steps batches, stops when the loss explodes, prints the suggested
    learning rate (steepest descent of the smoothed loss) and saves the curve.
    """
    announce(f"{name} on {data}, {steps} batches")
    from zoo.training.fit import as_config
    from zoo.training.lr_find import lr_find

    given = {"batch_size": batch_size, "optimizer": optimizer, "seed": seed}
    overrides = {k: v for k, v in given.items() if v is not None}
    with user_errors():
        if max_lr <= min_lr:
            raise ValueError(f"--max-lr ({max_lr:g}) must be greater than --min-lr ({min_lr:g}).")
        config = as_config(config_path, **overrides)
        model = name
        if name.lower().endswith(".keras") or os.path.sep in name or os.path.exists(name):
            import zoo

            model = zoo.load_model(name)
        result = lr_find(model, data, config, min_lr=min_lr, max_lr=max_lr, steps=steps,
                         progress=True)  # fmt: skip
        label = os.path.splitext(os.path.basename(name))[0] if model is not name else name
        path = plot_path or f"lr_find_{label}.png"
        result.plot(path)
    stop = "the loss diverged" if result.diverged else "the sweep ended"
    click.echo(
        f"{result.model_name}: {result.steps_done} batches "
        f"({result.config.optimizer}, batch size {result.config.batch_size}); {stop} at "
        f"lr={result.lrs[-1]:.2e}."
    )
    click.echo(f"Suggested learning rate: {result.suggestion:.2e} (steepest descent of the loss)")
    click.echo(f"Alternative:             {result.suggestion_min:.2e} (minimum loss / 10)")
    click.echo(f"Curve saved to {path}")


@click.command("plot", cls=ZooCommand)
@click.argument("runs", nargs=-1, required=True)
@params.output_option(
    required=False, type=click.Path(dir_okay=False),
    help="PNG to write (default: curves.png in the run directory for one run, "
    "compare_METRIC.png here for several).",
)  # fmt: skip
@click.option("--metric", default=None,
              help="With several runs: the history column compared [default: test_accuracy "
              "when every run tracked the test split, else val_accuracy].")  # fmt: skip
def plot_cmd(runs, output, metric):
    """Draw training curves of RUNS (run directories or history.csv files).

    One run: loss and accuracy per epoch (train, val and test curves, the
    learning rate on a second axis). Several runs: one curve of --metric per
    run on one axis, labelled by the run directory's name.

    \b
    Examples:
      zoo plot runs/resnet20-20261122-101500
      zoo plot runs/a runs/b --metric val_loss -o loss.png
    """
    announce(f"drawing {len(runs)} run(s)", backend=False)
    from zoo.training.plots import compare_runs, load_history, plot_history

    with user_errors():
        if len(runs) == 1 and metric is None:
            run = runs[0]
            folder = run if os.path.isdir(run) else os.path.dirname(run)
            path = plot_history(
                run,
                output or os.path.join(folder, "curves.png"),
                title=os.path.basename(os.path.normpath(folder or ".")),
            )
        else:
            if metric is None:
                tracked = all("test_accuracy" in load_history(run) for run in runs)
                metric = "test_accuracy" if tracked else "val_accuracy"
            path = compare_runs(list(runs), output or f"compare_{metric}.png", metric=metric)
    click.echo(f"Curves saved to {path}")
