"""Regularize any built Functional/Sequential model without losing its weights.

`RegularizationPolicy.apply(model)` rewrites the model's config (kernel
regularizers and max-norm constraints on every layer that has a kernel, also
inside nested models such as a pretrained backbone), rebuilds it, optionally
inserts Dropout before the top-level Dense layers, and copies every weight
back bit for bit. `make_augmentation(config)` builds the data-augmentation
front end from Keras preprocessing layers (they run on every backend and are
the identity at inference).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import keras

__all__ = ["KERNEL_KEYS", "RegularizationPolicy", "make_augmentation"]

#: Config keys of the weights a policy regularizes/constrains (biases and
#: normalization parameters are left alone, as is usual for weight decay).
KERNEL_KEYS = ("kernel", "depthwise", "pointwise")


@dataclasses.dataclass(frozen=True)
class RegularizationPolicy:
    """What regularization to add to an existing model.

    Args:
        l2: L2 factor; adds ``l2 * sum(w ** 2)`` per kernel to
            ``model.losses`` (Keras' convention: no 1/2). Defaults to 0.
        l1: L1 factor; adds ``l1 * sum(|w|)``. Defaults to 0.
        max_norm: max-norm constraint on kernels (``None`` = off).
        dropout: rate of a Dropout inserted before each top-level Dense
            layer, except one fed directly by a model input or already fed
            by a Dropout (0 = off). Functional and Sequential models only.
        trainable_only: skip frozen layers (a penalty on frozen weights is a
            constant that only inflates the reported loss). Defaults to True.
        overwrite: replace regularizers/constraints a layer already has.
            Defaults to True; with False existing ones are kept.

    Example:

    ```python
    policy = RegularizationPolicy(l2=1e-4, dropout=0.5)
    model = policy.apply(pretrained_model)   # same weights, new penalties
    model.compile(...)                        # compile again
    ```
    """

    l2: float = 0.0
    l1: float = 0.0
    max_norm: float | None = None
    dropout: float = 0.0
    trainable_only: bool = True
    overwrite: bool = True

    def __post_init__(self) -> None:
        for name in ("l2", "l1"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0; received {name}={value!r}")
        if self.max_norm is not None and not self.max_norm > 0:
            raise ValueError(f"max_norm must be > 0 or None; received max_norm={self.max_norm!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); received dropout={self.dropout!r}")

    @classmethod
    def from_config(cls, config: Any) -> RegularizationPolicy:
        """Builds the policy from a `TrainConfig` (l2, l1, max_norm, dense_dropout)."""
        return cls(
            l2=config.l2, l1=config.l1, max_norm=config.max_norm, dropout=config.dense_dropout
        )

    @property
    def is_empty(self) -> bool:
        """True when the policy would change nothing."""
        return not (self.l2 or self.l1 or self.max_norm or self.dropout)

    # ------------------------------------------------------------------ apply
    def apply(
        self, model: keras.Model, custom_objects: Mapping[str, Any] | None = None
    ) -> keras.Model:
        """Returns a new model with the policy applied and the same weights.

        The input model is not modified. The result is not compiled: compile
        it (again) before training.

        Args:
            model: a built Functional or Sequential model (possibly holding
                nested models, e.g. a pretrained backbone).
            custom_objects: passed to deserialization for unregistered
                custom layers.

        Returns:
            The new model, or ``model`` itself when `is_empty`.

        Raises:
            ValueError: subclassed models, unbuilt models, or a rebuild whose
                weights do not line up with the original's.
        """
        if self.is_empty:
            return model
        if not isinstance(model, keras.Model) or not _is_graph_model(model):
            raise ValueError(
                "RegularizationPolicy.apply needs a Functional or Sequential "
                f"keras.Model; received {type(model).__name__}. Subclassed "
                "models have no config graph to rewrite."
            )
        if not model.built:
            raise ValueError(
                f"RegularizationPolicy.apply needs a built model; {model.name!r} "
                "is not built (call it on data or give it an Input first)."
            )
        config = copy.deepcopy(model.get_config())
        self._rewrite_layers(config.get("layers", []))
        with keras.saving.custom_object_scope(dict(custom_objects or {})):
            new = type(model).from_config(copy.deepcopy(config))  # it mutates
        if self.dropout:
            new = self._insert_dropout(new, config)
        _copy_weights(model, new)
        return new

    def _rewrite_layers(self, layers: list[dict[str, Any]]) -> None:
        for entry in layers:
            cfg = entry.get("config", {})
            if isinstance(cfg.get("layers"), list):  # nested Functional/Sequential
                if cfg.get("trainable", True) or not self.trainable_only:
                    self._rewrite_layers(cfg["layers"])
                continue
            if self.trainable_only and not cfg.get("trainable", True):
                continue
            for key in KERNEL_KEYS:
                reg, con = f"{key}_regularizer", f"{key}_constraint"
                if reg in cfg and (self.l1 or self.l2) and (self.overwrite or cfg[reg] is None):
                    cfg[reg] = self._regularizer()
                if con in cfg and self.max_norm and (self.overwrite or cfg[con] is None):
                    cfg[con] = keras.saving.serialize_keras_object(
                        keras.constraints.MaxNorm(self.max_norm)
                    )

    def _regularizer(self) -> dict[str, Any]:
        if self.l1 and self.l2:
            reg = keras.regularizers.L1L2(l1=self.l1, l2=self.l2)
        elif self.l2:
            reg = keras.regularizers.L2(self.l2)
        else:
            reg = keras.regularizers.L1(self.l1)
        return keras.saving.serialize_keras_object(reg)

    def _insert_dropout(self, model: keras.Model, config: dict[str, Any]) -> keras.Model:
        classes = {
            e.get("name", e["config"].get("name")): e["class_name"]
            for e in config.get("layers", [])
        }
        if isinstance(model, keras.Sequential):
            layers, previous = [], None
            for layer in model.layers:
                if (
                    isinstance(layer, keras.layers.Dense)
                    and previous is not None
                    and not isinstance(previous, keras.layers.Dropout)
                ):
                    layers.append(keras.layers.Dropout(self.dropout, name=f"{layer.name}_dropout"))
                layers.append(layer)
                previous = layer
            return keras.Sequential(
                [keras.Input(batch_shape=model.inputs[0].shape), *layers], name=model.name
            )

        skip_after = {"Dropout", "InputLayer"}
        inbound = {
            e.get("name", e["config"].get("name")): list(_history_names(e))
            for e in config.get("layers", [])
        }

        def call_function(layer, *args, **kwargs):
            if isinstance(layer, keras.layers.Dense) and args:
                parents = inbound.get(layer.name, [])
                if parents and not any(classes.get(p) in skip_after for p in parents):
                    drop = keras.layers.Dropout(self.dropout, name=f"{layer.name}_dropout")
                    args = (drop(args[0]), *args[1:])
            return layer(*args, **kwargs)

        # Reuse the freshly built layers (clone_function=identity), only re-call them.
        return keras.models.clone_model(
            model, clone_function=lambda layer: layer, call_function=call_function
        )


def _is_graph_model(model: keras.Model) -> bool:
    if isinstance(model, keras.Sequential):
        return True
    try:
        config = model.get_config()
    except (NotImplementedError, TypeError):  # subclassed models without a config
        return False
    return isinstance(config, dict) and "layers" in config and "input_layers" in config


def _history_names(entry: Mapping[str, Any]) -> Iterator[str]:
    """Names of the layers feeding a functional-config layer entry."""

    def walk(obj: Any) -> Iterator[str]:
        if isinstance(obj, dict):
            history = (
                obj.get("config", {}).get("keras_history")
                if obj.get("class_name") == "__keras_tensor__"
                else None
            )
            if history:
                yield history[0]
            for value in obj.values():
                yield from walk(value)
        elif isinstance(obj, (list, tuple)):
            for value in obj:
                yield from walk(value)

    yield from walk(entry.get("inbound_nodes", []))


def _copy_weights(source: keras.Model, target: keras.Model) -> None:
    src, dst = source.weights, target.weights
    if len(src) != len(dst) or any(
        tuple(a.shape) != tuple(b.shape) for a, b in zip(src, dst, strict=False)
    ):
        raise ValueError(
            "Rebuilt model's weights do not line up with the original's "
            f"({len(src)} vs {len(dst)} weights); cannot transfer them."
        )
    target.set_weights(source.get_weights())


# ------------------------------------------------------------- augmentation
def make_augmentation(
    config: Any,
    input_shape: tuple[int, ...] | None = None,
    seed: int | None = None,
) -> keras.Sequential | None:
    """Builds the augmentation pipeline a `TrainConfig` asks for.

    Layers, in ``config.augment`` order (strength ``s``):

    - ``flip``: `RandomFlip("horizontal")` (strength ignored).
    - ``translate``: `RandomTranslation(s, s)`.
    - ``crop``: pad-and-crop (CIFAR-style): zero-pad by ``s`` of each side
      and crop back at a random place, done as `RandomTranslation(s, s,
      fill_mode="constant", interpolation="nearest")`.
    - ``rotate``: `RandomRotation(s)` (fraction of a full turn).
    - ``zoom``: `RandomZoom(s)`.
    - ``contrast``: `RandomContrast(s)`.
    - ``erase``: random erasing / Cutout (Zhong et al. 2017, "Random Erasing
      Data Augmentation"; DeVries & Taylor 2017, "Improved Regularization of
      Convolutional Neural Networks with Cutout"): with probability ``s`` a
      rectangle of 2-33 % of each side's square (Keras' `RandomErasing`
      default scale) is set to 0, which is black for ``scale``-preprocessed
      inputs and the mean for mean-subtracted ones.

    All are the identity at inference.

    Args:
        config: a `TrainConfig` (or anything with an ``augment`` sequence of
            ``(name, strength)`` pairs).
        input_shape: ``(height, width, channels)``; when given the pipeline
            starts with a `keras.Input` (so it is built).
        seed: seed for the random layers; defaults to ``config.seed``.

    Returns:
        A `keras.Sequential` named ``"augmentation"``, or ``None`` when
        ``config.augment`` is empty.

    Raises:
        ValueError: unknown augmentation names.
    """
    items = list(getattr(config, "augment", ()) or ())
    if not items:
        return None
    seed = getattr(config, "seed", None) if seed is None else seed
    layers: list[keras.layers.Layer] = []
    for index, (name, strength) in enumerate(items):
        s = None if seed is None else seed + index
        if name == "flip":
            layers.append(keras.layers.RandomFlip("horizontal", seed=s, name="aug_flip"))
        elif name == "translate":
            layers.append(
                keras.layers.RandomTranslation(strength, strength, seed=s, name="aug_translate")
            )
        elif name == "crop":
            # zero-pad by s and crop back at a random place == a random integer
            # shift with zero fill; unlike ZeroPadding2D+RandomCrop it keeps the
            # shape and is the identity at inference.
            layers.append(
                keras.layers.RandomTranslation(
                    strength,
                    strength,
                    fill_mode="constant",
                    interpolation="nearest",
                    seed=s,
                    name="aug_crop",
                )
            )
        elif name == "rotate":
            layers.append(keras.layers.RandomRotation(strength, seed=s, name="aug_rotate"))
        elif name == "zoom":
            layers.append(keras.layers.RandomZoom(strength, seed=s, name="aug_zoom"))
        elif name == "contrast":
            layers.append(keras.layers.RandomContrast(strength, seed=s, name="aug_contrast"))
        elif name == "erase":
            # factor=(p, p): erase with probability exactly p (a bare number
            # would draw the probability itself from [0, p]).
            layers.append(
                keras.layers.RandomErasing(
                    factor=(strength, strength), fill_value=0.0, seed=s, name="aug_erase"
                )
            )
        else:
            from zoo.training.config import AUGMENTATIONS

            raise ValueError(f"Unknown augmentation {name!r}; known: {', '.join(AUGMENTATIONS)}")
    if input_shape is not None:
        layers.insert(0, keras.Input(shape=tuple(input_shape)))
    return keras.Sequential(layers, name="augmentation")
