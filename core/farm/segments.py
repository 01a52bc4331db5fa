"""A movie chunk's frames, kept losslessly until the assemble step encodes the movie once.

A farm chunk of a movie retime cannot write its part of an H.264 or ProRes stream: the
encoder's decisions depend on the frames before. It writes a *segment* instead, its
frames exactly as the movie encoder would receive them (`encode.pipe_pixels`: 8 or
16-bit RGB) compressed with FFV1 (lossless) in Matroska; the assemble step decodes the
segments in order back to the very same bytes and pipes them to one `MovieEncoder`, so
the movie is the one a local run encodes. The conversions on the way (packed RGB to
FFV1's planar GBR and back) only reorder samples.

A segment is written to a temporary name and renamed when complete (recorded in the work
folder's ledger), like every file Segue writes.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from segue.core.media.encode import PipeEncoder, pipe_format, pipe_pixels
from segue.core.media.ffmpeg import error_reason, find_ffmpeg, format_rate, input_args, read_raw_frames


def segment_name(chunk: int) -> str:
    """File name of chunk ``chunk``'s segment (1-based)."""
    return f"chunk_{chunk:04d}.mkv"


class SegmentWriter(PipeEncoder):
    """A `core.retime.stream.Sink` writing one segment (see module docstring)."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, bit_depth: int,
                 before_replace: Callable[[str], None]) -> None:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}.mkv")  # what a rerun sweeps
        super().__init__(path, tmp, before_replace)
        self.width, self.height, self.fps, self.bit_depth = width, height, fps, bit_depth

    def command(self) -> list[str]:
        return [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                "-f", "rawvideo", "-pix_fmt", pipe_format(self.bit_depth), "-s", f"{self.width}x{self.height}",
                "-framerate", format_rate(self.fps), "-i", "pipe:0",
                "-c:v", "ffv1", "-level", "3", "-f", "matroska", "file:" + os.path.abspath(self.tmp)]

    def exists(self, index: int) -> bool:
        return False

    def write(self, index: int, image: np.ndarray) -> None:
        if self._proc is None:
            self.start()
        self.write_pixels(pipe_pixels(image, self.bit_depth))

    def finish(self) -> None:
        if self._proc is None:
            raise RuntimeError("a segment needs at least one frame")
        super().finish()


def read_segment(path: Path, width: int, height: int, bit_depth: int) -> Iterator[np.ndarray]:
    """The frames of a segment, in the encoder's pipe format (``(H, W, 3)`` uint8 or uint16)."""
    fmt = pipe_format(bit_depth)
    dtype = np.dtype("u1") if fmt == "rgb24" else np.dtype("<u2")
    frame_bytes = width * height * 3 * dtype.itemsize
    cmd = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", *input_args(path),
           "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", fmt, "pipe:1"]

    def failed(log: str, delivered: int) -> RuntimeError:
        return RuntimeError(f"ffmpeg could not read {path} after {delivered} frames: {error_reason(log)}")

    for data in read_raw_frames(cmd, frame_bytes, failed):
        yield np.frombuffer(data, dtype).reshape(height, width, 3)
