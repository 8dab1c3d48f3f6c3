"""The builder contract as data: options dataclasses, their validation, the tuner's view.

Keras-free checks (no model is built) except the save/load round trip of the
recorded options.
"""

from __future__ import annotations

import dataclasses
import json
import zipfile

import numpy as np
import pytest

import zoo
from zoo import options as opts
from zoo.registry import get_spec

ALL = zoo.list_models()

#: Each family's defaults that differ from ImageOptions (read from the papers).
OVERRIDES = {
    "lenet": {
        "num_classes": 10, "activation": "tanh", "kernel_initializer": "glorot_uniform",
        "variant": "modern", "dense_activation": None,
    },
    "alexnet": {"kernel_initializer": "glorot_uniform", "dropout": 0.5, "grouped": True, "lrn": True,
                "dense_activation": None},
    "vgg": {"kernel_initializer": "glorot_uniform", "dropout": 0.5, "fc_units": 4096,
            "dense_activation": None},
    **{f"vgg{d}_bn": {"kernel_initializer": "glorot_uniform", "dropout": 0.5, "fc_units": 4096,
                      "dense_activation": None, "batch_norm": True} for d in (11, 13, 16, 19)},
    "inception": {
        "kernel_initializer": "glorot_uniform", "dropout": 0.4, "aux_logits": False, "lrn": True,
    },
    "inception_v3": {"batch_norm": True, "aux_logits": False, "bn_scale": False,
                     "pool_include_pad": False},
    "resnet": {"batch_norm": True, "stride_on": "3x3", "residual": True},
    "resnet_cifar": {"num_classes": 10, "batch_norm": True, "residual": True},
    "plain": {"batch_norm": True, "stride_on": "3x3", "residual": False},
    "plain_cifar": {"num_classes": 10, "batch_norm": True, "residual": False},
    "mlp": {"num_classes": 10, "hidden_units": (512, 256), "dense_activation": None},
    "perceptron": {
        "num_classes": 1, "classifier_activation": "sigmoid", "kernel_initializer": "glorot_uniform",
    },
    # torchvision's variants (zoo.options_tv), keyed by model name.
    "alexnet_tv": {"kernel_initializer": "glorot_uniform", "dropout": 0.5, "dense_activation": None},
    "googlenet_tv": {
        "kernel_initializer": "glorot_uniform", "batch_norm": True, "dropout": 0.2,
        "aux_logits": False, "lrn": False, "transform_input": False,
    },
}  # fmt: skip
SHARED = {f.name: f.default for f in dataclasses.fields(opts.ImageOptions)}


def test_shared_fields_and_defaults():
    assert SHARED == {
        "input_shape": None, "num_classes": 1000, "include_top": True, "pooling": None,
        "classifier_activation": "softmax", "weights": None, "name": None, "activation": "relu",
        "kernel_initializer": "he_normal", "batch_norm": False, "dropout": 0.0, "kernel_l2": 0.0,
    }  # fmt: skip


@pytest.mark.parametrize("name", ALL)
def test_family_options_extend_the_shared_ones_with_the_papers_defaults(name):
    spec = get_spec(name)
    assert issubclass(spec.options, opts.ImageOptions)
    defaults = {f.name: f.default for f in dataclasses.fields(spec.options)}
    assert list(defaults)[: len(SHARED)] == list(SHARED)
    assert defaults == {**SHARED, **OVERRIDES.get(name, OVERRIDES[spec.family])}
    assert spec.options.__doc__ and "Attributes:" in spec.options.__doc__
    for field in set(defaults) - set(SHARED):  # every family knob is documented
        assert f"{field}:" in spec.options.__doc__


def test_options_are_frozen_and_keyword_only():
    o = opts.VGGOptions(num_classes=10)
    with pytest.raises(dataclasses.FrozenInstanceError):
        o.num_classes = 3
    with pytest.raises(TypeError):
        opts.VGGOptions(10)


def test_validate_resolves_the_input_shape_and_says_what_is_wrong():
    spec = get_spec("vgg16")
    o = opts.VGGOptions(num_classes=10).validate(spec)
    assert o.input_shape == (224, 224, 3) and o.num_classes == 10
    assert opts.VGGOptions(input_shape=[64, 64, 3]).validate(spec).input_shape == (64, 64, 3)
    with pytest.raises(ValueError, match=r"vgg16 needs inputs of at least 32x32; received"):
        opts.VGGOptions(input_shape=(16, 16, 3)).validate(spec)
    with pytest.raises(ValueError, match="rank 3"):
        opts.VGGOptions(input_shape=(32, 32)).validate(spec)
    with pytest.raises(ValueError, match="tuple of integers"):
        opts.VGGOptions(input_shape="big").validate(spec)
    with pytest.raises(ValueError, match="fc_units"):
        opts.VGGOptions(fc_units=0).validate(spec)
    with pytest.raises(ValueError, match="batch_norm must be True or False"):
        opts.VGGOptions(batch_norm="yes").validate(spec)
    with pytest.raises(ValueError, match="include_top must be True or False"):
        opts.VGGOptions(include_top=1).validate(spec)
    with pytest.raises(ValueError, match="classifier_activation"):
        opts.VGGOptions(classifier_activation="relu").validate(spec)


def test_family_knobs_are_validated():
    with pytest.raises(ValueError, match="hidden_units must be positive integers"):
        opts.MLPOptions(hidden_units=(8, 0)).validate(get_spec("mlp"))
    assert opts.MLPOptions(hidden_units=[8, 4]).validate(get_spec("mlp")).hidden_units == (8, 4)
    with pytest.raises(ValueError, match="stride_on must be"):
        opts.ResNetOptions(stride_on="3x1").validate(get_spec("resnet50"))
    with pytest.raises(ValueError, match="aux_logits=True needs include_top=True"):
        opts.GoogLeNetOptions(aux_logits=True, include_top=False).validate(get_spec("googlenet"))
    with pytest.raises(ValueError, match="grouped must be True or False"):
        opts.AlexNetOptions(grouped="no").validate(get_spec("alexnet"))
    assert opts.PerceptronOptions(classifier_activation="threshold").validate(
        get_spec("perceptron")
    ).input_shape == (28, 28, 1)


def test_options_from_kwargs_renames_weight_decay_and_rejects_unknown_names():
    spec = get_spec("mlp")
    with pytest.warns(DeprecationWarning, match=r"weight_decay= is deprecated; use kernel_l2="):
        o = opts.options_from_kwargs(spec, {"weight_decay": 1e-4, "hidden_units": [16]})
    assert o.kernel_l2 == 1e-4 and o.hidden_units == (16,)
    with pytest.raises(ValueError, match="both were given"):
        opts.options_from_kwargs(spec, {"weight_decay": 1e-4, "kernel_l2": 1e-4})
    with pytest.raises(ValueError, match=r"unexpected argument 'hiden_units'\. Did you mean"):
        opts.options_from_kwargs(spec, {"hiden_units": (4,)})
    kwargs = {"weight_decay": 1.0}
    with pytest.warns(DeprecationWarning):
        assert opts.rename_deprecated(kwargs) == {"kernel_l2": 1.0}
    assert kwargs == {"weight_decay": 1.0}  # the caller's dict is left alone


def test_to_dict_is_json_and_round_trips():
    spec = get_spec("mlp")
    o = opts.MLPOptions(hidden_units=(8, 4), name="m").validate(spec)
    d = o.to_dict()
    assert json.loads(json.dumps(d)) == d and d["hidden_units"] == [8, 4]
    assert opts.options_from_kwargs(spec, d) == o


def test_spec_to_dict_is_json():
    d = get_spec("resnet50").to_dict()
    assert d["options"] == "ResNetOptions"
    json.dumps(d)


@pytest.mark.parametrize("name", ALL)
def test_hypermodel_builder_kwargs_equal_the_options_dataclass(name):
    """The tuner's view of a builder's options is the dataclass: names and defaults."""
    from tuning.hypermodel import builder_kwargs

    fields = dataclasses.fields(get_spec(name).options)
    assert builder_kwargs(name) == {f.name: f.default for f in fields}
    assert list(builder_kwargs(name)) == [f.name for f in fields]


def test_hypermodel_touches_no_builder_code():
    import inspect

    import tuning.hypermodel as hm

    source = inspect.getsource(hm)
    assert "blocks" not in source and "he_normal" not in source and "1000" not in source


def test_saved_model_keeps_its_options_and_keras_still_loads_it(tmp_path):
    import keras

    from zoo.saving import OPTIONS_MEMBER, load_model, read_recorded_options, save_model

    model = zoo.build_model("mlp", hidden_units=(4,), num_classes=3, kernel_l2=1e-3, name="tiny")
    assert model.zoo_model == "mlp" and "weights" not in model.zoo_options
    assert type(model.zoo_options) is dict  # not wrapped by Keras' attribute tracking
    path = tmp_path / "m.keras"
    save_model(model, path)
    assert OPTIONS_MEMBER in zipfile.ZipFile(path).namelist()
    assert read_recorded_options(path) == {"model": "mlp", "options": model.zoo_options}
    plain = keras.saving.load_model(path, safe_mode=True)  # Keras ignores the extra member
    assert plain.count_params() == model.count_params()
    loaded = load_model(path)
    assert loaded.zoo_options == model.zoo_options and loaded.zoo_model == "mlp"
    rebuilt = zoo.build_model(loaded.zoo_model, **loaded.zoo_options)
    assert rebuilt.name == "tiny" and rebuilt.count_params() == model.count_params()
    assert rebuilt.get_layer("dense1").kernel_regularizer.l2 == pytest.approx(1e-3)
    # a file saved by Keras alone (or before the redesign) loads without options
    model.save(tmp_path / "plain.keras")
    assert read_recorded_options(tmp_path / "plain.keras") is None
    assert not hasattr(load_model(tmp_path / "plain.keras"), "zoo_options")


def test_weights_are_loaded_by_build_model(tmp_path):
    from zoo.saving import save_model

    source = zoo.build_model("lenet5")
    save_model(source, tmp_path / "l.keras")
    model = zoo.build_model("lenet5", include_top=False, weights=str(tmp_path / "l.keras"))
    for a, b in zip(model.get_layer("c1").weights, source.get_layer("c1").weights, strict=True):
        assert (np.array(a) == np.array(b)).all()
    assert "weights" not in model.zoo_options


def test_options_and_registry_import_no_framework():
    from conftest import heavy_imports

    assert heavy_imports("import zoo.options, zoo.registry; zoo.registry.get_spec('vgg16')") == []


def test_register_model_needs_an_options_dataclass():
    from zoo.registry import register_model

    with pytest.raises(TypeError, match="ImageOptions subclass"):
        register_model(
            family="x",
            input_shape=(1,),
            min_input_shape=(1,),
            paper="",
            description="",
            options=dict,
        )
