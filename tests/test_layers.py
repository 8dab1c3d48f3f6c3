"""The layers Keras lacks: numerics against references, serialization."""

from __future__ import annotations

import keras
import numpy as np
import pytest

#: Keras-level behaviour: tests/test_backends.py re-runs this file under JAX.
pytestmark = pytest.mark.backend

from zoo.layers import ChannelPadShortcut, HardThreshold, LocalResponseNormalization, Maxout


def _lrn_reference(x, r, k, alpha, beta):
    c = x.shape[-1]
    out = np.empty_like(x)
    for i in range(c):
        lo, hi = max(0, i - r), min(c, i + r + 1)
        out[..., i] = x[..., i] / (k + alpha * np.sum(x[..., lo:hi] ** 2, axis=-1)) ** beta
    return out


def test_lrn_matches_the_paper_formula():
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 7)).astype("float32") * 10
    layer = LocalResponseNormalization(depth_radius=2, bias=2.0, alpha=1e-3, beta=0.75)
    np.testing.assert_allclose(
        np.asarray(layer(x)), _lrn_reference(x, 2, 2.0, 1e-3, 0.75), rtol=1e-5
    )


def test_lrn_matches_tensorflow_when_available():
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.nn reference needs the TensorFlow backend")
    import tensorflow as tf

    x = np.random.default_rng(1).normal(size=(1, 3, 3, 9)).astype("float32")
    ref = tf.nn.local_response_normalization(x, depth_radius=2, bias=2.0, alpha=1e-4, beta=0.75)
    np.testing.assert_allclose(np.asarray(LocalResponseNormalization()(x)), ref.numpy(), rtol=1e-6)


def test_maxout_takes_the_max_of_pieces():
    layer = Maxout(units=2, pieces=3)
    x = np.random.default_rng(0).normal(size=(5, 4)).astype("float32")
    y = np.asarray(layer(x))
    z = x @ np.asarray(layer.kernel) + np.asarray(layer.bias)
    np.testing.assert_allclose(y, z.reshape(5, 2, 3).max(-1), rtol=1e-5)
    with pytest.raises(ValueError, match="units"):
        Maxout(units=0)


def test_option_a_shortcut_subsamples_and_zero_pads():
    x = np.arange(1 * 4 * 4 * 2, dtype="float32").reshape(1, 4, 4, 2)
    y = np.asarray(ChannelPadShortcut(filters=6, strides=2)(x))
    assert y.shape == (1, 2, 2, 6)
    np.testing.assert_array_equal(y[..., 2:4], x[:, ::2, ::2, :])
    assert not y[..., :2].any() and not y[..., 4:].any()


def test_hard_threshold_forward_is_a_step():
    y = np.asarray(HardThreshold()(np.array([[-2.0, -0.1, 0.0, 3.0]], dtype="float32")))
    np.testing.assert_array_equal(y, [[0, 0, 1, 1]])


@pytest.mark.parametrize(
    "layer",
    [
        LocalResponseNormalization(depth_radius=1, alpha=2e-4),
        Maxout(3, 2),
        ChannelPadShortcut(8, 2),
        HardThreshold(),
    ],
)
def test_layers_round_trip_through_keras_serialization(layer, tmp_path):
    shape = (4, 4, 4) if not isinstance(layer, Maxout) else (6,)
    inputs = keras.Input(shape)
    model = keras.Model(inputs, layer(inputs))
    x = np.random.default_rng(0).normal(size=(2, *shape)).astype("float32")
    path = tmp_path / "m.keras"
    model.save(path)
    import zoo

    again = zoo.load_model(path)
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), rtol=1e-6)
