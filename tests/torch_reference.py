"""Recorded torchvision references that keep the weight-bridge parity checks alive without torch.

A torchvision state dict is generated from a seed with NumPy alone, from the key names and
shapes recorded in the fixture, so a machine without torch rebuilds exactly the weights that
torchvision ran with when the fixture was recorded. A fixture
(``tests/fixtures/torchvision/<name>.npz``) holds those keys and shapes, the seed, the inputs
(NHWC, as the zoo takes them) and torchvision's outputs for them. The script that records them
with torch is ``benchmarks/make_torch_fixtures.py``; with torch installed the tests also compare
live.
"""

from __future__ import annotations

import pathlib

import numpy as np

FIXTURES = pathlib.Path(__file__).resolve().parent / "fixtures" / "torchvision"


def seeded_state_dict(shapes, seed: int) -> dict[str, np.ndarray]:
    """A deterministic state dict for ``shapes`` (``[(key, shape), ...]`` in the model's order).

    Weights of rank >= 2 are He-normal over their fan-in (so deep nets neither explode nor
    vanish), BatchNorm scales and running variances are uniform in [0.5, 1.5], biases, BatchNorm
    shifts and running means are normal with std 0.1; ``num_batches_tracked`` is 0.
    """
    rng = np.random.default_rng(seed)
    state = {}
    for key, shape in shapes:
        shape = tuple(int(d) for d in shape)
        if key.endswith("num_batches_tracked"):
            state[key] = np.zeros(shape, np.int64)
        elif len(shape) >= 2:
            fan_in = int(np.prod(shape[1:]))
            state[key] = rng.normal(0.0, np.sqrt(2.0 / fan_in), shape).astype(np.float32)
        elif key.endswith("running_var") or (key.endswith("weight") and _is_norm(key, shapes)):
            state[key] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        else:
            state[key] = rng.normal(0.0, 0.1, shape).astype(np.float32)
    return state


def _is_norm(key: str, shapes) -> bool:
    """Whether ``key`` (a rank-1 ``...weight``) is a normalization layer's scale."""
    stem = key[: -len("weight")]
    return any(k == stem + "running_var" for k, _ in shapes)


def save_fixture(name: str, shapes, seed: int, inputs: dict, outputs: dict) -> pathlib.Path:
    """Writes ``FIXTURES/<name>.npz``: keys/shapes, seed, ``input_*`` and ``output_*`` arrays."""
    FIXTURES.mkdir(parents=True, exist_ok=True)
    path = FIXTURES / f"{name}.npz"
    arrays = {f"input_{k}": np.asarray(v, np.float32) for k, v in inputs.items()}
    arrays.update({f"output_{k}": np.asarray(v, np.float32) for k, v in outputs.items()})
    np.savez_compressed(
        path,
        keys=np.array([k for k, _ in shapes]),
        shapes=np.array([",".join(map(str, s)) for _, s in shapes]),
        seed=np.array(seed),
        **arrays,
    )
    return path


def load_fixture(name: str) -> dict:
    """``{"state": state dict, "inputs": {...}, "outputs": {...}}`` of a recorded fixture."""
    with np.load(FIXTURES / f"{name}.npz", allow_pickle=False) as z:
        shapes = [
            (str(k), tuple(int(d) for d in str(s).split(",") if d))
            for k, s in zip(z["keys"], z["shapes"], strict=True)
        ]
        inputs = {k[len("input_") :]: z[k] for k in z.files if k.startswith("input_")}
        outputs = {k[len("output_") :]: z[k] for k in z.files if k.startswith("output_")}
        return {
            "state": seeded_state_dict(shapes, int(z["seed"])),
            "inputs": inputs,
            "outputs": outputs,
        }
