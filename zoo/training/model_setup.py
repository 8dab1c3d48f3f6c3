"""The model side of a run: build or take the model, regularize, augment, compile.

`build_for_data` builds a registered architecture for a data bundle;
`resolve_model` accepts a name or a built model; `build_trainer` does the whole
model setup of ``train`` (under the precision policy and distribution scope);
`compile_model` is the one compile of the training path and `evaluate_model`
the one evaluation.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zoo.training.config import TrainConfig
from zoo.training.execution import distribution_scope, precision_policy
from zoo.training.fit_data import CLASSIFICATION_LOSSES, data_kwargs, prepare_split
from zoo.training.preprocess import Preprocessing, for_model

__all__ = [
    "BuiltModel",
    "all_layers",
    "build_for_data",
    "build_trainer",
    "compile_model",
    "evaluate_model",
    "has_penalty",
    "inference_model",
    "output_loss_weights",
    "resolve_jit_compile",
    "resolve_model",
]


@dataclasses.dataclass
class BuiltModel:
    """A model ready to train.

    Attributes:
        name: the registered name, or None for a model given built.
        net: the model (regularized); what is saved and returned.
        trainer: what ``fit`` runs: ``net``, or ``net`` behind the augmentation layers.
        prep: the preprocessing ``net`` expects.
        model_kwargs: the builder arguments used (empty for a model given built).
    """

    name: str | None
    net: Any
    trainer: Any
    prep: Preprocessing
    model_kwargs: dict


def build_for_data(name: str, bundle, config: TrainConfig, model_kwargs=None, preprocessing=None):
    """Builds registered model ``name`` for ``bundle``: input size, channels, classes.

    Data smaller than the architecture's minimum (or than an ``input_shape``
    in ``model_kwargs``) is zero-padded up to it (as LeNet-5's 32x32 input
    takes 28x28 MNIST digits).

    Returns:
        ``(model, preprocessing, builder kwargs)``.
    """
    import zoo

    spec = zoo.get_spec(name)
    kwargs = dict(model_kwargs or {})
    # pad up to the architecture's minimum, or to an input_shape asked for (GoogLeNet's aux heads
    # need 65x65: `--input-shape 65,65,1` on 28x28 digits)
    target = kwargs.get("input_shape") or spec.min_input_shape
    prep = preprocessing or for_model(bundle.input_shape, target)
    kwargs.setdefault("input_shape", prep.output_shape(bundle.input_shape))
    kwargs.setdefault("num_classes", bundle.num_classes)
    if config.loss in ("svm_hinge", "hinge_cs") or config.from_logits:
        kwargs.setdefault("classifier_activation", None)
    elif spec.family == "perceptron" and kwargs["num_classes"] > 1:
        kwargs.setdefault("classifier_activation", "softmax")
    return zoo.build_model(name, **kwargs), prep, kwargs


def resolve_model(model, bundle, config: TrainConfig, model_kwargs=None, preprocessing=None):
    """A registered name built for ``bundle``, or a built model with its preprocessing.

    Returns:
        ``(name or None, model, preprocessing, builder kwargs)``.

    Raises:
        ValueError: ``model`` is neither a name nor a ``keras.Model``.
    """
    import keras

    if isinstance(model, str):
        net, prep, kwargs = build_for_data(model, bundle, config, model_kwargs, preprocessing)
        return model, net, prep, kwargs
    if isinstance(model, keras.Model):
        shape = tuple(model.input_shape[1:])
        prep = preprocessing or for_model(bundle.input_shape, shape, model_channels=shape[-1])
        return None, model, prep, model_kwargs
    raise ValueError(f"model must be a registered name or a keras.Model; received {model!r}.")


def build_trainer(model, bundle, config: TrainConfig, model_kwargs=None, preprocessing=None):
    """Builds the model of a run: resolved, regularized, augmented, compiled, optimizer built.

    Runs under ``config``'s precision policy and distribution scope.

    Returns:
        A `BuiltModel`.

    A model with auxiliary outputs (GoogLeNet with ``aux_logits=True``) trains
    behind a trainer whose one output stacks ``[main, aux...]`` on axis 1: the
    loss is `zoo.training.losses.OutputWeightedLoss` (the configured loss on each output, weighted
    by `output_loss_weights`) and accuracy is the main output's, so the logs
    keep their names (``loss``, ``accuracy``, ``val_accuracy``) and the labels
    stay one array. ``net`` keeps every output (the run saves it for resume);
    `inference_model` is what is evaluated and published.

    Raises:
        ValueError: a bad model, or several outputs without known loss weights.
    """
    import keras

    from zoo.training.regularization import RegularizationPolicy, make_augmentation

    with precision_policy(config), distribution_scope(config):
        name, net, prep, kwargs = resolve_model(model, bundle, config, model_kwargs, preprocessing)
        weights = output_loss_weights(net)
        net = RegularizationPolicy.from_config(config).apply(net)
        augment = make_augmentation(config, input_shape=tuple(net.input_shape[1:]))
        trainer = net
        if augment is not None or weights is not None:
            inputs = keras.Input(tuple(net.input_shape[1:]), name="train_input")
            outputs = net(augment(inputs) if augment is not None else inputs)
            if weights is not None:
                outputs = keras.ops.stack(outputs, axis=1)
            trainer = keras.Model(inputs, outputs, name=f"{net.name}_train")
        compile_model(trainer, config, bundle.num_classes, output_weights=weights)
        trainer.optimizer.build(trainer.trainable_variables)
    return BuiltModel(name, net, trainer, prep, kwargs)


def compile_model(model, config: TrainConfig, num_classes: int | None = None, output_weights=None):
    """Compiles ``model`` with the configured optimizer, loss and accuracy metric.

    Args:
        model: the model to compile.
        config: the `TrainConfig`.
        num_classes: unused (kept for callers).
        output_weights: for a trainer whose output stacks several outputs on
            axis 1 (`build_trainer`): their loss weights; accuracy is then the
            first (main) output's.
    """
    import keras

    from zoo.training.losses import OutputWeightedLoss, make_loss
    from zoo.training.optimizers import make_optimizer

    metrics = []
    if config.loss in CLASSIFICATION_LOSSES:
        if config.loss == "binary_crossentropy":
            metric, fn = keras.metrics.BinaryAccuracy, keras.metrics.binary_accuracy
        elif config.sparse_labels:
            metric = keras.metrics.SparseCategoricalAccuracy
            fn = keras.metrics.sparse_categorical_accuracy
        else:
            metric, fn = keras.metrics.CategoricalAccuracy, keras.metrics.categorical_accuracy
        metrics = [metric(name="accuracy")]
        if output_weights is not None:  # the main output's accuracy
            metrics = [keras.metrics.MeanMetricWrapper(_on_main_output(fn), name="accuracy")]
    loss = make_loss(config)
    model.compile(
        optimizer=make_optimizer(config),
        loss=loss if output_weights is None else OutputWeightedLoss(loss, output_weights),
        metrics=metrics,
        jit_compile=resolve_jit_compile(model, config.jit_compile),
        steps_per_execution=config.steps_per_execution,
    )
    return model


def _on_main_output(fn):
    """``fn`` (a per-example metric) on the first of the outputs stacked on axis 1."""

    def main_output(y_true, y_pred):
        return fn(y_true, y_pred[:, 0])

    return main_output


def output_loss_weights(net) -> tuple | None:
    """Loss weights of ``net``'s outputs; None for a single-output model.

    GoogLeNet's ``[predictions, aux1, aux2]`` get the paper's
    `zoo.models.inception.AUX_LOSS_WEIGHTS` (1, 0.3, 0.3); Inception v3's
    ``[predictions, aux]`` `zoo.models.inception_v3.AUX_LOSS_WEIGHTS` (1, 0.4).

    Raises:
        ValueError: several outputs whose weights the zoo does not know.
    """
    if len(net.outputs) == 1:
        return None
    from zoo.models.inception import AUX_LOSS_WEIGHTS

    names = list(net.output_names)
    if names == ["predictions", "aux1", "aux2"]:
        return AUX_LOSS_WEIGHTS
    if names == ["predictions", "aux"]:  # Inception v3
        from zoo.models.inception_v3 import AUX_LOSS_WEIGHTS as V3_WEIGHTS

        return V3_WEIGHTS
    raise ValueError(
        f"zoo.train knows the loss weights of GoogLeNet's outputs ['predictions', 'aux1', "
        f"'aux2'] only; {net.name!r} has {len(names)} outputs {names} (compile and fit it "
        f"yourself)."
    )


def inference_model(net):
    """``net`` with its main output only (the auxiliary heads dropped, weights shared)."""
    if len(net.outputs) == 1:
        return net
    from zoo.models.inception import without_aux

    return without_aux(net)


def all_layers(model) -> list:
    """Every layer inside ``model``, those of nested models included (depth first).

    Keras' own recursive walk (``Model._flatten_layers``) is private and
    ``Model.layers`` lists only the top level, so nested Functional and
    Sequential models (a backbone, the augmentation front end) are walked here
    through their public ``layers``.
    """
    out = []
    for layer in model.layers:
        out.append(layer)
        if isinstance(getattr(layer, "layers", None), list):
            out.extend(all_layers(layer))
    return out


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
    for layer in all_layers(model):
        if isinstance(layer, jittable):
            layer.supports_jit = True
    return setting


def has_penalty(model) -> bool:
    """Whether ``model`` adds regularization penalties to the loss."""
    return any(
        getattr(layer, attr, None) is not None
        for layer in all_layers(model)
        for attr in ("kernel_regularizer", "bias_regularizer", "activity_regularizer")
    )


def evaluate_model(model, bundle, split: str, prep: Preprocessing, config: TrainConfig) -> dict:
    """Loss and accuracy of ``model`` on one split, keys prefixed by the split."""
    data = prepare_split(bundle, split, prep, config)
    if not getattr(model, "compiled", False):
        compile_model(model, config, bundle.num_classes)
    values = model.evaluate(**data_kwargs(data, config.batch_size), verbose=0, return_dict=True)
    return {f"{split}_{k}": float(v) for k, v in values.items()}
