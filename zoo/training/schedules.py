"""Epoch-based learning-rate schedules: the course formulas, as small objects.

Every schedule maps an ABSOLUTE epoch index ``t`` (0-based) to a learning rate,
``schedule(t) -> float``, and serializes with ``get_config``/``from_config``
(`serialize_schedule`/`deserialize_schedule` add the class name). Because the
value depends on ``t`` only, a run resumed at epoch ``k`` (``fit(...,
initial_epoch=k)``) continues exactly where it stopped.

| name          | formula                                                     |
| ------------- | ----------------------------------------------------------- |
| step          | a0 * gamma ** floor(t / N)                                  |
| exponential   | a0 * exp(-k t)                                              |
| inverse_time  | a0 / (1 + k t)                                              |
| cosine        | m + (a0 - m) (1 + cos(pi t / T)) / 2                        |
| sgdr          | cosine within each cycle; cycles T0, T0*Tm, T0*Tm^2, ...    |
| one_cycle     | linear a0/div -> a0 -> a0/(div*final_div)                   |
| warmup        | lr_W (t + 1) / (W + 1) for t < W, then the wrapped schedule |

`EpochLRScheduler` is the callback that applies a schedule; reduce-on-plateau
is Keras' own `ReduceLROnPlateau`, made resumable by `ResumableReduceLROnPlateau`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

__all__ = [
    "Constant",
    "CosineDecay",
    "CosineWarmRestarts",
    "EpochLRScheduler",
    "EpochSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "LinearWarmup",
    "OneCycle",
    "ResumableReduceLROnPlateau",
    "StepDecay",
    "deserialize_schedule",
    "make_schedule",
    "plot_schedules",
    "serialize_schedule",
    "tabulate_schedule",
    "tabulate_schedules",
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


def make_schedule(config: Any) -> EpochSchedule | None:
    """Builds the epoch schedule a `TrainConfig` asks for.

    Args:
        config: a `TrainConfig`.

    Returns:
        The schedule, wrapped in `LinearWarmup` when ``warmup_epochs > 0``;
        ``None`` for ``schedule="none"`` without warmup. For
        ``schedule="plateau"`` it returns ``None``, or only the warmup (over a
        constant rate) that `make_callbacks` applies during the first
        ``warmup_epochs`` before `ResumableReduceLROnPlateau` takes over.
    """
    lr, name = config.learning_rate, config.schedule
    if name in ("none", "plateau"):
        base = Constant(lr) if config.warmup_epochs else None
    elif name == "step":
        base = StepDecay(lr, config.step_size, config.gamma, config.min_lr)
    elif name == "exponential":
        base = ExponentialDecay(lr, config.decay_rate, config.min_lr)
    elif name == "inverse_time":
        base = InverseTimeDecay(lr, config.decay_rate, config.min_lr)
    elif name == "cosine":
        base = CosineDecay(lr, config.epochs, config.min_lr)
    elif name == "sgdr":
        base = CosineWarmRestarts(lr, config.sgdr_t0, config.sgdr_t_mult, config.min_lr)
    elif name == "one_cycle":
        return OneCycle(lr, max(2, config.epochs), config.cycle_pct_start)
    else:
        raise ValueError(f"Unknown schedule {name!r}")
    if base is not None and config.warmup_epochs:
        return LinearWarmup(base, config.warmup_epochs)
    return base


def tabulate_schedule(schedule: EpochSchedule, epochs: int) -> np.ndarray:
    """Returns ``[schedule(0), ..., schedule(epochs - 1)]`` as float64."""
    return np.array([schedule(t) for t in range(int(epochs))], dtype=np.float64)


def tabulate_schedules(
    schedules: Mapping[str, EpochSchedule], epochs: int
) -> dict[str, np.ndarray]:
    """Tabulates several schedules: name -> array of ``epochs`` values."""
    return {name: tabulate_schedule(s, epochs) for name, s in schedules.items()}


def plot_schedules(
    schedules: Mapping[str, EpochSchedule] | EpochSchedule,
    epochs: int,
    ax: Any = None,
    log_scale: bool = False,
) -> Any:
    """Plots schedules with matplotlib (imported lazily); returns the axes."""
    import matplotlib.pyplot as plt

    if isinstance(schedules, EpochSchedule):
        schedules = {type(schedules).__name__: schedules}
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for name, values in tabulate_schedules(schedules, epochs).items():
        ax.plot(np.arange(epochs), values, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    if log_scale:
        ax.set_yscale("log")
    ax.legend()
    return ax


# ---------------------------------------------------------------- callbacks
def _set_lr(optimizer: Any, value: float) -> None:
    optimizers: Sequence[Any] = getattr(optimizer, "optimizers", None) or [optimizer]
    for opt in optimizers:
        opt.learning_rate = value


def _get_lr(optimizer: Any) -> float:
    opt = (getattr(optimizer, "optimizers", None) or [optimizer])[0]
    return float(keras.ops.convert_to_numpy(opt.learning_rate))


class EpochLRScheduler(keras.callbacks.Callback):
    """Sets the optimizer's learning rate from an epoch schedule.

    At each epoch begin it sets ``lr = schedule(epoch)`` using the ABSOLUTE
    epoch index Keras passes (``fit(initial_epoch=k)`` starts at ``k``), so a
    resumed run continues the schedule exactly. At epoch end it writes the
    rate used into ``logs["lr"]`` (so History/CSVLogger record it).

    Args:
        schedule: an `EpochSchedule` (or any ``callable(epoch) -> float``).
        until_epoch: stop setting the rate from this epoch on (still logs
            it); used to hand over from a warmup to reduce-on-plateau.
        verbose: print the rate at each change.
    """

    def __init__(self, schedule: Any, until_epoch: int | None = None, verbose: int = 0):
        super().__init__()
        if not callable(schedule):
            raise ValueError(f"schedule must be callable(epoch); received {schedule!r}")
        self.schedule = schedule
        self.until_epoch = until_epoch
        self.verbose = verbose

    def on_epoch_begin(self, epoch, logs=None):
        if self.until_epoch is not None and epoch >= self.until_epoch:
            return
        lr = float(self.schedule(epoch))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"schedule returned lr={lr!r} at epoch {epoch}")
        _set_lr(self.model.optimizer, lr)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: learning rate {lr:.6g}")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = _get_lr(self.model.optimizer)

    def get_config(self) -> dict[str, Any]:
        sched = self.schedule
        return {
            "schedule": serialize_schedule(sched) if isinstance(sched, EpochSchedule) else None,
            "until_epoch": self.until_epoch,
        }


class ResumableCounters:
    """Mixin for Keras callbacks whose counters must survive a resume.

    Keras resets a callback's counters in ``on_train_begin``. Subclasses name
    them in ``_STATE``; `get_state` returns them as plain Python (JSON-ready),
    `set_state` stores them, and they are applied again right after Keras'
    reset, so the next ``fit(initial_epoch=k)`` behaves as if training had
    never stopped.
    """

    _STATE: tuple = ()
    _INT_STATE: tuple = ()

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._pending_state: dict[str, Any] | None = None

    def get_state(self) -> dict[str, Any]:
        """Returns the ``_STATE`` counters as plain Python numbers."""
        out = {}
        for key in self._STATE:
            value = getattr(self, key, None)
            out[key] = (
                None if value is None else (int(value) if key in self._INT_STATE else float(value))
            )
        return out

    def set_state(self, state: Mapping[str, Any]) -> None:
        """Restores `get_state` output now and again at the next ``on_train_begin``."""
        missing = [k for k in self._STATE if k not in state]
        if missing:
            raise ValueError(
                f"{type(self).__name__} state lacks {missing}; received {dict(state)!r}"
            )
        self._pending_state = {k: state[k] for k in self._STATE}
        for key, value in self._pending_state.items():
            setattr(self, key, value)

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self._pending_state is not None:
            for key, value in self._pending_state.items():
                setattr(self, key, value)
            self._pending_state = None


class ResumableReduceLROnPlateau(ResumableCounters, keras.callbacks.ReduceLROnPlateau):
    """Keras' `ReduceLROnPlateau` whose ``wait``, ``best`` and ``cooldown_counter``
    survive a resume (see `ResumableCounters`).

    The reduced learning rate itself lives in the optimizer, which the run's
    checkpoint restores. Also logs ``lr`` like `EpochLRScheduler`.
    """

    _STATE = ("wait", "best", "cooldown_counter")
    _INT_STATE = ("wait", "cooldown_counter")

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        if logs is not None:
            logs["lr"] = _get_lr(self.model.optimizer)
