"""`make_optimizer`: one Keras optimizer per `TrainConfig.optimizer` name."""

from __future__ import annotations

from typing import Any

import keras

__all__ = ["make_optimizer"]


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
