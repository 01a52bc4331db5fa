"""OpenEXR read/write through the ``OpenEXR`` (>= 3.3) Python bindings.

OpenCV can read EXR only behind an environment switch set before import, and not
half-float writes, so EXR has its own small module.

Channel choice when reading: the unprefixed ``R``, ``G``, ``B`` (or ``Y`` for grey)
of the first part. Anything else (layers only, no RGB) is an `InputError`: guessing
which AOV is the picture would silently give the wrong frames.
"""

from __future__ import annotations

import numpy as np

from core.errors import InputError


def read_exr(path: str, label: str | None = None) -> tuple[np.ndarray, bool]:
    """Read an EXR file; return ``(float32 (H, W, 3) RGB, is_half)``.

    Pixels outside the data window (EXR allows a data window smaller than the
    display window) are black; the returned size is the display window's.
    """
    import OpenEXR

    name = label or path
    try:
        exr = OpenEXR.File(path, separate_channels=True)
        header = exr.header()
        channels = exr.channels()
    except (RuntimeError, ValueError, OSError) as exc:  # what the bindings raise
        raise InputError(f"{name}: cannot read EXR ({_short(exc)})") from None

    if all(c in channels for c in "RGB"):
        planes = [channels[c].pixels for c in "RGB"]
    elif "Y" in channels:
        planes = [channels["Y"].pixels] * 3
    else:
        found = ", ".join(sorted(channels)) or "none"
        raise InputError(f"{name}: EXR has no R,G,B or Y channels (has: {found})")
    if any(np.asarray(p).dtype.kind != "f" for p in planes):
        raise InputError(f"{name}: EXR colour channels are not half or float")
    is_half = all(np.asarray(p).dtype == np.float16 for p in planes)
    data = np.stack([np.asarray(p, dtype=np.float32) for p in planes], axis=-1)

    (dx0, dy0), (dx1, dy1) = (tuple(int(v) for v in w) for w in header["dataWindow"])
    (wx0, wy0), (wx1, wy1) = (tuple(int(v) for v in w) for w in header["displayWindow"])
    if (dx0, dy0, dx1, dy1) == (wx0, wy0, wx1, wy1):
        return np.ascontiguousarray(data), is_half
    out = np.zeros((wy1 - wy0 + 1, wx1 - wx0 + 1, 3), np.float32)
    # Intersect the two windows; both are inclusive pixel bounds.
    x0, y0, x1, y1 = max(dx0, wx0), max(dy0, wy0), min(dx1, wx1), min(dy1, wy1)
    if x0 <= x1 and y0 <= y1:
        out[y0 - wy0 : y1 - wy0 + 1, x0 - wx0 : x1 - wx0 + 1] = data[
            y0 - dy0 : y1 - dy0 + 1, x0 - dx0 : x1 - dx0 + 1
        ]
    return out, is_half


def write_exr(path: str, image: np.ndarray, half: bool) -> None:
    """Write float32 ``(H, W, 3)`` RGB as a ZIP-compressed scanline EXR (half or float)."""
    import OpenEXR

    dtype = np.float16 if half else np.float32
    channels = {
        c: np.ascontiguousarray(image[..., k], dtype=dtype) for k, c in enumerate("RGB")
    }
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    OpenEXR.File(header, channels).write(path)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
