"""``zoo models``, ``zoo info`` and ``zoo build``: the registry from the shell."""

from __future__ import annotations

import click

from cli import params
from cli.aliases import ZooCommand
from cli.feedback import announce
from cli.params import model_kwargs, user_errors


def _shape(shape) -> str:
    return "x".join(str(d) for d in shape)


def _params(n) -> str:
    if n is None:
        return "?"
    return f"{n / 1e6:.2f}M" if n >= 1e5 else f"{n:,}"


@click.command("models", cls=ZooCommand)
@click.argument("pattern", required=False)
@click.option("--family", help="Only this family (e.g. vgg, resnet, resnet_cifar).")
@click.option("--aliases", is_flag=True, help="Also list aliases.")
@click.option(
    "--pretrained", is_flag=True,
    help="List the checkpoints instead: yours (see --saved-models), then the shipped ones.",
)  # fmt: skip
@params.saved_models_option()
def models_cmd(pattern, family, aliases, pretrained):
    """List registered models, optionally matching PATTERN (wildcards, e.g. 'resnet*')."""
    if pretrained:
        _list_pretrained(pattern)
        return
    from zoo.registry import families, get_spec, list_models

    if family and family.lower() not in families():
        raise click.BadParameter(
            f"unknown family {family!r}; choose from {', '.join(families())}.",
            param_hint="--family",
        )
    names = list_models(include=pattern, family=family, aliases=aliases)
    if not names:
        raise click.ClickException(f"No model matches {pattern!r}. Run `zoo models` to see all.")
    rows = [("name", "family", "params", "input", "paper")]
    for n in names:
        s = get_spec(n)
        label = n if n == s.name else f"{n} -> {s.name}"
        rows.append((label, s.family, _params(s.params), _shape(s.input_shape), s.paper))
    _table(rows)


def _table(rows) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, row in enumerate(rows):
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)).rstrip())
        if i == 0:
            click.echo("  ".join("-" * w for w in widths))


def _list_pretrained(pattern) -> None:
    import fnmatch

    from zoo.pretrained import list_pretrained, read_manifest, search_roots

    names = [n for n in list_pretrained() if not pattern or fnmatch.fnmatchcase(n, pattern)]
    imagenet = _imagenet_rows(pattern)
    if not names and not imagenet:
        raise click.ClickException(
            f"No pretrained checkpoint in {' or '.join(map(str, search_roots()))}"
            + (f" matches {pattern!r}." if pattern else ".")
        )
    rows = [("name", "architecture", "data", "classes", "test accuracy")]
    for n in names:
        m = read_manifest(n)
        acc = (m.get("metrics") or {}).get("test_accuracy")
        data = str(m.get("data", ""))
        rows.append((n, str(m.get("architecture")), data if len(data) < 40 else "..." + data[-37:],
                     str(len(m.get("class_names", []))), "-" if acc is None else f"{acc:.4f}"))  # fmt: skip
    if names:
        _table(rows)
    if imagenet:
        click.echo(("\n" if names else "") + "ImageNet weights (zoo convert, weights='imagenet'):")
        _table(imagenet)


def _imagenet_rows(pattern) -> list:
    """The bridge's architecture x source table (`zoo.bridge.available_weights`), or []."""
    import fnmatch

    from zoo.bridge import available_weights

    found = [
        w for w in available_weights() if not pattern or fnmatch.fnmatchcase(w["arch"], pattern)
    ]
    if not found:
        return []
    rows = [("architecture", "source", "file", "preprocessing", "top-1 %", "cached")]
    for w in found:
        top1 = "-" if w.get("top1") is None else f"{w['top1']:.2f}"
        rows.append((w["arch"], w["source"], w["file"], w["preprocessing"], top1,
                     w["cached"]))  # fmt: skip
    return rows


@click.command("info", cls=ZooCommand)
@click.argument("name")
@params.input_shape_option()
@params.num_classes_option()
@params.model_arg_option()
@click.option("--summary/--no-summary", default=True, help="Print the layer summary.")
def info_cmd(name, input_shape, num_classes, model_arg, summary):
    """Show a model's spec, parameter count, FLOPs and layers."""
    announce(name)
    import zoo
    from zoo.info import human

    with user_errors():
        kwargs = params.parse_model_args(model_arg)
        info = zoo.model_info(name, **{**kwargs, **model_kwargs(input_shape, num_classes)})
    model = info.pop("model")
    click.echo(f"{info['name']}: {info['description']}")
    click.echo(f"  family:          {info['family']}")
    click.echo(f"  paper:           {info['paper']}")
    click.echo(
        f"  input shape:     {_shape(info['input_shape'])} (minimum {_shape(info['min_input_shape'])})"
    )
    click.echo(f"  output shape:    {_shape(info['output_shape'])}")
    click.echo(f"  parameters:      {info['params']:,} ({info['trainable_params']:,} trainable)")
    click.echo(f"  FLOPs (MACs):    {human(info['flops'])} per image")
    click.echo(f"  layers:          {info['layers']}")
    _print_recipes(info["name"])
    if summary:
        model.summary(print_fn=lambda line, **_: click.echo(line))


def _print_recipes(name: str) -> None:
    """The architecture's training recipes (`zoo.recipes`), its default first."""
    from zoo.registry import get_spec

    spec = get_spec(name)
    recipes = spec.recipes
    if not recipes:
        click.echo("  recipes:         none (zoo train uses the TrainConfig defaults)")
        return
    default = spec.default_recipe
    click.echo(
        f"  recipes:         {len(recipes)} (zoo train {name} --recipe NAME; flags override)"
    )
    for key in sorted(recipes, key=lambda k: k != default):
        recipe = recipes[key]
        label = f"{key} (default)" if key == default else key
        click.echo(f"    {label}: {recipe.summary()}")
        click.echo(f"      source: {recipe.citation}")
        if recipe.notes:
            click.echo(f"      notes:  {recipe.notes}")


@click.command("build", cls=ZooCommand)
@click.argument("name")
@params.output_option(help="Output .keras file.", type=click.Path(dir_okay=False))
@params.input_shape_option()
@params.num_classes_option()
@params.model_arg_option()
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def build_cmd(name, output, input_shape, num_classes, model_arg, force):
    """Build an untrained model and save it as a .keras file."""
    import os

    if not output.endswith(".keras"):
        raise click.BadParameter(f"{output!r} must end in '.keras'.", param_hint="--output")
    if os.path.exists(output) and not force:
        raise click.ClickException(f"{output} exists; pass --force to overwrite it.")
    announce(f"building {name} into {output}")
    import zoo
    from zoo.saving import save_model

    with user_errors():
        kwargs = params.parse_model_args(model_arg)
        model = zoo.build_model(name, **{**kwargs, **model_kwargs(input_shape, num_classes)})
        save_model(model, output)
    click.echo(f"Saved untrained {model.name} ({model.count_params():,} parameters) to {output}")
