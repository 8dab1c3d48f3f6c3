"""The one training path: ``zoo.train``.

The CLI, the notebooks, the tuner and fine-tuning all call ``train``. It
resolves the data and the model, applies the regularization policy, compiles
with the configured optimizer and loss, assembles the shared callbacks, fits,
and, given a run directory, checkpoints every epoch so that
``train(..., resume=True)`` continues a killed run exactly.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from typing import Any

from zoo.training.config import TrainConfig
from zoo.training.preprocess import Preprocessing, for_model

CLASSIFICATION_LOSSES = ("categorical_crossentropy", "svm_hinge", "hinge_cs", "binary_crossentropy")


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


def as_config(config=None, **overrides) -> TrainConfig:
    """A ``TrainConfig`` from None, a config, a dict or a JSON/YAML path."""
    if config is None:
        config = TrainConfig()
    elif isinstance(config, dict):
        config = TrainConfig.from_dict(config)
    elif isinstance(config, (str, os.PathLike)):
        config = TrainConfig.from_file(config)
    elif not isinstance(config, TrainConfig):
        raise ValueError(
            f"config must be a TrainConfig, dict or file path; received {type(config).__name__}."
        )
    return config.replace(**overrides) if overrides else config


def load_data(data, config: TrainConfig):
    """A ``DataBundle`` from a bundle, a folder, an .npz, 'tfds:NAME' or 'mnist-sample'."""
    from zoo import data as data_lib

    if isinstance(data, data_lib.DataBundle):
        return data
    if data is None:
        raise ValueError(
            "No data given: pass a folder, an .npz file, 'tfds:NAME' or 'mnist-sample'."
        )
    return data_lib.load(
        data,
        batch_size=config.batch_size,
        validation_split=config.validation_split,
        seed=1337 if config.seed is None else config.seed,
    )


def build_for_data(name: str, bundle, config: TrainConfig, model_kwargs=None, preprocessing=None):
    """Builds registered model ``name`` for ``bundle``: input size, channels, classes.

    Data smaller than the architecture's minimum is zero-padded up to it (as
    LeNet-5's 32x32 input takes 28x28 MNIST digits).

    Returns:
        ``(model, preprocessing)``.
    """
    import zoo

    spec = zoo.get_spec(name)
    kwargs = dict(model_kwargs or {})
    prep = preprocessing or for_model(bundle.input_shape, spec.min_input_shape)
    kwargs.setdefault("input_shape", prep.output_shape(bundle.input_shape))
    kwargs.setdefault("num_classes", bundle.num_classes)
    if config.loss in ("svm_hinge", "hinge_cs") or config.from_logits:
        kwargs.setdefault("classifier_activation", None)
    elif spec.family == "perceptron" and kwargs["num_classes"] > 1:
        kwargs.setdefault("classifier_activation", "softmax")
    return zoo.build_model(name, **kwargs), prep, kwargs


def _labels(y, num_classes: int, config: TrainConfig):
    import keras
    import numpy as np

    y = np.asarray(y).reshape(-1)
    if (
        config.loss in CLASSIFICATION_LOSSES
        and not config.sparse_labels
        and config.loss != "binary_crossentropy"
    ):
        return keras.utils.to_categorical(y, num_classes).astype("float32")
    return y


def _prepared_dataset(source, prep: Preprocessing, num_classes: int, config: TrainConfig):
    """Wraps a streaming dataset so batches come preprocessed, labels encoded."""
    import keras

    class Prepared(keras.utils.PyDataset):
        def __init__(self):
            super().__init__(
                workers=getattr(source, "workers", 1),
                use_multiprocessing=False,
                max_queue_size=getattr(source, "max_queue_size", 10),
            )

        def __len__(self):
            return len(source)

        def __getitem__(self, i):
            x, y = source[i]
            return prep(x), _labels(y, num_classes, config)

        def on_epoch_end(self):
            source.on_epoch_end()

    return Prepared()


def prepare_split(bundle, split: str, prep: Preprocessing, config: TrainConfig):
    """``(x, y)`` arrays, or a streaming dataset, ready for ``fit``/``evaluate``."""
    data = bundle.get(split)
    if data is None:
        return None
    if isinstance(data, tuple):
        return prep(data[0]), _labels(data[1], bundle.num_classes, config)
    return _prepared_dataset(data, prep, bundle.num_classes, config)


def compile_model(model, config: TrainConfig, num_classes: int | None = None):
    """Compiles ``model`` with the configured optimizer, loss and accuracy metric."""
    import keras

    from zoo.training.losses import make_loss
    from zoo.training.optimizers import make_optimizer

    metrics = []
    if config.loss in CLASSIFICATION_LOSSES:
        if config.loss == "binary_crossentropy":
            metrics = [keras.metrics.BinaryAccuracy(name="accuracy")]
        elif config.sparse_labels:
            metrics = [keras.metrics.SparseCategoricalAccuracy(name="accuracy")]
        else:
            metrics = [keras.metrics.CategoricalAccuracy(name="accuracy")]
    model.compile(
        optimizer=make_optimizer(config),
        loss=make_loss(config),
        metrics=metrics,
        jit_compile=resolve_jit_compile(model, config.jit_compile),
        steps_per_execution=config.steps_per_execution,
    )
    return model


def resolve_jit_compile(model, setting):
    """``jit_compile`` for ``compile``; under JAX, lets the image transforms be compiled.

    Keras turns compilation off for a whole model as soon as one layer says
    ``supports_jit = False``. The random image transforms (``RandomTranslation``,
    ``RandomRotation``, ``RandomZoom``, ``RandomCrop``) say so because of
    TensorFlow's XLA, yet they trace fine under ``jax.jit``. Without jit the
    JAX backend runs every op eagerly: measured on an H100, a ResNet-20 epoch
    with crop augmentation took 367 s instead of seconds. So under JAX (and
    unless ``setting`` is False) those layers are marked jittable here.
    """
    import keras

    if setting is False or keras.backend.backend() != "jax":
        return setting
    jittable = (keras.layers.RandomTranslation, keras.layers.RandomRotation,
                keras.layers.RandomZoom, keras.layers.RandomCrop)  # fmt: skip
    for layer in model._flatten_layers(include_self=False):
        if isinstance(layer, jittable):
            layer.supports_jit = True
    return setting


def _distribution_scope(config: TrainConfig):
    """The scope models are built and compiled in, per ``config.distribute``."""
    import contextlib

    import keras

    if config.distribute == "none":
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "tensorflow" and config.distribute in ("auto", "mirrored"):
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    if backend == "jax" and config.distribute in ("auto", "data_parallel"):
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        return contextlib.nullcontext()
    raise ValueError(
        f"distribute={config.distribute!r} is not available on the {backend} backend: use "
        f"'mirrored' (TensorFlow) or 'data_parallel' (JAX), or 'auto'."
    )


def _devices() -> list:
    import keras

    try:
        if keras.backend.backend() == "jax":
            import jax

            return [str(d) for d in jax.devices()]
        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            return [d.name for d in tf.config.list_logical_devices()]
    except Exception:  # device listing is informational only
        pass
    return []


def _machine() -> dict:
    """Where a model was trained: CPU, cores, GPU names, platform, backend devices."""
    from zoo.bench import machine_info

    info = machine_info()
    return {"cpu": info["cpu"], "cpus": info["cores"], "gpus": info["gpus"],
            "platform": info["platform"], "backend_devices": _devices()}  # fmt: skip


def _versions() -> dict:
    import keras

    import zoo

    return {"zoo": zoo.__version__, "keras": keras.__version__, "backend": keras.backend.backend(),
            "python": platform.python_version()}  # fmt: skip


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

    Returns:
        A ``TrainResult``.

    Raises:
        ValueError: bad config, data or model; ``ResumeError`` when a resume
            would not continue the same run.
    """
    import keras
    import numpy as np

    from zoo.training import runs
    from zoo.training.callbacks import make_callbacks, set_callbacks_state
    from zoo.training.regularization import RegularizationPolicy, make_augmentation

    run = runs.RunDirectory(run_dir) if run_dir is not None else None
    record = None
    if resume:
        if run is None:
            raise ValueError("resume=True needs the run_dir of the run to continue.")
        record = run.record()
        if config is None:
            config = TrainConfig.from_dict(record["config"])
        if model is None:
            model = record["model"]
            model_kwargs = record.get("model_kwargs") if model_kwargs is None else model_kwargs
        if data is None:
            data = record["data"].get("argument")
            if data is None:
                raise ValueError(
                    f"The run in {run.path} was trained on an in-memory DataBundle; pass the same data to resume."
                )
        if preprocessing is None and record.get("preprocessing"):
            preprocessing = Preprocessing.from_dict(record["preprocessing"])
    elif run is not None and run.exists and not overwrite:
        raise ValueError(
            f"{run.path} already holds a run; resume it (resume=True / --resume) or choose "
            f"another directory (or pass overwrite=True)."
        )
    config = as_config(config)
    data_argument = _data_argument(data)
    if model is None:
        raise ValueError("No model given: pass a registered name or a built keras.Model.")
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    bundle = load_data(data, config)

    policy = None
    if config.mixed_precision:
        policy = keras.config.dtype_policy()
        keras.config.set_dtype_policy(
            "mixed_bfloat16" if config.mixed_precision == "bfloat16" else "mixed_float16"
        )
    try:
        with _distribution_scope(config):
            if isinstance(model, str):
                name = model
                net, prep, model_kwargs = build_for_data(
                    name, bundle, config, model_kwargs, preprocessing
                )
            elif isinstance(model, keras.Model):
                name, net = None, model
                shape = tuple(net.input_shape[1:])
                prep = preprocessing or for_model(
                    bundle.input_shape, shape, model_channels=shape[-1]
                )
            else:
                raise ValueError(
                    f"model must be a registered name or a keras.Model; received {model!r}."
                )
            if len(net.outputs) != 1:
                raise ValueError(
                    f"zoo.train trains single-output models; {net.name!r} has {len(net.outputs)} "
                    f"outputs (build GoogLeNet without aux_logits, or compile and fit it yourself)."
                )
            net = RegularizationPolicy.from_config(config).apply(net)
            augment = make_augmentation(config, input_shape=tuple(net.input_shape[1:]))
            if augment is None:
                trainer = net
            else:
                inputs = keras.Input(tuple(net.input_shape[1:]), name="train_input")
                trainer = keras.Model(inputs, net(augment(inputs)), name=f"{net.name}_train")
            compile_model(trainer, config, bundle.num_classes)
            trainer.optimizer.build(trainer.trainable_variables)
    finally:
        if policy is not None:
            keras.config.set_dtype_policy(policy)

    train_data = prepare_split(bundle, "train", prep, config)
    val_data = prepare_split(bundle, "val", prep, config)
    has_val = val_data is not None
    monitor = (
        config.monitor if (has_val or not config.monitor.startswith("val_")) else config.monitor[4:]
    )

    identity = {
        "model": name,
        "model_kwargs": _jsonable(model_kwargs or {}),
        "config": config.to_dict(),
        "data": {"argument": data_argument, "source": bundle.source, "fingerprint": bundle.fingerprint,
                 "class_names": list(bundle.class_names), "input_shape": list(bundle.input_shape)},
        "preprocessing": prep.to_dict(),
        "architecture_sha256": runs.architecture_hash(net),
        "optimizer": runs.optimizer_signature(trainer.optimizer),
    }  # fmt: skip
    state = None
    if run is not None:
        if resume:
            legacy = {"legacy_architecture_sha256": runs.architecture_hash(net, legacy=True)}
            _check_same_run(record, {**identity, **legacy}, force)
            run.remove_stale_temporaries()
            state = run.state()
        else:
            run.create({**identity, "versions": _versions(), "command": command,
                        "created": time.strftime("%Y-%m-%dT%H:%M:%S")})  # fmt: skip
        if resume and record.get("command"):
            command = record["command"]

    cbs = make_callbacks(
        config,
        run.path if run else None,
        # The doctor compares the first loss with ln(C); a regularization penalty
        # in the loss would make that comparison raise a false alarm.
        num_classes=None if _has_penalty(net) else bundle.num_classes,
        has_validation=has_val,
        verbose=1 if verbose else 0,
        csv_log=False,
        test_data=prepare_split(bundle, "test", prep, config) if config.track_test else None,
    )
    if monitor != config.monitor:
        for cb in cbs:
            if getattr(cb, "monitor", None) == config.monitor:
                cb.monitor = monitor
    initial_epoch, history, best = 0, {}, None
    if state is not None:
        run.restore(net, trainer.optimizer, state)
        set_callbacks_state([c for c in cbs], state.get("callbacks", {}))
        initial_epoch, history, best = int(state["epoch"]), state["history"], state.get("best")
        saved_best = run.best()
        if saved_best is not None and (best is None or _better(saved_best["value"], best, monitor)):
            best = saved_best["value"]
        _restore_early_stopping_weights(cbs, run, net, trainer)
    checkpoint = None
    if run is not None:
        checkpoint = runs.RunCheckpoint(
            run, net, monitor, callbacks=cbs, history=history, best=best
        )
        cbs.append(checkpoint)
    cbs.extend(callbacks)

    finished = run.finished() if (run is not None and state is not None) else None
    if finished is not None:  # the run already ended: nothing to train, keep its final weights
        from zoo.saving import load_model

        net.set_weights(load_model(run.file(runs.FINAL_MODEL)).get_weights())
        initial_epoch = config.epochs
    if run is not None and initial_epoch < config.epochs:
        run.add_session({"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "first_epoch": initial_epoch + 1,
                         "machine": _machine(), "backend": keras.backend.backend()})  # fmt: skip
    fit_args = {"x": train_data} if not isinstance(train_data, tuple) else {
        "x": train_data[0], "y": train_data[1], "batch_size": config.batch_size, "shuffle": True}  # fmt: skip
    started = time.perf_counter()
    keras_history = None
    if initial_epoch < config.epochs:
        keras_history = trainer.fit(
            **fit_args,
            validation_data=val_data,
            epochs=config.epochs,
            initial_epoch=initial_epoch,
            callbacks=cbs,
            verbose=verbose,
        )
    seconds = time.perf_counter() - started

    if checkpoint is not None:
        history = checkpoint.history
    elif keras_history is not None:
        history = {"epoch": [e + 1 for e in keras_history.epoch], **keras_history.history}
    doctor = next((c for c in cbs if type(c).__name__ == "DoctorCallback"), None)
    diagnoses = list(getattr(doctor, "diagnoses", []) or [])
    losses = history.get("loss", [])
    weights_finite = all(np.all(np.isfinite(np.asarray(w))) for w in net.weights)
    diverged = (
        (checkpoint is not None and checkpoint.diverged)
        or not weights_finite
        or (
            keras_history is not None
            and any(not np.isfinite(v) for v in keras_history.history.get("loss", []))
        )
    )
    epochs_done = len(history.get("epoch", losses))
    status = (
        "diverged"
        if diverged
        else ("completed" if epochs_done >= config.epochs else "early_stopped")
    )
    if finished is not None:
        status = finished.get("status", status)

    metrics = {}
    if status == "diverged":
        if run is not None:
            net = _load_best_or_none(run, net)
    else:
        if evaluate_test and bundle.get("test") is not None:
            metrics = evaluate_model(net, bundle, "test", prep, config)
        if run is not None:
            from zoo.saving import save_model

            save_model(net, run.file(runs.FINAL_MODEL))
            runs.write_json(
                run.file(runs.METRICS_JSON), {"status": status, "epochs": epochs_done, **metrics}
            )
    result = TrainResult(
        model=net,
        history=history,
        metrics=metrics,
        run_dir=run.path if run else None,
        class_names=tuple(bundle.class_names),
        preprocessing=prep,
        config=config,
        diagnoses=diagnoses,
        status=status,
        epochs=epochs_done,
        model_name=name,
        model_kwargs=dict(model_kwargs or {}),
        data_source=bundle.source,
        seconds=seconds,
        command=command,
        data_splits={
            s: bundle.num_examples(s) for s in ("train", "val", "test") if bundle.get(s) is not None
        },
        sessions=runs.session_summary(run.sessions(), history) if run is not None else [],
    )
    if save_as and status != "diverged":
        publish_result(result, save_as, overwrite=overwrite)
    return result


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

    ``extra`` adds fields to the manifest (e.g. fine-tuning's backbone).
    """
    from zoo.pretrained import publish

    manifest = {
        "architecture": result.model_name,
        "model_kwargs": _jsonable(result.model_kwargs),
        "data": result.data_source,
        "data_splits": result.data_splits,
        "split_seed": 1337 if result.config.seed is None else result.config.seed,
        "class_names": list(result.class_names),
        "preprocessing": result.preprocessing.to_dict(),
        "metrics": result.metrics,
        "train_config": result.config.to_dict(),
        "epochs": result.epochs,
        "train_seconds": round(
            sum(v for v in result.history.get("epoch_time", []) if v) or result.seconds, 1
        ),
        "machine": _machine(),
        "run_dir": result.run_dir,
        "sessions": result.sessions,
        "versions": _versions(),
    }
    if command or result.command:
        manifest["command"] = command or result.command
    manifest.update(extra or {})
    return publish(result.model, name, manifest, overwrite=overwrite, root=root)


def evaluate_model(model, bundle, split: str, prep: Preprocessing, config: TrainConfig) -> dict:
    """Loss and accuracy of ``model`` on one split, keys prefixed by the split."""
    from zoo.training.callbacks import evaluate_kwargs

    data = prepare_split(bundle, split, prep, config)
    if not getattr(model, "compiled", False):
        compile_model(model, config, bundle.num_classes)
    values = model.evaluate(**evaluate_kwargs(data, config.batch_size), verbose=0, return_dict=True)
    return {f"{split}_{k}": float(v) for k, v in values.items()}


def _has_penalty(model) -> bool:
    """Whether ``model`` adds regularization penalties to the loss."""
    return any(
        getattr(layer, attr, None) is not None
        for layer in model._flatten_layers(include_self=False)
        for attr in ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
    )


def _data_argument(data) -> str | None:
    """How to find ``data`` again on resume: an absolute path or a source name."""
    if isinstance(data, (str, os.PathLike)):
        text = os.fspath(data)
        return os.path.abspath(text) if os.path.exists(text) else text
    return None


def _better(a, b, monitor) -> bool:
    from zoo.training.callbacks import monitor_mode

    return a > b if monitor_mode(monitor) == "max" else a < b


def _jsonable(d: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _check_same_run(record: dict, identity: dict, force: bool) -> None:
    from zoo.training.runs import ResumeError

    changes = []
    for key, label in (
        ("model", "model"),
        ("architecture_sha256", "model architecture"),
        ("optimizer", "optimizer"),
        ("config", "training config"),
    ):
        recorded = record.get(key)
        if key == "config" and recorded is not None:  # fields added since then take their defaults
            recorded = TrainConfig.from_dict(recorded).to_dict()
        if key == "architecture_sha256" and recorded == identity.get("legacy_architecture_sha256"):
            continue  # a run written when the hash still covered the compile config
        if _norm(recorded) != _norm(identity.get(key)):
            changes.append(label)
    if record["data"]["fingerprint"] != identity["data"]["fingerprint"]:
        changes.append("data")
    if changes and not force:
        raise ResumeError(
            f"Cannot resume: the {', '.join(changes)} changed since the run started; pass "
            f"force=True (--force) to continue anyway."
        )


def _norm(value):
    import json

    return json.loads(json.dumps(value, sort_keys=True, default=list))


def _restore_early_stopping_weights(cbs, run, net, trainer) -> None:
    import os as _os

    from zoo.training.runs import BEST_MODEL

    stopper = next((c for c in cbs if type(c).__name__ == "ResumableEarlyStopping"), None)
    if (
        stopper is None
        or not stopper.restore_best_weights
        or not _os.path.isfile(run.file(BEST_MODEL))
    ):
        return
    from zoo.saving import load_model

    current = net.get_weights()
    net.set_weights(load_model(run.file(BEST_MODEL)).get_weights())
    best_weights = trainer.get_weights()
    net.set_weights(current)
    stopper.set_state(stopper.get_state(), best_weights=best_weights)


def _load_best_or_none(run, net):
    from zoo.saving import load_model
    from zoo.training.runs import BEST_MODEL

    path = run.file(BEST_MODEL)
    return load_model(path) if os.path.isfile(path) else net
