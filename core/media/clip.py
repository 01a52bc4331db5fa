"""`Clip`: what every source (movie, image sequence, still) looks like to the engine.

A clip is a random-access list of frames. Frames are numbered 0..frame_count-1 in
presentation order, whatever numbers the files or timestamps carry; negative indices
count from the end (-1 is the last frame), as in Python.

Pixel contract of `Clip.read_frame`: float32 ``(H, W, 3)`` RGB, C-contiguous, in the
file's own encoding and colourspace (no colour conversion happens here; that is
`core.color`'s job). Integer data is divided by ``2**bits - 1`` of the decoded sample
type, so 8-bit 255 and 16-bit 65535 are both 1.0; float data is passed through
unscaled and unclipped. Alpha is dropped, grey is repeated to three channels.
"""

from __future__ import annotations

import abc
import operator
from fractions import Fraction
from typing import Literal

import numpy as np

from segue.core.errors import InputError

ClipKind = Literal["movie", "sequence", "still"]


class Clip(abc.ABC):
    """A frame source. Subclasses fill the attributes and implement `_read`.

    Attributes:
        path: the source as the user gave it (file, pattern or folder); used in messages.
        kind: ``"movie"``, ``"sequence"`` (pattern or folder) or ``"still"``.
        fps: exact frame rate of a movie (e.g. ``Fraction(24000, 1001)``); None for
            sequences and stills, whose rate is the editor's business.
        frame_count: number of frames (1 for a still).
        width, height: frame size in pixels.
        bit_depth: bits per channel as stored: 8, 10, 12, 16 or 32. Half-float EXR
            reports 16 with ``is_float`` True.
        is_float: True for floating-point sources (EXR, float TIFF).
        colorspace: the declared colourspace name, else the default for the data type
            (see `core.color.default_colorspace`). Not validated against any OCIO
            config here; `core.color.ColorManager.resolve` does that.
    """

    path: str
    kind: ClipKind
    fps: Fraction | None
    frame_count: int
    width: int
    height: int
    bit_depth: int
    is_float: bool
    colorspace: str

    def read_frame(self, index: int) -> np.ndarray:
        """Return frame ``index`` as float32 ``(H, W, 3)`` RGB (see module docstring).

        Raises `InputError` if the index is out of range or the frame cannot be
        decoded; the message names the clip and the frame.
        """
        return self._read(self.resolve_index(index))

    def read_frames(self, start: int, count: int) -> list[np.ndarray]:
        """Frames ``start .. start + count - 1`` (``start`` may be negative), as `read_frame` gives them.

        A movie decodes the run in one pass instead of one seek per frame.
        """
        first = self.resolve_index(start)
        if count < 1:
            raise InputError(f"{self.path}: asked for {count} frames from frame {start}")
        self.resolve_index(first + count - 1)
        return self._read_run(first, count)

    def _read_run(self, first: int, count: int) -> list[np.ndarray]:
        return [self._read(i) for i in range(first, first + count)]

    def resolve_index(self, index: int) -> int:
        """Turn a possibly negative index into 0..frame_count-1, or raise `InputError`."""
        try:
            i = operator.index(index)
        except TypeError:
            raise InputError(
                f"{self.path}: frame index must be an integer, got {index!r}"
            ) from None
        if isinstance(index, bool):
            raise InputError(
                f"{self.path}: frame index must be an integer, got {index!r}"
            )
        resolved = i + self.frame_count if i < 0 else i
        if not 0 <= resolved < self.frame_count:
            noun = "frame" if self.frame_count == 1 else "frames"
            raise InputError(
                f"{self.path}: frame {i} out of range (clip has {self.frame_count} {noun})"
            )
        return resolved

    @property
    def size(self) -> tuple[int, int]:
        """``(width, height)``, the order `core.conform` uses."""
        return (self.width, self.height)

    @abc.abstractmethod
    def _read(self, index: int) -> np.ndarray:
        """Decode frame ``index`` (already validated, 0 <= index < frame_count)."""

    def __repr__(self) -> str:
        fps = f" fps={self.fps}" if self.fps is not None else ""
        return (
            f"<{type(self).__name__} {self.kind} {self.path!r} {self.width}x{self.height}"
            f" frames={self.frame_count}{fps} bits={self.bit_depth} {self.colorspace!r}>"
        )
