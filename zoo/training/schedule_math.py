"""Epoch-based learning-rate schedules: the course formulas, as small objects (no Keras).

Every schedule maps an ABSOLUTE epoch index ``t`` (0-based) to a learning rate,
``schedule(t) -> float``, and serializes with ``get_config``/``from_config``
(`serialize_schedule`/`deserialize_schedule` add the class name). Because the
value depends on ``t`` only, a run resumed at epoch ``k`` (``fit(...,
initial_epoch=k)``) continues exactly where it stopped.

| name          | formula                                                     |
| ------------- | ----------------------------------------------------------- |
| step          | a0 * gamma ** floor(t / N)                                  |
| multistep     | a0 * gamma ** (number of milestones m_i <= t)               |
| exponential   | a0 * exp(-k t)                                              |
| inverse_time  | a0 / (1 + k t)                                              |
| cosine        | m + (a0 - m) (1 + cos(pi t / T)) / 2                        |
| sgdr          | cosine within each cycle; cycles T0, T0*Tm, T0*Tm^2, ...    |
| one_cycle     | linear a0/div -> a0 -> a0/(div*final_div)                   |
| warmup        | lr_W (t + 1) / (W + 1) for t < W, then the wrapped schedule |

`zoo.training.schedules.make_schedule` turns a `TrainConfig` into one of them and
holds the Keras callbacks that apply them; `zoo.training.schedule_plots` tabulates
and plots them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "Constant",
    "CosineDecay",
    "CosineWarmRestarts",
    "EpochSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "MultiStepDecay",
    "OneCycle",
    "StepDecay",
    "deserialize_schedule",
    "serialize_schedule",
]

_SCHEDULES: dict[str, type[EpochSchedule]] = {}


def _register(cls: type[EpochSchedule]) -> type[EpochSchedule]:
    _SCHEDULES[cls.__name__] = cls
    return cls


def _check(name: str, value: float, *, low: float, strict: bool = False) -> float:
    value = float(value)
    bad = value <= low if strict else value < low
    if bad or not math.isfinite(value):
        op = ">" if strict else ">="
        raise ValueError(f"{name} must be {op} {low}; received {name}={value!r}")
    return value


class EpochSchedule:
    """Base class: ``__call__(epoch) -> float`` plus Keras-style config."""

    def __call__(self, epoch: int) -> float:
        if epoch < 0:
            raise ValueError(f"epoch must be >= 0; received epoch={epoch!r}")
        return float(self._lr(epoch))

    def _lr(self, epoch: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Returns the constructor kwargs."""
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EpochSchedule:
        """Rebuilds the schedule from `get_config`'s output."""
        return cls(**config)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_register
class Constant(EpochSchedule):
    """A constant learning rate (useful under `LinearWarmup`)."""

    def __init__(self, initial_lr: float):
        self.initial_lr = _check("initial_lr", initial_lr, low=0, strict=True)

    def _lr(self, epoch):
        return self.initial_lr

    def get_config(self):
        return {"initial_lr": self.initial_lr}


@_register
class StepDecay(EpochSchedule):
    """Step decay: ``max(a0 * gamma ** floor(t / N), min_lr)``.

    Args:
        initial_lr: a0.
        step_size: N, epochs between decays. Defaults to 20.
        gamma: decay factor. Defaults to 0.1.
        min_lr: floor. Defaults to 0.
    """

    def __init__(
        self, initial_lr: float, step_size: int = 20, gamma: float = 0.1, min_lr: float = 0.0
    ):
        self.initial_lr = _check("initial_lr", initial_lr, low=0, strict=True)
        self.step_size = int(_check("step_size", step_size, low=1))
        self.gamma = _check("gamma", gamma, low=0, strict=True)
        self.min_lr = _check("min_lr", min_lr, low=0)

    def _lr(self, epoch):
        lr = self.initial_lr * self.gamma ** math.floor(epoch / self.step_size)
        return max(lr, self.min_lr)

    def get_config(self):
        return {
            "initial_lr": self.initial_lr,
            "step_size": self.step_size,
            "gamma": self.gamma,
            "min_lr": self.min_lr,
        }


@_register
class MultiStepDecay(EpochSchedule):
    """``max(a0 * gamma ** (milestones <= t), min_lr)`` (He et al.'s CIFAR steps); args alike."""

    def __init__(self, initial_lr: float, milestones=(), gamma: float = 0.1, min_lr: float = 0.0):
        self.initial_lr = _check("initial_lr", initial_lr, low=0, strict=True)
        self.milestones = tuple(int(_check("milestones", m, low=1)) for m in milestones)
        if list(self.milestones) != sorted(set(self.milestones)):
            raise ValueError(f"milestones must increase; received milestones={milestones!r}")
        self.gamma = _check("gamma", gamma, low=0, strict=True)
        self.min_lr = _check("min_lr", min_lr, low=0)

    def _lr(self, epoch):
        passed = sum(epoch >= m for m in self.milestones)
        return max(self.initial_lr * self.gamma**passed, self.min_lr)

    def get_config(self):
        return {**vars(self), "milestones": list(self.milestones)}


class _RateDecay(EpochSchedule):
    """Shared arguments of the decays driven by one rate ``k``: ``a0``, ``k``, floor."""

    def __init__(self, initial_lr: float, decay_rate: float, min_lr: float = 0.0):
        self.initial_lr = _check("initial_lr", initial_lr, low=0, strict=True)
        self.decay_rate = _check("decay_rate", decay_rate, low=0)
        self.min_lr = _check("min_lr", min_lr, low=0)

    def get_config(self):
        return {"initial_lr": self.initial_lr, "decay_rate": self.decay_rate, "min_lr": self.min_lr}


@_register
class ExponentialDecay(_RateDecay):
    """Exponential decay: ``max(a0 * exp(-k t), min_lr)``.

    Args:
        initial_lr: a0.
        decay_rate: k >= 0.
        min_lr: floor. Defaults to 0.
    """

    def _lr(self, epoch):
        return max(self.initial_lr * math.exp(-self.decay_rate * epoch), self.min_lr)


@_register
class InverseTimeDecay(_RateDecay):
    """1/t decay: ``max(a0 / (1 + k t), min_lr)``.

    Args:
        initial_lr: a0.
        decay_rate: k >= 0.
        min_lr: floor. Defaults to 0.
    """

    def _lr(self, epoch):
        return max(self.initial_lr / (1.0 + self.decay_rate * epoch), self.min_lr)


def _cosine(lr_max: float, lr_min: float, t: float, period: float) -> float:
    return lr_min + 0.5 * (lr_max - lr_min) * (1.0 + math.cos(math.pi * t / period))


@_register
class CosineDecay(EpochSchedule):
    """Cosine annealing over ``total_epochs``, then held at ``min_lr``.

    ``lr(t) = m + (a0 - m) * (1 + cos(pi * min(t, T) / T)) / 2``.

    Args:
        initial_lr: a0.
        total_epochs: T (>= 1).
        min_lr: m, the final learning rate. Defaults to 0.

    Reference:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017.
    """

    def __init__(self, initial_lr: float, total_epochs: int, min_lr: float = 0.0):
        self.initial_lr = _check("initial_lr", initial_lr, low=0, strict=True)
        self.total_epochs = int(_check("total_epochs", total_epochs, low=1))
        self.min_lr = _check("min_lr", min_lr, low=0)

    def _lr(self, epoch):
        t = min(epoch, self.total_epochs)
        return _cosine(self.initial_lr, self.min_lr, t, self.total_epochs)

    def get_config(self):
        return {
            "initial_lr": self.initial_lr,
            "total_epochs": self.total_epochs,
            "min_lr": self.min_lr,
        }


@_register
class CosineWarmRestarts(EpochSchedule):
    """SGDR: cosine annealing with warm restarts.

    ``lr(t) = eta_min + (eta_max - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2``
    where cycle ``i`` lasts ``T_i = T0 * T_mult ** i`` epochs and ``T_cur`` is
    the number of epochs since the last restart.

    Args:
        initial_lr: eta_max.
        t0: length of the first cycle in epochs. Defaults to 10.
        t_mult: cycle length multiplier (>= 1). Defaults to 2.
        min_lr: eta_min. Defaults to 0.

    Reference:
        Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm
        Restarts", ICLR 2017.
    """

    def __init__(self, initial_lr: float, t0: int = 10, t_mult: float = 2.0, min_lr: float = 0.0):
        self.initial_lr = _check("initial_lr", initial_lr, low=0, strict=True)
        self.t0 = int(_check("t0", t0, low=1))
        self.t_mult = _check("t_mult", t_mult, low=1)
        self.min_lr = _check("min_lr", min_lr, low=0)

    def cycle(self, epoch: float) -> tuple[int, float, float]:
        """Returns ``(cycle index i, T_cur, T_i)`` for ``epoch``."""
        t_i, t_cur, i = float(self.t0), float(epoch), 0
        while t_cur >= t_i:  # at most log_{T_mult}(t) rounds (t rounds if 1)
            t_cur -= t_i
            t_i *= self.t_mult
            i += 1
        return i, t_cur, t_i

    def _lr(self, epoch):
        _, t_cur, t_i = self.cycle(epoch)
        return _cosine(self.initial_lr, self.min_lr, t_cur, t_i)

    def get_config(self):
        return {
            "initial_lr": self.initial_lr,
            "t0": self.t0,
            "t_mult": self.t_mult,
            "min_lr": self.min_lr,
        }


@_register
class OneCycle(EpochSchedule):
    """Smith's one-cycle policy, piecewise linear per epoch.

    Rises linearly from ``max_lr / div_factor`` at epoch 0 to ``max_lr`` at
    epoch ``u = round(pct_start * (T - 1))``, then falls linearly to
    ``max_lr / (div_factor * final_div_factor)`` at epoch ``T - 1`` and stays
    there. (Momentum cycling is not done here.)

    Args:
        max_lr: peak learning rate.
        total_epochs: T (>= 2).
        pct_start: fraction of the cycle spent rising. Defaults to 0.3.
        div_factor: initial lr = max_lr / div_factor. Defaults to 25.
        final_div_factor: final lr = initial lr / final_div_factor.
            Defaults to 1e4.

    Reference:
        Smith & Topin, "Super-Convergence: Very Fast Training of Neural
        Networks Using Large Learning Rates", 2017 (arXiv:1708.07120); Smith,
        "A disciplined approach to neural network hyper-parameters", 2018.
    """

    def __init__(
        self,
        max_lr: float,
        total_epochs: int,
        pct_start: float = 0.3,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
    ):
        self.max_lr = _check("max_lr", max_lr, low=0, strict=True)
        self.total_epochs = int(_check("total_epochs", total_epochs, low=2))
        self.pct_start = _check("pct_start", pct_start, low=0, strict=True)
        if self.pct_start >= 1:
            raise ValueError(f"pct_start must be < 1; received pct_start={pct_start!r}")
        self.div_factor = _check("div_factor", div_factor, low=1)
        self.final_div_factor = _check("final_div_factor", final_div_factor, low=1)

    @property
    def peak_epoch(self) -> int:
        """Epoch at which the learning rate is ``max_lr`` (at least 1)."""
        last = self.total_epochs - 1
        return max(1, min(last, round(self.pct_start * last)))

    def _lr(self, epoch):
        start = self.max_lr / self.div_factor
        end = start / self.final_div_factor
        up, last = self.peak_epoch, self.total_epochs - 1
        if epoch <= up:
            return start + (self.max_lr - start) * epoch / up
        if epoch >= last:
            return end
        return self.max_lr + (end - self.max_lr) * (epoch - up) / (last - up)

    def get_config(self):
        return {
            "max_lr": self.max_lr,
            "total_epochs": self.total_epochs,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
        }


@_register
class LinearWarmup(EpochSchedule):
    """Linear warmup in front of any schedule (absolute epochs, no shift).

    ``lr(t) = schedule(W) * (t + 1) / (W + 1)`` for ``t < W``, then
    ``schedule(t)``; continuous at ``t = W``, and epoch 0 already trains.
    The wrapped schedule keeps its absolute epochs (a step at epoch 30 stays
    at epoch 30), as in Goyal et al.

    Args:
        schedule: the schedule that follows the warmup.
        warmup_epochs: W (>= 0; 0 = no warmup).

    Reference:
        Goyal et al., "Accurate, Large Minibatch SGD: Training ImageNet in 1
        Hour", 2017 (arXiv:1706.02677).
    """

    def __init__(self, schedule: EpochSchedule | Mapping[str, Any], warmup_epochs: int):
        if isinstance(schedule, Mapping):
            schedule = deserialize_schedule(schedule)
        if not isinstance(schedule, EpochSchedule):
            raise ValueError(f"LinearWarmup wraps an EpochSchedule; received schedule={schedule!r}")
        self.schedule = schedule
        self.warmup_epochs = int(_check("warmup_epochs", warmup_epochs, low=0))

    def _lr(self, epoch):
        w = self.warmup_epochs
        if epoch < w:
            return self.schedule(w) * (epoch + 1) / (w + 1)
        return self.schedule(epoch)

    def get_config(self):
        return {"schedule": serialize_schedule(self.schedule), "warmup_epochs": self.warmup_epochs}


def serialize_schedule(schedule: EpochSchedule) -> dict[str, Any]:
    """Returns ``{"class_name": ..., "config": ...}`` (JSON-ready)."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize_schedule(data: Mapping[str, Any]) -> EpochSchedule:
    """Inverse of `serialize_schedule`.

    Raises:
        ValueError: unknown class name (lists the known ones).
    """
    name = data.get("class_name") if isinstance(data, Mapping) else None
    if name not in _SCHEDULES:
        raise ValueError(
            f"Unknown schedule {name!r}; known: {', '.join(sorted(_SCHEDULES))}. Received {data!r}"
        )
    return _SCHEDULES[name].from_config(dict(data.get("config", {})))
