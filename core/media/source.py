"""The retime's source: a movie or an image sequence, read front to back as a stream.

`core.media` reads frames by index (right for a transition's two frames); a retime reads
every frame once in order, so a movie is decoded by one long-running ffmpeg process whose
raw output is read frame by frame: memory holds one frame, whatever the clip's length.

Frame times are exact: a constant-rate stream's frame ``i`` is at ``i / fps`` (even when
the container rounded its timestamps, e.g. Matroska's milliseconds); a variable-rate
stream keeps the timestamps the container gives. Image sequences have no time of their
own: their rate is ``--input-fps`` (24 by default).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from statistics import median

import cv2
import numpy as np

from segue.core.errors import InputError
from segue.core.media.ffmpeg import error_reason, find_ffmpeg, input_args, read_raw_frames, refused_input
from segue.core.media.movie import MOVIE_EXTENSIONS
from segue.core.media.probe import MovieInfo, probe_movie
from segue.core.media.readers import open_clip
from segue.core.media.sequence import ImageClip
from segue.core.media.ycbcr import VideoColour, decode_filter, source_colour

#: image sequences are read at this rate unless told (the film and animation default)
DEFAULT_SEQUENCE_FPS = Fraction(24)


@dataclass
class Source:
    """A retime source. ``times[i]`` is frame i's time in seconds from the first frame."""

    path: str
    kind: str  # "movie" or "sequence"
    width: int
    height: int
    bit_depth: int
    is_float: bool
    fps: Fraction  # nominal rate: what --factor and --slowmo multiply
    times: list[Fraction]
    duration: Fraction
    vfr: bool
    start: Fraction = Fraction(0)  # first frame's time in the file (movies)
    media: MovieInfo | None = None
    colour: VideoColour | None = None  # movies only
    clip: ImageClip | None = None  # sequences only
    notes: list[str] = field(default_factory=list)

    @property
    def frame_count(self) -> int:
        return len(self.times)

    def frames(self, max_width: int | None = None, start: int = 0) -> Iterator[np.ndarray]:
        """Every frame from ``start`` on, in order, as float32 ``(H, W, 3)`` RGB in the file's encoding.

        ``max_width``: frames wider than this are shrunk (area average) to it, keeping the
        aspect ratio; the analysis pass uses small frames. A movie is still decoded from
        its first frame (the frames before ``start`` are dropped before any conversion),
        so frame ``i`` has the same pixels whatever ``start`` is. The generator can be
        closed early; a movie's ffmpeg process is then stopped.
        """
        if self.kind == "sequence":
            assert self.clip is not None
            for i in range(start, self.clip.frame_count):
                frame = self.clip.read_frame(i)
                yield frame if max_width is None or self.width <= max_width else _shrink(frame, max_width)
            return
        yield from self._movie_frames(max_width, start)

    def analysis_size(self, max_width: int) -> tuple[int, int]:
        """(width, height) of frames from ``frames(max_width)``."""
        if self.width <= max_width:
            return self.width, self.height
        return max_width, max(2, round(self.height * max_width / self.width / 2) * 2)

    def _movie_frames(self, max_width: int | None, start: int) -> Iterator[np.ndarray]:
        assert self.colour is not None
        small = max_width is not None and self.width > max_width
        width, height = self.analysis_size(max_width) if small else (self.width, self.height)
        # Deep sources keep their 10/12/16 bits in rgb48; 8-bit ones (and the small analysis
        # frames) use rgb24, as core.media does: swscale widens 8-bit RGB to 16 bits by a
        # shift, not exactly, so an 8-bit frame would not come back bit for bit.
        if self.is_float and not small:
            fmt, dtype, peak = "gbrpf32le", np.dtype("<f4"), None
        elif small or self.bit_depth <= 8:
            fmt, dtype, peak = "rgb24", np.dtype("u1"), 255.0
        else:
            fmt, dtype, peak = "rgb48le", np.dtype("<u2"), 65535.0
        scale = decode_filter(self.colour, (width, height) if small else None)
        skip = f"select=gte(n\\,{start})," if start else ""
        args = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error",
                *input_args(self.path), "-map", "0:v:0", "-an", "-sn", "-dn",
                "-vf", f"{skip}{scale},format={fmt}", "-fps_mode", "passthrough",
                "-f", "rawvideo", "-pix_fmt", fmt, "pipe:1"]
        frame_bytes = width * height * 3 * dtype.itemsize

        def failed(log: str, delivered: int) -> InputError:
            refused = refused_input(self.path, log)  # the file changed since the probe
            return refused or InputError(f"{self.path}: frame {start + delivered}: cannot decode "
                                         f"({error_reason(log)})")

        for data in read_raw_frames(args, frame_bytes, failed):
            raw = np.frombuffer(data, dtype)
            if peak is None:  # planar G, B, R floats
                yield np.ascontiguousarray(raw.reshape(3, height, width)[(2, 0, 1), :, :].transpose(1, 2, 0))
            else:
                frame = raw.reshape(height, width, 3).astype(np.float32)
                frame /= np.float32(peak)
                yield frame


def _shrink(frame: np.ndarray, max_width: int) -> np.ndarray:
    h, w = frame.shape[:2]
    size = (max_width, max(2, round(h * max_width / w / 2) * 2))
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def open_source(path: str, input_fps: Fraction | None = None) -> Source:
    """Open a movie file, image-sequence pattern or folder of frames for a retime.

    Raises `InputError` naming the problem (missing, not a movie, a single still, ...).
    """
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if os.path.isfile(path) and ext in MOVIE_EXTENSIONS:
        if input_fps is not None:
            raise InputError(f"--input-fps applies to image sequences; {path} is a movie with its own rate")
        return _open_movie(path)
    clip = open_clip(path)
    if clip.kind == "still":
        raise InputError(f"{path}: a single image cannot be retimed; give a movie, a pattern or a folder")
    if clip.frame_count < 2:
        raise InputError(f"{path}: a sequence needs at least 2 frames, found {clip.frame_count}")
    assert isinstance(clip, ImageClip)
    fps = input_fps or DEFAULT_SEQUENCE_FPS
    times = [Fraction(i) / fps for i in range(clip.frame_count)]
    return Source(path, "sequence", clip.width, clip.height, clip.bit_depth, clip.is_float, fps, times,
                  Fraction(clip.frame_count) / fps, False, clip=clip)


def _open_movie(path: str) -> Source:
    info = probe_movie(path)
    notes: list[str] = []
    n = info.frame_count
    if info.times is None:
        if info.fps is None:
            raise InputError(f"{path}: the video has neither timestamps nor a frame rate")
        notes.append("no usable timestamps: frames timed at the nominal rate")
        raw = [Fraction(i) / info.fps for i in range(n)]
        durations = None
    else:
        raw = list(info.times)
        durations = info.durations
    start = raw[0]
    rel = [t - start for t in raw]
    fps = info.fps
    if fps is None or fps <= 0:
        fps = _average_rate(rel)
    if n >= 2 and _is_constant_rate(rel, fps):
        times, vfr = [Fraction(i) / fps for i in range(n)], False
        duration = Fraction(n) / fps
    else:
        times, vfr = rel, True
        steps = [b - a for a, b in pairwise(rel)]
        last = durations[-1] if durations and durations[-1] > 0 else (median(steps) if steps else 1 / fps)
        duration = rel[-1] + last
        fps = _average_rate(rel + [duration])
        notes.append(f"variable frame rate: converted on the stream's timestamps (average {float(fps):.3f} fps)")
    if info.width % 2 or info.height % 2:
        notes.append("odd frame size: movie outputs need even sizes")
    return Source(path, "movie", info.width, info.height, info.bit_depth, info.is_float, fps, times, duration, vfr,
                  start=start, media=info, colour=source_colour(info), notes=notes)


def _is_constant_rate(rel: list[Fraction], fps: Fraction) -> bool:
    """True if every timestamp is frame i at i/fps, up to the container's rounding."""
    # Containers store times in their own time base (Matroska: 1 ms), so exact i/fps times
    # arrive rounded by up to half a tick; a millisecond (capped at a quarter frame)
    # accepts that and nothing a real variable-rate stream does.
    tolerance = min(Fraction(1, 1000), 1 / (4 * fps))
    return all(abs(t - Fraction(i) / fps) <= tolerance for i, t in enumerate(rel))


def _average_rate(times: list[Fraction]) -> Fraction:
    if len(times) < 2 or times[-1] <= times[0]:
        return Fraction(25)
    return ((len(times) - 1) / (times[-1] - times[0])).limit_denominator(1001)
