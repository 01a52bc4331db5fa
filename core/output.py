"""Output helpers: frame file names, atomic text files, the contact sheet.

Every file Segue produces appears under its final name only when complete: it is
written to a temporary name in the same folder and renamed (an atomic replace on one
filesystem), so a killed job never leaves a half file that looks finished.
"""
from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from segue.core.errors import InputError

EXTENSIONS = {"png": ".png", "exr": ".exr", "tiff": ".tif"}


def frame_name(index: int, fmt: str) -> str:
    """``frame_0001.png`` for 1-based ``index`` (the transition's frame files)."""
    return f"frame_{index:04d}{EXTENSIONS[fmt]}"


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "",
                before_replace: Callable[[str], None] | None = None) -> Iterator[str]:
    """A temporary path beside ``path`` that becomes ``path`` when the block succeeds.

    The caller writes the complete file to the yielded path; on success it is flushed to
    disk, handed to ``before_replace`` (a `core.ownership.Ledger` records it there) and
    renamed over ``path`` (atomic on POSIX and Windows within one filesystem); on any
    error it is removed. A process killed mid-write leaves at most a hidden
    ``.<name>.tmp-*`` file, never a truncated file under the final name. The file gets
    the usual umask-derived mode (not mkstemp's 0600), so other accounts can read it.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(folder, f".{name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}")
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666))
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        if before_replace is not None:
            before_replace(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes,
                       before_replace: Callable[[str], None] | None = None) -> None:
    """Write ``data`` to ``path`` atomically (see `atomic_path`)."""
    with atomic_path(path, before_replace=before_replace) as tmp, open(tmp, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike[str], text: str,
                      before_replace: Callable[[str], None] | None = None) -> None:
    """Write UTF-8 ``text`` atomically (see `atomic_path`)."""
    atomic_write_bytes(path, text.encode("utf-8"), before_replace)


def prepare_folder(folder: str | os.PathLike[str]) -> Path:
    """Create the output folder if needed and check it is writable (else `InputError`)."""
    path = Path(folder)
    if path.exists() and not path.is_dir():
        raise InputError(f"output folder {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".segue-probe-", delete=True)
        probe.close()
    except OSError as exc:
        raise InputError(f"output folder {path} is not writable: {exc.strerror or exc}") from None
    return path


def contact_sheet(images: list[np.ndarray], labels: list[str], path: str | os.PathLike[str],
                  thumb_width: int = 320, per_row: int = 5,
                  before_replace: Callable[[str], None] | None = None) -> None:
    """A PNG grid of uint8 RGB ``images`` with a caption under each, written atomically.

    ``before_replace`` as for `atomic_path` (a ledger's recorder).
    """
    h, w = images[0].shape[:2]
    tw, th = thumb_width, max(1, round(h * thumb_width / w))
    caption, pad = 22, 6
    rows = (len(images) + per_row - 1) // per_row
    cols = min(per_row, len(images))
    sheet = np.full((rows * (th + caption + pad) + pad, cols * (tw + pad) + pad, 3), 24, np.uint8)
    for i, (image, label) in enumerate(zip(images, labels)):
        r, c = divmod(i, per_row)
        y, x = pad + r * (th + caption + pad), pad + c * (tw + pad)
        sheet[y:y + th, x:x + tw] = cv2.resize(image, (tw, th), interpolation=cv2.INTER_AREA)
        cv2.putText(sheet, label, (x + 2, y + th + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    ok, png = cv2.imencode(".png", cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    if not ok:
        raise RuntimeError("PNG encoding of the contact sheet failed")
    atomic_write_bytes(path, png.tobytes(), before_replace=before_replace)
