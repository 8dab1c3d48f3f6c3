"""Array sources: reading ``.npz`` files, checking and converting NHWC arrays."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from zoo.data.screen_report import DataError

__all__ = ["check_labels", "check_pair", "read_npz", "transform_images"]

#: Without ``class_names``, labels may leave at most this many class ids unused
#: (and at most half of them) before they are taken for a mistake (0-9 plus a 42,
#: or labels x1000), not silently made a 43- or 9001-class problem.
MAX_UNUSED_CLASS_IDS = 8

_NPZ_KEYS = {
    "train": (("x_train", "y_train"), ("x", "y")),
    "val": (("x_val", "y_val"), ("x_validation", "y_validation"), ("x_valid", "y_valid")),
    "test": (("x_test", "y_test"),),
}


def read_npz(path: Path) -> tuple[dict, list[str] | None]:
    """Reads split arrays and optional class names from a ``.npz`` file.

    Every member's inflated size is checked first (`zoo.saving.check_zip_members`:
    at most 4 GiB, ``$ZOO_MAX_MEMBER_BYTES`` to change it), so a zip bomb is
    refused before it is read.
    """
    from zoo.errors import FileFormatError
    from zoo.saving import check_zip_members

    try:
        if zipfile.is_zipfile(path):
            check_zip_members(path)
    except FileFormatError as error:
        raise DataError(str(error)) from None
    try:
        with np.load(path, allow_pickle=False) as archive:
            contents = {key: archive[key] for key in archive.files}
    except ValueError as error:
        raise DataError(
            f"Cannot read {path} without pickle ({error}); save plain numeric "
            f"arrays and class_names as a string array."
        ) from None
    except (OSError, EOFError, zipfile.BadZipFile) as error:
        raise DataError(
            f"Cannot read {path} as .npz ({type(error).__name__}: {error}); the file is "
            "truncated or corrupted."
        ) from None
    arrays = {}
    for split, candidates in _NPZ_KEYS.items():
        for x_key, y_key in candidates:
            if x_key in contents:
                if y_key not in contents:
                    raise DataError(f"{path} has {x_key!r} but no {y_key!r}")
                arrays[split] = (contents[x_key], contents[y_key])
                break
    if "train" not in arrays and "test" not in arrays:
        raise DataError(
            f"{path} has none of x_train/y_train, x/y, x_test/y_test; "
            f"found arrays: {sorted(contents)}"
        )
    names = contents.get("class_names")
    return arrays, None if names is None else [str(n) for n in names.tolist()]


def check_pair(split, x, y, source) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    where = f"{source}, {split} split"
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise DataError(
            f"{where}: x must be (N, H, W) or (N, H, W, C) with C in 1, 3, 4; "
            f"received shape {x.shape}"
        )
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    elif y.ndim == 2:
        y = _one_hot_labels(y, where)
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(
            f"{where}: y must hold one label per image; x has {len(x)} images, "
            f"y has shape {y.shape}"
        )
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
            raise DataError(f"{where}: labels must be whole numbers")
    elif y.dtype.kind not in "iub":
        raise DataError(f"{where}: labels must be integers; received dtype {y.dtype}")
    y = y.astype(np.int32)
    if len(y) and y.min() < 0:
        raise DataError(f"{where}: negative label {int(y.min())}")
    if x.dtype.kind == "f":
        if not np.all(np.isfinite(x)):
            raise DataError(f"{where}: x contains NaN or Inf")
        x = x.astype(np.float32, copy=False)
    elif x.dtype != np.uint8:
        if x.dtype.kind not in "iub" or (x.size and (x.min() < 0 or x.max() > 255)):
            raise DataError(f"{where}: integer images must be in 0..255; received dtype {x.dtype}")
        x = x.astype(np.uint8)
    return x, y


def _one_hot_labels(y: np.ndarray, where: str) -> np.ndarray:
    """The class index of each one-hot row; a row that is not one-hot is an error."""
    if y.dtype.kind not in "iubf":
        raise DataError(f"{where}: one-hot labels must be numbers; received dtype {y.dtype}")
    bad = ~(np.isin(y, (0, 1)).all(axis=1) & (y.sum(axis=1) == 1))
    if bad.any():
        row = int(np.argmax(bad))
        raise DataError(
            f"{where}: label rows must be one-hot (a single 1, the rest 0); "
            f"{int(bad.sum())} row(s) are not, first row {row}: {y[row].tolist()[:20]}"
        )
    return y.argmax(axis=1)


def check_labels(labels: list[np.ndarray], class_names, source: str) -> list[str]:
    """The class names, checked against the labels of every split.

    Args:
        labels: the integer label arrays (`check_pair`'s) of all splits.
        class_names: the names the file declares, or None.
        source: the data, named in errors.

    Returns:
        ``class_names``, or ``"0" .. "N-1"`` when the file declares none.

    Raises:
        DataError: no examples; a label beyond the declared classes; without
            ``class_names``, labels that leave many class ids unused (an
            outlier such as one 42 among 0-9, or scaled labels), naming them.
    """
    used = np.unique(np.concatenate([np.asarray(y).ravel() for y in labels] or [[]])).astype(int)
    if not len(used):
        raise DataError(f"{source}: holds no examples")
    top = int(used[-1])
    if class_names is not None and top >= len(class_names):
        beyond = used[used >= len(class_names)].tolist()
        raise DataError(
            f"{source}: label(s) {beyond[:10]} beyond the class count {len(class_names)} "
            f"(class_names={list(class_names)[:10]})"
        )
    if class_names is None:
        unused = top + 1 - len(used)
        if unused > MAX_UNUSED_CLASS_IDS and unused > len(used):
            gap = int(np.argmax(np.arange(len(used)) != used))  # the first id never used
            odd = used[used > gap].tolist()
            raise DataError(
                f"{source}: labels {used[:12].tolist()} use {len(used)} of the {top + 1} class "
                f"ids 0..{top}; the labels {odd[:10]} look wrong (class {gap} never occurs). "
                "Fix them, or store class_names in the file to declare the classes."
            )
        class_names = [str(i) for i in range(top + 1)]
    return list(class_names)


def transform_images(x: np.ndarray, image_size, channels) -> np.ndarray:
    """Converts channels (1 <-> 3, drops alpha) and resizes (bilinear) an NHWC array."""
    if channels is not None and x.shape[-1] != channels:
        if x.shape[-1] == 4:
            x = x[..., :3]
        if channels == 3 and x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        elif channels == 1 and x.shape[-1] == 3:
            gray = x.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            gray = gray[..., None]
            x = np.clip(np.rint(gray), 0, 255).astype(np.uint8) if x.dtype == np.uint8 else gray
    if image_size is not None and tuple(x.shape[1:3]) != tuple(image_size):
        x = _resize(x, image_size)
    return x


def _resize(x: np.ndarray, image_size) -> np.ndarray:
    from PIL import Image

    height, width = image_size
    out = np.empty((len(x), height, width, x.shape[-1]), dtype=np.float32)
    for i in range(len(x)):
        for c in range(x.shape[-1]):
            plane = Image.fromarray(x[i, :, :, c].astype(np.float32), mode="F")
            out[i, :, :, c] = np.asarray(plane.resize((width, height), Image.Resampling.BILINEAR))
    if x.dtype == np.uint8:
        return np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out
