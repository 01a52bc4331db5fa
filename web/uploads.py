"""Clips the browser uploads: streamed to disk under the page's root, probed, described.

An upload gets a folder of its own, ``ROOT/uploads/<id>`` (a random id), and the file in
it a name the server makes (``clip`` plus the extension of a type Segue reads); the
browser's file name is kept only as text to show. So nothing the browser sends is ever
used as a path on disk. The file is written under a temporary name while it streams,
refused past `UploadStore.max_bytes` (from the declared length before a byte is stored,
and again while reading), then probed with the engine's own readers (a movie's or image's
header: `core.media.open_clip`, with its frame-size limit) before it is kept. A refused
upload leaves nothing behind: its folder is removed with the message that says why.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import BinaryIO

import cv2

from segue.core.color import ColorManager
from segue.core.engine import to_uint8
from segue.core.errors import InputError
from segue.core.media import open_clip

#: file types the page takes, by extension: movies and still images
MOVIES = (".mp4", ".mov", ".mkv", ".m4v", ".avi", ".webm")
IMAGES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr")
ID = re.compile(r"[0-9a-f]{32}")
CHUNK = 1 << 20
META = "upload.json"
#: width of a scrubber's frame thumbnail, pixels
THUMB_WIDTH = 240


class Refused(Exception):
    """A request the page turns down; ``message`` is for the person at the browser, ``status`` the HTTP code."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Upload:
    """One kept upload, as the page shows it."""

    id: str
    name: str
    kind: str
    width: int
    height: int
    frames: int
    fps: str | None
    duration: float | None
    colorspace: str
    bytes: int

    @property
    def public(self) -> dict:
        """What the browser gets (no path)."""
        return asdict(self)


def display_name(name: str) -> str:
    """The browser's file name as text to show: its last component, printable, at most 120 characters."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if c.isprintable()).strip() or "clip"
    return name if len(name) <= 120 else name[:80] + "..." + name[-37:]


class UploadStore:
    """The uploads under ``root/uploads``, at most ``max_bytes`` each."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.folder = Path(root) / "uploads"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_bytes = max_bytes
        self._colour: ColorManager | None = None  # for thumbnails; loaded on the first

    def receive(self, name: str, length: int | None, body: BinaryIO,
                on_bytes: Callable[[int], None] | None = None) -> Upload:
        """Store ``length`` bytes of ``body`` as the upload ``name`` (display only); probe it.

        Raises `Refused` (with nothing left on disk) for a type Segue does not read, a size
        over the limit, a stream shorter than it said, or a file the readers refuse.
        """
        shown = display_name(name)
        extension = os.path.splitext(shown)[1].lower()
        if extension not in MOVIES + IMAGES:
            raise Refused(f"{shown}: not a file type Segue reads; give a movie ({', '.join(MOVIES)}) or an image "
                          f"({', '.join(IMAGES)})", 415)
        if length is None:
            raise Refused("the upload did not say its size (Content-Length)", 411)
        if length > self.max_bytes:
            raise Refused(f"{shown} is {_size(length)}; this page takes files up to {_size(self.max_bytes)} "
                          "(segue web --max-upload-mb)", 413)
        upload_id = secrets.token_hex(16)
        folder = self.folder / upload_id
        folder.mkdir()
        try:
            path = folder / f"clip{extension}"
            self._copy(body, length, folder / f".clip{extension}.part", path, shown, on_bytes)
            try:
                clip = open_clip(path)
            except InputError as exc:
                reason = str(exc).replace(str(path), shown)
                raise Refused(f"{shown}: Segue cannot use this file: {reason}", 422) from None
            fps = None if clip.fps is None else str(clip.fps)
            duration = None if clip.fps is None else round(clip.frame_count / float(clip.fps), 3)
            upload = Upload(upload_id, shown, clip.kind, clip.width, clip.height, clip.frame_count, fps, duration,
                            clip.colorspace or "", length)
            (folder / META).write_text(json.dumps(asdict(upload)), encoding="utf-8")
            return upload
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def _copy(self, body: BinaryIO, length: int, part: Path, path: Path, shown: str,
              on_bytes: Callable[[int], None] | None) -> None:
        left = length
        with open(part, "xb") as out:
            while left > 0:
                data = body.read(min(CHUNK, left))
                if not data:
                    raise Refused(f"{shown}: the upload stopped after {_size(length - left)} of {_size(length)}")
                out.write(data)
                left -= len(data)
                if on_bytes:
                    on_bytes(length - left)
        os.replace(part, path)

    def get(self, upload_id: str) -> tuple[Upload, Path]:
        """The upload and its file; `Refused` (404) if there is no such upload."""
        if not isinstance(upload_id, str) or not ID.fullmatch(upload_id):
            raise Refused("no such upload", 404)
        folder = self.folder / upload_id
        try:
            upload = Upload(**json.loads((folder / META).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            raise Refused("no such upload (it was deleted, or the page's folder was cleaned)", 404) from None
        return upload, next(folder.glob("clip.*"))

    def thumbnail(self, upload_id: str, index: int, width: int = THUMB_WIDTH) -> Path:
        """Frame ``index`` of an upload as a PNG ``width`` pixels wide, shown as a display shows
        the working space (sRGB-encoded Rec.709); made once, then kept beside the upload."""
        upload, path = self.get(upload_id)
        if not 0 <= index < upload.frames:
            raise Refused(f"{upload.name} has frames 0 to {upload.frames - 1}, not {index}", 404)
        thumb = self.folder / upload_id / "thumbs" / f"{index:06d}_{width}.png"
        if not thumb.is_file():
            self._colour = self._colour or ColorManager(None)
            frame = to_uint8(self._colour.to_working(open_clip(path).read_frame(index), upload.colorspace))
            height = max(2, round(frame.shape[0] * width / frame.shape[1]))
            small = cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
            thumb.parent.mkdir(exist_ok=True)
            _, data = cv2.imencode(".png", cv2.cvtColor(small, cv2.COLOR_RGB2BGR))
            part = thumb.with_name(f".{thumb.name}.part")
            part.write_bytes(data.tobytes())
            part.replace(thumb)
        return thumb

    def delete(self, upload_id: str) -> None:
        """Remove an upload and its file."""
        self.get(upload_id)
        shutil.rmtree(self.folder / upload_id)


def _size(n: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"
