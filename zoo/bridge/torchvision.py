"""Which torchvision (and timm) ImageNet weights fit which zoo architecture: the source table.

`TORCH_SOURCES` lists the publisher's files as torchvision's ``*_Weights`` enums name them
(file name, URL, the sha256 prefix torchvision puts in the file name, published ImageNet-1K
acc@1), the zoo architecture and options each fits, the preprocessing they were trained with
(``"torch"``: RGB / 255, ImageNet mean and std) and the function that assigns such a state
dict to a zoo model (``mapper``, ``"module:function"`` with signature
``assign(model, state: dict[str, np.ndarray]) -> None``, imported on first use).

A new source is one table line, e.g. ``_tv("alexnet_tv", "alexnet-owt-7be5be79.pth",
56.522, "AlexNet_Weights", mapper="zoo.bridge.tv_classic:assign_alexnet_tv")``, or a module's
list of entry dicts (``_entries``: AlexNet/GoogLeNet from `zoo.bridge.tv_classic`, Inception
v3 from `zoo.bridge.torch_inception_v3`).

The same weights as timm publishes them (``resnet50.tv_in1k/model.safetensors``, the
``tv_in1k`` / ``tv2_in1k`` tags) load by path through the same mappers.

torchvision's ResNets are v1.5 (stride on the 3x3 conv of a bottleneck), the zoo's default
``stride_on="3x3"``; the ``keras.applications`` ones fit ``stride_on="1x1"`` only
(`zoo.bridge.mapping`). Importing this module imports no Keras and no torch (the entry
modules import NumPy and `zoo.weights` only).
"""

from __future__ import annotations

import dataclasses
import importlib
import os

__all__ = [
    "TORCH_SOURCES",
    "TorchSource",
    "mapper_of",
    "source_of_torch_file",
    "torch_source",
    "torch_sources",
]

_TV = "https://download.pytorch.org/models/"
_DOCS = "https://pytorch.org/vision/stable/models.html"


@dataclasses.dataclass(frozen=True)
class TorchSource:
    """One published torchvision weights file for one zoo architecture.

    Attributes:
        arch: the zoo architecture, e.g. ``"resnet50"``.
        fname: the publisher's file name, e.g. ``"resnet50-11ad3fa6.pth"``.
        url: where torchvision downloads it.
        sha256_prefix: the first hex digits of the file's sha256 (in its name).
        options: ``((key, value), ...)``: the zoo options the weights need.
        preprocessing: the `zoo.training.preprocess` mode they were trained with.
        top1: ImageNet-1K top-1 accuracy (%) as the publisher reports it.
        citation: where ``top1`` and the file are published.
        mapper: ``"module:function"`` assigning a state dict to a zoo model.
        tag: torchvision's weights tag (``"IMAGENET1K_V1"``, ``"IMAGENET1K_V2"``).
        default: whether torchvision's ``DEFAULT`` weights for the architecture are these.
        bn_epsilon: the source's BatchNorm epsilon (torch's 1e-5).
    """

    arch: str
    fname: str
    url: str
    sha256_prefix: str
    options: tuple
    preprocessing: str
    top1: float | None
    citation: str
    mapper: str
    tag: str = "IMAGENET1K_V1"
    default: bool = True
    bn_epsilon: float = 1e-5

    @property
    def name(self) -> str:
        """``"torchvision"`` plus the tag's version, e.g. ``"torchvision-v2"``."""
        return f"torchvision-{self.tag.rsplit('_', 1)[-1].lower()}"


_RESNET = (("stride_on", "3x3"), ("batch_norm", True), ("activation", "relu"))
_VGG = (("batch_norm", False), ("activation", "relu"), ("dense_activation", None))
_VGG_BN = (("batch_norm", True), ("activation", "relu"), ("dense_activation", None))
_MAP = "zoo.bridge.torch_map:"


def _tv(arch, fname, top1, enum, *, tag="IMAGENET1K_V1", default=True, options=(), mapper=""):
    """A `TorchSource` for torchvision's ``enum.tag`` file ``fname`` (URL and hash from it)."""
    return TorchSource(
        arch, fname, _TV + fname, fname.rsplit("-", 1)[-1].split(".")[0], options, "torch",
        top1, f"torchvision.models.{enum}.{tag} ({_DOCS})", mapper, tag, default,
    )  # fmt: skip


def _resnet(depth: int, fname: str, top1: float, tag="IMAGENET1K_V1") -> TorchSource:
    """torchvision's ResNet-``depth`` ``tag`` weights (v1.5: ``stride_on="3x3"``)."""
    default = tag == "IMAGENET1K_V2" or depth in (18, 34)  # torchvision's DEFAULT
    return _tv(f"resnet{depth}", fname, top1, f"ResNet{depth}_Weights", tag=tag,
               default=default, options=_RESNET, mapper=_MAP + "assign_resnet")  # fmt: skip


def _vgg(arch: str, fname: str, top1: float) -> TorchSource:
    """torchvision's ``arch`` (``vgg16``, ``vgg16_bn``...) weights."""
    options = _VGG_BN if arch.endswith("_bn") else _VGG
    return _tv(arch, fname, top1, f"{arch.upper()}_Weights", options=options,
               mapper=_MAP + "assign_vgg")  # fmt: skip


def _entries(module: str, table: str, mapper: str = "") -> tuple[TorchSource, ...]:
    """Another module's entries (dicts of `TorchSource` fields, ``options`` a dict) as sources."""
    out = []
    for e in getattr(importlib.import_module(module), table):
        tag = "IMAGENET1K_V1"
        cite = e.get("citation") or f"torchvision {e['arch']} {tag} ({_DOCS})"
        out.append(
            TorchSource(
                e["arch"],
                e["fname"],
                e["url"],
                e["sha256_prefix"],
                tuple(e.get("options", {}).items()),
                e["preprocessing"],
                e.get("top1"),
                cite,
                e.get("mapper") or f"{module}:{mapper}",
            )
        )
    return tuple(out)


#: torchvision's ImageNet weights, from torchvision 0.29's ``*_Weights`` enums (file, URL,
#: hash prefix, ``meta["_metrics"]["ImageNet-1K"]["acc@1"]``). One line per file.
TORCH_SOURCES: tuple[TorchSource, ...] = (
    _resnet(18, "resnet18-f37072fd.pth", 69.758),
    _resnet(34, "resnet34-b627a593.pth", 73.314),
    _resnet(50, "resnet50-11ad3fa6.pth", 80.858, "IMAGENET1K_V2"),
    _resnet(50, "resnet50-0676ba61.pth", 76.130),
    _resnet(101, "resnet101-cd907fc2.pth", 81.886, "IMAGENET1K_V2"),
    _resnet(101, "resnet101-63fe2227.pth", 77.374),
    _resnet(152, "resnet152-f82ba261.pth", 82.284, "IMAGENET1K_V2"),
    _resnet(152, "resnet152-394f9c45.pth", 78.312),
    _vgg("vgg11", "vgg11-8a719046.pth", 69.020),
    _vgg("vgg11_bn", "vgg11_bn-6002323d.pth", 70.370),
    _vgg("vgg13", "vgg13-19584684.pth", 69.928),
    _vgg("vgg13_bn", "vgg13_bn-abd245e5.pth", 71.586),
    _vgg("vgg16", "vgg16-397923af.pth", 71.592),
    _vgg("vgg16_bn", "vgg16_bn-6c64b313.pth", 73.360),
    _vgg("vgg19", "vgg19-dcbb9e9d.pth", 72.376),
    _vgg("vgg19_bn", "vgg19_bn-c79401a0.pth", 74.218),
    *_entries("zoo.bridge.tv_classic", "TORCHVISION_ENTRIES"),
    *_entries("zoo.bridge.torch_inception_v3", "TORCHVISION_ENTRIES", "assign_inception_v3"),
)


def torch_sources(arch: str) -> list[TorchSource]:
    """The torchvision sources of zoo architecture ``arch``, torchvision's DEFAULT first."""
    return sorted((s for s in TORCH_SOURCES if s.arch == arch), key=lambda s: not s.default)


def torch_source(arch: str, version: str | None = None) -> TorchSource | None:
    """``arch``'s torchvision source: DEFAULT, or the one tagged ``..._V<version>`` (``"v1"``)."""
    for source in torch_sources(arch):
        if version is None or source.tag.lower().endswith(f"_{version.lower()}"):
            return source
    return None


def source_of_torch_file(path) -> TorchSource | None:
    """The `TorchSource` whose published file name ``path`` has, or None."""
    name = os.path.basename(os.fspath(path)).lower()
    return next((s for s in TORCH_SOURCES if s.fname == name), None)


def mapper_of(source: TorchSource):
    """The ``assign(model, state)`` function of ``source`` (its module imported now)."""
    module, _, function = source.mapper.partition(":")
    return getattr(importlib.import_module(module), function)
