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
import math
import os
import typing
from collections.abc import Mapping
from typing import Any

__all__ = [
    "AUGMENTATIONS",
    "DISTRIBUTE",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "TrainConfig",
]

OPTIMIZERS = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "adadelta",
    "rmsprop",
    "adam",
    "adamw",
)
SCHEDULES = (
    "none",
    "step",
    "exponential",
    "inverse_time",
    "plateau",
    "cosine",
    "sgdr",
    "one_cycle",
)
LOSSES = (
    "categorical_crossentropy",
    "binary_crossentropy",
    "svm_hinge",  # Weston-Watkins multiclass hinge (zoo.training.losses)
    "hinge_cs",  # Crammer-Singer, keras.losses.CategoricalHinge
    "mse",
    "mae",
    "huber",
    "cauchy",
    "fair",
    "tukey",
)
#: Augmentation name -> default strength (see `regularization.make_augmentation`).
AUGMENTATIONS = {
    "flip": 1.0,  # horizontal flip; strength is ignored
    "translate": 0.1,  # fraction of height/width
    "crop": 0.125,  # pad-and-crop by this fraction (CIFAR style)
    "rotate": 0.05,  # fraction of a full turn (0.05 = +-18 degrees)
    "zoom": 0.1,  # fraction of height/width
    "contrast": 0.2,  # contrast factor range [1 - s, 1 + s]
    "erase": 0.5,  # random erasing / Cutout: probability of erasing a rectangle
}
DISTRIBUTE = ("none", "auto", "data_parallel", "mirrored")

_CLASSIFICATION_LOSSES = ("categorical_crossentropy", "svm_hinge", "hinge_cs")


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
        gamma: ``step`` schedule: decay factor (lr * gamma^floor(t/N)).
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
        dropout: rate of the Dropout inserted before Dense layers (0 = off).
        max_norm: max-norm constraint on kernels (``None`` = off).
        augment: augmentations as ``((name, strength), ...)``; accepts a list
            of names, ``"name:strength"`` strings or a ``{name: strength}``
            mapping. Names: keys of `AUGMENTATIONS`.
        seed: global random seed (``None`` = not seeded).
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
    dropout: float = 0.0
    max_norm: float | None = None
    augment: tuple[tuple[str, float], ...] = ()
    # --- execution
    seed: int | None = None
    validation_split: float = 0.1
    mixed_precision: bool | str = False
    jit_compile: bool | str = "auto"
    steps_per_execution: int = 1
    distribute: str = "none"
    doctor: bool = True
    tensorboard: bool = False
    track_test: bool = False

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = _coerce(f.name, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
        self._validate()

    # ------------------------------------------------------------ validation
    def _validate(self) -> None:
        _at_least(self, "epochs", 1)
        _at_least(self, "batch_size", 1)
        _one_of(self, "optimizer", OPTIMIZERS)
        _positive(self, "learning_rate")
        _in_range(self, "momentum", 0.0, 1.0, hi_open=True)
        _at_least(self, "weight_decay", 0.0)
        _positive(self, "clipnorm")
        _positive(self, "clipvalue")
        if self.clipnorm is not None and self.clipvalue is not None:
            raise ValueError(
                "TrainConfig: set only one of clipnorm and clipvalue (Keras "
                f"allows one); received clipnorm={self.clipnorm!r}, "
                f"clipvalue={self.clipvalue!r}"
            )
        _one_of(self, "schedule", SCHEDULES)
        _at_least(self, "step_size", 1)
        _in_range(self, "gamma", 0.0, 1.0, lo_open=True)
        _at_least(self, "decay_rate", 0.0)
        _in_range(self, "plateau_factor", 0.0, 1.0, lo_open=True, hi_open=True)
        _at_least(self, "plateau_patience", 0)
        _at_least(self, "plateau_cooldown", 0)
        _at_least(self, "sgdr_t0", 1)
        _at_least(self, "sgdr_t_mult", 1.0)
        _in_range(self, "cycle_pct_start", 0.0, 1.0, lo_open=True, hi_open=True)
        _at_least(self, "warmup_epochs", 0)
        _at_least(self, "min_lr", 0.0)
        if self.min_lr >= self.learning_rate:
            _bad("min_lr", self.min_lr, f"be < learning_rate={self.learning_rate}")
        if self.schedule == "one_cycle" and self.warmup_epochs:
            _bad(
                "warmup_epochs",
                self.warmup_epochs,
                "be 0 with schedule='one_cycle' (one-cycle already warms up)",
            )
        if self.warmup_epochs >= self.epochs and self.warmup_epochs:
            _bad("warmup_epochs", self.warmup_epochs, f"be < epochs={self.epochs}")
        _at_least(self, "patience", 0)
        _at_least(self, "min_delta", 0.0)
        if not self.monitor:
            _bad("monitor", self.monitor, "be a metric name such as 'val_loss'")
        _one_of(self, "loss", LOSSES)
        _in_range(self, "label_smoothing", 0.0, 1.0, hi_open=True)
        if self.label_smoothing and self.loss != "categorical_crossentropy":
            _bad(
                "label_smoothing",
                self.label_smoothing,
                f"be 0 with loss={self.loss!r} (crossentropy only)",
            )
        if self.label_smoothing and self.sparse_labels:
            _bad(
                "label_smoothing",
                self.label_smoothing,
                "be 0 with sparse_labels=True (Keras' sparse crossentropy has "
                "no label smoothing; use one-hot labels)",
            )
        if self.sparse_labels and self.loss not in (
            "categorical_crossentropy",
            "svm_hinge",
        ):
            _bad(
                "sparse_labels",
                self.sparse_labels,
                f"be False with loss={self.loss!r}; sparse labels work with "
                "'categorical_crossentropy' and 'svm_hinge'",
            )
        _positive(self, "robust_c")
        _at_least(self, "l2", 0.0)
        _at_least(self, "l1", 0.0)
        _in_range(self, "dropout", 0.0, 1.0, hi_open=True)
        _positive(self, "max_norm")
        _at_least(self, "seed", 0)
        _in_range(self, "validation_split", 0.0, 1.0, hi_open=True)
        if self.mixed_precision not in (True, False, "float16", "bfloat16"):
            _bad(
                "mixed_precision",
                self.mixed_precision,
                "be False, 'bfloat16', 'float16' or True (= 'float16')",
            )
        if self.jit_compile not in (True, False, "auto"):
            _bad("jit_compile", self.jit_compile, "be True, False or 'auto'")
        _at_least(self, "steps_per_execution", 1)
        _one_of(self, "distribute", DISTRIBUTE)
        if self.monitor.startswith("test_"):
            _bad(
                "monitor",
                self.monitor,
                "not watch the test split: choosing epochs or weights on test data leaks it "
                "into training; monitor 'val_loss' or 'val_accuracy' (track_test only reports)",
            )

    # --------------------------------------------------------- serialization
    def to_dict(self) -> dict[str, Any]:
        """Returns a JSON/YAML-ready dict; ``augment`` becomes a mapping."""
        out = dataclasses.asdict(self)
        out["augment"] = {name: strength for name, strength in self.augment}
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
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"TrainConfig: invalid JSON: {err}") from err
        return cls.from_dict(data)

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
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
        if ext == ".json":
            return cls.from_json(text)
        import yaml  # lazily: only YAML users pay for it

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ValueError(f"TrainConfig: invalid YAML in {path!r}: {err}") from err
        return cls.from_dict(data or {})

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
        return self.from_dict({**self.to_dict(), **changes})


# ------------------------------------------------------------------ helpers
def _bad(name: str, value: Any, must: str) -> None:
    raise ValueError(f"TrainConfig.{name} must {must}; received {name}={value!r}")


def _coerce(name: str, hint: Any, value: Any) -> Any:
    """Checks ``value`` against the field's type hint, converting losslessly."""
    if name == "augment":
        return _normalize_augment(value)
    args = typing.get_args(hint)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        _bad(name, value, "not be None")
    kinds = [a for a in args if a is not type(None)] or [hint]
    if name in ("jit_compile", "mixed_precision"):  # bool | str, checked in _validate
        return value
    kind = kinds[0]
    if kind is bool:
        if not isinstance(value, bool):
            _bad(name, value, "be a bool (true/false)")
        return value
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            _bad(name, value, "be an integer")
        return value
    if kind is float:
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as a string
            try:
                value = float(value)
            except ValueError:
                _bad(name, value, "be a number")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            _bad(name, value, "be a number")
        value = float(value)
        if not math.isfinite(value):
            _bad(name, value, "be finite")
        return value
    if kind is str:
        if not isinstance(value, str):
            _bad(name, value, "be a string")
        return value.strip().lower() if name != "monitor" else value.strip()
    return value


def _normalize_augment(value: Any) -> tuple[tuple[str, float], ...]:
    """Accepts names, 'name:strength' strings, pairs or a mapping."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = [v for v in value.split(",") if v.strip()]
    items: list[tuple[Any, Any]] = []
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, str):
                name, _, strength = item.partition(":")
                items.append((name, strength or None))
            elif isinstance(item, (list, tuple)) and len(item) == 2:
                items.append((item[0], item[1]))
            else:
                _bad("augment", value, "hold names, 'name:strength' or pairs")
    else:
        _bad("augment", value, "be a list of names or a {name: strength} mapping")
    out: list[tuple[str, float]] = []
    for name, strength in items:
        name = str(name).strip().lower()
        if name not in AUGMENTATIONS:
            close = difflib.get_close_matches(name, list(AUGMENTATIONS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            _bad(
                "augment",
                value,
                f"use names from {sorted(AUGMENTATIONS)}; unknown {name!r}{hint}",
            )
        if strength is None:
            strength = AUGMENTATIONS[name]
        try:
            strength = float(strength)
        except (TypeError, ValueError):
            _bad("augment", value, f"give a numeric strength for {name!r}")
        if not 0.0 < strength <= 1.0 and name != "flip":
            _bad("augment", value, f"give {name!r} a strength in (0, 1]")
        if any(n == name for n, _ in out):
            _bad("augment", value, f"name {name!r} only once")
        out.append((name, strength))
    return tuple(out)


def _at_least(cfg: TrainConfig, name: str, low: float) -> None:
    value = getattr(cfg, name)
    if value is not None and value < low:
        _bad(name, value, f"be >= {low}")


def _positive(cfg: TrainConfig, name: str) -> None:
    value = getattr(cfg, name)
    if value is not None and value <= 0:
        _bad(name, value, "be > 0" + (" (or None to disable)" if name != "learning_rate" else ""))


def _in_range(
    cfg: TrainConfig,
    name: str,
    lo: float,
    hi: float,
    *,
    lo_open: bool = False,
    hi_open: bool = False,
) -> None:
    value = getattr(cfg, name)
    too_low = value <= lo if lo_open else value < lo
    too_high = value >= hi if hi_open else value > hi
    if too_low or too_high:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        _bad(name, value, f"be in {left}{lo}, {hi}{right}")


def _one_of(cfg: TrainConfig, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(cfg, name)
    if value not in choices:
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        _bad(name, value, f"be one of {', '.join(choices)}{hint}")
