"""The few values and helpers that several parts of the zoo share, defined once.

This module imports no Keras (and NumPy only when it meets a NumPy value), so the
registry, the CLI and the tuner can all use it without slowing ``--help``.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "DEFAULT_SEED",
    "OPTIMIZERS",
    "TUNERS",
    "json_default",
    "json_ready",
]

#: Seed of every split, shuffle and initialization when the user gives none.
DEFAULT_SEED = 1337

#: Optimizer names of ``TrainConfig.optimizer``. ``"momentum"`` is SGD with momentum,
#: ``"nesterov"`` SGD with Nesterov momentum.
OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "adamw")

#: keras-tuner search algorithms the tuner offers.
TUNERS = ("random", "grid", "bayesian", "hyperband")


def json_default(obj: Any) -> Any:
    """``json.dumps(default=...)`` for the zoo's values: NumPy scalars and arrays,
    tuples and sets (as lists), and objects with ``to_dict()``.

    Raises:
        TypeError: for anything else, naming its type.
    """
    if isinstance(obj, (tuple, set, frozenset)):
        return list(obj)
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    if type(obj).__module__ == "numpy":
        import numpy as np

        if isinstance(obj, (np.floating, np.integer, np.bool_)):
            return obj.item()
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def json_ready(obj: Any) -> Any:
    """``obj`` as plain JSON types (dicts, lists, str, int, float, bool, None)."""
    return json.loads(json.dumps(obj, default=json_default))
