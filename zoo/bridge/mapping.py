"""Which published weight files fit which zoo architecture, and how their layers are named.

`KERAS_SOURCES` is the table of ``keras.applications`` ImageNet weight files
(the publisher's file names, URLs and hashes, as ``keras.applications``
itself downloads them), the zoo architecture and options each fits, the
preprocessing the weights were trained with and the BatchNorm epsilon of the
source. `zoo_layer_name` maps a layer name of such a file onto the zoo's.

The ResNet files hold the paper's stride placement (the stride on the first
1x1 conv of a bottleneck), so they fit ``stride_on="1x1"`` only. The Inception
v3 files name their layers by Keras' counters (``conv2d_1``...,
``batch_normalization_1``...): `zoo_layer_names` maps them by creation order.
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["KERAS_SOURCES", "KerasSource", "keras_source", "zoo_layer_name", "zoo_layer_names"]

_KERAS = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclasses.dataclass(frozen=True)
class KerasSource:
    """One architecture's ``keras.applications`` ImageNet weights.

    Attributes:
        arch: the zoo architecture, e.g. ``"resnet50"``.
        stem: the file name stem, e.g. ``"resnet50"`` in
            ``resnet50_weights_tf_dim_ordering_tf_kernels[_notop].h5``.
        folder: the publisher's URL folder.
        hashes: ``(with top, without top)`` file hashes (md5, as Keras' own
            ``get_file`` checks them; 64 hex digits would be sha256).
        options: the zoo options the weights need (e.g. ``stride_on="1x1"``).
        preprocessing: the ``keras.applications`` convention they were trained
            with (`zoo.training.preprocess` mode): ``"caffe"`` is BGR with the
            ImageNet mean subtracted, no scaling.
        bn_epsilon: the source's BatchNorm epsilon (None: no BatchNorm).
        top_layers: the file's classifier layers (absent from ``_notop`` files).
    """

    arch: str
    stem: str
    folder: str
    hashes: tuple[str, str]
    options: tuple = ()
    preprocessing: str = "caffe"
    bn_epsilon: float | None = None
    top_layers: tuple = ("predictions",)

    def fname(self, include_top: bool) -> str:
        """The published file name, e.g. ``resnet50_weights_tf_dim_ordering_tf_kernels.h5``."""
        return f"{self.stem}_weights_tf_dim_ordering_tf_kernels{'' if include_top else '_notop'}.h5"

    def origin(self, include_top: bool) -> str:
        """The publisher's URL of `fname`."""
        return f"{self.folder}{self.fname(include_top)}"

    def file_hash(self, include_top: bool) -> str:
        return self.hashes[0 if include_top else 1]


def _vgg(depth: int, hashes) -> KerasSource:
    return KerasSource(
        f"vgg{depth}",
        f"vgg{depth}",
        f"{_KERAS}vgg{depth}/",
        hashes,
        options=(("batch_norm", False), ("activation", "relu")),
        top_layers=("fc1", "fc2", "predictions"),
    )


def _resnet(depth: int, hashes) -> KerasSource:
    return KerasSource(
        f"resnet{depth}",
        f"resnet{depth}",
        f"{_KERAS}resnet/",
        hashes,
        options=(("stride_on", "1x1"), ("batch_norm", True), ("activation", "relu")),
        bn_epsilon=1.001e-5,
    )


# Scaled to [-1, 1] ("tf"); BatchNorm without scale, epsilon 1e-3; keras' average pools.
_INCEPTION_V3 = KerasSource(
    "inception_v3",
    "inception_v3",
    f"{_KERAS}inception_v3/",
    ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63"),
    options=(
        ("batch_norm", True),
        ("bn_scale", False),
        ("pool_include_pad", False),
        ("activation", "relu"),
    ),
    preprocessing="tf",
    bn_epsilon=1e-3,
)

#: The ``keras.applications`` ImageNet weight files, by zoo architecture; the
#: hashes are those ``keras.applications`` (Keras 3.x) checks.
KERAS_SOURCES: dict[str, KerasSource] = {
    s.arch: s
    for s in (
        _vgg(16, ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc")),
        _vgg(19, ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")),
        _resnet(50, ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626")),
        _resnet(101, ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21")),
        _resnet(152, ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c")),
        _INCEPTION_V3,
    )
}


def keras_source(arch: str) -> KerasSource | None:
    """The `KerasSource` for zoo architecture ``arch``, or None if it has none."""
    return KERAS_SOURCES.get(arch)


# The published ResNet files name their classifier "probs" (Keras loads them by order).
_RESNET_NAMES = {"conv1_conv": "conv1", "conv1_bn": "conv1_bn", "probs": "predictions"}
_RESNET_BLOCK = re.compile(r"^conv(\d)_block(\d+)_(\d)_(conv|bn)$")


def zoo_layer_name(arch: str, name: str) -> str:
    """The zoo's name for layer ``name`` of a ``keras.applications`` file of ``arch``.

    ResNets: ``conv1_conv`` -> ``conv1``, ``conv1_bn`` -> ``conv1_bn``,
    ``conv2_block1_1_conv`` -> ``stage1_unit1_conv1``, ``conv2_block1_0_conv``
    (the projection shortcut) -> ``stage1_unit1_shortcut`` (and ``_bn``
    likewise), the classifier ``probs`` -> ``predictions``. VGG keeps its names.
    """
    if not arch.startswith("resnet"):
        return name
    if name in _RESNET_NAMES:
        return _RESNET_NAMES[name]
    m = _RESNET_BLOCK.match(name)
    if not m:
        return name
    stage, unit, k, kind = m.groups()
    conv = "shortcut" if k == "0" else f"conv{k}"
    return f"stage{int(stage) - 1}_unit{unit}_{conv}{'_bn' if kind == 'bn' else ''}"


# Keras' automatic layer names: ``conv2d``, ``conv2d_1``... in creation order.
_AUTO_NAME = re.compile(r"^(conv2d|batch_normalization)(?:_(\d+))?$")


def zoo_layer_names(arch: str, names) -> dict[str, str]:
    """``{file layer name: zoo layer name}`` for the weight layers ``names`` of a file of ``arch``.

    Inception v3's files (keras.applications names none of its convolutions)
    hold ``conv2d_1``... and ``batch_normalization_1``... (``conv2d``,
    ``conv2d_1``... when saved by Keras 3, numbered on from earlier models in the
    session); sorted by their number they are in creation order, which is
    `zoo.models.inception_v3.conv_names`' order: the k-th conv is the k-th name,
    the k-th BatchNorm its ``_bn``. Only when the counts match; otherwise the
    names stay and the loader reports the file as not fitting. Other
    architectures map name by name (`zoo_layer_name`).
    """
    names = list(names)
    out = {name: zoo_layer_name(arch, name) for name in names}
    if arch != "inception_v3":
        return out
    from zoo.models.inception_v3 import conv_names

    ours = conv_names()
    for kind, suffix in (("conv2d", ""), ("batch_normalization", "_bn")):
        found = [(_AUTO_NAME.match(n), n) for n in names]
        theirs = sorted((int(m.group(2) or 0), n) for m, n in found if m and m.group(1) == kind)
        if len(theirs) == len(ours):
            out.update({n: f"{zoo}{suffix}" for (_, n), zoo in zip(theirs, ours, strict=True)})
    return out


def shape_mismatch(pairs):
    """The first ``(layer, their shapes, our shapes)`` of ``[(layer, arrays), ...]`` whose
    arrays do not fit the layer's weights; None when every pair fits."""
    for layer, arrays in pairs:
        theirs = [tuple(a.shape) for a in arrays]
        ours = [tuple(w.shape) for w in layer.weights]
        if theirs != ours:
            return layer, theirs, ours
    return None


def source_kind(source) -> str:
    """Who published ``source``'s weights: "keras.applications", or the torch source's name."""
    return "keras.applications" if isinstance(source, KerasSource) else source.name


def check_options(model, source, label: str) -> None:
    """Raises `WeightsError` naming ``label`` when ``model`` was built with options
    ``source``'s weights do not fit (a `KerasSource` or a torchvision/timm source)."""
    from zoo.weights import WeightsError

    recorded = getattr(model, "zoo_options", None) or {}
    for key, want in source.options:
        if key in recorded and recorded[key] != want:
            raise WeightsError(
                f"{label!r}: {source_kind(source)} {source.arch} weights need {key}={want!r}; "
                f"the model has {key}={recorded[key]!r}. Build it with "
                f"zoo.build_model({source.arch!r}, {key}={want!r}, ...)."
            )
