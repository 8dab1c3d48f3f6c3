"""Which ImageNet source ``weights=`` names for a zoo architecture, and loading torch files.

``weights`` for the zoo's own architectures may be:

- ``"imagenet:keras"``: the ``keras.applications`` ``.h5`` file (`zoo.bridge.keras_h5`);
- ``"imagenet:torchvision"``: torchvision's DEFAULT weights for the architecture (V2 for
  ResNet-50/101/152, V1 for the others); ``"imagenet:torchvision-v1"`` / ``-v2`` a given one;
- ``"imagenet"``: the first source in that order (keras.applications, then torchvision)
  whose options fit the model as built, defaults included. So ``vgg16``, ``vgg19`` and
  ``resnet50/101/152`` with ``stride_on="1x1"`` get the keras.applications files (as before);
  ``resnet50/101/152`` with the zoo's default ``stride_on="3x3"`` (v1.5), ``resnet18/34``,
  ``vgg11/13`` and every ``vgg*_bn`` get torchvision's;
- the path of a torchvision ``.pth`` or timm ``model.safetensors`` file
  (`load_torch_file`), mapped by the architecture's mapper.

torchvision's files are cached like Keras' (``$KERAS_HOME/models``, `cached_torch_file`).
"""

from __future__ import annotations

import dataclasses
import os

from zoo.bridge.mapping import KerasSource, check_options, keras_source, source_kind
from zoo.bridge.torchvision import TorchSource, mapper_of, source_of_torch_file, torch_sources
from zoo.weights import IMAGENET_SOURCES, WeightsError

__all__ = [
    "SOURCE_NAMES",
    "assign_state",
    "choose_source",
    "full_options",
    "load_imagenet",
    "load_torch_file",
    "source_for_weights",
    "sources_of",
]

#: ``weights="imagenet:<name>"`` names, for the zoo's own architectures.
SOURCE_NAMES = IMAGENET_SOURCES


def sources_of(arch: str, requested: str | None = None) -> list:
    """``arch``'s sources in preference order, only the ``requested`` one(s) if given."""
    keras = [keras_source(arch)] if keras_source(arch) else []
    torch = torch_sources(arch)
    if requested in (None, ""):
        return keras + torch
    if requested == "keras":
        return keras
    if requested == "torchvision":
        return torch[:1]
    version = requested.split("-", 1)[1]
    return [s for s in torch if s.tag.lower().endswith(f"_{version}")]


def full_options(arch: str, given: dict) -> dict:
    """``given`` over the defaults of ``arch``'s options class (what the model will be built with)."""
    from zoo.registry import get_spec

    defaults = get_spec(arch).options()
    return {**{f.name: getattr(defaults, f.name) for f in dataclasses.fields(defaults)}, **given}


def _fits(source, options: dict) -> bool:
    return all(options.get(key, value) == value for key, value in source.options)


def choose_source(arch: str, options: dict, requested: str | None = None):
    """The `KerasSource` / `TorchSource` that ``weights="imagenet[:requested]"`` loads.

    Args:
        arch: the zoo architecture.
        options: the model's options (missing keys: whatever each source needs).
        requested: ``None`` (plain ``"imagenet"``) or one of `SOURCE_NAMES`.

    Raises:
        WeightsError: no such weights for ``arch``, or none that fits ``options``
            (saying what each source needs).
    """
    candidates = sources_of(arch, requested)
    if not candidates:
        have = ", ".join(f"imagenet:{n}" for n in SOURCE_NAMES if sources_of(arch, n))
        what = f"imagenet:{requested} weights" if requested else "ImageNet weights"
        raise WeightsError(
            f"There are no {what} for the zoo's {arch!r}"
            + (f" (it has {have})." if have else ". For ImageNet weights use a keras.applications "
               "backbone (e.g. 'ResNet50'), or a zoo checkpoint (`zoo.list_pretrained()`).")
        )  # fmt: skip
    for source in candidates:
        if _fits(source, options):
            return source
    needs = "; ".join(
        f"{source_kind(s)} needs " + ", ".join(f"{k}={v!r}" for k, v in s.options)
        for s in candidates
    )
    raise WeightsError(
        f"No ImageNet weights of {arch} fit the model's options ({needs}); build it with "
        f"those, e.g. zoo.build_model({arch!r}, "
        + ", ".join(f"{k}={v!r}" for k, v in candidates[0].options)
        + ", ...)."
    )


def source_for_weights(arch: str, weights, options: dict):
    """The source a ``weights`` argument loads for ``arch`` (None: not an ImageNet source).

    ``"imagenet[:name]"`` as `choose_source`; a path with a published keras.applications or
    torchvision file name that source; another ``.pth``/``.safetensors`` path ``arch``'s
    first torchvision source (timm's ``model.safetensors``).
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights.lower().split(":", 1)[0] == "imagenet":
        requested = weights.lower().split(":", 1)[1] if ":" in weights else None
        return choose_source(arch, options, requested)
    name = os.path.basename(os.fspath(weights)).lower()
    ks = keras_source(arch)
    if ks is not None and name in (ks.fname(True), ks.fname(False)):
        return ks
    from zoo.bridge.torch_files import is_torch_weights_file

    if not is_torch_weights_file(name):
        return None
    named = source_of_torch_file(name)
    if named is not None and named.arch == arch:
        return named
    theirs = torch_sources(arch)
    return next((s for s in theirs if _fits(s, options)), theirs[0] if theirs else None)


def _recorded_options(model) -> dict:
    return dict(getattr(model, "zoo_options", None) or {})


def load_torch_file(model, path, *, source: TorchSource | None = None) -> None:
    """Loads a torchvision ``.pth`` / timm ``.safetensors`` file into zoo ``model`` in place.

    Raises:
        WeightsError: one line naming ``path``: unreadable, no torchvision weights for the
            architecture, options the weights do not fit, another architecture's file.
    """
    from zoo.bridge.torch_files import WeightFileError, read_state_dict

    path = os.fspath(path)
    arch = getattr(model, "zoo_model", None) or model.name
    source = source or source_for_weights(arch, path, _recorded_options(model))
    if source is None or not isinstance(source, TorchSource):
        known = sorted({s.arch for s in _all_torch()})
        raise WeightFileError(
            path, f"there are no torchvision weights for the zoo's {arch!r} "
            f"(there are for {', '.join(known)})."
        )  # fmt: skip
    check_options(model, source, path)
    assign_state(model, read_state_dict(path), source, path)


def assign_state(model, state: dict, source: TorchSource, path: str) -> None:
    """``source``'s mapper applied to ``state`` (read from ``path``, named in its errors)."""
    from zoo.bridge.torch_files import WeightFileError
    from zoo.bridge.torch_map import StateDictError

    try:
        mapper_of(source)(model, state)
    except (StateDictError, ValueError) as err:  # other mappers raise WeightsError/ValueError
        raise WeightFileError(path, f"{err} (expected {source.fname} or the same weights "
                              f"as timm's model.safetensors)") from None  # fmt: skip


def _all_torch():
    from zoo.bridge.torchvision import TORCH_SOURCES

    return TORCH_SOURCES


def load_imagenet(model, requested: str | None = None) -> None:
    """``weights="imagenet"`` / ``"imagenet:<source>"`` for a zoo architecture, in place."""
    arch = getattr(model, "zoo_model", None) or model.name
    source = choose_source(arch, _recorded_options(model), requested)
    if isinstance(source, KerasSource):
        from zoo.bridge.keras_h5 import imagenet_file, load_keras_h5

        has_top = any(layer.name == "predictions" for layer in model.layers)
        load_keras_h5(model, imagenet_file(arch, has_top), arch=arch)
        return
    from zoo.bridge.torch_files import cached_torch_file

    what = f"torchvision ImageNet weights of {arch} ({source.tag})"
    path = cached_torch_file(source.fname, source.url, source.sha256_prefix, what)
    load_torch_file(model, path, source=source)
