"""Inception v3 with torchvision's weights: the same function as torchvision's ``inception_v3``.

The recorded fixture (``tests/fixtures/torchvision/inception_v3.npz``, written by
``benchmarks/make_inception_v3_fixture.py``) keeps the check alive without torch: the state
dict and the inputs are regenerated from its seed with NumPy, the state copied into the zoo
model by `zoo.bridge.torch_inception_v3.assign_inception_v3`, and the outputs compared with
those torchvision computed, in float64 (see the script: a training-mode batch of 2 at 75x75
amplifies float32 rounding to ~2 %). With torch installed the comparison also runs live.
"""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import symbolic
import torch_reference
from conftest import REPO, keras_dtype

import zoo

_spec = importlib.util.spec_from_file_location(
    "make_inception_v3_fixture", REPO / "benchmarks" / "make_inception_v3_fixture.py"
)
MAKE = sys.modules.setdefault("make_inception_v3_fixture", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(MAKE)

try:  # before Keras loads TensorFlow: torchvision imported after it crashes the process
    import torch  # noqa: F401
    import torchvision  # noqa: F401

    HAVE_TORCH = True
except ImportError:
    HAVE_TORCH = False


@pytest.fixture(scope="module")
def recorded():
    """(fixture, {size: the zoo model in float64 with the fixture's state dict, outputting
    the logits and the pooled features under the top})."""
    import keras

    from zoo.bridge.torch_inception_v3 import assign_inception_v3

    fixture = torch_reference.load_fixture("inception_v3")
    models = {}
    for size in MAKE.SIZES:
        with keras_dtype("float64"):
            model = zoo.build_model("inception_v3", input_shape=(size, size, 3), bn_scale=True,
                                    pool_include_pad=True, classifier_activation=None)  # fmt: skip
        assert model.get_layer("conv_1a").kernel.dtype == "float64"
        assign_inception_v3(model, fixture["state"], label="inception_v3.npz")
        models[size] = keras.Model(model.input, [model.output, model.get_layer("avg_pool").output])
    return fixture, models


def _outputs(model, x) -> dict:
    """The zoo model's logits and features in both modes; BatchNorm statistics restored after."""
    saved = model.get_weights()
    out = {}
    try:
        for mode in ("eval", "train"):
            out[mode], out[f"features_{mode}"] = map(np.asarray, model(x, training=mode == "train"))
        return out
    finally:
        model.set_weights(saved)


def _close(got, want, what):
    scale = float(np.abs(want).max())
    assert got.shape == want.shape and scale > 0
    assert float(np.abs(got - want).max()) <= 1e-4 * scale, what


OUTPUTS = ("eval", "train", "features_eval", "features_train")


@pytest.mark.parametrize("size", MAKE.SIZES)
def test_recorded_torchvision_outputs_with_and_without_top_inference_and_training(recorded, size):
    fixture, models = recorded
    got = _outputs(models[size], MAKE.inputs(size=size))
    for name in OUTPUTS:
        _close(got[name], fixture["outputs"][f"{name}_{size}"], (name, size))


@pytest.mark.skipif(not HAVE_TORCH, reason="torch/torchvision not installed (the `bench` extra)")
def test_live_torchvision_agrees_with_the_fixture_and_the_zoo(recorded):
    fixture, models = recorded
    size = MAKE.SIZES[0]
    x = MAKE.inputs(seed=5, size=size)
    live, got = MAKE.torchvision_outputs(fixture["state"], x), _outputs(models[size], x)
    again = MAKE.torchvision_outputs(fixture["state"], MAKE.inputs(size=size))
    for name in OUTPUTS:
        _close(got[name], live[name], f"live {name}")
        _close(again[name], fixture["outputs"][f"{name}_{size}"], f"the fixture ({name})")


def test_state_dict_names_cover_the_aux_model_and_bad_states_are_named():
    """torchvision's keys (aux head included) map onto every weight layer of the zoo's model."""
    from zoo.bridge.torch_inception_v3 import TORCHVISION_ENTRIES, _layer_arrays, zoo_name
    from zoo.weights import WeightsError

    fixture = torch_reference.load_fixture("inception_v3")
    state = dict(fixture["state"])
    aux = {  # torchvision's AuxLogits: conv0 (1x1, 128), conv1 (5x5, 768), fc
        "AuxLogits.conv0.conv.weight": (128, 768, 1, 1),
        "AuxLogits.conv1.conv.weight": (768, 128, 5, 5),
        "AuxLogits.fc.weight": (1000, 768),
        "AuxLogits.fc.bias": (1000,),
    }
    for conv, n in (("conv0", 128), ("conv1", 768)):
        for leaf in ("weight", "bias", "running_mean", "running_var"):
            aux[f"AuxLogits.{conv}.bn.{leaf}"] = (n,)
    state.update({k: np.zeros(v, "float32") for k, v in aux.items()})
    graph = symbolic.graph("inception_v3", bn_scale=True, aux_logits=True)
    arrays = _layer_arrays(state)
    layers = {la.name: [tuple(w.shape) for w in la.weights] for la in graph.layers if la.weights}
    assert {k: [a.shape for a in v] for k, v in arrays.items()} == layers
    assert zoo_name("Mixed_7c.branch3x3dbl_3b") == "mixed_7c_3x3dbl_3b"
    assert zoo_name("Mixed_6e.branch_pool") == "mixed_6e_pool_proj"
    entry = TORCHVISION_ENTRIES[0]
    assert entry["fname"].endswith(f"-{entry['sha256_prefix']}.pth") and entry["top1"] == 77.294
    with pytest.raises(
        WeightsError, match="unknown torchvision inception_v3 key 'features.0.weight'"
    ):
        _layer_arrays({"features.0.weight": np.zeros((1,))})


def test_a_model_without_bn_scale_is_refused(recorded):
    from zoo.bridge.torch_inception_v3 import assign_inception_v3
    from zoo.weights import WeightsError

    fixture, _ = recorded
    headless = symbolic.graph("inception_v3", input_shape=(75, 75, 3), include_top=False)
    with pytest.raises(WeightsError, match="bn_scale=True") as info:
        assign_inception_v3(headless, fixture["state"], label="x.pth")
    assert "x.pth" in str(info.value) and "\n" not in str(info.value)
