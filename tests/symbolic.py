"""Full-size models for paper facts, built without allocating their weights.

Parameter counts, layer names, output shapes and multiply-adds need the graph,
not the weights. Inside ``keras.StatelessScope(initialize_variables=False)``
Keras creates every variable with its shape but defers its initialization, so
VGG-16 (138 M parameters) builds in under a second instead of several.
``keras.backend.clear_session(free_memory=False)`` then drops the deferred variables, so nothing
ever initializes them. Such a model must not be called: use it for its graph.
Results are cached per (name, options): each full-size graph is built once per
test session.
"""

from __future__ import annotations

import functools

import zoo


def _freeze(kwargs: dict) -> tuple:
    return tuple(sorted(kwargs.items()))


@functools.cache
def _info(name: str, frozen: tuple) -> dict:
    import keras

    try:
        with keras.StatelessScope(initialize_variables=False):
            return zoo.model_info(name, **dict(frozen))
    finally:
        keras.backend.clear_session(free_memory=False)


def model_info(name: str, /, **kwargs) -> dict:
    """``zoo.model_info(name, **kwargs)`` of a graph-only build (cached); do not call ``["model"]``."""
    return _info(name, _freeze(kwargs))


def graph(name: str, /, **kwargs):
    """The graph-only ``keras.Model`` of ``zoo.build_model(name, **kwargs)`` (cached)."""
    return model_info(name, **kwargs)["model"]
