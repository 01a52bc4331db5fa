"""What a movie file holds, learned from the ffmpeg executable alone (there is no ffprobe).

The one probe of a movie, for the frame-accurate clip reader (`core.media.movie`) and the
whole-clip source of a retime (`core.media.source`) alike. One ffmpeg run gives:

* the video stream's packets copied to a ``framecrc`` listing (no decoding): the frame
  count and every frame's exact presentation time ``pts * time_base`` and duration;
* its first frame decoded through ``showinfo``: decoded size, pixel format, the frame
  rate ffmpeg guessed for the stream, and the colour tags (range, matrix, primaries,
  transfer) that ffprobe would show;
* the ``Stream #0:n`` lines of the input header: codec names and audio streams.

Limitation: the frame count is the packet count, which equals the decoded frame count
for the usual codecs and containers; streams whose decoder drops leading frames (HEVC
RASL pictures after an open-GOP start) can differ.

`decoded_audio_seconds` decodes an audio stream to count its samples, as a player would.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fractions import Fraction

from segue.core.errors import InputError
from segue.core.limits import check_frame_size
from segue.core.media.ffmpeg import FFmpegError, input_args, refused_input, run_ffmpeg

_AV_PKT_FLAG_DISCARD = 0x4
_NOPTS = -(2**63)


@dataclass(frozen=True)
class ColourTags:
    """A video stream's colour description as ffmpeg names it; None where unspecified."""

    range: str | None = None  # "tv" (limited) or "pc" (full)
    matrix: str | None = None  # "bt709", "smpte170m", "bt470bg", "bt2020nc", ...
    primaries: str | None = None  # "bt709", "bt2020", "smpte170m", ...
    transfer: str | None = None  # "bt709", "smpte2084", "arib-std-b67", "iec61966-2-1", ...


@dataclass(frozen=True)
class AudioStream:
    """One audio stream of the file (``index`` counts audio streams only, from 0)."""

    index: int
    codec: str
    sample_rate: int
    channels: str


@dataclass(frozen=True)
class MovieInfo:
    """What a movie holds: its first video stream (size, pixels, timing, colour tags) and audio streams."""

    path: str
    codec: str
    width: int
    height: int
    pix_fmt: str
    bit_depth: int
    is_float: bool
    fps: Fraction | None  # the stream's nominal rate (what ffmpeg guessed for it)
    frame_count: int  # packets, i.e. frames a full decode delivers for usual codecs
    times: tuple[Fraction, ...] | None  # sorted presentation times (s), None if unusable
    durations: tuple[Fraction, ...] | None  # per-frame durations in presentation order
    colour: ColourTags
    audio: tuple[AudioStream, ...] = field(default_factory=tuple)

    @property
    def is_rgb(self) -> bool:
        """True for RGB pixel formats (no YUV matrix or range applies)."""
        return bool(re.match(r"(gbr|rgb|bgr|argb|abgr|0rgb|rgb0|bgr0|x2rgb|x2bgr)", self.pix_fmt))

    @property
    def chroma(self) -> str:
        """``"420"``, ``"422"``, ``"444"`` or ``"rgb"`` (others map to the nearest of those)."""
        if self.is_rgb:
            return "rgb"
        fmt = self.pix_fmt
        if re.match(r"(yuvj?|yuva)444|ayuv|vuya|xv3|y41", fmt) or fmt.startswith(("gray", "ya")):
            return "444"
        if re.match(r"(yuvj?|yuva)422|yuyv|uyvy|y21|nv16|nv20|p21", fmt):
            return "422"
        return "420"


def probe_movie(path: str) -> MovieInfo:
    """Probe ``path`` (see module docstring). `InputError` if it is not a readable movie."""
    listing, log = probe_run(path)
    header = log.split("Stream mapping:")[0]
    video = re.search(r"Stream #0:\d+\S*: Video: (\w+)", header)
    count, times, durations = parse_packets(listing)
    if count == 0 or video is None:
        raise InputError(f"{path}: video has no frames")
    pix_fmt, width, height = first_frame(path, log)
    bit_depth, is_float = pix_fmt_depth(pix_fmt)
    fps = stream_rate(log)
    return MovieInfo(path, video.group(1), width, height, pix_fmt, bit_depth, is_float, fps, count,
                     times, durations, _parse_colour(log), _parse_audio(header))


def probe_run(path: str) -> tuple[str, str]:
    """The one probe run of ffmpeg over ``path``: (framecrc packet listing, info log).

    Checks the file
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


def parse_packets(listing: str) -> tuple[int, tuple[Fraction, ...] | None, tuple[Fraction, ...] | None]:
    """Frame count, sorted presentation times and their durations from a ``framecrc`` packet listing.

    Packets the decoder will drop (edit lists) do not count. Times and durations are None
    when the packets carry no usable timestamps (missing or repeated): frames are then
    found by decode count instead of seeks.
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


def _parse_colour(log: str) -> ColourTags:
    """The colour tags showinfo printed for the first frame."""
    def tag(key: str) -> str | None:
        m = re.search(rf"\b{key}:(\S+)", log)
        value = m.group(1) if m else None
        return None if value in (None, "unknown", "unspecified", "reserved") else value

    return ColourTags(tag("color_range"), tag("color_space"), tag("color_primaries"), tag("color_trc"))


def _parse_audio(header: str) -> tuple[AudioStream, ...]:
    found = []
    for k, m in enumerate(re.finditer(r"Stream #0:\d+\S*: Audio: (\w+)[^,\n]*, (\d+) Hz, ([^,\n]+)", header)):
        found.append(AudioStream(k, m.group(1), int(m.group(2)), m.group(3).strip()))
    return tuple(found)


def decoded_audio_seconds(path: str, stream: int = 0) -> tuple[int, Fraction]:
    """``(samples, seconds)`` of audio stream ``stream`` as a decoder delivers it.

    Decodes to mono 16-bit PCM at the stream's own rate and counts the bytes: encoder
    priming and padding that the container says to drop are dropped, as a player would.
    """
    info = probe_movie(path)
    if stream >= len(info.audio):
        raise InputError(f"{path}: no audio stream {stream}")
    rate = info.audio[stream].sample_rate
    data, _ = run_ffmpeg([*input_args(path), "-map", f"0:a:{stream}", "-ac", "1", "-f", "s16le",
                          "-acodec", "pcm_s16le", "pipe:1"])
    samples = len(data) // 2
    return samples, Fraction(samples, rate)
