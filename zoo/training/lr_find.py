"""The learning-rate range test: how high can the learning rate go?

Train for a few hundred batches while the learning rate grows exponentially
from ``min_lr`` to ``max_lr``, record the loss of every batch, and stop once
the loss explodes. A good learning rate lies where the loss falls fastest,
well before its minimum (Smith 2017; popularised by fast.ai's
``lr_find``). The model is built, compiled and fed by the one training path
(``zoo.training.fit``); the sweep is a Keras callback on an ordinary ``fit``;
the weights are put back afterwards, so the test leaves the model as it was.

Example:

>>> result = lr_find("lenet5", "mnist-sample", steps=100)  # doctest: +SKIP
>>> result.suggestion  # doctest: +SKIP
0.0021
>>> result.plot("lr_find.png")  # doctest: +SKIP

Reference:
    Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017
    (the LR range test). Howard & Gugger, "Fastai: A Layered API for Deep
    Learning", Information 2020 (``lr_find`` with a smoothed loss).
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import keras
import numpy as np

from zoo.training.fit_data import data_kwargs, steps_per_epoch

__all__ = ["LRFindResult", "LRRangeTest", "lr_find", "suggest_lr"]

#: Fraction of the first points ignored by the suggestion (the smoothed
#: loss is still settling there).
SKIP_START = 0.05


@dataclasses.dataclass
class LRFindResult:
    """The recorded sweep and the suggested learning rates.

    Attributes:
        lrs: learning rate of each batch.
        losses: loss of each batch.
        smoothed: bias-corrected exponential moving average of ``losses``.
        suggestion: the learning rate where the smoothed loss falls fastest
            (steepest negative slope against ``log(lr)``), before its minimum.
        suggestion_min: the learning rate of the smoothed minimum / 10.
        min_lr: start of the sweep.
        max_lr: end of the sweep.
        steps: batches asked for.
        diverged: True when the sweep stopped early because the loss
            exploded (smoothed loss above ``diverge_factor`` x its best, or
            not finite).
        model_name: the registered name, or the model's name.
        config: the ``TrainConfig`` used (optimizer, batch size, loss).
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float
    suggestion_min: float
    min_lr: float
    max_lr: float
    steps: int
    diverged: bool
    model_name: str = ""
    config: Any = None

    @property
    def steps_done(self) -> int:
        return len(self.lrs)

    @property
    def best_loss(self) -> float:
        """The smallest smoothed loss."""
        return float(np.nanmin(self.smoothed)) if len(self.smoothed) else math.nan

    def to_dict(self) -> dict:
        """JSON-ready summary and curve."""
        return {
            "suggestion": self.suggestion,
            "suggestion_min": self.suggestion_min,
            "min_lr": self.min_lr,
            "max_lr": self.max_lr,
            "steps": self.steps,
            "steps_done": self.steps_done,
            "diverged": self.diverged,
            "model_name": self.model_name,
            "lrs": [float(v) for v in self.lrs],
            "losses": [float(v) for v in self.losses],
            "smoothed": [float(v) for v in self.smoothed],
        }

    def plot(self, path: str | os.PathLike, *, title: str | None = None) -> str:
        """Saves the loss curve as a PNG (log learning-rate axis, suggestion marked).

        Args:
            path: the PNG to write (atomically).
            title: figure title (default names the model and optimizer).

        Returns:
            The path written, as a string.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from zoo.saving import atomic_write

        fig = Figure(figsize=(7.5, 4.5), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        lrs, losses, smoothed = self.lrs, self.losses, self.smoothed
        ax.plot(lrs, losses, color="tab:blue", alpha=0.3, linewidth=1, label="batch loss")
        ax.plot(lrs, smoothed, color="tab:blue", linewidth=2, label="smoothed loss")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss")
        if title is None:
            optimizer = getattr(self.config, "optimizer", "")
            batch = getattr(self.config, "batch_size", "")
            title = f"LR range test: {self.model_name} ({optimizer}, batch {batch})"
        ax.set_title(title)
        finite = smoothed[np.isfinite(smoothed)]
        if len(finite):
            low, start = float(finite.min()), float(finite[0])
            high = max(start, low) + 0.25 * max(abs(start - low), 1e-3)
            margin = 0.05 * (high - low or 1.0)
            ax.set_ylim(low - margin, high + margin)
        for lr, style, label in (
            (self.suggestion, "-", f"suggestion (steepest descent): {self.suggestion:.2e}"),
            (self.suggestion_min, ":", f"min loss / 10: {self.suggestion_min:.2e}"),
        ):
            ax.axvline(lr, color="tab:red", linestyle=style, linewidth=1.5, label=label)
        i = int(np.argmin(np.abs(np.log(lrs) - np.log(self.suggestion)))) if len(lrs) else None
        if i is not None:
            ax.plot([lrs[i]], [smoothed[i]], "o", color="tab:red", markersize=7)
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper left", fontsize=9)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
        return os.fspath(path)


class LRRangeTest(keras.callbacks.Callback):
    """Sets an exponentially growing learning rate per batch and records the loss.

    The loss reported for a batch is that batch's own: the loss tracker
    (which Keras averages over the epoch) is reset before every batch. On
    JAX the training state is synced before each batch so that the new
    learning rate and the reset take effect.

    Args:
        min_lr: learning rate of the first batch (> 0).
        max_lr: learning rate of the last batch (> min_lr).
        steps: batches of the sweep (>= 2).
        smoothing: beta of the loss's exponential moving average, in [0, 1).
        diverge_factor: stop once the smoothed loss exceeds this many times
            its best (> 1).
    """

    def __init__(
        self, min_lr: float, max_lr: float, steps: int, smoothing: float, diverge_factor: float
    ):
        super().__init__()
        self.min_lr = float(min_lr)
        self.max_lr = float(max_lr)
        self.steps = int(steps)
        self.smoothing = float(smoothing)
        self.diverge_factor = float(diverge_factor)
        self._reset()

    def _reset(self) -> None:
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.diverged = False
        self._avg = 0.0
        self._best = math.inf
        self._lr = self.min_lr

    def lr_at(self, step: int) -> float:
        """The learning rate of batch ``step`` (0-based)."""
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / (self.steps - 1))

    def on_train_begin(self, logs=None):
        self._reset()

    def on_train_batch_begin(self, batch, logs=None):
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
        self._lr = self.lr_at(len(self.lrs))
        self.model.optimizer.learning_rate = self._lr
        self.model.reset_metrics()

    def on_train_batch_end(self, batch, logs=None):
        loss = float(np.asarray((logs or {}).get("loss", math.nan)))
        step = len(self.lrs)
        self.lrs.append(self._lr)
        self.losses.append(loss)
        if not math.isfinite(loss):
            self.smoothed.append(math.nan)
            self.diverged = True
            self.model.stop_training = True
            return
        beta = self.smoothing
        self._avg = beta * self._avg + (1 - beta) * loss
        smooth = self._avg / (1 - beta ** (step + 1))
        self.smoothed.append(smooth)
        if step > 0 and smooth > self.diverge_factor * self._best:
            self.diverged = True
            self.model.stop_training = True
        self._best = min(self._best, smooth)
        if len(self.lrs) >= self.steps:
            self.model.stop_training = True


def suggest_lr(lrs, smoothed, min_lr: float | None = None) -> tuple[float, float]:
    """``(steepest, min_over_10)`` suggestions from a recorded sweep.

    ``steepest`` is the learning rate where ``d smoothed / d log(lr)`` is
    most negative, among the points from ``SKIP_START`` of the sweep up to the
    smoothed minimum; ``min_over_10`` is the learning rate of the minimum
    divided by 10 (not below ``min_lr``). With fewer than 3 usable points,
    ``steepest`` falls back to ``min_over_10``.
    """
    lrs = np.asarray(lrs, dtype=np.float64)
    smoothed = np.asarray(smoothed, dtype=np.float64)
    finite = np.isfinite(smoothed)
    if not finite.any():
        raise ValueError(
            "The LR range test recorded no finite loss; lower min_lr or check the data "
            "(NaN/Inf inputs?)."
        )
    last = int(np.flatnonzero(finite)[-1]) + 1
    lrs, smoothed = lrs[:last], smoothed[:last]
    best = int(np.nanargmin(smoothed))
    floor = float(min_lr) if min_lr is not None else float(lrs[0])
    at_min = max(float(lrs[best]) / 10.0, floor)
    start = min(int(len(lrs) * SKIP_START), max(best - 2, 0))
    window = slice(start, best + 1)
    if best + 1 - start < 3:
        return at_min, at_min
    slopes = np.gradient(smoothed[window], np.log(lrs[window]))
    steepest = float(lrs[window][int(np.argmin(slopes))])
    return steepest, at_min


def lr_find(
    model_or_name,
    data,
    config=None,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    steps: int = 200,
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    model_kwargs: dict | None = None,
    preprocessing=None,
    verbose: int | str = 0,
    progress: bool | None = None,
) -> LRFindResult:
    """Runs the learning-rate range test and suggests a learning rate.

    The model is built (from a name) or taken as given, regularized and
    compiled with ``config``'s optimizer and loss, and fed the train split,
    all through ``zoo.training.fit``'s helpers. The initial weights are
    restored after the sweep; a given model is left compiled with
    ``config``'s optimizer (one with auxiliary outputs is swept through a
    wrapper that stacks them, and is left uncompiled). The sweep records the
    loss ``zoo.train`` minimizes: for GoogLeNet with ``aux_logits=True``, the
    weighted total main + 0.3 * (aux1 + aux2).

    Args:
        model_or_name: a registered name (built for the data) or a built
            ``keras.Model``.
        data: a folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``zoo.data.DataBundle``.
        config: a ``TrainConfig``, dict or JSON/YAML path: optimizer, batch
            size, loss, regularization. Its learning rate and schedule are
            ignored.
        min_lr: first learning rate (> 0). Defaults to 1e-7.
        max_lr: last learning rate (> min_lr). Defaults to 10.
        steps: batches of the sweep (>= 2); the data repeats as needed.
            Defaults to 200.
        smoothing: beta of the loss's moving average, in [0, 1). Defaults
            to 0.98.
        diverge_factor: stop when the smoothed loss exceeds this many times
            its best (> 1). Defaults to 4.
        model_kwargs: builder kwargs when a name is given.
        preprocessing: a ``Preprocessing`` (default: as ``train``'s).
        verbose: Keras verbosity of the fit. Defaults to 0.
        progress: count the sweep's steps on stderr: True, False, or None
            (the default) when stderr is a terminal.

    Returns:
        An `LRFindResult`.

    Raises:
        ValueError: invalid arguments, or no finite loss at all.
    """
    from zoo.training.batch_progress import BatchProgress

    _check_sweep_arguments(min_lr, max_lr, steps, smoothing, diverge_factor)
    net, config, train_data, name = _sweep_setup(model_or_name, data, config, model_kwargs,
                                                 preprocessing)  # fmt: skip
    per_epoch = steps_per_epoch(train_data, config.batch_size)
    sweep = LRRangeTest(min_lr, max_lr, steps, smoothing, diverge_factor)
    initial = [np.array(w) for w in net.get_weights()]
    try:
        net.fit(
            **data_kwargs(train_data, config.batch_size, shuffle=True),
            epochs=math.ceil(steps / per_epoch),
            callbacks=[sweep, BatchProgress("lr-find", steps, enabled=progress)],
            verbose=verbose,
        )
    finally:
        net.set_weights(initial)
    lrs, losses, smoothed = (
        np.asarray(v, dtype=np.float64) for v in (sweep.lrs, sweep.losses, sweep.smoothed)
    )
    steepest, at_min = suggest_lr(lrs, smoothed, float(min_lr))
    return LRFindResult(
        lrs=lrs,
        losses=losses,
        smoothed=smoothed,
        suggestion=steepest,
        suggestion_min=at_min,
        min_lr=float(min_lr),
        max_lr=float(max_lr),
        steps=steps,
        diverged=sweep.diverged,
        model_name=name,
        config=config,
    )


def _check_sweep_arguments(min_lr, max_lr, steps, smoothing, diverge_factor) -> None:
    min_lr, max_lr = float(min_lr), float(max_lr)
    if not (math.isfinite(min_lr) and min_lr > 0):
        raise ValueError(f"min_lr must be > 0; received min_lr={min_lr!r}")
    if not (math.isfinite(max_lr) and max_lr > min_lr):
        raise ValueError(f"max_lr must be > min_lr={min_lr!r}; received max_lr={max_lr!r}")
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2; received steps={steps!r}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1); received smoothing={smoothing!r}")
    if not diverge_factor > 1:
        raise ValueError(f"diverge_factor must be > 1; received diverge_factor={diverge_factor!r}")


def _sweep_setup(model_or_name, data, config, model_kwargs, preprocessing):
    """The compiled model, the sweep's config, the train split and the model's name.

    A model with auxiliary outputs (GoogLeNet, ``aux_logits=True``) is swept on
    the total loss ``zoo.train`` minimizes (main + 0.3 * (aux1 + aux2)): its
    outputs are stacked behind one output, as in `build_trainer`.
    """
    from zoo.training.config import as_config
    from zoo.training.fit_data import load_data, prepare_split
    from zoo.training.model_setup import compile_model, output_loss_weights, resolve_model
    from zoo.training.regularization import RegularizationPolicy

    # One batch per callback call; the schedule is this sweep.
    config = as_config(config).replace(steps_per_execution=1, schedule="none", warmup_epochs=0)
    if config.seed is not None:
        keras.utils.set_random_seed(config.seed)
    bundle = load_data(data, config)
    if not isinstance(model_or_name, (str, keras.Model)):
        raise ValueError(
            f"model_or_name must be a registered name or a keras.Model; received {model_or_name!r}"
        )
    name, net, prep, _ = resolve_model(model_or_name, bundle, config, model_kwargs, preprocessing)
    name = name or net.name
    weights = output_loss_weights(net)  # GoogLeNet's aux heads: (1, 0.3, 0.3)
    net = RegularizationPolicy.from_config(config).apply(net)
    if weights is not None:  # the weighted total loss, as zoo.train's trainer
        inputs = keras.Input(tuple(net.input_shape[1:]), name="sweep_input")
        net = keras.Model(inputs, keras.ops.stack(net(inputs), axis=1), name=f"{net.name}_sweep")
    compile_model(net, config, bundle.num_classes, output_weights=weights)
    train_data = prepare_split(bundle, "train", prep, config)
    if train_data is None:
        raise ValueError(f"{bundle.source} has no train split for the LR range test.")
    if steps_per_epoch(train_data, config.batch_size) < 1:
        raise ValueError(f"{bundle.source}: the train split is empty.")
    return net, config, train_data, name
