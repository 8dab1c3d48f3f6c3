"""Search spaces: parsed from ``--space`` strings or a YAML/JSON file, checked early.

A search space is a tuple of `Param` (one hyperparameter each). Every name is
either one of the model builder's options (an architecture choice: ``dropout``,
``kernel_l2``, ``hidden_units``, ...) or a `TrainConfig` field (a training
choice: ``learning_rate``, ``dense_dropout``, ``weight_decay``, ...); which
set a name belongs to says where it goes (`tuning.routing`). The old prefixes
``model.``/``train.`` still work.

The parts live in their own modules, re-exported here: `tuning.params`
(`Param`, `declare`), `tuning.spec` (one spec -> `Param`) and
`tuning.routing` (names -> builder or `TrainConfig`, `validate_space`).

CLI syntax (``NAME=SPEC``, ``SPEC`` one of):

=============================  ===============================================
``log:1e-4:1e-1``              float (or int, when both bounds are integers)
                               sampled log-uniformly
``0:0.5:0.1``                  range ``min:max[:step]``; ints when every part
                               is an integer (``16:128:16``)
``float:1:4`` / ``int:1:4``    force the type of a range
``sgd,adam,rmsprop``           choice (values become int/float/bool if they
                               parse as such)
``3``                          fixed value
``...@optimizer=sgd,momentum`` conditional: active only for those values of
                               the parent (a choice in the same space)
=============================  ===============================================

File syntax (YAML or JSON mapping, name -> spec)::

    learning_rate: log:1e-4:1e-1          # same strings as the CLI
    optimizer: [sgd, adam, rmsprop]       # a list is a choice
    dropout: {min: 0, max: 0.5, step: 0.1}
    batch_size: {values: [32, 64, 128]}
    momentum: {min: 0.5, max: 0.99, parent: optimizer, parent_values: [sgd]}
    epochs: 3                             # a scalar is fixed

This module imports no Keras; `declare` imports keras-tuner's hyperparameters
only when called.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tuning.params import KINDS, Param, SpaceError, declare
from tuning.routing import (
    MODEL_PREFIX,
    TRAIN_PREFIX,
    builder_options,
    target_of,
    train_fields,
    validate_space,
)
from tuning.spec import check_name, parse_spec

__all__ = [
    "KINDS",
    "MODEL_PREFIX",
    "TRAIN_PREFIX",
    "Param",
    "SpaceError",
    "builder_options",
    "declare",
    "load_space_file",
    "parse_space",
    "parse_spec",
    "space_from_dict",
    "space_to_dict",
    "target_of",
    "train_fields",
    "validate_space",
]


def parse_space(
    items: Iterable[str] = (), file: str | os.PathLike | None = None
) -> tuple[Param, ...]:
    """Builds a space from ``NAME=SPEC`` strings and/or a YAML/JSON file.

    CLI items override file entries of the same name.

    Raises:
        SpaceError: malformed items, unreadable file, duplicate names.
    """
    params: dict[str, Param] = {}
    if file is not None:
        for p in load_space_file(file):
            params[p.name] = p
    seen: set[str] = set()
    for item in items:
        name, eq, spec = str(item).partition("=")
        if not eq:
            raise SpaceError(
                f"--space takes NAME=SPEC (e.g. learning_rate=log:1e-4:1e-1); received {item!r}."
            )
        name = check_name(name)
        if name in seen:
            raise SpaceError(f"Hyperparameter {name!r} is given twice.")
        seen.add(name)
        params[name] = parse_spec(name, spec)
    return tuple(params.values())


def load_space_file(path: str | os.PathLike) -> tuple[Param, ...]:
    """Reads a search space from a ``.yaml``/``.yml``/``.json`` mapping."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".json", ".yaml", ".yml"):
        raise SpaceError(f"A search-space file must be .yaml, .yml or .json; received {path!r}.")
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if ext == ".json":
        parse, errors = json.loads, (ValueError,)  # json.JSONDecodeError is a ValueError
    else:
        import yaml

        parse, errors = yaml.safe_load, (yaml.YAMLError, ValueError)
    try:
        data = parse(text)
    except errors as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise SpaceError(f"Cannot parse search-space file {path!r}: {first}") from None
    return space_from_dict(data or {}, where=path)


def space_from_dict(data: Mapping[str, Any], where: str = "search space") -> tuple[Param, ...]:
    """Parses a ``{name: spec}`` mapping (the file format, or `space_to_dict`'s output)."""
    if not isinstance(data, Mapping):
        raise SpaceError(f"{where}: expected a mapping of hyperparameter names to specs.")
    out = []
    for name, spec in data.items():
        if isinstance(spec, Mapping) and "kind" in spec:
            spec = dict(spec)
            kind = spec.pop("kind")
            if kind == "choice":
                spec.pop("sampling", None)
            elif kind == "fixed":
                pass
            elif kind == "boolean":
                spec["type"] = "boolean"
            else:
                spec["type"] = kind
        out.append(parse_spec(name, spec))
    return tuple(out)


def space_to_dict(space: Sequence[Param]) -> dict:
    """The space as a JSON-ready ``{name: spec}`` mapping (round-trips)."""
    return {p.name: p.to_dict() for p in space}
