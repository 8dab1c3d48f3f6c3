"""The one place weights are resolved and loaded.

``weights`` is one of:

- ``None``: random initialization;
- ``"imagenet"``: the ImageNet weights of a ``keras.applications`` model,
  fetched by Keras' own download and cache (``$KERAS_HOME/models``, by
  default ``~/.keras/models``); offline, the error names the file that is
  missing and where to put it. The zoo's own architectures have no ImageNet
  weights;
- the path of a local file: a Keras weights file (``*.weights.h5``; for a
  ``keras.applications`` model also a legacy ``*.h5`` weights file) or a
  ``.keras`` model, loaded with ``safe_mode=True``, whose weights are copied
  layer by layer (by name, so a model with its top fits a backbone without);
- the name of a checkpoint in ``saved_models/`` (``zoo.pretrained``), whose
  files are checked against their sha256 before loading.

Example:

```python
model = zoo.build_model("lenet5", include_top=False, weights="lenet5-mnist")
backbone = build_keras_application("MobileNetV2", weights="imagenet",
                                   input_shape=(96, 96, 3))
```
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import warnings

__all__ = [
    "KERAS_APPLICATIONS",
    "MissingWeightsError",
    "WeightsError",
    "build_keras_application",
    "copy_weights",
    "is_keras_application",
    "keras_application_info",
    "keras_home",
    "load_weights",
    "resolve",
]


class WeightsError(ValueError):
    """Weights that cannot be found or do not fit the model."""


class MissingWeightsError(WeightsError):
    """Downloadable weights that could not be had (offline, blocked, ...).

    Attributes:
        fname: the file Keras looks for, e.g.
            ``"resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"``.
        path: where Keras' cache expects it (``$KERAS_HOME/models/<fname>``).
        origin: the URL Keras downloads it from.
    """

    def __init__(self, message: str, *, fname: str, path: str, origin: str | None):
        super().__init__(message)
        self.fname = fname
        self.path = path
        self.origin = origin


@dataclasses.dataclass(frozen=True)
class ApplicationInfo:
    """What the zoo needs to know about one ``keras.applications`` model.

    Attributes:
        name: Keras' name, e.g. ``"ResNet50"``.
        preprocessing: its ``preprocess_input`` convention: ``"caffe"``,
            ``"torch"``, ``"tf"`` or ``"none"`` (the model rescales inside;
            it takes raw 0..255 pixels).
        min_size: smallest height/width Keras accepts.
        default_size: the ImageNet input size.
    """

    name: str
    preprocessing: str
    min_size: int = 32
    default_size: int = 224


def _table() -> dict[str, ApplicationInfo]:
    rows: list[tuple[str, str, int, int]] = []
    rows += [
        (n, "caffe", 32, 224) for n in ("VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152")
    ]
    rows += [(n, "tf", 32, 224) for n in ("ResNet50V2", "ResNet101V2", "ResNet152V2")]
    rows += [("MobileNet", "tf", 32, 224), ("MobileNetV2", "tf", 32, 224)]
    rows += [("NASNetMobile", "tf", 32, 224), ("NASNetLarge", "tf", 32, 331)]
    rows += [("InceptionV3", "tf", 75, 299), ("InceptionResNetV2", "tf", 75, 299)]
    rows += [("Xception", "tf", 71, 299)]
    rows += [(f"DenseNet{d}", "torch", 32, 224) for d in (121, 169, 201)]
    sizes = (224, 240, 260, 300, 380, 456, 528, 600)
    rows += [(f"EfficientNetB{i}", "none", 32, s) for i, s in enumerate(sizes)]
    rows += [
        (f"EfficientNetV2{v}", "none", 32, s)
        for v, s in (
            ("B0", 224),
            ("B1", 240),
            ("B2", 260),
            ("B3", 300),
            ("S", 384),
            ("M", 480),
            ("L", 480),
        )
    ]
    rows += [
        (f"ConvNeXt{v}", "none", 32, 224) for v in ("Tiny", "Small", "Base", "Large", "XLarge")
    ]
    rows += [("MobileNetV3Small", "none", 32, 224), ("MobileNetV3Large", "none", 32, 224)]
    return {name: ApplicationInfo(name, mode, lo, size) for name, mode, lo, size in rows}


#: ``keras.applications`` models usable as backbones, by Keras' name.
KERAS_APPLICATIONS: dict[str, ApplicationInfo] = _table()


def is_keras_application(name) -> bool:
    """Whether ``name`` is a ``keras.applications`` model the zoo knows (exact case)."""
    return isinstance(name, str) and name in KERAS_APPLICATIONS


def keras_application_info(name: str) -> ApplicationInfo:
    """The `ApplicationInfo` of a ``keras.applications`` model.

    Raises:
        WeightsError: for an unknown name, suggesting close ones.
    """
    if not is_keras_application(name):
        import difflib

        close = difflib.get_close_matches(str(name), list(KERAS_APPLICATIONS), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise WeightsError(f"{name!r} is not a keras.applications model.{hint}")
    return KERAS_APPLICATIONS[name]


def keras_home() -> str:
    """Keras' cache folder: ``$KERAS_HOME`` if set, else ``~/.keras``.

    Read at call time (Keras itself reads it once, at import), so a process
    may point it elsewhere after importing Keras.
    """
    home = os.environ.get("KERAS_HOME")
    if home:
        return os.path.abspath(os.path.expanduser(home))
    return os.path.join(os.path.expanduser("~"), ".keras")


# ------------------------------------------------------------------- resolve
@dataclasses.dataclass(frozen=True)
class ResolvedWeights:
    """What a ``weights`` argument names.

    Attributes:
        kind: ``"none"``, ``"imagenet"``, ``"file"`` or ``"pretrained"``.
        path: the file to load (``"file"``: the path given; ``"pretrained"``:
            the checkpoint's ``model.keras``), else None.
        name: the checkpoint name for ``"pretrained"``, else None.
    """

    kind: str
    path: str | None = None
    name: str | None = None


def resolve(weights, *, root=None) -> ResolvedWeights:
    """Says what ``weights`` names, without loading anything.

    Args:
        weights: None, ``"imagenet"``, a file path or a checkpoint name.
        root: the saved-models folder (default: `zoo.pretrained.saved_models_root`).

    Raises:
        WeightsError: for a string that is neither an existing file nor a
            checkpoint, listing the checkpoints there are.
    """
    if weights is None:
        return ResolvedWeights("none")
    if isinstance(weights, str) and weights.lower() == "imagenet":
        return ResolvedWeights("imagenet")
    if not isinstance(weights, (str, os.PathLike)):
        raise WeightsError(
            f"weights must be None, 'imagenet', a file path or a checkpoint name; "
            f"received {type(weights).__name__}."
        )
    path = os.fspath(weights)
    if os.path.isfile(path):
        return ResolvedWeights("file", path=path)
    from zoo import pretrained

    if pretrained.is_valid_name(path) and pretrained.exists(path, root=root):
        return ResolvedWeights("pretrained", path=pretrained.model_path(path, root=root), name=path)
    names = pretrained.list_pretrained(root=root)
    shown = ", ".join(map(repr, names)) if names else "none"
    raise WeightsError(
        f"Weights {path!r} not found: it is neither a file nor a checkpoint in "
        f"{pretrained.saved_models_root(root)} (checkpoints there: {shown}). Pass "
        f"weights=None for random initialization, 'imagenet' for a keras.applications "
        f"model, the path of a '.weights.h5'/'.keras' file, or a checkpoint name."
    )


# ---------------------------------------------------------------------- load
def load_weights(model, weights, *, root=None) -> None:
    """Loads ``weights`` into a built zoo ``model`` in place.

    A ``.keras`` file or checkpoint is copied layer by layer, by name: every
    layer of ``model`` that has weights must exist in the source with the
    same weight shapes; source layers ``model`` lacks (a classifier top) are
    ignored. If no layer names match at all, the weights are copied in order
    when the shapes agree.

    Raises:
        WeightsError: when the weights are missing, of an unsupported kind,
            do not match the architecture, or are ``"imagenet"`` (the zoo's
            architectures ship no ImageNet weights).
    """
    resolved = resolve(weights, root=root)
    if resolved.kind == "none":
        return
    if resolved.kind == "imagenet":
        raise WeightsError(
            f"{model.name!r} is a zoo architecture; there are no ImageNet weights for it. "
            f"Use a keras.applications backbone (e.g. 'ResNet50', 'MobileNetV2') for "
            f"ImageNet weights, or a zoo checkpoint (`zoo.list_pretrained()`)."
        )
    if resolved.kind == "pretrained":
        from zoo import pretrained

        copy_weights(
            pretrained.load_pretrained(resolved.name, root=root), model, label=resolved.name
        )
        return
    path = resolved.path
    lower = path.lower()
    if lower.endswith(".weights.h5"):
        try:
            model.load_weights(path)
        except (ValueError, KeyError) as err:
            raise WeightsError(f"{path!r} does not fit model {model.name!r}: {err}") from err
        return
    if lower.endswith(".keras"):
        from zoo.saving import load_model

        copy_weights(load_model(path), model, label=path)
        return
    raise WeightsError(
        f"Unsupported weights file {path!r}: expected a '.weights.h5' file or a '.keras' model."
    )


def copy_weights(source, target, *, label: str | None = None) -> None:
    """Copies weights from ``source`` into ``target`` by layer name (see `load_weights`).

    Raises:
        WeightsError: when a layer of ``target`` is missing from ``source`` or
            its weight shapes differ.
    """
    label = label or getattr(source, "name", "source")
    by_name = {layer.name: layer for layer in _flat_layers(source)}
    targets = [layer for layer in _flat_layers(target) if layer.weights]
    if targets and not any(layer.name in by_name for layer in targets):
        src, dst = source.weights, target.weights
        if [tuple(w.shape) for w in src] != [tuple(w.shape) for w in dst]:
            raise WeightsError(
                f"{label!r} holds a model whose weights do not match {target.name!r}: no "
                f"layer names in common and {len(src)} vs {len(dst)} weight tensors."
            )
        for s, d in zip(src, dst, strict=False):
            d.assign(s)
        return
    pairs = []
    for layer in targets:
        other = by_name.get(layer.name)
        if other is None:
            raise WeightsError(
                f"{label!r} does not fit {target.name!r}: it has no layer {layer.name!r}."
            )
        theirs = [tuple(w.shape) for w in other.weights]
        ours = [tuple(w.shape) for w in layer.weights]
        if theirs != ours:
            raise WeightsError(
                f"{label!r} does not fit {target.name!r}: layer {layer.name!r} has weights "
                f"{theirs} there and {ours} here (a different input size, width or class count?)."
            )
        pairs.append((layer, other))
    for layer, other in pairs:
        for d, s in zip(layer.weights, other.weights, strict=False):
            d.assign(s)


def _flat_layers(model):
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.weights:
            out.extend(_flat_layers(layer))
        else:
            out.append(layer)
    return out


# ------------------------------------------------------- keras.applications
_FETCH_LOCK = threading.Lock()


@contextlib.contextmanager
def _cache_in_keras_home(records: list):
    """Routes the applications' downloads through ``keras.utils.get_file`` into `keras_home`.

    Keras' applications call ``keras.src.utils.file_utils.get_file`` with the
    cache folder Keras read at import; this honours ``$KERAS_HOME`` as it is
    now and records which file was asked for, so a failed download can say
    exactly what is missing. Keras' own download and cache do the work.
    """
    import keras

    try:
        from keras.src.utils import file_utils
    except ImportError:  # a future Keras moved it: plain behaviour
        yield
        return
    original = file_utils.get_file
    home = keras_home()

    def get_file(fname=None, origin=None, *args, **kwargs):
        kwargs.setdefault("cache_dir", home)
        records.append(
            {"fname": fname, "origin": origin, "subdir": kwargs.get("cache_subdir", "datasets")}
        )
        public = keras.utils.get_file
        fetch = original if public is original else public  # tests may stub the public one
        return fetch(fname, origin, *args, **kwargs)

    with _FETCH_LOCK:
        file_utils.get_file = get_file
        try:
            yield
        finally:
            file_utils.get_file = original


def build_keras_application(
    name: str,
    *,
    weights=None,
    input_shape=None,
    include_top: bool = False,
    pooling=None,
    **kwargs,
):
    """Builds a ``keras.applications`` model with resolved weights.

    Args:
        name: Keras' name, e.g. ``"ResNet50"`` (see `KERAS_APPLICATIONS`).
        weights: None, ``"imagenet"`` (Keras' download and cache) or the path
            of a weights file (``.weights.h5``, a legacy ``.h5`` weights file
            or a ``.keras`` model) for exactly this model.
        input_shape: ``(height, width, 3)``; at least the model's minimum.
        include_top: keep the ImageNet classifier. Defaults to False.
        pooling: None, ``"avg"`` or ``"max"``.
        **kwargs: other arguments of the application (``alpha``, ...).

    Returns:
        The ``keras.Model``.

    Raises:
        MissingWeightsError: ``"imagenet"`` weights that could not be
            downloaded; the message names the file and where to put it.
        WeightsError: a missing or unfitting weights file, or a checkpoint
            name (those hold zoo models, not ``keras.applications`` ones).
        ValueError: Keras' own argument checks (e.g. an input too small).
    """
    import keras

    info = keras_application_info(name)
    resolved = resolve(weights)
    if resolved.kind == "pretrained":
        raise WeightsError(
            f"{weights!r} is a zoo checkpoint; use it as the backbone itself "
            f"(backbone={weights!r}) rather than as weights for {name}."
        )
    if input_shape is not None:
        input_shape = tuple(int(d) for d in input_shape)
        if len(input_shape) == 3 and min(input_shape[:2]) < info.min_size:
            raise ValueError(
                f"{name} needs inputs of at least {info.min_size}x{info.min_size}; "
                f"received input_shape={input_shape}."
            )
    builder = getattr(keras.applications, name)
    args = dict(include_top=include_top, input_shape=input_shape, pooling=pooling, **kwargs)
    if resolved.kind == "file":
        model = builder(weights=None, **args)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                model.load_weights(resolved.path)
        except (ValueError, KeyError, OSError) as err:  # Keras' per-layer warnings are noise then
            raise WeightsError(
                f"{resolved.path!r} does not fit {name} (include_top={include_top}, "
                f"input_shape={input_shape}, {kwargs or 'default width'}): {err}"
            ) from err
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        return model
    if resolved.kind == "none":
        return builder(weights=None, **args)
    records: list = []
    try:
        with _cache_in_keras_home(records):
            return builder(weights="imagenet", **args)
    except Exception as err:
        if not records or isinstance(err, (WeightsError, TypeError)):
            raise
        asked = records[-1]
        fname = asked["fname"] or os.path.basename(str(asked["origin"]))
        folder = os.path.join(keras_home(), asked["subdir"])
        path = os.path.join(folder, fname)
        if os.path.isfile(path) and not isinstance(err, OSError):
            raise
        raise MissingWeightsError(
            f"The ImageNet weights of {name} could not be downloaded ({type(err).__name__}: "
            f"{str(err).strip().splitlines()[0] if str(err).strip() else 'no details'}). "
            f"Missing file: {fname}. Download it from {asked['origin']} on a machine with "
            f"internet access and put it at {path} (Keras' cache, $KERAS_HOME/"
            f"{asked['subdir']}; KERAS_HOME defaults to ~/.keras), or pass weights=None "
            f"or the path of a local weights file.",
            fname=fname,
            path=path,
            origin=asked["origin"],
        ) from None
