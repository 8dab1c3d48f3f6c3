"""Presenting an `evaluate` report: confusion-matrix PNG, JSON and text."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from zoo.constants import json_ready


def plot_confusion_matrix(
    cm,
    class_names: Sequence[str],
    path: str | os.PathLike,
    *,
    title: str | None = None,
    normalize: bool = False,
) -> str:
    """Saves a confusion matrix as a PNG: counts in cells, colorbar, labelled axes.

    Uses matplotlib's Agg canvas directly (no pyplot, no display needed) and
    writes atomically.

    Args:
        cm: ``(K, K)`` counts, rows = true class, columns = predicted.
        class_names: the K names.
        path: the PNG to write.
        title: figure title (default ``"Confusion matrix"`` with the accuracy).
        normalize: color by row fraction (recall) instead of counts; the
            cells still show counts.

    Returns:
        The path written, as a string.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from zoo.saving import atomic_write

    cm = np.asarray(cm)
    k = cm.shape[0]
    if cm.shape != (k, k) or len(class_names) != k:
        raise ValueError(
            f"cm must be square with one row per class; received shape {cm.shape} "
            f"for {len(class_names)} class names"
        )
    total = cm.sum()
    if title is None:
        acc = np.trace(cm) / total if total else 0.0
        title = f"Confusion matrix ({int(total)} examples, accuracy {acc:.2%})"
    rows = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0) if normalize else cm
    side = min(4.0 + 0.45 * k, 24.0)
    fig = Figure(figsize=(side + 1.2, side), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(shown, cmap="Blues", interpolation="nearest")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("fraction of true class" if normalize else "count")
    ax.set_title(title)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    names = [str(n) if len(str(n)) <= 14 else str(n)[:13] + "…" for n in class_names]
    long_names = max(map(len, names)) > 2
    ax.set_xticks(
        range(k),
        labels=names,
        rotation=45 if long_names else 0,
        ha="right" if long_names else "center",
    )
    ax.set_yticks(range(k), labels=names)
    if k <= 40:
        threshold = shown.max() / 2 if shown.size else 0
        size = max(5, min(10, 120 / k))
        for i in range(k):
            for j in range(k):
                ax.text(
                    j, i, str(int(cm[i, j])), ha="center", va="center", fontsize=size,
                    color="white" if shown[i, j] > threshold else "black",
                )  # fmt: skip
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")
    return os.fspath(path)


def report_to_json(report: dict) -> dict:
    """The `evaluate` report with NumPy values made JSON-ready (`zoo.constants.json_ready`)."""
    return json_ready(report)


def describe_evaluation(report: dict, data=None) -> str:
    """One line saying what was evaluated: the split (or whole folder) and how many images.

    ``data``: the name to show for the data (default: the report's ``data``).

    >>> describe_evaluation({"data": "mnist-sample", "split": "test", "num_examples": 1000})
    'Evaluated on the test split of mnist-sample (1,000 images)'
    """
    n, data = int(report["num_examples"]), data or report["data"]
    tta = " with flip TTA" if report.get("tta") == "flip" else ""
    if report["split"] == "all":
        return f"Evaluated on the whole folder {data} ({n:,} images){tta}"
    return f"Evaluated on the {report['split']} split of {data} ({n:,} images){tta}"


def format_report(report: dict) -> str:
    """The `evaluate` report as text: accuracy, loss and a per-class table."""
    lines = [
        f"Model:    {report['model']}",
        f"Data:     {report['data']} ({_split_words(report)}, {report['num_examples']} examples)",
    ]
    if report.get("loss") is not None:
        lines.append(f"Loss:     {report['loss']:.4f}")
    lines.append(f"Accuracy: {report['accuracy']:.4f}")
    width = max(12, *(len(n) for n in report["class_names"]))
    lines.append("")
    lines.append(f"{'class':<{width}} {'precision':>9} {'recall':>9} {'f1':>9} {'support':>8}")
    for name, row in report["per_class"].items():
        lines.append(
            f"{name:<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
            f"{row['f1']:>9.4f} {row['support']:>8d}"
        )
    for label, key in (("macro avg", "macro_avg"), ("weighted avg", "weighted_avg")):
        row = report[key]
        lines.append(
            f"{label:<{width}} {row['precision']:>9.4f} {row['recall']:>9.4f} "
            f"{row['f1']:>9.4f} {report['num_examples']:>8d}"
        )
    return "\n".join(lines)


def _split_words(report: dict) -> str:
    return "whole folder" if report["split"] == "all" else f"{report['split']} split"
