"""Training recipes as registry data: each architecture carries its paper's (or a documented reproduction's).

A `Recipe` is a frozen set of `TrainConfig` fields plus the citation they come
from and a note on what the zoo could not reproduce exactly. The table,
`zoo.recipe_table.RECIPES`, holds them keyed by registered name, or by family
for every member of a family; `zoo.recipe_table.DEFAULT` names the one ``zoo train NAME`` uses when given no training flag
(flags, and a ``config`` given to ``zoo.train``, override single fields).
``zoo info NAME`` lists them; ``--recipe NAME`` / ``zoo.train(recipe=...)``
picks one; run.json records the one used (`Recipe.record`).

Iterations in a paper become epochs here (the zoo's schedules are per epoch):
ResNet's CIFAR schedule, 64k iterations of batch 128 on 45k images, is 182
epochs with the rate divided by 10 after epochs 91 and 136.

This module imports no Keras (the registry and ``--help`` stay instant).

Example:

```python
from zoo.recipes import get_recipe
recipe = get_recipe("resnet20", "paper")
config = recipe.config(epochs=2)        # the paper's recipe, 2 epochs
```
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Recipe",
    "UnknownRecipeError",
    "default_recipe",
    "get_recipe",
    "overrides_of",
    "recipe_config",
    "recipes_for",
]


class UnknownRecipeError(ValueError):
    """A recipe name the architecture does not have (the message lists those it has)."""


@dataclasses.dataclass(frozen=True)
class Recipe:
    """One training recipe: `TrainConfig` fields, where they come from, what differs.

    Attributes:
        name: the recipe's name for its architecture (``"paper"``, ``"fast"``).
        citation: the paper, section, or documented reproduction it follows.
        settings: ``((field, value), ...)``: the `TrainConfig` fields it sets;
            every other field keeps its default.
        notes: how the source's recipe maps onto the zoo, what was changed.
    """

    name: str
    citation: str
    settings: tuple[tuple[str, Any], ...]
    notes: str = ""

    @property
    def fields(self) -> dict[str, Any]:
        """``settings`` as a dict (``augment`` as ``{name: strength}``)."""
        return dict(self.settings)

    def config(self, **overrides: Any):
        """The `TrainConfig` of this recipe with ``overrides`` applied (validated).

        Raises:
            ValueError: an override is not a valid `TrainConfig` field or value.
        """
        from zoo.training.config import TrainConfig

        return TrainConfig.from_dict({**self.fields, **overrides})

    def summary(self) -> str:
        """One line: optimizer, rate, schedule, epochs, batch, decay, augmentation, loss extras."""
        f = self.fields
        optimizer = f.get("optimizer", "adam")
        if optimizer in ("momentum", "nesterov"):
            optimizer = f"SGD + {optimizer} {f.get('momentum', 0.9):g}"
        parts = [f"{optimizer}, lr {f.get('learning_rate', 1e-3):g}"]
        schedule = f.get("schedule", "none")
        if schedule == "step":
            schedule = f"step x{f.get('gamma', 0.1):g} every {f.get('step_size', 20)} epochs"
        elif schedule == "multistep":
            at = ", ".join(str(m) for m in f.get("milestones", ()))
            schedule = f"x{f.get('gamma', 0.1):g} at epochs {at}"
        elif schedule == "exponential":
            schedule = f"exponential (k={f.get('decay_rate', 0.1):g})"
        if f.get("warmup_epochs"):
            schedule += f" after {f['warmup_epochs']} warm-up epochs"
        parts.append(f"schedule {schedule}")
        parts.append(f"{f.get('epochs', 10)} epochs, batch {f.get('batch_size', 32)}")
        for key, label in (("weight_decay", "weight decay"), ("l2", "L2"), ("clipnorm", "clipnorm"),
                           ("label_smoothing", "label smoothing"), ("dense_dropout", "dropout")):  # fmt: skip
            if f.get(key):
                parts.append(f"{label} {f[key]:g}")
        augment = f.get("augment") or {}
        parts.append("augment " + (", ".join(_augment_label(augment)) or "none"))
        return "; ".join(parts)

    def record(self, overrides: Mapping[str, Any] | None = None) -> dict:
        """What run.json keeps of the recipe a run started from, and the fields overridden."""
        return {
            "name": self.name,
            "citation": self.citation,
            "settings": {k: _jsonable(v) for k, v in self.settings},
            "overridden": sorted(overrides or ()),
        }


def _augment_label(augment) -> list[str]:
    items = augment.items() if isinstance(augment, Mapping) else augment
    return [name if name == "flip" else f"{name}:{strength:g}" for name, strength in items]


def _jsonable(value: Any) -> Any:
    return (
        dict(value) if isinstance(value, tuple) and value and isinstance(value[0], tuple) else value
    )


def recipe(name: str, citation: str, notes: str = "", **settings: Any) -> Recipe:
    """A `Recipe` from keyword settings (``augment`` as a ``{name: strength}`` dict)."""
    if isinstance(settings.get("augment"), Mapping):
        settings["augment"] = tuple(settings["augment"].items())
    return Recipe(name, citation, tuple(settings.items()), notes)


def _key(model: str) -> str:
    """The `zoo.recipe_table.RECIPES` key of a registered model: its own name, else its family."""
    from zoo.recipe_table import RECIPES
    from zoo.registry import get_spec

    spec = get_spec(model)
    return spec.name if spec.name in RECIPES else spec.family


def recipes_for(model: str) -> dict[str, Recipe]:
    """The recipes of a registered model (or alias), by name; ``{}`` when it has none."""
    from zoo.recipe_table import RECIPES

    return dict(RECIPES.get(_key(model), {}))


def default_recipe(model: str) -> str | None:
    """The name of the recipe ``zoo train MODEL`` uses without training flags (None: no recipe)."""
    from zoo.recipe_table import DEFAULT, RECIPES

    key = _key(model)
    return DEFAULT.get(key) if key in RECIPES else None


def get_recipe(model: str, name: str | None = None) -> Recipe:
    """Recipe ``name`` of ``model`` (its default when None).

    Raises:
        UnknownRecipeError: the model has no such recipe (naming those it has).
    """
    from zoo.registry import resolve_name

    canonical = resolve_name(model)
    have = recipes_for(canonical)
    key = name if name is not None else default_recipe(canonical)
    if key is None or key not in have:
        choices = ", ".join(have) or "none"
        raise UnknownRecipeError(f"{canonical} has no recipe {name!r}; its recipes: {choices}.")
    return have[key]


def recipe_config(model: str, name: str | None, config: Any = None):
    """``(TrainConfig, run.json record)``: recipe ``name`` of ``model`` under ``config``'s fields.

    Args:
        model: a registered name.
        name: a recipe of it, or None for its default; a `Recipe` is used as is.
        config: what overrides the recipe: None; a dict (its keys); a
            `TrainConfig` (the fields that differ from the defaults); or a
            JSON/YAML path (the keys the file sets).

    Raises:
        UnknownRecipeError, ValueError: an unknown recipe or invalid fields.
    """
    chosen = name if isinstance(name, Recipe) else get_recipe(model, name)
    overrides = overrides_of(config)
    return chosen.config(**overrides), chosen.record(overrides)


def overrides_of(config: Any) -> dict:
    """The `TrainConfig` fields ``config`` sets, as `recipe_config` reads them (see there).

    Raises:
        ValueError: another type, or an unreadable file.
    """
    import os

    from zoo.training.config import TrainConfig

    if config is None:
        return {}
    if isinstance(config, Mapping):
        return dict(config)
    if isinstance(config, (str, os.PathLike)):
        given = TrainConfig.from_file(config).to_dict()
        from zoo.training.config import RENAMED

        keys = [RENAMED.get(k, k) for k in _file_keys(os.fspath(config))]
        return {k: given[k] for k in keys if k in given}
    if isinstance(config, TrainConfig):
        default = TrainConfig().to_dict()
        return {k: v for k, v in config.to_dict().items() if v != default[k]}
    raise ValueError(
        f"config must be a TrainConfig, dict or file path; received {type(config).__name__}."
    )


def _file_keys(path: str) -> list[str]:
    from zoo.jsonio import parse_json, parse_yaml, read_text

    text = read_text(path)
    data = parse_json(text, path) if path.lower().endswith(".json") else parse_yaml(text, path)
    return list(data or {})
