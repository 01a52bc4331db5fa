"""Frame size and sample type of PNG, JPEG and TIFF files, from their headers alone.

Nothing here decodes pixels or reads more than a few hundred bytes (plus seeks), so the
daemon can learn what a file holds on a request thread, and every reader can refuse an
oversized frame (`core.limits`) before a decoder allocates it. EXR headers are read in
`core.media.exr`, which owns that format.

The header describes the image the decoder (OpenCV, ``IMREAD_UNCHANGED``) returns: the
first frame of the file (the first TIFF directory, the first JPEG frame, the PNG IHDR),
EXIF orientation not applied. ``bit_depth`` and ``is_float`` follow
`core.media.images`' rule for decoded samples: up to 8 bits -> 8, up to 16 -> 16,
single or double float -> 32 float; sample types OpenCV cannot decode (half-float or
32-bit integer TIFF) are refused here already.

Each parser takes a binary file object and raises `ValueError` with a short reason for a
file that is not of its type or is corrupt; `core.media.images` words the user message.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import BinaryIO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG colour type -> (channels, allowed bit depths)
_PNG_TYPES = {0: (1, (1, 2, 4, 8, 16)), 2: (3, (8, 16)), 3: (3, (1, 2, 4, 8)), 4: (2, (8, 16)),
              6: (4, (8, 16))}
#: JPEG start-of-frame markers (baseline, extended, progressive, lossless; Huffman or arithmetic)
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM, RST0-7: no length field
_JPEG_MAX_GAP = 4096  # stray bytes between segments tolerated, as libjpeg does with a warning
#: TIFF field type -> (struct code, size); only the integer types size tags use
_TIFF_TYPES = {1: ("B", 1), 3: ("H", 2), 4: ("I", 4), 16: ("Q", 8)}
_TIFF_MAX_ENTRIES = 4096
_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_BITS, _TIFF_SAMPLES, _TIFF_FORMAT = 256, 257, 258, 277, 339


@dataclass(frozen=True)
class ImageHeader:
    """What decoding the file would give: size, samples, channels (before grey/alpha handling)."""

    width: int
    height: int
    bit_depth: int
    is_float: bool
    channels: int


def png_header(f: BinaryIO) -> ImageHeader:
    """The IHDR chunk, which the PNG format requires to come first."""
    head = f.read(29)
    if len(head) < 29 or head[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    length, kind = struct.unpack(">I4s", head[8:16])
    if kind != b"IHDR" or length != 13:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour = struct.unpack(">IIBB", head[16:26])
    channels, depths = _PNG_TYPES.get(colour, (0, ()))
    if depth not in depths:
        raise ValueError(f"invalid IHDR (colour type {colour}, bit depth {depth})")
    return _sized(width, height, 16 if depth == 16 else 8, False, channels)


def jpeg_header(f: BinaryIO) -> ImageHeader:
    """The first start-of-frame segment, found by skipping segments by their lengths."""
    if f.read(2) != b"\xff\xd8":
        raise ValueError("not a JPEG file")
    while True:
        gap = 0
        byte = f.read(1)
        while byte and byte != b"\xff":  # stray bytes before a marker
            gap += 1
            if gap > _JPEG_MAX_GAP:
                raise ValueError("corrupt segment structure")
            byte = f.read(1)
        while byte == b"\xff":  # fill bytes
            byte = f.read(1)
        if not byte:
            raise ValueError("no frame header before the end of the file")
        marker = byte[0]
        if marker in _JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no frame header came first
            raise ValueError("no frame header before the image data")
        size = f.read(2)
        if len(size) < 2 or struct.unpack(">H", size)[0] < 2:
            raise ValueError("truncated segment")
        length = struct.unpack(">H", size)[0]
        if marker in _JPEG_SOF:
            frame = f.read(6)
            if len(frame) < 6:
                raise ValueError("truncated frame header")
            precision, height, width, components = struct.unpack(">BHHB", frame)
            if height == 0:
                raise ValueError("height defined after the image data (DNL marker), not supported")
            return _sized(width, height, 8 if precision <= 8 else 16, False, components)
        f.seek(length - 2, 1)


def tiff_header(f: BinaryIO) -> ImageHeader:
    """Size and samples of the first image file directory (classic TIFF or BigTIFF)."""
    head = f.read(16)
    order = {b"II": "<", b"MM": ">"}.get(head[:2])
    if order is None or len(head) < 8:
        raise ValueError("not a TIFF file")
    version = struct.unpack(order + "H", head[2:4])[0]
    if version == 42:
        big, offset = False, struct.unpack(order + "I", head[4:8])[0]
    elif version == 43 and len(head) == 16:
        big, offset = True, struct.unpack(order + "Q", head[8:16])[0]
    else:
        raise ValueError("not a TIFF file")
    count_fmt, entry_size, word = ("Q", 20, 8) if big else ("H", 12, 4)
    f.seek(offset)
    raw = f.read(struct.calcsize(count_fmt))
    if len(raw) < struct.calcsize(count_fmt):
        raise ValueError("truncated image directory")
    count = struct.unpack(order + count_fmt, raw)[0]
    if not 0 < count <= _TIFF_MAX_ENTRIES:
        raise ValueError(f"image directory of {count} entries")
    entries = f.read(count * entry_size)
    if len(entries) < count * entry_size:
        raise ValueError("truncated image directory")
    tags: dict[int, int] = {}
    for k in range(count):
        entry = entries[k * entry_size:(k + 1) * entry_size]
        tag, kind = struct.unpack(order + "HH", entry[:4])
        if tag in (_TIFF_WIDTH, _TIFF_HEIGHT, _TIFF_BITS, _TIFF_SAMPLES, _TIFF_FORMAT) and kind in _TIFF_TYPES:
            tags[tag] = _tiff_first_value(f, order, kind, entry[4:], word)
    if _TIFF_WIDTH not in tags or _TIFF_HEIGHT not in tags:
        raise ValueError("no image width or length")
    bits, fmt = tags.get(_TIFF_BITS, 1), tags.get(_TIFF_FORMAT, 1)
    if fmt == 3:  # IEEE float; OpenCV decodes single and double, not half
        if bits not in (32, 64):
            raise ValueError(f"{bits}-bit float samples are not supported; use 32-bit float")
        depth, is_float = 32, True
    elif fmt in (1, 4) and bits <= 16:  # unsigned integer (4: undefined, read as unsigned)
        depth, is_float = (8 if bits <= 8 else 16), False
    else:
        kind = {1: "unsigned integer", 2: "signed integer"}.get(fmt, f"sample format {fmt}")
        raise ValueError(f"{bits}-bit {kind} samples are not supported; use 8/16-bit integer or float")
    return _sized(tags[_TIFF_WIDTH], tags[_TIFF_HEIGHT], depth, is_float, tags.get(_TIFF_SAMPLES, 1))


def _tiff_first_value(f: BinaryIO, order: str, kind: int, rest: bytes, word: int) -> int:
    """First value of a directory entry; ``rest`` is the entry after tag and type.

    ``rest`` holds the value count, then a ``word``-byte field (4 bytes, 8 in BigTIFF) with
    the values themselves if they fit, else their offset in the file. Only the first value
    is read: BitsPerSample repeats per sample and the first is the one that counts.
    """
    code, size = _TIFF_TYPES[kind]
    word_code = "Q" if word == 8 else "I"
    count = struct.unpack(order + word_code, rest[:word])[0]
    field = rest[word:2 * word]
    if count < 1:
        raise ValueError("empty image directory entry")
    if count * size <= word:
        return struct.unpack(order + code, field[:size])[0]
    f.seek(struct.unpack(order + word_code, field)[0])
    value = f.read(size)
    if len(value) < size:
        raise ValueError("truncated image directory entry")
    return struct.unpack(order + code, value)[0]


def _sized(width: int, height: int, depth: int, is_float: bool, channels: int) -> ImageHeader:
    if width <= 0 or height <= 0:
        raise ValueError(f"zero image size ({width}x{height})")
    return ImageHeader(width, height, depth, is_float, channels)
