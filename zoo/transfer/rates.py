"""Fine-tuning policies: discriminative learning rates per block, BatchNorm, no decay.

- **Discriminative rates** (Howard & Ruder's ULMFiT; fastai's
  ``slice(lr / 100, lr)``): the new head trains at ``lr``, the unfrozen blocks
  below it at rates spaced geometrically down to ``lr / factor`` for the
  deepest unfrozen block. With ``n`` unfrozen block groups (bottom to top,
  ``i = 0 .. n - 1``) group ``i`` trains at ``lr * factor ** (-(n - i) / n)``:
  ``unfreeze=1``, factor 100 gives the block ``lr / 100``; ``unfreeze=2``
  gives ``lr / 100`` and ``lr / 10``. Built on Keras' own
  `keras.optimizers.MultiOptimizer` (`zoo.training.GroupRateOptimizer`): one
  optimizer per group, so the rate scales the step for any optimizer.
- **BatchNorm policy**: ``"frozen"`` keeps the backbone's BatchNorm layers
  in inference mode with their moving statistics untouched (the Keras
  recipe, today's default); ``"train"`` (fastai's ``train_bn``) makes every
  BatchNorm layer of the backbone trainable, frozen blocks included, so its
  scale and offset train and its statistics follow the new data.
- **No weight decay** on biases and normalization scales/offsets
  (``bias``, ``gamma``, ``beta``), through Keras'
  ``Optimizer.exclude_from_weight_decay``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from zoo.transfer.blocks import _is_batch_norm, backbone_blocks

__all__ = [
    "BN_POLICIES",
    "NO_DECAY_NAMES",
    "apply_bn_policy",
    "discriminative_groups",
    "group_factors",
    "optimizer_policy",
]

BN_POLICIES = ("frozen", "train")
DEFAULT_FACTOR = 100.0
# Regular expressions over variable names. Keras searches ``variable.name``,
# which the TensorFlow backend gives as its tf.Variable's (``"dense/bias:0"``).
NO_DECAY_NAMES = tuple(rf"(?:^|/){name}(?::\d+)?$" for name in ("bias", "gamma", "beta"))


def checked_factor(discriminative) -> float | None:
    """``discriminative`` as the deepest group's rate divisor: None (off) or a float > 1.

    Raises:
        ValueError: not a bool nor a number > 1.
    """
    if discriminative is None or discriminative is False:
        return None
    if discriminative is True:
        return DEFAULT_FACTOR
    if isinstance(discriminative, (int, float)) and discriminative > 1:
        return float(discriminative)
    raise ValueError(
        f"discriminative must be True, False or a factor > 1 (the deepest unfrozen block "
        f"trains at fine_tune_lr / factor); received {discriminative!r}."
    )


def checked_bn(bn: str) -> str:
    if bn not in BN_POLICIES:
        raise ValueError(f"bn must be one of {', '.join(BN_POLICIES)}; received {bn!r}.")
    return bn


def group_factors(n: int, factor: float) -> list[float]:
    """Rate factors of ``n`` groups, deepest first: ``factor ** (-(n - i) / n)``.

    The head (factor 1) is not among them; the deepest group gets ``1 / factor``.
    """
    return [factor ** (-(n - i) / n) for i in range(n)]


def discriminative_groups(
    model, layer_names: Sequence[str], factor: float
) -> list[tuple[str, list[str], float]]:
    """The unfrozen blocks of a backbone as rate groups, bottom to top.

    Args:
        model: the model (backbone layers and head), after unfreezing.
        layer_names: the backbone's layer names.
        factor: the deepest unfrozen group trains at ``1 / factor`` of the head's rate.

    Returns:
        ``[(block name, [layer names], rate factor)]``. A block takes its
        trainable layers with weights; trainable BatchNorm layers of frozen
        blocks (``bn="train"``) join the deepest group.
    """
    groups, stray = [], []
    for key, members in backbone_blocks(model, layer_names):
        trainable = [layer for layer in members if layer.trainable and layer.trainable_weights]
        unfrozen = [layer.name for layer in trainable if not _is_batch_norm(layer)]
        if unfrozen:
            groups.append((key, [layer.name for layer in trainable]))
        else:
            stray.extend(layer.name for layer in trainable)
    if not groups:
        return []
    groups[0] = (groups[0][0], stray + groups[0][1])
    factors = group_factors(len(groups), factor)
    return [(key, names, f) for (key, names), f in zip(groups, factors, strict=True)]


def _pattern(layer_names: Sequence[str]) -> str:
    """Matches (``re.fullmatch``) the path of every variable of the named layers."""
    names = "|".join(re.escape(name) for name in layer_names)
    return f"(?:.*/)?(?:{names})/.+"


def optimizer_policy(groups=(), *, no_decay: bool = True):
    """The ``wrap(optimizer)`` that `zoo.training.wrapping_optimizers` applies.

    Args:
        groups: `discriminative_groups`' output; empty: one rate for all.
        no_decay: exclude biases and normalization parameters from weight decay.

    Returns:
        A function taking the optimizer `make_optimizer` built and returning
        it (with the exclusions), or a `GroupRateOptimizer` of copies of it,
        one per group, at their rates; the given optimizer trains the head.
    """

    def wrap(optimizer):
        import keras

        from zoo.training.optimizers import GroupRateOptimizer

        inner = [optimizer]
        if groups:
            base = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            mapping, factors = {}, {}
            for i, (key, names, f) in enumerate(groups):
                config = {**optimizer.get_config(), "learning_rate": base * f}
                config["name"] = f"{optimizer.name}_group{i}_{key}"
                pattern = _pattern(names)
                mapping[pattern] = type(optimizer).from_config(config)
                factors[pattern] = f
            inner += list(mapping.values())
            optimizer_map = keras.optimizers.OptimizerMap(optimizer, mapping)
            optimizer = GroupRateOptimizer(optimizer_map, factors, name="group_rates")
        if no_decay:
            for opt in inner:
                opt.exclude_from_weight_decay(var_names=list(NO_DECAY_NAMES))
        return optimizer

    return wrap


def apply_bn_policy(model, layer_names: Sequence[str], bn: str) -> None:
    """Sets the backbone's BatchNorm layers trainable (``"train"``) or not (``"frozen"``)."""
    names = set(layer_names)
    for layer in model.layers:
        if layer.name in names and _is_batch_norm(layer):
            layer.trainable = bn == "train"
