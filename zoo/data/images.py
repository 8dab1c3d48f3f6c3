"""Decoding one image file into a NumPy array, safely.

Everything that opens an image in ``zoo.data`` goes through `open_image`, so
the checks are the same at screening time and at training time: the pixel
count is read from the header and refused *before* any pixel is decoded
(decompression bombs), the whole file is decoded (truncated files), and only
the formats in `SUPPORTED_FORMATS` are accepted.

Pixel values stay raw ``uint8`` in ``0..255``; models decide the scaling.
"""

from __future__ import annotations

import concurrent.futures
import io
import os
from collections.abc import Sequence

import numpy as np

__all__ = [
    "DEFAULT_MAX_PIXELS",
    "GRAY_MODES",
    "IMAGE_EXTENSIONS",
    "SUPPORTED_FORMATS",
    "BadImageError",
    "decode_image",
    "decode_many",
    "default_workers",
    "open_image",
    "to_array",
]

#: Largest ``width * height`` accepted; checked from the header before decoding.
DEFAULT_MAX_PIXELS = 40_000_000

#: File extensions considered images (lower case), as Keras' own loaders use.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff")

#: Pillow format names accepted, whatever the file is called.
SUPPORTED_FORMATS = frozenset({"PNG", "JPEG", "MPO", "BMP", "DIB", "GIF", "WEBP", "TIFF"})

#: Pillow modes decoded as one channel.
GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"})


class BadImageError(ValueError):
    """An image file that cannot be used; ``str(error)`` is the reason."""


def open_image(
    source,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    decode: bool = True,
    verify: bool = True,
):
    """Opens, checks and fully decodes one image.

    Args:
        source: a path, or the file's bytes.
        max_pixels: largest ``width * height`` accepted. Defaults to 40M.
        decode: when False, only the header is read and checked (format,
            pixel count); the returned image is then not loaded.
        verify: run Pillow's ``verify()`` (structure and checksums) before
            decoding. Screening does; decoding files already screened skips it.

    Returns:
        A loaded ``PIL.Image.Image`` (first frame for animations).

    Raises:
        BadImageError: with a one-line reason (not an image, unsupported
            format, too many pixels, corrupt or truncated).
    """
    from PIL import Image, UnidentifiedImageError

    data = source if isinstance(source, bytes) else _read(source)
    if not data:
        raise BadImageError("zero-byte file")
    try:
        image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise BadImageError("not an image (Pillow cannot identify the format)") from None
    except Image.DecompressionBombError as error:
        raise BadImageError(f"decompression bomb: {error}") from error
    except Exception as error:
        raise BadImageError(f"cannot open: {type(error).__name__}: {error}") from error
    if image.format not in SUPPORTED_FORMATS:
        raise BadImageError(
            f"unsupported format {image.format!r} "
            f"(supported: {', '.join(sorted(SUPPORTED_FORMATS))})"
        )
    width, height = image.size
    if width * height > max_pixels:
        raise BadImageError(
            f"decompression bomb: header declares {width}x{height} = "
            f"{width * height:,} pixels, above the cap of {max_pixels:,}"
        )
    if width < 1 or height < 1:
        raise BadImageError(f"empty image: {width}x{height}")
    if not decode:
        return image
    try:
        if verify:
            image.verify()  # structure and checksums; the object is unusable after
            image = Image.open(io.BytesIO(data))
        image.seek(0)
        image.load()  # full decode: catches truncated files
    except Exception as error:
        raise BadImageError(f"corrupt or truncated: {type(error).__name__}: {error}") from error
    return image


def to_array(
    image,
    *,
    channels: int | None = None,
    image_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Converts a loaded image to a ``uint8`` array of shape ``(H, W, C)``.

    Grayscale, 1-bit, 16-bit and float images become one channel (16-bit is
    scaled by 1/257 so 65535 maps to 255); palette, RGBA, CMYK and other
    color modes become RGB (alpha is dropped). Then the channel count is
    converted (1 <-> 3) when ``channels`` is given, and the image is resized
    with bilinear interpolation when ``image_size`` is given.

    Args:
        image: a loaded ``PIL.Image.Image``.
        channels: 1 or 3, or None to keep the image's natural count.
        image_size: target ``(height, width)``, or None to keep the size.

    Returns:
        A ``uint8`` NumPy array ``(H, W, C)``.

    Raises:
        BadImageError: when the mode cannot be converted.
    """
    from PIL import Image

    if channels is not None and channels not in (1, 3):
        raise ValueError(f"channels must be 1, 3 or None; received {channels!r}")
    try:
        image = _normalize_mode(image)
        if channels == 1 and image.mode != "L":
            image = image.convert("L")
        elif channels == 3 and image.mode != "RGB":
            image = image.convert("RGB")
        if image_size is not None:
            height, width = (int(v) for v in image_size)
            if image.size != (width, height):
                image = image.resize((width, height), Image.Resampling.BILINEAR)
    except Exception as error:
        raise BadImageError(f"cannot convert mode {image.mode!r}: {error}") from error
    array = np.asarray(image, dtype=np.uint8)
    if array.ndim == 2:
        array = array[:, :, None]
    return array


def decode_image(
    source,
    *,
    channels: int | None = None,
    image_size: Sequence[int] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    verify: bool = True,
) -> np.ndarray:
    """`open_image` then `to_array`: a path or bytes to ``uint8 (H, W, C)``."""
    image = open_image(source, max_pixels=max_pixels, verify=verify)
    return to_array(image, channels=channels, image_size=image_size)


def default_workers() -> int:
    """Threads used when ``workers`` is None: the cores this process may use, at most 8."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(8, cores))


def decode_many(
    paths: Sequence,
    *,
    channels: int,
    image_size: Sequence[int],
    max_pixels: int = DEFAULT_MAX_PIXELS,
    verify: bool = True,
    workers: int | None = None,
    progress=None,
) -> tuple[np.ndarray, list[str | None]]:
    """Decodes many files into one ``uint8 (N, H, W, C)`` array, in order.

    Files are decoded in chunks on ``workers`` threads (Pillow releases the GIL
    while it decodes and resizes); ``workers=1`` decodes serially in this
    thread. The result is the same array, byte for byte, either way.

    Args:
        paths: the files.
        channels: 1 or 3.
        image_size: ``(height, width)`` of every decoded image (resized if needed).
        max_pixels: largest ``width * height`` accepted.
        verify: run Pillow's ``verify()`` first (see `open_image`).
        workers: threads; None uses `default_workers`.
        progress: a `zoo.data.progress.Progress` to advance, or None.

    Returns:
        ``(x, errors)``: ``errors[i]`` is the reason file ``i`` failed (its row
        of ``x`` is then zero), else None.
    """
    x = np.zeros((len(paths), *image_size, channels), dtype=np.uint8)
    errors: list[str | None] = [None] * len(paths)

    def work(start: int, stop: int) -> int:
        for i in range(start, stop):
            try:
                x[i] = decode_image(
                    paths[i],
                    channels=channels,
                    image_size=image_size,
                    max_pixels=max_pixels,
                    verify=verify,
                )
            except BadImageError as error:
                errors[i] = str(error)
        return stop - start

    workers = workers or default_workers()
    chunk = 256
    spans = [(i, min(i + chunk, len(paths))) for i in range(0, len(paths), chunk)]
    if workers == 1 or len(spans) <= 1:
        done = (work(*span) for span in spans)
        for count in done:
            if progress is not None:
                progress.update(count)
        return x, errors
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(work, *span) for span in spans]
        for future in concurrent.futures.as_completed(futures):
            count = future.result()
            if progress is not None:
                progress.update(count)
    return x, errors


def _read(path) -> bytes:
    try:
        with open(os.fspath(path), "rb") as handle:
            return handle.read()
    except OSError as error:
        raise BadImageError(f"cannot read: {error.strerror or error}") from error


def _normalize_mode(image):
    """Returns the image in mode ``L`` or ``RGB``."""
    from PIL import Image

    mode = image.mode
    if mode in ("L", "RGB"):
        return image
    if mode == "1" or mode == "LA":
        return image.convert("L")
    if mode.startswith("I;16"):
        values = np.asarray(image, dtype=np.float64) / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        if values.size and values.max() > 255:
            values = values / 257.0
        return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8))
    if mode in ("P", "PA"):
        return image.convert("RGBA").convert("RGB")
    return image.convert("RGB")
