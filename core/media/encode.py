"""Movie output: the ffmpeg encoder and muxer, codecs, colour tags and audio.

Frames arrive as float32 R'G'B' and are piped to ffmpeg as 16-bit ``rgb48le`` for deep
outputs, so a 10-bit source stays 10-bit, and as ``rgb24`` for 8-bit ones (swscale
would dither a 16-to-8-bit reduction, and a copied frame must stay the source's); ffmpeg
converts to the codec's Y'CbCr with the output's matrix and range and tags the stream
(`core.media.ycbcr`).

Codecs (chosen by extension, or ``--codec``):

=========  ===========  =================================================================
codec      containers   pixel format
=========  ===========  =================================================================
h264       .mp4 .m4v    the source's chroma (4:2:0 for RGB/image sources); 10-bit
           .mov .mkv    (High 10 and up) for sources deeper than 8 bits. CRF 16, preset
                        medium: visually transparent.
prores     .mov .mkv    ProRes 422 HQ, 10-bit; ProRes 4444 for 4:4:4 and RGB sources.
                        Always limited range, as the format requires.
ffv1       .mkv         lossless; the source's pixel format family and depth (RGB
                        sources stay RGB: ``gbrp`` / ``gbrp16le``).
=========  ===========  =================================================================

Audio (from a movie source, all its audio streams):

* ``--fps`` / ``--factor``: the video's duration is the source's, so audio is copied
  packet for packet (``-c:a copy``). Only when the container cannot hold the codec
  (PCM in MP4, say) is it re-encoded (AAC 256k in MP4, 24-bit PCM in MOV, FLAC in
  MKV), and the report says so.
* ``--slowmo N``: the picture lasts N times longer. ``--audio keep`` (default) stretches
  the sound to match with ffmpeg's ``atempo`` (pitch preserved, as an editor's
  "maintain pitch" retime does; chained for factors beyond atempo's 0.5 minimum), so
  sync holds throughout. ``--audio drop`` writes no audio (the usual choice for a
  slow-motion shot that will be scored or muted anyway).

Safety: the movie is written to a hidden temporary file in the destination folder
(``.NAME.segue-part-PID-XXXX.EXT``) and renamed to the final name only after ffmpeg
finished cleanly. Interrupted or failed runs delete it; a run killed outright leaves
it, and the next run to the same output removes it when its process is gone.
"""
from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from segue.core.errors import InputError
from segue.core.media.ffmpeg import error_reason, find_ffmpeg, format_rate, input_args
from segue.core.media.probe import AudioStream
from segue.core.media.ycbcr import VideoColour, encode_filters
from segue.core.ownership import file_stamp

#: extension -> (ffmpeg muxer, default codec, codecs it accepts)
CONTAINERS = {
    ".mp4": ("mp4", "h264", ("h264",)),
    ".m4v": ("mp4", "h264", ("h264",)),
    ".mov": ("mov", "prores", ("prores", "h264")),
    ".mkv": ("matroska", "ffv1", ("ffv1", "prores", "h264")),
}
MOVIE_CODECS = ("h264", "prores", "ffv1")
#: audio codecs each muxer takes as they are (anything goes in Matroska)
_COPYABLE = {
    "mp4": {"aac", "mp3", "ac3", "eac3", "opus", "flac", "alac"},
    "mov": {"aac", "mp3", "ac3", "eac3", "alac", "pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be",
            "pcm_s32le", "pcm_f32le"},
}
#: what audio is re-encoded to where it must be
_REENCODE = {"mp4": ["-c:a", "aac", "-b:a", "256k"], "mov": ["-c:a", "pcm_s24le"], "matroska": ["-c:a", "flac"]}
#: x264 constant-rate factor: visually transparent at a reasonable size
H264_CRF = 16


@dataclass(frozen=True)
class VideoFormat:
    """The encoded video: codec, pixel format, ffmpeg codec arguments and colour."""

    codec: str
    pix_fmt: str
    args: tuple[str, ...]
    colour: VideoColour
    bit_depth: int


def choose_format(codec: str, chroma: str, bit_depth: int, is_float: bool,
                  colour: VideoColour, *, output_colour) -> VideoFormat:
    """Pixel format and encoder settings for ``codec`` and a source of this kind.

    ``chroma`` is the source's (``"420"``/``"422"``/``"444"``/``"rgb"``);
    ``output_colour(rgb_output, limited_only)`` gives the output's `VideoColour`.
    """
    deep = bit_depth > 8 or is_float
    if codec == "h264":
        sub = chroma if chroma in ("420", "422", "444") else "420"
        pix = f"yuv{sub}p10le" if deep else f"yuv{sub}p"
        args = ("-c:v", "libx264", "-preset", "medium", "-crf", str(H264_CRF))
        return VideoFormat(codec, pix, args, output_colour(False, False), 10 if deep else 8)
    if codec == "prores":
        full = chroma in ("444", "rgb")
        pix = "yuv444p10le" if full else "yuv422p10le"
        args = ("-c:v", "prores_ks", "-profile:v", "4" if full else "3", "-vendor", "apl0")
        return VideoFormat(codec, pix, args, output_colour(False, True), 10)
    if codec == "ffv1":
        depth = 16 if is_float else bit_depth
        args = ("-c:v", "ffv1", "-level", "3", "-g", "1", "-slices", "4", "-slicecrc", "1")
        if chroma == "rgb":
            pix = {8: "gbrp", 10: "gbrp10le", 12: "gbrp12le"}.get(depth, "gbrp16le")
            return VideoFormat(codec, pix, args, output_colour(True, False), min(16, max(8, depth)))
        suffix = {8: "", 10: "10le", 12: "12le"}.get(depth, "16le")
        return VideoFormat(codec, f"yuv{chroma}p{suffix}", args, output_colour(False, False), min(16, depth))
    raise InputError(f"--codec {codec}: not a movie codec (choose {', '.join(MOVIE_CODECS)})")


def atempo_chain(speed: Fraction) -> str:
    """``atempo`` filters whose product is ``speed`` (each factor within atempo's 0.5..100)."""
    parts = []
    remaining = Fraction(speed)
    while remaining < Fraction(1, 2):
        parts.append("atempo=0.5")
        remaining *= 2
    while remaining > 100:
        parts.append("atempo=100")
        remaining /= 100
    if remaining != 1 or not parts:
        parts.append(f"atempo={float(remaining):.10g}")
    return ",".join(parts)


@dataclass
class AudioPlan:
    """How the source's audio goes into the output (see module docstring)."""

    mode: str  # "copy", "reencode", "stretch", "none"
    args: list[str] = field(default_factory=list)
    reason: str = ""

    def as_dict(self, streams: tuple[AudioStream, ...]) -> dict:
        return {"mode": self.mode, "reason": self.reason,
                "streams": [{"codec": s.codec, "sample_rate": s.sample_rate, "channels": s.channels}
                            for s in streams] if self.mode != "none" else []}


def plan_audio(streams: tuple[AudioStream, ...], muxer: str, speed: Fraction, keep: bool) -> AudioPlan:
    """Audio handling for a movie output (input 1 of the encoder is the source file)."""
    if not streams:
        return AudioPlan("none", reason="the source has no audio")
    if not keep:
        return AudioPlan("none", reason="--audio drop")
    maps = ["-map", "1:a?"]
    if speed != 1:
        return AudioPlan("stretch", [*maps, "-af", atempo_chain(speed), *_REENCODE[muxer]],
                         f"slow motion: stretched by atempo to {float(1 / speed):g}x, pitch kept")
    allowed = _COPYABLE.get(muxer)
    bad = [s.codec for s in streams if allowed is not None and s.codec not in allowed]
    if bad:
        return AudioPlan("reencode", [*maps, *_REENCODE[muxer]],
                         f"{', '.join(sorted(set(bad)))} cannot be stored in {muxer}: re-encoded")
    return AudioPlan("copy", [*maps, "-c:a", "copy"], "passed through untouched")


def pipe_format(bit_depth: int) -> str:
    """The raw RGB format frames reach the encoder in: 8-bit for 8-bit video, else 16-bit."""
    return "rgb24" if bit_depth <= 8 else "rgb48le"


def pipe_pixels(frame: np.ndarray, bit_depth: int) -> np.ndarray:
    """A float32 ``(H, W, 3)`` R'G'B' frame in [0, 1] as the encoder receives it (`pipe_format`):
    clipped, scaled and rounded to 8 or 16-bit integers."""
    peak, dtype = (255.0, np.uint8) if bit_depth <= 8 else (65535.0, np.dtype("<u2"))
    data = np.empty(frame.shape, np.float32)
    np.clip(frame, 0.0, 1.0, out=data)
    data *= peak
    data += 0.5
    return data.astype(dtype)


class PipeEncoder:
    """An ffmpeg process that reads raw frames on its stdin and writes one file atomically.

    The file is written under the temporary name ``tmp`` and renamed to ``path`` by
    `finish`, after ``before_replace`` (the folder's ledger, `core.ownership`) has seen the
    complete file. Use: ``start()``, ``write_pixels(frame)`` per frame, ``finish()``;
    ``abort()`` on any failure or interruption (idempotent, also after ``finish``).
    Subclasses say what ffmpeg runs (`command`).
    """

    def __init__(self, path: Path, tmp: Path, before_replace: Callable[[str], None] | None = None) -> None:
        self.path, self.tmp = Path(path), Path(tmp)
        self.before_replace = before_replace
        self.frames = 0
        self._proc: subprocess.Popen | None = None
        self._log = None

    def command(self) -> list[str]:
        """The ffmpeg command line (it writes to `tmp`)."""
        raise NotImplementedError

    def start(self) -> None:
        """Start ffmpeg."""
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - ffmpeg writes its log there until finish/abort
        self._proc = subprocess.Popen(self.command(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                      stderr=self._log)

    def write_pixels(self, pixels: np.ndarray) -> None:
        """Append one frame already in the pipe's format (`pipe_pixels`)."""
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.write(pixels.tobytes())
        except (BrokenPipeError, OSError):
            self._fail()
        self.frames += 1

    def finish(self) -> None:
        """Close the input, wait for ffmpeg and move the file to its final name."""
        assert self._proc is not None and self._proc.stdin is not None
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        if self._proc.wait() != 0:
            self._fail()
        with open(self.tmp, "rb+") as f:
            os.fsync(f.fileno())
        if self.before_replace is not None:
            self.before_replace(str(self.tmp))
        os.replace(self.tmp, self.path)
        self._close_log()

    def abort(self) -> None:
        """Stop ffmpeg and delete the temporary file."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.tmp)
        self._close_log()

    def _fail(self) -> None:
        self._proc.wait()
        reason, log = "unknown error", ""
        if self._log is not None:
            self._log.seek(0)
            log = self._log.read().decode("utf-8", "replace")
            reason = error_reason(log)
        self.abort()
        if "No space left on device" in log or "Disk quota exceeded" in log:
            # the machine's problem, not ffmpeg's: callers map ENOSPC to a full-disk message
            raise OSError(errno.ENOSPC, f"ffmpeg could not write {self.path.name}: {reason}", str(self.path))
        raise RuntimeError(f"ffmpeg could not encode {self.path.name}: {reason}")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class MovieEncoder(PipeEncoder):
    """Pipes frames to ffmpeg and produces the movie atomically (see module docstring).

    ``before_replace`` is called with the finished temporary movie just before it is
    renamed into place (the folder's ledger records it there, `core.ownership`).

    Use: ``start()``, ``write(frame)`` per frame, then ``finish()``; ``abort()`` on any
    failure or interruption (idempotent, also after ``finish``).
    """

    def __init__(self, path: Path, muxer: str, width: int, height: int, fps: Fraction,
                 video: VideoFormat, *, audio: AudioPlan | None = None, audio_source: str | None = None,
                 video_offset: Fraction = Fraction(0),
                 before_replace: Callable[[str], None] | None = None) -> None:
        path = Path(path)
        part = f".{path.stem}.segue-part-{os.getpid()}-{secrets.token_hex(3)}{path.suffix}"
        super().__init__(path, path.parent / part, before_replace)
        self.muxer = muxer
        self.width, self.height = width, height
        self.fps = fps
        self.video = video
        self.audio = audio or AudioPlan("none")
        self.audio_source = audio_source
        self.video_offset = video_offset
        self._pipe_fmt = pipe_format(video.bit_depth)

    def command(self) -> list[str]:
        """The ffmpeg command line."""
        cmd = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
               "-f", "rawvideo", "-pix_fmt", self._pipe_fmt, "-s", f"{self.width}x{self.height}",
               "-framerate", format_rate(self.fps)]
        if self.video_offset:
            # Keep the video where it was relative to the audio (a stream that starts late).
            cmd += ["-itsoffset", f"{float(self.video_offset):.6f}"]
        cmd += ["-i", "pipe:0"]
        if self.audio.mode != "none" and self.audio_source:
            cmd += input_args(self.audio_source)  # the source movie, opened as every user file is
        cmd += ["-map", "0:v:0", "-vf", encode_filters(self.video.colour, self.video.pix_fmt),
                *self.video.args, "-fps_mode", "passthrough"]
        if self.audio.mode != "none" and self.audio_source:
            cmd += self.audio.args
        if self.muxer in ("mp4", "mov"):
            cmd += ["-movflags", "+faststart"]
        return [*cmd, "-f", self.muxer, "file:" + os.path.abspath(self.tmp)]

    def start(self) -> None:
        """Start ffmpeg (removing temporaries of dead earlier runs first)."""
        clean_stale_parts(self.path)
        super().start()

    def write(self, frame: np.ndarray) -> None:
        """Append one float32 ``(H, W, 3)`` R'G'B' frame in [0, 1] (clipped, rounded)."""
        self.write_pixels(pipe_pixels(frame, self.video.bit_depth))


def clean_stale_parts(path: Path) -> None:
    """Delete temporaries of earlier runs to ``path`` whose process no longer exists."""
    pattern = re.compile(rf"^\.{re.escape(path.stem)}\.segue-part-(\d+)-[0-9a-f]+{re.escape(path.suffix)}$")
    with contextlib.suppress(OSError):
        for entry in os.listdir(path.parent):
            m = pattern.match(entry)
            if m and not _alive(int(m.group(1))) and file_stamp(path.parent / entry) is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path.parent / entry)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
