"""Previews of a finished transition: see the result without opening an editor.

Beside the frames, `write_previews` writes

* ``preview.mp4``: A's last `HANDLES` frames (its out point last), the synthesized frames,
  B's first `HANDLES` frames (its in point first), at the clips' frame rate;
* ``preview_dissolve.mp4``: the same section with a plain cross-dissolve of A's and B's
  frames in the middle, the baseline to compare against;
* ``contact_sheet.png``: A's frame, the synthesized frames (`SHEET_FRAMES` at most, evenly
  spread) with their numbers, times and confidences, B's frame.

`write_movie` writes the same section as ``preview.mp4`` at full size, as a deliverable
(``TransitionSpec.movie``): ``transition.mp4`` (H.264, 8-bit 4:2:0) or ``transition.mov``
(ProRes 422 HQ, 10-bit), tagged like the previews.

The movies are H.264 4:2:0 8-bit in MP4 with the index first (``faststart``), at most
`MAX_SIDE` pixels on the longer side: they play in any browser. They show the working
space, sRGB-encoded Rec.709 (`core.color`), which is what an sRGB or Rec.709 display
shows, and are tagged so (Rec.709 primaries and matrix, sRGB transfer, limited range).
They are for looking, not for the timeline: the frames are the deliverable.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import chain
from pathlib import Path

import cv2
import numpy as np

from segue.core.media.encode import MovieEncoder, choose_format
from segue.core.media.ycbcr import VideoColour
from segue.core.output import contact_sheet

MOVIE = "preview.mp4"
DISSOLVE = "preview_dissolve.mp4"
SHEET = "contact_sheet.png"
FILES = (MOVIE, DISSOLVE, SHEET)
#: the full-size movie of the bridged section, by codec (`write_movie`)
MOVIES = {"h264": "transition.mp4", "prores": "transition.mov"}
#: clip frames shown before and after the synthesized ones (half a second at 24 fps)
HANDLES = 12
#: longest side of the preview movies, pixels (a browser tab, not a grading monitor)
MAX_SIDE = 1280
#: most synthesized frames on the contact sheet (evenly spread over a longer transition)
SHEET_FRAMES = 23
#: frame rate of a preview when neither clip has one (image sequences, stills)
DEFAULT_FPS = Fraction(24)
_COLOUR = VideoColour("tv", "bt709", "bt709", "iec61966-2-1")


@dataclass
class PreviewInputs:
    """What the previews show, all float32 RGB in the working space at the output size.

    ``tail_a`` ends with A's out frame; ``head_b`` starts with B's in frame (conformed);
    ``frames`` are the synthesized frames with their times and confidences (a sequence
    that may read each frame when asked: a long transition is never held in memory).
    """

    tail_a: list[np.ndarray]
    head_b: list[np.ndarray]
    frames: Sequence[np.ndarray]
    times: list[float]
    confidences: list[float]
    fps: Fraction | None


def preview_size(width: int, height: int) -> tuple[int, int]:
    """The movies' size: at most `MAX_SIDE` on the longer side, both even (4:2:0 needs it)."""
    scale = min(1.0, MAX_SIDE / max(width, height))
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def write_previews(folder: Path, inputs: PreviewInputs,
                   recorder: Callable[[str], Callable[[str], None]]) -> dict:
    """Write the two movies and the contact sheet into ``folder``; return their report entry.

    ``recorder(name)`` gives the ``before_replace`` hook that records a file in the
    folder's ledger as Segue's (`core.ownership`), as for every other file of the job.
    """
    a, b = inputs.tail_a[-1], inputs.head_b[0]
    h, w = a.shape[:2]
    size = preview_size(w, h)
    fps = inputs.fps or DEFAULT_FPS
    dissolve = (cv2.addWeighted(a, 1.0 - t, b, t, 0.0) for t in inputs.times)
    _encode(folder / MOVIE, size, fps, chain(inputs.tail_a, inputs.frames, inputs.head_b), recorder(MOVIE))
    _encode(folder / DISSOLVE, size, fps, chain(inputs.tail_a, dissolve, inputs.head_b), recorder(DISSOLVE))
    n = len(inputs.frames)
    m = min(n, SHEET_FRAMES)
    shown = sorted({round(i * (n - 1) / max(1, m - 1)) for i in range(m)})
    labels = ["A: out frame", *(f"{k + 1}: t={inputs.times[k]:.3f} conf {inputs.confidences[k]:.2f}" for k in shown),
              "B: in frame"]
    contact_sheet([_to8(im) for im in (a, *(inputs.frames[k] for k in shown), b)], labels, folder / SHEET,
                  before_replace=recorder(SHEET))
    return {"movie": MOVIE, "dissolve": DISSOLVE, "contact_sheet": SHEET, "width": size[0], "height": size[1],
            "fps": str(fps), "handles": [len(inputs.tail_a), len(inputs.head_b)]}


def write_movie(folder: Path, inputs: PreviewInputs, codec: str,
                recorder: Callable[[str], Callable[[str], None]]) -> dict:
    """Write the bridged section at full size as ``MOVIES[codec]``; return its report entry.

    The frames must have an even width and height (`TransitionSpec` is refused otherwise).
    """
    name = MOVIES[codec]
    h, w = inputs.tail_a[-1].shape[:2]
    fps = inputs.fps or DEFAULT_FPS
    _encode(folder / name, (w, h), fps, chain(inputs.tail_a, inputs.frames, inputs.head_b), recorder(name), codec)
    return {"file": name, "codec": codec, "width": w, "height": h, "fps": str(fps),
            "handles": [len(inputs.tail_a), len(inputs.head_b)]}


def _encode(path: Path, size: tuple[int, int], fps: Fraction, frames, before_replace: Callable[[str], None],
            codec: str = "h264") -> None:
    # H.264 8-bit 4:2:0 plays in any browser; ProRes is 10-bit 4:2:2 (HQ) for an editor's timeline
    fmt = choose_format(codec, "420" if codec == "h264" else "422", 8, False, _COLOUR,
                        output_colour=lambda rgb, limited: _COLOUR)
    encoder = MovieEncoder(path, "mp4" if codec == "h264" else "mov", size[0], size[1], fps, fmt,
                           before_replace=before_replace)
    encoder.start()
    try:
        for frame in frames:
            same = frame.shape[1] == size[0] and frame.shape[0] == size[1]
            encoder.write(frame if same else cv2.resize(frame, size, interpolation=cv2.INTER_AREA))
        encoder.finish()
    finally:
        encoder.abort()  # no-op after a finish; else no half movie stays behind


def _to8(frame: np.ndarray) -> np.ndarray:
    return np.clip(frame * 255.0 + 0.5, 0, 255).astype(np.uint8)
