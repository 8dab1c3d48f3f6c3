"""Seeing inside a model, as Zeiler & Fergus did: first-layer filters and feature maps (PNG).

`plot_filters` draws the kernels of a model's first convolution, one panel
per filter (RGB when it reads 3 channels, grey otherwise: the mean over its
input channels); `plot_feature_maps` draws one panel per channel of a layer's
output for one image. Both work on every Keras backend (no gradients) and
return a `Panels` naming the PNG, the layer and how many panels it holds.
"""

from __future__ import annotations

import math
import os
from typing import NamedTuple

import numpy as np

__all__ = [
    "Panels", "feature_maps_of_image", "filters_of_model", "first_conv_layer", "grid_shape",
    "plot_feature_maps", "plot_filters",
]  # fmt: skip

#: Inches per panel in the grid (the PNG is written at 100 dpi).
PANEL_INCHES = 1.0


class Panels(NamedTuple):
    """A PNG of a grid of panels: its path, the layer drawn, how many panels."""

    path: str
    layer: str
    panels: int


def grid_shape(n: int) -> tuple[int, int]:
    """``(rows, columns)`` of the near-square grid that holds ``n`` panels."""
    cols = math.ceil(math.sqrt(n))
    return math.ceil(n / cols), cols


def first_conv_layer(model):
    """The model's first 2-D convolution (``Conv2D``, separable or depthwise)."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)
    for layer in model.layers:
        if isinstance(layer, kinds):
            return layer
        if isinstance(layer, keras.Model):  # a nested backbone
            return first_conv_layer(layer)
    raise ValueError(f"Model {model.name!r} has no 2-D convolution whose filters could be drawn.")


def _normalized(a: np.ndarray) -> np.ndarray:
    lo, hi = float(a.min()), float(a.max())
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _grid_png(images, path, title: str, cmap: str = "gray") -> str:
    """Writes ``images`` (each (h, w) or (h, w, 3) in [0, 1]) as a titled grid."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.training.plots import save_figure

    rows, cols = grid_shape(len(images))
    fig = Figure(figsize=(cols * PANEL_INCHES, rows * PANEL_INCHES + 0.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for k, ax in enumerate(axes):
        ax.set_axis_off()
        if k < len(images):
            ax.imshow(images[k], cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(str(k), fontsize=6, pad=1)
    fig.suptitle(title, fontsize=8)
    return save_figure(fig, path)


def plot_filters(model, path, *, layer: str | None = None) -> Panels:
    """Draws the filters of ``layer`` (default: the first convolution) of ``model`` to ``path``.

    Each filter is scaled to [0, 1] on its own; a 3-channel filter is drawn in
    colour (the model's channel order), others as the mean over input channels.
    """
    conv = model.get_layer(layer) if layer else first_conv_layer(model)
    if not hasattr(conv, "kernel") or len(conv.kernel.shape) != 4:
        raise ValueError(f"Layer {conv.name!r} has no 2-D convolution kernel to draw.")
    from keras import ops

    kernel = ops.convert_to_numpy(conv.kernel)  # (h, w, in, out); depthwise: (h, w, in, multiplier)
    kernel = kernel.reshape(*kernel.shape[:2], kernel.shape[2], -1)
    filters = [kernel[..., k] for k in range(kernel.shape[-1])]
    shown = [_normalized(f if f.shape[-1] == 3 else f.mean(axis=-1)) for f in filters]
    h, w = kernel.shape[:2]
    title = f"{model.name}: {conv.name}, {len(shown)} filters {h}x{w}"
    return Panels(_grid_png(shown, path, title), conv.name, len(shown))


def plot_feature_maps(model, x, layer: str, path, *, max_maps: int = 64) -> Panels:
    """Draws the first ``max_maps`` channels of ``layer``'s output for one input ``x`` (HWC).

    ``x`` is the model's input, already preprocessed. Each map is scaled to
    [0, 1] on its own (a constant map is drawn black).
    """
    import keras

    try:
        target = model.get_layer(layer)
    except ValueError:
        names = ", ".join(item.name for item in model.layers[1:])
        raise ValueError(f"Model {model.name!r} has no layer {layer!r}; it has {names}.") from None
    if len(target.output.shape) != 4:
        raise ValueError(f"Layer {layer!r} outputs {tuple(target.output.shape)}, not feature maps.")
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    probe = keras.Model(inputs, target.output)
    out = probe(np.asarray(x, dtype=np.float32)[None], training=False)
    maps = keras.ops.convert_to_numpy(out)[0]
    n = min(int(max_maps), maps.shape[-1])
    shown = [_normalized(maps[..., k]) for k in range(n)]
    title = f"{model.name}: {layer}, {n} of {maps.shape[-1]} maps {maps.shape[0]}x{maps.shape[1]}"
    return Panels(_grid_png(shown, path, title, cmap="viridis"), layer, n)


def feature_maps_of_image(ref, image, layer: str, path, *, max_maps: int = 64, root=None) -> Panels:
    """`plot_feature_maps` of a trained model (``load_trained``'s ``ref``) on an image file."""
    from zoo.evaluate.loading import load_trained
    from zoo.evaluate.predicting import decoded

    trained = load_trained(ref, root=root)
    x = trained.preprocessing(decoded(trained, image)[None])[0]
    return plot_feature_maps(trained.model, x, layer, path, max_maps=max_maps)


def filters_of_model(ref, path, *, layer: str | None = None, root=None) -> Panels:
    """`plot_filters` of a trained model (anything ``load_trained`` takes)."""
    from zoo.evaluate.loading import load_trained

    return plot_filters(load_trained(ref, root=root).model, os.fspath(path), layer=layer)
