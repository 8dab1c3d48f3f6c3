"""The end of a search: keep the best trial's model in ``best/`` and publish it if asked.

``best/model.keras`` is restored from the best trial's zoo run folder (or, when
that is gone, e.g. trained by a worker on another machine, its configuration is
retrained); ``best/best.json`` records its configuration, metrics and
preprocessing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from tuning.request import BEST_DIR
from tuning.state import write_state
from zoo.constants import json_ready

__all__ = ["hp_text", "keep_best"]


def hp_text(values: Mapping[str, Any]) -> str:
    """``name=value, ...`` of a trial's hyperparameters (keras-tuner's own left out)."""
    return ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
                     if not k.startswith("tuner/")) or "the defaults"  # fmt: skip


def keep_best(
    directory: str,
    request: dict,
    hypermodel,
    tuner,
    best: dict,
    save_as: str | None,
    overwrite_saved: bool,
    progress: Callable[[str], None],
) -> dict:
    """Restores the best trial's model (or retrains its configuration), saves and publishes it.

    Returns:
        The ``best.json`` document.
    """
    import keras_tuner as kt

    from zoo.saving import save_model
    from zoo.training.fit import evaluate_model
    from zoo.training.preprocess import for_model

    hp = kt.HyperParameters()
    hypermodel.values(hp)
    hp.values.update(best["hyperparameters"])
    config = hypermodel.config_for(hp)
    model, source = _restore_or_retrain(directory, hypermodel, tuner, best, hp, progress)
    bundle = hypermodel.bundle
    shape = tuple(model.input_shape[1:])
    prep = for_model(bundle.input_shape, shape, model_channels=shape[-1])
    metrics = dict(best["metrics"])
    if bundle.get("test") is not None:
        metrics.update(evaluate_model(model, bundle, "test", prep, config))
    out = os.path.join(directory, BEST_DIR)
    os.makedirs(out, exist_ok=True)
    save_model(model, os.path.join(out, "model.keras"))
    info = {
        "trial_id": best["trial_id"],
        "source": source,
        "model": hypermodel.architecture(hp),
        "model_kwargs": json_ready(hypermodel.model_kwargs_for(hp)),
        "hyperparameters": best["hyperparameters"],
        "train_config": config.to_dict(),
        "objective": {request["objective"]: best["objective"]},
        "metrics": metrics,
        "class_names": list(bundle.class_names),
        "preprocessing": prep.to_dict(),
        "data": request["data"],
        "path": os.path.join(out, "model.keras"),
    }
    write_state(os.path.join(out, "best.json"), info)
    progress(f"[tune] best model ({source}) saved to {info['path']}")
    if save_as:
        info["published"] = _publish(
            model, request, hypermodel, hp, (metrics, prep, config), save_as, overwrite_saved,
            directory, progress,
        )  # fmt: skip
        write_state(os.path.join(out, "best.json"), info)
    return info


def _restore_or_retrain(directory, hypermodel, tuner, best, hp, progress) -> tuple[Any, str]:
    """``(model, "restored" | "retrained")`` of the best trial."""
    try:
        return tuner.load_model(tuner.oracle.get_trial(best["trial_id"])), "restored"
    except (FileNotFoundError, OSError, ValueError) as err:
        progress(
            f"[tune] cannot restore trial {best['trial_id']}'s model ({err}); retraining its configuration"
        )
    from zoo.saving import load_model
    from zoo.training.runs import BEST_MODEL

    retrain_dir = os.path.join(directory, BEST_DIR, "retrain")
    hypermodel.fit(hp, hypermodel.build(hp), run_dir=retrain_dir)
    return load_model(os.path.join(retrain_dir, BEST_MODEL)), "retrained"


def _publish(
    model, request, hypermodel, hp, evaluated, save_as, overwrite_saved, directory, progress
) -> str | None:
    """Publishes the best model as ``saved_models/<save_as>``; returns the path (None if not)."""
    from zoo.training.fit import TrainResult, publish_result

    metrics, prep, config = evaluated
    bundle = hypermodel.bundle
    result = TrainResult(
        model=model, history={}, metrics=metrics, run_dir=directory, class_names=tuple(bundle.class_names),
        preprocessing=prep, config=config, diagnoses=[], status="completed", epochs=config.epochs,
        model_name=hypermodel.architecture(hp), model_kwargs=hypermodel.model_kwargs_for(hp),
        data_source=bundle.source,
    )  # fmt: skip
    try:
        published = publish_result(result, save_as, overwrite=overwrite_saved, command="zoo tune")
    except ImportError:
        progress(
            f"[tune] zoo.pretrained is not available: not published; the best model is in "
            f"{os.path.join(directory, BEST_DIR)}"
        )
        return None
    progress(f"[tune] published as saved_models/{save_as}")
    return str(published)
