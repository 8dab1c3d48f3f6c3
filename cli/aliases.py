"""Old option spellings kept working for users' scripts, hidden from ``--help``.

An old spelling is its own hidden option (`AliasOption`) naming the parameters
it stands for; `ZooCommand` moves its value onto them after parsing and prints
one deprecation line on stderr. This works the same on every click >= 8.1
(two options sharing one destination do not: which one wins depends on the
click version).
"""

from __future__ import annotations

import click
from click.core import ParameterSource

__all__ = ["AliasOption", "ZooCommand", "alias_option", "deprecation"]

_NOT_GIVEN = (None, False, ())


class AliasOption(click.Option):
    """A hidden, deprecated spelling of one or more other parameters.

    Args:
        alias_of: names of the parameters (their Python names) that receive
            this option's value.
        use_instead: the spelling(s) to name in the deprecation line.
    """

    def __init__(self, *decls, alias_of: tuple[str, ...], use_instead: str, **attrs) -> None:
        attrs["hidden"] = True
        super().__init__(*decls, **attrs)
        self.alias_of = tuple(alias_of)
        self.use_instead = use_instead


def alias_option(flag: str, *, of: str | tuple[str, ...], use_instead: str, **attrs):
    """Decorator adding ``flag`` as a hidden old spelling of the parameter(s) ``of``.

    Args:
        flag: the old spelling, e.g. ``"--lr"``.
        of: Python name(s) of the parameter(s) it stands for.
        use_instead: the current spelling(s), for the deprecation line.
        **attrs: click option attributes (type, is_flag, ...) matching the target's.
    """
    targets = (of,) if isinstance(of, str) else tuple(of)
    dest = "alias_" + flag.lstrip("-").replace("-", "_")
    return click.option(flag, dest, cls=AliasOption, alias_of=targets, use_instead=use_instead,
                        default=None, **attrs)  # fmt: skip


def deprecation(old: str, new: str) -> None:
    """Prints the one-line notice that ``old`` still works but ``new`` is the spelling."""
    click.echo(f"zoo: {old} is deprecated; use {new}.", err=True)


class ZooCommand(click.Command):
    """A click command that applies its `AliasOption` values to their targets, and
    answers Ctrl-C with exit code 130 and the command that resumes (`cli.feedback.interrupted`)."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C: exit 130, and how to resume (not "Aborted!")
            from cli.feedback import interrupted

            raise interrupted(ctx) from None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        rest = super().parse_args(ctx, args)
        for param in self.params:
            if isinstance(param, AliasOption):
                _apply_alias(ctx, param)
        return rest


def _apply_alias(ctx: click.Context, alias: AliasOption) -> None:
    value = ctx.params.pop(alias.name, None)
    if value in _NOT_GIVEN:
        return
    old = alias.opts[0]
    for target in alias.alias_of:
        given = ctx.get_parameter_source(target) is ParameterSource.COMMANDLINE
        if given and ctx.params.get(target) != value:
            raise click.UsageError(
                f"{old} is the old spelling of {alias.use_instead}; give only one of them.", ctx
            )
        ctx.params[target] = value
    deprecation(old, alias.use_instead)
