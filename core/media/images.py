"""Decode one image file (PNG, JPEG, TIFF, EXR) to the `Clip` pixel contract.

PNG/JPEG/TIFF go through OpenCV (``IMREAD_UNCHANGED`` keeps 16-bit and float
samples); EXR through `core.media.exr`. Files are read into memory first and decoded
with ``cv2.imdecode`` because ``cv2.imread`` cannot open non-ASCII paths on Windows
and returns None without saying why.

Size limits (`core.limits`): `read_image_header` learns the frame size from the header
alone and refuses it above the limit; `read_image` does the same before decoding (from
the very bytes it then decodes), refuses a file larger than any image within the limit
before reading it, and checks the decoded size against the header's (a header that
lies is an error, not a bigger frame).

A PNG is decoded without its ancillary chunks but transparency (`png_pixels_only`): libpng
checks colour profiles, gamma and text chunks as OpenCV decodes and prints its complaints
("libpng warning: iCCP: known incorrect sRGB profile", common in files saved by image
editors) straight to the process's stderr, past Segue's messages and the daemon's log
format. OpenCV applies none of those chunks, so the pixels are the same without them.
"""

from __future__ import annotations

import io
import os
import struct
from dataclasses import dataclass

import cv2
import numpy as np

from segue.core import limits
from segue.core.errors import InputError
from segue.core.media.exr import read_exr, read_exr_header
from segue.core.media.headers import ImageHeader, jpeg_header, png_header, tiff_header

IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr"})
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: Ancillary PNG chunks that change decoded samples (transparency becomes alpha): kept.
_PNG_PIXEL_CHUNKS = frozenset({b"tRNS"})
_HEADER_READERS = {".png": png_header, ".jpg": jpeg_header, ".jpeg": jpeg_header, ".tif": tiff_header,
                   ".tiff": tiff_header}


@dataclass(frozen=True)
class Image:
    """A decoded image: float32 ``(H, W, 3)`` pixels and how they were stored."""

    pixels: np.ndarray
    bit_depth: int
    is_float: bool


def is_image_path(path: str | os.PathLike[str]) -> bool:
    """True if the extension is one `read_image` decodes."""
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


def read_image_header(path: str | os.PathLike[str], label: str | None = None) -> ImageHeader:
    """Size, sample type and channels of an image file from its header, within `core.limits`.

    Decodes no pixels (a few hundred bytes are read), so it is safe on any thread.
    Raises `InputError` naming ``label`` (default: the path) for a missing, unsupported,
    corrupt or oversized file.
    """
    path = os.fspath(path)
    name = label or path
    ext = _checked_ext(path, name)
    if ext == ".exr":
        exr = read_exr_header(path, name)
        limits.check_frame_size(name, exr.width, exr.height)
        limits.check_frame_size(name, exr.data_width, exr.data_height, "stored data window")
        limits.check_samples(name, exr.samples)
        return ImageHeader(exr.width, exr.height, 16 if exr.is_half else 32, True, 3)
    try:
        with open(path, "rb") as f:
            return _header(f, ext, name)
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None


def read_image(path: str | os.PathLike[str], label: str | None = None) -> Image:
    """Decode an image file. ``label`` names it in error messages (default: the path).

    Raises `InputError` for a missing file, an unsupported extension, data that does
    not decode, and a frame over `core.limits` (checked before decoding, see the module
    docstring).
    """
    path = os.fspath(path)
    name = label or path
    ext = _checked_ext(path, name)
    if ext == ".exr":
        header = read_image_header(path, name)
        pixels, is_half = read_exr(path, name)
        _check_decoded(name, header, pixels)
        return Image(pixels, 16 if is_half else 32, True)

    cap = limits.max_file_bytes()
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            # Size first: a sparse or padded file must not fill memory before it is refused.
            raw = f.read(cap + 1) if size <= cap else b""
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    if max(size, len(raw)) > cap:
        raise InputError(f"{name}: file is {max(size, len(raw)):,} bytes, larger than any image within the "
                         f"pixel limit ({limits.max_pixels():,} pixels)")
    # The header comes from the very bytes decoded next (BytesIO shares them, no copy).
    header = _header(io.BytesIO(raw), ext, name)
    data = png_pixels_only(raw) if ext == ".png" else raw
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise InputError(
            f"{name}: cannot decode image (corrupt or not a {ext[1:].upper()} file)"
        )
    _check_decoded(name, header, decoded)
    return _normalise(decoded, name)


def png_pixels_only(raw: bytes) -> bytes:
    """The PNG file ``raw`` without the ancillary chunks that do not change its decoded samples.

    Kept: every critical chunk (IHDR, PLTE, IDAT, IEND and any unknown critical one, which
    the decoder then refuses as it should) and ``tRNS``. Dropped: colour profiles and
    descriptions (iCCP, sRGB, gAMA, cHRM, cICP), text, times, EXIF, animation control...;
    OpenCV does no colour management and reads only the default image, so it ignores them
    except to let libpng print warnings about them (module docstring). Data that is not a
    well-formed chunk sequence is returned as it is, for the decoder to judge; so is a file
    with nothing to drop (no copy).
    """
    if not raw.startswith(_PNG_SIGNATURE):
        return raw
    keep: list[memoryview] = []
    view = memoryview(raw)
    start, pos = 0, len(_PNG_SIGNATURE)  # ``start``: where the part to keep next begins
    dropped = False
    while pos + 12 <= len(raw):
        length = int.from_bytes(raw[pos:pos + 4], "big")
        kind = raw[pos + 4:pos + 8]
        end = pos + 12 + length  # length, type, data, CRC
        if end > len(raw):
            return raw
        if kind[0] & 0x20 and kind not in _PNG_PIXEL_CHUNKS:  # lower-case first letter: ancillary
            keep.append(view[start:pos])
            start, dropped = end, True
        pos = end
        if kind == b"IEND":
            break
    if not dropped:
        return raw
    keep.append(view[start:])
    return b"".join(keep)


def _checked_ext(path: str, name: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        raise InputError(f"{name}: unsupported image extension {ext or '(none)'!r}")
    if not os.path.isfile(path):
        raise InputError(f"{name}: no such file")
    return ext


def _header(f: io.BufferedIOBase, ext: str, name: str) -> ImageHeader:
    """The header of a PNG/JPEG/TIFF file object, within the limits; `InputError` if unusable."""
    try:
        header = _HEADER_READERS[ext](f)
    except (ValueError, struct.error) as exc:
        raise InputError(f"{name}: cannot decode image (corrupt or not a {ext[1:].upper()} file: {exc})") from None
    if header.channels not in (1, 2, 3, 4):
        raise InputError(f"{name}: unsupported channel count {header.channels}")
    limits.check_frame_size(name, header.width, header.height)
    return header


def _check_decoded(name: str, header: ImageHeader, pixels: np.ndarray) -> None:
    """The decoder's frame must be the one the header announced (and so within the limits)."""
    height, width = pixels.shape[:2]
    if (width, height) != (header.width, header.height):
        raise InputError(f"{name}: the header says {header.width}x{header.height} but the image decodes to "
                         f"{width}x{height}; the file is corrupt")


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
