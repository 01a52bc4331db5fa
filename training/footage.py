"""Training pairs from the user's own footage: movies, image sequences, folders of frames
or folders of clips (`expand_clips`).

A *window* is 3 to 9 consecutive frames of one shot: its first and last frames are the
inputs and every frame in between is a target at t = k / (n - 1). Windows are skipped when
they are static (nothing to learn) or contain a scene cut (no correspondence). Frames are
converted to the working space (`core.color`) and randomly cropped (after a random
downscale when the frame is much larger than the crop, which also varies the motion size).
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from segue.core.cases import is_usable
from segue.core.engine import to_uint8
from segue.core.errors import InputError
from segue.training.photos import VALIDATION_ONLY


def expand_clips(paths: list[str]) -> list[str]:
    """The clips a footage source names: each path as given, except that a folder holding
    movie files stands for every movie in it and in its subfolders, sorted by path.

    A folder without movies stays a folder of frames (an image sequence); in a folder of
    clips, image files are not clips and are left out, as are hidden files (``.name``:
    macOS leaves ``._clip.mov`` companions on shared drives).
    """
    from segue.core.media.movie import MOVIE_EXTENSIONS

    clips: list[str] = []
    for p in paths:
        folder = Path(p).expanduser()
        movies = sorted(str(f) for f in folder.rglob("*")
                        if f.suffix.lower() in MOVIE_EXTENSIONS and not f.name.startswith(".") and f.is_file()
                        ) if folder.is_dir() else []
        clips.extend(movies or [p])
    return clips


Quad = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def footage_pairs(paths: list[str], crop: int, seed: int) -> Iterator[Quad]:
    """Endless ``(frame0, frame1, times, targets)`` uint8 crops from windows of the given clips.

    Clips are visited in turn; in each, windows of random length start at random frames.
    Deterministic for a given seed and set of files.
    """
    from segue.core.color import ColorManager
    from segue.core.media import open_clip

    paths = expand_clips(paths)
    for p in paths:
        if any(part in str(Path(p).expanduser().resolve()) for part in VALIDATION_ONLY):
            raise InputError(f"footage {p}: validation-only material must not be used for training")
    clips = [open_clip(str(Path(p).expanduser())) for p in paths]
    clips = [c for c in clips if c.frame_count >= 3 and min(c.width, c.height) >= crop // 2]
    if not clips:
        raise InputError(f"footage {paths}: no clip with at least 3 frames of at least {crop // 2} px")
    colour = ColorManager()
    rng = np.random.default_rng(seed)
    misses = 0
    while True:
        clip = clips[int(rng.integers(len(clips)))]
        n = int(rng.integers(3, min(9, clip.frame_count) + 1))
        start = int(rng.integers(clip.frame_count - n + 1))
        space = colour.resolve(clip.colorspace)
        frames = [colour.to_working(clip.read_frame(start + k), space) for k in range(n)]
        if not is_usable(frames):
            misses += 1
            if misses > 200:
                raise InputError(f"footage {paths}: no usable window found (all static or cut)")
            continue
        misses = 0
        h, w = frames[0].shape[:2]
        scale = rng.uniform(min(1.0, 1.2 * crop / min(h, w)), 1.0)
        size = (max(crop, round(w * scale)), max(crop, round(h * scale)))
        if size != (w, h):
            frames = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        y = int(rng.integers(size[1] - crop + 1))
        x = int(rng.integers(size[0] - crop + 1))
        frames = [to_uint8(f[y:y + crop, x:x + crop]) for f in frames]
        times = (np.arange(1, n - 1) / (n - 1)).astype(np.float32)
        yield frames[0], frames[-1], times, np.stack(frames[1:-1])
