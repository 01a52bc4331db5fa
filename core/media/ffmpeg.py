"""Find the ffmpeg executable and run it.

Which ffmpeg: the one Segue was tested with, the static build that ships inside the
``imageio-ffmpeg`` wheel (`bundled_ffmpeg`), unless ``$SEGUE_FFMPEG`` names another. An
``ffmpeg`` on ``$PATH`` is never picked up by itself: a distribution's older build changes
results (Debian 12's 5.1 decodes AAC end padding as sound, so a slow motion's audio ends
21 ms off) and a broken one fails with errors that would blame the user's file. A build named by
``$SEGUE_FFMPEG`` must be an executable file, and its version (``ffmpeg -version``, asked
once per process) at least `MIN_VERSION`; anything else is the user's setting to fix, so
`find_ffmpeg` raises `InputError` naming the variable and the path.

There is deliberately no ffprobe dependency: `core.media.movie` probes with ffmpeg
itself.

Every run that opens a user's media file opens it with `input_args`, and only so: ffmpeg
reads nothing but that file (no playlist, list or URL inside it leads anywhere else, so a
path policy such as the daemon's ``--allow-root`` holds for what ffmpeg reads too) and
decodes no frame over the pixel limit of `core.limits`. `refused_input` turns ffmpeg's
refusals into `InputError` messages that say why.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from fractions import Fraction
from pathlib import Path

from segue.core import limits
from segue.core.errors import InputError

ENV_VAR = "SEGUE_FFMPEG"
#: The oldest ffmpeg accepted (from ``$SEGUE_FFMPEG``, or bundled by an old imageio-ffmpeg).
#: What Segue passes and the release that has it: ``-fps_mode`` (every decode and encode)
#: 5.1; ``-max_pixels``, ``-format_whitelist``, ``-protocol_whitelist``, ``setparams``'
#: colour tags, ``atempo`` up to 100x: 4.x. The floor is higher than 5.1 because a build
#: Segue's tests cannot run against is not one it can claim to work with: the tests make
#: their rotated movie with ``-display_rotation``, new in 6.0 (Debian 12's 5.1.9: "Option
#: not found"). Measured with 5.1.9, 6.0 and 7.0.2, results still differ slightly from the
#: bundled 9.0 build's: they decode an AAC track's end padding as sound (a 2.000 s track
#: decodes to 2.005 s), so a 2x slow motion's stretched audio ends 21 ms off the length the
#: tests expect; hence the bundled build by default.
MIN_VERSION = (6, 0)
#: ``ffmpeg -version`` of a sane build answers in milliseconds; a hung one must not hang Segue.
_VERSION_TIMEOUT = 30.0
#: ffmpeg's major release from libavformat's major version: 58 is 4.x, 59 5.x, 60 6.x, 61 7.x...
_LAVF_OFFSET = 54
_versions: dict[str, tuple[int, int] | InputError] = {}
_versions_lock = threading.Lock()
_bundled: str | None = None
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

    ``$SEGUE_FFMPEG`` is read on every call (tests and long-lived daemons may change it);
    each executable's version is checked once per process. Raises `InputError` for a
    ``$SEGUE_FFMPEG`` that is not an executable file, not ffmpeg, or older than
    `MIN_VERSION`.
    """
    explicit = os.environ.get(ENV_VAR)
    if not explicit:
        return bundled_ffmpeg()
    if not (os.path.isfile(explicit) and os.access(explicit, os.X_OK)):
        raise InputError(f"{ENV_VAR}={explicit}: not an executable file")
    version = ffmpeg_version(explicit, f"{ENV_VAR}={explicit}")
    if version < MIN_VERSION:
        raise InputError(f"{ENV_VAR}={explicit}: ffmpeg {_dotted(version)} is older than {_dotted(MIN_VERSION)}, "
                         f"the oldest Segue runs with; name a newer build, or unset {ENV_VAR} to use the bundled one")
    return explicit


def bundled_ffmpeg() -> str:
    """The ffmpeg binary inside the installed ``imageio-ffmpeg`` package.

    Looked up in the package's own ``binaries`` folder rather than through
    ``imageio_ffmpeg.get_ffmpeg_exe()``, which would fall back to ``$IMAGEIO_FFMPEG_EXE`` or
    to any ``ffmpeg`` on ``$PATH`` (exactly the builds Segue was not tested with).
    `InputError` if the package has no binary for this platform.
    """
    global _bundled
    if _bundled is None:
        try:
            import imageio_ffmpeg
        except ImportError as exc:  # pragma: no cover - it is a declared dependency
            raise RuntimeError(f"ffmpeg not found: set {ENV_VAR} or install imageio-ffmpeg") from exc
        folder = Path(imageio_ffmpeg.__file__).parent / "binaries"
        found = sorted(p for p in folder.glob("ffmpeg*") if p.is_file() and os.access(p, os.X_OK))
        if not found:
            raise InputError(f"imageio-ffmpeg {imageio_ffmpeg.__version__} ships no ffmpeg for this platform "
                             f"({folder} holds none): set {ENV_VAR} to an ffmpeg {_dotted(MIN_VERSION)} or newer")
        # imageio-ffmpeg names its binaries by version ("ffmpeg-linux-x86_64-v9.0.2"): no
        # process is started to learn it. Its 0.5 wheels still shipped 4.2 for Linux.
        named = re.search(r"-v(\d+)\.(\d+)", found[-1].name)
        if named and (int(named.group(1)), int(named.group(2))) < MIN_VERSION:
            raise InputError(f"{found[-1]}: the ffmpeg of imageio-ffmpeg {imageio_ffmpeg.__version__} is older than "
                             f"{_dotted(MIN_VERSION)}: upgrade it (pip install -U imageio-ffmpeg) or set {ENV_VAR} "
                             "to a newer ffmpeg")
        _bundled = str(found[-1])
    return _bundled


def ffmpeg_version(exe: str, label: str | None = None) -> tuple[int, int]:
    """``(major, minor)`` of the ffmpeg at ``exe``, from its ``-version``; asked once per process.

    A development snapshot without a release number ("N-113000-g...") counts as the ``.0``
    release of its libavformat. Raises `InputError` naming ``label`` (default: the path)
    if ``exe`` does not run, fails, or does not describe itself as ffmpeg.
    """
    with _versions_lock:  # once per process, even when several workers start at the same time
        if exe not in _versions:
            try:
                _versions[exe] = _read_version(exe, label or exe)
            except InputError as exc:  # a build that hangs or fails is not asked again either
                _versions[exe] = exc
        found = _versions[exe]
    if isinstance(found, InputError):
        raise InputError(str(found)) from None  # a new one: the cached one's traceback stays as it was
    return found


def _read_version(exe: str, label: str) -> tuple[int, int]:
    try:
        proc = subprocess.run([exe, "-version"], capture_output=True, stdin=subprocess.DEVNULL,
                              timeout=_VERSION_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        raise InputError(f"{label}: `ffmpeg -version` did not answer within {_VERSION_TIMEOUT:g} s") from None
    except OSError as exc:
        raise InputError(f"{label}: cannot be run ({exc.strerror or exc})") from None
    out = proc.stdout.decode("utf-8", errors="replace")
    if proc.returncode != 0:
        why = (proc.stderr.decode("utf-8", errors="replace").strip().splitlines() or ["no message"])[-1]
        raise InputError(f"{label}: `ffmpeg -version` failed (exit {proc.returncode}: {why[:200]})")
    release = re.search(r"^ffmpeg version n?(\d+)\.(\d+)", out, re.MULTILINE)
    if release:
        return int(release.group(1)), int(release.group(2))
    lavf = re.search(r"^libavformat\s+(\d+)\.", out, re.MULTILINE)
    if out.startswith("ffmpeg version") and lavf:
        return int(lavf.group(1)) - _LAVF_OFFSET, 0
    first = (out.strip().splitlines() or ["nothing"])[0]
    raise InputError(f"{label}: not an ffmpeg Segue can use (`-version` printed {first[:120]!r})")


def _dotted(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


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


def read_raw_frames(args: Sequence[str], frame_bytes: int,
                    on_error: Callable[[str, int], Exception]) -> Iterator[bytes]:
    """Run ffmpeg with ``args`` (raw frames to ``pipe:1``) and yield each frame's bytes.

    If ffmpeg fails, raises ``on_error(log, frames delivered)``. Closing the generator
    early stops ffmpeg; a trailing part frame is dropped.
    """
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(list(args), stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
        delivered = 0
        try:
            assert proc.stdout is not None
            while len(data := proc.stdout.read(frame_bytes)) == frame_bytes:
                delivered += 1
                yield data
            code = proc.wait()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if code != 0:
            log.seek(0)
            raise on_error(log.read().decode("utf-8", "replace"), delivered)


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
