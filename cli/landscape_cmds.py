"""``zoo landscape``: the loss around a trained model along random filter-normalized directions."""

from __future__ import annotations

import os

import click

from cli import params
from cli.aliases import ZooCommand
from cli.feedback import announce
from cli.params import user_errors


@click.command("landscape", cls=ZooCommand)
@click.argument("model_or_run")
@params.data_option(required=True, help="Image folder, .npz file, tfds:NAME or a sample name.")
@click.option("--dims", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="1: a curve along one direction; 2: a contour plot over two.")  # fmt: skip
@click.option("--steps", type=click.IntRange(min=2), default=None,
              help="Grid points per axis [default: 21 for --dims 1, 11 for --dims 2].")  # fmt: skip
@click.option("--span", type=click.FloatRange(min=0, min_open=True), default=1.0,
              show_default=True, help="The grid covers [-SPAN, SPAN] on each axis.")  # fmt: skip
@click.option("--samples", type=click.IntRange(min=1), default=500, show_default=True,
              help="Examples of --split the loss is computed on (a seeded random subset).")  # fmt: skip
@click.option("--split", type=click.Choice(["train", "val", "test"]), default="train",
              show_default=True, help="The split the loss is computed on.")  # fmt: skip
@params.seed_option(help="Seeds the directions and the subset.", default=0, show_default=True)
@params.batch_size_option(help="Prediction batch size (default: the run's).")
@params.output_option(type=click.Path(dir_okay=False),
                      help="PNG to write; the raw grid goes beside it as .json and .npz.")  # fmt: skip
@params.saved_models_option()
def landscape_cmd(model_or_run, data, dims, steps, span, samples, split, seed, batch_size, output):
    """Loss landscape of MODEL_OR_RUN (run directory, .keras file or published name).

    Evaluates the loss at a grid of points theta + a*d1 (+ b*d2) around the
    trained weights theta, along random directions whose every filter is
    rescaled to the norm of the weight filter it perturbs (Li et al. 2018;
    bias and BatchNorm directions are zero). Saves a 1-D curve or a 2-D
    contour PNG and the raw grid (.json, .npz).

    \b
    Examples:
      zoo landscape runs/resnet56 --data cifar10/ -o resnet56_1d.png
      zoo landscape runs/resnet56 --data cifar10/ --dims 2 --steps 11 -o resnet56_2d.png
    """
    dims = int(dims)
    per_axis = steps or {1: 21, 2: 11}[dims]
    announce(f"{model_or_run} on {data} ({split}, {samples} samples), "
             f"{per_axis ** dims} grid points")  # fmt: skip
    from zoo.evaluate.landscape import loss_landscape, save_landscape

    def progress(done, total, point, loss):
        where = ", ".join(f"{c:+.3f}" for c in point)
        click.echo(f"  [{done}/{total}] ({where}): loss {loss:.4f}", err=True)

    with user_errors():
        result = loss_landscape(model_or_run, data, dims=dims, steps=steps, span=span,
                                samples=samples, split=split, seed=seed,
                                batch_size=batch_size, progress=progress)  # fmt: skip
        paths = save_landscape(result, output)
    loss = result["loss"]
    click.echo(f"{result['model']}: {result['split']} loss on {result['samples']} samples, "
               f"{loss.size} points in [-{span:g}, {span:g}]^{dims}")  # fmt: skip
    click.echo(f"Center loss {result['center_loss']:.4f} (accuracy "
               f"{result['center_accuracy']:.2%}); grid min {float(loss.min()):.4f}, "
               f"max {float(loss.max()):.4f}")  # fmt: skip
    click.echo(f"Plot saved to {paths['png']}; grid to {os.path.basename(paths['json'])} and "
               f"{os.path.basename(paths['npz'])}")  # fmt: skip
