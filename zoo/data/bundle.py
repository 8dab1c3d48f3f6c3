"""`DataBundle`: a loaded data set's splits, class names and fingerprint.

Imports NumPy-free pieces only (`zoo.data.splits`, `zoo.data.screen_report`);
`zoo.data.sources` and `zoo.data.folders` build bundles.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from zoo.data.screen_report import DataError, ScreenReport
from zoo.data.splits import SPLITS, split_name

__all__ = ["DataBundle"]


@dataclasses.dataclass(frozen=True, eq=False)
class DataBundle:
    """A loaded data set: splits, class names and what identifies it.

    Each of ``train``, ``val`` and ``test`` is None, an in-memory pair
    ``(x, y)`` (``x`` NHWC ``uint8`` 0..255, or ``float32`` when the source
    was float; ``y`` ``int32``), or a streaming `keras.utils.PyDataset`
    yielding such batches.

    Attributes:
        train: training split.
        val: validation split (given, or carved from train with the seed).
        test: test split.
        class_names: class names; index = label (sorted folder names).
        input_shape: ``(height, width, channels)``.
        source: what was loaded, in words.
        fingerprint: sha256 over the data's content and the options that
            shaped it (split, seed, size, channels); a resumed training run
            can refuse data whose fingerprint changed.
        batch_size: default batch size for `as_fit_args`.
        screen_report: the `ScreenReport` for folders, else None.
    """

    train: Any
    val: Any
    test: Any
    class_names: tuple[str, ...]
    input_shape: tuple[int, int, int]
    source: str
    fingerprint: str
    batch_size: int = 32
    screen_report: ScreenReport | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def get(self, split: str):
        """The data of one split: ``"train"``, ``"val"``/``"validation"``, ``"test"``."""
        return getattr(self, split_name(split))

    def num_examples(self, split: str) -> int:
        """Number of examples in a split (0 when absent)."""
        data = self.get(split)
        if data is None:
            return 0
        if isinstance(data, tuple):
            return len(data[1])
        return len(data.paths)

    def as_fit_args(
        self,
        split: str = "train",
        *,
        batch_size: int | None = None,
        shuffle: bool | None = None,
    ) -> dict:
        """Keyword arguments for ``model.fit`` (or ``evaluate``) on one split.

        In memory: ``{"x": x, "y": y, "batch_size": ...}``, plus ``shuffle``
        for the train split or when given. Streaming: ``{"x": dataset}``
        (the dataset batches and shuffles itself).

        Args:
            split: ``"train"``, ``"val"`` or ``"test"``. Defaults to train.
            batch_size: defaults to the bundle's ``batch_size``.
            shuffle: defaults to True for train, else not passed.

        Returns:
            A dict to unpack into ``fit``/``evaluate``.

        Raises:
            DataError: when the split is absent.
        """
        data = self.get(split)
        if data is None:
            raise DataError(
                f"{self.source} has no {split_name(split)!r} split; present: "
                f"{[s for s in SPLITS if self.get(s) is not None]}"
            )
        batch_size = int(batch_size or self.batch_size)
        if shuffle is None and split_name(split) == "train":
            shuffle = True
        if isinstance(data, tuple):
            args = {"x": data[0], "y": data[1], "batch_size": batch_size}
            if shuffle is not None:
                args["shuffle"] = bool(shuffle)
            return args
        changes = {}
        if batch_size != data.batch_size:
            changes["batch_size"] = batch_size
        if shuffle is not None and bool(shuffle) != data.shuffle:
            changes["shuffle"] = bool(shuffle)
        return {"x": data.replace(**changes) if changes else data}

    def fit_kwargs(self, *, batch_size: int | None = None, shuffle: bool = True) -> dict:
        """`as_fit_args` for train plus ``validation_data`` when there is a val split.

        Example:

        >>> bundle = load("mnist-sample")  # doctest: +SKIP
        >>> model.fit(**bundle.fit_kwargs(), epochs=2)  # doctest: +SKIP
        """
        args = self.as_fit_args("train", batch_size=batch_size, shuffle=shuffle)
        if self.val is not None:
            val = self.as_fit_args("val", batch_size=batch_size)
            args["validation_data"] = (val["x"], val["y"]) if "y" in val else val["x"]
        return args

    def __repr__(self) -> str:
        sizes = ", ".join(
            f"{s}={self.num_examples(s)}{'' if isinstance(self.get(s), tuple) else ' (streaming)'}"
            for s in SPLITS
            if self.get(s) is not None
        )
        return (
            f"DataBundle(source={self.source!r}, num_classes={self.num_classes}, "
            f"input_shape={self.input_shape}, {sizes}, "
            f"fingerprint={self.fingerprint[:12]}...)"
        )
