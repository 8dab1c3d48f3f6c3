"""`ZooHyperModel`: keras-tuner's ``HyperModel`` over a registered zoo builder.

``build(hp)`` maps hyperparameters onto the builder's keyword arguments and
builds through `zoo.training.fit.build_for_data` (the same input size,
padding and class count as ``zoo.train``); ``fit(hp, model, ...)`` maps the
rest onto a `TrainConfig` (batch size and epochs included) and trains through
``zoo.train``. No architecture is re-implemented here: one source of truth.

Example:

```python
import keras_tuner as kt
from tuning import ZooHyperModel, parse_space

hm = ZooHyperModel("mlp", "mnist-sample", parse_space(["learning_rate=log:1e-4:1e-1"]))
hp = kt.HyperParameters()
hp.Fixed("learning_rate", 0.01)
model = hm.build(hp)            # the registry's mlp for 28x28x1, 10 classes
hm.config_for(hp).learning_rate  # 0.01
```
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras_tuner as kt

from tuning.space import Param, declare, target_of, validate_space
from zoo.constants import DEFAULT_SEED

__all__ = [
    "ARCHITECTURE",
    "RESERVED",
    "ZooHyperModel",
    "builder_kwargs",
    "reported_metrics",
    "train_fields",
]

#: Builder arguments the search sets from the data, never tuned.
RESERVED = ("input_shape", "num_classes", "weights", "name", "include_top", "pooling", "monitor")
#: The hyperparameter that picks the architecture (``--space model=resnet20,resnet32``).
ARCHITECTURE = "model"
#: History keys that are not metrics.
_NOT_METRICS = ("epoch", "lr", "learning_rate")


def builder_kwargs(model_name: str) -> dict[str, Any]:
    """The keyword arguments a registered builder accepts, with their defaults.

    Read from the model's options dataclass (``dataclasses.fields`` of
    ``zoo.registry.get_spec(model_name).options``, see `zoo.options`): the
    one list the builder's signature and validation come from.

    Raises:
        UnknownModelError: for an unknown name.
    """
    from zoo.registry import get_spec

    return {f.name: f.default for f in dataclasses.fields(get_spec(model_name).options)}


def train_fields() -> list[str]:
    """`TrainConfig` field names."""
    from zoo.training.config import TrainConfig

    return [f.name for f in dataclasses.fields(TrainConfig)]


def reported_metrics(config, has_validation: bool) -> list[str]:
    """The metric names ``zoo.train`` reports per epoch for ``config``."""
    from zoo.training.fit import CLASSIFICATION_LOSSES

    names = ["loss"] + (["accuracy"] if config.loss in CLASSIFICATION_LOSSES else [])
    if has_validation:
        names += [f"val_{n}" for n in names]
    return names


def _architectures(model_name: str, space: Sequence[Param]) -> tuple[str, ...]:
    """The registered models searched over: the ``model`` choice of the space, else ``model_name``.

    Raises:
        SpaceError: a ``model`` that is not a choice (or fixed value) of registered names.
    """
    from tuning.params import SpaceError
    from zoo.registry import resolve_name

    param = next((p for p in space if p.name == ARCHITECTURE), None)
    if param is None:
        return (model_name,)
    if param.kind not in ("choice", "fixed") or param.parent_name is not None:
        raise SpaceError(
            f"{ARCHITECTURE}= takes a list of registered models, e.g. "
            f"{ARCHITECTURE}=resnet20,resnet32,resnet56; received a {param.kind}."
        )
    names = []
    for value in param.candidates():
        if not isinstance(value, str):
            raise SpaceError(f"{ARCHITECTURE}={value!r} is not a registered model name.")
        names.append(resolve_name(value))
    return tuple(names)


def _common_options(names: Sequence[str]) -> dict[str, Any]:
    """Builder options every one of ``names`` accepts (defaults from the first)."""
    first = builder_kwargs(names[0])
    others = [set(builder_kwargs(n)) for n in names[1:]]
    return {k: v for k, v in first.items() if all(k in o for o in others)}


def _as_builder_value(field: str, value: Any, default: Any) -> Any:
    """Tuple knobs (``hidden_units``) take ``128`` or ``"512-256"`` as choices."""
    if isinstance(default, (tuple, list)) and not isinstance(value, (tuple, list)):
        if isinstance(value, int) and not isinstance(value, bool):
            return (value,)
        if isinstance(value, str):
            parts = value.replace("x", "-").replace("/", "-").split("-")
            try:
                return tuple(int(p) for p in parts if p.strip())
            except ValueError:
                raise ValueError(
                    f"{field}: {value!r} is not a list of integers such as '512-256'."
                ) from None
    return value


class ZooHyperModel(kt.HyperModel):
    """A keras-tuner ``HyperModel`` for one registered architecture and data set.

    Args:
        model: registered model name (``"lenet5"``, ``"mlp"``, ...).
        data: a `zoo.data.DataBundle` or a source for `zoo.data.load`
            (loaded once, with a validation split of
            ``config.validation_split`` or 0.1 when the source has none).
        space: the search space (`tuning.space.parse_space`).
        config: base `TrainConfig` (or dict / path) the hyperparameters
            override. Defaults to ``TrainConfig()``.
        model_kwargs: fixed builder arguments the space does not set.
        objective: the metric the search optimizes (also used as the
            config's ``monitor``, so the best checkpoint is the best by it).
        verbose: Keras verbosity inside each trial.

    Raises:
        SpaceError: unknown names, bad ranges, impossible values.
        ValueError: an objective the model does not report.
    """

    def __init__(
        self,
        model: str,
        data: Any,
        space: Sequence[Param],
        config: Any = None,
        *,
        model_kwargs: Mapping[str, Any] | None = None,
        objective: str = "val_accuracy",
        verbose: int = 0,
        name: str | None = None,
    ):
        super().__init__(name=name, tunable=True)
        from zoo.registry import resolve_name
        from zoo.training.fit import as_config

        self.model_name = resolve_name(model)
        self.space = tuple(space)
        self.architectures = _architectures(self.model_name, self.space)
        base = as_config(config)
        self.bundle = self._load(data, base)
        has_val = self.bundle.val is not None
        metrics = reported_metrics(base, has_val)
        if objective not in metrics:
            hint = (
                ""
                if has_val or not objective.startswith("val_")
                else " (the data has no validation split)"
            )
            raise ValueError(
                f"Objective {objective!r} is not reported by {self.model_name} with loss="
                f"{base.loss!r}{hint}; choose one of: {', '.join(metrics)}."
            )
        self.objective = objective
        self.base_config = base.replace(monitor=objective) if base.monitor != objective else base
        self.builder_defaults = _common_options(self.architectures)
        self.tunable_kwargs = {k: v for k, v in self.builder_defaults.items() if k not in RESERVED}
        from zoo.options import rename_deprecated

        self.model_kwargs = rename_deprecated(dict(model_kwargs or {}))  # weight_decay -> kernel_l2
        bad = sorted(set(self.model_kwargs) - set(self.builder_defaults))
        if bad:
            raise ValueError(
                f"{self.model_name} does not accept {', '.join(map(repr, bad))}; accepted: "
                f"{', '.join(sorted(self.builder_defaults))}."
            )
        validate_space(
            [p for p in self.space if p.name != ARCHITECTURE],
            train_fields=train_fields(),
            builder_kwargs=self.tunable_kwargs,
            model_name=self.model_name,
            base_config=self.base_config,
            reserved=RESERVED,
        )
        self.verbose = verbose
        self.last_fit: dict[str, Any] = {}

    @staticmethod
    def _load(data, config):
        from zoo import data as data_lib

        if isinstance(data, data_lib.DataBundle):
            return data
        return data_lib.load(
            data,
            batch_size=config.batch_size,
            validation_split=config.validation_split or 0.1,
            seed=DEFAULT_SEED if config.seed is None else config.seed,
        )

    # ------------------------------------------------------------- mapping
    def values(self, hp) -> dict[str, Any]:
        """Declares the space on ``hp``; returns the active values by name."""
        return declare(hp, self.space)

    def split(self, values: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """``(builder kwargs, TrainConfig changes)`` for hyperparameter values."""
        model_kwargs, config_changes = {}, {}
        for name, value in values.items():
            if name == ARCHITECTURE:
                continue
            side, field = target_of(name, self.tunable_kwargs)
            if side == "model":
                model_kwargs[field] = _as_builder_value(
                    field, value, self.builder_defaults.get(field)
                )
            else:
                config_changes[field] = value
        return model_kwargs, config_changes

    def architecture(self, hp) -> str:
        """The registered model a trial builds: its ``model`` hyperparameter, else the one model."""
        return self.values(hp).get(ARCHITECTURE) or self.model_name

    def model_kwargs_for(self, hp) -> dict[str, Any]:
        """The builder keyword arguments of a trial (fixed ones included)."""
        return {**self.model_kwargs, **self.split(self.values(hp))[0]}

    def config_for(self, hp):
        """The `TrainConfig` of a trial; Hyperband's epoch budget when it sets one."""
        changes = self.split(self.values(hp))[1]
        config = self.base_config.replace(**changes) if changes else self.base_config
        values = hp.values
        if "tuner/epochs" in values:
            epochs = int(values["tuner/epochs"]) - int(values.get("tuner/initial_epoch", 0))
            config = config.replace(epochs=max(1, epochs), warmup_epochs=0)
        return config

    # ------------------------------------------------------------ HyperModel
    def declare_hyperparameters(self, hp) -> None:
        self.values(hp)

    def build(self, hp):
        from zoo.training.fit import build_for_data

        config = self.config_for(hp)
        model, _prep, _kwargs = build_for_data(
            self.architecture(hp), self.bundle, config, self.model_kwargs_for(hp)
        )
        return model

    def fit(self, hp, model, *args, callbacks=(), run_dir=None, verbose=None, **kwargs):
        """Trains ``model`` through ``zoo.train``; returns the metrics of the best epoch.

        ``epochs``/``initial_epoch`` set by keras-tuner are ignored: the epoch
        count is the config's (``tuner/epochs`` for Hyperband, see
        `config_for`). A non-finite objective or a diverged run raises
        ``keras_tuner.errors.FailedTrialError`` (the trial is marked failed,
        not retried).
        """
        from zoo.training.fit import train

        config = self.config_for(hp)
        result = train(
            model,
            self.bundle,
            config,
            run_dir=run_dir,
            overwrite=True,
            callbacks=list(callbacks or ()),
            verbose=self.verbose if verbose is None else verbose,
            evaluate_test=False,
        )
        history = {k: list(v) for k, v in result.history.items() if k not in _NOT_METRICS}
        self.last_fit = {
            "epochs": int(result.epochs),
            "status": result.status,
            "run_dir": result.run_dir,
        }
        if result.status == "diverged":
            raise kt.errors.FailedTrialError(
                f"training diverged (non-finite loss) with {hp.values}"
            )
        series = history.get(self.objective) or []
        finite = [(i, v) for i, v in enumerate(series) if v is not None and math.isfinite(v)]
        if len(finite) != len(series) or not finite:
            raise kt.errors.FailedTrialError(f"objective {self.objective} is NaN/missing: {series}")
        from zoo.training.callbacks import monitor_mode

        pick = max if monitor_mode(self.objective) == "max" else min
        best_epoch = pick(finite, key=lambda iv: iv[1])[0]
        metrics = {k: float(v[best_epoch]) for k, v in history.items() if len(v) > best_epoch}
        self.last_fit["best_epoch"] = best_epoch + 1
        return metrics
