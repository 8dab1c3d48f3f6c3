"""keras-zoo: the classic architectures of the deep-learning course, in one call.

Example:
    >>> import zoo
    >>> zoo.list_models("vgg*")
    ['vgg11', 'vgg11_lrn', 'vgg13', 'vgg16', 'vgg16_c', 'vgg19']
    >>> model = zoo.build_model("resnet20", num_classes=10)

Importing ``zoo`` imports no Keras; building a model does.
"""

from __future__ import annotations

from zoo.registry import ModelSpec, UnknownModelError, get_spec, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "ModelSpec",
    "UnknownModelError",
    "build_model",
    "embed",
    "fine_tune",
    "get_spec",
    "list_models",
    "list_pretrained",
    "load_model",
    "load_pretrained",
    "lr_find",
    "model_info",
    "predict",
    "register_model",
    "train",
]

# Heavier parts of the API load on first use (PEP 562), so `import zoo` stays light.
# Evaluation lives in the submodule: `from zoo.evaluate import evaluate`.
_LAZY = {
    "train": "zoo.training.fit",
    "lr_find": "zoo.training.lr_find",
    "fine_tune": "zoo.transfer",
    "embed": "zoo.transfer",
    "predict": "zoo.evaluate",
    "load_pretrained": "zoo.pretrained",
    "list_pretrained": "zoo.pretrained",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")


def build_model(name: str, /, **kwargs):
    """Builds a registered architecture as a functional ``keras.Model``.

    The keyword arguments are the fields of the model's options dataclass
    (``dataclasses.fields(get_spec(name).options)``, see `zoo.options`):
    ``input_shape``, ``num_classes``, ``include_top``, ``pooling``,
    ``classifier_activation``, ``weights``, ``name``, ``activation``,
    ``kernel_initializer``, ``batch_norm``, ``dropout``, ``kernel_l2``, plus
    the family's knobs. They are validated before a layer is built; the
    builder is called with the options object; then ``weights`` is loaded
    (`zoo.weights`). The model records what it was built from:
    ``model.zoo_model`` (the registered name) and ``model.zoo_options`` (a
    JSON-able dict of the options, ``weights`` left out), so
    ``build_model(model.zoo_model, **model.zoo_options)`` rebuilds the same
    architecture; `zoo.saving.save_model` / `load_model` keep both.

    Args:
        name: registered name or alias (see ``list_models()``).
        **kwargs: the options. ``weight_decay`` is the deprecated name of
            ``kernel_l2`` (a DeprecationWarning).

    Returns:
        An uncompiled ``keras.Model``.

    Raises:
        UnknownModelError: for an unknown name, suggesting close ones.
        ValueError: for an unknown argument (suggesting the closest) or an
            invalid value, e.g. an input below the minimum.
        zoo.weights.WeightsError: weights that are missing or do not fit.
    """
    from zoo.options import options_from_kwargs
    from zoo.registry import get_builder

    spec = get_spec(name)
    options = options_from_kwargs(spec, kwargs)
    model = get_builder(spec.name).build_from_options(options)
    from zoo.saving import record_options

    record_options(model, spec.name, options.to_dict())  # before weights: the bridge reads it
    if options.weights is not None:
        from zoo import weights

        weights.load_weights(model, options.weights)
    return model


def model_info(name: str, /, **kwargs) -> dict:
    """Builds the model and describes it.

    Returns:
        A dict with ``name``, ``family``, ``paper``, ``description``,
        ``input_shape``, ``min_input_shape``, ``output_shape``, ``params``
        (total), ``trainable_params``, ``non_trainable_params``, ``flops``
        (multiply-adds of one forward pass at that input size), ``layers``
        and the built ``model`` itself.
    """
    from zoo import info

    spec = get_spec(name)
    model = build_model(name, **kwargs)
    trainable = info.count_params(model.trainable_weights)
    non_trainable = info.count_params(model.non_trainable_weights)
    return {
        "name": spec.name,
        "family": spec.family,
        "paper": spec.paper,
        "description": spec.description,
        "input_shape": tuple(model.input_shape[1:]),
        "min_input_shape": spec.min_input_shape,
        "output_shape": tuple(model.outputs[0].shape[1:]),
        "params": trainable + non_trainable,
        "trainable_params": trainable,
        "non_trainable_params": non_trainable,
        "flops": info.count_macs(model),
        "layers": len(model.layers),
        "model": model,
    }


def load_model(path, *, compile: bool = False):
    """Loads a ``.keras`` model safely (``safe_mode=True``; other formats refused).

    With ``compile=True`` the zoo's own losses (``zoo.training.losses``) and
    optimizer (``GroupRateOptimizer``) are registered first, so a model trained
    with one of them loads compiled.
    """
    from zoo.saving import load_model as _load

    if compile:
        # registers the zoo's serializable losses and GroupRateOptimizer
        import zoo.training.losses
        import zoo.training.optimizers  # noqa: F401

    return _load(path, compile=compile)
