"""The training doctor's rules: the course's tuning heuristics, as checks on a history.

`diagnose(history)` reads a Keras-style history (``{"loss": [...],
"val_loss": [...], "accuracy": [...], ...}``, one value per epoch) and returns
`Diagnosis` objects, most severe first; `format_report` writes them as text.
The live callback that runs them during training is `zoo.training.doctor.DoctorCallback`.

Every threshold is a named module constant below; they are rules of thumb,
not statistics, so each diagnosis says what was measured.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "EXPLOSION_FACTOR",
    "INIT_LOSS_TOLERANCE",
    "LEAK_ERROR_GAP",
    "LEAK_LOSS_RATIO",
    "LINEAR_HALF_RATIO",
    "LINEAR_R2",
    "MIN_EPOCHS_TREND",
    "OVERFIT_ERROR_GAP",
    "OVERFIT_LOSS_RATIO",
    "OVERFIT_VAL_RISE",
    "PLATEAU_EPOCHS",
    "PLATEAU_REL_IMPROVEMENT",
    "RISE_TOLERANCE",
    "SLOW_EPOCH_DECREASE",
    "UNDERFIT_ERROR",
    "UNDERFIT_LOSS_FRACTION",
    "Diagnosis",
    "diagnose",
    "format_report",
]

# ---------------------------------------------------------------- thresholds
#: Loss above this multiple of the first epoch's loss = exploding.
EXPLOSION_FACTOR = 3.0
#: Final loss above (1 + this) x the first epoch's loss = diverging.
RISE_TOLERANCE = 0.05
#: "Slow": mean relative decrease per epoch below this (2%/epoch).
SLOW_EPOCH_DECREASE = 0.02
#: "Almost linear": R^2 of a straight-line fit to the loss at least this.
LINEAR_R2 = 0.97
#: "Not flattening": second-half decrease >= this fraction of the first half's
#: (a healthy curve drops fast, then flattens: this ratio is well below 1).
LINEAR_HALF_RATIO = 0.6
#: Epochs needed before trend-based checks (slow LR, plateau) are made.
MIN_EPOCHS_TREND = 5
#: Final training error (1 - accuracy) above this = underfitting.
UNDERFIT_ERROR = 0.2
#: Without accuracy: final training loss above this fraction of ln(C).
UNDERFIT_LOSS_FRACTION = 0.5
#: Validation error minus training error above this = overfitting.
OVERFIT_ERROR_GAP = 0.1
#: Without accuracy: val_loss / loss above this at the end ...
OVERFIT_LOSS_RATIO = 1.5
#: ... and val_loss risen this fraction above its minimum = overfitting.
OVERFIT_VAL_RISE = 0.1
#: Training error minus validation error above this = suspicious split.
LEAK_ERROR_GAP = 0.1
#: Training loss / val_loss above this = suspicious split.
LEAK_LOSS_RATIO = 1.5
#: Plateau: no relative improvement above PLATEAU_REL_IMPROVEMENT over the
#: last PLATEAU_EPOCHS epochs.
PLATEAU_EPOCHS = 5
PLATEAU_REL_IMPROVEMENT = 0.01
#: Initial loss farther than this fraction from ln(C) = bad init or labels.
INIT_LOSS_TOLERANCE = 0.5

_SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
_ACCURACY_KEYS = (
    "accuracy",
    "acc",
    "categorical_accuracy",
    "sparse_categorical_accuracy",
    "binary_accuracy",
)


@dataclasses.dataclass(frozen=True)
class Diagnosis:
    """One finding of the doctor.

    Attributes:
        code: stable identifier, e.g. ``"overfitting"``.
        severity: ``"error"``, ``"warning"`` or ``"info"``.
        message: what was measured.
        advice: what to change.
    """

    code: str
    severity: str
    message: str
    advice: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


def _series(history: Mapping[str, Sequence[float]], key: str) -> np.ndarray | None:
    values = history.get(key)
    if values is None or len(values) == 0:
        return None
    return np.asarray([float(v) for v in values], dtype=np.float64)


def _accuracy_key(history: Mapping[str, Any]) -> str | None:
    for key in _ACCURACY_KEYS:
        if key in history and f"val_{key}" in history:
            return key
    for key in _ACCURACY_KEYS:
        if key in history:
            return key
    return None


def diagnose(
    history: Mapping[str, Sequence[float]],
    num_classes: int | None = None,
    *,
    learning_rate: float | None = None,
    uniform_start: bool = True,
) -> list[Diagnosis]:
    """Applies the tuning heuristics to a training history.

    Args:
        history: metric name -> per-epoch values (``History.history``).
            Uses ``loss``, ``val_loss``, an accuracy key (``accuracy``,
            ``categorical_accuracy``, ...) and its ``val_`` twin when present,
            and ``initial_loss`` (the loss before any update, recorded by
            `DoctorCallback`) when present.
        num_classes: number of classes of a softmax-crossentropy classifier;
            enables the ln(C) initial-loss check and the loss-based underfit
            check. Leave ``None`` for other losses.
        learning_rate: the learning rate used, to make advice concrete.
        uniform_start: the classifier starts near uniform predictions (a
            zero-centred last layer), so its initial loss should be near
            ln(C). False skips that check (e.g. LeNet-5 of 1998's RBF
            outputs, distances to fixed codes: not uniform by construction).

    Returns:
        Diagnoses sorted by severity (error, warning, info); empty when the
        history looks healthy.

    Raises:
        ValueError: ``history`` has no ``loss`` values.
    """
    loss = _series(history, "loss")
    if loss is None:
        raise ValueError(
            f"diagnose needs history['loss']; available keys: {sorted(history) or 'none'}"
        )
    val_loss = _series(history, "val_loss")
    lr_text = f" (now {learning_rate:g})" if learning_rate else ""
    found: list[Diagnosis] = []

    diverged = _check_divergence(loss, val_loss, lr_text, learning_rate)
    found.extend(diverged)
    if not diverged:
        found.extend(_check_slow(loss, lr_text))
        found.extend(_check_fit(history, loss, val_loss, num_classes))
        found.extend(_check_plateau(loss, val_loss))
    if uniform_start:
        found.extend(_check_initial_loss(history, loss, num_classes))
    found.sort(key=lambda d: _SEVERITY_ORDER.get(d.severity, 3))
    return found


def _check_divergence(loss, val_loss, lr_text, learning_rate) -> list[Diagnosis]:
    new_lr = f" (e.g. {learning_rate / 10:g})" if learning_rate else ""
    for name, series in (("loss", loss), ("val_loss", val_loss)):
        if series is None:
            continue
        bad = np.flatnonzero(~np.isfinite(series))
        if bad.size:
            return [
                Diagnosis(
                    "nan_loss",
                    "error",
                    f"{name} became {series[bad[0]]} at epoch {bad[0] + 1}.",
                    f"The learning rate{lr_text} is probably too high: divide it by 10"
                    f"{new_lr}. Also check inputs for NaN/Inf and add gradient "
                    "clipping (clipnorm) if it persists.",
                )
            ]
    first = loss[0]
    peak = int(np.argmax(loss))
    if len(loss) >= 2 and (
        loss[peak] > EXPLOSION_FACTOR * first or loss[-1] > (1 + RISE_TOLERANCE) * first
    ):
        what = (
            f"rose to {loss[peak]:.4g} (x{loss[peak] / first:.1f}) at epoch {peak + 1}"
            if loss[peak] > EXPLOSION_FACTOR * first
            else f"ended at {loss[-1]:.4g}, above its first value {first:.4g}"
        )
        return [
            Diagnosis(
                "exploding_loss",
                "error",
                f"Training loss {what}.",
                f"The learning rate{lr_text} is too high: divide it by 10{new_lr}, or "
                "add warmup / gradient clipping.",
            )
        ]
    return []


def _check_slow(loss, lr_text) -> list[Diagnosis]:
    n = len(loss)
    if n < MIN_EPOCHS_TREND or loss[0] <= 0:
        return []
    steps = np.diff(loss)
    if np.any(steps >= 0):  # not monotonically falling
        return []
    per_epoch = (loss[0] - loss[-1]) / loss[0] / (n - 1)
    t = np.arange(n, dtype=np.float64)
    slope, intercept = np.polyfit(t, loss, 1)
    residual = loss - (slope * t + intercept)
    total = np.sum((loss - loss.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / total if total > 0 else 0.0
    half = n // 2
    first_drop, second_drop = loss[0] - loss[half], loss[half] - loss[-1]
    not_flattening = first_drop > 0 and second_drop >= LINEAR_HALF_RATIO * first_drop
    if per_epoch < SLOW_EPOCH_DECREASE and r2 >= LINEAR_R2 and not_flattening:
        return [
            Diagnosis(
                "lr_too_low",
                "warning",
                f"Loss falls slowly ({per_epoch:.1%} per epoch) and almost linearly "
                f"(R^2={r2:.3f}); it is not flattening out.",
                f"The learning rate{lr_text} is probably too low: raise it 2-5x "
                "(or run an LR range test).",
            )
        ]
    return []


def _check_fit(history, loss, val_loss, num_classes) -> list[Diagnosis]:
    found = []
    acc_key = _accuracy_key(history)
    train_err = val_err = None
    if acc_key is not None:
        train_err = 1.0 - _series(history, acc_key)[-1]
        val_acc = _series(history, f"val_{acc_key}")
        val_err = None if val_acc is None else 1.0 - val_acc[-1]

    # underfitting: training error itself is high
    if train_err is not None and train_err > UNDERFIT_ERROR:
        found.append(_underfit(f"Training error is {train_err:.1%} (> {UNDERFIT_ERROR:.0%})."))
    elif train_err is None and num_classes and num_classes >= 2:
        chance = math.log(num_classes)
        if loss[-1] > UNDERFIT_LOSS_FRACTION * chance:
            found.append(
                _underfit(
                    f"Final training loss {loss[-1]:.4g} is above "
                    f"{UNDERFIT_LOSS_FRACTION:g} x ln({num_classes}) = "
                    f"{UNDERFIT_LOSS_FRACTION * chance:.4g}."
                )
            )

    # train/validation gap, both directions
    if train_err is not None and val_err is not None:
        gap = val_err - train_err
        if gap > OVERFIT_ERROR_GAP:
            found.append(
                _overfit(
                    f"Validation error {val_err:.1%} is {gap:.1%} above "
                    f"training error {train_err:.1%}."
                )
            )
        elif -gap > LEAK_ERROR_GAP:
            found.append(
                _leak(
                    f"Training error {train_err:.1%} is {-gap:.1%} above "
                    f"validation error {val_err:.1%}."
                )
            )
    elif val_loss is not None and loss[-1] > 0 and val_loss[-1] > 0:
        ratio = val_loss[-1] / loss[-1]
        risen = val_loss[-1] > (1 + OVERFIT_VAL_RISE) * val_loss.min()
        if ratio > OVERFIT_LOSS_RATIO and risen:
            found.append(
                _overfit(
                    f"val_loss {val_loss[-1]:.4g} is {ratio:.1f}x the training loss and has "
                    f"risen {val_loss[-1] / val_loss.min() - 1:.0%} from its minimum "
                    f"(epoch {int(np.argmin(val_loss)) + 1})."
                )
            )
        elif 1 / ratio > LEAK_LOSS_RATIO:
            found.append(
                _leak(
                    f"Training loss {loss[-1]:.4g} is {1 / ratio:.1f}x val_loss {val_loss[-1]:.4g}."
                )
            )
    return found


def _underfit(message: str) -> Diagnosis:
    return Diagnosis(
        "underfitting",
        "warning",
        message,
        "The model underfits (high bias): train longer, use a bigger model "
        "(more layers/units), or reduce regularization (l2, dropout, augmentation).",
    )


def _overfit(message: str) -> Diagnosis:
    return Diagnosis(
        "overfitting",
        "warning",
        message,
        "The model overfits (high variance): add regularization (l2, dropout), "
        "more data or augmentation, and use early stopping with "
        "restore_best_weights.",
    )


def _leak(message: str) -> Diagnosis:
    return Diagnosis(
        "suspicious_split",
        "warning",
        message,
        "Validation is much easier than training: check for leakage or duplicates "
        "between the splits, a too-small or unrepresentative validation set, or "
        "very strong train-only regularization (dropout/augmentation).",
    )


def _check_plateau(loss, val_loss) -> list[Diagnosis]:
    name, series = ("val_loss", val_loss) if val_loss is not None else ("loss", loss)
    if len(series) < max(MIN_EPOCHS_TREND, PLATEAU_EPOCHS) + 1:
        return []
    before = series[:-PLATEAU_EPOCHS].min()
    recent = series[-PLATEAU_EPOCHS:].min()
    if before <= 0:
        return []
    improvement = (before - recent) / before
    if improvement < PLATEAU_REL_IMPROVEMENT:
        return [
            Diagnosis(
                "plateau",
                "info",
                f"{name} improved {max(improvement, 0):.2%} over the last "
                f"{PLATEAU_EPOCHS} epochs (< {PLATEAU_REL_IMPROVEMENT:.0%}).",
                "Training has plateaued: lower the learning rate (schedule='plateau' "
                "or a decay schedule), or stop (early_stopping=True).",
            )
        ]
    return []


def _check_initial_loss(history, loss, num_classes) -> list[Diagnosis]:
    if not num_classes or num_classes < 2:
        return []
    expected = math.log(num_classes)
    initial = _series(history, "initial_loss")
    exact = initial is not None and math.isfinite(initial[0])
    value = initial[0] if exact else loss[0]
    if not math.isfinite(value):
        return []
    too_high = value > (1 + INIT_LOSS_TOLERANCE) * expected
    too_low = exact and value < (1 - INIT_LOSS_TOLERANCE) * expected
    if too_high or too_low:
        which = "initial loss" if exact else "first-epoch loss"
        return [
            Diagnosis(
                "bad_initial_loss",
                "warning",
                f"The {which} is {value:.4g}; a softmax classifier over {num_classes} "
                f"classes should start near ln({num_classes}) = {expected:.4g}.",
                "Check the labels (one-hot vs sparse, class count, from_logits) and "
                "the initialization (too-large initial weights or a last layer that "
                "is not zero-centred give overconfident starts).",
            )
        ]
    return []


def format_report(diagnoses: Sequence[Diagnosis]) -> str:
    """Formats diagnoses as plain text, one block per finding."""
    if not diagnoses:
        return "Training doctor: no problems found.\n"
    lines = [f"Training doctor: {len(diagnoses)} finding(s)."]
    for d in diagnoses:
        lines.append(f"[{d.severity.upper()}] {d.code}: {d.message}")
        lines.append(f"    advice: {d.advice}")
    return "\n".join(lines) + "\n"
