"""LeNet-5 as LeCun et al. (1998) built it: ``zoo.build_model("lenet5", variant="1998")``."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.layers import ConnectionTableConv2D, RBFOutput, ScaledTanh, TrainableSubsampling
from zoo.models.lenet import C3_TABLE, rbf_codes

# Section II-B: trainable parameters per layer.
PAPER_PARAMS = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120, "f6": 10_164}


def _trainable(layer) -> int:
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)


@pytest.fixture(scope="module")
def model():
    return zoo.build_model("lenet5", variant="1998")


def test_trainable_parameters_per_layer_match_the_paper(model):
    counts = {layer.name: _trainable(layer) for layer in model.layers if _trainable(layer)}
    assert counts == PAPER_PARAMS
    assert sum(counts.values()) == 60_000  # "LeNet-5 ... 60,000 trainable parameters"
    rbf = model.get_layer("predictions")
    assert isinstance(rbf, RBFOutput) and not rbf.trainable_weights  # the codes are fixed
    assert model.output_shape == (None, 10) and model.input_shape == (None, 32, 32, 1)
    assert zoo.build_model("lenet5").count_params() == 61_706  # the default is unchanged


def test_inputs_are_mapped_to_the_papers_levels(model):
    """Sec. II-B: background (the zoo's 0) -> -0.1, ink (1) -> 1.175."""
    import keras

    scaled = keras.Model(model.inputs, model.get_layer("input_scaling").output)
    x = np.zeros((1, 32, 32, 1), "float32")
    x[0, :16] = 1.0
    out = keras.ops.convert_to_numpy(scaled(x))
    np.testing.assert_allclose(out[0, :16], 1.175, rtol=1e-6)
    np.testing.assert_allclose(out[0, 16:], -0.1, rtol=1e-6)


def test_c3_connection_table_is_table_i():
    assert len(C3_TABLE) == 16 and [len(r) for r in C3_TABLE] == [3] * 6 + [4] * 9 + [6]
    layer = ConnectionTableConv2D(C3_TABLE, 5)
    rng = np.random.default_rng(0)
    layer.build((None, 14, 14, 6))
    layer.bias.assign(rng.normal(size=16).astype("float32"))
    for i in range(6):  # only input map i is non-zero: output map j moves iff j reads map i
        x = np.zeros((1, 14, 14, 6), "float32")
        x[..., i] = rng.normal(size=(14, 14))
        moved = np.abs(np.asarray(layer(x)) - np.asarray(layer(np.zeros_like(x)))).max((0, 1, 2))
        assert [bool(m > 1e-6) for m in moved] == [i in row for row in C3_TABLE]


@pytest.mark.backend
def test_layers_compute_what_the_paper_says():
    import keras

    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 4, 4, 3)).astype("float32")
    s = TrainableSubsampling(2)
    s.build(x.shape)
    s.coefficient.assign(np.array([0.5, -1.0, 2.0], "float32"))
    s.bias.assign(np.array([0.1, 0.2, 0.3], "float32"))
    window_sum = x.reshape(2, 2, 2, 2, 2, 3).sum(axis=(2, 4))
    expected = window_sum * [0.5, -1.0, 2.0] + [0.1, 0.2, 0.3]
    np.testing.assert_allclose(np.asarray(s(x)), expected, rtol=1e-5, atol=1e-6)

    f = np.asarray(ScaledTanh()(np.array([-1.0, 0.0, 1.0, 100.0], "float32")))
    np.testing.assert_allclose(f, [-1.0, 0.0, 1.0, 1.7159], atol=1e-4)

    codes = rbf_codes()
    assert codes.shape == (10, 84) and set(np.unique(codes)) == {-1.0, 1.0}
    assert len({c.tobytes() for c in codes}) == 10
    h = rng.normal(size=(5, 84)).astype("float32")
    d = ((h[:, None, :] - codes[None]) ** 2).sum(-1)
    np.testing.assert_allclose(np.asarray(RBFOutput(codes)(h)), -d, rtol=1e-5)
    soft = np.asarray(RBFOutput(codes, activation="softmax")(h))
    np.testing.assert_allclose(soft, np.asarray(keras.ops.softmax(-d)), rtol=1e-4, atol=1e-7)
    assert (soft.argmax(-1) == d.argmin(-1)).all()  # the nearest code wins


@pytest.mark.backend
def test_forward_save_and_reload(model, tmp_path):
    from zoo.saving import load_model, save_model

    x = np.random.default_rng(2).normal(size=(3, 32, 32, 1)).astype("float32")
    before = np.asarray(model(x, training=False))
    np.testing.assert_allclose(before.sum(-1), 1.0, rtol=1e-5)
    save_model(model, tmp_path / "lenet5_1998.keras")
    reloaded = load_model(tmp_path / "lenet5_1998.keras")  # safe_mode=True
    np.testing.assert_allclose(np.asarray(reloaded(x, training=False)), before, rtol=1e-5)
    assert reloaded.zoo_options["variant"] == "1998"
    assert [type(layer).__name__ for layer in reloaded.layers] == [
        type(layer).__name__ for layer in model.layers
    ]
    logits = zoo.build_model("lenet5", variant="1998", classifier_activation=None)
    assert float(np.max(np.asarray(logits(x)))) <= 0.0  # -squared distances


def test_bad_options_are_refused():
    with pytest.raises(ValueError, match="variant"):
        zoo.build_model("lenet5", variant="1999")
    with pytest.raises(ValueError, match="1998"):
        zoo.build_model("lenet5", variant="1998", batch_norm=True)
    with pytest.raises(ValueError, match="num_classes=11"):
        zoo.build_model("lenet5", variant="1998", num_classes=11)


def test_trains_with_the_zoo_training_path(tmp_path):
    from zoo.data import load_sample_arrays
    from zoo.training.config import TrainConfig
    from zoo.training.fit import train

    a = load_sample_arrays()
    path = tmp_path / "digits.npz"
    np.savez(path, x_train=a["x_train"][:600], y_train=a["y_train"][:600],
             x_test=a["x_test"][:200], y_test=a["y_test"][:200])  # fmt: skip
    config = TrainConfig(epochs=3, batch_size=32, optimizer="adam", learning_rate=2e-3, seed=1)
    result = train("lenet5", str(path), config, model_kwargs={"variant": "1998"}, verbose=0)
    assert result.status == "completed"
    assert result.history["loss"][-1] < result.history["loss"][0]
    assert result.metrics["test_accuracy"] > 0.5  # chance is 0.1
    assert isinstance(result.model.get_layer("c3"), ConnectionTableConv2D)
