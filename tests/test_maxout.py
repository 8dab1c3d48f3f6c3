"""Maxout as the activation of the fully connected layers (``dense_activation``).

Goodfellow et al. 2013: a maxout layer with K pieces is a dense layer of
``units * K`` outputs followed by a max over each group of K, so it has K times
the weights (kernel and bias) of the plain dense layer it replaces.
"""

import keras
import numpy as np
import pytest

import zoo
from tuning.hypermodel import builder_kwargs
from zoo.layers import Maxout


def _mlp(**kwargs):
    return zoo.build_model("mlp", input_shape=(12,), hidden_units=(8,), num_classes=3, **kwargs)


def test_mlp_maxout_has_k_times_the_weights():
    plain = zoo.build_model("mlp", hidden_units=(64,))
    maxout = zoo.build_model("mlp", hidden_units=(64,), dense_activation="maxout:3")
    layer = maxout.get_layer("dense1")
    assert isinstance(layer, Maxout) and (layer.units, layer.pieces) == (64, 3)
    assert plain.get_layer("dense1").count_params() == 784 * 64 + 64 == 50_240
    assert layer.count_params() == 3 * 50_240
    assert maxout.count_params() == 3 * 50_240 + 64 * 10 + 10 == 151_370
    assert maxout.output_shape == (None, 10)
    assert "dense1_act" not in [x.name for x in maxout.layers]  # the max is the nonlinearity


def test_vgg_head_maxout_has_k_times_the_weights():
    kw = {"input_shape": (32, 32, 3), "num_classes": 3, "fc_units": 8}
    plain = zoo.build_model("vgg11", **kw)
    maxout = zoo.build_model("vgg11", dense_activation="maxout", **kw)
    fc1, fc2 = (plain.get_layer(n).count_params() for n in ("fc1", "fc2"))
    assert (fc1, fc2) == (512 * 8 + 8, 8 * 8 + 8)
    assert maxout.get_layer("fc1").count_params() == 2 * fc1
    assert maxout.get_layer("fc2").count_params() == 2 * fc2
    assert maxout.count_params() == plain.count_params() + fc1 + fc2
    # the convolutions keep the model's activation
    assert maxout.get_layer("block1_conv1_act").get_config()["activation"] == "relu"


def test_lenet_f6_maxout_and_the_1998_variant_refuses_it():
    model = zoo.build_model("lenet5", dense_activation="maxout:4")
    f6 = model.get_layer("f6")
    assert isinstance(f6, Maxout) and (f6.units, f6.pieces) == (84, 4)
    with pytest.raises(ValueError, match="dense_activation"):
        zoo.build_model("lenet5", variant="1998", dense_activation="maxout")


def test_dense_activation_other_than_the_conv_activation():
    model = _mlp(activation="tanh", dense_activation="relu")
    assert model.get_layer("dense1_act").get_config()["activation"] == "relu"
    assert _mlp(activation="tanh").get_layer("dense1_act").get_config()["activation"] == "tanh"


@pytest.mark.backend
def test_maxout_mlp_forward_and_one_training_step_reduces_the_loss():
    keras.utils.set_random_seed(0)
    model = _mlp(dense_activation="maxout:3")
    x = np.random.default_rng(0).normal(size=(16, 12)).astype("float32")
    y = np.arange(16) % 3
    probs = np.asarray(model.predict(x, verbose=0))
    assert probs.shape == (16, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
    before = model.evaluate(x, y, verbose=0)
    model.train_on_batch(x, y)
    assert model.evaluate(x, y, verbose=0) < before


def test_maxout_model_round_trips_through_a_keras_file(tmp_path):
    model = _mlp(dense_activation="maxout:3", batch_norm=True, dropout=0.2)
    x = np.random.default_rng(1).normal(size=(4, 12)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded.get_layer("dense1"), Maxout)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("bad", ["maxout:0", "maxout:1", "maxout:x", "maxout:", "maxouts", 3])
def test_bad_dense_activation_is_a_one_line_error_naming_the_option(bad):
    with pytest.raises(ValueError, match="dense_activation") as err:
        _mlp(dense_activation=bad)
    assert "\n" not in str(err.value)


def test_the_tuner_sees_dense_activation():
    for name in ("mlp", "lenet5", "alexnet", "vgg11"):
        assert builder_kwargs(name)["dense_activation"] is None
    assert "dense_activation" not in builder_kwargs("resnet50")
