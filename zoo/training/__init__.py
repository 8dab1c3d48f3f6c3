"""Training building blocks: config, optimizers, schedules, losses,
regularization, callbacks and the training doctor.

Names are imported lazily (PEP 562), so ``from zoo.training import
TrainConfig`` does not import Keras.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    # config (no Keras)
    "TrainConfig": "config",
    "as_config": "config",
    # the run steps of zoo.train
    "TrainingRun": "steps",
    # optimizers
    "make_optimizer": "optimizers",
    "GroupRateOptimizer": "optimizers",
    # schedules
    "EpochSchedule": "schedules",
    "Constant": "schedules",
    "StepDecay": "schedules",
    "ExponentialDecay": "schedules",
    "InverseTimeDecay": "schedules",
    "CosineDecay": "schedules",
    "CosineWarmRestarts": "schedules",
    "OneCycle": "schedules",
    "LinearWarmup": "schedules",
    "make_schedule": "schedules",
    "serialize_schedule": "schedules",
    "deserialize_schedule": "schedules",
    "tabulate_schedule": "schedules",
    "tabulate_schedules": "schedules",
    "plot_schedules": "schedules",
    "EpochLRScheduler": "schedules",
    "ResumableReduceLROnPlateau": "schedules",
    # losses
    "MulticlassHinge": "losses",
    "Cauchy": "losses",
    "Fair": "losses",
    "TukeyBiweight": "losses",
    "make_loss": "losses",
    # regularization
    "RegularizationPolicy": "regularization",
    "make_augmentation": "regularization",
    # callbacks
    "make_callbacks": "callbacks",
    "find_callback": "callbacks",
    "ResumableEarlyStopping": "callbacks",
    "get_callbacks_state": "callbacks",
    "set_callbacks_state": "callbacks",
    # doctor
    "Diagnosis": "doctor",
    "diagnose": "doctor",
    "format_report": "doctor",
    "DoctorCallback": "doctor",
}

__all__ = [
    "Cauchy",
    "Constant",
    "CosineDecay",
    "CosineWarmRestarts",
    "Diagnosis",
    "DoctorCallback",
    "EpochLRScheduler",
    "EpochSchedule",
    "ExponentialDecay",
    "Fair",
    "GroupRateOptimizer",
    "InverseTimeDecay",
    "LinearWarmup",
    "MulticlassHinge",
    "OneCycle",
    "RegularizationPolicy",
    "ResumableEarlyStopping",
    "ResumableReduceLROnPlateau",
    "StepDecay",
    "TrainConfig",
    "TrainingRun",
    "TukeyBiweight",
    "as_config",
    "deserialize_schedule",
    "diagnose",
    "find_callback",
    "format_report",
    "get_callbacks_state",
    "make_augmentation",
    "make_callbacks",
    "make_loss",
    "make_optimizer",
    "make_schedule",
    "plot_schedules",
    "serialize_schedule",
    "set_callbacks_state",
    "tabulate_schedule",
    "tabulate_schedules",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'zoo.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"zoo.training.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
