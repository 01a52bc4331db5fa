"""Decode one image file (PNG, JPEG, TIFF, EXR) to the `Clip` pixel contract.

PNG/JPEG/TIFF go through OpenCV (``IMREAD_UNCHANGED`` keeps 16-bit and float
samples); EXR through `core.media.exr`. Files are read into memory first and decoded
with ``cv2.imdecode`` because ``cv2.imread`` cannot open non-ASCII paths on Windows
and returns None without saying why.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from core.errors import InputError
from core.media.exr import read_exr

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr"})


@dataclass(frozen=True)
class Image:
    """A decoded image: float32 ``(H, W, 3)`` pixels and how they were stored."""

    pixels: np.ndarray
    bit_depth: int
    is_float: bool


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True if the extension is one `read_image` decodes."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def read_image(path: str | os.PathLike[str], label: str | None = None) -> Image:
    """Decode an image file. ``label`` names it in error messages (default: the path).

    Raises `InputError` for a missing file, an unsupported extension, or data that
    does not decode.
    """
    path = os.fspath(path)
    name = label or path
    ext = os.path.splitext(path)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        raise InputError(f"{name}: unsupported image extension {ext or '(none)'!r}")
    if not os.path.isfile(path):
        raise InputError(f"{name}: no such file")
    if ext == ".exr":
        pixels, is_half = read_exr(path, name)
        return Image(pixels, 16 if is_half else 32, True)

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if decoded is None:
        raise InputError(
            f"{name}: cannot decode image (corrupt or not a {ext[1:].upper()} file)"
        )
    return _normalise(decoded, name)


def _normalise(decoded: np.ndarray, name: str) -> Image:
    """OpenCV's BGR(A)/grey integer-or-float array -> `Image` (RGB float32)."""
    if decoded.ndim == 2:
        decoded = decoded[:, :, None]
    channels = decoded.shape[2]
    if channels in (1, 2):  # grey, grey + alpha
        rgb = np.repeat(decoded[:, :, :1], 3, axis=2)
    elif channels in (3, 4):
        rgb = decoded[:, :, 2::-1]  # BGR(A) -> RGB, alpha dropped
    else:
        raise InputError(f"{name}: unsupported channel count {channels}")

    kind = rgb.dtype
    if kind == np.uint8:
        return Image(_scaled(rgb, 255.0), 8, False)
    if kind == np.uint16:
        return Image(_scaled(rgb, 65535.0), 16, False)
    if kind in (np.float32, np.float64, np.float16):
        return Image(
            np.ascontiguousarray(rgb, dtype=np.float32),
            32 if kind != np.float16 else 16,
            True,
        )
    raise InputError(
        f"{name}: unsupported sample type {kind} (use 8/16-bit integer or float)"
    )


def _scaled(rgb: np.ndarray, peak: float) -> np.ndarray:
    # Divide (not multiply by 1/peak) so that code values map exactly: peak -> 1.0.
    out = rgb.astype(np.float32)
    out /= np.float32(peak)
    return out
