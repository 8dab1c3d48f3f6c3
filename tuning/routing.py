"""Where a hyperparameter goes: the model builder or `TrainConfig`, and the checks on a space.

A name is routed by the set it belongs to, no prefix needed:

- builder options: the fields of ``zoo.registry.get_spec(name).options``
  (`builder_options`), e.g. ``dropout``, ``kernel_l2``, ``hidden_units``;
- training settings: the fields of `TrainConfig` (`train_fields`), e.g.
  ``learning_rate``, ``dense_dropout``, ``weight_decay``, ``l2``.

The old prefixes still work: ``model.X`` goes to the builder and ``train.X`` to
`TrainConfig`; ``model.weight_decay`` is the builder's L2 kernel penalty
(``kernel_l2``) and ``train.dropout`` the Dropout inserted before Dense layers
(``dense_dropout``), wherever those new names exist.

This module imports no Keras.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tuning.params import Param, SpaceError

__all__ = [
    "MODEL_PREFIX",
    "RENAMED",
    "TRAIN_PREFIX",
    "builder_options",
    "target_of",
    "train_fields",
    "validate_space",
]

#: Prefixes that say which side a name belongs to (kept for older spaces).
TRAIN_PREFIX = "train."
MODEL_PREFIX = "model."
#: Old prefixed names whose field was renamed: ``(side, old field) -> new field``.
RENAMED = {("model", "weight_decay"): "kernel_l2", ("train", "dropout"): "dense_dropout"}


def builder_options(model_name: str) -> dict[str, Any]:
    """The options a registered model's builder takes, with their defaults.

    Reads the fields of the model's options dataclass
    (``get_spec(model_name).options``); for a registry without one, asks
    `tuning.hypermodel.builder_kwargs`.

    Raises:
        UnknownModelError: for an unknown name.
    """
    from zoo.registry import get_spec

    options = getattr(get_spec(model_name), "options", None)
    if options is None or not dataclasses.is_dataclass(options):
        from tuning.hypermodel import builder_kwargs

        return builder_kwargs(model_name)
    return {field.name: _default(field) for field in dataclasses.fields(options)}


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def train_fields() -> list[str]:
    """`TrainConfig`'s field names."""
    from zoo.training.config import TrainConfig

    return [f.name for f in dataclasses.fields(TrainConfig)]


def target_of(
    name: str, builder_kwargs: Iterable[str], train_names: Iterable[str] | None = None
) -> tuple[str, str]:
    """Where hyperparameter ``name`` goes.

    Args:
        name: the name as written in the space (``dropout``, ``train.dropout``, ...).
        builder_kwargs: the builder's option names (see `builder_options`).
        train_names: `TrainConfig`'s field names; `train_fields` when None.

    Returns:
        ``("model", option)`` or ``("train", field)``. A name in neither set
        goes to ``"train"``, where `validate_space` reports it.
    """
    builder = set(builder_kwargs)
    for side, prefix in (("train", TRAIN_PREFIX), ("model", MODEL_PREFIX)):
        if name.startswith(prefix):
            field = name[len(prefix) :]
            renamed = RENAMED.get((side, field))
            if renamed is not None:
                known = builder if side == "model" else _train_set(train_names)
                if renamed in known:
                    field = renamed
            return side, field
    if name in builder:
        return "model", name
    return "train", name


def _train_set(train_names: Iterable[str] | None) -> set[str]:
    """``train_names`` as a set; `TrainConfig`'s fields when None."""
    return set(train_fields() if train_names is None else train_names)


def validate_space(
    space: Sequence[Param],
    *,
    train_fields: Sequence[str],
    builder_kwargs: Mapping[str, Any],
    model_name: str = "the model",
    base_config: Any = None,
    reserved: Iterable[str] = (),
) -> None:
    """Checks names, conditions and (for training fields) every candidate value.

    Args:
        space: the parsed space.
        train_fields: `TrainConfig` field names.
        builder_kwargs: the builder's tunable keyword arguments -> defaults.
        model_name: for messages.
        base_config: a `TrainConfig` the candidate values are tried against.
        reserved: names set by the search itself (``input_shape``,
            ``num_classes``, ...), refused with a reason.

    Raises:
        SpaceError: one line naming the problem and the valid names.
    """
    names = [p.name for p in space]
    if len(set(names)) != len(names):
        raise SpaceError(f"Duplicate hyperparameter names in the space: {names}.")
    _check_names(space, train_fields, builder_kwargs, model_name, set(reserved))
    _check_conditions(space)
    if base_config is not None:
        _check_train_values(space, train_fields, builder_kwargs, base_config)
        _check_builder_values(space, train_fields, builder_kwargs, model_name)


def _check_names(space, train_names, builder_kwargs, model_name, reserved) -> None:
    unknown = []
    for p in space:
        side, field = target_of(p.name, builder_kwargs, train_names)
        if field in reserved:
            raise SpaceError(
                f"Hyperparameter {p.name!r} is set by the search from the data and cannot be tuned."
            )
        known = train_names if side == "train" else builder_kwargs
        if field not in known:
            unknown.append(p.name)
    if not unknown:
        return
    valid = sorted(set(train_names) | set(builder_kwargs))
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.split(".")[-1], valid, n=1)
        hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    raise SpaceError(
        f"Unknown hyperparameter(s) {', '.join(hints)} for {model_name}. "
        f"Valid names: {', '.join(valid)}."
    )


def _check_conditions(space: Sequence[Param]) -> None:
    by_name = {p.name: p for p in space}
    for p in space:
        if p.parent_name is None:
            continue
        parent = by_name.get(p.parent_name)
        if parent is None:
            raise SpaceError(
                f"Hyperparameter {p.name!r} depends on {p.parent_name!r}, which is not in the space."
            )
        if parent.kind not in ("choice", "fixed", "boolean"):
            raise SpaceError(
                f"Hyperparameter {p.name!r}: its parent {p.parent_name!r} must be a choice; "
                f"received a {parent.kind} range."
            )
        if parent.parent_name is not None:
            raise SpaceError(f"Hyperparameter {p.name!r}: nested conditions are not supported.")
        missing = [v for v in p.parent_values if v not in parent.candidates()]
        if missing:
            raise SpaceError(
                f"Hyperparameter {p.name!r}: parent {p.parent_name!r} never takes {missing}; "
                f"its values: {parent.candidates()}."
            )


def _check_train_values(space, train_names, builder_kwargs, base_config) -> None:
    """Tries every candidate of every training field on ``base_config``."""
    for p in space:
        side, field = target_of(p.name, builder_kwargs, train_names)
        if side != "train":
            continue
        for value in p.candidates():
            try:
                base_config.replace(**{field: value})
            except ValueError as err:
                msg = str(err).strip().splitlines()[0]
                raise SpaceError(
                    f"Hyperparameter {p.name!r} = {value!r} is invalid: {msg}"
                ) from None


def _check_builder_values(space, train_names, builder_kwargs, model_name) -> None:
    """Tries every candidate of every builder option on the model's options dataclass."""
    from zoo.options import options_from_kwargs
    from zoo.registry import get_spec

    try:
        spec = get_spec(model_name)
    except ValueError:
        return  # not a registered name: nothing to try the values on
    if not dataclasses.is_dataclass(getattr(spec, "options", None)):
        return
    for p in space:
        side, field = target_of(p.name, builder_kwargs, train_names)
        if side != "model" or isinstance(builder_kwargs.get(field), (tuple, list)):
            continue  # tuple knobs ("512-256") are parsed and checked by the hypermodel
        for value in p.candidates():
            try:
                options_from_kwargs(spec, {field: value})
            except (ValueError, TypeError) as err:
                msg = str(err).strip().splitlines()[0]
                raise SpaceError(
                    f"Hyperparameter {p.name!r} = {value!r} is invalid: {msg}"
                ) from None
