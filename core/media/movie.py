"""Frame-accurate movie reading through the ffmpeg executable.

Frame ``i`` is the ``i``-th frame in presentation order of the first video stream,
counting from 0, exactly as a decode from the start would deliver it.

How (without ffprobe):

* **Probe** — one ffmpeg run with two outputs: the stream's packets are copied to a
  ``framecrc`` listing (cheap: no decoding) which gives the frame count and every
  frame's presentation timestamp; and one frame is decoded through ``showinfo``,
  which gives the exact frame rate (``24000/1001``), the decoded size (after
  rotation metadata is applied) and the pixel format (hence the bit depth).
* **Seek** — to read frame ``i`` ffmpeg is started with ``-ss`` *before* ``-i`` at the
  midpoint between the timestamps of frames ``i-1`` and ``i``. ffmpeg seeks to the
  previous keyframe, decodes forward and drops every frame earlier than that time,
  so the first frame out is frame ``i``; the midpoint keeps rounding of the seconds
  value from landing on the wrong side of a frame. Only the frames of one GOP are
  decoded, not the whole movie.
* **Verify** — every seek reports (``showinfo``) the times of the frames it returned;
  if they are not frames ``i, i+1, ...`` (MPEG-TS entry points on non-IDR frames,
  for one, lose the frames that reference earlier ones), the clip stops seeking and
  selects frames by decode count from the start: correct, slower on long clips. The
  same fallback serves streams without usable timestamps (AVI with B-frames). A seek
  whose decode made the decoder complain (missing references, undecodable macroblocks:
  some files' keyframes only decode after the frames before them) falls back the same
  way, because such frames arrive on time but garbled (green or smeared).

Pixels: 8-bit sources decode to ``rgb24``; deeper ones to ``rgb48le`` so 10/12/16-bit
precision survives; float ones to ``gbrpf32le``. YUV without a colour-matrix tag is
read as BT.709 from 720 lines up and BT.601 below, the usual convention for untagged
video (ffmpeg alone would assume BT.601 everywhere).

Limitation: the frame count is the packet count, which equals the decoded frame count
for the usual codecs and containers; streams whose decoder drops leading frames
(HEVC RASL pictures after an open-GOP start) can differ.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from core.color import default_colorspace
from core.errors import InputError
from core.limits import check_frame_size
from core.media.clip import Clip
from core.media.ffmpeg import FFmpegError, input_args, refused_input, run_ffmpeg

# What `open_clip` treats as a movie; ffmpeg decides whether it can actually decode it.
MOVIE_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mxf", ".mpg", ".mpeg", ".ts",
    ".m2ts", ".mts", ".wmv", ".flv", ".ogv", ".3gp", ".dv", ".y4m", ".nut", ".gif", ".vob",
})  # fmt: skip
_AV_PKT_FLAG_DISCARD = 0x4
_NOPTS = -(2**63)
_CACHE_BYTES = 256 * 2**20  # decoded frames kept for repeated / sequential reads
_CACHE_MAX_FRAMES = 8
#: decoder messages meaning a frame was reconstructed from missing or misread data
_DECODE_ERROR = re.compile(
    r"error while decoding|concealing \d+|reference \d+ >= \d+|missing reference|no frame!"
    r"|non-existing [PS]PS|unavailable for requested intra|gray chroma|decode_slice_header error",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class MovieInfo:
    """What `probe_movie` learns about the first video stream."""

    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    is_float: bool
    fps: Fraction | None
    frame_count: int
    # Presentation times in seconds from the file start, sorted; None if unknown.
    frame_times: tuple[Fraction, ...] | None
    color_matrix_tagged: bool


class MovieClip(Clip):
    """A movie file read frame-accurately with ffmpeg (see module docstring).

    Keeps a small cache of decoded frames. Not thread-safe: give each thread its own
    clip (opening one costs a probe).
    """

    def __init__(self, path: str, colorspace: str | None = None) -> None:
        self.path = path
        self.kind = "movie"
        info = probe_movie(path)
        self.info = info
        self.fps = info.fps
        self.frame_count = info.frame_count
        self.width, self.height = info.width, info.height
        self.bit_depth = info.bit_depth
        self.is_float = info.is_float
        self.colorspace = colorspace or default_colorspace(
            self.bit_depth, self.is_float
        )
        if info.is_float:
            self._out_fmt, self._dtype, self._peak = "gbrpf32le", np.dtype("<f4"), None
        elif info.bit_depth > 8:
            self._out_fmt, self._dtype, self._peak = "rgb48le", np.dtype("<u2"), 65535.0
        else:
            self._out_fmt, self._dtype, self._peak = "rgb24", np.dtype("u1"), 255.0
        self._frame_bytes = self.width * self.height * 3 * self._dtype.itemsize
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_frames = max(
            1, min(_CACHE_MAX_FRAMES, _CACHE_BYTES // self._frame_bytes)
        )
        self._last_index: int | None = None
        # Seek by timestamp while that proves accurate (verified on every seek).
        self.seeking = info.frame_times is not None

    def _read(self, index: int) -> np.ndarray:
        raw = self._cache.get(index)
        if raw is None:
            sequential = self._last_index is not None and index == self._last_index + 1
            count = self._cache_frames if sequential else 1
            count = min(count, self.frame_count - index)
            for offset, frame in enumerate(self._decode(index, count)):
                self._remember(index + offset, frame)
            raw = self._cache[index]
        else:
            self._cache.move_to_end(index)
        self._last_index = index
        return self._to_float(raw)

    def _read_run(self, first: int, count: int) -> list[np.ndarray]:
        missing = [i for i in range(first, first + count) if i not in self._cache]
        if missing and count <= self._cache_frames:
            for offset, frame in enumerate(self._decode(missing[0], first + count - missing[0])):
                self._remember(missing[0] + offset, frame)
        return super()._read_run(first, count)

    def _remember(self, index: int, frame: np.ndarray) -> None:
        self._cache[index] = frame
        self._cache.move_to_end(index)
        while len(self._cache) > self._cache_frames:
            self._cache.popitem(last=False)

    def _to_float(self, raw: np.ndarray) -> np.ndarray:
        if self._peak is None:  # planar G, B, R floats
            return np.ascontiguousarray(
                raw[(2, 0, 1), :, :].transpose(1, 2, 0), dtype=np.float32
            )
        out = raw.astype(np.float32)
        out /= np.float32(self._peak)
        return out

    def _decode(self, start: int, count: int) -> list[np.ndarray]:
        """Decode frames ``start .. start+count-1`` with one ffmpeg run."""
        args: list[str] = []
        filters: list[str] = []
        times = self.info.frame_times
        seek: float | None = None
        if start > 0 and self.seeking:
            seek = round(float((times[start - 1] + times[start]) / 2), 6)
            args += ["-ss", f"{seek:.6f}"]
            # showinfo reports the times of the frames we get: the seek is verified.
            filters.append("showinfo")
        elif start > 0:
            filters.append(f"select=gte(n\\,{start})")
        matrix = "auto" if self.info.color_matrix_tagged else _guess_matrix(self.height)
        filters.append(
            f"scale=in_color_matrix={matrix}:flags=accurate_rnd+full_chroma_int+full_chroma_inp"
        )
        filters.append(f"format={self._out_fmt}")
        args += [
            *input_args(self.path), "-map", "0:v:0", "-an", "-sn", "-dn",
            "-vf", ",".join(filters), "-fps_mode", "passthrough",
            "-frames:v", str(count), "-f", "rawvideo", "-pix_fmt", self._out_fmt, "pipe:1",
        ]  # fmt: skip
        try:
            data, log = run_ffmpeg(
                args, loglevel="info" if seek is not None else "error"
            )
        except FFmpegError as exc:
            refused = refused_input(self.path, exc.stderr)
            if refused is not None:  # the file changed since the probe
                raise refused from None
            raise InputError(
                f"{self.path}: frame {start}: cannot decode ({exc.reason})"
            ) from None
        got = len(data) // self._frame_bytes
        if seek is not None and (_DECODE_ERROR.search(log) or not self._landed_on(start, got, seek, log)):
            # The container's seek points misled ffmpeg (see module docstring): stop
            # trusting seeks for this clip and count frames from the start instead.
            self.seeking = False
            return self._decode(start, count)
        if got == 0:
            raise InputError(
                f"{self.path}: frame {start}: cannot decode (no frame delivered)"
            )
        frames = np.frombuffer(
            data, self._dtype, got * self._frame_bytes // self._dtype.itemsize
        )
        if self._peak is None:
            frames = frames.reshape(got, 3, self.height, self.width)
        else:
            frames = frames.reshape(got, self.height, self.width, 3)
        return [frames[k] for k in range(got)]

    def _landed_on(self, start: int, got: int, seek: float, log: str) -> bool:
        """True if the frames ffmpeg delivered after seeking are frames start, start+1, ...

        After an input ``-ss``, ffmpeg reports frame times relative to the seek point.
        """
        times = self.info.frame_times
        assert times is not None
        reported = re.findall(r"\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:(\S+)", log)
        if got == 0 or len(reported) < got:
            return False
        for k in range(got):
            i = start + k
            lo = float(times[i - 1] + times[i]) / 2
            hi = (
                float(times[i] + times[i + 1]) / 2
                if i + 1 < len(times)
                else float("inf")
            )
            if not lo <= seek + float(reported[k]) < hi:
                return False
        return True


def probe_run(path: str) -> tuple[str, str]:
    """The one probe run of ffmpeg over ``path``: (framecrc packet listing, info log).

    Also read by `core.media.probe`, which parses more of the same output. Checks the file
    and decodes one frame through ``showinfo``; `InputError` naming the file if unusable,
    including one that is not a self-contained movie or whose frames are over the pixel
    limit (see `core.media.ffmpeg.input_args`).
    """
    if not os.path.isfile(path):
        raise InputError(f"{path}: no such file")
    if os.path.getsize(path) == 0:
        raise InputError(f"{path}: file is empty")
    args = [
        *input_args(path),
        "-map", "0:v:0", "-c", "copy", "-f", "framecrc", "pipe:1",
        "-map", "0:v:0", "-vf", "showinfo", "-frames:v", "1", "-f", "null", "-",
    ]  # fmt: skip
    try:
        listing, log = run_ffmpeg(args, loglevel="info")
    except FFmpegError as exc:
        refused = refused_input(path, exc.stderr)
        if refused is not None:
            raise refused from None
        if "Input #0" in exc.stderr and not re.search(
            r"Stream #0:\d+\S*: Video:", exc.stderr
        ):
            raise InputError(f"{path}: no video stream") from None
        raise InputError(f"{path}: cannot read video ({exc.reason})") from None
    refused = refused_input(path, log)  # a decoder that refused a frame need not fail the run
    if refused is not None:
        raise refused
    return listing.decode("ascii", errors="replace"), log


def first_frame(path: str, log: str) -> tuple[str, int, int]:
    """(pixel format, width, height) of the frame `probe_run` decoded, within `core.limits`."""
    frame = re.search(r"\bn:\s*0\b.*?\bfmt:(\S+).*?\bs:(\d+)x(\d+)", log)
    if frame is None:
        raise InputError(f"{path}: cannot decode any video frame")
    width, height = int(frame.group(2)), int(frame.group(3))
    check_frame_size(path, width, height)  # -max_pixels bounds the area; this adds the side limit
    return frame.group(1), width, height


def stream_rate(log: str) -> Fraction | None:
    """The stream's exact frame rate as the decoder reports it, if it does."""
    rate = re.search(r"config in time_base: \S+, frame_rate: (\d+)/(\d+)", log)
    if rate and int(rate.group(1)) > 0 and int(rate.group(2)) > 0:
        return Fraction(int(rate.group(1)), int(rate.group(2)))
    return None


def probe_movie(path: str) -> MovieInfo:
    """Probe the first video stream of ``path`` (see module docstring). `InputError` if unusable."""
    listing, log = probe_run(path)
    count, times, _ = parse_packets(listing)
    if count == 0:
        raise InputError(f"{path}: video has no frames")
    pix_fmt, width, height = first_frame(path, log)
    bit_depth, is_float = pix_fmt_depth(pix_fmt)
    fps = stream_rate(log)
    if fps is None and times is not None and len(times) > 1 and times[-1] > times[0]:
        fps = ((len(times) - 1) / (times[-1] - times[0])).limit_denominator(1001000)
    tagged = re.search(r"color_space:(?!unknown)\w", log) is not None
    return MovieInfo(
        width, height, pix_fmt, bit_depth, is_float, fps, count, times, tagged
    )


def parse_packets(listing: str) -> tuple[int, tuple[Fraction, ...] | None, tuple[Fraction, ...] | None]:
    """Frame count, sorted presentation times and their durations from a ``framecrc`` packet listing.

    Packets the decoder will drop (edit lists) do not count. Times and durations are None
    when the packets carry no usable timestamps (missing or repeated): frames are then
    found by decode count instead of seeks. The one parser of `probe_run`'s listing, for
    clips (`probe_movie`) and retimes (`core.media.probe`).
    """
    time_base = Fraction(1)
    packets: list[tuple[int, int]] = []
    for line in listing.splitlines():
        if line.startswith("#tb 0:"):
            num, den = line.split(":", 1)[1].strip().split("/")
            time_base = Fraction(int(num), int(den))
            continue
        if line.startswith("#") or not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        flags = next((int(f[2:], 16) for f in fields[6:] if f.startswith("F=")), 0)
        if flags & _AV_PKT_FLAG_DISCARD:  # the decoder will drop it (edit lists)
            continue
        packets.append((int(fields[2]), int(fields[3])))
    if not packets:
        return 0, None, None
    pts = [p for p, _ in packets]
    if _NOPTS in pts or len(set(pts)) != len(pts):
        return len(pts), None, None  # no usable timestamps
    packets.sort()
    return len(pts), tuple(p * time_base for p, _ in packets), tuple(d * time_base for _, d in packets)


def pix_fmt_depth(pix_fmt: str) -> tuple[int, bool]:
    """Bits per channel and float-ness of an ffmpeg pixel format name.

    ``yuv420p`` -> 8, ``yuv422p10le`` -> 10, ``p010le`` -> 10, ``rgb48le`` -> 16,
    ``gbrpf32le`` -> (32, True). Odd depths round up to the next of 8/10/12/16.
    """
    if re.search(r"f(16|32)(le|be)?$", pix_fmt):
        return 32, True
    if re.match(r"(rgb|bgr)48|(rgba|bgra)64", pix_fmt):
        return 16, False
    # Semi-planar / packed names carry the depth after one digit: p010, p216, y210.
    packed = re.match(r"(?:p\d|y2)(1[026])(le|be)?$", pix_fmt)
    suffixed = re.search(r"(\d+)(le|be)$", pix_fmt)
    bits = 8
    if packed:
        bits = int(packed.group(1))
    elif suffixed and 9 <= int(suffixed.group(1)) <= 16:
        bits = int(suffixed.group(1))
    return next(b for b in (8, 10, 12, 16) if b >= bits), False


def _guess_matrix(height: int) -> str:
    return "bt709" if height >= 720 else "bt601"
