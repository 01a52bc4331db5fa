"""Image-file clips: numbered sequences, folders of frames and single stills.

Sequence patterns name the frame number with one token in the file name:

* printf style: ``shot.%04d.png`` (zero-padded to 4 digits), ``shot.%d.png`` (any);
* hash style: ``shot.####.png`` — one ``#`` per digit of padding, as in Blender.

A padded pattern matches only numbers written with exactly that padding (or more
digits when the number needs them), so ``%04d`` takes ``0012`` but not ``12`` or
``00012``. Frames are the matching files ordered by number; clip index 0 is the
lowest number and gaps in the numbering are skipped, not filled.

A folder is a sequence of every image file in it, in natural order (``f2`` before
``f10``), hidden files ignored. All frames must share one image type.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import numpy as np

from segue.core.color import default_colorspace
from segue.core.errors import InputError
from segue.core.media.clip import Clip, ClipKind
from segue.core.media.images import IMAGE_EXTENSIONS, read_image, read_image_header

_PRINTF = re.compile(r"%(\d*)d")
_HASH = re.compile(r"#+")
# .jpg/.jpeg and .tif/.tiff are the same type for the "one type per folder" rule.
_SAME_TYPE = {".jpeg": ".jpg", ".tiff": ".tif"}


class ImageClip(Clip):
    """A clip made of image files: a sequence (pattern or folder) or a still.

    Attributes beyond `Clip`: ``files`` (absolute-or-as-given paths in clip order)
    and ``frame_numbers`` (the number in each file name; for a folder or still,
    simply 0..n-1).
    """

    def __init__(
        self,
        path: str,
        files: Sequence[str],
        kind: ClipKind,
        colorspace: str | None = None,
        frame_numbers: Sequence[int] | None = None,
    ) -> None:
        if not files:
            raise InputError(f"{path}: no frames")
        self.path = path
        self.kind = kind
        self.files = list(files)
        self.frame_numbers = (
            list(frame_numbers)
            if frame_numbers is not None
            else list(range(len(files)))
        )
        self.fps = None
        self.frame_count = len(self.files)
        # The first file's header only: opening decodes nothing (the daemon opens clips on
        # its request threads) and refuses a frame over core.limits before any decoder sees it.
        first = read_image_header(self.files[0], self._label(0))
        self.width, self.height = first.width, first.height
        self.bit_depth = first.bit_depth
        self.is_float = first.is_float
        self.colorspace = colorspace or default_colorspace(
            self.bit_depth, self.is_float
        )
        # One-slot cache: the frame read last, for callers that read a frame twice.
        self._cached: tuple[int, np.ndarray] | None = None

    def _label(self, index: int) -> str:
        if self.kind == "still":
            return self.path
        return f"{self.path}: frame {index} ({os.path.basename(self.files[index])})"

    def _read(self, index: int) -> np.ndarray:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1].copy()  # copy: callers may write into frames
        label = self._label(index)
        pixels = read_image(self.files[index], label).pixels
        if pixels.shape[:2] != (self.height, self.width):
            h, w = pixels.shape[:2]
            raise InputError(
                f"{label}: frame is {w}x{h}, clip is {self.width}x{self.height}"
            )
        self._cached = (index, pixels)
        return pixels.copy()


def is_pattern(path: str) -> bool:
    """True if the file name holds a frame-number token (``%04d``, ``%d`` or ``####``)."""
    name = os.path.basename(path)
    return bool(_PRINTF.search(name) or _HASH.search(name))


def find_pattern_files(pattern: str) -> tuple[list[str], list[int]]:
    """Files matching a sequence pattern, ordered by frame number, and their numbers.

    Raises `InputError` if the folder is missing, the pattern is malformed, or
    nothing matches.
    """
    folder, name = os.path.split(pattern)
    tokens = list(_PRINTF.finditer(name)) + list(_HASH.finditer(name))
    if len(tokens) != 1:
        raise InputError(
            f"{pattern}: a sequence pattern needs exactly one frame-number token"
        )
    token = tokens[0]
    if token.group(0).startswith("%"):
        spec = token.group(1)
        width = (
            int(spec) if spec.startswith("0") else 0
        )  # "%4d" pads with spaces: treat as %d
    else:
        width = len(token.group(0))
    prefix, suffix = name[: token.start()], name[token.end() :]
    ext = os.path.splitext(name)[1].lower()
    if ext not in IMAGE_EXTENSIONS:
        raise InputError(f"{pattern}: unsupported image extension {ext or '(none)'!r}")
    folder_or_cwd = folder or "."
    if not os.path.isdir(folder_or_cwd):
        raise InputError(f"{pattern}: folder {folder_or_cwd} does not exist")

    numbered: list[tuple[int, str]] = []
    for entry in os.listdir(folder_or_cwd):
        if not (entry.startswith(prefix) and entry.endswith(suffix)):
            continue
        digits = entry[len(prefix) : len(entry) - len(suffix)]
        if not re.fullmatch(r"[0-9]+", digits):
            continue
        number = int(digits)
        if f"{number:0{width}d}" != digits:  # wrong padding: another sequence's file
            continue
        numbered.append((number, os.path.join(folder, entry)))
    if not numbered:
        raise InputError(f"{pattern}: no files match the pattern")
    numbered.sort()
    return [f for _, f in numbered], [n for n, _ in numbered]


def find_folder_files(folder: str) -> list[str]:
    """Image files of a folder in natural order; `InputError` if none or mixed types."""
    try:
        entries = os.listdir(folder)
    except OSError as exc:
        raise InputError(f"{folder}: cannot list folder ({exc.strerror})") from None
    by_type: dict[str, list[str]] = {}
    for entry in entries:
        ext = os.path.splitext(entry)[1].lower()
        if entry.startswith(".") or ext not in IMAGE_EXTENSIONS:
            continue
        if not os.path.isfile(os.path.join(folder, entry)):
            continue
        by_type.setdefault(_SAME_TYPE.get(ext, ext), []).append(entry)
    if not by_type:
        kinds = ", ".join(sorted(e[1:] for e in IMAGE_EXTENSIONS))
        raise InputError(f"{folder}: folder has no image files ({kinds})")
    if len(by_type) > 1:
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_type.items()))
        raise InputError(
            f"{folder}: folder mixes image types ({counts}); use a pattern such as name.%04d.png"
        )
    (names,) = by_type.values()
    names.sort(key=lambda n: (natural_key(n), n))  # name breaks ties such as f1 / f01
    return [os.path.join(folder, n) for n in names]


def natural_key(name: str) -> list[int | str]:
    """Sort key that orders digit runs numerically: ``f2`` < ``f10``.

    ``re.split`` with a capture group puts digit runs at odd positions, so two keys
    always compare str with str and int with int.
    """
    return [
        int(t) if i % 2 else t.lower()
        for i, t in enumerate(re.split(r"([0-9]+)", name))
    ]
