"""What a training run returns, and how it is published.

`TrainResult` is ``zoo.train``'s answer; `publish_result` writes it to
``saved_models/<name>`` with its manifest (imported where used, so training
itself does not load the publisher).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zoo.constants import DEFAULT_SEED
from zoo.training.config import TrainConfig
from zoo.training.execution import machine, versions
from zoo.training.preprocess import Preprocessing

__all__ = ["TrainResult", "jsonable_kwargs", "publish_result"]


@dataclasses.dataclass
class TrainResult:
    """What ``train`` returns.

    Attributes:
        model: the trained model (best weights restored when early stopping
            asks for it).
        history: metrics per epoch, the whole run (resumed epochs included).
        metrics: test-split metrics (``test_loss``, ``test_accuracy``) when
            the data has a test split.
        run_dir: the run directory, or None.
        class_names: class names in label order.
        preprocessing: the ``Preprocessing`` the model expects.
        config: the ``TrainConfig`` used.
        diagnoses: the training doctor's findings.
        status: ``"completed"``, ``"early_stopped"`` or ``"diverged"``.
        epochs: epochs completed.
        model_name: registered name, when built from the registry.
        model_kwargs: builder kwargs used.
        data_source: description of the data.
        seconds: wall time of this call's training.
        command: the command line that started the run.
        data_splits: examples per split.
        sessions: per training session of the run (a resumed run has
            several): machine, backend, epochs trained and their seconds
            (`runs.session_summary`).
    """

    model: Any
    history: dict
    metrics: dict
    run_dir: str | None
    class_names: tuple
    preprocessing: Preprocessing
    config: TrainConfig
    diagnoses: list
    status: str
    epochs: int
    model_name: str | None = None
    model_kwargs: dict = dataclasses.field(default_factory=dict)
    data_source: str = ""
    seconds: float = 0.0
    command: str | None = None
    data_splits: dict = dataclasses.field(default_factory=dict)
    sessions: list = dataclasses.field(default_factory=list)

    @property
    def report(self) -> str:
        from zoo.training.doctor import format_report

        return format_report(self.diagnoses)


def publish_result(
    result: TrainResult,
    name: str,
    *,
    overwrite: bool = False,
    command: str | None = None,
    extra: dict | None = None,
    root=None,
):
    """Publishes a trained result to ``saved_models/<name>`` with its manifest.

    Args:
        result: what `zoo.train` returned.
        name: the published name.
        overwrite: replace an existing published ``name``.
        command: the command line to record (default: the run's).
        extra: fields added to the manifest (e.g. fine-tuning's backbone).
        root: the saved-models folder (default: the zoo's).

    Returns:
        What `zoo.pretrained.publish` returns (the published folder).
    """
    from zoo.pretrained import publish  # here, not at module level: training does not need it

    manifest = {
        "architecture": result.model_name,
        "model_kwargs": jsonable_kwargs(result.model_kwargs),
        "data": result.data_source,
        "data_splits": result.data_splits,
        "split_seed": DEFAULT_SEED if result.config.seed is None else result.config.seed,
        "class_names": list(result.class_names),
        "preprocessing": result.preprocessing.to_dict(),
        "metrics": result.metrics,
        "train_config": result.config.to_dict(),
        "epochs": result.epochs,
        "train_seconds": round(
            sum(v for v in result.history.get("epoch_time", []) if v) or result.seconds, 1
        ),
        "machine": machine(),
        "run_dir": result.run_dir,
        "sessions": result.sessions,
        "versions": versions(),
    }
    if command or result.command:
        manifest["command"] = command or result.command
    manifest.update(extra or {})
    return publish(result.model, name, manifest, overwrite=overwrite, root=root)


def jsonable_kwargs(kwargs: dict) -> dict:
    """Builder kwargs as JSON keeps them (tuples as lists), for run.json and manifests."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kwargs.items()}
