"""Atomic frame writers: PNG (8/16-bit), TIFF (8/16-bit, 32-bit float), EXR (half/float).

Atomicity (`core.output.atomic_path`): the image is written to a hidden temporary file
in the destination folder, flushed, then renamed over the final name. A process killed
mid-write leaves at most a ``.<name>.tmp-*`` file, never a truncated frame under the
final name, which is what lets the render daemon resume by trusting every frame file
that exists.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Literal

import cv2
import numpy as np

from segue.core.errors import InputError
from segue.core.media.exr import write_exr
from segue.core.output import atomic_path

Format = Literal["png", "exr", "tiff"]
# Allowed bit depths per format; the first one is the default.
BIT_DEPTHS: dict[str, tuple[int, ...]] = {
    "png": (8, 16),
    "tiff": (16, 8, 32),
    "exr": (16, 32),
}
_EXTENSIONS = {"png": ".png", "tiff": ".tif", "exr": ".exr"}
_TIFF_ADOBE_DEFLATE = 8  # libtiff's COMPRESSION_ADOBE_DEFLATE


def write_frame(
    path: str | os.PathLike[str],
    image: np.ndarray,
    fmt: Format,
    bit_depth: int | None = None,
    before_replace: Callable[[str], None] | None = None,
) -> None:
    """Write float32 ``(H, W, 3)`` RGB to ``path`` atomically.

    Args:
        path: destination file; its folder must exist. The extension is not checked
            against ``fmt``.
        image: pixel values in the output encoding (already converted by
            `core.color`). Integer formats clip to [0, 1] and round to the nearest
            code value (NaN becomes 0); float formats store values as they are.
        fmt: ``"png"``, ``"tiff"`` or ``"exr"``.
        bit_depth: png 8 (default) or 16; tiff 16 (default), 8 or 32 (float);
            exr 16 (half, default) or 32 (float).
        before_replace: called with the finished temporary file before it is renamed
            to ``path`` (see `core.output.atomic_path`).

    Raises:
        InputError: unknown format or bit depth for the format; folder missing.
        ValueError: ``image`` is not ``(H, W, 3)``.
    """
    path = os.fspath(path)
    if fmt not in BIT_DEPTHS:
        raise InputError(
            f"{path}: unknown output format {fmt!r} (choose png, tiff or exr)"
        )
    depth = BIT_DEPTHS[fmt][0] if bit_depth is None else bit_depth
    if depth not in BIT_DEPTHS[fmt]:
        allowed = ", ".join(str(d) for d in sorted(BIT_DEPTHS[fmt]))
        raise InputError(
            f"{path}: {fmt} cannot be written at {depth} bits (choose {allowed})"
        )
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) image, got shape {image.shape}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise InputError(f"{path}: output folder {folder} does not exist")

    with atomic_path(path, suffix=_EXTENSIONS[fmt], before_replace=before_replace) as tmp:
        if fmt == "exr":
            write_exr(tmp, image.astype(np.float32, copy=False), half=depth == 16)
        else:
            with open(tmp, "wb") as f:
                f.write(_encode(image, fmt, depth, path))


def _encode(image: np.ndarray, fmt: str, depth: int, path: str) -> bytes:
    """PNG/TIFF bytes via OpenCV, which wants BGR order."""
    if depth == 32:
        pixels = np.ascontiguousarray(image[:, :, ::-1], dtype=np.float32)
    else:
        peak = 255.0 if depth == 8 else 65535.0
        # cvtColor makes the BGR copy the rest then works on in place (a third faster
        # at 1080p than numpy's reversed view, same values).
        scaled = cv2.cvtColor(np.ascontiguousarray(image, dtype=np.float32), cv2.COLOR_RGB2BGR)
        np.nan_to_num(scaled, copy=False, nan=0.0, posinf=1.0, neginf=0.0)
        np.clip(scaled, 0.0, 1.0, out=scaled)
        scaled *= np.float32(peak)
        np.rint(scaled, out=scaled)
        pixels = scaled.astype(np.uint8 if depth == 8 else np.uint16)
    params: list[int] = []
    if fmt == "tiff" and depth == 32:
        # OpenCV 4.x defaults float TIFF to SGILOG (LogLuv) compression, which is
        # lossy (~1% error); Deflate is lossless and read by every TIFF reader.
        params = [cv2.IMWRITE_TIFF_COMPRESSION, _TIFF_ADOBE_DEFLATE]
    ok, buf = cv2.imencode(_EXTENSIONS[fmt], pixels, params)
    if not ok:  # pragma: no cover - OpenCV fails only on unsupported dtype/format pairs
        raise RuntimeError(f"{path}: OpenCV could not encode a {depth}-bit {fmt}")
    return buf.tobytes()
