"""Evaluating and using trained models: ``load_trained``, ``evaluate``, ``predict``.

A trained model is only usable together with what it was trained on: its
class names in label order and the `Preprocessing` that turns raw ``uint8``
pixels into its input. `load_trained` finds both wherever the model comes
from:

- a run directory written by ``zoo.train(..., run_dir=...)``: ``run.json``
  holds the class names, preprocessing, config and the raw data shape; the
  model is ``model.keras`` (the final one) or, when training did not finish,
  ``best.keras``;
- a ``.keras`` file: a sibling ``manifest.json`` (as ``saved_models/<name>/``
  has) provides class names and preprocessing; without one, the default
  ``Preprocessing()`` (``x / 255``) and class names ``"0" .. "N-1"``;
- a published name in ``saved_models/`` (``zoo.pretrained``): hashes are
  verified before loading.

Models load only as ``.keras`` with ``safe_mode=True`` (`zoo.saving`); other
formats are refused with the reason.

Data and images of a size other than the one the model was trained on are
converted the way the data layer converts them (bilinear resize, 1 <-> 3
channels) to the training size, then preprocessed (scaled, zero-padded).

Example:

>>> report = evaluate("runs/lenet5", "mnist-sample")  # doctest: +SKIP
>>> report["accuracy"], report["confusion_matrix"].shape  # doctest: +SKIP
(0.97, (10, 10))
>>> predict("runs/lenet5", ["digit.png"], top_k=2)  # doctest: +SKIP
[[('7', 0.98), ('1', 0.01)]]

The package's modules:

- `zoo.evaluate.loading`: `TrainedModel` and `load_trained`;
- `zoo.evaluate.metrics`: `evaluate` and `classification_report`;
- `zoo.evaluate.predicting`: `predict`;
- `zoo.evaluate.reporting`: `plot_confusion_matrix`, `report_to_json`,
  `format_report` and `describe_evaluation`.
- `zoo.evaluate.explain`: Grad-CAM, `grad_cam` on arrays and `explain` on
  image files (``zoo explain``);
- `zoo.evaluate.viz`: `plot_filters` and `plot_feature_maps` (``zoo viz``).

A plain folder of class subfolders (no ``train/val/test``) is evaluated as a
whole (report ``split`` ``"all"``); ``tta="flip"`` in `evaluate` and `predict`
averages the probabilities of each image and its horizontal mirror.

Import from the package itself (``from zoo.evaluate import evaluate``); the
modules are an implementation detail.

Layering: evaluate builds on `zoo.pretrained`, `zoo.saving`, `zoo.data` and the
training side's `TrainConfig`/`Preprocessing`/data preparation (so a model is
evaluated exactly as it was trained); nothing below imports evaluate.
"""

from __future__ import annotations

# Public but outside __all__ (as in the former single module): re-exported explicitly.
from zoo.evaluate.loading import BEST_MODEL as BEST_MODEL
from zoo.evaluate.loading import FINAL_MODEL as FINAL_MODEL
from zoo.evaluate.loading import MANIFEST as MANIFEST
from zoo.evaluate.loading import RUN_JSON as RUN_JSON
from zoo.evaluate.loading import TrainedModel, load_trained
from zoo.evaluate.metrics import classification_report as classification_report
from zoo.evaluate.metrics import evaluate
from zoo.evaluate.predicting import predict
from zoo.evaluate.reporting import describe_evaluation as describe_evaluation
from zoo.evaluate.reporting import format_report, plot_confusion_matrix, report_to_json

__all__ = [
    "TrainedModel",
    "evaluate",
    "format_report",
    "load_trained",
    "plot_confusion_matrix",
    "predict",
    "report_to_json",
]
