"""Transfer learning: backbones, a new head, freeze/unfreeze, the fine-tune recipe.

A backbone is named by one string:

- a zoo architecture (``"resnet20"``, ``"vgg16"``, ...), built with
  ``include_top=False``; its weights come from ``weights`` (a file or a
  checkpoint name, see `zoo.weights`);
- a ``keras.applications`` model by its Keras name (``"ResNet50"``,
  ``"MobileNetV2"``, ...), ImageNet weights by default, with its own
  ``preprocess_input`` convention recorded in the `Preprocessing`;
- a zoo checkpoint in ``saved_models/`` (``"lenet5-mnist"``): its hashes
  are checked, its classifier is cut off and its preprocessing is kept;
- the path of a ``.keras`` model (loaded with ``safe_mode=True``).

`fine_tune` follows the standard Keras recipe (Chollet, "Transfer learning
& fine-tuning", keras.io): replace the head; phase 1 trains the head with
the backbone frozen (BatchNorm in inference mode, moving statistics
untouched); phase 2 unfreezes the top blocks, BatchNorm still frozen, and
continues at a lower learning rate. Both phases run through `zoo.train`,
so augmentation, early stopping, checkpoints, resume and the doctor are the
training path's own.

Blocks are found from the deterministic layer names: ``block5_``,
``stage3_unit2_``, ``inception_5b_`` in the zoo; ``conv5_block3_``,
``block_16_``, ``block6a_``, ``mixed9`` in ``keras.applications``.

Example:

```python
result = zoo.fine_tune("MobileNetV2", "flowers/", freeze_epochs=5,
                       unfreeze=2, config=zoo.TrainConfig(epochs=10),
                       run_dir="runs/flowers", save_as="mobilenetv2-flowers")
```
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from typing import Any, Sequence

from zoo.training.preprocess import Preprocessing

__all__ = [
    "Backbone",
    "Embeddings",
    "FineTuneResult",
    "attach_head",
    "backbone_blocks",
    "embed",
    "fine_tune",
    "freeze",
    "linear_probe",
    "load_backbone",
    "unfreeze_top",
]

HEAD_LAYERS = ("head_pool", "head_dropout", "predictions")

# (pattern, closes): ``closes`` marks a name that ends its block (InceptionV3's
# ``mixedN`` concatenations follow their auto-named convolutions).
_BLOCK_PATTERNS = tuple(
    (re.compile(p, re.IGNORECASE), closes)
    for p, closes in (
        (r"^(stage\d+_unit\d+)(?:_|$)", False),  # zoo ResNet
        (r"^(conv\d+_block\d+)(?:_|$)", False),  # keras ResNet, DenseNet
        (r"^(inception_\d+[a-z])(?:_|$)", False),  # zoo GoogLeNet
        (r"^(block\d+_\d+)(?:_|$)", False),  # InceptionResNetV2 block35_1
        (r"^(block_?\d+[a-z]?)(?:_|$)", False),  # VGG, Xception, MobileNetV2, EfficientNet
        (r"^(mixed_?\d+)(?:_|$)", True),  # InceptionV3
        (r"^(expanded_conv)(?:_|$)", False),  # MobileNet(V2/V3) first block
        (r"^(stem|top)(?:_|$)", False),  # EfficientNet
        (r"^(conv_?\d+)(?:_|$)", False),  # zoo conv1/conv2, keras conv1_conv, Conv_1
        (r"^(?:bn_)?(conv_?\d+)$", False),  # MobileNetV2 bn_Conv1
        (r"^(pool\d+)(?:_|$)", False),  # DenseNet transitions
        (r"^([cs]\d+)(?:_|$)", False),  # LeNet-5 c1/s2
        (r"^(dense\d+|fc\d+)(?:_|$)", False),  # MLP, VGG/AlexNet fc
    )
)


def _block_key(name: str) -> tuple[str | None, bool]:
    for pattern, closes in _BLOCK_PATTERNS:
        match = pattern.match(name)
        if match:
            return match.group(1), closes
    return None, False


# ------------------------------------------------------------------ backbone
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
        raise ValueError(f"Backbones take images (height, width, channels); received data of shape {data_shape}.")
    kwargs = dict(model_kwargs or {})
    if isinstance(backbone, keras.Model):
        return _from_model(backbone, "model", getattr(backbone, "name", "model"), data_shape, preprocessing)
    if not isinstance(backbone, (str, os.PathLike)):
        raise ValueError(f"backbone must be a name, a '.keras' path or a keras.Model; received {backbone!r}.")
    name = os.fspath(backbone)
    if weights_lib.is_keras_application(name):
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
    if pretrained.is_valid_name(name) and pretrained.exists(name, root=root) and not os.path.exists(name):
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
    if name.lower().endswith((".keras", ".h5", ".hdf5", ".pkl", ".pickle", ".pt", ".pb")) or os.path.isdir(name):
        from zoo.saving import load_model

        model = load_model(name)  # refuses everything but .keras
        prep = preprocessing or _sidecar_preprocessing(name)
        out = _from_model(model, "file", name, data_shape, prep)
        out.weights = name
        return out
    import zoo

    spec = zoo.get_spec(name)  # UnknownModelError with suggestions
    w = None if weights == "default" else weights
    from zoo.training.preprocess import for_model

    channels = None
    resolved = weights_lib.resolve(w, root=root)
    mode = {}
    if resolved.kind == "pretrained":
        manifest = pretrained.read_manifest(resolved.name, root)
        channels = (manifest.get("input_shape") or [None])[-1]
        base = _manifest_preprocessing(manifest)
        mode = dict(mode=base.mode, scale=base.scale, offset=base.offset)
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
    """The preprocessing recorded next to a ``.keras`` file (run.json / manifest.json)."""
    folder = os.path.dirname(os.path.abspath(path))
    for sidecar in ("manifest.json", "run.json"):
        file = os.path.join(folder, sidecar)
        if os.path.isfile(file):
            try:
                with open(file, encoding="utf-8") as fh:
                    record = json.load(fh)
            except (OSError, ValueError):
                continue
            if isinstance(record, dict) and record.get("preprocessing"):
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
    producer = x._keras_history.operation if hasattr(x, "_keras_history") else None
    while isinstance(producer, keras.layers.Dropout):
        x = producer.input
        producer = x._keras_history.operation
    return x


def _from_model(model, kind: str, name: str, data_shape, preprocessing) -> Backbone:
    import keras

    from zoo import weights as weights_lib

    if len(model.inputs) != 1:
        raise ValueError(f"{name!r} has {len(model.inputs)} inputs; a backbone takes one image input.")
    features = _features_of(model)
    if features is None:
        raise ValueError(f"{name!r} has several outputs and no 'predictions' layer to cut its head at.")
    net = keras.Model(model.inputs, features, name=f"{model.name}_features")
    want = tuple(model.input_shape[1:])
    h, w, c = data_shape
    prep = preprocessing or Preprocessing()
    pad = None
    if want[0] is not None and (h < want[0] or w < want[1]):
        pad = (max(h, want[0]), max(w, want[1]))
    prep = dataclasses.replace(
        prep, pad_to=prep.pad_to or pad, channels=prep.channels or (want[-1] if want[-1] != c else None)
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
    for old, fresh in zip(model.layers, new.layers):
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
    outputs = keras.layers.Dense(num_classes, activation=classifier_activation, name="predictions")(x)
    base = backbone_model.name.removesuffix("_features")
    return keras.Model(backbone_model.inputs, outputs, name=name or f"{base}_transfer")


# ---------------------------------------------------------- freeze/unfreeze
def _is_batch_norm(layer) -> bool:
    import keras

    return isinstance(layer, keras.layers.BatchNormalization)


def backbone_blocks(model, layer_names: Sequence[str] | None = None) -> list[tuple[str, list]]:
    """Groups a model's layers into blocks by name prefix, bottom to top.

    Args:
        model: the model.
        layer_names: only these layers (e.g. the backbone's); default: all
            but the inputs and the head (`HEAD_LAYERS`).

    Returns:
        ``[(block name, [layers])]`` in graph order. Layers without a block
        name join the block before them (the ``"stem"`` before the first);
        with InceptionV3-style names (``mixedN`` closing a block) they join
        the block after. Blocks without weights merge into the previous one.
    """
    import keras

    keep = None if layer_names is None else set(layer_names)
    layers = [
        layer
        for layer in model.layers
        if not isinstance(layer, keras.layers.InputLayer)
        and (layer.name in keep if keep is not None else layer.name not in HEAD_LAYERS)
    ]
    keys = [_block_key(layer.name) for layer in layers]
    closing = any(closes for _, closes in keys)
    blocks: list[list] = []
    pending: list = []
    for layer, (key, closes) in zip(layers, keys):
        if key is None:
            if closing:
                pending.append(layer)
            elif blocks:
                blocks[-1][1].append(layer)
            else:
                blocks.append(["stem", [layer]])
            continue
        members = (pending if closing else []) + [layer]
        pending = [] if closing else pending
        if blocks and blocks[-1][0] == key:
            blocks[-1][1].extend(members)
        else:
            blocks.append([key, members])
    if pending:
        if blocks:
            blocks[-1][1].extend(pending)
        else:
            blocks.append(["stem", pending])
    merged: list[list] = []
    for key, members in blocks:
        if merged and not any(layer.weights for layer in members):
            merged[-1][1].extend(members)
        else:
            merged.append([key, members])
    if len(merged) > 1 and not any(layer.weights for layer in merged[0][1]):
        merged[1][1][:0] = merged[0][1]
        merged.pop(0)
    return [(key, members) for key, members in merged]


def freeze(model, layer_names: Sequence[str]) -> None:
    """Freezes the named layers (BatchNorm then runs in inference mode)."""
    names = set(layer_names)
    for layer in model.layers:
        if layer.name in names:
            layer.trainable = False


def unfreeze_top(model, layer_names: Sequence[str], unfreeze) -> list[str]:
    """Unfreezes the top of the backbone; BatchNorm layers stay frozen.

    Args:
        model: the model holding the backbone's layers.
        layer_names: the backbone's layer names.
        unfreeze: an int K (the top K blocks, see `backbone_blocks`),
            ``"all"``, or a layer-name prefix: every backbone layer from the
            first whose name starts with it, to the top (e.g. ``"block5_"``,
            ``"conv5_block3_"``, ``"mixed9"``).

    Returns:
        Names of the layers made trainable (BatchNorm excluded).

    Raises:
        ValueError: K beyond the number of blocks, or a prefix no layer has.
    """
    blocks = backbone_blocks(model, layer_names)
    ordered = [layer for _, members in blocks for layer in members]
    if isinstance(unfreeze, bool) or not isinstance(unfreeze, (int, str)):
        raise ValueError(f"unfreeze must be a block count or a layer-name prefix; received {unfreeze!r}.")
    if isinstance(unfreeze, str) and unfreeze.isdigit():
        unfreeze = int(unfreeze)
    if isinstance(unfreeze, int):
        if unfreeze < 0 or unfreeze > len(blocks):
            raise ValueError(
                f"unfreeze={unfreeze}: the backbone has {len(blocks)} blocks "
                f"({_block_list(blocks)}); choose 0..{len(blocks)} or a layer-name prefix."
            )
        chosen = [layer for _, members in blocks[len(blocks) - unfreeze:] for layer in members]
    elif unfreeze == "all":
        chosen = ordered
    else:
        start = next((i for i, layer in enumerate(ordered) if layer.name.startswith(unfreeze)), None)
        if start is None:
            raise ValueError(
                f"No backbone layer name starts with {unfreeze!r}; blocks: {_block_list(blocks)}."
            )
        chosen = ordered[start:]
    names = []
    for layer in chosen:
        if _is_batch_norm(layer):
            layer.trainable = False
            continue
        layer.trainable = True
        if layer.weights:
            names.append(layer.name)
    return names


def _block_list(blocks) -> str:
    keys = [key for key, _ in blocks]
    if len(keys) > 12:
        keys = keys[:4] + ["..."] + keys[-6:]
    return ", ".join(keys)


# ---------------------------------------------------------------- fine-tune
@dataclasses.dataclass
class FineTuneResult:
    """What `fine_tune` returns; the attributes of `TrainResult` plus the phases.

    Attributes:
        model: the fine-tuned model.
        history: both phases, epochs numbered continuously, with a
            ``"phase"`` column (1 or 2).
        metrics: test metrics of the final model (when there is a test split).
        run_dir: the run directory (``<run_dir>/phase1-head`` and
            ``<run_dir>/phase2-finetune`` hold the phases' runs), or None.
        class_names: class names in label order.
        preprocessing: the `Preprocessing` the model expects.
        backbone: the `Backbone` it started from (name, kind, weights).
        phase1: the head phase's `TrainResult`.
        phase2: the fine-tuning phase's `TrainResult`, or None.
        unfrozen: layers trained in phase 2.
        published: the checkpoint folder when ``save_as`` was given.
    """

    model: Any
    history: dict
    metrics: dict
    run_dir: str | None
    class_names: tuple
    preprocessing: Preprocessing
    backbone: Backbone
    phase1: Any
    phase2: Any = None
    unfrozen: list = dataclasses.field(default_factory=list)
    published: str | None = None

    @property
    def status(self) -> str:
        return (self.phase2 or self.phase1).status


PHASE_DIRS = ("phase1-head", "phase2-finetune")


def fine_tune(
    backbone,
    data,
    *,
    weights="default",
    freeze_epochs: int = 5,
    unfreeze=1,
    fine_tune_lr: float | None = None,
    config=None,
    run_dir: str | os.PathLike | None = None,
    resume: bool = False,
    force: bool = False,
    save_as: str | None = None,
    overwrite: bool = False,
    linear_probe: bool = False,
    head_dropout: float = 0.2,
    model_kwargs: dict | None = None,
    preprocessing: Preprocessing | None = None,
    callbacks=(),
    verbose: int | str = "auto",
    root=None,
) -> FineTuneResult:
    """Fine-tunes a backbone on a new classification data set, in two phases.

    1. The head is replaced by a classifier for the data's classes (class
       names from the folder, index order kept).
    2. Phase 1: the backbone is frozen (BatchNorm in inference mode, its
       moving statistics untouched); the head trains ``freeze_epochs``
       epochs at ``config.learning_rate``.
    3. Phase 2: the top ``unfreeze`` blocks are unfrozen (BatchNorm still
       frozen) and training continues ``config.epochs`` epochs at
       ``fine_tune_lr``. Skipped when ``unfreeze`` is 0 or ``linear_probe``.

    Both phases run through `zoo.train` (one training path): augmentation,
    early stopping, checkpoints, resume and the doctor come from the config.

    Args:
        backbone: see `load_backbone`.
        data: folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``DataBundle``. Grayscale data on an RGB backbone is repeated to
            3 channels; smaller images are padded to the backbone's minimum.
        weights: see `load_backbone` (default: the backbone's pretrained
            weights; random for a bare zoo architecture).
        freeze_epochs: epochs of phase 1. Defaults to 5.
        unfreeze: top blocks to unfreeze in phase 2 (int), ``"all"``, or a
            layer-name prefix (see `unfreeze_top`). Defaults to 1.
        fine_tune_lr: phase-2 learning rate; default ``learning_rate / 10``.
        config: ``TrainConfig`` (or dict/path); ``epochs`` are phase 2's.
        run_dir: run directory (one sub-folder per phase).
        resume: continue a killed fine-tune in ``run_dir``.
        force: resume even if something changed.
        save_as: publish the final model to ``saved_models/<save_as>``.
        overwrite: replace an existing run directory / checkpoint.
        linear_probe: only phase 1, for ``config.epochs`` epochs: a linear
            classifier (``head_dropout`` 0) on frozen features.
        head_dropout: dropout before the new classifier. Defaults to 0.2.
        model_kwargs: backbone builder arguments.
        preprocessing: overrides the backbone's preprocessing.
        callbacks: extra Keras callbacks for both phases.
        verbose: Keras verbosity.
        root: saved-models folder.

    Returns:
        A `FineTuneResult`.

    Raises:
        ValueError: bad arguments, data, backbone or weights.
    """
    from zoo.training.fit import as_config, load_data, train

    config = as_config(config)
    if isinstance(freeze_epochs, bool) or not isinstance(freeze_epochs, int) or freeze_epochs < 0:
        raise ValueError(f"freeze_epochs must be a non-negative integer; received {freeze_epochs!r}.")
    if fine_tune_lr is None:
        fine_tune_lr = config.learning_rate / 10
    if not fine_tune_lr > 0:
        raise ValueError(f"fine_tune_lr must be > 0; received {fine_tune_lr!r}.")
    if linear_probe:
        head_dropout, unfreeze = 0.0, 0
        freeze_epochs = config.epochs
    if freeze_epochs < 1 and unfreeze in (0, "0"):
        raise ValueError("Nothing to train: freeze_epochs=0 and unfreeze=0.")
    bundle = load_data(data, config)
    bb = load_backbone(
        backbone, bundle.input_shape, weights=weights, model_kwargs=model_kwargs,
        preprocessing=preprocessing, root=root,
    )  # fmt: skip
    names = [n for n in bb.layer_names]
    activation = None if (config.from_logits or config.loss in ("svm_hinge", "hinge_cs")) else "softmax"
    model = attach_head(bb.model, bundle.num_classes, dropout=head_dropout, classifier_activation=activation)
    freeze(model, names)

    dirs = [None, None] if run_dir is None else [os.path.join(os.fspath(run_dir), d) for d in PHASE_DIRS]
    common = dict(force=force, preprocessing=bb.preprocessing, callbacks=callbacks, verbose=verbose,
                  overwrite=overwrite)  # fmt: skip
    do_phase2 = unfreeze not in (0, "0")

    phase1 = None
    if freeze_epochs >= 1:
        cfg1 = config.replace(epochs=freeze_epochs, warmup_epochs=0)
        phase1 = train(
            model, bundle, cfg1, run_dir=dirs[0], resume=_resumable(resume, dirs[0]),
            evaluate_test=not do_phase2, **common,
        )  # fmt: skip
        model = phase1.model
        if phase1.status == "diverged":
            do_phase2 = False
    phase2, unfrozen = None, []
    if do_phase2:
        unfrozen = unfreeze_top(model, names, unfreeze)
        cfg2 = config.replace(learning_rate=fine_tune_lr)
        phase2 = train(model, bundle, cfg2, run_dir=dirs[1], resume=_resumable(resume, dirs[1]), **common)
        model = phase2.model
    final = phase2 or phase1
    history = _join_histories(phase1, phase2)
    result = FineTuneResult(
        model=model,
        history=history,
        metrics=dict(final.metrics),
        run_dir=None if run_dir is None else os.path.abspath(os.fspath(run_dir)),
        class_names=tuple(bundle.class_names),
        preprocessing=bb.preprocessing,
        backbone=bb,
        phase1=phase1,
        phase2=phase2,
        unfrozen=unfrozen,
    )
    if save_as and final.status != "diverged":
        result.published = str(_publish(result, final, save_as, overwrite=overwrite, root=root,
                                        settings=dict(freeze_epochs=freeze_epochs, unfreeze=unfreeze,
                                                      fine_tune_lr=fine_tune_lr, linear_probe=linear_probe,
                                                      head_dropout=head_dropout)))  # fmt: skip
    return result


def linear_probe(backbone, data, **kwargs) -> FineTuneResult:
    """A linear classifier on frozen features: ``fine_tune(..., linear_probe=True)``."""
    return fine_tune(backbone, data, linear_probe=True, **kwargs)


def _resumable(resume: bool, run_dir) -> bool:
    from zoo.training.runs import RunDirectory

    return bool(resume and run_dir is not None and RunDirectory(run_dir).exists)


def _join_histories(phase1, phase2) -> dict:
    out: dict[str, list] = {"epoch": [], "phase": []}
    offset = 0
    for number, phase in ((1, phase1), (2, phase2)):
        if phase is None:
            continue
        hist = phase.history or {}
        n = len(hist.get("epoch", hist.get("loss", [])))
        for key, values in hist.items():
            if key == "epoch":
                continue
            column = out.setdefault(key, [None] * len(out["epoch"]))
            column.extend(list(values)[:n] + [None] * (n - len(values)))
        out["epoch"].extend(range(offset + 1, offset + n + 1))
        out["phase"].extend([number] * n)
        for key, column in out.items():
            column.extend([None] * (len(out["epoch"]) - len(column)))
        offset += n
    return out


def _publish(result: FineTuneResult, final, name: str, *, overwrite: bool, root, settings: dict):
    from zoo.training.fit import publish_result

    bb = result.backbone
    extra = {
        "architecture": None,
        "backbone": {"name": bb.name, "kind": bb.kind, "weights": bb.weights},
        "transfer": dict(settings),
        "metrics": result.metrics,
        "epochs": len(result.history.get("epoch", [])),
        "run_dir": result.run_dir,
    }
    return publish_result(final, name, overwrite=overwrite, root=root, extra=extra)


# -------------------------------------------------------------------- embed
@dataclasses.dataclass
class Embeddings:
    """Features of one split: ``features`` (N, D) float32, ``labels`` (N,) int32."""

    features: Any
    labels: Any
    class_names: tuple
    split: str
    backbone: str

    def save(self, folder) -> dict[str, str]:
        """Writes ``features_<split>.npy``, ``labels_<split>.npy`` and ``class_names.json``.

        Returns:
            ``{"features": path, "labels": path, "class_names": path}``.
        """
        import numpy as np

        from zoo.saving import atomic_write

        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        paths = {
            "features": os.path.join(folder, f"features_{self.split}.npy"),
            "labels": os.path.join(folder, f"labels_{self.split}.npy"),
            "class_names": os.path.join(folder, "class_names.json"),
        }

        def npy(array):
            def write(tmp):
                with open(tmp, "wb") as fh:
                    np.save(fh, array, allow_pickle=False)

            return write

        atomic_write(paths["features"], npy(self.features), suffix=".npy")
        atomic_write(paths["labels"], npy(self.labels), suffix=".npy")
        text = json.dumps({"class_names": list(self.class_names), "backbone": self.backbone}, indent=2)

        def write_json(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")

        atomic_write(paths["class_names"], write_json, suffix=".json")
        return paths


def embed(
    backbone,
    data,
    *,
    split: str = "train",
    weights="default",
    batch_size: int = 64,
    model_kwargs: dict | None = None,
    preprocessing: Preprocessing | None = None,
    root=None,
) -> Embeddings:
    """Computes the features a backbone gives one split of a data set.

    Args:
        backbone: see `load_backbone` (a fine-tuned ``.keras`` model gives
            the features its classifier sees).
        data: folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``DataBundle``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        weights: see `load_backbone`.
        batch_size: inference batch size.
        model_kwargs: backbone builder arguments.
        preprocessing: overrides the backbone's preprocessing.
        root: saved-models folder.

    Returns:
        `Embeddings` (features globally average-pooled when spatial).
    """
    import numpy as np

    from zoo import data as data_lib

    if isinstance(data, data_lib.DataBundle):
        bundle = data
    else:
        bundle = data_lib.load(data, batch_size=batch_size, validation_split=0.0 if split == "train" else 0.1)
    part = bundle.get(split)
    if part is None:
        raise ValueError(f"{bundle.source} has no {split!r} split.")
    bb = load_backbone(backbone, bundle.input_shape, weights=weights, model_kwargs=model_kwargs,
                       preprocessing=preprocessing, root=root)  # fmt: skip
    batches = [part] if isinstance(part, tuple) else (part[i] for i in range(len(part)))
    feats, labels = [], []
    for x, y in batches:
        for start in range(0, len(y), batch_size):
            out = np.asarray(bb.model.predict_on_batch(bb.preprocessing(x[start:start + batch_size])))
            if out.ndim > 2:
                out = out.reshape(out.shape[0], -1, out.shape[-1]).mean(axis=1)
            feats.append(out.astype("float32"))
        labels.append(np.asarray(y).reshape(-1).astype("int32"))
    return Embeddings(np.concatenate(feats), np.concatenate(labels), tuple(bundle.class_names), split, bb.name)
