"""Reading PyTorch weight files as NumPy: torchvision ``.pth`` state dicts and timm safetensors.

Both give ``{key: np.ndarray}`` in torch layout (conv kernels ``(out, in, h, w)``, dense
kernels ``(out, in)``), the keys as the publisher wrote them:

- ``.pth`` / ``.pt`` / ``.bin`` (torchvision's ``resnet50-11ad3fa6.pth``...): read with
  ``torch.load(path, map_location="cpu", weights_only=True)`` (no pickled code runs); needs
  torch (``pip install 'keras-zoo[bench]'``);
- ``.safetensors`` (timm's ``model.safetensors``, e.g. ``resnet50.tv_in1k``): read with the
  ``safetensors`` package's NumPy API, without torch.

`cached_torch_file` finds a publisher's file in Keras' cache (``$KERAS_HOME/models``) or
downloads it there with ``keras.utils.get_file``; torchvision's file names carry the first
hex digits of the file's sha256 (``resnet18-f37072fd.pth``), checked here on every use.
Every failure is one line naming the file (`WeightFileError`).
"""

from __future__ import annotations

import os
import sys

import numpy as np

from zoo.errors import FileFormatError
from zoo.saved_models import sha256_file
from zoo.weights import MissingWeightsError, WeightsError

__all__ = [
    "SAFETENSORS_SUFFIXES",
    "TORCH_SUFFIXES",
    "WeightFileError",
    "cached_torch_file",
    "check_sha256_prefix",
    "is_torch_weights_file",
    "read_state_dict",
]

TORCH_SUFFIXES = (".pth", ".pt", ".bin")
SAFETENSORS_SUFFIXES = (".safetensors",)


class WeightFileError(FileFormatError, WeightsError):
    """A PyTorch / safetensors weights file that cannot be used; ``path`` names it."""


def is_torch_weights_file(path) -> bool:
    """Whether ``path``'s suffix is a PyTorch or safetensors weights file's."""
    return os.fspath(path).lower().endswith(TORCH_SUFFIXES + SAFETENSORS_SUFFIXES)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0][:200] if text else type(err).__name__


def read_state_dict(path) -> dict[str, np.ndarray]:
    """The state dict in ``path`` (``.pth``/``.pt``/``.bin`` or ``.safetensors``) as NumPy arrays.

    Raises:
        WeightFileError: naming ``path``: missing, of another suffix, corrupted, truncated,
            not a state dict, or a ``.pth`` file without torch installed.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise WeightFileError(path, "does not exist or is not a file.")
    lower = path.lower()
    if lower.endswith(SAFETENSORS_SUFFIXES):
        state = _read_safetensors(path)
    elif lower.endswith(TORCH_SUFFIXES):
        state = _read_pth(path)
    else:
        raise WeightFileError(
            path, "is not a PyTorch ('.pth', '.pt', '.bin') or '.safetensors' weights file."
        )
    if not state:
        raise WeightFileError(path, "holds no tensors: not a model's state dict.")
    return state


def _read_safetensors(path: str) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        state = load_file(path)
    except Exception as err:  # noqa: BLE001 (safetensors raises its own SafetensorError)
        raise WeightFileError(
            path,
            f"cannot be read as a safetensors file (corrupted or truncated? {_first_line(err)}); "
            f"delete it and download it again.",
        ) from None
    return {k: _float32(v) for k, v in state.items()}


def _float32(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a.astype(np.float32) if a.dtype.kind == "f" and a.dtype != np.float32 else a


def _read_pth(path: str) -> dict[str, np.ndarray]:
    if "tensorflow" in sys.modules:
        # torch imports triton (its GPU compiler) when installed, and triton loaded into a
        # process that holds TensorFlow segfaults it (torch 2.14); reading a state dict needs
        # no triton, and torch treats a failed import as "not installed".
        sys.modules.setdefault("triton", None)
    try:
        import torch
    except ImportError:
        raise WeightFileError(
            path,
            "is a PyTorch checkpoint; reading it needs torch, which is not installed "
            "(pip install 'keras-zoo[bench]'), or use the same weights as safetensors "
            "(timm's model.safetensors, e.g. resnet50.tv_in1k), which need no torch.",
        ) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (pickle, zip and torch errors alike)
        raise WeightFileError(
            path,
            f"cannot be read as a PyTorch state dict (corrupted or truncated? "
            f"{_first_line(err)}); delete it and download it again.",
        ) from None
    for wrapper in ("state_dict", "model"):  # training checkpoints wrap the state dict
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    if not isinstance(obj, dict):
        raise WeightFileError(path, f"holds a {type(obj).__name__}, not a state dict.")
    state = {}
    for key, value in obj.items():
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            value = value.float() if value.is_floating_point() else value
            state[str(key).removeprefix("module.")] = value.numpy()
    return state


def check_sha256_prefix(path: str, prefix: str, url: str) -> None:
    """Raises `WeightFileError` naming ``path`` unless its sha256 starts with ``prefix``."""
    got = sha256_file(path)
    if not got.startswith(prefix.lower()):
        raise WeightFileError(
            path,
            f"does not have the publisher's hash (its sha256 starts with {got[: len(prefix)]}, "
            f"expected {prefix}): a damaged or different file. Delete it and download {url} "
            f"again.",
        )


def cached_torch_file(fname: str, url: str, sha256_prefix: str, what: str) -> str:
    """``$KERAS_HOME/models/<fname>``, downloaded by ``keras.utils.get_file`` if absent.

    The file's sha256 must start with ``sha256_prefix`` (checked on a cache hit and after a
    download). ``what`` names the weights in the offline error.

    Raises:
        WeightFileError: the file's hash differs (names the file).
        MissingWeightsError: the download failed; names the file, its URL and where to put it.
    """
    import keras

    from zoo.keras_applications import keras_home

    path = os.path.join(keras_home(), "models", fname)
    if not os.path.isfile(path):
        try:
            path = keras.utils.get_file(fname, url, cache_subdir="models", cache_dir=keras_home())
        except Exception as err:  # noqa: BLE001 (Keras raises a bare Exception when offline)
            raise MissingWeightsError(
                f"The {what} could not be downloaded ({_first_line(err)}). Missing file: "
                f"{fname}. Download it from {url} on a machine with internet access and put it "
                f"at {path} (Keras' cache, $KERAS_HOME/models; KERAS_HOME defaults to "
                f"~/.keras), or pass its path as weights=.",
                fname=fname,
                path=path,
                origin=url,
            ) from None
    check_sha256_prefix(path, sha256_prefix, url)
    return path
