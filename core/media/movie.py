"""Frame-accurate movie reading through the ffmpeg executable.

Frame ``i`` is the ``i``-th frame in presentation order of the first video stream,
counting from 0, exactly as a decode from the start would deliver it.

How (without ffprobe):

* **Probe** — `core.media.probe` (one ffmpeg run): the frame count, every frame's
  presentation time, the exact frame rate (``24000/1001``), the decoded size (after
  rotation metadata is applied), the pixel format (hence the bit depth) and colour tags.
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

Limitation: the frame count is the packet count (see `core.media.probe`).
"""

from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np

from segue.core.color import default_colorspace
from segue.core.errors import InputError
from segue.core.media.clip import Clip
from segue.core.media.ffmpeg import FFmpegError, input_args, refused_input, run_ffmpeg
from segue.core.media.probe import probe_movie

# What `open_clip` treats as a movie; ffmpeg decides whether it can actually decode it.
MOVIE_EXTENSIONS = frozenset({
    ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mxf", ".mpg", ".mpeg", ".ts",
    ".m2ts", ".mts", ".wmv", ".flv", ".ogv", ".3gp", ".dv", ".y4m", ".nut", ".gif", ".vob",
})  # fmt: skip
_CACHE_BYTES = 256 * 2**20  # decoded frames kept for repeated / sequential reads
_CACHE_MAX_FRAMES = 8
#: decoder messages meaning a frame was reconstructed from missing or misread data
_DECODE_ERROR = re.compile(
    r"error while decoding|concealing \d+|reference \d+ >= \d+|missing reference|no frame!"
    r"|non-existing [PS]PS|unavailable for requested intra|gray chroma|decode_slice_header error",
    re.IGNORECASE,
)


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
        times = info.times
        if self.fps is None and times is not None and len(times) > 1 and times[-1] > times[0]:
            self.fps = ((len(times) - 1) / (times[-1] - times[0])).limit_denominator(1001000)
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
        self.seeking = info.times is not None

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
        times = self.info.times
        seek: float | None = None
        if start > 0 and self.seeking:
            seek = round(float((times[start - 1] + times[start]) / 2), 6)
            args += ["-ss", f"{seek:.6f}"]
            # showinfo reports the times of the frames we get: the seek is verified.
            filters.append("showinfo")
        elif start > 0:
            filters.append(f"select=gte(n\\,{start})")
        matrix = "auto" if self.info.colour.matrix else _guess_matrix(self.height)
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
        times = self.info.times
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


def _guess_matrix(height: int) -> str:
    return "bt709" if height >= 720 else "bt601"
