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

import contextlib
import os
import secrets
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from segue.core.media.encode import pipe_format, pipe_pixels
from segue.core.media.ffmpeg import error_reason, find_ffmpeg, format_rate, input_args


def segment_name(chunk: int) -> str:
    """File name of chunk ``chunk``'s segment (1-based)."""
    return f"chunk_{chunk:04d}.mkv"


class SegmentWriter:
    """A `core.retime.stream.Sink` writing one segment (see module docstring)."""

    def __init__(self, path: Path, width: int, height: int, fps: Fraction, bit_depth: int,
                 before_replace: Callable[[str], None]) -> None:
        self.path, self.width, self.height, self.fps = path, width, height, fps
        self.bit_depth, self.before_replace = bit_depth, before_replace
        self.tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}.mkv")
        self.frames = 0
        self._proc: subprocess.Popen | None = None
        self._log = None

    def exists(self, index: int) -> bool:
        return False

    def _start(self) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by finish/abort
        cmd = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", pipe_format(self.bit_depth), "-s", f"{self.width}x{self.height}",
               "-framerate", format_rate(self.fps), "-i", "pipe:0",
               "-c:v", "ffv1", "-level", "3", "-f", "matroska", "file:" + os.path.abspath(self.tmp)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log)

    def write(self, index: int, image: np.ndarray) -> None:
        if self._proc is None:
            self._start()
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(pipe_pixels(image, self.bit_depth).tobytes())
        except (BrokenPipeError, OSError):
            self._fail()
        self.frames += 1

    def finish(self) -> None:
        if self._proc is None:
            raise RuntimeError("a segment needs at least one frame")
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            self._fail()
        with open(self.tmp, "rb+") as f:
            os.fsync(f.fileno())
        self.before_replace(str(self.tmp))
        os.replace(self.tmp, self.path)
        self._close_log()

    def abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        self._close_log()

    def _fail(self) -> None:
        assert self._proc is not None
        self._proc.wait()
        log = b""
        if self._log is not None:
            self._log.seek(0)
            log = self._log.read()
        self.abort()
        raise RuntimeError(f"ffmpeg could not write {self.path}: {error_reason(log.decode('utf-8', 'replace'))}")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


def read_segment(path: Path, width: int, height: int, bit_depth: int) -> Iterator[np.ndarray]:
    """The frames of a segment, in the encoder's pipe format (``(H, W, 3)`` uint8 or uint16)."""
    fmt = pipe_format(bit_depth)
    dtype = np.dtype("u1") if fmt == "rgb24" else np.dtype("<u2")
    frame_bytes = width * height * 3 * dtype.itemsize
    cmd = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", *input_args(path),
           "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", fmt, "pipe:1"]
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        try:
            assert proc.stdout is not None
            while len(data := proc.stdout.read(frame_bytes)) == frame_bytes:
                yield np.frombuffer(data, dtype).reshape(height, width, 3)
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            log.seek(0)
            raise RuntimeError(f"ffmpeg could not read {path}: {error_reason(log.read().decode('utf-8', 'replace'))}")
