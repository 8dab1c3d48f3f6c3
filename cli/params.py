"""Click parameter types and error helpers shared by the commands."""

from __future__ import annotations

import contextlib

import click


class ShapeType(click.ParamType):
    """An input shape written ``H,W,C`` or ``HxWxC`` (e.g. ``224,224,3``)."""

    name = "H,W,C"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).replace("x", ",").replace("X", ",").split(",")
        try:
            shape = tuple(int(p) for p in parts if p.strip())
        except ValueError:
            self.fail(f"{value!r} is not a shape like 224,224,3.", param, ctx)
        if not shape or any(d <= 0 for d in shape):
            self.fail(f"{value!r}: every dimension must be a positive integer.", param, ctx)
        return shape


SHAPE = ShapeType()


@contextlib.contextmanager
def user_errors():
    """Turns the toolkit's ValueErrors and missing files into one-line CLI errors."""
    try:
        yield
    except (ValueError, FileNotFoundError, PermissionError, IsADirectoryError) as err:
        message = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise click.ClickException(message) from None


def model_kwargs(input_shape=None, num_classes=None, **extra) -> dict:
    """Builder kwargs from CLI options, leaving out those not given."""
    kwargs = {k: v for k, v in extra.items() if v is not None}
    if input_shape is not None:
        kwargs["input_shape"] = input_shape
    if num_classes is not None:
        kwargs["num_classes"] = num_classes
    return kwargs
