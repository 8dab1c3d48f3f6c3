"""Records tests/fixtures/torchvision/inception_v3.npz with torch and torchvision.

torchvision's ``inception_v3`` (no auxiliary head, no ``transform_input``, dropout off)
is given a state dict generated from a seed by `tests/torch_reference.seeded_state_dict`
(NumPy only, so a machine without torch regenerates it), and run in float64 on a seeded
75x75 and an 80x80 batch (`inputs`, regenerated from the seed by the test) in inference and in training
mode (batch statistics). float64, because a training-mode forward of batch 2 at 75x75 (1x1
maps at the end, two values a channel per BatchNorm) amplifies float32 rounding to ~2 % of the
output scale (torch float32 against float64); in float64 two implementations agree to ~1e-12.
The fixture holds the state dict's keys and shapes, the seed and the outputs.

    python benchmarks/make_inception_v3_fixture.py
"""

from __future__ import annotations

import pathlib
import sys

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

SEED = 31
#: The input sizes: the smallest Inception v3 takes, and an even one.
SIZES = (75, 80)


def inputs(seed: int = SEED, size: int = SIZES[0]) -> np.ndarray:
    """The fixture's batch: 2 images of size x size x 3, uniform in [-1, 1], NHWC, float64."""
    return np.random.default_rng(seed + size).uniform(-1, 1, (2, size, size, 3))


def torchvision_outputs(state: dict, x_nhwc: np.ndarray) -> dict:
    """torchvision's inception_v3 with ``state`` on ``x_nhwc`` in float64.

    ``{"eval", "train"}``: the 1000 logits; ``{"features_eval", "features_train"}``: the pooled
    2048 features under the top (the model without its classifier).
    """
    import torch
    import torchvision

    model = torchvision.models.inception_v3(
        weights=None, aux_logits=False, transform_input=False, init_weights=False
    )
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    model.dropout = torch.nn.Identity()
    model.double()
    x = torch.from_numpy(np.ascontiguousarray(x_nhwc.transpose(0, 3, 1, 2), dtype=np.float64))
    weights = {k: torch.from_numpy(v).double() for k, v in state.items()}
    out, fc = {}, model.fc
    with torch.no_grad():
        for prefix, top in (("", fc), ("features_", torch.nn.Identity())):
            model.fc = top
            for mode in ("eval", "train"):
                model.load_state_dict(weights, strict=False)  # undo a training-mode BN update
                model.train(mode == "train")
                out[prefix + mode] = model(x).numpy()
    model.fc = fc
    return out


def shapes() -> list:
    import torchvision

    model = torchvision.models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items()]


def main() -> None:
    from torch_reference import save_fixture, seeded_state_dict

    keys = shapes()
    state = seeded_state_dict(keys, SEED)
    outputs = {
        f"{name}_{size}": value
        for size in SIZES
        for name, value in torchvision_outputs(state, inputs(size=size)).items()
    }
    print(save_fixture("inception_v3", keys, SEED, {}, outputs))


if __name__ == "__main__":
    main()
