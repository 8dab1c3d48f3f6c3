"""GoogLeNet with its auxiliary classifiers through the one training path (issue 14)."""

from __future__ import annotations

import numpy as np
import pytest

import zoo
from zoo.models.inception import AUX_LOSS_WEIGHTS
from zoo.training.config import TrainConfig
from zoo.training.fit import train
from zoo.training.results import publish_result

SIZE, CLASSES = 65, 3  # 65x65: the smallest input the auxiliary heads take


def _crossentropy(probs, labels):
    p = np.clip(probs[np.arange(len(labels)), labels], 1e-7, 1.0)
    return float(-np.mean(np.log(p)))


class _Interrupted(Exception):
    pass


def _interrupt_after_first_epoch():
    import keras

    class Interrupt(keras.callbacks.Callback):  # runs after the run's checkpoint (added last)
        def on_epoch_end(self, epoch, logs=None):
            raise _Interrupted

    return Interrupt()


def _aux_weights(model) -> dict:
    return {w.path: np.array(w) for w in model.weights if w.path.startswith("aux")}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Two epochs of GoogLeNet with aux heads, interrupted after the first and resumed."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(24, SIZE, SIZE, 3), dtype=np.uint8)
    y = np.arange(24) % CLASSES
    path = tmp_path_factory.mktemp("aux") / "data.npz"
    np.savez(path, x_train=x[:12], y_train=y[:12], x_val=x[12:18], y_val=y[12:18],
             x_test=x[18:], y_test=y[18:])  # fmt: skip
    run_dir = tmp_path_factory.mktemp("aux") / "run"
    config = TrainConfig(epochs=2, batch_size=6, optimizer="sgd", learning_rate=0.05, seed=1)
    kwargs = {"aux_logits": True, "input_shape": (SIZE, SIZE, 3)}
    with pytest.raises(_Interrupted):
        train("googlenet", str(path), config, run_dir=run_dir, model_kwargs=kwargs,
              callbacks=[_interrupt_after_first_epoch()], verbose=0)  # fmt: skip
    first = zoo.load_model(run_dir / "best.keras")  # the run keeps every output, for resume
    assert first.output_names == ["predictions", "aux1", "aux2"]
    result = train(run_dir=run_dir, resume=True, verbose=0)
    full = zoo.load_model(run_dir / "model.keras")  # the run's final model keeps every output
    return _aux_weights(first), result, full, np.load(path), str(path)


def test_aux_heads_are_trained_and_resumed(trained):
    first, result, full, _, _ = trained
    assert result.status == "completed" and result.history["epoch"] == [1, 2]
    final = _aux_weights(full)
    assert set(final) == set(first)
    changed = [p for p, w in first.items() if not np.allclose(w, final[p])]
    assert any(p.startswith("aux1") for p in changed) and any(p.startswith("aux2") for p in changed)


def test_reported_loss_is_main_plus_weighted_aux(trained):
    _, result, full, data, _ = trained
    assert AUX_LOSS_WEIGHTS == (1.0, 0.3, 0.3)
    history = result.history
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(history)
    assert len(full.outputs) == 3
    x, y = result.preprocessing(data["x_val"]), data["y_val"]
    main, aux1, aux2 = full.predict(x, verbose=0)
    by_hand = _crossentropy(main, y) + 0.3 * (_crossentropy(aux1, y) + _crossentropy(aux2, y))
    assert history["val_loss"][-1] == pytest.approx(by_hand, rel=1e-4)
    assert history["val_accuracy"][-1] == pytest.approx(np.mean(main.argmax(-1) == y))
    # the aux terms are not negligible here, so a main-only loss would fail the check above
    assert abs(by_hand - _crossentropy(main, y)) > 1e-3


def test_published_model_has_the_main_output_only(trained, tmp_path):
    _, result, full, data, _ = trained
    assert len(result.model.outputs) == 1
    folder = publish_result(result, "googlenet-aux", root=tmp_path)
    published = zoo.load_model(folder / "model.keras")
    assert len(published.outputs) == 1 and not any(
        layer.name.startswith("aux") for layer in published.layers
    )
    x = result.preprocessing(data["x_test"])
    main_out = full.predict(x, verbose=0)[0]
    np.testing.assert_allclose(published.predict(x, verbose=0), main_out, rtol=1e-5, atol=1e-6)
    main = _crossentropy(main_out, data["y_test"])
    assert result.metrics["test_loss"] == pytest.approx(main, rel=1e-4)  # main output only


def test_evaluating_the_run_uses_the_main_output(trained):
    from zoo.evaluate import evaluate, load_trained

    _, result, full, data, path = trained
    loaded = load_trained(result.run_dir)  # the run's model.keras has the three outputs
    assert len(loaded.model.outputs) == 1
    report = evaluate(result.run_dir, path, "test")
    x = result.preprocessing(data["x_test"])
    assert report["accuracy"] == pytest.approx(
        np.mean(full.predict(x, verbose=0)[0].argmax(-1) == data["y_test"])
    )


def test_unknown_multi_output_model_is_refused():
    import keras

    from zoo.training.model_setup import output_loss_weights

    inputs = keras.Input((4,))
    model = keras.Model(inputs, [keras.layers.Dense(2)(inputs), keras.layers.Dense(2)(inputs)])
    with pytest.raises(ValueError, match="2 outputs"):
        output_loss_weights(model)
