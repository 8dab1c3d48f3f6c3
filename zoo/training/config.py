"""`TrainConfig`: every training choice in one frozen, serializable dataclass.

Architecture choices are builder kwargs; training choices live here. The CLI,
notebooks and the tuner all build a `TrainConfig` the same way, and a run
directory stores it as JSON so a resumed run can be checked against it.

This module imports no Keras (the CLI's ``--help`` must stay instant).

Example:

```python
cfg = TrainConfig(optimizer="nesterov", learning_rate=0.1, schedule="step")
cfg = cfg.replace(epochs=50)            # validated again
TrainConfig.from_json(cfg.to_json()) == cfg   # True
cfg = TrainConfig.from_file("train.yaml")
```
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import os
import typing
import warnings
from collections.abc import Mapping
from typing import Any

from zoo.constants import DEFAULT_SEED
from zoo.training.config_validation import (
    AUGMENTATIONS,
    DISTRIBUTE,
    LOSSES,
    OPTIMIZERS,
    SCHEDULES,
    coerce,
    validate,
)

__all__ = [
    "AUGMENTATIONS",
    "DISTRIBUTE",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "TrainConfig",
    "as_config",
]


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every training choice, validated on construction.

    Build with keywords; every field has a default. Invalid values raise a
    `ValueError` naming the field and the received value.

    Attributes:
        epochs: number of epochs (>= 1).
        batch_size: samples per step (>= 1).
        optimizer: one of `OPTIMIZERS`. ``"momentum"`` is SGD with
            ``momentum``; ``"nesterov"`` is SGD with Nesterov momentum.
        learning_rate: initial (for ``one_cycle``: peak) learning rate.
        momentum: momentum for ``"momentum"``/``"nesterov"`` (and ``"sgd"``
            when ``nesterov=True``).
        nesterov: use Nesterov momentum with ``optimizer="sgd"``.
        weight_decay: decoupled weight decay (AdamW / SGDW style), applied
            by the optimizer; ``None`` keeps the optimizer's default (AdamW:
            0.004, the others: none). Not the same as ``l2``.
        clipnorm: clip each gradient to this norm (exclusive with clipvalue).
        clipvalue: clip gradient values to [-clipvalue, clipvalue].
        schedule: one of `SCHEDULES` (epoch-based; see `schedules.py`).
        step_size: ``step`` schedule: epochs between decays (N).
        gamma: ``step`` and ``multistep``: decay factor (lr * gamma^floor(t/N)).
        milestones: ``multistep`` schedule: the epochs from which the rate is
            multiplied by ``gamma`` once more, e.g. ``(91, 136)``.
        decay_rate: k of ``exponential`` (e^-kt) and ``inverse_time``
            (1/(1+kt)).
        plateau_factor: ``plateau``: factor the LR is multiplied by.
        plateau_patience: ``plateau``: epochs without improvement first.
        plateau_cooldown: ``plateau``: epochs to wait after a reduction.
        sgdr_t0: ``sgdr``: length of the first cycle in epochs (T_0).
        sgdr_t_mult: ``sgdr``: cycle length multiplier (T_mult).
        cycle_pct_start: ``one_cycle``: fraction of epochs spent rising.
        warmup_epochs: linear warmup epochs in front of the schedule.
        min_lr: floor of every schedule (eta_min of cosine/SGDR).
        early_stopping: stop when ``monitor`` stops improving.
        patience: early stopping patience in epochs.
        min_delta: smallest change of ``monitor`` counted as improvement
            (early stopping and plateau).
        restore_best_weights: early stopping restores the best weights.
        monitor: metric watched by early stopping, plateau and checkpoints.
        loss: one of `LOSSES`.
        from_logits: model outputs logits (no softmax) for crossentropy.
        sparse_labels: labels are integer class ids instead of one-hot.
        label_smoothing: crossentropy label smoothing in [0, 1).
        robust_c: scale c of huber (delta)/cauchy/fair/tukey; ``None`` uses
            each loss's 95%-efficiency default.
        l2: L2 penalty on kernels (``l2 * sum(w^2)``), added to the loss.
        l1: L1 penalty on kernels (``l1 * sum(|w|)``).
        dense_dropout: rate of the Dropout inserted before Dense layers
            (0 = off). Not the architecture's own ``dropout`` builder option.
        max_norm: max-norm constraint on kernels (``None`` = off).
        augment: augmentations as ``((name, strength), ...)``; accepts a list
            of names, ``"name:strength"`` strings or a ``{name: strength}``
            mapping. Names: keys of `AUGMENTATIONS`.
        seed: global random seed: `DEFAULT_SEED` (1337) unless set, so that a
            run is reproducible by default; ``None`` = not seeded (``zoo train
            --seed random`` draws a fresh seed and records it instead).
        validation_split: fraction held out for validation when the data
            has no validation split (0 = none).
        mixed_precision: ``False``; ``"bfloat16"`` (Keras' ``mixed_bfloat16``
            policy: the GPU/TPU choice, no loss scaling needed); ``"float16"``
            or ``True`` (``mixed_float16``, with Keras' automatic loss scaling).
        jit_compile: ``True``, ``False`` or ``"auto"`` (Keras' default).
        steps_per_execution: steps run per compiled call.
        distribute: one of `DISTRIBUTE`.
        doctor: run the training doctor (live checks and final report).
        tensorboard: write TensorBoard logs into the run directory
            (TensorFlow backend only).
        track_test: evaluate the test split after every epoch and log
            ``test_loss``/``test_accuracy`` in the history, for test-error
            curves like He et al. (2016), Fig. 6, and time-to-accuracy
            figures. Reporting only: a ``test_*`` metric can never be the
            ``monitor`` (no early stopping, plateau or best model on it).

    ``TrainConfig(dropout=...)`` and a ``"dropout"`` key in `from_dict` / JSON /
    YAML (as run.json files written before the rename hold) still mean
    ``dense_dropout``, with a `DeprecationWarning`.
    """

    # --- loop
    epochs: int = 10
    batch_size: int = 32
    # --- optimizer
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float | None = None
    clipnorm: float | None = None
    clipvalue: float | None = None
    # --- learning-rate schedule
    schedule: str = "none"
    step_size: int = 20
    gamma: float = 0.1
    milestones: tuple[int, ...] = ()
    decay_rate: float = 0.1
    plateau_factor: float = 0.1
    plateau_patience: int = 5
    plateau_cooldown: int = 0
    sgdr_t0: int = 10
    sgdr_t_mult: float = 2.0
    cycle_pct_start: float = 0.3
    warmup_epochs: int = 0
    min_lr: float = 0.0
    # --- early stopping
    early_stopping: bool = False
    patience: int = 10
    min_delta: float = 0.0
    restore_best_weights: bool = True
    monitor: str = "val_loss"
    # --- loss
    loss: str = "categorical_crossentropy"
    from_logits: bool = False
    sparse_labels: bool = False
    label_smoothing: float = 0.0
    robust_c: float | None = None
    # --- regularization and augmentation
    l2: float = 0.0
    l1: float = 0.0
    dense_dropout: float = 0.0
    max_norm: float | None = None
    augment: tuple[tuple[str, float], ...] = ()
    # --- execution
    seed: int | None = DEFAULT_SEED
    validation_split: float = 0.1
    mixed_precision: bool | str = False
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1
    distribute: str = "none"
    doctor: bool = True
    tensorboard: bool = False
    track_test: bool = False
    # --- deprecated spelling of dense_dropout (an init-only argument, not a field)
    dropout: dataclasses.InitVar[float | None] = None

    def __post_init__(self, dropout: float | None) -> None:
        if dropout is not None:
            _warn_dropout()
            if self.dense_dropout not in (0.0, dropout):
                raise ValueError(
                    "TrainConfig: dropout is the old name of dense_dropout; give one of them; "
                    f"received dropout={dropout!r}, dense_dropout={self.dense_dropout!r}"
                )
            object.__setattr__(self, "dense_dropout", dropout)
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = coerce(f.name, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        validate(self)

    # --------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON/YAML-ready dict; ``augment`` becomes a mapping, ``milestones`` a list."""
        out = dataclasses.asdict(self)
        out["augment"] = {name: strength for name, strength in self.augment}
        out["milestones"] = list(self.milestones)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Builds a config from a mapping, rejecting unknown keys.

        Args:
            data: field name -> value; missing fields take their defaults.

        Returns:
            A validated `TrainConfig`.

        Raises:
            ValueError: unknown keys (listing the valid ones) or bad values.
        """
        if not isinstance(data, Mapping):
            raise ValueError(
                "TrainConfig.from_dict expects a mapping of field names to "
                f"values; received {type(data).__name__}: {data!r}"
            )
        data = _renamed_keys(data)
        valid = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in data if k not in valid]
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), valid, n=1)
                if close:
                    hints.append(f"{key!r} (did you mean {close[0]!r}?)")
                else:
                    hints.append(repr(key))
            raise ValueError(
                f"Unknown TrainConfig key(s): {', '.join(hints)}. Valid keys: {', '.join(valid)}"
            )
        return cls(**dict(data))

    def to_json(self, indent: int | None = 2) -> str:
        """Returns the config as JSON text (sorted keys, stable diffs)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> TrainConfig:
        """Parses JSON text written by `to_json` (or by hand)."""
        from zoo.jsonio import parse_json

        return cls.from_dict(parse_json(text, "TrainConfig"))

    @classmethod
    def from_file(cls, path: str | os.PathLike) -> TrainConfig:
        """Loads a ``.json``, ``.yaml`` or ``.yml`` file.

        Args:
            path: file to read; an empty YAML file gives the defaults.

        Raises:
            ValueError: unsupported extension, unparsable file, bad keys/values.
            FileNotFoundError: the file does not exist.
        """
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext not in (".json", ".yaml", ".yml"):
            raise ValueError(
                f"TrainConfig.from_file reads .json, .yaml or .yml files; received {path!r}"
            )
        from zoo.errors import FileFormatError
        from zoo.jsonio import parse_json, parse_yaml, read_text

        text = read_text(path)
        if ext == ".json":
            data = parse_json(text, path)
        else:  # an empty YAML file gives the defaults
            data = parse_yaml(text, path)
            data = {} if data is None else data
        try:
            return cls.from_dict(data)
        except FileFormatError:
            raise
        except ValueError as err:
            raise FileFormatError(path, str(err)) from None

    def to_file(self, path: str | os.PathLike) -> None:
        """Writes JSON or YAML (by extension) atomically (temp file + rename)."""
        path = os.fspath(path)
        ext = os.path.splitext(path)[1].lower()
        if ext == ".json":
            text = self.to_json()
        elif ext in (".yaml", ".yml"):
            import yaml

            text = yaml.safe_dump(self.to_dict(), sort_keys=True)
        else:
            raise ValueError(f"TrainConfig.to_file writes .json/.yaml/.yml; received {path!r}")
        from zoo.saving import write_text_atomic

        write_text_atomic(path, text)

    def replace(self, **changes: Any) -> TrainConfig:
        """Returns a copy with ``changes`` applied (and validated)."""
        base = self.to_dict()
        if "dropout" in changes and "dense_dropout" not in changes:
            del base["dense_dropout"]  # the old name replaces the new one
        return self.from_dict({**base, **changes})


def as_config(config: Any = None, **overrides: Any) -> TrainConfig:
    """A `TrainConfig` from None (the defaults), a config, a dict or a JSON/YAML path.

    Args:
        config: what to read.
        **overrides: fields to change afterwards.

    Raises:
        ValueError: another type, or invalid values.
    """
    if config is None:
        config = TrainConfig()
    elif isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    elif isinstance(config, (str, os.PathLike)):
        config = TrainConfig.from_file(config)
    elif not isinstance(config, TrainConfig):
        raise ValueError(
            f"config must be a TrainConfig, dict or file path; received {type(config).__name__}."
        )
    return config.replace(**overrides) if overrides else config


#: Old key -> new field name, still read from dicts, JSON, YAML and run.json files.
RENAMED = {"dropout": "dense_dropout"}


def _warn_dropout() -> None:
    warnings.warn(
        "TrainConfig 'dropout' is renamed 'dense_dropout' (the Dropout inserted before "
        "Dense layers); the old name will be removed in a future release.",
        DeprecationWarning,
        stacklevel=4,
    )


def _renamed_keys(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with old key names (`RENAMED`) mapped to today's fields, warning once per key.

    Raises:
        ValueError: an old key and its new name both given, with different values.
    """
    out = dict(data)
    for old, new in RENAMED.items():
        if old not in out:
            continue
        _warn_dropout()
        value = out.pop(old)
        if new in out and out[new] != value:
            raise ValueError(
                f"TrainConfig: {old!r} is the old name of {new!r}; give one of them; "
                f"received {old}={value!r}, {new}={out[new]!r}"
            )
        out[new] = value
    return out
