"""Benchmark cases with ground truth from any clip, for `segue bench --data OUT`.

    python bench/cases_from_clip.py CLIP OUT [--gap 2 --gap 4] [--every 6] [--set NAME]

For each gap n (frame intervals between the two inputs) it writes the set
``OUT/<set>_gap<n>/<first frame>/`` with ``input0.png`` (frame i), ``input1.png``
(frame i + n) and ``target_<k/n>.png`` (frames i + k, 0 < k < n), starting a case every
``--every`` frames, and, where the clip has them within the same shot, the context frames
of DESIGN.md (``before_2``, ``before_1``, ``after_1``, ``after_2``: frames i - 2, i - 1,
i + n + 1, i + n + 2) with ``case.json`` giving their times. Windows with a scene cut or
without motion are skipped, by the same test the training footage uses
(`training.footage.is_usable`). Frames are the clip's
own decoded 8-bit RGB, as `segue bench` reads PNGs. Each set is written into a hidden
``OUT/.<set>.part`` folder (which `segue bench` skips) and renamed when complete; an
existing set is never overwritten.

This is how Segue checks a model on real footage it never saw (the model card's
held-out clip); point it at your own footage to see what the model does on it. A clip
used this way must stay out of training: `training.footage` refuses the held-out clip
the model card names.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import cv2
import numpy as np

from segue.core.engine import to_uint8
from segue.core.errors import InputError
from segue.core.media import open_clip
from segue.training.footage import is_usable


def _write_png(path: Path, frame: np.ndarray) -> None:
    if not cv2.imwrite(str(path), cv2.cvtColor(to_uint8(frame), cv2.COLOR_RGB2BGR)):
        raise InputError(f"{path}: cannot write")


def write_cases(clip_path: str, out: Path, gaps: list[int], every: int, set_name: str) -> dict[str, int]:
    """Write the cases of each gap; returns the number of cases per set written."""
    clip = open_clip(clip_path)
    if clip.frame_count < 3:
        raise InputError(f"{clip_path}: {clip.frame_count} frame(s); cases need at least 3")
    written = {}
    for gap in gaps:
        if gap < 2:
            raise InputError(f"--gap {gap}: the inputs must be at least 2 frames apart to leave a target")
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("clip", help="a movie, image sequence or folder of frames")
    p.add_argument("out", help="benchmark folder to write (sets are added beside existing ones)")
    p.add_argument("--gap", type=int, action="append",
                   help="frame intervals between the inputs (repeatable; default 2 and 4)")
    p.add_argument("--every", type=int, default=6, help="frames between the starts of two cases (default 6)")
    p.add_argument("--set", dest="set_name", help="set name prefix (default: the clip's file name)")
    args = p.parse_args(argv)
    try:
        if args.every < 1:
            raise InputError(f"--every {args.every}: must be at least 1")
        written = write_cases(args.clip, Path(args.out), args.gap or [2, 4], args.every,
                              args.set_name or Path(args.clip).stem)
    except InputError as exc:
        print(f"cases_from_clip: error: {exc}", file=sys.stderr)
        return 2
    for name, count in written.items():
        print(f"{name}: {count} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
