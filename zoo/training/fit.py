"""The one training path: ``zoo.train``.

The CLI, the notebooks, the tuner and fine-tuning all call `train`. It reads
as its steps (`zoo.training.steps`): prepare (data, model, run directory,
callbacks) -> restore (a resumed run's state) -> fit -> finalize (status,
metrics, final model) -> publish. Given a run directory it checkpoints every
epoch, so that ``train(..., resume=True)`` continues a killed run exactly.

Where the pieces live (all still importable from here):

- `zoo.training.fit_data`: data into ``fit`` arguments (`load_data`,
  `prepare_split`, `data_kwargs`).
- `zoo.training.model_setup`: build, regularize, augment, compile
  (`build_for_data`, `compile_model`, `evaluate_model`).
- `zoo.training.execution`: precision, distribution, machine record.
- `zoo.training.runs`: run directories and run identity.
- `zoo.training.results`: `TrainResult` and `publish_result`.
"""

from __future__ import annotations

import contextlib
import os

from zoo.training.config import as_config
from zoo.training.fit_data import CLASSIFICATION_LOSSES, data_kwargs, load_data, prepare_split
from zoo.training.model_setup import (
    build_for_data,
    compile_model,
    evaluate_model,
    resolve_jit_compile,
)
from zoo.training.preprocess import Preprocessing
from zoo.training.results import TrainResult, publish_result

__all__ = [
    "CLASSIFICATION_LOSSES",
    "TrainResult",
    "as_config",
    "build_for_data",
    "compile_model",
    "data_kwargs",
    "evaluate_model",
    "load_data",
    "prepare_split",
    "publish_result",
    "resolve_jit_compile",
    "train",
]


def train(
    model=None,
    data=None,
    config=None,
    *,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    force: bool = False,
    preprocessing: Preprocessing | None = None,
    model_kwargs: dict | None = None,
    callbacks=(),
    verbose: int | str = "auto",
    save_as: str | None = None,
    overwrite: bool = False,
    evaluate_test: bool = True,
    command: str | None = None,
    distribute: str | None = None,
    class_weight: dict | None = None,
    recipe=None,
) -> TrainResult:
    """Trains a registered architecture (by name) or a built Keras model.

    Args:
        model: a registered name (``"lenet5"``) or a built functional model.
            With ``resume=True`` it may be None: the run's model is rebuilt.
        data: a folder, an ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``zoo.data.DataBundle``. None with ``resume=True``: the run's.
        config: a ``TrainConfig``, dict or JSON/YAML path (default config
            when None; the run's own with ``resume=True``).
        run_dir: where checkpoints, history, best and final model go. None
            writes nothing (and cannot resume).
        resume: continue the run in ``run_dir`` from its last complete epoch.
        force: resume even if the model, optimizer, config or data changed.
        preprocessing: how raw pixels become inputs; default ``x / 255``,
            padded up to the architecture's minimum input.
        model_kwargs: builder arguments when ``model`` is a name.
        callbacks: extra Keras callbacks.
        verbose: Keras verbosity (``"auto"``, 0, 1 or 2).
        save_as: publish the final model to ``saved_models/<save_as>``.
        overwrite: allow replacing an existing run directory or published name.
        evaluate_test: evaluate on the data's test split at the end.
        command: the command line that started the run, kept in run.json
            and in a published manifest.
        distribute: sets ``config.distribute`` (``"data_parallel"``: one
            process of a data-parallel run on JAX, see
            `zoo.training.distribute`).
        class_weight: ``{class index: weight}`` multiplying each example's
            loss (Keras' ``fit(class_weight=...)``); None: all 1.
        recipe: start from a training recipe of the architecture
            (`zoo.recipes`): its name (``"paper"``, ``"fast"``, ``"default"``
            for the architecture's default) or a ``Recipe``; ``config`` then
            overrides single fields of it (a dict: its keys; a TrainConfig:
            the fields that differ from the defaults). run.json records it.
            None: ``config`` alone, as given.

    Returns:
        A ``TrainResult``.

    Raises:
        ValueError: bad config, data or model; ``ResumeError`` when a resume
            would not continue the same run.
    """
    from zoo.training import distribute as distribute_lib
    from zoo.training.steps import finalize_run, fit_run, prepare_run, publish_run, restore_run

    recipe_record = None
    if recipe is not None:
        config, recipe_record = _apply_recipe(model, recipe, config, resume)
    if distribute is not None:
        config = as_config(_requested_config(config, run_dir, resume), distribute=distribute)
    cluster = distribute_lib.start(_requested_config(config, run_dir, resume))
    kwargs = {"force": force, "overwrite": overwrite, "preprocessing": preprocessing,
              "model_kwargs": model_kwargs, "verbose": verbose, "command": command}  # fmt: skip
    with distribute_lib.failures(cluster, run_dir):
        if cluster.worker:  # a data-parallel worker: the coordinator's run, nothing written
            kwargs.pop("force"), kwargs.pop("overwrite")
            run = distribute_lib.prepare_worker(model, data, config, run_dir=run_dir,
                                                resume=resume, callbacks=callbacks, **kwargs)  # fmt: skip
        else:
            run = prepare_run(model, data, config, run_dir=run_dir, resume=resume, **kwargs)
            _record_recipe(run, recipe_record)
            restore_run(run, extra_callbacks=callbacks)
        fit_run(run, verbose=verbose, class_weight=class_weight)
        result = finalize_run(run, evaluate_test=evaluate_test)
    distribute_lib.report(cluster, run.built.net)
    if cluster.coordinator:
        publish_run(result, save_as, overwrite=overwrite)
    return result


def _requested_config(config, run_dir, resume: bool):
    """The TrainConfig the run will use (a resumed run's own when ``config`` is None)."""
    if config is None and resume and run_dir is not None:
        from zoo.training import runs

        with contextlib.suppress(Exception):  # prepare_run reports an unreadable run
            return runs.config_from_record(runs.RunDirectory(run_dir).record())
    return as_config(config)


def _record_recipe(run, recipe_record) -> None:
    """Adds the recipe to a new run's run.json (a resumed run keeps its own)."""
    if recipe_record is not None and run.run is not None:
        from zoo.training.runs import RUN_JSON, write_json

        write_json(run.run.file(RUN_JSON), {**run.run.record(), "recipe": recipe_record})


def _apply_recipe(model, recipe, config, resume: bool) -> tuple:
    """``(TrainConfig, run.json record)`` of ``recipe`` under ``config`` (`zoo.recipes.recipe_config`)."""
    if resume:
        raise ValueError(
            "recipe: a resumed run keeps the recipe it started from; pass recipe=None."
        )
    if not isinstance(model, str):
        raise ValueError(
            "recipe: recipes belong to registered architectures; pass the model's name "
            f"(received a {type(model).__name__})."
        )
    from zoo.recipes import recipe_config

    return recipe_config(model, None if recipe == "default" else recipe, config)
