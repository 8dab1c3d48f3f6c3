"""Input preprocessing that travels with a model: scaling, padding, channels.

Data sets hold raw ``uint8`` pixels; a model trained by the zoo records, in
its run and manifest, the preprocessing it expects, so ``evaluate``,
``predict`` and fine-tuning apply exactly the same transformation. Modes:

- ``"scale"``: ``x * scale + offset`` (default ``x / 255``).
- ``"caffe"``, ``"torch"``, ``"tf"``: the ``keras.applications``
  conventions (``imagenet_utils.preprocess_input``), for pretrained
  keras.applications backbones and the zoo's ImageNet weights (`zoo.bridge`);
  a 1-channel input gets the mean of the RGB statistics.
- ``"none"``: the pixels as float32.

``pad_to`` zero-pads smaller images centrally (LeCun et al. 1998 pad the
28x28 MNIST digits to LeNet-5's 32x32); ``channels`` repeats a single
channel to 3 (grayscale data on an RGB backbone) or averages 3 to 1.
"""

from __future__ import annotations

import dataclasses
import operator

import numpy as np

MODES = ("scale", "caffe", "torch", "tf", "none")
_IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype="float32")
_IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype="float32")
_CAFFE_MEAN_BGR = np.array([103.939, 116.779, 123.68], dtype="float32")


#: Largest ``pad_to`` side accepted (a run.json or manifest is read, not trusted).
MAX_PAD_SIDE = 4096


def _checked_pad_to(pad_to) -> tuple:
    """``pad_to`` as ``(height, width)`` ints in 1..`MAX_PAD_SIDE`; ValueError otherwise."""
    try:
        sides = tuple(operator.index(d) for d in pad_to if not isinstance(d, bool))
        ok = len(sides) == 2 == len(pad_to) and all(1 <= d <= MAX_PAD_SIDE for d in sides)
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(
            f"preprocessing.pad_to {pad_to!r} is not (height, width) with sides from 1 to "
            f"{MAX_PAD_SIDE}."
        )
    return sides


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """How raw ``uint8`` NHWC pixels become a model's input.

    Attributes:
        mode: one of ``MODES``.
        scale: multiplier for ``"scale"`` mode.
        offset: added after scaling in ``"scale"`` mode.
        pad_to: ``(height, width)`` to zero-pad smaller images to, or None.
        channels: channel count the model takes (1 or 3 converted), or None.
    """

    mode: str = "scale"
    scale: float = 1.0 / 255.0
    offset: float = 0.0
    pad_to: tuple | None = None
    channels: int | None = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"Unknown preprocessing mode {self.mode!r}; expected one of {MODES}.")
        if self.pad_to is not None:
            object.__setattr__(self, "pad_to", _checked_pad_to(self.pad_to))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["pad_to"] = list(self.pad_to) if self.pad_to else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Preprocessing:
        return cls(**d)

    def output_shape(self, input_shape) -> tuple:
        """The model input shape for data of ``input_shape`` (H, W, C)."""
        h, w, c = input_shape
        if self.pad_to:
            h, w = max(h, self.pad_to[0]), max(w, self.pad_to[1])
        return (h, w, self.channels or c)

    def __call__(self, x) -> np.ndarray:
        """Applies the preprocessing to a NHWC batch; returns float32."""
        x = np.asarray(x)
        if x.ndim == 3:
            x = x[..., None]
        x = x.astype("float32", copy=False)
        x = self._channels(x)
        x = self._pad(x)
        if self.mode == "scale":
            return x * np.float32(self.scale) + np.float32(self.offset)
        if self.mode == "tf":
            return x / np.float32(127.5) - 1.0
        c = x.shape[-1]
        if self.mode == "torch":
            return (x / np.float32(255.0) - _per_channel(_IMAGENET_MEAN, c)) / _per_channel(
                _IMAGENET_STD, c
            )
        if self.mode == "caffe":
            return x[..., ::-1] - _per_channel(_CAFFE_MEAN_BGR, c)
        return x

    def _channels(self, x):
        want = self.channels
        have = x.shape[-1]
        if not want or want == have:
            return x
        if have == 1 and want == 3:
            return np.repeat(x, 3, axis=-1)
        if have == 3 and want == 1:
            return x.mean(axis=-1, keepdims=True)
        raise ValueError(f"Cannot convert {have}-channel images to {want} channels.")

    def _pad(self, x):
        if not self.pad_to:
            return x
        h, w = x.shape[1:3]
        ph, pw = max(0, self.pad_to[0] - h), max(0, self.pad_to[1] - w)
        if not (ph or pw):
            return x
        return np.pad(x, ((0, 0), (ph // 2, ph - ph // 2), (pw // 2, pw - pw // 2), (0, 0)))


def _per_channel(values: np.ndarray, channels: int) -> np.ndarray:
    """RGB statistics for ``channels`` input channels: 3 as they are; 1 (grayscale into a
    first conv summed over RGB, `zoo.bridge.torch_map.adapt_input_conv`) their mean; other
    counts repeated R, G, B, R..."""
    if channels == 3:
        return values
    if channels == 1:
        return values.mean(keepdims=True)
    return np.resize(values, channels)


def for_model(
    data_shape, model_min_shape, model_channels=None, mode: str = "scale"
) -> Preprocessing:
    """The default preprocessing for data of ``data_shape`` fed to a model.

    Pads up to the model's minimum input (as LeCun padded MNIST to 32x32) and
    converts channels when the model fixes them.
    """
    h, w = data_shape[:2]
    mh, mw = model_min_shape[:2]
    pad = (max(h, mh), max(w, mw)) if (h < mh or w < mw) else None
    channels = model_channels if model_channels and model_channels != data_shape[-1] else None
    return Preprocessing(mode=mode, pad_to=pad, channels=channels)
