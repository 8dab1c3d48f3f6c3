"""keras-tuner search over zoo builders and training settings.

- `tuning.space`: search spaces from ``--space NAME=SPEC`` strings or a
  YAML/JSON file (`tuning.params`, `tuning.spec`), checked against the
  model's builder options and `TrainConfig` before anything runs
  (`tuning.routing`).
- `tuning.hypermodel`: `ZooHyperModel`, mapping hyperparameters onto builder
  kwargs and `TrainConfig` fields, training through ``zoo.train``.
- `tuning.tuners`: keras-tuner's random/grid/Bayesian/Hyperband tuners with
  atomic state files, kill-safe resume and a crash ledger.
- `tuning.search`: `run_search` (in-process) and `execute`; the request is
  checked in `tuning.request`, the best model kept in `tuning.best`;
  `tuning.supervisor.supervise` restarts a crashed child (``zoo tune``).
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
    "builder_options": "routing",
    "TUNERS": "search",
    "SearchError": "request",
    "prepare": "request",
    "open_directory": "request",
    "execute": "search",
    "supervise": "supervisor",
    "parse_duration": "request",
    "collect": "report",
    "summarize": "report",
    "format_table": "report",
}

__all__ = [
    "TUNERS",
    "Param",
    "SearchError",
    "SpaceError",
    "ZooHyperModel",
    "builder_kwargs",
    "builder_options",
    "collect",
    "execute",
    "format_table",
    "load_space_file",
    "make_tuner",
    "open_directory",
    "parse_duration",
    "parse_space",
    "prepare",
    "run_search",
    "summarize",
    "supervise",
]


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
