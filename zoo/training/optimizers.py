"""`make_optimizer`: one Keras optimizer per `TrainConfig.optimizer` name.

Also `GroupRateOptimizer` (Keras' `MultiOptimizer` with one learning rate for
all its groups, scaled per group) and `wrapping_optimizers`, through which a
caller such as `zoo.fine_tune` turns the optimizer of its runs into one.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import keras

__all__ = ["GroupRateOptimizer", "make_optimizer", "wrapping_optimizers"]

_WRAPPER: contextvars.ContextVar[Callable | None] = contextvars.ContextVar(
    "zoo_optimizer_wrapper", default=None
)


def make_optimizer(config: Any) -> keras.optimizers.Optimizer:
    """Builds the optimizer a `TrainConfig` asks for.

    - ``sgd``: plain SGD (momentum only if ``nesterov=True``).
    - ``momentum``: SGD with ``momentum`` (Nesterov if ``nesterov=True``).
    - ``nesterov``: SGD with Nesterov ``momentum``.
    - ``adagrad``, ``adadelta``, ``rmsprop``, ``adam``: Keras defaults
      besides the learning rate.
    - ``adamw``: Adam with decoupled weight decay (``weight_decay``, Keras
      default 0.004 when ``None``).

    ``weight_decay`` (when set) is passed to every optimizer: Keras applies it
    decoupled, ``w -= lr * weight_decay * w`` (SGDW-style for SGD).
    ``clipnorm``/``clipvalue`` are passed through.

    Args:
        config: a `TrainConfig`.

    Returns:
        A new, unbuilt `keras.optimizers.Optimizer`. Under an epoch schedule
        the learning rate is then set each epoch by `EpochLRScheduler`.

    Raises:
        ValueError: unknown optimizer name.

    Reference:
        Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR
        2019 (AdamW/SGDW); Sutskever et al., "On the importance of
        initialization and momentum in deep learning", ICML 2013 (Nesterov).
    """
    optimizer = _base_optimizer(config)
    wrap = _WRAPPER.get()
    return optimizer if wrap is None else wrap(optimizer)


def _base_optimizer(config: Any) -> keras.optimizers.Optimizer:
    name = config.optimizer
    common: dict[str, Any] = {"learning_rate": config.learning_rate}
    if config.clipnorm is not None:
        common["clipnorm"] = config.clipnorm
    if config.clipvalue is not None:
        common["clipvalue"] = config.clipvalue
    if config.weight_decay is not None:
        common["weight_decay"] = config.weight_decay

    if name == "sgd":
        momentum = config.momentum if config.nesterov else 0.0
        return keras.optimizers.SGD(momentum=momentum, nesterov=config.nesterov, **common)
    if name == "momentum":
        return keras.optimizers.SGD(momentum=config.momentum, nesterov=config.nesterov, **common)
    if name == "nesterov":
        return keras.optimizers.SGD(momentum=config.momentum, nesterov=True, **common)
    if name == "adagrad":
        return keras.optimizers.Adagrad(**common)
    if name == "adadelta":
        return keras.optimizers.Adadelta(**common)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(**common)
    if name == "adam":
        return keras.optimizers.Adam(**common)
    if name == "adamw":
        return keras.optimizers.AdamW(**common)
    raise ValueError(
        f"Unknown optimizer {name!r}; choose one of sgd, momentum, nesterov, "
        "adagrad, adadelta, rmsprop, adam, adamw"
    )


@contextlib.contextmanager
def wrapping_optimizers(wrap: Callable) -> Iterator[None]:
    """Within the block, `make_optimizer` returns ``wrap(optimizer)``.

    This is how `zoo.fine_tune` gives its runs per-group learning rates and
    the no-decay policy without a second compile path: ``zoo.train`` builds
    the optimizer from the config as always, then ``wrap`` turns it into what
    the fine-tune needs (the same object, or a `GroupRateOptimizer`).
    """
    token = _WRAPPER.set(wrap)
    try:
        yield
    finally:
        _WRAPPER.reset(token)


@keras.saving.register_keras_serializable(package="zoo")
class GroupRateOptimizer(keras.optimizers.MultiOptimizer):
    """Keras' `MultiOptimizer` whose groups share one learning rate, scaled per group.

    Each group of variables (a regular expression over ``variable.path``, as
    in `keras.optimizers.OptimizerMap`) has its own optimizer, of the same
    kind and settings, whose learning rate is ``factors[pattern] *
    learning_rate``; unmatched variables (the head) use the default optimizer
    at ``learning_rate`` itself. Unlike `MultiOptimizer`, ``learning_rate``
    can be read and set, so schedules, warm-up, reduce-on-plateau and the
    learning-rate finder work unchanged and keep the ratios.

    What "the rate scales the step" means: every optimizer applies its own
    learning rate to its own variables, so for SGD (with or without
    momentum) and for Adam, AdamW, RMSprop, Adagrad the update is exactly
    ``factor`` times the head optimizer's update for the same gradient
    history (Adam's update is invariant to scaling the gradient, which is
    why the rate, not the gradient, is scaled). Keras' decoupled weight decay
    (``w -= lr * weight_decay * w``) scales with the group's rate too, as in
    PyTorch parameter groups. Adadelta ignores most of its rate; Lion and
    the sign-based optimizers scale like SGD.

    Its variables (`variables`) are its own iteration count and each
    group's optimizer's variables, in a fixed order, so a zoo checkpoint
    (which saves ``optimizer.variables``) resumes them; a saved compiled
    model reloads it (``zoo.load_model(path, compile=True)``). Keras' weight
    decay exclusions are not part of any optimizer's config: whoever builds
    it sets them again (`zoo.fine_tune` does, on every run).

    Args:
        optimizer_map: a `keras.optimizers.OptimizerMap`: pattern -> that
            group's optimizer; its default optimizer takes the rest.
        factors: pattern -> learning-rate factor (> 0) for each pattern of
            ``optimizer_map``.
        loss_scale_factor: see `keras.optimizers.MultiOptimizer`.
        name: the optimizer's name.
    """

    def __init__(self, optimizer_map, factors=None, loss_scale_factor=None, name=None):
        super().__init__(optimizer_map, loss_scale_factor=loss_scale_factor, name=name)
        factors = {str(k): float(v) for k, v in (factors or {}).items()}
        missing = [k for k in optimizer_map if k not in factors]
        if missing or any(not v > 0 for v in factors.values()):
            raise ValueError(
                f"GroupRateOptimizer needs a factor > 0 for every group; groups without "
                f"one: {missing}, factors: {factors}."
            )
        self.factors = factors

    @property
    def learning_rate(self):
        """The head's (default optimizer's) learning rate; group ``p`` uses ``factors[p]`` times it."""
        return self._optimizer_map.default_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        if not hasattr(self, "_optimizer_map"):
            return  # Optimizer.__init__ sets a rate of its own: the groups keep theirs
        value = float(keras.ops.convert_to_numpy(value))
        for pattern, optimizer in self._optimizer_map.items():
            optimizer.learning_rate = value * self.factors[pattern]
        self._optimizer_map.default_optimizer.learning_rate = value

    def group_rates(self) -> dict[str, float]:
        """Pattern -> the learning rate that group uses now (``"default"``: the rest)."""
        rates = {"default": float(keras.ops.convert_to_numpy(self.learning_rate))}
        for pattern, optimizer in self._optimizer_map.items():
            rates[pattern] = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        return rates

    def get_config(self) -> dict:
        return {**super().get_config(), "factors": dict(self.factors)}
