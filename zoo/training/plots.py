"""Training curves as a PNG: loss and accuracy per epoch, train / val / test.

``plot_history`` takes a ``TrainResult.history`` dict, a run directory or its
``history.csv``, and draws one panel per metric with the train, ``val_`` and
(with ``track_test``) ``test_`` curves, the learning rate on a second axis of
the loss panel. ``compare_runs`` puts one metric of several runs on one axis
(e.g. the test accuracy of two recipes). Figures are drawn on their own Agg canvas: no pyplot state,
and a notebook's matplotlib backend is left alone.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Mapping, Sequence

__all__ = ["compare_runs", "load_history", "plot_history"]

_STYLES = (("", "train", "-"), ("val_", "val", "--"), ("test_", "test", ":"))


def load_history(source) -> dict[str, list[float]]:
    """A history dict from a dict, a run directory or a ``history.csv`` path."""
    if isinstance(source, Mapping):
        return {str(k): [float(v) for v in values] for k, values in source.items()}
    path = os.fspath(source)
    if os.path.isdir(path):
        path = os.path.join(path, "history.csv")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"No training history at {path}: pass a run directory, its history.csv or a dict."
        )
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path} holds no epochs yet.")
    return {
        key: [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]
        for key in rows[0]
    }


def plot_history(
    source,
    path: str | os.PathLike,
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> str:
    """Writes the training curves of ``source`` to ``path`` (PNG); returns the path.

    Args:
        source: a history dict (``TrainResult.history``), a run directory or
            a ``history.csv``.
        path: where to write the PNG (atomically).
        metrics: base metric names, one panel each; missing ones are skipped.
        title: figure title.

    Raises:
        ValueError: none of ``metrics`` is in the history.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    history = load_history(source)
    shown = [m for m in metrics if any(p + m in history for p, _, _ in _STYLES)]
    if not shown:
        raise ValueError(f"None of {list(metrics)} is in the history (it has {sorted(history)}).")
    n = len(next(iter(history.values())))
    epochs = history.get("epoch") or list(range(1, n + 1))
    fig = Figure(figsize=(5.5 * len(shown), 4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    for ax, metric in zip(axes, shown, strict=False):
        for prefix, label, style in _STYLES:
            if prefix + metric in history:
                ax.plot(epochs, history[prefix + metric], style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        if metric == "loss" and "lr" in history:
            lr_ax = ax.twinx()
            lr_ax.plot(
                epochs, history["lr"], color="grey", alpha=0.5, linewidth=1, label="learning rate"
            )
            lr_ax.set_ylabel("learning rate")
        ax.legend(loc="best")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def compare_runs(
    sources: Mapping[str, object] | Sequence,
    path: str | os.PathLike,
    *,
    metric: str = "val_accuracy",
    title: str | None = None,
) -> str:
    """Writes one curve of ``metric`` per run to ``path`` (PNG); returns the path.

    Args:
        sources: ``{label: source}``, or a sequence of run directories /
            ``history.csv`` paths (labelled by their directory name); each
            source is anything `load_history` reads.
        path: where to write the PNG (atomically).
        metric: the history column to draw, e.g. ``"test_accuracy"``.
        title: figure title.

    Raises:
        ValueError: no sources, or a run without ``metric`` (the message
            names the run and the columns it has).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not isinstance(sources, Mapping):
        sources = list(sources)
        labels = [_run_label(source) for source in sources]
        if len(set(labels)) < len(labels):  # same folder names: label by the whole path
            labels = [os.path.normpath(os.fspath(source)) for source in sources]
        sources = dict(zip(labels, sources, strict=False))
    if not sources:
        raise ValueError("compare_runs needs at least one run.")
    histories = {label: load_history(source) for label, source in sources.items()}
    for label, history in histories.items():
        if metric not in history:
            raise ValueError(f"Run {label!r} has no {metric!r} (it has {sorted(history)}).")
    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    for label, history in histories.items():
        values = history[metric]
        epochs = history.get("epoch") or list(range(1, len(values) + 1))
        best = max(values) if "acc" in metric else min(values)
        ax.plot(epochs, values, label=f"{label} (last {values[-1]:.4g}, best {best:.4g})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def _run_label(source) -> str:
    path = os.path.normpath(os.fspath(source))
    if os.path.basename(path) == "history.csv":
        path = os.path.dirname(path) or path
    return os.path.basename(path) or path


def save_figure(fig, path) -> str:
    """Lays ``fig`` out and writes it to ``path`` as PNG, atomically."""
    from zoo.saving import atomic_write

    fig.tight_layout()
    path = os.fspath(path)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100), suffix=".png")
    return path
