"""Fine-tuning policies: discriminative rates, BatchNorm policy, no decay, the carved test split."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import publish_bn_lenet, write_digit_folder

CLASSES = {"five": 5, "six": 6, "seven": 7}
NOT_BN_STATS = ("moving_mean", "moving_variance")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A flat grayscale 28x28 folder: five/, seven/, six/ (14 images each)."""
    return write_digit_folder(tmp_path_factory.mktemp("data") / "digits", CLASSES, 14)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A saved-models folder holding 'lenet5-bn-pol': LeNet-5 with BatchNorm, 10 classes."""
    return publish_bn_lenet(tmp_path_factory.mktemp("saved_models"), "lenet5-bn-pol")


def _tiny(seed=0):
    """Input -> block1 (Dense+BN) -> block2 (Dense) -> predictions: two rate groups and a head."""
    import keras

    keras.utils.set_random_seed(seed)
    x = inputs = keras.Input((6,))
    x = keras.layers.Dense(5, activation="tanh", name="block1_dense")(x)
    x = keras.layers.BatchNormalization(name="block1_bn")(x)
    x = keras.layers.Dense(4, activation="tanh", name="block2_dense")(x)
    outputs = keras.layers.Dense(3, name="predictions")(x)
    return keras.Model(inputs, outputs)


BACKBONE = ["block1_dense", "block1_bn", "block2_dense"]


def _values(variables):
    return [np.array(v) for v in variables]


@pytest.mark.backend
def test_each_group_steps_at_its_rate():
    """One SGD step through fit: each group's change is its rate times the gradient."""
    import keras

    from zoo.transfer.rates import discriminative_groups, group_factors, optimizer_policy

    assert np.allclose(group_factors(2, 100.0), [0.01, 0.1])
    x = np.random.default_rng(0).normal(size=(16, 6)).astype("float32")
    y = np.random.default_rng(1).integers(0, 3, 16)
    changes = {}
    for mode in ("plain", "groups"):
        model = _tiny()
        groups = discriminative_groups(model, BACKBONE, 100.0) if mode == "groups" else []
        assert mode == "plain" or [(k, f) for k, _, f in groups] == [
            ("block1", 0.01),
            ("block2", 0.1),
        ]
        opt = optimizer_policy(groups, no_decay=False)(keras.optimizers.SGD(0.5))
        model.compile(opt, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        before = {v.path: np.array(v) for v in model.trainable_variables}
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        changes[mode] = {v.path: np.array(v) - before[v.path] for v in model.trainable_variables}
    rate = {"block1": 0.01, "block2": 0.1, "predictions": 1.0}
    for path, plain in changes["plain"].items():
        assert np.abs(plain).max() > 0, path  # every variable got a gradient
        np.testing.assert_allclose(
            changes["groups"][path], rate[path.split("_")[0].split("/")[0]] * plain,
            rtol=1e-4, atol=1e-7, err_msg=path,
        )  # fmt: skip
    # a schedule sets the head's rate; the groups keep their ratios
    opt.learning_rate = 2.0
    assert sorted(round(r, 6) for r in opt.group_rates().values()) == [0.02, 0.2, 2.0]


def test_adam_groups_scale_the_step_not_the_gradient():
    """Adam's first step is lr * sign(g): the rate, not a gradient multiplier, sets it."""
    import keras

    from zoo.transfer.rates import discriminative_groups, optimizer_policy

    model = _tiny()
    opt = optimizer_policy(discriminative_groups(model, BACKBONE, 10.0), no_decay=False)(
        keras.optimizers.Adam(0.01, epsilon=1e-12)
    )
    variables = model.trainable_variables
    before = _values(variables)
    opt.apply([np.ones(v.shape, "float32") for v in variables], variables)
    steps = {
        v.path: float(np.abs(np.array(v) - b).max())
        for v, b in zip(variables, before, strict=False)
    }
    assert steps["block1_dense/kernel"] == pytest.approx(0.001, rel=1e-3)  # lr / 10
    assert steps["block2_dense/kernel"] == pytest.approx(0.01 / 10**0.5, rel=1e-3)
    assert steps["predictions/kernel"] == pytest.approx(0.01, rel=1e-3)


@pytest.mark.parametrize("kind", ["adamw", "sgd_groups"])
def test_no_weight_decay_reaches_bias_or_batch_norm(kind):
    """A zero-gradient step with decoupled decay: kernels shrink; biases, gamma, beta do not."""
    import keras

    from zoo.transfer.rates import discriminative_groups, optimizer_policy

    model = _tiny()
    for layer in model.layers:  # non-zero values, so decay would show
        for w in layer.weights:
            w.assign(np.full(w.shape, 0.5, "float32"))
    if kind == "adamw":
        base, groups = keras.optimizers.AdamW(0.1, weight_decay=0.5), []
    else:
        base = keras.optimizers.SGD(0.1, weight_decay=0.5)
        groups = discriminative_groups(model, BACKBONE, 10.0)
    opt = optimizer_policy(groups)(base)
    variables = model.trainable_variables
    opt.apply([np.zeros(v.shape, "float32") for v in variables], variables)
    for v in variables:
        changed = not np.allclose(np.array(v), 0.5)
        assert changed == v.path.endswith("kernel"), v.path


@pytest.mark.backend
def test_group_rates_survive_save_and_reload(tmp_path):
    import keras

    import zoo
    from zoo.training.optimizers import GroupRateOptimizer
    from zoo.transfer.rates import discriminative_groups, optimizer_policy

    model = _tiny()
    opt = optimizer_policy(discriminative_groups(model, BACKBONE, 100.0))(
        keras.optimizers.SGD(0.1, momentum=0.9)
    )
    model.compile(opt, keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    x = np.random.default_rng(0).normal(size=(8, 6)).astype("float32")
    model.fit(x, np.arange(8) % 3, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    again = zoo.load_model(tmp_path / "m.keras", compile=True)
    assert isinstance(again.optimizer, GroupRateOptimizer)
    assert again.optimizer.factors == opt.factors
    assert again.optimizer.group_rates() == pytest.approx(opt.group_rates())
    for a, b in zip(_values(opt.variables), _values(again.optimizer.variables), strict=True):
        np.testing.assert_allclose(a, b)  # iterations, rates and momenta of every group


class _Interrupt(Exception):
    pass


def _stop_at(epoch):
    import keras

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, e, logs=None):
            if e == epoch:
                raise _Interrupt

    return Stop()


def test_discriminative_fine_tune_resumes_its_optimizer_state(folder, saved, tmp_path):
    """Interrupted after epoch 1 and resumed == uninterrupted (full batch, momentum state kept)."""
    import keras

    from zoo.training.config import TrainConfig
    from zoo.transfer import fine_tune

    config = TrainConfig(epochs=3, batch_size=64, learning_rate=0.05, optimizer="momentum",
                         doctor=False, jit_compile=False, seed=3)  # fmt: skip
    kwargs = {"root": saved, "freeze_epochs": 0, "unfreeze": 2, "discriminative": 10, "head_dropout": 0.0,
                  "config": config, "verbose": 0}  # fmt: skip
    keras.utils.set_random_seed(1)
    whole = fine_tune("lenet5-bn-pol", folder, run_dir=tmp_path / "a", **kwargs)
    assert [k for k, _, _ in whole.rate_groups] == ["c3", "c5"]
    assert [f for _, _, f in whole.rate_groups] == pytest.approx([0.1, 10**-0.5])
    keras.utils.set_random_seed(1)
    with pytest.raises(_Interrupt):
        fine_tune("lenet5-bn-pol", folder, run_dir=tmp_path / "b", callbacks=[_stop_at(1)],
                  **kwargs)  # fmt: skip
    resumed = fine_tune("lenet5-bn-pol", folder, run_dir=tmp_path / "b", resume=True, **kwargs)
    assert resumed.history["epoch"] == [1, 2, 3]
    rates = resumed.phase2.model.optimizer.group_rates()  # the head keeps learning_rate
    assert sorted(rates.values()) == pytest.approx([0.005, 0.05 * 10**-0.5, 0.05])
    # epoch 2's val_loss and epoch 3's loss follow the resumed updates (the returned model is
    # the best epoch's, so the losses, not the weights, tell a lost momentum)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(resumed.history[key], whole.history[key], rtol=1e-5)


@pytest.mark.parametrize("bn", ["frozen", "train"])
def test_batch_norm_policy_and_carved_test_split(folder, saved, bn):
    """Frozen: moving statistics bitwise untouched; train: they follow the data.

    Without a run_dir, a flat folder still yields real test metrics on a carved split.
    """
    import keras

    from zoo.pretrained import load_pretrained
    from zoo.training.config import TrainConfig
    from zoo.transfer import fine_tune

    source = load_pretrained("lenet5-bn-pol", saved)
    bn_names = [
        lay.name for lay in source.layers if isinstance(lay, keras.layers.BatchNormalization)
    ]
    result = fine_tune(
        "lenet5-bn-pol", folder, root=saved, freeze_epochs=1, unfreeze=0, bn=bn, keep_best=False,
        config=TrainConfig(batch_size=8, learning_rate=0.01, doctor=False, jit_compile=False),
        verbose=0,
    )  # fmt: skip
    for name in bn_names:
        old, new = source.get_layer(name), result.model.get_layer(name)
        same = np.array_equal(np.array(old.moving_mean), np.array(new.moving_mean))
        assert same == (bn == "frozen"), name
    assert set(result.metrics) >= {
        "test_loss",
        "test_accuracy",
    }  # the carved test split was evaluated
    assert len(result.splits["test"]) == 4  # round(42 * 0.1)


def test_carved_split_is_seeded_stratified_and_disjoint(folder, tmp_path, monkeypatch):
    from zoo.training.config import TrainConfig
    from zoo.transfer.carving import carve_folder, carve_three

    labels = np.repeat([0, 1, 2], [100, 40, 10])
    a = carve_three(labels, 0.2, 0.1, seed=5)
    assert all(np.array_equal(a[s], carve_three(labels, 0.2, 0.1, seed=5)[s]) for s in a)
    assert not np.array_equal(a["test"], carve_three(labels, 0.2, 0.1, seed=6)["test"])
    assert np.bincount(labels[a["test"]]).tolist() == [20, 8, 2]  # stratified
    assert np.bincount(labels[a["val"]]).tolist() == [10, 4, 1]
    every = np.concatenate([a["train"], a["val"], a["test"]])
    assert sorted(every.tolist()) == list(range(150))  # disjoint, nothing lost
    config = TrainConfig(seed=11, validation_split=0.2)
    bundle, splits = carve_folder(folder, config, test_split=0.25)
    files = [set(splits[s]) for s in ("train", "val", "test")]
    assert not (files[0] & files[1] or files[0] & files[2] or files[1] & files[2])
    assert sum(map(len, files)) == 42
    assert [len({p.split("/")[0] for p in f}) for f in files] == [3, 3, 3]
    assert bundle.num_examples("test") == len(files[2]) and bundle.test[0].shape[1:] == (28, 28, 1)
    assert json.loads(json.dumps(splits)) == carve_folder(folder, config, test_split=0.25)[1]
    monkeypatch.setattr("zoo.data.sources.DEFAULT_MAX_IN_MEMORY_BYTES", 0)  # too big: streamed
    streamed, again = carve_folder(folder, config, test_split=0.25)
    assert again == splits and "streaming" in streamed.source
    assert streamed.num_examples("test") == len(files[2])
    assert [str(p) for p in streamed.test.paths] == [str(folder / p) for p in splits["test"]]
