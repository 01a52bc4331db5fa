"""Benchmark cases with ground truth cut from any clip: what ``segue bench --make-cases`` writes.

For each gap n (frame intervals between the two inputs) `write_cases` writes the set
``OUT/<set>_gap<n>/<first frame>/`` with ``input0.png`` (frame i), ``input1.png``
(frame i + n) and ``target_<k/n>.png`` (frames i + k, 0 < k < n), starting a case every
``every`` frames, and, where the clip has them within the same shot, the context frames
(``before_2``, ``before_1``, ``after_1``, ``after_2``: frames i - 2, i - 1, i + n + 1,
i + n + 2) with ``case.json`` giving their times: the layout `core.quality` reads
(DESIGN.md's data format). Windows with a scene cut or without motion are skipped
(`is_usable`, also the test training's footage passes). Frames are the clip's own decoded
8-bit RGB. Each set is written into a hidden ``OUT/.<set>.part`` folder (which the
benchmark skips) and renamed when complete; an existing set is never overwritten.

This is how Segue is checked on real footage it never saw; pointed at an editor's own
footage it shows what Segue does on it.
"""
from __future__ import annotations

import json
import shutil
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np

from segue.core.engine import to_uint8
from segue.core.errors import InputError
from segue.core.media import open_clip

#: the gaps (frame intervals between the inputs) of a set when none are asked for
DEFAULT_GAPS = (2, 4)

#: mean absolute difference (8-bit levels, on a small grey copy) of a window's end frames
#: below which the window is static and skipped
STATIC_BELOW = 1.0
#: a frame step whose difference exceeds this many times the median of the window's other
#: steps, and is at least `CUT_MIN` levels, is a scene cut
CUT_RATIO = 3.0
CUT_MIN = 12.0


def _small_grey(frame: np.ndarray) -> np.ndarray:
    g = frame.mean(axis=2) * 255
    return cv2.resize(g, (64, max(8, round(64 * g.shape[0] / g.shape[1]))), interpolation=cv2.INTER_AREA)


def is_usable(frames: list[np.ndarray]) -> bool:
    """True when a window of float32 frames is neither static nor cut (see module constants)."""
    grey = [_small_grey(f) for f in frames]
    steps = [float(np.abs(a - b).mean()) for a, b in pairwise(grey)]
    if float(np.abs(grey[0] - grey[-1]).mean()) < STATIC_BELOW:
        return False
    # each step against the median of the *other* steps: against all of them, the cut in a
    # 3-frame window (two steps) would be half the median and never exceed 3x it
    for i, step in enumerate(steps):
        others = float(np.median(steps[:i] + steps[i + 1:]))
        if step > CUT_MIN and step > CUT_RATIO * max(others, 1e-3):
            return False
    return True


def _write_png(path: Path, frame: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(to_uint8(frame), cv2.COLOR_RGB2BGR)):
        raise InputError(f"{path}: cannot write")


def write_cases(clip_path: str, out: Path, gaps: tuple[int, ...] | list[int] = DEFAULT_GAPS, every: int = 6,
                set_name: str | None = None) -> dict[str, int]:
    """Write the cases of each gap (module docstring); return the number of cases per set written.

    ``set_name`` defaults to the clip's file name. `InputError` for an unusable clip, a gap
    under 2, ``every`` under 1 or a set that already exists.
    """
    if every < 1:
        raise InputError(f"every {every}: must be at least 1", field="every")
    set_name = set_name or Path(clip_path).stem
    clip = open_clip(clip_path)
    if clip.frame_count < 3:
        raise InputError(f"{clip_path}: {clip.frame_count} frame(s); cases need at least 3")
    written = {}
    for gap in gaps:
        if gap < 2:
            raise InputError(f"gap {gap}: the inputs must be at least 2 frames apart to leave a target", field="gap")
        name = f"{set_name}_gap{gap}"
        final, part = out / name, out / f".{name}.part"
        if final.exists():
            raise InputError(f"{final}: already exists; remove it or choose another output folder")
        shutil.rmtree(part, ignore_errors=True)  # left by an interrupted run
        count = 0
        for start in range(0, clip.frame_count - gap, every):
            frames = [clip.read_frame(start + k) for k in range(gap + 1)]
            if not is_usable(frames):
                continue
            case = part / f"{start:06d}"
            case.mkdir(parents=True)
            _write_png(case / "input0.png", frames[0])
            _write_png(case / "input1.png", frames[-1])
            for k in range(1, gap):
                _write_png(case / f"target_{k / gap:.3f}.png", frames[k])
            _write_context(clip, start, gap, frames, case)
            count += 1
        if count:
            part.rename(final)
        written[name] = count
    return written


#: context frames: name -> offset from the case's first frame (the gap n added for "after")
CONTEXT = {"before_2": (-2, 0), "before_1": (-1, 0), "after_1": (1, 1), "after_2": (2, 1)}


def _write_context(clip, start: int, gap: int, frames: list[np.ndarray], case: Path) -> None:
    """The case's context frames and ``case.json``, if the clip has them in the same shot."""
    first, last = start - 2, start + gap + 2
    if first < 0 or last >= clip.frame_count:
        return
    around = {name: clip.read_frame(start + offset + side * gap) for name, (offset, side) in CONTEXT.items()}
    window = [around["before_2"], around["before_1"], *frames, around["after_1"], around["after_2"]]
    if not is_usable(window):  # a cut next to the case: it keeps no context
        return
    for name, frame in around.items():
        _write_png(case / f"{name}.png", frame)
    times = {name: round((offset + side * gap) / gap, 6) for name, (offset, side) in CONTEXT.items()}
    meta = {"k": gap, "frames": {**times, "input0": 0, "input1": 1}, "targets": [k / gap for k in range(1, gap)]}
    (case / "case.json").write_text(json.dumps(meta, indent=1))
