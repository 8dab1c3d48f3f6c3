"""The one place weights are resolved and loaded into a built model.

``weights`` may be ``None`` (random initialization) or the path of a local
Keras weights file (``*.weights.h5``) or of a ``.keras`` model whose layers
match the model built (its weights are copied by layer order, after the
architectures are checked to agree).
"""

from __future__ import annotations

import os


class WeightsError(ValueError):
    """Weights that cannot be found or do not fit the model."""


def load_weights(model, weights) -> None:
    """Loads ``weights`` into ``model`` in place.

    Raises:
        WeightsError: when the file is missing, of an unsupported kind, or
            does not match the architecture.
    """
    if weights is None:
        return
    path = os.fspath(weights)
    if not os.path.isfile(path):
        raise WeightsError(
            f"Weights file not found: {path!r}. Pass weights=None for random "
            f"initialization or the path of a '.weights.h5' or '.keras' file."
        )
    if path.endswith(".weights.h5"):
        try:
            model.load_weights(path)
        except ValueError as err:
            raise WeightsError(f"{path!r} does not fit model {model.name!r}: {err}") from err
        return
    if path.endswith(".keras"):
        from zoo.saving import load_model

        source = load_model(path)
        src, dst = source.weights, model.weights
        if [tuple(w.shape) for w in src] != [tuple(w.shape) for w in dst]:
            raise WeightsError(
                f"{path!r} holds a model whose weights do not match {model.name!r} "
                f"({len(src)} vs {len(dst)} weight tensors, or different shapes)."
            )
        for s, d in zip(src, dst):
            d.assign(s)
        return
    raise WeightsError(
        f"Unsupported weights file {path!r}: expected a '.weights.h5' or '.keras' file."
    )
