"""Validation of `TrainConfig` values: types coerced losslessly, ranges and combinations checked.

Every check raises a `ValueError` that names the field and the value received.
The choices a field may take (`SCHEDULES`, `LOSSES`, `AUGMENTATIONS`,
`DISTRIBUTE`) are defined here and re-exported by `zoo.training.config`.
This module imports no Keras.
"""

from __future__ import annotations

import difflib
import math
import typing
from collections.abc import Mapping
from typing import Any

from zoo.constants import OPTIMIZERS

__all__ = [
    "AUGMENTATIONS",
    "DISTRIBUTE",
    "LOSSES",
    "MONITORS",
    "OPTIMIZERS",
    "SCHEDULES",
    "coerce",
    "validate",
]

#: The metrics ``zoo.train`` reports per epoch, so the only values of ``monitor``
#: (``val_*`` falls back to its training twin when the data has no validation split).
MONITORS = ("val_loss", "val_accuracy", "loss", "accuracy")
#: Seeds are 32-bit unsigned (NumPy's and the backends' generators).
MAX_SEED = 2**32 - 1

SCHEDULES = (
    "none",
    "step",
    "multistep",
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


def validate(cfg: Any) -> None:
    """Checks every field of a `TrainConfig` and the combinations between them.

    Raises:
        ValueError: naming the first field found invalid and its value.
    """
    _check_optimizer(cfg)
    _check_schedule(cfg)
    _check_stopping_and_loss(cfg)
    _check_regularization_and_execution(cfg)


def _check_optimizer(cfg: Any) -> None:
    _at_least(cfg, "epochs", 1)
    _at_least(cfg, "batch_size", 1)
    _one_of(cfg, "optimizer", OPTIMIZERS)
    _positive(cfg, "learning_rate")
    _in_range(cfg, "momentum", 0.0, 1.0, hi_open=True)
    _at_least(cfg, "weight_decay", 0.0)
    _positive(cfg, "clipnorm")
    _positive(cfg, "clipvalue")
    if cfg.clipnorm is not None and cfg.clipvalue is not None:
        raise ValueError(
            "TrainConfig: set only one of clipnorm and clipvalue (Keras "
            f"allows one); received clipnorm={cfg.clipnorm!r}, "
            f"clipvalue={cfg.clipvalue!r}"
        )


def _check_schedule(cfg: Any) -> None:
    _one_of(cfg, "schedule", SCHEDULES)
    _at_least(cfg, "step_size", 1)
    _in_range(cfg, "gamma", 0.0, 1.0, lo_open=True)
    _at_least(cfg, "decay_rate", 0.0)
    _in_range(cfg, "plateau_factor", 0.0, 1.0, lo_open=True, hi_open=True)
    _at_least(cfg, "plateau_patience", 0)
    _at_least(cfg, "plateau_cooldown", 0)
    _at_least(cfg, "sgdr_t0", 1)
    _at_least(cfg, "sgdr_t_mult", 1.0)
    _in_range(cfg, "cycle_pct_start", 0.0, 1.0, lo_open=True, hi_open=True)
    _at_least(cfg, "warmup_epochs", 0)
    _at_least(cfg, "min_lr", 0.0)
    if cfg.min_lr >= cfg.learning_rate:
        _bad("min_lr", cfg.min_lr, f"be < learning_rate={cfg.learning_rate}")
    if cfg.schedule == "one_cycle" and cfg.warmup_epochs:
        _bad(
            "warmup_epochs",
            cfg.warmup_epochs,
            "be 0 with schedule='one_cycle' (one-cycle already warms up)",
        )
    if cfg.warmup_epochs >= cfg.epochs and cfg.warmup_epochs:
        _bad("warmup_epochs", cfg.warmup_epochs, f"be < epochs={cfg.epochs}")


def _check_stopping_and_loss(cfg: Any) -> None:
    _at_least(cfg, "patience", 0)
    _at_least(cfg, "min_delta", 0.0)
    if not cfg.monitor:
        _bad("monitor", cfg.monitor, "be a metric name such as 'val_loss'")
    if cfg.monitor.startswith("test_"):
        _bad(
            "monitor",
            cfg.monitor,
            "not watch the test split: choosing epochs or weights on test data leaks it "
            "into training; monitor 'val_loss' or 'val_accuracy' (track_test only reports)",
        )
    if cfg.monitor not in MONITORS:
        _bad(
            "monitor", cfg.monitor, f"be one of the metrics training reports: {', '.join(MONITORS)}"
        )
    _one_of(cfg, "loss", LOSSES)
    _in_range(cfg, "label_smoothing", 0.0, 1.0, hi_open=True)
    if cfg.label_smoothing and cfg.loss != "categorical_crossentropy":
        _bad(
            "label_smoothing",
            cfg.label_smoothing,
            f"be 0 with loss={cfg.loss!r} (crossentropy only)",
        )
    if cfg.label_smoothing and cfg.sparse_labels:
        _bad(
            "label_smoothing",
            cfg.label_smoothing,
            "be 0 with sparse_labels=True (Keras' sparse crossentropy has "
            "no label smoothing; use one-hot labels)",
        )
    if cfg.sparse_labels and cfg.loss not in ("categorical_crossentropy", "svm_hinge"):
        _bad(
            "sparse_labels",
            cfg.sparse_labels,
            f"be False with loss={cfg.loss!r}; sparse labels work with "
            "'categorical_crossentropy' and 'svm_hinge'",
        )
    _positive(cfg, "robust_c")


def _check_regularization_and_execution(cfg: Any) -> None:
    _at_least(cfg, "l2", 0.0)
    _at_least(cfg, "l1", 0.0)
    _in_range(cfg, "dense_dropout", 0.0, 1.0, hi_open=True)
    _positive(cfg, "max_norm")
    if cfg.seed is not None:
        _in_range(cfg, "seed", 0, MAX_SEED)
    _in_range(cfg, "validation_split", 0.0, 1.0, hi_open=True)
    if cfg.mixed_precision not in (True, False, "float16", "bfloat16"):
        _bad(
            "mixed_precision",
            cfg.mixed_precision,
            "be False, 'bfloat16', 'float16' or True (= 'float16')",
        )
    if cfg.jit_compile not in (True, False, "auto"):
        _bad("jit_compile", cfg.jit_compile, "be True, False or 'auto'")
    _at_least(cfg, "steps_per_execution", 1)
    _one_of(cfg, "distribute", DISTRIBUTE)


def _normalize_milestones(value: Any) -> tuple[int, ...]:
    """Epochs of a ``multistep`` decay: a list, tuple or ``"91,136"`` string -> increasing ints."""
    items = value.replace(",", " ").split() if isinstance(value, str) else value
    if isinstance(items, (int, float)) and not isinstance(items, bool):
        items = [items]
    try:
        out = tuple(int(v) for v in items if not isinstance(v, bool) and float(v) == int(v))
    except (TypeError, ValueError):
        out = ()
    if len(out) != len(list(items)) or any(m < 1 for m in out) or list(out) != sorted(set(out)):
        _bad("milestones", value, "be increasing whole epochs >= 1, e.g. [91, 136]")
    return out


def _bad(name: str, value: Any, must: str) -> None:
    raise ValueError(f"TrainConfig.{name} must {must}; received {name}={value!r}")


def coerce(name: str, hint: Any, value: Any) -> Any:
    """Checks ``value`` against the field's type hint, converting losslessly."""
    if name == "augment":
        return _normalize_augment(value)
    if name == "milestones":
        return _normalize_milestones(value)
    args = typing.get_args(hint)
    optional = type(None) in args
    if value is None:
        if optional:
            return None
        _bad(name, value, "not be None")
    kinds = [a for a in args if a is not type(None)] or [hint]
    if name in ("jit_compile", "mixed_precision"):  # bool | str, checked in validate
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


def _at_least(cfg: Any, name: str, low: float) -> None:
    value = getattr(cfg, name)
    if value is not None and value < low:
        _bad(name, value, f"be >= {low}")


def _positive(cfg: Any, name: str) -> None:
    value = getattr(cfg, name)
    if value is not None and value <= 0:
        _bad(name, value, "be > 0" + (" (or None to disable)" if name != "learning_rate" else ""))


def _in_range(
    cfg: Any,
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


def _one_of(cfg: Any, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(cfg, name)
    if value not in choices:
        close = difflib.get_close_matches(value, choices, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        _bad(name, value, f"be one of {', '.join(choices)}{hint}")
