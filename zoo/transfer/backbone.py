"""Backbones: build or load a feature extractor, cut its head, attach a new one."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from typing import Any

from zoo.saving import load_model
from zoo.training.preprocess import Preprocessing
from zoo.transfer.blocks import HEAD_LAYERS


@dataclasses.dataclass
class Backbone:
    """A feature extractor and what it needs.

    Attributes:
        name: what it was built from (architecture, Keras name, checkpoint
            or path).
        kind: ``"zoo"``, ``"keras"``, ``"pretrained"``, ``"file"`` or ``"model"``.
        model: a functional ``keras.Model`` from images to features.
        preprocessing: how raw ``uint8`` pixels of the data become its input.
        weights: description of the weights loaded.
        manifest: the checkpoint's manifest (``"pretrained"``), else None.
    """

    name: str
    kind: str
    model: Any
    preprocessing: Preprocessing
    weights: str | None = None
    manifest: dict | None = None

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(layer.name for layer in self.model.layers)


def load_backbone(
    backbone,
    data_shape: Sequence[int],
    *,
    weights="default",
    model_kwargs: dict | None = None,
    preprocessing: Preprocessing | None = None,
    root=None,
) -> Backbone:
    """Builds or loads a backbone for data of ``data_shape`` (H, W, C).

    Args:
        backbone: a zoo architecture, a ``keras.applications`` name, a
            checkpoint name, a ``.keras`` path or a ``keras.Model``.
        data_shape: the shape of one raw image of the data.
        weights: ``"default"`` means ImageNet for ``keras.applications``,
            the checkpoint's own for checkpoints and files, random (None)
            for zoo architectures; else None, ``"imagenet"``, a file or a
            checkpoint name (see `zoo.weights`).
        model_kwargs: extra builder arguments (e.g. ``alpha`` for
            MobileNetV2, ``batch_norm`` for a zoo architecture).
        preprocessing: overrides the preprocessing chosen for the backbone.
        root: saved-models folder.

    Returns:
        A `Backbone` whose model takes ``preprocessing.output_shape(data_shape)``.

    Raises:
        ValueError: unknown backbone, unfitting weights, too small an input.
    """
    import keras

    from zoo import pretrained
    from zoo import weights as weights_lib

    data_shape = tuple(int(d) for d in data_shape)
    if len(data_shape) != 3:
        raise ValueError(
            f"Backbones take images (height, width, channels); received data of shape {data_shape}."
        )
    kwargs = dict(model_kwargs or {})
    if isinstance(backbone, keras.Model):
        return _from_model(
            backbone, "model", getattr(backbone, "name", "model"), data_shape, preprocessing
        )
    if not isinstance(backbone, (str, os.PathLike)):
        raise ValueError(
            f"backbone must be a name, a '.keras' path or a keras.Model; received {backbone!r}."
        )
    name = os.fspath(backbone)
    if weights_lib.is_keras_application(name):
        return _from_keras_application(name, data_shape, weights, preprocessing, kwargs)
    if (
        pretrained.is_valid_name(name)
        and pretrained.exists(name, root=root)
        and not os.path.exists(name)
    ):
        return _from_checkpoint(name, data_shape, weights, preprocessing, root)
    if name.lower().endswith(_MODEL_FILE_SUFFIXES) or os.path.isdir(name):
        return _from_file(name, data_shape, preprocessing)
    return _from_zoo(name, data_shape, weights, preprocessing, kwargs, root)


#: Suffixes that make a backbone name a model file (all but .keras are refused by
#: `zoo.saving.load_model` with a message saying how to convert).
_MODEL_FILE_SUFFIXES = (".keras", ".h5", ".hdf5", ".pkl", ".pickle", ".pt", ".pb")


def _from_keras_application(name, data_shape, weights, preprocessing, kwargs) -> Backbone:
    """A ``keras.applications`` model (ImageNet weights by default), inputs padded to its minimum."""
    from zoo import weights as weights_lib

    info = weights_lib.keras_application_info(name)
    w = "imagenet" if weights == "default" else weights
    h, wd, c = data_shape
    small = h < info.min_size or wd < info.min_size
    prep = preprocessing or Preprocessing(
        mode=info.preprocessing,
        pad_to=(max(h, info.min_size), max(wd, info.min_size)) if small else None,
        channels=3 if c != 3 else None,
    )
    model = weights_lib.build_keras_application(
        name, weights=w, input_shape=prep.output_shape(data_shape), pooling="avg", **kwargs
    )
    return Backbone(name, "keras", model, prep, weights=_describe(w))


def _from_checkpoint(name, data_shape, weights, preprocessing, root) -> Backbone:
    """A shipped/published checkpoint (hashes verified), cut below its ``predictions`` layer."""
    from zoo import pretrained

    if weights not in ("default", None, name):
        raise ValueError(
            f"{name!r} is a checkpoint and brings its own weights; received weights={weights!r}."
        )
    manifest = pretrained.verify(name, root)
    model = pretrained.load_pretrained(name, root)
    prep = preprocessing or _manifest_preprocessing(manifest)
    out = _from_model(model, "pretrained", name, data_shape, prep)
    out.manifest, out.weights = manifest, f"checkpoint {name}"
    return out


def _from_file(name, data_shape, preprocessing) -> Backbone:
    """A ``.keras`` file (safe mode), with the preprocessing recorded next to it."""
    model = load_model(name)  # refuses everything but .keras
    prep = preprocessing or _sidecar_preprocessing(name)
    out = _from_model(model, "file", name, data_shape, prep)
    out.weights = name
    return out


def _from_zoo(name, data_shape, weights, preprocessing, kwargs, root) -> Backbone:
    """A registered zoo architecture without its top (random weights by default)."""
    import zoo
    from zoo import pretrained
    from zoo import weights as weights_lib
    from zoo.saved_models import with_checkpoint_hint
    from zoo.training.preprocess import for_model

    try:
        spec = zoo.get_spec(name)  # UnknownModelError with suggestions
    except ValueError as err:
        raise with_checkpoint_hint(err, name, root) from None
    w = None if weights == "default" else weights
    channels = None
    resolved = weights_lib.resolve(w, root=root)
    mode = {}
    if resolved.kind == "pretrained":
        manifest = pretrained.read_manifest(resolved.name, root)
        channels = (manifest.get("input_shape") or [None])[-1]
        base = _manifest_preprocessing(manifest)
        mode = {"mode": base.mode, "scale": base.scale, "offset": base.offset}
    mode = mode or _bridged_weights_setup(spec.name, w, kwargs)
    if preprocessing is None:
        prep = for_model(data_shape, spec.min_input_shape, model_channels=channels)
        if mode:
            prep = dataclasses.replace(prep, **mode)
    else:
        prep = preprocessing
    kwargs.setdefault("input_shape", prep.output_shape(data_shape))
    kwargs.update(include_top=False, pooling="avg", weights=w)
    if spec.family == "inception":
        kwargs.setdefault("aux_logits", False)
    model = zoo.build_model(name, **kwargs)
    return Backbone(spec.name, "zoo", model, prep, weights=_describe(w))


def _bridged_weights_setup(name: str, weights, kwargs: dict) -> dict:
    """For ImageNet weights ported by `zoo.bridge`: the options they need and their preprocessing.

    The source is the one ``zoo.build_model(name, **kwargs, weights=weights)`` loads
    (`zoo.bridge.imagenet.source_for_weights`): keras.applications' ResNet files fit
    ``stride_on="1x1"`` and were trained on Caffe-style inputs (BGR, ImageNet mean
    subtracted); torchvision's fit the zoo's defaults and were trained on ``"torch"`` inputs
    (RGB / 255, ImageNet mean and std). The options are set here unless the caller chose
    otherwise, so ``zoo finetune resnet18 DATA --weights imagenet`` preprocesses as the
    weights expect.
    """
    from zoo.bridge.imagenet import full_options, source_for_weights
    from zoo.weights import WeightsError

    try:
        source = source_for_weights(name, weights, full_options(name, kwargs))
    except WeightsError:
        return {}  # zoo.build_model says why
    if source is None:
        return {}
    for key, value in source.options:
        kwargs.setdefault(key, value)
    return {"mode": source.preprocessing}


def _describe(weights) -> str | None:
    return None if weights is None else os.fspath(weights)


def _manifest_preprocessing(manifest: dict) -> Preprocessing:
    prep = manifest.get("preprocessing")
    if not prep:
        return Preprocessing()
    prep = dict(prep)
    return Preprocessing(mode=prep.get("mode", "scale"), scale=prep.get("scale", 1 / 255),
                         offset=prep.get("offset", 0.0))  # fmt: skip


def _sidecar_preprocessing(path: str) -> Preprocessing:
    """The preprocessing recorded next to a ``.keras`` file: a zoo manifest.json listing it
    (complete, unmodified, the file's sha256 matching: `check_manifest`), else run.json."""
    from zoo.jsonio import read_json
    from zoo.saved_models import ChecksumError, check_manifest, sha256_file

    folder, name = os.path.split(os.path.abspath(path))
    manifest = os.path.join(folder, "manifest.json")
    if os.path.isfile(manifest):
        record = read_json(manifest, dict)
        if {"format", "files", "class_names", "preprocessing"} & set(record):
            files = check_manifest(record, manifest)["files"]  # the manifest's own hash too
            if name in files:
                if sha256_file(path) != str(files[name]).lower():
                    raise ChecksumError(f"{path} does not match the sha256 in {manifest}.")
                return _manifest_preprocessing(record)
    run = os.path.join(folder, "run.json")
    if os.path.isfile(run):
        record = read_json(run, dict)
        if record.get("preprocessing"):
            return _manifest_preprocessing(record)
    return Preprocessing()


def _features_of(model):
    """The feature tensor of a trained classifier: the input of ``predictions``."""
    import keras

    try:
        head = model.get_layer("predictions")
    except ValueError:
        return model.outputs[0] if len(model.outputs) == 1 else None
    x = head.input
    producer = _producer(model, x)
    while isinstance(producer, keras.layers.Dropout):
        x = producer.input
        producer = _producer(model, x)
    return x


def _producer(model, tensor):
    """The layer of ``model`` whose output is ``tensor``, or None (public ``layer.output``)."""
    for layer in model.layers:
        try:
            output = layer.output
        except (AttributeError, ValueError):  # a layer never called, or called several times
            continue
        if output is tensor:
            return layer
    return None


def _from_model(model, kind: str, name: str, data_shape, preprocessing) -> Backbone:
    import keras

    from zoo import weights as weights_lib

    if len(model.inputs) != 1:
        raise ValueError(
            f"{name!r} has {len(model.inputs)} inputs; a backbone takes one image input."
        )
    features = _features_of(model)
    if features is None:
        raise ValueError(
            f"{name!r} has several outputs and no 'predictions' layer to cut its head at."
        )
    net = keras.Model(model.inputs, features, name=f"{model.name}_features")
    want = tuple(model.input_shape[1:])
    h, w, c = data_shape
    prep = preprocessing or Preprocessing()
    pad = None
    if want[0] is not None and (h < want[0] or w < want[1]):
        pad = (max(h, want[0]), max(w, want[1]))
    prep = dataclasses.replace(
        prep,
        pad_to=prep.pad_to or pad,
        channels=prep.channels or (want[-1] if want[-1] != c else None),
    )
    shape = prep.output_shape(data_shape)
    if want[0] is not None and tuple(shape[:2]) != tuple(want[:2]):
        rebuilt = _with_input_shape(net, shape)
        if rebuilt is None:
            raise ValueError(
                f"{name!r} takes {want[0]}x{want[1]} inputs and cannot be rebuilt for "
                f"{shape[0]}x{shape[1]} (it flattens its feature map); load the data with "
                f"image_size=({want[0]}, {want[1]})."
            )
        weights_lib.copy_weights(net, rebuilt, label=name)
        net = rebuilt
    return Backbone(name, kind, net, prep)


def _with_input_shape(model, shape):
    """The same functional graph at another input size, or None when impossible."""
    import copy

    import keras

    config = copy.deepcopy(model.get_config())
    for layer in config.get("layers", []):
        if layer.get("class_name") == "InputLayer":
            layer["config"]["batch_shape"] = [None, *shape]
    try:
        new = keras.Model.from_config(config)
    except Exception:  # noqa: BLE001 - any failure means: not rebuildable
        return None
    for old, fresh in zip(model.layers, new.layers, strict=False):
        if [tuple(w.shape) for w in old.weights] != [tuple(w.shape) for w in fresh.weights]:
            return None
    return new


# ---------------------------------------------------------------------- head
def attach_head(
    backbone_model,
    num_classes: int,
    *,
    dropout: float = 0.2,
    classifier_activation: str | None = "softmax",
    name: str | None = None,
):
    """A classifier on a feature extractor: [pool], [dropout], ``predictions``.

    The new model shares the backbone's layers (and layer names), so blocks
    can be frozen by name.

    Args:
        backbone_model: functional ``keras.Model`` from images to features.
        num_classes: classes of the new task.
        dropout: dropout rate before the classifier. Defaults to 0.2.
        classifier_activation: ``"softmax"`` (default) or None for logits.
        name: model name; defaults to ``<backbone>_transfer``.

    Returns:
        An uncompiled functional ``keras.Model``.
    """
    import keras

    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer; received {num_classes!r}.")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); received {dropout!r}.")
    clash = sorted({layer.name for layer in backbone_model.layers} & set(HEAD_LAYERS))
    if clash:
        raise ValueError(f"The backbone already has layer(s) {clash}; cut its head first.")
    x = backbone_model.outputs[0]
    if len(x.shape) == 4:
        x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    elif len(x.shape) != 2:
        x = keras.layers.Flatten(name="head_pool")(x)
    if dropout:
        x = keras.layers.Dropout(dropout, name="head_dropout")(x)
    outputs = keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions")(
        x
    )
    base = backbone_model.name.removesuffix("_features")
    return keras.Model(backbone_model.inputs, outputs, name=name or f"{base}_transfer")
