"""``keras.applications`` models as zoo backbones: their table, Keras' cache, and building.

`KERAS_APPLICATIONS` says what the zoo knows about each application (its
preprocessing convention and input sizes); `build_keras_application` builds
one with weights resolved by `zoo.weights` (None, ``"imagenet"`` through
Keras' own download and cache, or a local file), and names the missing file
when an ImageNet download fails.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
import warnings

from zoo.weights import MissingWeightsError, WeightsError, resolve

__all__ = [
    "KERAS_APPLICATIONS",
    "ApplicationInfo",
    "build_keras_application",
    "is_keras_application",
    "keras_application_info",
    "keras_home",
]


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

    # The one private-API use here: no public hook lets the applications' download use
    # today's $KERAS_HOME or report which file it asked for; the applications bind
    # keras.src.utils.file_utils.get_file, so that is what is wrapped, for this call only.
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
    input_shape = _checked_input_shape(info, input_shape)
    builder = getattr(keras.applications, name)
    args = dict(include_top=include_top, input_shape=input_shape, pooling=pooling, **kwargs)
    if resolved.kind == "file":
        return _with_weights_file(builder, args, resolved.path, name=name, extra=kwargs)
    if resolved.kind == "none":
        return builder(weights=None, **args)
    return _with_imagenet_weights(builder, args, name=name)


def _checked_input_shape(info: ApplicationInfo, input_shape):
    """``input_shape`` as a tuple of ints, at least the application's minimum size."""
    if input_shape is None:
        return None
    input_shape = tuple(int(d) for d in input_shape)
    if len(input_shape) == 3 and min(input_shape[:2]) < info.min_size:
        raise ValueError(
            f"{info.name} needs inputs of at least {info.min_size}x{info.min_size}; "
            f"received input_shape={input_shape}."
        )
    return input_shape


def _with_weights_file(builder, args: dict, path: str, *, name: str, extra: dict):
    """Builds with random weights, then loads the local weights file ``path``."""
    model = builder(weights=None, **args)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model.load_weights(path)
    except (ValueError, KeyError, OSError) as err:  # Keras' per-layer warnings are noise then
        raise WeightsError(
            f"{path!r} does not fit {name} (include_top={args['include_top']}, "
            f"input_shape={args['input_shape']}, {extra or 'default width'}): {err}"
        ) from err
    for w in caught:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return model


def _with_imagenet_weights(builder, args: dict, *, name: str):
    """Builds with ``weights="imagenet"``; a failed download names the missing file."""
    records: list = []
    try:
        with _cache_in_keras_home(records):
            return builder(weights="imagenet", **args)
    except Exception as err:
        if not records or isinstance(err, (WeightsError, TypeError)):
            raise
        asked = records[-1]
        fname = asked["fname"] or os.path.basename(str(asked["origin"]))
        path = os.path.join(keras_home(), asked["subdir"], fname)
        if os.path.isfile(path) and not isinstance(err, OSError):
            raise
        raise _missing_weights(name, err, asked, fname, path) from None


def _missing_weights(name: str, err: Exception, asked: dict, fname: str, path: str):
    """The `MissingWeightsError` for an ImageNet download of ``fname`` that failed."""
    detail = str(err).strip().splitlines()[0] if str(err).strip() else "no details"
    return MissingWeightsError(
        f"The ImageNet weights of {name} could not be downloaded ({type(err).__name__}: "
        f"{detail}). Missing file: {fname}. Download it from {asked['origin']} on a machine "
        f"with internet access and put it at {path} (Keras' cache, $KERAS_HOME/"
        f"{asked['subdir']}; KERAS_HOME defaults to ~/.keras), or pass weights=None "
        f"or the path of a local weights file.",
        fname=fname,
        path=path,
        origin=asked["origin"],
    )
