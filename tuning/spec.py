"""One hyperparameter's spec, from a ``--space`` string or a file entry, to a `Param`.

See `tuning.space` for the syntax. This module imports no Keras.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from tuning.params import Param, SpaceError

__all__ = ["check_name", "parse_spec", "scalar"]


def scalar(text: str) -> Any:
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
    value = scalar(token) if isinstance(token, str) else token
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpaceError(f"Hyperparameter {name!r}: {token!r} is not a number in {spec!r}.")
    return value


def check_name(name: Any) -> str:
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
    name = check_name(name)
    parent_name, parent_values = None, ()
    if isinstance(spec, str) and "@" in spec:
        spec, _, cond = spec.partition("@")
        parent_name, eq, raw = cond.partition("=")
        if not eq or not parent_name.strip() or not raw.strip():
            raise SpaceError(
                f"Hyperparameter {name!r}: a condition is '@parent=value[,value]'; received {cond!r}."
            )
        parent_name = parent_name.strip()
        parent_values = tuple(scalar(v) for v in raw.split(",") if v.strip())
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
        return _choice(name, [scalar(v) for v in text.split(",") if v.strip()], spec)
    return Param(name=name, kind="fixed", value=scalar(text))


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
