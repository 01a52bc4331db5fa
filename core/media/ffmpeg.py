"""Find the ffmpeg executable and run it.

Lookup order (first hit wins):

1. ``$SEGUE_FFMPEG`` — an explicit path; if it is set but not an executable file
   that is the user's mistake, so it raises `InputError` naming the variable.
2. ``ffmpeg`` on ``$PATH`` — a system build usually decodes more codecs.
3. ``imageio_ffmpeg.get_ffmpeg_exe()`` — the static build that ships as a wheel,
   so a plain ``pip install`` always has a working ffmpeg.

There is deliberately no ffprobe dependency: `core.media.movie` probes with ffmpeg
itself. ffmpeg >= 5.1 is required (``-fps_mode``).

Every run that opens a user's media file opens it with `input_args`, and only so: ffmpeg
reads nothing but that file (no playlist, list or URL inside it leads anywhere else, so a
path policy such as the daemon's ``--allow-root`` holds for what ffmpeg reads too) and
decodes no frame over the pixel limit of `core.limits`. `refused_input` turns ffmpeg's
refusals into `InputError` messages that say why.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from fractions import Fraction

from segue.core import limits
from segue.core.errors import InputError

ENV_VAR = "SEGUE_FFMPEG"
#: The demuxers user media may be read with: self-contained containers only. Names are
#: ffmpeg's; one matches any comma-separated part of a demuxer's name ("mov" is
#: "mov,mp4,m4a,3gp,3g2,mj2"). Left out on purpose: formats that open other files or URLs
#: (hls, dash, concat/ffconcat, imf), image patterns (image2), stream descriptions (sdp,
#: rtp, rtsp) and devices (lavfi, x11grab, ...). The mov demuxer can follow external data
#: references (``dref`` atoms) only with ``enable_drefs``, which is off by default and
#: never set here.
MOVIE_DEMUXERS = (
    "mov",  # .mp4 .m4v .mov .3gp
    "matroska",  # .mkv .webm
    "avi", "mxf", "asf", "flv", "ogg", "dv", "nut", "gif",  # .wmv is asf, .ogv ogg
    "mpeg", "mpegts",  # .mpg .mpeg .vob; .ts .m2ts .mts
    "yuv4mpegpipe",  # .y4m
    "mpegvideo", "m4v",  # raw MPEG-1/2 and MPEG-4 video streams saved as .mpg / .m4v
)  # fmt: skip
#: Refused formats worth a sentence of their own (others are named by ffmpeg's name).
_REFERENCING = {
    "hls": "an HLS playlist, which references other files",
    "concat": "an ffconcat list, which references other files",
    "dash": "a DASH manifest, which references other files",
    "imf": "an IMF composition playlist, which references other files",
    "sdp": "an SDP session description, which references network streams",
}
_SELF_CONTAINED = "Segue reads only self-contained movie files"


class FFmpegError(RuntimeError):
    """ffmpeg exited with an error. `reason` is its most telling stderr line."""

    def __init__(self, returncode: int, reason: str, stderr: str) -> None:
        super().__init__(f"ffmpeg failed ({returncode}): {reason}")
        self.returncode = returncode
        self.reason = reason
        self.stderr = stderr


def find_ffmpeg() -> str:
    """Return the path of the ffmpeg executable to use (see module docstring).

    Not cached: the environment may change between calls (tests, long-lived daemons)
    and a lookup costs microseconds next to spawning ffmpeg.
    """
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
            return explicit
        raise InputError(f"{ENV_VAR}={explicit}: not an executable file")
    on_path = shutil.which("ffmpeg")
    if on_path:
        return on_path
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - it is a declared dependency
        raise RuntimeError(
            "ffmpeg not found: set SEGUE_FFMPEG or install imageio-ffmpeg"
        ) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def input_url(path: str | os.PathLike[str]) -> str:
    """The ``-i`` argument for a local file, immune to ffmpeg's own parsing.

    A bare name is misread when it starts with ``-`` (an option) or contains ``:``
    before any slash (a protocol such as ``a:b.mp4``); ``file:`` plus an absolute
    path is always the file itself.
    """
    return "file:" + os.path.abspath(path)


def input_args(path: str | os.PathLike[str]) -> list[str]:
    """Input options plus ``-i URL`` for a user's media file: the one way Segue opens one.

    * ``-protocol_whitelist file``: the file itself, and should a demuxer open anything
      more, local files only (no ``data:``, ``crypto:``, ``subfile:``, network...);
    * ``-format_whitelist`` `MOVIE_DEMUXERS`: a file that probes as anything else (an HLS
      playlist or an ffconcat list named ``x.mp4``) is refused after its first bytes,
      before ffmpeg follows what it names;
    * ``-max_pixels``: the decoder refuses frames over `core.limits.max_pixels`, so none
      is ever allocated;
    * `input_url`: the path is never parsed as an option, a protocol or a pattern.
    """
    return ["-protocol_whitelist", "file", "-format_whitelist", ",".join(MOVIE_DEMUXERS),
            "-max_pixels", str(limits.max_pixels()), "-i", input_url(path)]


def refused_input(path: str, stderr: str) -> InputError | None:
    """The `InputError` for a run that `input_args`' restrictions stopped, else None.

    ``stderr`` is the run's log. A refused format is named by one more run of ffmpeg that
    only probes the file (ffmpeg logs the detected format at debug level, then refuses it
    before reading on).
    """
    size = re.search(r"Picture size (\d+)x(\d+) exceeds specified max pixel count", stderr)
    if size:
        try:
            limits.check_frame_size(path, int(size.group(1)), int(size.group(2)))
        except InputError as exc:
            return exc
    protocol = re.search(r"Protocol '([^']*)' not on whitelist", stderr)
    if protocol:
        return InputError(f"{path}: refers to a {protocol.group(1)}: URL; {_SELF_CONTAINED}")
    if "Format not on whitelist" not in stderr:
        return None
    name = _probed_format(path)
    if name in _REFERENCING:
        return InputError(f"{path}: is {_REFERENCING[name]}; {_SELF_CONTAINED}")
    what = f"ffmpeg reads it as {name!r} data" if name else "ffmpeg does not recognise its format"
    return InputError(f"{path}: cannot read video ({what}, not a movie container; {_SELF_CONTAINED})")


def _probed_format(path: str) -> str | None:
    """ffmpeg's name for the format of ``path``, learned without reading past the probe."""
    try:
        run_ffmpeg(input_args(path), loglevel="debug")
    except FFmpegError as exc:
        found = re.search(r"Format (\S+) probed with size", exc.stderr)
        return found.group(1) if found else None
    return None


def run_ffmpeg(args: Sequence[str], *, loglevel: str = "error") -> tuple[bytes, str]:
    """Run ``ffmpeg <args>`` and return ``(stdout bytes, stderr text)``.

    Raises `FFmpegError` on a non-zero exit. ``-nostdin`` keeps ffmpeg from eating
    the caller's terminal input; ``loglevel`` is raised by callers that parse stderr.
    """
    cmd = [find_ffmpeg(), "-nostdin", "-hide_banner", "-loglevel", loglevel, *args]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    stderr = proc.stderr.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        raise FFmpegError(proc.returncode, error_reason(stderr), stderr)
    return proc.stdout, stderr


def error_reason(stderr: str) -> str:
    """The most useful single line of an ffmpeg error log.

    ffmpeg ends with generic lines ("Conversion failed!", "Error opening input
    files: ..."); the cause ("moov atom not found") is usually the last line that is
    not one of those. The ``[component @ 0x...]`` prefix is noise for a user message.
    """
    generic = (
        "conversion failed",
        "error opening input",
        "error opening output",
        "error parsing options",
        "exiting",
        "terminating thread",
    )
    lines = []
    for raw in stderr.splitlines():
        line = re.sub(r"^\[[^\]]*\]\s*", "", raw.strip())
        if line:
            lines.append(line)
    for line in reversed(lines):
        if not line.lower().startswith(generic):
            return line
    return lines[-1] if lines else "unknown error"


def format_rate(rate: Fraction) -> str:
    """``60000/1001`` or ``25`` (ffmpeg's syntax for ``-r``)."""
    return str(rate.numerator) if rate.denominator == 1 else f"{rate.numerator}/{rate.denominator}"
