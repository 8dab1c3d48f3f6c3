"""Features of a data set's split through a backbone, saved as ``.npy``."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from zoo.training.preprocess import Preprocessing
from zoo.transfer.backbone import load_backbone


@dataclasses.dataclass
class Embeddings:
    """Features of one split: ``features`` (N, D) float32, ``labels`` (N,) int32."""

    features: Any
    labels: Any
    class_names: tuple
    split: str
    backbone: str

    def save(self, folder) -> dict[str, str]:
        """Writes ``features_<split>.npy``, ``labels_<split>.npy`` and ``class_names.json``.

        Returns:
            ``{"features": path, "labels": path, "class_names": path}``.
        """
        import numpy as np

        from zoo.saving import atomic_write

        folder = os.fspath(folder)
        os.makedirs(folder, exist_ok=True)
        paths = {
            "features": os.path.join(folder, f"features_{self.split}.npy"),
            "labels": os.path.join(folder, f"labels_{self.split}.npy"),
            "class_names": os.path.join(folder, "class_names.json"),
        }

        def npy(array):
            def write(tmp):
                with open(tmp, "wb") as fh:
                    np.save(fh, array, allow_pickle=False)

            return write

        atomic_write(paths["features"], npy(self.features), suffix=".npy")
        atomic_write(paths["labels"], npy(self.labels), suffix=".npy")
        text = json.dumps(
            {"class_names": list(self.class_names), "backbone": self.backbone}, indent=2
        )

        def write_json(tmp):
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")

        atomic_write(paths["class_names"], write_json, suffix=".json")
        return paths


def embed(
    backbone,
    data,
    *,
    split: str = "train",
    weights="default",
    batch_size: int = 64,
    model_kwargs: dict | None = None,
    preprocessing: Preprocessing | None = None,
    root=None,
) -> Embeddings:
    """Computes the features a backbone gives one split of a data set.

    Args:
        backbone: see `load_backbone` (a fine-tuned ``.keras`` model gives
            the features its classifier sees).
        data: folder, ``.npz``, ``"tfds:NAME"``, ``"mnist-sample"`` or a
            ``DataBundle``.
        split: ``"train"``, ``"val"`` or ``"test"``.
        weights: see `load_backbone`.
        batch_size: inference batch size.
        model_kwargs: backbone builder arguments.
        preprocessing: overrides the backbone's preprocessing.
        root: saved-models folder.

    Returns:
        `Embeddings` (features globally average-pooled when spatial).
    """
    import numpy as np

    from zoo import data as data_lib

    if isinstance(data, data_lib.DataBundle):
        bundle = data
    else:
        bundle = data_lib.load(
            data, batch_size=batch_size, validation_split=0.0 if split == "train" else 0.1
        )
    part = bundle.get(split)
    if part is None:
        raise ValueError(f"{bundle.source} has no {split!r} split.")
    bb = load_backbone(backbone, bundle.input_shape, weights=weights, model_kwargs=model_kwargs,
                       preprocessing=preprocessing, root=root)  # fmt: skip
    batches = [part] if isinstance(part, tuple) else (part[i] for i in range(len(part)))
    feats, labels = [], []
    for x, y in batches:
        for start in range(0, len(y), batch_size):
            out = np.asarray(
                bb.model.predict_on_batch(bb.preprocessing(x[start : start + batch_size]))
            )
            if out.ndim > 2:
                out = out.reshape(out.shape[0], -1, out.shape[-1]).mean(axis=1)
            feats.append(out.astype("float32"))
        labels.append(np.asarray(y).reshape(-1).astype("int32"))
    return Embeddings(
        np.concatenate(feats), np.concatenate(labels), tuple(bundle.class_names), split, bb.name
    )
