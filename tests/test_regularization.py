"""RegularizationPolicy keeps weights bit for bit and adds the right penalty."""

import keras
import numpy as np
import pytest

#: Keras-level behaviour: tests/test_backends.py re-runs this file under JAX.
pytestmark = pytest.mark.backend

from zoo.training.config import AUGMENTATIONS, TrainConfig
from zoo.training.regularization import RegularizationPolicy, make_augmentation


def _backbone():
    inp = keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, name="block1_conv1")(inp)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.SeparableConv2D(4, 3, name="block1_sepconv")(x)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    return keras.Model(inp, x, name="backbone")


def _model(freeze_backbone=False):
    """A 'pretrained' backbone nested in a functional model with a head."""
    backbone = _backbone()
    backbone.trainable = not freeze_backbone
    inp = keras.Input((8, 8, 3))
    x = backbone(inp)
    x = keras.layers.Dense(6, activation="relu", name="fc1")(x)
    out = keras.layers.Dense(3, name="predictions")(x)
    model = keras.Model(inp, out, name="net")
    rng = np.random.default_rng(0)  # non-default weights, as if trained
    model.set_weights([rng.normal(size=w.shape).astype(w.dtype) for w in model.get_weights()])
    return model


def _kernels(model, trainable_only=False):
    out = []
    for w in model.weights:
        leaf = w.path.split("/")[-1]
        if leaf in ("kernel", "depthwise_kernel", "pointwise_kernel"):
            out.append(keras.ops.convert_to_numpy(w))
    return out


def _assert_same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb, strict=False):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert x.tobytes() == y.tobytes()  # bitwise


def test_l2_penalty_equals_hand_computation_and_weights_unchanged():
    model = _model()
    new = RegularizationPolicy(l2=0.01).apply(model)
    assert new is not model
    _assert_same_weights(model, new)
    kernels = _kernels(model)
    assert len(kernels) == 5  # conv, depthwise, pointwise, fc1, predictions
    expected = 0.01 * sum(float(np.sum(k.astype("float64") ** 2)) for k in kernels)
    got = sum(float(keras.ops.convert_to_numpy(l)) for l in new.losses)
    assert got == pytest.approx(expected, rel=1e-5)
    assert model.losses == []  # the original is untouched


def test_l1_and_l2_together():
    model = _model()
    new = RegularizationPolicy(l2=0.01, l1=0.001).apply(model)
    kernels = [k.astype("float64") for k in _kernels(model)]
    expected = sum(0.01 * np.sum(k**2) + 0.001 * np.sum(np.abs(k)) for k in kernels)
    got = sum(float(keras.ops.convert_to_numpy(l)) for l in new.losses)
    assert got == pytest.approx(float(expected), rel=1e-5)


def test_frozen_backbone_is_skipped():
    model = _model(freeze_backbone=True)
    new = RegularizationPolicy(l2=0.01).apply(model)
    _assert_same_weights(model, new)
    head = [keras.ops.convert_to_numpy(new.get_layer(n).kernel) for n in ("fc1", "predictions")]
    expected = 0.01 * sum(float(np.sum(k.astype("float64") ** 2)) for k in head)
    got = sum(float(keras.ops.convert_to_numpy(l)) for l in new.losses)
    assert got == pytest.approx(expected, rel=1e-5)
    assert not new.get_layer("backbone").trainable


def test_max_norm_and_predictions_unchanged():
    model = _model()
    new = RegularizationPolicy(max_norm=2.0).apply(model)
    _assert_same_weights(model, new)
    assert isinstance(new.get_layer("fc1").kernel_constraint, keras.constraints.MaxNorm)
    inner = new.get_layer("backbone").get_layer("block1_conv1")
    assert isinstance(inner.kernel_constraint, keras.constraints.MaxNorm)
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(
        new.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6, atol=1e-6
    )


def test_dropout_inserted_before_dense_layers():
    model = _model()
    new = RegularizationPolicy(dropout=0.5).apply(model)
    _assert_same_weights(model, new)
    names = [layer.name for layer in new.layers]
    assert names.index("fc1_dropout") == names.index("fc1") - 1
    assert names.index("predictions_dropout") == names.index("predictions") - 1
    x = np.random.default_rng(1).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_allclose(  # dropout is the identity at inference
        keras.ops.convert_to_numpy(new(x, training=False)),
        keras.ops.convert_to_numpy(model(x, training=False)),
        rtol=1e-6,
        atol=1e-6,
    )


def test_dropout_not_doubled_nor_on_inputs():
    inp = keras.Input((5,))
    x = keras.layers.Dense(4, name="d1")(inp)  # fed by the input: no dropout
    x = keras.layers.Dropout(0.2, name="existing")(x)
    out = keras.layers.Dense(2, name="d2")(x)  # already after a Dropout
    model = keras.Model(inp, out)
    new = RegularizationPolicy(dropout=0.5, l2=1e-3).apply(model)
    assert [l.name for l in new.layers] == [l.name for l in model.layers]


def test_sequential_model():
    model = keras.Sequential(
        [keras.Input((5,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(2, name="b")]
    )
    new = RegularizationPolicy(l2=0.1, dropout=0.3).apply(model)
    _assert_same_weights(model, new)
    assert [l.name for l in new.layers] == ["a", "b_dropout", "b"]
    kernels = _kernels(model)
    expected = 0.1 * sum(float(np.sum(k.astype("float64") ** 2)) for k in kernels)
    got = sum(float(keras.ops.convert_to_numpy(l)) for l in new.losses)
    assert got == pytest.approx(expected, rel=1e-5)


def test_regularized_model_saves_and_reloads(tmp_path):
    new = RegularizationPolicy(l2=0.01, max_norm=3.0, dropout=0.2).apply(_model())
    path = tmp_path / "m.keras"
    new.save(path)
    again = keras.saving.load_model(path)
    _assert_same_weights(new, again)
    assert isinstance(again.get_layer("fc1").kernel_regularizer, keras.regularizers.L2)


def test_empty_policy_returns_model_and_errors():
    model = _model()
    assert RegularizationPolicy().apply(model) is model

    class Sub(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = keras.layers.Dense(2)

        def call(self, x):
            return self.d(x)

    sub = Sub()
    sub(np.ones((1, 3), "float32"))
    with pytest.raises(ValueError, match="Functional or Sequential"):
        RegularizationPolicy(l2=0.1).apply(sub)
    with pytest.raises(ValueError, match="l2"):
        RegularizationPolicy(l2=-1.0)
    with pytest.raises(ValueError, match="dropout"):
        RegularizationPolicy(dropout=1.0)


def test_from_train_config():
    policy = RegularizationPolicy.from_config(TrainConfig(l2=1e-4, dense_dropout=0.5, max_norm=3.0))
    assert (policy.l2, policy.dropout, policy.max_norm) == (1e-4, 0.5, 3.0)


# -------------------------------------------------------------- augmentation
def test_make_augmentation_none_when_empty():
    assert make_augmentation(TrainConfig()) is None


def test_make_augmentation_layers_and_inference_identity():
    cfg = TrainConfig(augment=list(AUGMENTATIONS), seed=1)
    aug = make_augmentation(cfg, input_shape=(16, 16, 3))
    kinds = [type(layer).__name__ for layer in aug.layers]
    assert kinds == [
        "RandomFlip",
        "RandomTranslation",
        "RandomTranslation",
        "RandomRotation",
        "RandomZoom",
        "RandomContrast",
        "RandomErasing",
    ]
    x = np.random.default_rng(0).uniform(0, 255, size=(2, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    y = keras.ops.convert_to_numpy(aug(x, training=True))
    assert y.shape == x.shape and not np.allclose(y, x)


@pytest.mark.parametrize("p", [1.0, 0.5])
def test_erase_zeroes_one_rectangle_with_probability_p(p):
    aug = make_augmentation(TrainConfig(augment={"erase": p}, seed=3), input_shape=(32, 32, 3))
    x = np.random.default_rng(1).uniform(1, 255, size=(400, 32, 32, 3)).astype("float32")
    y = keras.ops.convert_to_numpy(aug(x, training=True))
    zero = np.all(y == 0, axis=-1)  # (n, h, w): pixels erased in every channel
    changed = np.any(y != x, axis=-1)
    np.testing.assert_array_equal(zero, changed)  # only erasing, nothing else
    erased = zero.any(axis=(1, 2))
    for image in np.flatnonzero(erased)[:50]:  # the erased pixels form one rectangle
        rows, cols = np.flatnonzero(zero[image].any(1)), np.flatnonzero(zero[image].any(0))
        assert zero[image][rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].all()
        assert zero[image].sum() == len(rows) * len(cols) < 32 * 32
    if p == 1.0:
        assert erased.mean() > 0.95  # a rare zero-size draw may leave one untouched
    else:
        assert 0.4 < erased.mean() < 0.6  # 400 draws: 5 sigma either side
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)


def test_augmentation_strengths_follow_config():
    aug = make_augmentation(TrainConfig(augment={"rotate": 0.2, "zoom": 0.3}))
    rotate, zoom = aug.layers
    assert rotate.get_config()["factor"] in (0.2, (-0.2, 0.2), [-0.2, 0.2])
    assert zoom.get_config()["height_factor"] in (0.3, (-0.3, 0.3), [-0.3, 0.3])
