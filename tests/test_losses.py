"""Losses against hand-computed numbers; serialization; make_loss."""

import keras
import numpy as np
import pytest

#: Keras-level behaviour: tests/test_backends.py re-runs this file under JAX.
pytestmark = pytest.mark.backend

from zoo.training.config import LOSSES, TrainConfig
from zoo.training.losses import Cauchy, Fair, MulticlassHinge, TukeyBiweight, make_loss

# The CS231n example: scores for 3 samples, true classes 0, 1, 2.
SCORES = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]], "float32")
LABELS = np.array([0, 1, 2])
# by hand: sample 1: max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1) = 2.9 + 0 = 2.9
#          sample 2: max(0, 1.3-4.9+1) + max(0, 2.0-4.9+1) = 0
#          sample 3: max(0, 2.2+3.1+1) + max(0, 2.5+3.1+1) = 6.3 + 6.6 = 12.9
HINGE = np.array([2.9, 0.0, 12.9])


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_multiclass_hinge_one_hot_by_hand():
    onehot = np.eye(3, dtype="float32")[LABELS]
    per_sample = MulticlassHinge(reduction=None)(onehot, SCORES)
    np.testing.assert_allclose(_np(per_sample), HINGE, rtol=1e-5, atol=1e-5)
    assert float(_np(MulticlassHinge()(onehot, SCORES))) == pytest.approx(HINGE.mean(), rel=1e-5)


@pytest.mark.parametrize("shape", [(3,), (3, 1)])
def test_multiclass_hinge_sparse(shape):
    labels = LABELS.reshape(shape).astype("float32")
    value = MulticlassHinge(sparse=True, reduction=None)(labels, SCORES)
    np.testing.assert_allclose(_np(value), HINGE, rtol=1e-5, atol=1e-5)


def test_multiclass_hinge_margin():
    onehot = np.eye(3, dtype="float32")[LABELS]
    value = MulticlassHinge(margin=0.0, reduction=None)(onehot, SCORES)
    np.testing.assert_allclose(_np(value), [1.9, 0.0, 10.9], rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="margin"):
        MulticlassHinge(margin=-1)


R = np.array([[-6.0, -2.0, -0.5, 0.0, 0.3, 1.0, 4.0, 9.0]], "float32")


def _robust(loss, c, rho):
    y_true = np.zeros_like(R)
    got = _np(loss(y_true, R))
    assert float(got) == pytest.approx(float(np.mean(rho(R.astype("float64"), c))), rel=1e-5)
    # the per-sample value is the mean over the last axis
    got = _np(type(loss)(c=c, reduction=None)(y_true, R))
    np.testing.assert_allclose(got, np.mean(rho(R.astype("float64"), c), axis=-1), rtol=1e-5)


def test_cauchy_by_hand():
    c = 2.0
    _robust(Cauchy(c=c), c, lambda r, c: c**2 / 2 * np.log(1 + (r / c) ** 2))
    # r=2, c=2: 2 * log 2
    assert float(_np(Cauchy(c=2.0)(np.zeros((1, 1)), np.full((1, 1), 2.0)))) == pytest.approx(
        2 * np.log(2), rel=1e-6
    )


def test_fair_by_hand():
    c = 1.5
    _robust(Fair(c=c), c, lambda r, c: c**2 * (np.abs(r) / c - np.log(1 + np.abs(r) / c)))


def test_tukey_by_hand():
    c = 4.0
    rho = lambda r, c: np.where(np.abs(r) <= c, c**2 / 6 * (1 - (1 - (r / c) ** 2) ** 3), c**2 / 6)
    _robust(TukeyBiweight(c=c), c, rho)
    # outliers saturate at c^2/6
    big = _np(TukeyBiweight(c=c, reduction=None)(np.zeros((1, 2)), np.array([[5.0, 50.0]])))
    assert float(big[0]) == pytest.approx(c**2 / 6)


def test_defaults_and_bad_scale():
    assert Cauchy().c == pytest.approx(2.3849)
    assert Fair().c == pytest.approx(1.3998)
    assert TukeyBiweight().c == pytest.approx(4.6851)
    with pytest.raises(ValueError, match="c must be > 0"):
        Cauchy(c=0.0)


@pytest.mark.parametrize(
    "loss",
    [MulticlassHinge(margin=2.0, sparse=True), Cauchy(c=1.5), Fair(c=2.0), TukeyBiweight(c=3.0)],
    ids=lambda l: type(l).__name__,
)
def test_serialization_round_trip(loss):
    data = keras.saving.serialize_keras_object(loss)
    again = keras.saving.deserialize_keras_object(data)
    assert type(again) is type(loss)
    assert again.get_config() == loss.get_config()


def test_model_with_custom_loss_saves_and_reloads(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=MulticlassHinge(sparse=True))
    model.fit(np.ones((4, 3), "float32"), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    path = tmp_path / "m.keras"
    model.save(path)
    again = keras.saving.load_model(path)
    assert isinstance(again.loss, MulticlassHinge) and again.loss.sparse


@pytest.mark.parametrize("name", LOSSES)
def test_make_loss_every_name(name):
    loss = make_loss(TrainConfig(loss=name))
    assert isinstance(loss, keras.losses.Loss)
    y = np.eye(3, dtype="float32")[[0, 1]]
    p = np.full((2, 3), 1 / 3, "float32")
    assert np.isfinite(float(_np(loss(y, p))))


def test_make_loss_options():
    ls = make_loss(TrainConfig(label_smoothing=0.1))
    assert ls.get_config()["label_smoothing"] == pytest.approx(0.1)
    sparse = make_loss(TrainConfig(sparse_labels=True))
    assert isinstance(sparse, keras.losses.SparseCategoricalCrossentropy)
    assert make_loss(TrainConfig(loss="svm_hinge", sparse_labels=True)).sparse
    assert make_loss(TrainConfig(loss="cauchy", robust_c=0.5)).c == 0.5
    huber = make_loss(TrainConfig(loss="huber", robust_c=2.0))  # delta=2, r=3: 2*3 - 2^2/2
    assert float(_np(huber(np.zeros((1, 1)), np.full((1, 1), 3.0)))) == pytest.approx(4.0)
    assert isinstance(make_loss(TrainConfig(loss="hinge_cs")), keras.losses.CategoricalHinge)
