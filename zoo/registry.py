"""The model registry: one frozen spec per name, filled by a decorator.

This module imports no Keras and no model module (``zoo.models`` is imported
on first lookup), so listing models (and the CLI's ``--help``) stays instant.
A builder is a one-line ``def`` taking the family's validated options object
(`zoo.options`); `register_model` returns a public function whose signature is
those options as keyword-only arguments, so ``help(zoo.models.vgg.vgg16)``
shows them. ``zoo.build_model`` is the public entry point.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import functools
import inspect
import re
from collections.abc import Callable, Iterable

from zoo.options import ImageOptions

__all__ = [
    "ModelSpec",
    "UnknownModelError",
    "get_builder",
    "get_spec",
    "list_models",
    "register_model",
    "resolve_name",
]


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What the registry knows about one architecture before it is built.

    Attributes:
        name: registered name, e.g. ``"vgg16"``.
        family: architecture family, e.g. ``"vgg"``.
        input_shape: default (paper) input shape, channels last.
        min_input_shape: smallest input the architecture accepts.
        paper: short citation of the paper the builder follows.
        description: one line saying what this variant is.
        aliases: other names that resolve to this one.
        image_model: whether it takes (height, width, channels) inputs.
        params: total parameter count (trainable + non-trainable) at the
            default input shape and class count; checked by the tests, shown
            by ``zoo models`` without building anything.
        options: the family's options dataclass (`zoo.options`);
            ``dataclasses.fields(spec.options)`` lists the builder's
            arguments and defaults.

    ``spec.recipes`` and ``spec.default_recipe`` give its training recipes
    (`zoo.recipes`, a table keyed by name or family).
    """

    name: str
    family: str
    input_shape: tuple
    min_input_shape: tuple
    paper: str
    description: str
    aliases: tuple = ()
    image_model: bool = True
    params: int | None = None
    options: type = ImageOptions

    @property
    def recipes(self) -> dict:
        """The architecture's training recipes by name (`zoo.recipes`; data, no Keras)."""
        from zoo.recipes import recipes_for

        return recipes_for(self.name)

    @property
    def default_recipe(self) -> str | None:
        """The recipe ``zoo train NAME`` uses when given no training flag (None: none)."""
        from zoo.recipes import default_recipe

        return default_recipe(self.name)

    def to_dict(self) -> dict:
        """The spec as a JSON-able dict (``options`` as the dataclass' name)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["options"] = self.options.__name__
        return out


class UnknownModelError(ValueError):
    """Raised for a name that is not in the registry; suggests close names."""


_BUILDERS: dict[str, Callable] = {}
_SPECS: dict[str, ModelSpec] = {}
_ALIASES: dict[str, str] = {}


def _natural_key(name: str):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def register_model(
    *,
    family: str,
    input_shape: tuple,
    min_input_shape: tuple,
    paper: str,
    description: str,
    name: str | None = None,
    aliases: Iterable[str] = (),
    image_model: bool = True,
    params: int | None = None,
    options: type = ImageOptions,
) -> Callable:
    """Decorator that registers a builder function under its name.

    The decorated function takes the validated options object; the function
    returned in its place takes the options as keyword arguments (its
    ``__signature__`` is generated from ``dataclasses.fields(options)``) and
    builds like ``zoo.build_model(name, **kwargs)``. It keeps the builder as
    ``build_from_options`` and the spec as ``spec``.

    Args:
        family: architecture family.
        input_shape: default input shape (the paper's).
        min_input_shape: smallest accepted input shape.
        paper: citation.
        description: one-line description.
        name: registered name; defaults to the function's name.
        aliases: extra names resolving to this model.
        image_model: whether the builder takes (height, width, channels).
        params: total parameters at the defaults (metadata, tested).
        options: the family's options dataclass (a subclass of `ImageOptions`).

    Raises:
        ValueError: if the name or an alias is already registered.
        TypeError: if ``options`` is not an `ImageOptions` subclass.
    """
    if not (isinstance(options, type) and issubclass(options, ImageOptions)):
        raise TypeError(f"options must be an ImageOptions subclass; received {options!r}.")

    def decorator(fn: Callable) -> Callable:
        key = name or fn.__name__
        spec = ModelSpec(
            name=key,
            family=family,
            input_shape=tuple(input_shape),
            min_input_shape=tuple(min_input_shape),
            paper=paper,
            description=description,
            aliases=tuple(aliases),
            image_model=image_model,
            params=params,
            options=options,
        )
        for n in (key, *spec.aliases):
            if n in _BUILDERS or n in _ALIASES:
                raise ValueError(f"Model name {n!r} is already registered.")
        public = _public_builder(key, fn, options)
        public.spec = spec
        _BUILDERS[key] = public
        _SPECS[key] = spec
        for alias in spec.aliases:
            _ALIASES[alias] = key
        return public

    return decorator


def options_signature(options: type) -> inspect.Signature:
    """Keyword-only parameters with the dataclass' defaults: the builder's signature."""
    return inspect.Signature(
        [
            inspect.Parameter(
                f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type
            )
            for f in dataclasses.fields(options)
        ]
    )


def _public_builder(key: str, fn: Callable, options: type) -> Callable:
    """``fn`` (which takes an options object) as a function of keyword arguments."""

    @functools.wraps(fn)
    def builder(**kwargs):
        from zoo import build_model  # at call time: zoo imports this module

        return build_model(key, **kwargs)

    builder.__signature__ = options_signature(options)
    del builder.__wrapped__  # the signature is the options', not fn's
    builder.build_from_options = fn
    return builder


def _ensure_loaded() -> None:
    # Builders live in zoo.models; importing it registers them. Deferred so
    # that this module itself imports no Keras. The spec tables are plain
    # data, but the builder modules import keras lazily inside functions.
    import zoo.models  # noqa: F401


def resolve_name(name: str) -> str:
    """Returns the canonical registered name for ``name`` or an alias.

    Raises:
        UnknownModelError: with the closest registered names.
    """
    _ensure_loaded()
    if not isinstance(name, str):
        raise UnknownModelError(f"Model name must be a string; received {name!r}.")
    key = name.strip().lower().replace("-", "_")
    if key in _BUILDERS:
        return key
    if key in _ALIASES:
        return _ALIASES[key]
    candidates = sorted(set(_BUILDERS) | set(_ALIASES))
    close = difflib.get_close_matches(key, candidates, n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownModelError(
        f"Unknown model {name!r}.{hint} Run `zoo models` to list all "
        f"{len(_BUILDERS)} registered models."
    )


def get_spec(name: str) -> ModelSpec:
    """Returns the frozen ``ModelSpec`` of a registered model (or alias)."""
    return _SPECS[resolve_name(name)]


def get_builder(name: str) -> Callable:
    """Returns the builder function of a registered model (or alias).

    It takes the options as keyword arguments; ``.build_from_options(opts)``
    builds from a validated options object (no weights loaded).
    """
    return _BUILDERS[resolve_name(name)]


def list_models(
    include: str | Iterable[str] | None = None,
    exclude: str | Iterable[str] | None = None,
    family: str | None = None,
    aliases: bool = False,
) -> list[str]:
    """Lists registered model names in natural order (``resnet18`` < ``resnet101``).

    Args:
        include: wildcard pattern(s) a name must match, e.g. ``"resnet*"``.
        exclude: wildcard pattern(s) a name must not match.
        family: keep only this family.
        aliases: also list aliases.

    Returns:
        Sorted list of names.
    """
    _ensure_loaded()
    names = set(_BUILDERS)
    if aliases:
        names |= set(_ALIASES)

    def patterns(p):
        return [p] if isinstance(p, str) else list(p or [])

    if include is not None:
        inc = patterns(include)
        names = {n for n in names if any(fnmatch.fnmatchcase(n, p.lower()) for p in inc)}
    if exclude is not None:
        exc = patterns(exclude)
        names = {n for n in names if not any(fnmatch.fnmatchcase(n, p.lower()) for p in exc)}
    if family is not None:
        names = {n for n in names if _SPECS[_ALIASES.get(n, n)].family == family.lower()}
    return sorted(names, key=_natural_key)


def families() -> list[str]:
    """Lists the registered families in natural order."""
    _ensure_loaded()
    return sorted({s.family for s in _SPECS.values()}, key=_natural_key)
