"""``zoo finetune``, ``zoo embed`` and ``zoo export``: transfer learning from the shell."""

from __future__ import annotations

import click

from cli.params import user_errors

EXPORT_FORMATS = ("savedmodel", "onnx", "tflite")


def _unfreeze(value: str):
    value = value.strip()
    return int(value) if value.isdigit() else value


@click.command("finetune")
@click.argument("backbone")
@click.argument("data")
@click.option(
    "--weights",
    default="default",
    show_default=True,
    help="'default' (the backbone's pretrained weights), 'none', 'imagenet', a file or a checkpoint name.",
)
@click.option(
    "--freeze-epochs",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Phase 1: epochs training the new head on the frozen backbone.",
)
@click.option(
    "--epochs", type=click.IntRange(min=1), help="Phase 2 epochs (default: the config's)."
)
@click.option(
    "--unfreeze",
    default="1",
    show_default=True,
    help="Phase 2: top blocks to unfreeze (a number), 'all', or a layer-name prefix (e.g. block5_).",
)
@click.option(
    "--lr", "learning_rate", type=float, help="Phase-1 learning rate (default: the config's)."
)
@click.option("--fine-tune-lr", type=float, help="Phase-2 learning rate (default: phase 1's / 10).")
@click.option("--batch-size", type=click.IntRange(min=1), help="Batch size.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="TrainConfig as JSON/YAML (augmentation, early stopping, ...).",
)
@click.option(
    "--run-dir", type=click.Path(file_okay=False), help="Run directory (checkpoints, resume)."
)
@click.option("--resume", is_flag=True, help="Continue a killed fine-tune in --run-dir.")
@click.option("--force", is_flag=True, help="Resume even if the model, config or data changed.")
@click.option("--save-as", help="Publish the result to saved_models/NAME.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory or checkpoint.")
@click.option(
    "--linear-probe", is_flag=True, help="Train only a linear classifier on frozen features."
)
@click.option("--alpha", type=float, help="Width multiplier of MobileNet backbones.")
@click.option("--quiet", is_flag=True, help="No per-epoch progress.")
def finetune_cmd(backbone, data, weights, freeze_epochs, epochs, unfreeze, learning_rate, fine_tune_lr,
                 batch_size, config_path, run_dir, resume, force, save_as, overwrite, linear_probe, alpha,
                 quiet):  # fmt: skip
    """Fine-tune BACKBONE (zoo model, keras.applications name, checkpoint or .keras) on DATA."""
    if resume and not run_dir:
        raise click.BadParameter("--resume needs --run-dir.", param_hint="--resume")
    import zoo.transfer
    from zoo.training.fit import as_config

    with user_errors():
        overrides = {k: v for k, v in (("epochs", epochs), ("learning_rate", learning_rate),
                                       ("batch_size", batch_size)) if v is not None}  # fmt: skip
        config = as_config(config_path, **overrides)
        result = zoo.transfer.fine_tune(
            backbone,
            data,
            weights=None if weights.lower() == "none" else weights,
            freeze_epochs=freeze_epochs,
            unfreeze=_unfreeze(unfreeze),
            fine_tune_lr=fine_tune_lr,
            config=config,
            run_dir=run_dir,
            resume=resume,
            force=force,
            save_as=save_as,
            overwrite=overwrite,
            linear_probe=linear_probe,
            model_kwargs={"alpha": alpha} if alpha is not None else None,
            verbose=0 if quiet else 2,
        )
    click.echo(f"Backbone {result.backbone.name} ({result.backbone.kind}), preprocessing "
               f"{result.preprocessing.mode!r}; classes: {', '.join(result.class_names)}")  # fmt: skip
    if result.unfrozen:
        click.echo(
            f"Phase 2 trained {len(result.unfrozen)} backbone layers from {result.unfrozen[0]!r}."
        )
    for key, value in sorted(result.metrics.items()):
        click.echo(f"  {key}: {value:.4f}")
    click.echo(f"Status: {result.status}")
    if result.run_dir:
        click.echo(f"Run directory: {result.run_dir}")
    if result.published:
        click.echo(f"Published to {result.published}")


@click.command("embed")
@click.argument("model")
@click.argument("data")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder for features_<split>.npy, labels_<split>.npy and class_names.json.",
)
@click.option(
    "--split", type=click.Choice(["train", "val", "test", "all"]), default="all", show_default=True
)
@click.option("--weights", default="default", show_default=True, help="As for finetune.")
@click.option("--batch-size", type=click.IntRange(min=1), default=64, show_default=True)
@click.option("--alpha", type=float, help="Width multiplier of MobileNet backbones.")
def embed_cmd(model, data, output, split, weights, batch_size, alpha):
    """Write MODEL's features of DATA as .npy (for a linear probe or retrieval).

    MODEL is a zoo architecture, a keras.applications name, a checkpoint or a
    .keras file (its classifier is cut off). For a linear probe trained the
    zoo way, use `zoo finetune --linear-probe`.
    """
    import zoo.data
    import zoo.transfer

    with user_errors():
        bundle = zoo.data.load(data, batch_size=batch_size, validation_split=0.0)
        splits = (
            [s for s in ("train", "val", "test") if bundle.get(s) is not None]
            if split == "all"
            else [split]
        )
        for name in splits:
            emb = zoo.transfer.embed(
                model, bundle, split=name, weights=None if weights.lower() == "none" else weights,
                batch_size=batch_size, model_kwargs={"alpha": alpha} if alpha is not None else None,
            )  # fmt: skip
            paths = emb.save(output)
            click.echo(
                f"{name}: {emb.features.shape[0]} x {emb.features.shape[1]} features -> {paths['features']}"
            )


@click.command("export")
@click.argument("model")
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(),
    help="Output path (a folder for savedmodel, a file for onnx/tflite).",
)
@click.option(
    "--format", "fmt", type=click.Choice(EXPORT_FORMATS), default="savedmodel", show_default=True
)
@click.option("--force", is_flag=True, help="Replace an existing output.")
def export_cmd(model, output, fmt, force):
    """Export MODEL (a .keras file or a checkpoint name) through Keras' model.export."""
    import os

    if os.path.exists(output) and not force:
        raise click.ClickException(f"{output} exists; pass --force to replace it.")
    from zoo.pretrained import export_model

    with user_errors():
        path = export_model(model, output, format=fmt, overwrite=force)
    click.echo(f"Exported {model} as {fmt} to {path}")
