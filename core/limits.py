"""How large a source frame may be: checked before anything decodes it.

A compressed file can claim an enormous frame in a few bytes, so every reader learns the
frame size from the file's header first and refuses it above the limit, and checks the
decoded frame again (a header may lie). The rule:

* at most `max_pixels` pixels per frame (width x height); default `DEFAULT_MAX_PIXELS`,
  40,000,000: 8K DCI (8192x4320, 35.4 MP) and 8K UHD (7680x4320) fit, an 8000x8000
  bomb (64 MP) does not. A transition's peak memory grows with it (that 8000x8000 one,
  a 7.8 KB PNG, peaked at 10.4 GB with the ``classic`` model), so raise it only with the
  memory to match;
* at most `MAX_SIDE` (16384) pixels per side, whatever the pixel limit: OpenCV's
  ``remap`` and warps, which the engine uses, refuse sides of 32767 (``SHRT_MAX``) and
  more, and no video format needs over 16384.

Who sets the limit: the daemon from ``segue-renderd serve --max-pixels N`` (`configure`,
when it starts); the command line from ``$SEGUE_MAX_PIXELS``, read on every check like
``$SEGUE_FFMPEG`` so that nothing is read at import time. Where it is enforced: image
headers (`core.media.images`, `core.media.exr`), ffmpeg's decoder (``-max_pixels`` in
`core.media.ffmpeg.input_args`) and the probed size of a movie (`core.media.movie`).
This module imports nothing heavy: the daemon's configuration reads its constants.
"""
from __future__ import annotations

import os
import re

from segue.core.errors import InputError

ENV_VAR = "SEGUE_MAX_PIXELS"
DEFAULT_MAX_PIXELS = 40_000_000
MAX_SIDE = 16384
#: the largest limit that can be configured: a MAX_SIDE square
MAX_PIXELS_CEILING = MAX_SIDE * MAX_SIDE
#: samples (pixels x channels) a whole-file read may decode, per allowed pixel: EXR files
#: are read with every channel of every part (AOVs too), so a small file of many highly
#: compressible channels is a bomb within the pixel limit; 8 leaves room for RGBA + AOVs
MAX_SAMPLES_PER_PIXEL = 8
#: bytes per allowed pixel an image file may hold (uncompressed 4-channel 64-bit float)
#: before it is refused unread: a sparse or padded file cannot make a reader load gigabytes
MAX_FILE_BYTES_PER_PIXEL = 32
MAX_FILE_SLACK_BYTES = 64 << 20  # metadata, thumbnails, ICC profiles

_configured: tuple[int, str] | None = None


def configure(max_pixels: int | None, how_to_raise: str = "") -> None:
    """Set this process's limit (the daemon does, from its settings); None: back to the default.

    ``how_to_raise`` ends the refusal message (the daemon tells a client who can raise it).
    """
    global _configured
    if max_pixels is None:
        _configured = None
        return
    _check_range(max_pixels, "max_pixels")
    _configured = (max_pixels, how_to_raise)


def max_pixels() -> int:
    """The pixel limit in force: `configure`'s, else ``$SEGUE_MAX_PIXELS``, else the default."""
    return _limit()[0]


def check_frame_size(name: str, width: int, height: int, what: str = "frame") -> None:
    """Raise `InputError` naming ``name`` if a ``width`` x ``height`` frame is over the limits."""
    if width > MAX_SIDE or height > MAX_SIDE:
        raise InputError(f"{name}: {what} is {width}x{height}; Segue reads frames of at most {MAX_SIDE} "
                         "pixels per side")
    limit, how = _limit()
    if width * height > limit:
        how = how or (f"if you trust this file and have the memory, raise the limit with "
                      f"{ENV_VAR}={width * height}")
        raise InputError(f"{name}: {what} is {width}x{height} ({width * height / 1e6:.1f} megapixels), over the "
                         f"limit of {limit:,} pixels ({limit / 1e6:g} MP); {how}")


def check_samples(name: str, samples: int) -> None:
    """Raise `InputError` if reading a file decodes more than `MAX_SAMPLES_PER_PIXEL` x the limit."""
    limit, how = _limit()
    if samples > limit * MAX_SAMPLES_PER_PIXEL:
        how = how or f"raise the pixel limit with {ENV_VAR}={-(-samples // MAX_SAMPLES_PER_PIXEL)} if you trust it"
        raise InputError(f"{name}: the file holds {samples:,} samples in all its channels and parts, over "
                         f"{MAX_SAMPLES_PER_PIXEL} per pixel of the limit ({limit:,} pixels); keep the picture "
                         f"in a file of its own, or {how}")


def max_file_bytes() -> int:
    """Largest image file a reader loads into memory under the current limit."""
    return max_pixels() * MAX_FILE_BYTES_PER_PIXEL + MAX_FILE_SLACK_BYTES


def _limit() -> tuple[int, str]:
    if _configured is not None:
        return _configured
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS, ""
    # Bounded syntax before int(): at most 10 digits, no signs, exponents or underscores.
    if not re.fullmatch(r"[0-9]{1,10}", text):
        raise InputError(f"{ENV_VAR}={text[:40]!r}: not a whole number of pixels "
                         f"(e.g. {ENV_VAR}={DEFAULT_MAX_PIXELS})")
    value = int(text)
    _check_range(value, ENV_VAR)
    return value, ""


def _check_range(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PIXELS_CEILING:
        raise InputError(f"{name}: must be a whole number of pixels in 1..{MAX_PIXELS_CEILING}, got {value!r}")
