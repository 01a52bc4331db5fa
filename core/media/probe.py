"""What a movie file holds, learned from the ffmpeg executable alone (there is no ffprobe).

One ffmpeg run gives everything a retime needs:

* the video stream's packets copied to a ``framecrc`` listing (no decoding): the frame
  count and every frame's exact presentation time ``pts * time_base`` and duration;
* its first frame decoded through ``showinfo``: decoded size, pixel format, the frame
  rate ffmpeg guessed for the stream, and the colour tags (range, matrix, primaries,
  transfer) that ffprobe would show;
* the ``Stream #0:n`` lines of the input header: codec names and audio streams.

`decoded_audio_seconds` decodes an audio stream to count its samples (the tests' check
of audio length; also what the report states).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from core.errors import InputError
from core.media.ffmpeg import input_args, run_ffmpeg
from core.media.movie import first_frame, parse_packets, pix_fmt_depth, probe_run, stream_rate


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
class MediaInfo:
    """The first video stream of a file, its audio streams, and timing."""

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


def probe_media(path: str) -> MediaInfo:
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
    return MediaInfo(path, video.group(1), width, height, pix_fmt, bit_depth, is_float, fps, count,
                     times, durations, _parse_colour(log), _parse_audio(header))


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
    info = probe_media(path)
    if stream >= len(info.audio):
        raise InputError(f"{path}: no audio stream {stream}")
    rate = info.audio[stream].sample_rate
    data, _ = run_ffmpeg([*input_args(path), "-map", f"0:a:{stream}", "-ac", "1", "-f", "s16le",
                          "-acodec", "pcm_s16le", "pipe:1"])
    samples = len(data) // 2
    return samples, Fraction(samples, rate)
