"""Tables and plots of learning-rate schedules (matplotlib imported lazily)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from zoo.training.schedule_math import EpochSchedule

__all__ = ["plot_schedules", "tabulate_schedule", "tabulate_schedules"]


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
