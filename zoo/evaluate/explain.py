"""Grad-CAM: where in an image a model looks for its answer (`grad_cam`, `explain`).

Grad-CAM (Selvaraju et al. 2017) weighs each channel of a convolutional
feature map by the mean gradient of the class score with respect to it and
keeps the positive part of the weighted sum: a coarse map of the regions that
raise the score. The class score is taken before the softmax when the model
ends in a softmax ``Dense`` layer (as every zoo classifier does).

The model is split at the chosen layer into a body (input -> feature map)
and a head (feature map -> score); only the head's gradient is needed, which
Keras leaves to the backend: TensorFlow (``GradientTape``), JAX
(``jax.grad``) and PyTorch (``torch.autograd``) are supported; other backends
raise a one-line error. The split needs the head to depend on the input only
through the chosen layer (true of the last convolutional layers of every zoo
and ``keras.applications`` classifier; a layer inside a residual block is
refused by Keras, naming it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

__all__ = ["CamResult", "default_cam_layer", "explain", "grad_cam", "overlay_png"]


def default_cam_layer(model) -> str:
    """The last layer whose output is a feature map larger than 1x1 (Grad-CAM's usual choice)."""
    for layer in reversed(model.layers):
        shape = getattr(layer, "output", None) is not None and layer.output.shape
        if shape and len(shape) == 4 and (shape[1] or 2) * (shape[2] or 2) > 1:
            return layer.name
    raise ValueError(f"Model {model.name!r} has no convolutional feature map for Grad-CAM.")


def _head_output(model):
    """The model's first output; before the softmax when it ends in a softmax ``Dense``."""
    import keras

    out = model.outputs[0]
    last = next((layer for layer in model.layers if layer.output is out), None)
    if isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
        return last.input, last
    return out, None


def _split(model, layer_name: str):
    """``(body, head, dense)``: input -> feature map, feature map -> output (or pre-softmax)."""
    import keras

    try:
        fmap = model.get_layer(layer_name).output
    except ValueError:
        names = ", ".join(layer.name for layer in model.layers[1:])
        raise ValueError(
            f"Model {model.name!r} has no layer {layer_name!r}; it has {names}."
        ) from None
    if len(fmap.shape) != 4:
        raise ValueError(f"Layer {layer_name!r} outputs {tuple(fmap.shape)}, not a feature map.")
    out, dense = _head_output(model)
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    body = keras.Model(inputs, fmap)
    head = keras.Model(fmap, out)
    return body, head, dense


def _gradient(score_fn, fmap):
    """``d score_fn(fmap) / d fmap`` with the backend's own autodiff (``score_fn`` is a scalar)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        fmap = tf.convert_to_tensor(fmap)
        with tf.GradientTape() as tape:
            tape.watch(fmap)
            score = score_fn(fmap)
        return np.asarray(tape.gradient(score, fmap))
    if backend == "jax":
        import jax

        return np.asarray(jax.grad(score_fn)(jax.numpy.asarray(fmap)))
    if backend == "torch":
        import torch

        fmap = torch.as_tensor(np.asarray(fmap)).requires_grad_(True)
        (grad,) = torch.autograd.grad(score_fn(fmap), fmap)
        return grad.detach().cpu().numpy()
    raise ValueError(f"Grad-CAM needs the tensorflow, jax or torch backend; this is {backend!r}.")


def grad_cam(model, x, *, layer: str | None = None, class_index=None):
    """Grad-CAM heat maps of a preprocessed batch ``x`` (NHWC).

    Args:
        model: a Keras classifier (functional); multi-output models use their first output.
        x: the model's inputs, already preprocessed.
        layer: the feature map's layer name; default: `default_cam_layer`.
        class_index: the class explained, an int or one per image; default: the predicted one.

    Returns:
        ``(maps, classes)``: maps ``(N, h, w)`` in [0, 1] at the layer's resolution (all zero
        where no position raises the score), and the class index explained for each image.
    """
    from keras import ops

    x = np.asarray(x, dtype=np.float32)
    body, head, dense = _split(model, layer or default_cam_layer(model))
    fmap = ops.convert_to_numpy(body(x, training=False))
    scores = ops.convert_to_numpy(_scores(head, dense, fmap))
    if class_index is None:
        classes = scores.argmax(axis=-1)
    else:
        classes = np.broadcast_to(np.asarray(class_index, dtype=int), (len(x),)).copy()
    onehot = ops.convert_to_tensor(np.eye(scores.shape[-1], dtype=np.float32)[classes])

    def score_fn(f):
        return ops.sum(ops.multiply(_scores(head, dense, f), onehot))

    grads = _gradient(score_fn, fmap)
    weights = grads.mean(axis=(1, 2), keepdims=True)
    cams = np.maximum((weights * fmap).sum(axis=-1), 0.0)
    peak = cams.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, cams / np.where(peak > 0, peak, 1.0), 0.0), classes


def _scores(head, dense, fmap):
    from keras import ops

    out = head(fmap, training=False)
    return out if dense is None else ops.matmul(out, dense.kernel) + dense.bias


class CamResult(NamedTuple):
    """One explained image: the PNG written, the class explained and its probability."""

    path: str
    class_name: str
    probability: float


def overlay_png(image, cam, path, *, title: str = "") -> str:
    """Writes ``image`` (H, W, C uint8-valued) with ``cam`` over it in jet colours (PNG)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.training.plots import save_figure

    img = np.clip(np.asarray(image, dtype=np.float32) / 255.0, 0.0, 1.0)
    h, w = img.shape[:2]
    fig = Figure(figsize=(6, 3.2))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    for ax in (left, right):
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray", vmin=0, vmax=1)
        ax.set_axis_off()
    right.imshow(cam, cmap="jet", alpha=0.5, extent=(-0.5, w - 0.5, h - 0.5, -0.5),
                 interpolation="bilinear", vmin=0, vmax=1)  # fmt: skip
    left.set_title("input", fontsize=9)
    right.set_title(title or "Grad-CAM", fontsize=9)
    return save_figure(fig, path)


def explain(
    ref,
    images: Sequence[str | os.PathLike],
    out_dir: str | os.PathLike = ".",
    *,
    layer: str | None = None,
    class_name: str | None = None,
    root=None,
) -> list[CamResult]:
    """Writes ``<out_dir>/<image stem>_gradcam.png`` for each image: the image and its heat map.

    Args:
        ref: anything `zoo.evaluate.load_trained` takes (checkpoint name, ``.keras``, run dir).
        images: image files, decoded and preprocessed as the model was trained.
        out_dir: where the PNGs go (created).
        layer: the feature map's layer; default: `default_cam_layer`.
        class_name: explain this class instead of the predicted one.
        root: saved-models folder for published names.

    Returns:
        One `CamResult` ``(path, class explained, its probability)`` per image.
    """
    from zoo.evaluate.loading import load_trained
    from zoo.evaluate.predicting import decoded

    images = list(images)
    trained = load_trained(ref, root=root)
    raw = [decoded(trained, path) for path in images]
    x = np.stack([trained.preprocessing(r[None])[0] for r in raw])
    index = None
    if class_name is not None:
        if class_name not in trained.class_names:
            known = ", ".join(trained.class_names)
            raise ValueError(f"Unknown class {class_name!r}; the model's classes: {known}.")
        index = trained.class_names.index(class_name)
    cams, classes = grad_cam(trained.model, x, layer=layer, class_index=index)
    probs = _probabilities(trained.model, x)
    shown = _display_geometry(trained.preprocessing)
    os.makedirs(out_dir, exist_ok=True)
    results = []
    for out, pixels, cam, c, p in zip(
        _out_paths(images, out_dir), raw, cams, classes, probs, strict=True
    ):
        name, prob = trained.class_names[c], float(p[c])
        overlay_png(shown(pixels[None])[0], cam, out, title=f"Grad-CAM: {name} ({prob:.1%})")
        results.append(CamResult(out, name, prob))
    return results


def _out_paths(images, out_dir) -> list[str]:
    """``<stem>_gradcam.png`` per image; ``<folder>_<stem>`` (then numbered) when stems repeat."""
    paths = [os.path.abspath(os.fspath(p)) for p in images]
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    if len(set(stems)) < len(stems):
        folders = [os.path.basename(os.path.dirname(p)) for p in paths]
        stems = [f"{folder}_{stem}" for folder, stem in zip(folders, stems, strict=True)]
    if len(set(stems)) < len(stems):
        stems = [f"{k}_{stem}" for k, stem in enumerate(stems, start=1)]
    return [os.path.join(out_dir, f"{stem}_gradcam.png") for stem in stems]


def _probabilities(model, x) -> np.ndarray:
    out = model.predict(x, verbose=0)
    out = np.asarray(out[0] if isinstance(out, (list, tuple)) else out, dtype=np.float64)
    if np.all(out >= 0) and np.allclose(out.sum(axis=-1), 1.0, atol=1e-3):
        return out
    e = np.exp(out - out.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _display_geometry(preprocessing):
    """Raw pixels -> the model's input geometry (channels, padding), values kept in 0..255."""
    import dataclasses

    return dataclasses.replace(preprocessing, mode="scale", scale=1.0, offset=0.0)
