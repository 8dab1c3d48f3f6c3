"""The linear probe of a fine-tune, class weights, and the best-on-validation choice.

- **Linear probe**: a multinomial logistic regression (scikit-learn, L-BFGS)
  on the features the new head sees (the backbone's output, globally
  average-pooled when spatial), centred and scaled, its ``C`` chosen on the
  validation split from `PROBE_CS`. It is the baseline every fine-tune is
  measured against and, folded back to raw features, the new head's starting
  point (`set_head`): the head starts where a linear probe ends (LP-FT,
  Kumar et al., "Fine-Tuning can Distort Pretrained Features", ICLR 2022).
- **Class weights** ``"balanced"``: ``n / (k * n_c)`` for class ``c`` (``n``
  training images, ``k`` classes; scikit-learn's formula), so every class
  weighs as much in the loss as if the folder were balanced.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np

__all__ = [
    "PROBE_CS",
    "Probe",
    "check_channels",
    "class_weights",
    "fit_backbone_probe",
    "fit_probe",
    "guard_publish",
    "head_features",
    "set_head",
    "train_labels",
]

#: Inverse L2 strengths tried; the one with the best validation accuracy is kept.
PROBE_CS = (0.01, 0.1, 1.0, 10.0)


@dataclasses.dataclass
class Probe:
    """A logistic regression on raw features: ``logits = features @ kernel + bias``.

    Attributes:
        kernel: ``(D, K)`` float32, on raw (unstandardized) features.
        bias: ``(K,)`` float32.
        C: the inverse L2 strength chosen on validation.
        metrics: ``{"<split>_accuracy": float}`` for train, val and test (those present).
    """

    kernel: np.ndarray
    bias: np.ndarray
    C: float
    metrics: dict

    def to_dict(self) -> dict:
        return {"method": "logistic regression on backbone features", "C": self.C, **self.metrics}


def class_weights(labels, num_classes: int, mode) -> dict[int, float] | None:
    """``{class: weight}`` for ``mode="balanced"`` (``n / (k * n_c)``), None for None.

    Args:
        labels: integer training labels.
        num_classes: ``k``.
        mode: None, ``"balanced"`` or a ``{class index: weight}`` mapping (checked).

    Raises:
        ValueError: an unknown mode, a class without training images, a bad mapping.
    """
    if mode is None:
        return None
    if isinstance(mode, dict):
        if set(mode) != set(range(num_classes)) or not all(
            isinstance(w, (int, float)) and w > 0 for w in mode.values()
        ):
            raise ValueError(
                f"class_weight must map every class index 0..{num_classes - 1} to a weight > 0; "
                f"received {mode!r}."
            )
        return {int(k): float(v) for k, v in mode.items()}
    if mode != "balanced":
        raise ValueError(f"class_weight must be None, 'balanced' or a dict; received {mode!r}.")
    counts = np.bincount(np.asarray(labels, dtype=np.int64).reshape(-1), minlength=num_classes)
    if (counts == 0).any():
        missing = [int(i) for i in np.flatnonzero(counts == 0)]
        raise ValueError(f"class_weight='balanced': classes {missing} have no training images.")
    total = int(counts.sum())
    return {i: total / (num_classes * int(c)) for i, c in enumerate(counts)}


def head_features(model, prep, part, batch_size: int = 128):
    """``(features, labels)`` of one split: what the new head's Dense layer receives.

    Args:
        model: the backbone (images to features).
        prep: its `Preprocessing` (applied to raw uint8 batches).
        part: a split of a `DataBundle`: ``(x, y)`` arrays or an indexable dataset of batches.
        batch_size: inference batch size for arrays.
    """
    batches = [part] if isinstance(part, tuple) else (part[i] for i in range(len(part)))
    feats, labels = [], []
    for x, y in batches:
        x = np.asarray(x)
        for start in range(0, len(x), batch_size):
            out = np.asarray(model.predict_on_batch(prep(x[start : start + batch_size])))
            if out.ndim == 4:
                out = out.mean(axis=(1, 2))
            feats.append(out.reshape(out.shape[0], -1).astype("float32"))
        y = np.asarray(y)
        labels.append((y.argmax(-1) if y.ndim > 1 else y).reshape(-1).astype("int64"))
    return np.concatenate(feats), np.concatenate(labels)


def fit_probe(model, prep, bundle, *, seed: int = 0, class_weight=None) -> Probe:
    """Fits the linear probe on the train split, ``C`` chosen on val; scores every split.

    Args:
        model: the backbone (images to features).
        prep: its `Preprocessing`.
        bundle: the `DataBundle` (train required; val picks ``C``, else ``C=1``).
        seed: for the solver (L-BFGS is deterministic; kept for the record).
        class_weight: a ``{class: weight}`` mapping or None.

    Returns:
        A `Probe`.
    """
    from sklearn.linear_model import LogisticRegression

    data = {s: head_features(model, prep, bundle.get(s))
            for s in ("train", "val", "test") if bundle.get(s) is not None}  # fmt: skip
    x, y = data["train"]
    # one scale for all features (not per feature): a near-constant feature would get a huge
    # weight, which dropout in the head then turns into huge logits
    mean, std = x.mean(axis=0), np.full(x.shape[1], x.std() + 1e-6, "float64")
    z = {s: (f - mean) / std for s, (f, _) in data.items()}
    best = None
    for c in PROBE_CS if "val" in data else (1.0,):
        clf = LogisticRegression(C=c, max_iter=2000, class_weight=class_weight, random_state=seed)
        clf.fit(z["train"], y)
        score = clf.score(z["val"], data["val"][1]) if "val" in data else 0.0
        if best is None or score > best[0]:
            best = (score, c, clf)
    _, c, clf = best
    metrics = {f"{s}_accuracy": float(_accuracy(clf, z[s], lab, bundle.num_classes))
               for s, (_, lab) in data.items()}  # fmt: skip
    kernel, bias = _full_coefficients(clf, bundle.num_classes)
    kernel = kernel / std[:, None]
    bias = bias - (mean[:, None] * kernel).sum(axis=0)
    return Probe(kernel.astype("float32"), bias.astype("float32"), float(c), metrics)


def _full_coefficients(clf, num_classes: int):
    """``(D, K)`` kernel and ``(K,)`` bias over every class (absent ones at -inf-like bias)."""
    d = clf.coef_.shape[1]
    kernel = np.zeros((d, num_classes), "float64")
    bias = np.full(num_classes, -30.0)
    if len(clf.classes_) == 2 and clf.coef_.shape[0] == 1:  # binary: softmax([0, s]) = sigmoid(s)
        a, b = (int(k) for k in clf.classes_)
        kernel[:, b], bias[a], bias[b] = clf.coef_[0], 0.0, clf.intercept_[0]
        return kernel, bias
    for row, k in enumerate(clf.classes_):
        kernel[:, int(k)], bias[int(k)] = clf.coef_[row], clf.intercept_[row]
    return kernel, bias


def _accuracy(clf, z, labels, num_classes: int) -> float:
    return float(np.mean(clf.predict(z) == labels)) if len(labels) else float("nan")


def set_head(model, probe: Probe) -> None:
    """Writes the probe into the model's ``predictions`` Dense layer (kernel, bias)."""
    layer = model.get_layer("predictions")
    layer.kernel.assign(probe.kernel)
    layer.bias.assign(probe.bias)


def check_channels(bb, have: int, channels, data) -> None:
    """A backbone taking another channel count than the data's needs ``channels`` said.

    Raises:
        ValueError: a mismatch without ``channels``, or ``channels`` the backbone does not take.
    """
    want = bb.preprocessing.output_shape((1, 1, have))[-1]
    if channels is None:
        if want != have:
            how = "to grayscale" if want == 1 else "by repeating the gray channel"
            raise ValueError(
                f"{data}: the images have {have} channel(s) and the backbone {bb.name!r} takes "
                f"{want}; pass channels={want} (--channels {want}) to convert them {how}, or "
                f"choose a backbone for {have}-channel images."
            )
    elif channels != want:
        raise ValueError(
            f"channels={channels!r}: the backbone {bb.name!r} takes {want}-channel images."
        )


def train_labels(bundle):
    """The training split's integer labels (arrays, a streamed folder or any dataset of batches)."""
    part = bundle.get("train")
    if isinstance(part, tuple):
        y = np.asarray(part[1])
    elif getattr(part, "labels", None) is not None:  # a streamed folder knows its labels
        y = np.asarray(part.labels)
    else:
        y = np.concatenate([np.asarray(part[i][1]) for i in range(len(part))])
    return (y.argmax(-1) if y.ndim > 1 else y).reshape(-1)


def fit_backbone_probe(bb, bundle, config, class_weight, model):
    """Fits the linear probe (writes it into ``model``'s head when given); its record."""
    probe = fit_probe(bb.model, bb.preprocessing, bundle, seed=config.seed or 0,
                      class_weight=class_weight)  # fmt: skip
    if model is not None:
        set_head(model, probe)
    return probe.to_dict()


def guard_publish(result, force: bool) -> None:
    """Refuses (``force``: warns about) publishing a model worse than the linear probe."""
    split = "val" if result.val_accuracy is not None else "test"
    ours = result.val_accuracy if split == "val" else result.metrics.get("test_accuracy")
    theirs = (result.probe or {}).get(f"{split}_accuracy")
    if ours is None or theirs is None or ours >= theirs:
        return
    message = (
        f"the fine-tuned model's {split} accuracy {ours:.4f} is below the linear probe's "
        f"{theirs:.4f} (logistic regression on the backbone's features)"
    )
    if not force:
        where = f"; the run is kept in {result.run_dir}" if result.run_dir else ""
        raise ValueError(f"Not published: {message}; pass force=True (--force) to publish it "
                         f"anyway{where}.")  # fmt: skip
    warnings.warn(f"PUBLISHING A MODEL WORSE THAN THE LINEAR PROBE (force): {message}.",
                  stacklevel=3)  # fmt: skip


def backbone_score(bb, bundle, config, root=None) -> dict | None:
    """The backbone's own classifier on the test split, when it knows the data's classes.

    For a checkpoint whose class names are the data's (same names, same order), the
    score a fine-tune has to beat: ``{"test_accuracy", "test_loss"}``; else None.
    """
    from zoo import pretrained
    from zoo.training.model_setup import evaluate_model

    names = list((bb.manifest or {}).get("class_names") or [])
    if bb.kind != "pretrained" or names != list(bundle.class_names) or bundle.get("test") is None:
        return None
    model = pretrained.load_pretrained(bb.name, root)
    return evaluate_model(model, bundle, "test", bb.preprocessing, config)
