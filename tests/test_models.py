"""The builder contract, checked for every registered model (never a hand list)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import gradients

import zoo

ALL = zoo.list_models()


def _min_shape(name):
    return zoo.get_spec(name).min_input_shape


def _batch(shape, n=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, *shape)).astype("float32")


def _first(out):
    return out[0] if isinstance(out, (list, tuple)) else out


def test_registry_is_complete():
    expected = {
        "perceptron", "mlp", "lenet5", "alexnet",
        "vgg11", "vgg11_lrn", "vgg13", "vgg16_c", "vgg16", "vgg19",
        "googlenet",
        "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
        "resnet20", "resnet32", "resnet44", "resnet56", "resnet110",
    }  # fmt: skip
    assert expected <= set(ALL)


@pytest.mark.parametrize("name", ALL)
def test_default_input_forward_with_custom_classes(name):
    spec = zoo.get_spec(name)
    model = zoo.build_model(name, num_classes=7)
    assert tuple(model.input_shape[1:]) == spec.input_shape
    out = _first(model.predict(_batch(spec.input_shape, n=1), verbose=0))
    assert out.shape == (1, 7)
    assert np.all(np.isfinite(out))


@pytest.mark.parametrize("name", ALL)
def test_min_input_forward_gradients_and_reload(name, tmp_path):
    shape = _min_shape(name)
    model = zoo.build_model(name, input_shape=shape, num_classes=3)
    x = _batch(shape, n=4)
    y = np.array([0, 1, 2, 1])
    out = _first(model(x, training=False))
    assert tuple(out.shape) == (4, 3)
    assert np.all(np.isfinite(np.asarray(out)))

    grads = gradients(model, x, y)
    assert len(grads) == len(model.trainable_variables) > 0
    for var, grad in zip(model.trainable_variables, grads, strict=False):
        assert grad is not None, f"{var.path} receives no gradient"
        assert np.all(np.isfinite(grad)), f"{var.path} has a non-finite gradient"
        assert np.any(grad != 0), f"{var.path} receives an all-zero gradient"

    path = tmp_path / f"{name}.keras"
    model.save(path)
    reloaded = zoo.load_model(path)  # safe_mode=True
    before = np.asarray(_first(model(x, training=False)))
    after = np.asarray(_first(reloaded(x, training=False)))
    np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
    assert [layer.name for layer in reloaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", ALL)
def test_one_pixel_below_minimum_is_a_clear_error(name):
    shape = list(_min_shape(name))
    shape[0] -= 1
    with pytest.raises(ValueError) as err:
        zoo.build_model(name, input_shape=tuple(shape))
    message = str(err.value)
    assert name in message and str(tuple(shape)) in message
    if zoo.get_spec(name).image_model:
        assert "at least" in message


@pytest.mark.parametrize("name", ALL)
def test_spec_params_match_the_built_model(name):
    model = zoo.build_model(name)
    assert model.count_params() == zoo.get_spec(name).params


@pytest.mark.parametrize("name", zoo.list_models(exclude=["perceptron", "mlp"]))
def test_headless_feature_extractor(name):
    shape = _min_shape(name)
    model = zoo.build_model(name, input_shape=shape, include_top=False, pooling="avg")
    out = model(_batch(shape, n=2), training=False)
    assert len(out.shape) == 2 and out.shape[0] == 2
    assert "predictions" not in [layer.name for layer in model.layers]


@pytest.mark.parametrize("name", ALL)
def test_bad_arguments_are_rejected_before_building(name):
    with pytest.raises(ValueError, match="num_classes"):
        zoo.build_model(name, num_classes=0)
    with pytest.raises(ValueError, match="activation"):
        zoo.build_model(name, activation="relu7")
    with pytest.raises(ValueError, match="kernel_initializer"):
        zoo.build_model(name, kernel_initializer="ones_and_zeros")
    with pytest.raises(ValueError, match="pooling"):
        zoo.build_model(name, include_top=False, pooling="mean")
    with pytest.raises(ValueError, match="unexpected argument"):
        zoo.build_model(name, no_such_knob=1)
