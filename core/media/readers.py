"""`open_clip`: turn whatever the user named into a `Clip`.

Decision order, first match wins:

1. a sequence pattern (``%04d`` / ``%d`` / ``####`` in the file name) -> sequence;
2. an existing folder -> sequence of its image files;
3. an image extension (png, jpg, jpeg, tif, tiff, exr) -> still;
4. a movie extension (mp4, mov, mkv, avi, webm, mxf, ...) -> movie.

Anything else is an `InputError` naming the source, as is a missing file.
"""

from __future__ import annotations

import os

from segue.core.errors import InputError
from segue.core.media.clip import Clip
from segue.core.media.images import IMAGE_EXTENSIONS
from segue.core.media.movie import MOVIE_EXTENSIONS, MovieClip
from segue.core.media.sequence import (
    ImageClip,
    find_folder_files,
    find_pattern_files,
    is_pattern,
)


def open_clip(source: str | os.PathLike[str], colorspace: str | None = None) -> Clip:
    """Open a movie, image-sequence pattern, folder of frames or still image.

    Args:
        source: the path as the user gave it; messages quote it verbatim.
        colorspace: the source's declared colourspace (any name or alias of the
            OCIO config in use); None picks the default for the data type (see
            `core.color.default_colorspace`).

    Returns:
        A `Clip`; see `core.media.clip` for the pixel contract of ``read_frame``.

    Raises:
        InputError: missing, unreadable, corrupt or unsupported source.
    """
    path = os.fspath(source)
    if not isinstance(path, str) or not path:
        raise InputError(f"{source!r}: not a file name")
    if not os.path.exists(path) and is_pattern(path):
        files, numbers = find_pattern_files(path)
        return ImageClip(path, files, "sequence", colorspace, numbers)
    if os.path.isdir(path):
        return ImageClip(path, find_folder_files(path), "sequence", colorspace)
    ext = os.path.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return ImageClip(path, [path], "still", colorspace)
    if ext in MOVIE_EXTENSIONS:
        return MovieClip(path, colorspace)
    if not os.path.exists(path):
        raise InputError(f"{path}: no such file or folder")
    known = ", ".join(sorted(e[1:] for e in IMAGE_EXTENSIONS | MOVIE_EXTENSIONS))
    raise InputError(
        f"{path}: unsupported extension {ext or '(none)'!r} (supported: {known})"
    )
