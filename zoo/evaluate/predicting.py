"""Classifying image files with a trained model: `predict`."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from zoo.evaluate.loading import load_trained
from zoo.evaluate.metrics import check_tta, tta_probabilities


def predict(
    ref,
    images: str | os.PathLike | Sequence[str | os.PathLike],
    top_k: int = 3,
    *,
    root=None,
    max_pixels: int | None = None,
    skipped: list | None = None,
    tta: str = "none",
) -> list[list[tuple[str, float]] | None]:
    """Classifies image files: the ``top_k`` classes of each with their probability.

    Each file is opened with the data layer's safe decoder
    (``zoo.data.decode_image``: format, pixel-count and truncation checks),
    converted to the channels and size the model was trained on, and
    preprocessed as in training.

    Args:
        ref: anything `load_trained` takes.
        images: one path or a list of paths.
        top_k: classes per image, most probable first. Defaults to 3.
        root: saved-models folder for published names.
        max_pixels: largest ``width * height`` accepted (default: the data
            layer's, 40M).
        skipped: a list to collect ``(path, reason)`` of the files that are
            missing, unreadable or not usable images: those are skipped (their
            result is None) and the others still classified. Without it, the
            first such file raises.
        tta: test-time augmentation: ``"none"`` (default) or ``"flip"``: the
            mean of the class probabilities of each image and of its
            horizontal mirror.

    Returns:
        One list per image of ``(class_name, probability)`` pairs sorted by
        decreasing probability (None for a skipped file). Outputs that are not
        probabilities (logits, hinge scores) are passed through a softmax.

    Raises:
        FileNotFoundError: a missing image file (without ``skipped``, or when
            every file is missing: checked before the model is loaded).
        ValueError: a file that is not a usable image (``BadImageError``,
            naming the file; without ``skipped``), ``top_k < 1`` or an unknown
            ``tta``.
    """
    if isinstance(images, (str, os.PathLike)):
        images = [images]
    images = list(images)
    if not isinstance(top_k, int) or top_k < 1:
        raise ValueError(f"top_k must be a positive int; received {top_k!r}")
    check_tta(tta)
    missing = [path for path in images if not os.path.isfile(path)]
    if missing and (skipped is None or len(missing) == len(images)):
        raise FileNotFoundError(f"No image file at {os.fspath(missing[0])!r}.")  # model unread
    trained = load_trained(ref, root=root)
    batch, kept = [], []
    for i, path in enumerate(images):
        try:
            batch.append(_prepared(trained, path, max_pixels))
            kept.append(i)
        except (ValueError, OSError) as err:
            if skipped is None:
                raise
            skipped.append((os.fspath(path), str(err)))
    results: list = [None] * len(images)
    if not batch:
        return results

    def predict_fn(x):
        return trained.model.predict(x, verbose=0)

    probs = tta_probabilities(predict_fn, np.stack(batch), trained.config, tta)
    k = min(top_k, probs.shape[-1])
    for i, row in zip(kept, probs, strict=True):
        order = np.argsort(-row, kind="stable")[:k]
        results[i] = [(trained.class_names[j], float(row[j])) for j in order]
    return results


def _prepared(trained, path, max_pixels) -> np.ndarray:
    """One image file decoded and preprocessed for ``trained``; errors name the file."""
    return trained.preprocessing(decoded(trained, path, max_pixels)[None])[0]


def decoded(trained, path, max_pixels: int | None = None) -> np.ndarray:
    """One image file's raw pixels (H, W, C), in the channels and size ``trained`` takes.

    Raises:
        FileNotFoundError, ValueError (``BadImageError``): naming the file.
    """
    from zoo.data.images import DEFAULT_MAX_PIXELS, BadImageError, decode_image

    name = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No image file at {name!r}.")
    with open(path, "rb") as fh:
        raw = fh.read()
    limit = max_pixels or DEFAULT_MAX_PIXELS
    try:
        pixels = decode_image(raw, max_pixels=limit)
        size, channels = trained.raw_format(pixels.shape)
        if size is not None or channels is not None:
            pixels = decode_image(raw, channels=channels, image_size=size, max_pixels=limit)
    except BadImageError as err:
        raise BadImageError(f"{name}: {err}") from None
    return pixels
