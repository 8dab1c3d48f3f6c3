"""Loss landscapes along random filter-normalized directions (Li et al. 2018).

The loss of a trained model is evaluated on a grid around its weights
``theta``: ``L(theta + a * d1)`` (1-D) or ``L(theta + a * d1 + b * d2)``
(2-D), with ``a, b`` in ``[-span, span]``. A random Gaussian direction has
no scale of its own, and a network's filters have very different norms (and
BatchNorm makes the function invariant to each filter's scale), so each
direction is *filter-normalized*: every filter ``d_ij`` of the direction
(one output unit of a Conv/Dense kernel: a slice along the kernel's last
axis) is rescaled to the norm of the corresponding weight filter,
``d_ij <- d_ij / ||d_ij|| * ||theta_ij||``. Biases and BatchNorm parameters
get a zero direction, as in the paper (their ``--xignore biasbn``), and
BatchNorm's moving statistics are kept: the loss is the inference-mode loss.

Example:

>>> result = loss_landscape("runs/resnet56", "cifar10/", dims=2, steps=11)  # doctest: +SKIP
>>> result["loss"].shape, result["center_loss"]  # doctest: +SKIP
((11, 11), 0.31)
>>> save_landscape(result, "resnet56.png")  # + resnet56.json, resnet56.npz  # doctest: +SKIP

Reference:
    Li, Xu, Taylor, Studer & Goldstein, "Visualizing the Loss Landscape of
    Neural Nets", NeurIPS 2018 (arXiv:1712.09913), Section 4 (filter
    normalization) and Fig. 5 (ResNet-56 with and without skip connections).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np

__all__ = [
    "filter_normalized_direction",
    "landscape_grid",
    "loss_landscape",
    "plot_landscape",
    "save_landscape",
]

#: Grid points per axis when ``steps`` is not given.
DEFAULT_STEPS = {1: 21, 2: 11}


def filter_normalized_direction(weights, rng: np.random.Generator) -> list[np.ndarray]:
    """A random direction with each filter rescaled to its weight filter's norm.

    Args:
        weights: the trainable weight arrays (``model.trainable_weights`` as NumPy).
        rng: the random generator.

    Returns:
        One array per weight: for a kernel (2 or more dimensions) Gaussian
        noise whose every slice along the last axis (one filter / unit) has
        the norm of the same slice of the weight; zeros for biases and
        BatchNorm's scale and offset (1 dimension or fewer).
    """
    out = []
    for w in weights:
        w = np.asarray(w, dtype=np.float64)
        if w.ndim <= 1:
            out.append(np.zeros_like(w))
            continue
        d = rng.standard_normal(w.shape)
        axes = tuple(range(w.ndim - 1))  # every axis but the filters'
        d_norm = np.sqrt(np.sum(d * d, axis=axes, keepdims=True))
        w_norm = np.sqrt(np.sum(w * w, axis=axes, keepdims=True))
        out.append(d / np.maximum(d_norm, 1e-12) * w_norm)
    return out


def landscape_grid(steps: int, span: float) -> np.ndarray:
    """``steps`` evenly spaced coordinates in ``[-span, span]`` (0 included when odd)."""
    return np.linspace(-float(span), float(span), int(steps))


def _check(dims, steps, span, samples) -> int:
    if dims not in (1, 2):
        raise ValueError(f"dims must be 1 or 2; received dims={dims!r}")
    steps = DEFAULT_STEPS[dims] if steps is None else steps
    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"steps must be an int >= 2; received steps={steps!r}")
    if not (isinstance(span, (int, float)) and np.isfinite(span) and span > 0):
        raise ValueError(f"span must be > 0; received span={span!r}")
    if not isinstance(samples, int) or samples < 1:
        raise ValueError(f"samples must be an int >= 1; received samples={samples!r}")
    return steps


def _subset(prepared, samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` examples of a prepared split: a seeded random choice of arrays, or the
    first batches of a streaming dataset."""
    if isinstance(prepared, tuple):
        x, y = prepared
        if samples < len(y):
            keep = np.sort(np.random.default_rng(seed).choice(len(y), samples, replace=False))
            x, y = x[keep], y[keep]
        return np.asarray(x), np.asarray(y)
    xs, ys, count = [], [], 0
    for i in range(len(prepared)):
        x, y = prepared[i]
        xs.append(np.asarray(x))
        ys.append(np.asarray(y))
        count += len(ys[-1])
        if count >= samples:
            break
    return np.concatenate(xs)[:samples], np.concatenate(ys)[:samples]


def _evaluation_data(trained, data, split: str, samples: int, seed: int, batch_size):
    """The model's config and ``(x, y)`` of the subset, prepared as `zoo.evaluate` does."""
    from zoo.evaluate.metrics import _conform, _load_split
    from zoo.training.config import TrainConfig
    from zoo.training.fit_data import prepare_split

    config = trained.config or TrainConfig()
    if batch_size is not None:
        config = config.replace(batch_size=int(batch_size))
    bundle, key = _load_split(data, split, config)
    bundle, trained = _conform(bundle, data, key, trained, whole=key != split)
    x, y = _subset(prepare_split(bundle, key, trained.preprocessing, config), samples, seed)
    return config, x, y, bundle.source


def _loss_and_accuracy(model, x, y, config, known: bool) -> tuple[float, float]:
    """The configured loss (as ``zoo evaluate`` computes it) and accuracy on ``(x, y)``."""
    from zoo.evaluate.metrics import _int_labels, _loss, _probabilities

    outputs = np.asarray(model.predict(x, batch_size=config.batch_size, verbose=0), np.float64)
    loss = _loss(outputs, y, config, known)
    if loss is None:  # a diverged point (NaN/Inf) or unknown loss: the crossentropy of probs
        p = _probabilities(np.nan_to_num(outputs, nan=0.0), config)
        picked = p[np.arange(len(p)), _int_labels(y)]
        loss = float(-np.mean(np.log(np.clip(picked, 1e-12, 1.0))))
    predicted = _int_labels(outputs if outputs.shape[-1] > 1 else _probabilities(outputs))
    return float(loss), float(np.mean(predicted == _int_labels(y)))


def loss_landscape(
    ref,
    data,
    *,
    dims: int = 1,
    steps: int | None = None,
    span: float = 1.0,
    samples: int = 500,
    split: str = "train",
    seed: int = 0,
    batch_size: int | None = None,
    root=None,
    progress: Callable[[int, int, tuple, float], None] | None = None,
) -> dict:
    """The loss around a trained model's weights along random filter-normalized directions.

    Args:
        ref: anything `zoo.evaluate.load_trained` takes: a run directory, a
            ``.keras`` file, a published name or a ``keras.Model``.
        data: a folder, ``.npz``, ``"tfds:NAME"`` or sample name, read with
            the model's recorded config (a run's val split carved as in training).
        dims: 1 (a curve along ``d1``) or 2 (a surface over ``d1, d2``).
        steps: grid points per axis (default 21 for 1-D, 11 for 2-D).
        span: the grid covers ``[-span, span]`` on each axis (Li et al.: 1).
        samples: examples of ``split`` the loss is computed on (a seeded
            random subset; all when the split is smaller).
        split: ``"train"`` (default; the paper's training loss), ``"val"`` or ``"test"``.
        seed: seeds the directions and the subset.
        batch_size: prediction batch size (default: the config's).
        root: saved-models folder for published names.
        progress: called after every grid point with ``(done, total, coords, loss)``.

    Returns:
        A dict: ``model``, ``data``, ``split``, ``samples`` (used), ``dims``,
        ``span``, ``seed``, ``coords`` (the grid per axis), ``loss`` and
        ``accuracy`` (arrays of shape ``(steps,)`` or ``(steps, steps)``,
        indexed ``[i_d1, i_d2]``), and ``center_loss`` / ``center_accuracy``
        (the trained weights' own, computed before any perturbation).

    Raises:
        ValueError: bad arguments, data or model (as `zoo.evaluate.evaluate`).
    """
    from zoo.evaluate.loading import load_trained
    from zoo.training.model_setup import inference_model

    steps = _check(dims, steps, span, samples)
    trained = load_trained(ref, root=root)
    config, x, y, source = _evaluation_data(trained, data, split, samples, seed, batch_size)
    model = inference_model(trained.model)
    known = trained.config is not None
    center_loss, center_acc = _loss_and_accuracy(model, x, y, config, known)
    variables = list(model.trainable_weights)
    theta = [np.asarray(v, dtype=np.float64) for v in variables]
    rng = np.random.default_rng(seed)
    directions = [filter_normalized_direction(theta, rng) for _ in range(dims)]
    coords = landscape_grid(steps, span)
    shape = (steps,) * dims
    loss, acc = np.full(shape, np.nan), np.full(shape, np.nan)
    total = int(np.prod(shape))
    try:
        for done, index in enumerate(np.ndindex(*shape), start=1):
            point = tuple(float(coords[i]) for i in index)
            for v, w, *ds in zip(variables, theta, *directions, strict=True):
                shifted = w + sum(a * d for a, d in zip(point, ds, strict=True))
                v.assign(shifted.astype(v.dtype))
            loss[index], acc[index] = _loss_and_accuracy(model, x, y, config, known)
            if progress is not None:
                progress(done, total, point, float(loss[index]))
    finally:
        for v, w in zip(variables, theta, strict=True):
            v.assign(w.astype(v.dtype))
    return {
        "model": trained.source, "data": source, "split": split, "samples": len(y),
        "dims": dims, "span": float(span), "seed": seed, "coords": coords,
        "loss": loss, "accuracy": acc,
        "center_loss": center_loss, "center_accuracy": center_acc,
    }  # fmt: skip


def save_landscape(result: dict, path: str | os.PathLike, *, title: str | None = None) -> dict:
    """Writes the PNG at ``path`` and the raw grid beside it (``.json`` and ``.npz``).

    Returns:
        ``{"png", "json", "npz"}``: the paths written.
    """
    from zoo.constants import json_default
    from zoo.saving import atomic_write, write_text_atomic

    stem = os.path.splitext(os.fspath(path))[0]
    paths = {"png": os.fspath(path), "json": stem + ".json", "npz": stem + ".npz"}
    plot_landscape(result, paths["png"], title=title)
    raw = {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in result.items()}
    write_text_atomic(paths["json"], json.dumps(raw, indent=1, default=json_default))
    arrays = {k: np.asarray(result[k]) for k in ("coords", "loss", "accuracy")}
    atomic_write(paths["npz"], lambda tmp: np.savez(tmp, **arrays), suffix=".npz")
    return paths


def plot_landscape(result: dict, path: str | os.PathLike, *, title: str | None = None) -> str:
    """A 1-D loss (and accuracy) curve or a 2-D contour plot of the loss, as PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.saving import atomic_write

    fig = Figure(figsize=(6.0, 4.8) if result["dims"] == 2 else (6.4, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    coords, loss = np.asarray(result["coords"]), np.asarray(result["loss"])
    if result["dims"] == 1:
        ax.plot(coords, loss, "o-", color="tab:blue", markersize=3, label="loss")
        ax.set_xlabel("alpha (filter-normalized direction)")
        ax.set_ylabel(f"{result['split']} loss", color="tab:blue")
        twin = ax.twinx()
        twin.plot(coords, 100 * np.asarray(result["accuracy"]), "--", color="tab:red")
        twin.set_ylabel("accuracy (%)", color="tab:red")
        twin.set_ylim(0, 100)
    else:
        finite = np.where(np.isfinite(loss), loss, np.nanmax(loss[np.isfinite(loss)]))
        levels = np.linspace(np.nanmin(finite), np.nanmax(finite), 25)
        cs = ax.contour(coords, coords, finite.T, levels=levels, cmap="viridis", linewidths=1)
        ax.clabel(cs, cs.levels[::4], fontsize=7, fmt="%.2f")
        ax.plot([0], [0], "r+", markersize=10)
        ax.set_xlabel("d1")
        ax.set_ylabel("d2")
        ax.set_aspect("equal")
    name = os.path.basename(str(result["model"]).rstrip("/"))
    ax.set_title(title or f"{name}: {result['split']} loss, {result['samples']} samples, "
                 f"center {result['center_loss']:.3f}", fontsize=9)  # fmt: skip
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    return os.fspath(path)
