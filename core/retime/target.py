"""Where a retime writes: a movie file, an image-sequence pattern or a folder of frames.

``OUTPUT`` is read as:

* a movie when its extension is one of `encode.CONTAINERS` (``.mp4``, ``.m4v``,
  ``.mov``, ``.mkv``); the codec is the container's default or ``--codec``;
* a sequence pattern when its file name holds a frame-number token (``shot.%04d.png``,
  ``shot.####.exr``); the format follows the extension (png, tif/tiff, exr);
* otherwise a folder, filled with ``frame_000001.<ext>`` ... in ``--codec png|tiff|exr``
  (PNG by default).

Output frames are numbered from 1. The run's JSON report is written next to the output:
``NAME.EXT.json`` beside a movie, ``retime.json`` in a sequence's folder.

What may be replaced (`check_replaceable`, `check_not_input`): an existing movie only with
``--overwrite`` and only if the folder's ledger proves Segue wrote it (`core.ownership`);
never a file of the input, whatever the options.
"""
from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from segue.core.errors import InputError
from segue.core.media.encode import CONTAINERS, MOVIE_CODECS
from segue.core.ownership import Ledger

IMAGE_CODECS = {"png": ".png", "tiff": ".tif", "exr": ".exr"}
_IMAGE_EXT = {".png": "png", ".tif": "tiff", ".tiff": "tiff", ".exr": "exr"}
#: a frame-number token in a sequence pattern (``%04d``, ``####``)
TOKEN = re.compile(r"%(0?\d*)d|#+")
SEQUENCE_REPORT = "retime.json"
STATE_FILE = ".segue-retime-state.json"


@dataclass(frozen=True)
class Target:
    """A resolved output. ``template`` is a ``str.format`` name for frame numbers (sequences)."""

    path: Path
    kind: str  # "movie" or "sequence"
    codec: str  # h264 / prores / ffv1 or png / tiff / exr
    muxer: str | None = None
    folder: Path | None = None
    template: str | None = None

    def frame_path(self, number: int) -> Path:
        """The file of 1-based output frame ``number`` (sequences)."""
        assert self.folder is not None and self.template is not None
        return self.folder / self.template.format(number)

    def names_frame(self, name: str) -> bool:
        """True if ``name`` is the file name of one of this sequence's frames."""
        assert self.template is not None
        prefix, rest = self.template.split("{", 1)
        suffix = rest.split("}", 1)[1]
        unescape = lambda text: text.replace("{{", "{").replace("}}", "}")  # noqa: E731
        return re.fullmatch(re.escape(unescape(prefix)) + r"[0-9]+" + re.escape(unescape(suffix)), name) is not None

    @property
    def report_path(self) -> Path:
        if self.kind == "movie":
            return self.path.with_name(self.path.name + ".json")
        assert self.folder is not None
        return self.folder / SEQUENCE_REPORT


def resolve_target(output: str, codec: str | None = None) -> Target:
    """Interpret ``OUTPUT`` and ``--codec`` (see module docstring); `InputError` if they disagree."""
    if not str(output).strip():
        raise InputError("the output (-o) is empty")
    path = Path(output)
    ext = path.suffix.lower()
    if codec is not None and codec not in MOVIE_CODECS and codec not in IMAGE_CODECS:
        raise InputError(f"--codec {codec}: unknown (choose {', '.join([*MOVIE_CODECS, *IMAGE_CODECS])})")
    if ext in CONTAINERS and not TOKEN.search(path.name):
        muxer, default, allowed = CONTAINERS[ext]
        chosen = codec or default
        if chosen not in allowed:
            raise InputError(f"--codec {chosen} cannot be written to a {ext} file (use {', '.join(allowed)})")
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a movie file name")
        return Target(path, "movie", chosen, muxer=muxer)
    token = TOKEN.search(path.name)
    if token:
        fmt = _IMAGE_EXT.get(ext)
        if fmt is None:
            raise InputError(f"{output}: image sequences are written as .png, .tif or .exr "
                             f"(got {ext or 'no extension'})")
        if codec is not None and codec != fmt:
            raise InputError(f"--codec {codec} does not match the pattern's {ext} extension")
        if len(TOKEN.findall(path.name)) != 1:
            raise InputError(f"{output}: a sequence pattern needs exactly one frame-number token")
        text = token.group(0)
        width = len(text) if text.startswith("#") else int(token.group(1) or 0)
        name = path.name
        def escape(text: str) -> str:
            return text.replace("{", "{{").replace("}", "}}")

        template = escape(name[:token.start()]) + f"{{:0{width}d}}" + escape(name[token.end():])
        return Target(path, "sequence", fmt, folder=path.parent, template=template)
    if ext in _IMAGE_EXT or ext in {".avi", ".webm", ".mxf", ".gif"}:
        raise InputError(f"{output}: give a movie (.mp4, .mov, .mkv), a pattern such as frame_%06d{ext or '.png'}"
                         " or a folder")
    if codec is not None and codec not in IMAGE_CODECS:
        raise InputError(f"--codec {codec} is a movie codec but {output} is a folder; "
                         "name a .mp4, .mov or .mkv file")
    fmt = codec or "png"
    return Target(path, "sequence", fmt, folder=path, template="frame_{:06d}" + IMAGE_CODECS[fmt])


def check_replaceable(target: Target, overwrite: bool) -> None:
    """`InputError` unless the files of ``target`` that exist now may be replaced.

    A movie may be replaced only with ``overwrite`` and only if Segue wrote it; its report
    (or a sequence's report and state file) only if Segue wrote it. A sequence's frames
    are judged by the render, which knows its identity.
    """
    folder = target.path.parent if target.kind == "movie" else target.folder
    if not folder.is_dir():
        return
    ledger = Ledger(folder)
    if target.kind == "movie" and os.path.lexists(target.path):
        if not overwrite:
            raise InputError(f"{target.path} already exists: pass --overwrite to replace an earlier output of Segue's")
        ledger.check_free([target.path.name], "Segue replaces only movies it wrote; choose another name")
    others = [target.report_path.name] if target.kind == "movie" else [SEQUENCE_REPORT, STATE_FILE]
    ledger.check_free(others, "choose another output name" if target.kind == "movie" else "choose an empty folder")


def check_not_input(target: Target, inputs: Iterable[str]) -> None:
    """`InputError` if ``target`` would write or remove one of the ``inputs`` files."""
    real = {os.path.realpath(path) for path in inputs}
    if target.kind == "movie":
        written = [target.path, target.report_path]
        if any(os.path.realpath(path) in real for path in written):
            raise InputError(f"{target.path}: the output is the input; Segue never writes over its own input, "
                             "choose another name")
        return
    assert target.folder is not None
    folder = os.path.realpath(target.folder)
    for path in real:
        name = os.path.basename(path)
        if os.path.dirname(path) == folder and (target.names_frame(name) or name == SEQUENCE_REPORT):
            raise InputError(f"{target.path}: the output would write over the input's frame {path}; "
                             "choose another folder or name")


def check_writable(target: Target) -> None:
    """Create the folder the output goes in; `InputError` if that fails or it is not writable."""
    folder = target.folder if target.kind == "sequence" else target.path.parent
    assert folder is not None
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the output folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK):
        raise InputError(f"output folder {folder} is not writable")
