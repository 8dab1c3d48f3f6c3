"""`Param`, one hyperparameter of a search space, and its declaration on keras-tuner.

This module imports no Keras; `declare` works on any keras-tuner
``HyperParameters`` handed to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

__all__ = ["KINDS", "Param", "SpaceError", "declare"]

KINDS = ("float", "int", "choice", "fixed", "boolean")


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
