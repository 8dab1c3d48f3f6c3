"""Search spaces: parsed from ``--space`` strings or a YAML/JSON file, checked early.

A search space is a tuple of `Param` (one hyperparameter each). Every name is
either a `TrainConfig` field (a training choice) or one of the model builder's
keyword arguments (an architecture choice). ``dropout`` and ``weight_decay``
exist on both sides; a bare name goes to the builder when the model accepts
it (the architecture's own dropout / L2 kernel penalty) and to `TrainConfig`
otherwise. Write ``train.dropout`` or ``model.dropout`` to choose explicitly.

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

import dataclasses
import difflib
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = [
    "KINDS",
    "Param",
    "SpaceError",
    "declare",
    "load_space_file",
    "parse_space",
    "parse_spec",
    "space_from_dict",
    "space_to_dict",
    "validate_space",
]

KINDS = ("float", "int", "choice", "fixed", "boolean")
#: Prefixes that say which side a name belongs to.
TRAIN_PREFIX = "train."
MODEL_PREFIX = "model."


class SpaceError(ValueError):
    """A malformed search space, unknown hyperparameter or impossible value."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One hyperparameter of a search space.

    Attributes:
        name: hyperparameter name as written (``learning_rate``,
            ``train.dropout``, ``hidden_units``).
        kind: one of `KINDS`.
        min: lower bound (``float``/``int``).
        max: upper bound, inclusive (``float``/``int``).
        step: grid step or None.
        sampling: ``"linear"`` or ``"log"``.
        values: the choices (``choice``).
        value: the fixed value (``fixed``).
        parent_name: name of the choice that activates this one, or None.
        parent_values: values of the parent for which it is active.
    """

    name: str
    kind: str
    min: float | int | None = None
    max: float | int | None = None
    step: float | int | None = None
    sampling: str = "linear"
    values: tuple = ()
    value: Any = None
    parent_name: str | None = None
    parent_values: tuple = ()

    def candidates(self) -> list:
        """Representative values to check against the config: choices, bounds."""
        if self.kind == "choice":
            return list(self.values)
        if self.kind == "fixed":
            return [self.value]
        if self.kind == "boolean":
            return [True, False]
        return [self.min, self.max]

    def to_dict(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind in ("float", "int"):
            out.update(min=self.min, max=self.max, sampling=self.sampling)
            if self.step is not None:
                out["step"] = self.step
        elif self.kind == "choice":
            out["values"] = list(self.values)
        elif self.kind == "fixed":
            out["value"] = self.value
        if self.parent_name:
            out["parent"] = self.parent_name
            out["parent_values"] = list(self.parent_values)
        return out

    def describe(self) -> str:
        """A short human form, e.g. ``log:0.0001:0.1`` or ``sgd,adam``."""
        if self.kind in ("float", "int"):
            text = f"{self.min}:{self.max}" + (f":{self.step}" if self.step is not None else "")
            text = ("log:" if self.sampling == "log" else "") + text
        elif self.kind == "choice":
            text = ",".join(str(v) for v in self.values)
        elif self.kind == "boolean":
            text = "true,false"
        else:
            text = str(self.value)
        if self.parent_name:
            text += f"@{self.parent_name}=" + ",".join(str(v) for v in self.parent_values)
        return text


# ------------------------------------------------------------------ parsing
def _scalar(text: str) -> Any:
    """Parses one CLI token: int, float, bool, none or the stripped string."""
    token = text.strip()
    low = token.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    if low in ("none", "null"):
        return None
    try:
        return int(token)
    except ValueError:
        pass
    try:
        value = float(token)
    except ValueError:
        return token
    return value


def _number(name: str, token: Any, spec: str) -> float | int:
    value = _scalar(token) if isinstance(token, str) else token
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(f"Hyperparameter {name!r}: {token!r} is not a number in {spec!r}.")
    return value


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise SpaceError(f"A hyperparameter name must be a non-empty string; received {name!r}.")
    name = name.strip()
    if name.startswith("tuner/"):
        raise SpaceError(f"{name!r} is reserved for keras-tuner's own bookkeeping.")
    return name


def _range(name: str, parts: Sequence[Any], spec: str, *, sampling: str, kind: str | None) -> Param:
    if len(parts) not in (2, 3):
        raise SpaceError(
            f"Hyperparameter {name!r}: a range is min:max or min:max:step; received {spec!r}."
        )
    nums = [_number(name, p, spec) for p in parts]
    if kind is None:
        kind = "int" if all(isinstance(n, int) for n in nums) else "float"
    lo, hi = nums[0], nums[1]
    step = nums[2] if len(nums) == 3 else None
    if kind == "int":
        if any(float(n) != int(n) for n in nums):
            raise SpaceError(
                f"Hyperparameter {name!r}: int range needs integer bounds; received {spec!r}."
            )
        lo, hi = int(lo), int(hi)
        step = int(step) if step is not None else None
    else:
        lo, hi = float(lo), float(hi)
        step = float(step) if step is not None else None
    if not lo < hi:
        raise SpaceError(f"Hyperparameter {name!r}: min must be < max; received {spec!r}.")
    if step is not None and (step <= 0 or step > hi - lo):
        raise SpaceError(
            f"Hyperparameter {name!r}: step must be in (0, max - min]; received {spec!r}."
        )
    if sampling == "log":
        if lo <= 0:
            raise SpaceError(
                f"Hyperparameter {name!r}: log sampling needs min > 0; received {spec!r}."
            )
        if step is not None:
            raise SpaceError(
                f"Hyperparameter {name!r}: log sampling takes no step; received {spec!r}."
            )
    return Param(name=name, kind=kind, min=lo, max=hi, step=step, sampling=sampling)


def _choice(name: str, values: Sequence[Any], spec: Any) -> Param:
    values = tuple(values)
    if not values:
        raise SpaceError(
            f"Hyperparameter {name!r}: a choice needs at least one value; received {spec!r}."
        )
    for v in values:
        if v is not None and not isinstance(v, (bool, int, float, str)):
            raise SpaceError(
                f"Hyperparameter {name!r}: choices must be numbers, strings or booleans; "
                f"received {v!r}."
            )
    if len(set(map(repr, values))) != len(values):
        raise SpaceError(f"Hyperparameter {name!r}: duplicate choices in {spec!r}.")
    kinds = {type(v) for v in values}
    if len(kinds) > 1 and not kinds <= {int, float}:
        # keras-tuner needs one type per choice: mixed ones ("32,64-32") become strings.
        values = tuple(str(v) for v in values)
        kinds = {str}
    if kinds == {int, float}:
        values = tuple(float(v) for v in values)
    if set(values) == {True, False} and len(values) == 2:
        return Param(name=name, kind="boolean")
    if len(values) == 1:
        return Param(name=name, kind="fixed", value=values[0])
    return Param(name=name, kind="choice", values=values)


def parse_spec(name: str, spec: Any) -> Param:
    """Parses one hyperparameter from a CLI string or a file entry.

    Args:
        name: hyperparameter name.
        spec: a CLI string (see the module docstring), a list (choice), a
            scalar (fixed) or a mapping with ``min``/``max``/``step``/
            ``sampling``/``type``, ``values``, ``value``, ``parent``/
            ``parent_values``.

    Returns:
        A `Param`.

    Raises:
        SpaceError: for malformed specs (the message quotes the spec).
    """
    name = _check_name(name)
    parent_name, parent_values = None, ()
    if isinstance(spec, str) and "@" in spec:
        spec, _, cond = spec.partition("@")
        parent_name, eq, raw = cond.partition("=")
        if not eq or not parent_name.strip() or not raw.strip():
            raise SpaceError(
                f"Hyperparameter {name!r}: a condition is '@parent=value[,value]'; received {cond!r}."
            )
        parent_name = parent_name.strip()
        parent_values = tuple(_scalar(v) for v in raw.split(",") if v.strip())
    if isinstance(spec, Mapping):
        spec = dict(spec)
        parent = spec.pop("parent", spec.pop("parent_name", None))
        pvalues = spec.pop("parent_values", None)
        if parent is not None:
            if pvalues is None:
                raise SpaceError(f"Hyperparameter {name!r}: 'parent' needs 'parent_values'.")
            parent_name = str(parent)
            parent_values = tuple(pvalues) if isinstance(pvalues, (list, tuple)) else (pvalues,)
        param = _from_mapping(name, spec)
    elif isinstance(spec, (list, tuple)):
        param = _choice(name, spec, spec)
    elif isinstance(spec, str):
        param = _from_string(name, spec)
    elif spec is None or isinstance(spec, (bool, int, float)):
        param = Param(name=name, kind="fixed", value=spec)
    else:
        raise SpaceError(f"Hyperparameter {name!r}: cannot read spec {spec!r}.")
    if parent_name is not None:
        if not parent_values:
            raise SpaceError(f"Hyperparameter {name!r}: the condition names no parent values.")
        param = dataclasses.replace(param, parent_name=parent_name, parent_values=parent_values)
    return param


def _from_string(name: str, spec: str) -> Param:
    text = spec.strip()
    if not text:
        raise SpaceError(
            f"Hyperparameter {name!r}: empty spec; write e.g. {name}=0.1:0.5 or {name}=a,b."
        )
    head, _, rest = text.partition(":")
    head = head.strip().lower()
    if head in ("log", "float", "int", "linear") and rest:
        kind = head if head in ("float", "int") else None
        sampling = "log" if head == "log" else "linear"
        if head == "log" and rest.split(":")[0].strip().lower() in ("int", "float"):
            kind, _, rest = rest.partition(":")
            kind = kind.strip().lower()
        return _range(name, rest.split(":"), spec, sampling=sampling, kind=kind)
    if head == "choice" and rest:
        text = rest
    if ":" in text:
        return _range(name, text.split(":"), spec, sampling="linear", kind=None)
    if "," in text:
        return _choice(name, [_scalar(v) for v in text.split(",") if v.strip()], spec)
    return Param(name=name, kind="fixed", value=_scalar(text))


def _from_mapping(name: str, spec: dict) -> Param:
    allowed = {"type", "kind", "min", "max", "step", "sampling", "values", "value", "default"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise SpaceError(
            f"Hyperparameter {name!r}: unknown key(s) {unknown}; use "
            f"{sorted(allowed | {'parent', 'parent_values'})}."
        )
    kind = str(spec.get("type", spec.get("kind", "")) or "").lower() or None
    if "values" in spec:
        values = spec["values"]
        if not isinstance(values, (list, tuple)):
            raise SpaceError(
                f"Hyperparameter {name!r}: 'values' must be a list; received {values!r}."
            )
        return _choice(name, values, spec)
    if "value" in spec:
        return Param(name=name, kind="fixed", value=spec["value"])
    if kind == "boolean":
        return Param(name=name, kind="boolean")
    if "min" in spec or "max" in spec:
        if "min" not in spec or "max" not in spec:
            raise SpaceError(
                f"Hyperparameter {name!r}: a range needs both 'min' and 'max'; received {spec!r}."
            )
        sampling = str(spec.get("sampling", "linear")).lower()
        if sampling not in ("linear", "log"):
            raise SpaceError(
                f"Hyperparameter {name!r}: sampling must be 'linear' or 'log'; received {sampling!r}."
            )
        parts = [spec["min"], spec["max"]] + (
            [spec["step"]] if spec.get("step") is not None else []
        )
        if kind not in (None, "float", "int"):
            raise SpaceError(f"Hyperparameter {name!r}: type {kind!r} does not take min/max.")
        return _range(name, parts, repr(spec), sampling=sampling, kind=kind)
    raise SpaceError(
        f"Hyperparameter {name!r}: give 'values', 'value' or 'min'/'max'; received {spec!r}."
    )


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
        name = _check_name(name)
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
    try:
        if ext == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as err:  # json.JSONDecodeError / yaml.YAMLError
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


# --------------------------------------------------------------- validation
def target_of(name: str, builder_kwargs: Iterable[str]) -> tuple[str, str]:
    """Returns ``("model"|"train", field)`` for a hyperparameter name."""
    if name.startswith(TRAIN_PREFIX):
        return "train", name[len(TRAIN_PREFIX) :]
    if name.startswith(MODEL_PREFIX):
        return "model", name[len(MODEL_PREFIX) :]
    if name in set(builder_kwargs):
        return "model", name
    return "train", name


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
    reserved = set(reserved)
    valid = sorted(set(train_fields) | set(builder_kwargs))
    names = [p.name for p in space]
    if len(set(names)) != len(names):
        raise SpaceError(f"Duplicate hyperparameter names in the space: {names}.")
    unknown = []
    for p in space:
        side, field = target_of(p.name, builder_kwargs)
        if field in reserved:
            raise SpaceError(
                f"Hyperparameter {p.name!r} is set by the search from the data and cannot be tuned."
            )
        if (side == "train" and field not in train_fields) or (
            side == "model" and field not in builder_kwargs
        ):
            unknown.append(p.name)
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name.split(".")[-1], valid, n=1)
            hints.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise SpaceError(
            f"Unknown hyperparameter(s) {', '.join(hints)} for {model_name}. "
            f"Valid names: {', '.join(valid)}."
        )
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
    if base_config is None:
        return
    for p in space:
        side, field = target_of(p.name, builder_kwargs)
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


# ------------------------------------------------------------- keras-tuner
def declare(hp: Any, space: Sequence[Param]) -> dict[str, Any]:
    """Declares ``space`` on a keras-tuner ``HyperParameters``; returns active values.

    Conditional parameters use ``hp.conditional_scope``; inactive ones are
    left out of the returned dict.
    """
    values: dict[str, Any] = {}
    for p in space:
        if p.parent_name is not None:
            with hp.conditional_scope(p.parent_name, list(p.parent_values)):
                value = _declare_one(hp, p)
            if hp.is_active(p.name):
                values[p.name] = value
        else:
            values[p.name] = _declare_one(hp, p)
    return values


def _declare_one(hp: Any, p: Param) -> Any:
    if p.kind == "float":
        return hp.Float(p.name, p.min, p.max, step=p.step, sampling=p.sampling)
    if p.kind == "int":
        return hp.Int(p.name, p.min, p.max, step=p.step, sampling=p.sampling)
    if p.kind == "choice":
        return hp.Choice(p.name, list(p.values))
    if p.kind == "boolean":
        return hp.Boolean(p.name)
    return hp.Fixed(p.name, p.value)
