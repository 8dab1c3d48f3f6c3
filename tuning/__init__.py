"""keras-tuner search over zoo builders and training settings.

- `tuning.space`: search spaces from ``--space NAME=SPEC`` strings or a
  YAML/JSON file, checked against the model's builder arguments and
  `TrainConfig` before anything runs.
- `tuning.hypermodel`: `ZooHyperModel`, mapping hyperparameters onto builder
  kwargs and `TrainConfig` fields, training through ``zoo.train``.
- `tuning.tuners`: keras-tuner's random/grid/Bayesian/Hyperband tuners with
  atomic state files, kill-safe resume and a crash ledger.
- `tuning.search`: `run_search` (in-process), `supervise` (child process
  restarted on crashes, used by ``zoo tune``).
- `tuning.distributed`: keras-tuner's chief/worker mode, loopback by default.
- `tuning.report`: results table (CSV/JSON) and plots (PNG).

Importing ``tuning`` imports no Keras; names load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Param": "space",
    "SpaceError": "space",
    "parse_space": "space",
    "load_space_file": "space",
    "ZooHyperModel": "hypermodel",
    "builder_kwargs": "hypermodel",
    "make_tuner": "tuners",
    "TUNERS": "search",
    "SearchError": "search",
    "prepare": "search",
    "open_directory": "search",
    "execute": "search",
    "supervise": "search",
    "parse_duration": "search",
    "collect": "report",
    "summarize": "report",
    "format_table": "report",
}

__all__ = sorted([*_EXPORTS, "run_search"])


def __getattr__(name: str) -> Any:
    if name == "run_search":
        value = importlib.import_module("tuning.search").search
    elif name in _EXPORTS:
        value = getattr(importlib.import_module(f"tuning.{_EXPORTS[name]}"), name)
    else:
        raise AttributeError(f"module 'tuning' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
