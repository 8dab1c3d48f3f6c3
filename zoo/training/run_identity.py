"""A run's identity: what must not change for a resume to continue it.

`run_identity` is what run.json records of a run (model, builder kwargs,
config, data fingerprint, preprocessing, architecture and optimizer
signatures); `check_same_run` refuses a resume that would train something else
unless forced. Everything here is also importable from `zoo.training.runs`.
"""

from __future__ import annotations

import hashlib
import json
import warnings

from zoo.errors import ZooError
from zoo.training.config import TrainConfig
from zoo.training.results import jsonable_kwargs

__all__ = [
    "ResumeError",
    "architecture_hash",
    "check_same_run",
    "config_from_record",
    "new_record",
    "optimizer_signature",
    "run_identity",
]


class ResumeError(ZooError):
    """A resume that cannot continue the run as it was (unless forced)."""


def architecture_hash(model, *, legacy: bool = False) -> str:
    """sha256 of the model's architecture (its JSON config, weights excluded).

    The compile config is left out: it names the optimizer instance, and
    Keras numbers those per process (``adam``, ``adam_1``, ...), so a run
    resumed in the same Python process would look like another model.
    ``legacy=True`` hashes the whole JSON, as runs written before this did.
    """
    text = model.to_json(sort_keys=True)
    if not legacy:
        config = json.loads(text)
        config.pop("compile_config", None)
        text = json.dumps(config, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def optimizer_signature(optimizer) -> list:
    """The optimizer's class and variable shapes, to refuse a changed optimizer."""
    return [type(optimizer).__name__, [list(v.shape) for v in optimizer.variables]]


def run_identity(built, config: TrainConfig, bundle, data_arg: str | None) -> dict:
    """What a run is: model, builder kwargs, config, data, preprocessing, architecture, optimizer.

    Args:
        built: the run's `zoo.training.model_setup.BuiltModel`.
        config: the run's `TrainConfig`.
        bundle: the `zoo.data.DataBundle` trained on.
        data_arg: how to find the data again (`fit_data.data_argument`).

    Returns:
        The JSON-ready identity stored in run.json and compared on resume.
    """
    data = {
        "argument": data_arg,
        "source": bundle.source,
        "fingerprint": bundle.fingerprint,
        "class_names": list(bundle.class_names),
        "input_shape": list(bundle.input_shape),
    }
    return {
        "model": built.name,
        "model_kwargs": jsonable_kwargs(built.model_kwargs or {}),
        "config": config.to_dict(),
        "data": data,
        "preprocessing": built.prep.to_dict(),
        "architecture_sha256": architecture_hash(built.net),
        "optimizer": optimizer_signature(built.trainer.optimizer),
    }


def new_record(identity: dict, versions: dict, command: str | None) -> dict:
    """run.json of a new run: its identity, the versions, the command line, the time."""
    import time

    created = time.strftime("%Y-%m-%dT%H:%M:%S")
    return {**identity, "versions": versions, "command": command, "created": created}


def config_from_record(record: dict) -> TrainConfig:
    """The `TrainConfig` a run.json records (old key names read silently: the file is not the user's to fix)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return TrainConfig.from_dict(record["config"])


def check_same_run(
    record: dict, identity: dict, force: bool, *, legacy_hash: str | None = None
) -> None:
    """Refuses to resume a run whose model, architecture, optimizer, config or data changed.

    Args:
        record: the run's run.json.
        identity: `run_identity` of what would be trained now.
        force: continue anyway.
        legacy_hash: `architecture_hash(model, legacy=True)`, accepted for runs
            written when the hash still covered the compile config.

    Raises:
        ResumeError: something changed and ``force`` is False.
    """
    changes = []
    for key, label in (
        ("model", "model"),
        ("architecture_sha256", "model architecture"),
        ("optimizer", "optimizer"),
        ("config", "training config"),
    ):
        recorded = record.get(key)
        if key == "config" and recorded is not None:  # fields added since then take their defaults
            recorded = config_from_record(record).to_dict()
        if key == "architecture_sha256" and legacy_hash is not None and recorded == legacy_hash:
            continue
        if _norm(recorded) != _norm(identity.get(key)):
            changes.append(label)
    if record["data"].get("fingerprint") != identity["data"]["fingerprint"]:
        changes.append("data")
    if changes and not force:
        raise ResumeError(
            f"Cannot resume: the {', '.join(changes)} changed since the run started; pass "
            f"force=True (--force) to continue anyway."
        )


def _norm(value):
    return json.loads(json.dumps(value, sort_keys=True, default=list))
