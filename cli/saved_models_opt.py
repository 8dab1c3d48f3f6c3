"""``--saved-models DIR``: where a command publishes and first looks for checkpoints.

Kept apart from `cli.params` (which re-exports it) so that module stays small. Nothing here
imports Keras.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import click

ENV = "ZOO_SAVED_MODELS"  # zoo.saved_models.ENV_ROOT (not imported: the CLI starts fast)


def saved_models_option() -> Callable:
    """``--saved-models DIR``: the user checkpoint folder, as ``$ZOO_SAVED_MODELS`` (restored
    when the command ends); the shipped checkpoints stay visible."""

    def use(ctx, _param, value):
        if value:
            env = {ENV: os.path.abspath(os.path.expanduser(value))}
            ctx.with_resource(_patched_env(env))

    return click.option(
        "--saved-models", metavar="DIR", expose_value=False, is_eager=True, callback=use,
        help="Folder of your checkpoints (default: $ZOO_SAVED_MODELS, $ZOO_HOME/saved_models, "
        "else ~/.local/share/keras-zoo/saved_models); shipped ones are listed too.",
    )  # fmt: skip


@contextlib.contextmanager
def _patched_env(values: dict):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
