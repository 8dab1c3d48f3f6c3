"""``zoo finetune``, ``zoo embed`` and ``zoo export``: transfer learning from the shell."""

from __future__ import annotations

import glob
import os

import click

from cli import params
from cli.aliases import ZooCommand, alias_option
from cli.feedback import announce
from cli.params import user_errors
from cli.screening import print_folder_skipped, print_run_skipped, print_skipped

EXPORT_FORMATS = ("savedmodel", "onnx", "tflite")


def _unfreeze(value: str):
    value = value.strip()
    return int(value) if value.isdigit() else value


def _weights(value: str):
    return None if value.lower() == "none" else value


def _refuse_existing_run(run_dir, resuming: bool, overwrite_run: bool) -> None:
    """A new fine-tune may not silently replace one kept in ``run_dir``."""
    if resuming or overwrite_run or not run_dir:
        return
    if glob.glob(os.path.join(glob.escape(run_dir), "*", "run.json")):
        raise click.ClickException(
            f"{run_dir} already holds a fine-tune: continue it with --resume {run_dir} "
            f"(or start over with --overwrite-run)."
        )


def finetune_arguments(*, weights, freeze_epochs, epochs, unfreeze, learning_rate, fine_tune_lr,
                       batch_size, config_path, run_dir, resume, force, overwrite_run, save_as,
                       overwrite_saved, linear_probe, alpha, quiet, discriminative=None, bn="frozen",
                       test_split=0.1) -> dict:  # fmt: skip
    """``zoo.transfer.fine_tune``'s keyword arguments from the command's options.

    ``fine_tune`` has one ``overwrite`` for the run directory and the
    published name; the checks here first make each of ``--overwrite-run``
    and ``--overwrite-saved`` mean only its own.

    Raises:
        click.UsageError / click.ClickException: contradictory options, a run
            directory holding a fine-tune, a taken ``--save-as`` name.
        ValueError: an invalid config value.
    """
    from zoo.training.fit import as_config

    run_dir, resuming = params.resolve_resume(resume, run_dir, overwrite_run=overwrite_run)
    _refuse_existing_run(run_dir, resuming, overwrite_run)
    params.check_save_as(save_as, overwrite_saved)
    given = {"epochs": epochs, "learning_rate": learning_rate, "batch_size": batch_size}
    return {
        "weights": _weights(weights),
        "freeze_epochs": freeze_epochs,
        "unfreeze": _unfreeze(unfreeze),
        "fine_tune_lr": fine_tune_lr,
        "config": as_config(config_path, **{k: v for k, v in given.items() if v is not None}),
        "run_dir": run_dir,
        "resume": resuming,
        "force": force,
        "save_as": save_as,
        "overwrite": overwrite_run or overwrite_saved,
        "linear_probe": linear_probe,
        "discriminative": discriminative or False,
        "bn": bn,
        "test_split": test_split,
        "model_kwargs": {"alpha": alpha} if alpha is not None else None,
        "verbose": 0 if quiet else 2,
    }


@click.command("finetune", cls=ZooCommand)
@click.argument("backbone")
@click.argument("data")
@params.weights_option()
@click.option(
    "--freeze-epochs",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Phase 1: epochs training the new head on the frozen backbone.",
)
@params.epochs_option(help="Phase 2 epochs (default: the config's).")
@click.option(
    "--unfreeze",
    default="1",
    show_default=True,
    help="Phase 2: top blocks to unfreeze (a number), 'all', or a layer-name prefix (e.g. block5_).",
)
@params.learning_rate_option(help="Phase-1 learning rate (default: the config's).")
@click.option("--fine-tune-lr", type=float, help="Phase-2 learning rate (default: phase 1's / 10).")
@click.option(
    "--discriminative",
    type=click.FloatRange(min=1, min_open=True),
    is_flag=False,
    flag_value=100.0,
    default=None,
    metavar="[FACTOR]",
    help="Phase 2: per-block learning rates, the head at --fine-tune-lr (default here: phase 1's "
    "rate) and the deepest unfrozen block at that / FACTOR, geometric in between (alone: FACTOR "
    "100, fastai's slice(lr/100, lr)). Default: one rate for all.",
)
@click.option(
    "--bn",
    type=click.Choice(["frozen", "train"]),
    default="frozen",
    show_default=True,
    help="BatchNorm: 'frozen' (inference mode, statistics untouched) or 'train' (every backbone "
    "BatchNorm layer trains and updates its statistics, fastai's train_bn).",
)
@click.option(
    "--test-split",
    type=click.FloatRange(min=0, max=0.5, max_open=True),
    default=0.1,
    show_default=True,
    help="Fraction of a flat class folder carved (seeded, stratified) as the test split; "
    "0: none. The split is saved as splits.json in the run directory.",
)
@params.batch_size_option(help="Batch size (default: the config's).")
@params.config_option(help="TrainConfig as JSON/YAML (augmentation, early stopping, ...).")
@params.run_dir_option(help="Run directory (a sub-folder per phase); what --resume continues.")
@params.resume_option(what="fine-tune")
@params.force_option()
@params.overwrite_run_option(what="fine-tune")
@params.save_as_option(what="the result")
@params.overwrite_saved_option()
@params.saved_models_option()
@alias_option("--overwrite", of=("overwrite_run", "overwrite_saved"),
              use_instead="--overwrite-run and/or --overwrite-saved", is_flag=True)  # fmt: skip
@click.option(
    "--linear-probe", is_flag=True, help="Train only a linear classifier on frozen features."
)
@params.alpha_option()
@params.quiet_option()
def finetune_cmd(backbone, data, **options):
    """Fine-tune BACKBONE (zoo model, keras.applications name, checkpoint or .keras) on DATA.

    \b
    Examples:
      zoo finetune lenet5-mnist my_digits/ --freeze-epochs 3 --epochs 5 --save-as my-digits
      zoo finetune MobileNetV2 my_photos/ --weights imagenet --run-dir runs/ft
      zoo finetune MobileNetV2 my_photos/ --weights imagenet --resume runs/ft   # after a kill
      zoo finetune resnet20-cifar10 my_photos/ --unfreeze 2 --discriminative --bn train
    """
    with user_errors():
        kwargs = finetune_arguments(**options)
    announce(f"{backbone} on {data}", quiet=options["quiet"])
    import zoo.transfer

    with user_errors():
        result = zoo.transfer.fine_tune(backbone, data, **kwargs)
    _print_result(result)
    if result.run_dir:
        print_run_skipped(result.run_dir)
    else:  # nothing was written: screen the folder again to say what was skipped
        print_folder_skipped(data)


def _print_result(result) -> None:
    click.echo(f"Backbone {result.backbone.name} ({result.backbone.kind}), preprocessing "
               f"{result.preprocessing.mode!r}; classes: {', '.join(result.class_names)}")  # fmt: skip
    if result.unfrozen:
        click.echo(
            f"Phase 2 trained {len(result.unfrozen)} backbone layers from {result.unfrozen[0]!r}."
        )
    for block, layers, factor in result.rate_groups:
        click.echo(f"  {block}: {len(layers)} layers at {factor:.3g} x the head's rate")
    if result.splits:
        sizes = ", ".join(f"{s} {len(result.splits[s])}" for s in ("train", "val", "test"))
        click.echo(f"Carved from the class folder (seed {result.splits['seed']}): {sizes} images")
    for key, value in sorted(result.metrics.items()):
        click.echo(f"  {key}: {value:.4f}")
    click.echo(f"Status: {result.status}")
    if result.run_dir:
        click.echo(f"Run directory: {result.run_dir}")
    if result.published:
        click.echo(f"Published to {result.published}")


@click.command("embed", cls=ZooCommand)
@click.argument("model")
@click.argument("data")
@params.output_option(
    help="Folder for features_<split>.npy, labels_<split>.npy and class_names.json.",
    type=click.Path(file_okay=False),
)
@click.option(
    "--split", type=click.Choice(["train", "val", "test", "all"]), default="all", show_default=True
)
@params.weights_option()
@params.saved_models_option()
@params.batch_size_option(help="Batch size.", default=64, show_default=True)
@params.alpha_option()
def embed_cmd(model, data, output, split, weights, batch_size, alpha):
    """Write MODEL's features of DATA as .npy (for a linear probe or retrieval).

    MODEL is a zoo architecture, a keras.applications name, a checkpoint or a
    .keras file (its classifier is cut off). For a linear probe trained the
    zoo way, use `zoo finetune --linear-probe`.
    """
    announce(f"{model} features of {data} ({split})")
    import zoo.data
    import zoo.transfer

    with user_errors():
        bundle = zoo.data.load(data, batch_size=batch_size, validation_split=0.0)
        print_skipped(bundle.screen_report)
        splits = (
            [s for s in ("train", "val", "test") if bundle.get(s) is not None]
            if split == "all"
            else [split]
        )
        for name in splits:
            emb = zoo.transfer.embed(
                model, bundle, split=name, weights=_weights(weights),
                batch_size=batch_size, model_kwargs={"alpha": alpha} if alpha is not None else None,
            )  # fmt: skip
            paths = emb.save(output)
            click.echo(
                f"{name}: {emb.features.shape[0]} x {emb.features.shape[1]} features -> {paths['features']}"
            )


@click.command("export", cls=ZooCommand)
@click.argument("model")
@params.output_option(
    help="Output path (a folder for savedmodel, a file for onnx/tflite).", type=click.Path()
)
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="savedmodel", show_default=True
)
@click.option("--force", is_flag=True, help="Replace an existing output.")
def export_cmd(model, output, fmt, force):
    """Export MODEL (a .keras file or a checkpoint name) through Keras' model.export."""
    if os.path.exists(output) and not force:
        raise click.ClickException(f"{output} exists; pass --force to replace it.")
    announce(f"{model} as {fmt} to {output}")
    from zoo.pretrained import export_model

    with user_errors():
        path = export_model(model, output, format=fmt, overwrite=force)
    click.echo(f"Exported {model} as {fmt} to {path}")
    from zoo.exporting import sidecar_path

    click.echo(
        f"Preprocessing (scaling, padding, channels; not inside the exported file) and "
        f"class names: {sidecar_path(path)}"
    )
