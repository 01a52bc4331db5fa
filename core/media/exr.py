"""OpenEXR read/write through the ``OpenEXR`` (>= 3.3) Python bindings.

OpenCV can read EXR only behind an environment switch set before import, and not
half-float writes, so EXR has its own small module.

Channel choice when reading: the unprefixed ``R``, ``G``, ``B`` (or ``Y`` for grey)
of the first part. Anything else (layers only, no RGB) is an `InputError`: guessing
which AOV is the picture would silently give the wrong frames.

`read_exr_header` reads the header alone (parsed here: the bindings' header-only read
does not report channel pixel types), so a caller learns the frame size, half or float,
and how many samples a whole read decodes (the bindings read every channel of every
part, AOVs included) without decoding a pixel.
"""

from __future__ import annotations

import struct
from collections.abc import Collection
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from segue.core.errors import InputError

_MAGIC = b"\x76\x2f\x31\x01"
_MULTIPART, _DEEP = 0x1000, 0x800
_UINT, _HALF, _FLOAT = 0, 1, 2  # channel pixel types in the header
_MAX_ATTRIBUTE = 1 << 20  # a channel list this long would name tens of thousands of channels
_MAX_PARTS = 1024


@dataclass(frozen=True)
class ExrHeader:
    """What reading the file would decode.

    ``width``/``height``: the display window (the size `read_exr` returns);
    ``data_width``/``data_height``: the first part's data window (what is stored);
    ``samples``: samples of every channel of every part, what a whole read decodes.
    """

    width: int
    height: int
    data_width: int
    data_height: int
    is_half: bool
    samples: int


def read_exr(path: str, label: str | None = None) -> tuple[np.ndarray, bool]:
    """Read an EXR file; return ``(float32 (H, W, 3) RGB, is_half)``.

    Pixels outside the data window (EXR allows a data window smaller than the
    display window) are black; the returned size is the display window's. Every channel
    of every part is decoded: check `read_exr_header` against the limits first
    (`core.media.images.read_image` does).
    """
    import OpenEXR

    name = label or path
    try:
        exr = OpenEXR.File(path, separate_channels=True)
        header = exr.header()
        channels = exr.channels()
    except (RuntimeError, ValueError, OSError) as exc:  # what the bindings raise
        raise InputError(f"{name}: cannot read EXR ({_short(exc)})") from None

    planes = [channels[c].pixels for c in colour_channels(channels, name)]
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


def colour_channels(names: Collection[str], label: str) -> list[str]:
    """The channels that make the picture: R, G, B, or Y three times; `InputError` if none."""
    if all(c in names for c in "RGB"):
        return ["R", "G", "B"]
    if "Y" in names:
        return ["Y"] * 3
    found = ", ".join(sorted(names)) or "none"
    raise InputError(f"{label}: EXR has no R,G,B or Y channels (has: {found})")


def read_exr_header(path: str, label: str | None = None) -> ExrHeader:
    """Read the header (every part's, for the sample count) without decoding pixels.

    Raises `InputError` ("cannot read EXR (...)") for a file that is not a valid EXR, and
    the messages of `read_exr` for colour channels it would refuse.
    """
    name = label or path
    try:
        with open(path, "rb") as f:
            parts = _parse_header(f)
        samples = 0
        for part in parts:
            w, h = _box_size(part["dataWindow"])
            samples += sum(-(-w // xs) * -(-h // ys) for _, xs, ys in part["channels"].values())
        width, height = _box_size(parts[0]["displayWindow"])
        data_width, data_height = _box_size(parts[0]["dataWindow"])
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    except (ValueError, struct.error) as exc:
        raise InputError(f"{name}: cannot read EXR ({exc})") from None
    types = parts[0]["channels"]
    picked = colour_channels(types, name)
    if any(types[c][0] not in (_HALF, _FLOAT) for c in picked):
        raise InputError(f"{name}: EXR colour channels are not half or float")
    is_half = all(types[c][0] == _HALF for c in picked)
    return ExrHeader(width, height, data_width, data_height, is_half, samples)


def _parse_header(f: BinaryIO) -> list[dict]:
    """Each part's ``channels`` ({name: (type, xSampling, ySampling)}) and windows."""
    if f.read(4) != _MAGIC:
        raise ValueError("not an OpenEXR file")
    flags = struct.unpack("<i", f.read(4))[0]
    if flags & _DEEP:
        raise ValueError("deep data is not supported")
    parts: list[dict] = []
    while len(parts) < _MAX_PARTS:
        part: dict = {}
        while True:
            attribute = _cstring(f)
            if not attribute:
                break
            kind = _cstring(f)
            size = struct.unpack("<i", f.read(4))[0]
            if not 0 <= size <= _MAX_ATTRIBUTE:
                raise ValueError(f"attribute {attribute} of {size} bytes")
            if kind == "chlist" and attribute == "channels":
                part["channels"] = _channels(f.read(size))
            elif kind == "box2i" and attribute in ("dataWindow", "displayWindow") and size == 16:
                part[attribute] = struct.unpack("<4i", f.read(16))
            else:
                f.seek(size, 1)
        if not part and parts:  # the empty header that ends a multi-part file
            break
        if not {"channels", "dataWindow", "displayWindow"} <= part.keys():
            raise ValueError("header lacks channels or windows")
        parts.append(part)
        if not flags & _MULTIPART:
            break
    return parts


def _cstring(f: BinaryIO) -> str:
    """A NUL-terminated attribute or type name (at most 255 characters)."""
    out = bytearray()
    while True:
        c = f.read(1)
        if not c:
            raise ValueError("truncated header")
        if c == b"\x00":
            return out.decode("latin-1")
        out += c
        if len(out) > 255:
            raise ValueError("name too long")


def _channels(data: bytes) -> dict[str, tuple[int, int, int]]:
    channels: dict[str, tuple[int, int, int]] = {}
    at = 0
    while at < len(data) and data[at] != 0:
        end = data.index(b"\x00", at)
        name = data[at:end].decode("latin-1")
        kind, _linear, xs, ys = struct.unpack("<iB3xii", data[end + 1:end + 17])
        if xs < 1 or ys < 1:
            raise ValueError(f"channel {name}: sampling {xs}x{ys}")
        channels[name] = (kind, xs, ys)
        at = end + 17
    return channels


def _box_size(box: tuple[int, int, int, int]) -> tuple[int, int]:
    x0, y0, x1, y1 = box
    if x1 < x0 or y1 < y0:
        raise ValueError(f"empty window ({x0},{y0})-({x1},{y1})")
    return x1 - x0 + 1, y1 - y0 + 1


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
