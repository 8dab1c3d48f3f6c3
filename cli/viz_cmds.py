"""``zoo explain`` (Grad-CAM heat maps) and ``zoo viz filters|maps`` (what a model computes)."""

from __future__ import annotations

import os

import click

from cli import params
from cli.aliases import ZooCommand
from cli.feedback import announce
from cli.params import user_errors


def _stem(model: str) -> str:
    """A file-name stem for MODEL (a name, a ``.keras`` file or a run directory)."""
    return os.path.splitext(os.path.basename(os.path.normpath(model)))[0] or "model"


@click.command("explain", cls=ZooCommand)
@click.argument("model")
@click.argument("images", nargs=-1, required=True)
@params.output_option(type=click.Path(file_okay=False), required=False, default="gradcam",
                      show_default=True, help="Folder for the PNGs (<image>_gradcam.png).")  # fmt: skip
@click.option("--layer", default=None,
              help="Feature-map layer (default: the last one larger than 1x1).")  # fmt: skip
@click.option("--class", "class_name", default=None,
              help="Explain this class instead of the predicted one.")  # fmt: skip
@params.saved_models_option()
def explain_cmd(model, images, output, layer, class_name):
    """Grad-CAM heat maps of IMAGE files under MODEL (run directory, .keras file or name).

    Each image is preprocessed as the model was trained; the PNG shows it
    beside the heat map of the regions that raise the explained class's score
    (Selvaraju et al. 2017). Gradients need the TensorFlow, JAX or PyTorch backend.
    """
    announce(f"Grad-CAM of {model} on {len(images)} image(s) into {os.path.join(output, '')}")
    from zoo.evaluate.explain import explain

    with user_errors():
        results = explain(model, list(images), output, layer=layer, class_name=class_name)
    for image, result in zip(images, results, strict=True):
        click.echo(f"{image}: {result.class_name} ({result.probability:.1%}) -> {result.path}")


@click.group("viz")
def viz_group():
    """Draw what a model computes: first-layer filters, feature maps (PNG)."""


@viz_group.command("filters", cls=ZooCommand)
@click.argument("model")
@click.option("-o", "--output", default=None,
              help="PNG to write (default: <model>_filters.png).")  # fmt: skip
@click.option("--layer", default=None, help="Convolution to draw (default: the first).")
@params.saved_models_option()
def filters_cmd(model, output, layer):
    """Draw the first convolution's filters of MODEL (run directory, .keras file or name)."""
    output = output or f"{_stem(model)}_filters.png"
    announce(f"filters of {model} into {output}")
    from zoo.evaluate.viz import filters_of_model

    with user_errors():
        panels = filters_of_model(model, output, layer=layer)
    click.echo(f"{panels.panels} filters of layer {panels.layer} -> {panels.path}")


@viz_group.command("maps", cls=ZooCommand)
@click.argument("model")
@click.argument("image")
@click.option("--layer", required=True, help="The layer whose output maps are drawn.")
@click.option("-o", "--output", default=None,
              help="PNG to write (default: <image>_<layer>_maps.png).")  # fmt: skip
@click.option("--max-maps", type=click.IntRange(min=1), default=64, show_default=True,
              help="Draw at most this many channels.")  # fmt: skip
@params.saved_models_option()
def maps_cmd(model, image, layer, output, max_maps):
    """Draw the feature maps of LAYER in MODEL for one IMAGE file."""
    output = output or f"{_stem(image)}_{layer}_maps.png"
    announce(f"{layer} maps of {model} on {image} into {output}")
    from zoo.evaluate.viz import feature_maps_of_image

    with user_errors():
        panels = feature_maps_of_image(model, image, layer, output, max_maps=max_maps)
    click.echo(f"{panels.panels} maps of layer {panels.layer} -> {panels.path}")
