"""Records the torchvision reference outputs behind tests/test_bridge_torch.py (needs torch).

For each table entry: a torchvision model gets a state dict generated from a seed with NumPy
alone (``tests/torch_reference.seeded_state_dict``), runs on seeded inputs, and its outputs
are written to ``tests/fixtures/torchvision/<arch>.npz`` (`torch_reference.save_fixture`:
keys, shapes, seed and outputs; neither the weights nor the inputs, which `inputs_of`
regenerates from the seed, so each fixture stays a few hundred kB). Machines without torch rebuild the
same state dict from the fixture and compare the zoo model with converted weights against
these outputs; with torch the tests compute them live with `reference_outputs`.

Outputs, NHWC like the zoo's, for every size in ``sizes`` / ``top_sizes``:
``top_eval_<s>`` (1000 logits), ``features_eval_<s>`` (``features`` below) and, for nets with
BatchNorm (``train=True``), the same in training mode (batch statistics): ``*_train_<s>``
(``top_train`` only where the classifier has no dropout).

Add an architecture with one `Case` line (and, for a new kind of feature output, one
entry in ``FEATURES``). Run: ``python benchmarks/make_torch_fixtures.py [ARCH ...]``.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
for folder in (REPO, REPO / "tests"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from torch_reference import save_fixture, seeded_state_dict

#: Images per input batch (training-mode BatchNorm normalizes over them).
BATCH = 4


@dataclasses.dataclass(frozen=True)
class Case:
    """One architecture's recorded reference.

    Attributes:
        arch: the zoo architecture (and fixture name).
        builder: ``torchvision.models.<builder>``.
        seed: of the state dict and the inputs.
        sizes: input sizes of the feature outputs.
        top_sizes: input sizes of the 1000-class outputs.
        features: the feature output, a key of ``FEATURES``.
        train: record training-mode outputs too (BatchNorm nets).
        top_train: record the top in training mode (no dropout in the classifier).
        kwargs: ``((name, value), ...)`` for the builder.
        dtype: of the weights, inputs and computation on both sides (``"float64"``: see above).
        batch: images per input batch.
    """

    arch: str
    builder: str
    seed: int
    sizes: tuple
    top_sizes: tuple
    features: str
    train: bool = False
    top_train: bool = False
    kwargs: tuple = ()
    dtype: str = "float32"
    batch: int = BATCH


def _pooled(model, x):
    """ResNet: the global-average-pooled output of ``layer4`` (``fc``'s input)."""
    import torch

    return torch.flatten(torch.nn.Sequential(*list(model.children())[:-1])(x), 1)


def _feature_map(model, x):
    """VGG: ``model.features`` (the last max-pool's map), NCHW -> NHWC."""
    return model.features(x).permute(0, 2, 3, 1)


#: How the feature output of a `Case` is computed from the torchvision model.
FEATURES = {"pooled": _pooled, "feature_map": _feature_map}


def _resnet(depth: int, seed: int, **kwargs) -> Case:
    sizes = (64, 65)
    return Case(
        f"resnet{depth}", f"resnet{depth}", seed, sizes, sizes, "pooled", True, True, **kwargs
    )


def _vgg(arch: str, seed: int) -> Case:
    bn = arch.endswith("_bn")
    return Case(arch, arch, seed, (64, 65), (64, 96), "feature_map", train=bn)


#: Every architecture with a torchvision source; one line each.
CASES = {
    c.arch: c
    for c in (
        _resnet(18, 1318),
        _resnet(34, 1334),
        _resnet(50, 1350),
        _resnet(101, 1401, dtype="float64", batch=2),
        _resnet(152, 1452, dtype="float64", batch=2),
        _vgg("vgg11", 1011),
        _vgg("vgg11_bn", 1012),
        _vgg("vgg13", 1013),
        _vgg("vgg13_bn", 1014),
        _vgg("vgg16", 1016),
        _vgg("vgg16_bn", 1017),
        _vgg("vgg19", 1019),
        _vgg("vgg19_bn", 1020),
    )
}


def torch_model(case: Case):
    """The torchvision model of ``case`` on the meta device (no memory, no initialization),
    in eval mode; ``load_state_dict(..., assign=True)`` gives it real tensors."""
    import torch
    import torchvision

    with torch.device("meta"):
        model = getattr(torchvision.models, case.builder)(weights=None, **dict(case.kwargs))
    return model.eval()


def state_shapes(case: Case) -> list:
    """``[(key, shape)]`` of the torchvision model's state dict, in its order."""
    return [(k, tuple(v.shape)) for k, v in torch_model(case).state_dict().items()]


def inputs_of(case: Case) -> dict:
    """``{"x<size>": NHWC batch of case.dtype}`` for every size the case records."""
    rng = np.random.default_rng(case.seed)
    sizes = sorted(set(case.sizes) | set(case.top_sizes))
    draw = {s: rng.normal(0, 1, (case.batch, s, s, 3)).astype(np.float32) for s in sizes}
    return {f"x{s}": x.astype(case.dtype) for s, x in draw.items()}


def _outputs_at(case: Case, model, x, size: int, top: bool = True) -> dict:
    import torch

    out = {}
    modes = ("eval", "train") if case.train else ("eval",)
    for mode in modes:
        net = copy.deepcopy(model).train(mode == "train")  # training mode moves running stats
        with torch.no_grad():
            xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
            if size in case.sizes:
                out[f"features_{mode}_{size}"] = FEATURES[case.features](net, xt).numpy()
            if top and size in case.top_sizes and (mode == "eval" or case.top_train):
                out[f"top_{mode}_{size}"] = net(xt).numpy()
    return out


def reference_outputs(case: Case, state: dict, inputs: dict) -> dict:
    """torchvision's outputs for ``inputs`` with ``state`` loaded (keys as in the module doc).

    A ``state`` without the classifier's keys (cheaper for VGG) gives the feature outputs only.
    """
    import torch

    model = torch_model(case)
    full = set(state) == set(model.state_dict())
    tensors = {k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}
    model.load_state_dict(tensors, strict=full, assign=True)
    if case.dtype == "float64":
        model.double()
    out = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # batches of a few small images: more threads cost CPU, not time
    try:
        for name, x in inputs.items():
            out.update(_outputs_at(case, model, x, int(name[1:]), top=full))
    finally:
        torch.set_num_threads(threads)
    return out


def record(case: Case) -> pathlib.Path:
    """Writes ``tests/fixtures/torchvision/<arch>.npz`` for ``case``."""
    shapes = state_shapes(case)
    inputs = inputs_of(case)
    outputs = reference_outputs(case, seeded_state_dict(shapes, case.seed), inputs)
    return save_fixture(case.arch, shapes, case.seed, {}, outputs)


def main(argv=None) -> None:
    names = list(argv if argv is not None else sys.argv[1:]) or list(CASES)
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise SystemExit(f"unknown architectures {unknown}; known: {', '.join(CASES)}")
    for name in names:
        path = record(CASES[name])
        print(f"{name}: {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
