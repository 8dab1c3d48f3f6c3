"""``zoo train``'s flags, one per TrainConfig field, generated from the dataclass.

The CLI can never lag behind the config: a new field is a new flag. Fields that
other commands take too (``--learning-rate``, ``--batch-size``, ...) come from
`cli.params`, so they are spelled, typed and aliased alike everywhere.

A renamed field keeps its old flag as a hidden alias. `FLAG_NAMES` gives a
field the flag of its new name before the rename lands (``dropout`` is already
``--dense-dropout``), so the CLI reads the same on either side of the rename;
`OLD_FLAGS` lists the hidden old spellings of each flag.
"""

from __future__ import annotations

import dataclasses
import typing

import click

from cli import params
from cli.aliases import alias_option
from zoo.training.config import AUGMENTATIONS, DISTRIBUTE, LOSSES, SCHEDULES, TrainConfig

__all__ = [
    "FLAG_NAMES",
    "OLD_FLAGS",
    "collect_config",
    "config_options",
    "flag_of",
    "given_values",
]

#: Field -> the name its flag takes when it differs (a field about to be renamed).
FLAG_NAMES = {"dropout": "dense_dropout"}
#: Flag name -> old spellings, kept working as hidden aliases.
OLD_FLAGS = {"dense_dropout": ("--dropout",)}

_CHOICES = {"schedule": SCHEDULES, "loss": LOSSES, "distribute": DISTRIBUTE}
_SHARED = {
    "learning_rate": params.learning_rate_option,
    "batch_size": params.batch_size_option,
    "epochs": params.epochs_option,
    "optimizer": params.optimizer_option,
    "seed": params.seed_option,
}
#: What the help text adds where two knobs could be confused.
_NOTES = {
    "l2": "A training policy applied to any model's kernels; the builder's own penalty "
    "is --model-arg kernel_l2=VALUE.",
    "l1": "A training policy applied to any model's kernels.",
    "weight_decay": "Not --l2, and not the builder's kernel_l2.",
    "dense_dropout": "A training policy for any model; the architecture's own dropout is "
    "--model-arg dropout=RATE.",
}


def flag_of(field_name: str) -> str:
    """The ``--flag`` of TrainConfig field ``field_name``."""
    return "--" + FLAG_NAMES.get(field_name, field_name).replace("_", "-")


def _field_help(name: str) -> str:
    doc = TrainConfig.__doc__ or ""
    marker = f"        {name}: "
    if marker not in doc:
        return ""
    text = doc.split(marker, 1)[1]
    lines = [text.splitlines()[0]]
    for line in text.splitlines()[1:]:
        if line.startswith("            "):
            lines.append(line.strip())
        else:
            break
    return " ".join(lines)


def _help(field: dataclasses.Field) -> str:
    flag_name = FLAG_NAMES.get(field.name, field.name)
    text = " ".join(t for t in (_field_help(field.name), _NOTES.get(flag_name, "")) if t)
    if field.default is dataclasses.MISSING:
        return text
    return f"{text} [default: {field.default!r}]"


def _kind(field: dataclasses.Field, hints: dict) -> type:
    hint = hints[field.name]
    kinds = [a for a in typing.get_args(hint) if a is not type(None)] or [hint]
    return kinds[0]


def _option(field: dataclasses.Field, kind: type):
    """The click option of one field (default None: not given)."""
    name, flag, help_text = field.name, flag_of(field.name), _help(field)
    if name in _SHARED:
        typed = {} if name == "optimizer" else {"type": kind}  # the optimizer's is a Choice
        return _SHARED[name](help=help_text, default=None, **typed)
    if name == "augment":
        return click.option(flag, multiple=True, metavar="NAME[:STRENGTH]",
                            help=f"Augmentation, repeatable: {', '.join(AUGMENTATIONS)}.")  # fmt: skip
    if name == "milestones":
        return click.option(flag, name, default=None, metavar="EPOCH,EPOCH...", help=help_text)
    if name == "jit_compile":
        return params.jit_compile_option(help=help_text, default=None)
    if name == "mixed_precision":
        choice = click.Choice(["bfloat16", "float16", "false"])
        return click.option(flag, name, type=choice, default=None, help=help_text)
    if name in _CHOICES:
        choice = click.Choice(_CHOICES[name], case_sensitive=False)
        return click.option(flag, name, type=choice, default=None, help=help_text)
    if kind is bool:
        return click.option(f"{flag}/--no-{flag[2:]}", name, default=None, help=help_text)
    return click.option(flag, name, type=kind if kind in (int, float) else str, default=None,
                        help=help_text)  # fmt: skip


def _aliases(field: dataclasses.Field, kind: type) -> list:
    flag_name = FLAG_NAMES.get(field.name, field.name)
    return [
        alias_option(old, of=field.name, use_instead=flag_of(field.name), type=kind)
        for old in OLD_FLAGS.get(flag_name, ())
    ]


def config_options(fn):
    """Adds one ``--flag`` per TrainConfig field, plus the hidden old spellings."""
    hints = typing.get_type_hints(TrainConfig)
    fields = dataclasses.fields(TrainConfig)
    names = {f.name for f in fields}
    for field in reversed(fields):
        if FLAG_NAMES.get(field.name) in names:
            continue  # the old field of a rename still present: its flag is the new one's alias
        kind = _kind(field, hints)
        for decorator in [_option(field, kind), *_aliases(field, kind)]:
            fn = decorator(fn)
    return fn


def config_values(values: dict) -> dict:
    """The TrainConfig fields among ``values`` (a command's parameters)."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    return {k: v for k, v in values.items() if k in names}


def given_values(ctx: click.Context, values: dict) -> dict:
    """The entries of ``values`` the user gave on the command line (or environment).

    Click's parameter source tells a given flag from a default one; a value an
    old spelling (`cli.aliases`) set counts as given too (its target keeps the
    default's source).
    """
    from click.core import ParameterSource

    given = {}
    for key, value in values.items():
        from_user = ctx.get_parameter_source(key) not in (None, ParameterSource.DEFAULT)
        set_by_alias = value is not None and value != ()  # every flag's default is None / ()
        if from_user or set_by_alias:
            given[key] = value
    return given


def collect_config(config_file, values: dict, base: TrainConfig | None = None) -> TrainConfig:
    """TrainConfig from ``config_file`` (or ``base``, or the defaults) with the flags given in ``values``.

    Args:
        config_file: a JSON/YAML TrainConfig, or None.
        values: the flags' values; None or ``()`` means not given.
        base: the config the flags change when there is no ``config_file``
            (a resumed run's recorded config); default `TrainConfig()`.

    Raises:
        ValueError: an invalid value (the config's own message).
    """
    if config_file:
        base = TrainConfig.from_file(config_file)
    base = base if base is not None else TrainConfig()
    changes = {}
    for key, value in values.items():
        if value is None or value == ():
            continue
        if key in ("jit_compile", "mixed_precision"):
            value = {"true": True, "false": False}.get(value, value)
        changes[key] = list(value) if key == "augment" else value
    return base.replace(**changes) if changes else base
