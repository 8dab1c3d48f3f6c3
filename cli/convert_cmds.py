"""``zoo convert``: a published ImageNet weights file -> a zoo weights file and its manifest."""

from __future__ import annotations

import os

import click

from cli import params
from cli.aliases import ZooCommand
from cli.feedback import announce
from cli.params import user_errors


@click.command("convert", cls=ZooCommand)
@click.argument("src", type=click.Path(dir_okay=False))
@params.output_option(
    help="Output zoo weights file (.weights.h5); its manifest (.json) goes beside it.",
    type=click.Path(dir_okay=False),
)
@click.option(
    "--arch",
    help="The zoo architecture (default: from the published file name, e.g. vgg16); needed "
    "for timm's model.safetensors.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing output and manifest.")
def convert_cmd(src, output, arch, force):
    """Convert an ImageNet weights file (SRC) into zoo weights plus a manifest.

    SRC: a keras.applications .h5, a torchvision .pth (needs torch) or timm's
    model.safetensors (give --arch).
    """
    from zoo.bridge.convert import manifest_path

    if not output.endswith(".weights.h5"):
        raise click.BadParameter(f"{output!r} must end in '.weights.h5'.", param_hint="--output")
    for path in (output, manifest_path(output)):
        if os.path.exists(path) and not force:
            raise click.ClickException(f"{path} exists; pass --force to overwrite it.")
    announce(f"converting {src} into {output}")
    from zoo.bridge import convert

    with user_errors():
        manifest = convert(src, output, arch=arch, progress=True)
    top = "with its 1000-class top" if manifest["include_top"] else "without top"
    click.echo(
        f"Saved {manifest['architecture']} ImageNet weights ({top}, preprocessing "
        f"{manifest['preprocessing']!r}) to {output}, manifest {manifest_path(output)}"
    )
    options = ", ".join(f"{k}={v!r}" for k, v in manifest["options"].items())
    click.echo(f"Load with zoo.build_model({manifest['architecture']!r}, {options}, weights=...)")
