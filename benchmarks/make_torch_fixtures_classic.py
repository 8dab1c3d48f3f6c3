"""Records torchvision's AlexNet and GoogLeNet outputs for the zoo's parity tests (needs torch).

For each architecture a state dict is generated from a seed with NumPy alone
(``tests/torch_reference.seeded_state_dict``), loaded into torchvision's model
and run on seeded inputs at two sizes; the inputs (NHWC) and torchvision's
outputs go to ``tests/fixtures/torchvision/<arch>.npz`` with the keys, shapes
and seed (not the weights: the tests regenerate them). The same `reference`
function serves the tests' live comparison when torch is importable.

Run:  python benchmarks/make_torch_fixtures_classic.py [--compare]
(``--compare``: also map the weights onto the zoo's models and print the largest error of each
output relative to its scale, without writing fixtures.)
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests")]

from torch_reference import save_fixture, seeded_state_dict

SEED = 13
#: arch -> input sizes, an even and an odd one (AlexNet pools 2x2 and 3x3 maps to 6x6 there).
#: GoogLeNet's smallest with aux heads (>= 65) and a 3x3 last map: at 64 its 2x2 map gives the
#: training-mode BatchNorm 8 values per channel, and Keras' E[x^2] - E[x]^2 variance then loses
#: ~1e-3 of precision (measured 1.6e-3) where torch's two-pass variance does not.
SIZES = {"alexnet_tv": (96, 127), "googlenet_tv": (96, 97)}
#: Sizes at which GoogLeNet's auxiliary heads are compared (they need >= 65).
AUX_SIZES = SIZES["googlenet_tv"]


def _without_triton() -> None:
    """Keeps torch from importing triton, its optional GPU compiler: in a process that has
    loaded TensorFlow (the test suite) that import segfaults (torch 2.14), and CPU references
    need none of it (``torch.utils._triton`` treats a failed import as "not installed")."""
    sys.modules.setdefault("triton", None)


def torch_model(arch: str):
    """torchvision's untrained model of ``arch`` (GoogLeNet with aux heads and transform_input)."""
    _without_triton()
    import torchvision

    if arch == "alexnet_tv":
        return torchvision.models.alexnet(weights=None)
    return torchvision.models.googlenet(
        weights=None, aux_logits=True, transform_input=True, init_weights=False
    )


def inputs(arch: str) -> dict[str, np.ndarray]:
    """Seeded normal inputs rounded to eighths (few distinct values keep the fixture small)."""
    rng = np.random.default_rng(SEED + 1)
    return {
        str(s): (np.round(rng.normal(size=(2, s, s, 3)) * 8) / 8).astype(np.float32)
        for s in SIZES[arch]
    }


def _nhwc(t) -> np.ndarray:
    a = t.detach().numpy()
    return a.transpose(0, 2, 3, 1) if a.ndim == 4 else a


def _googlenet_outputs(model, x, size: str) -> dict[str, np.ndarray]:
    """Inference: logits, the inception_5b map, aux logits; training: the pooled features."""
    import torch

    seen = {}
    hooks = [
        getattr(model, m).register_forward_hook(lambda _m, _i, out, m=m: seen.__setitem__(m, out))
        for m in ("inception4a", "inception4d", "inception5b", "avgpool")
    ]
    out = {}
    with torch.no_grad():
        model.eval()
        out[f"top_{size}"] = model(x).numpy()
        out[f"features_{size}"] = _nhwc(seen["inception5b"])
        if int(size) in AUX_SIZES:
            out[f"aux1_{size}"] = model.aux1(seen["inception4a"]).numpy()
            out[f"aux2_{size}"] = model.aux2(seen["inception4d"]).numpy()
        model.train()
        model(x)  # batch statistics; the pooled features are taken before the dropout
        out[f"trainpool_{size}"] = seen["avgpool"].flatten(1).numpy()
        model.eval()
    for hook in hooks:
        hook.remove()
    return out


def reference(arch: str, state: dict | None = None):
    """``(shapes, state, inputs, outputs)``: torchvision's outputs with the seeded weights.

    ``state``: the seeded state dict if already generated (it is regenerated otherwise).
    """
    _without_triton()
    import torch

    model = torch_model(arch)
    shapes = [(k, tuple(v.shape)) for k, v in model.state_dict().items()]
    state = seeded_state_dict(shapes, SEED) if state is None else state
    xs = inputs(arch)
    outputs = {}
    for size, x in xs.items():
        model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        tx = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
        if arch == "alexnet_tv":
            with torch.no_grad():
                model.eval()
                outputs[f"top_{size}"] = model(tx).numpy()
                outputs[f"features_{size}"] = _nhwc(model.features(tx))
        else:
            outputs.update(_googlenet_outputs(model, tx, size))
    return shapes, state, xs, outputs


def zoo_outputs(arch: str, state: dict, xs: dict) -> dict[str, np.ndarray]:
    """The zoo model's outputs under the names `reference` gives torchvision's."""
    import zoo
    from zoo.bridge import tv_classic

    assign = getattr(tv_classic, f"assign_{arch}")
    kw = {} if arch == "alexnet_tv" else {"transform_input": True}
    out = {}
    for size, x in xs.items():
        kw["input_shape"] = (int(size), int(size), 3)
        aux = arch == "googlenet_tv" and int(size) in AUX_SIZES
        extra = {"aux_logits": True} if aux else {}
        builds = {
            "top": dict(classifier_activation=None, **extra),
            "features": {"include_top": False},
        }
        if arch == "googlenet_tv":
            builds["trainpool"] = {"include_top": False, "pooling": "avg"}
        for kind, options in builds.items():
            model = zoo.build_model(arch, **kw, **options)
            assign(model, state)
            y = model(x, training=kind == "trainpool")
            names = ["top", "aux1", "aux2"] if kind == "top" and aux else [kind]
            for name, value in zip(names, y if len(names) > 1 else [y], strict=True):
                out[f"{name}_{size}"] = np.asarray(value)
    return out


def compare() -> None:
    for arch in SIZES:
        _, state, xs, ref = reference(arch)
        got = zoo_outputs(arch, state, xs)
        for key in sorted(ref):
            err = np.abs(got[key] - ref[key]).max() / np.abs(ref[key]).max()
            print(f"{arch:13s} {key:15s} max |zoo - torchvision| / max |torchvision| = {err:.1e}")


def main() -> None:
    if "--compare" in sys.argv[1:]:
        compare()
        return
    for arch in SIZES:
        shapes, _, xs, outputs = reference(arch)
        path = save_fixture(arch, shapes, SEED, xs, outputs)
        print(f"{path} ({path.stat().st_size:,} bytes): {', '.join(sorted(outputs))}")


if __name__ == "__main__":
    main()
