"""Find the ffmpeg executable and run it.

Lookup order (first hit wins):

1. ``$SEGUE_FFMPEG`` — an explicit path; if it is set but not an executable file
   that is the user's mistake, so it raises `InputError` naming the variable.
2. ``ffmpeg`` on ``$PATH`` — a system build usually decodes more codecs.
3. ``imageio_ffmpeg.get_ffmpeg_exe()`` — the static build that ships as a wheel,
   so a plain ``pip install`` always has a working ffmpeg.

There is deliberately no ffprobe dependency: `core.media.movie` probes with ffmpeg
itself. ffmpeg >= 5.1 is required (``-fps_mode``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Sequence

from core.errors import InputError

ENV_VAR = "SEGUE_FFMPEG"


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
