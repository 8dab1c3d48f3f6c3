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


def _factor(ctx, param, value):
    """``--discriminative``: 0 (one rate) or a factor > 1."""
    if value is not None and 0 < value <= 1:
        raise click.BadParameter("0 (one rate for all) or a factor > 1.", ctx, param)
    return value


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
                       test_split=0.1, head_lr=None, unfreeze_schedule="once", head_init="probe",
                       patience=3, keep_best=True, class_weight=None, channels=None) -> dict:  # fmt: skip
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
    policy = {} if discriminative is None else {"discriminative": discriminative or False}
    return {
        **policy,
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
        "bn": bn,
        "test_split": test_split,
        "head_lr": head_lr,
        "schedule": unfreeze_schedule,
        "head_init": None if head_init == "random" else head_init,
        "patience": patience or None,
        "keep_best": keep_best,
        "class_weight": class_weight,
        "channels": None if channels is None else int(channels),
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
    default=2,
    show_default=True,
    help="Phase 1: epochs training the new head (started from the linear probe) on the frozen "
    "backbone.",
)
@params.epochs_option(help="Phase 2 epochs (default: the config's).")
@click.option(
    "--unfreeze",
    default="all",
    show_default=True,
    help="Phase 2: top blocks to unfreeze (a number), 'all', or a layer-name prefix (e.g. block5_); "
    "0: no phase 2.",
)
@click.option(
    "--unfreeze-schedule",
    type=click.Choice(["once", "gradual"]),
    default="once",
    show_default=True,
    help="Phase 2: unfreeze the blocks at once, or 'gradual': one block group more per stage "
    "(phase2-stage<i>/ in the run directory; --resume continues the stage it was in).",
)
@params.learning_rate_option(help="The config's learning rate (default 1e-3): the head's rate "
                             "in both phases.")  # fmt: skip
@click.option("--head-lr", type=float, help="Phase-1 learning rate (default: --learning-rate).")
@click.option(
    "--fine-tune-lr",
    type=float,
    help="Phase-2 learning rate (the head's with --discriminative; default: --learning-rate).",
)
@click.option(
    "--discriminative",
    type=click.FloatRange(min=0),
    callback=_factor,
    is_flag=False,
    flag_value=100.0,
    default=None,
    metavar="[FACTOR]",
    help="Phase 2: per-block learning rates, the head at --fine-tune-lr and the deepest unfrozen "
    "block at that / FACTOR, geometric in between (alone: FACTOR 100, fastai's slice(lr/100, "
    "lr); 0: one rate for all). Default: one rate for all.",
)
@click.option(
    "--head-init",
    type=click.Choice(["probe", "random"]),
    default="probe",
    show_default=True,
    help="Start the new head as the linear probe (logistic regression on the backbone's "
    "features) or at random.",
)
@click.option(
    "--patience",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Each phase stops after this many epochs without a better validation loss, its best "
    "epoch restored; 0: the config's early stopping.",
)
@click.option(
    "--keep-best/--keep-last",
    default=True,
    show_default=True,
    help="Return/publish the model with the best validation accuracy seen (the probe-initialized "
    "head included), or the last epoch's.",
)
@click.option(
    "--class-weight",
    type=click.Choice(["balanced"]),
    default=None,
    help="'balanced': weigh each class's loss by n / (classes * n_class), for imbalanced folders.",
)
@click.option(
    "--channels",
    type=click.Choice(["1", "3"]),
    default=None,
    help="Convert the images to this many channels when the backbone takes another count than "
    "the data has (without it that is an error).",
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
@click.option(
    "--force",
    is_flag=True,
    help="Resume even if the model, optimizer, config or data changed; publish (--save-as) even "
    "a result worse than the linear probe (with a warning).",
)
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
      zoo finetune lenet5-mnist my_digits/ --save-as my-digits
      zoo finetune lenet5-mnist my_digits/ --unfreeze-schedule gradual --class-weight balanced
      zoo finetune MobileNetV2 my_photos/ --weights imagenet --run-dir runs/ft
      zoo finetune MobileNetV2 my_photos/ --weights imagenet --resume runs/ft   # after a kill
      zoo finetune resnet20-cifar10 my_photos/ --unfreeze 2 --discriminative --bn train
      zoo finetune lenet5-mnist my_rgb_digits/ --channels 1     # RGB images, gray backbone
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
    if result.probe:
        probe = result.probe
        click.echo("Linear probe (logistic regression on the backbone's features, C "
                   f"{probe['C']:g}): " + ", ".join(f"{k} {v:.4f}" for k, v in probe.items()
                                                   if k.endswith("_accuracy")))  # fmt: skip
    if result.backbone_metrics:
        click.echo("Backbone as it is (its own classifier, same test split): test_accuracy "
                   f"{result.backbone_metrics['test_accuracy']:.4f}")  # fmt: skip
    if result.val_accuracy is not None:
        click.echo(f"Kept: {result.selected} (val_accuracy {result.val_accuracy:.4f})")
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
