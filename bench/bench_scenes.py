"""Scene-cut detection on real clips: cuts found, false positives and time, before and after.

    python bench/bench_scenes.py CLIP... [--cut NAME=I,J,...] [--cases DIR] [--dark] [--near N] [--json OUT]

Runs the retime's analysis pass (frames at 320 px in the working space, repeats found as
`core.retime.analysis` does, each boundary between drawings scored at 160 px) over every
CLIP (a movie, an image-sequence pattern or a folder of frames) and every case of
``--cases`` (a benchmark folder such as ../shared/data: each case's frames in time
order), and scores each boundary twice in the same process, interleaved:

* **before**: the motion score alone (`scenes.motion_score`, the only cue up to this
  change) through `scenes.find_cuts`;
* **after**: the combined score (`scenes.scene_cues`: motion and structure cues).

``--cut NAME=I,J`` labels the cuts of the clip whose file name is NAME: a cut between
source frames I and I+1 (0-based). Every other boundary counts as continuous, so a cut
found there is a false positive; ``--cases`` windows hold no cut. ``--dark`` adds each
clip graded dark and flat like a night scene or a trailer (luma squeezed into 0.02-0.18
of the range, requantised to 8 bits) as a clip of its own, labels included.

Prints, per clip and in total: boundaries scored, labelled cuts found, false positives,
and each labelled cut's score before/after; the ``--near`` highest near misses (score at
least `scenes.NEAR_MISS_FRACTION` of the threshold, not a cut) with their frame and time;
and the median time per boundary of each detector with their ratio. Not a test: the
times depend on the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from segue.core.color import ColorManager
from segue.core.media.source import open_source
from segue.core.retime import duplicates, scenes


@dataclass
class Clip:
    """What was measured on one clip."""

    name: str
    frames: int = 0
    boundaries: list[int] = field(default_factory=list)  # frame i: the boundary i | i + 1
    before: list[float] = field(default_factory=list)  # motion score alone
    after: list[scenes.Cues] = field(default_factory=list)
    cuts: set[int] = field(default_factory=set)  # labelled
    seconds_before: list[float] = field(default_factory=list)
    seconds_after: list[float] = field(default_factory=list)

    def found(self, which: str, threshold: float) -> set[int]:
        scores = self.before if which == "before" else [c.score for c in self.after]
        return {self.boundaries[j] for j in scenes.find_cuts(scores, threshold)}


def dark(frame: np.ndarray) -> np.ndarray:
    """A frame graded dark and flat: [0, 1] squeezed into 0.02-0.18, then 8-bit levels again."""
    return (np.round((0.02 + 0.16 * np.clip(frame, 0, 1)) * 255) / 255).astype(np.float32)


def movie_frames(path: str) -> Iterator[np.ndarray]:
    """A clip's frames as the analysis pass sees them (320 px wide, working space)."""
    source = open_source(path)
    colour = ColorManager(None)
    space = colour.resolve(colour.default_for(source.bit_depth, source.is_float))
    for raw in source.frames(max_width=duplicates.DUP_WIDTH):
        yield colour.to_working(raw, space)


def case_frames(case: Path) -> list[np.ndarray]:
    """A benchmark case's frames in time order (context, inputs, targets), 320 px wide, [0, 1]."""
    times: dict[str, float] = {"input0": 0.0, "input1": 1.0}
    meta = case / "case.json"
    if meta.is_file():
        info = json.loads(meta.read_text())
        times.update(info.get("frames", {}))
    for target in case.glob("target_*.png"):
        times[target.stem] = float(target.stem.split("_", 1)[1])
    frames = []
    for name, _ in sorted(times.items(), key=lambda item: item[1]):
        image = cv2.imread(str(case / f"{name}.png"), cv2.IMREAD_COLOR)
        if image is None:
            continue
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        h, w = image.shape[:2]
        if w > duplicates.DUP_WIDTH:  # as Source.frames shrinks: area average, even height
            size = (duplicates.DUP_WIDTH, max(2, round(h * duplicates.DUP_WIDTH / w / 2) * 2))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        frames.append(image)
    return frames


def measure(name: str, frames: Iterable[np.ndarray], cuts: set[int]) -> Clip:
    """Score every boundary between drawings both ways, timing each (see module doc)."""
    clip = Clip(name, cuts=cuts)
    drawing = previous = None
    for i, frame in enumerate(frames):
        clip.frames += 1
        if drawing is None:
            drawing = frame
        elif not duplicates.is_duplicate(drawing, frame):
            a, b = scenes.scene_frame(previous), scenes.scene_frame(frame)
            # Alternate which runs first, so that a cache warmed by one does not favour the other.
            order = ("before", "after") if i % 2 else ("after", "before")
            for which in order:
                started = time.perf_counter()
                if which == "before":
                    clip.before.append(scenes.motion_score(a, b))
                    clip.seconds_before.append(time.perf_counter() - started)
                else:
                    clip.after.append(scenes.scene_cues(a, b))
                    clip.seconds_after.append(time.perf_counter() - started)
            clip.boundaries.append(i - 1)
            drawing = frame
        previous = frame
    return clip


def parse_cuts(values: list[str]) -> dict[str, set[int]]:
    """``NAME=I,J`` options -> {NAME: {I, J}}."""
    labels: dict[str, set[int]] = {}
    for value in values:
        name, _, frames = value.partition("=")
        if not name or not frames:
            raise SystemExit(f"--cut {value!r}: expected NAME=I,J,... (file name and 0-based frames)")
        labels.setdefault(name, set()).update(int(f) for f in frames.split(","))
    return labels


def report(clips: list[Clip], threshold: float, near: int) -> dict:
    """Print the table and return the same numbers as a dict (for --json)."""
    rows, totals = [], {"boundaries": 0, "cuts": 0, "found_before": 0, "found_after": 0, "fp_before": 0,
                        "fp_after": 0}
    print(f"threshold {threshold:g}; before = motion score alone, after = motion + structure\n")
    print(f"{'clip':<34} {'pairs':>6} {'cuts':>5} {'found b/a':>10} {'false pos. b/a':>15}")
    for clip in clips:
        fb, fa = clip.found("before", threshold), clip.found("after", threshold)
        row = {"clip": clip.name, "frames": clip.frames, "boundaries": len(clip.boundaries), "cuts": len(clip.cuts),
               "found_before": len(fb & clip.cuts), "found_after": len(fa & clip.cuts),
               "fp_before": sorted(fb - clip.cuts), "fp_after": sorted(fa - clip.cuts), "cut_scores": []}
        for i in sorted(clip.cuts):
            if i in clip.boundaries:
                j = clip.boundaries.index(i)
                row["cut_scores"].append({"frame": i, "before": round(clip.before[j], 4),
                                          "after": round(clip.after[j].score, 4),
                                          "structure": round(clip.after[j].structure, 3)})
        rows.append(row)
        for key in ("boundaries", "cuts", "found_before", "found_after"):
            totals[key] += row[key]
        totals["fp_before"] += len(row["fp_before"])
        totals["fp_after"] += len(row["fp_after"])
        print(f"{clip.name:<34} {row['boundaries']:>6} {row['cuts']:>5} "
              f"{row['found_before']:>4}/{row['found_after']:<5} {len(row['fp_before']):>7}/{len(row['fp_after']):<7}"
              + (f" at {row['fp_before']} / {row['fp_after']}" if row["fp_before"] or row["fp_after"] else ""))
        for c in row["cut_scores"]:
            print(f"    cut after frame {c['frame']}: score {c['before']:.4f} -> {c['after']:.4f}"
                  f" (structure {c['structure']:.3f})")
    print(f"{'total':<34} {totals['boundaries']:>6} {totals['cuts']:>5} "
          f"{totals['found_before']:>4}/{totals['found_after']:<5} {totals['fp_before']:>7}/{totals['fp_after']:<7}")
    misses = []
    for clip in clips:
        scores = [c.score for c in clip.after]
        for n in scenes.near_misses(scores, threshold):
            if clip.boundaries[n.position] not in clip.cuts:
                misses.append((n.score, clip.name, clip.boundaries[n.position], n.why))
    misses.sort(reverse=True)
    if near:
        print(f"\nnear misses after (score >= {scenes.NEAR_MISS_FRACTION * threshold:g}, not a cut, not labelled): "
              f"{len(misses)}")
        for score, name, frame, why in misses[:near]:
            print(f"    {name} after frame {frame}: {score:.4f} ({why})")
    before = [s for c in clips for s in c.seconds_before]
    after = [s for c in clips for s in c.seconds_after]
    timing = {}
    if before:
        mb, ma = statistics.median(before) * 1e3, statistics.median(after) * 1e3
        timing = {"before_ms": round(mb, 3), "after_ms": round(ma, 3), "ratio": round(ma / mb, 3)}
        print(f"\ntime per boundary (median of {len(before)}): before {mb:.3f} ms, after {ma:.3f} ms, "
              f"ratio {ma / mb:.3f} (+{ma - mb:.3f} ms)")
    return {"threshold": threshold, "clips": rows, "total": totals, "near_misses": len(misses), "timing": timing}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("clips", nargs="*", help="movies, image-sequence patterns or folders of frames")
    p.add_argument("--cut", action="append", default=[], metavar="NAME=I,J",
                   help="labelled cuts of the clip named NAME (file name): between frames I and I+1, 0-based")
    p.add_argument("--cases", help="a benchmark folder (../shared/data): each case's frames as a clip without cuts")
    p.add_argument("--dark", action="store_true", help="also run every clip graded dark and flat (0.02-0.18)")
    p.add_argument("--threshold", type=float, default=scenes.SCENE_THRESHOLD)
    p.add_argument("--near", type=int, default=10, help="near misses to print (default 10)")
    p.add_argument("--json", help="write the numbers here")
    args = p.parse_args()
    labels = parse_cuts(args.cut)
    # Frames are decoded again for the dark pass instead of kept: a long clip does not fit.
    sources: list[tuple[str, Callable[[], Iterable[np.ndarray]], set[int]]] = []
    for path in args.clips:
        name = Path(path).name
        sources.append((name, lambda path=path: movie_frames(path), labels.get(name, set())))
    if args.cases:
        for case in sorted(p.parent for p in Path(args.cases).rglob("input0.png")):
            sources.append((f"{case.parent.name}/{case.name}", lambda case=case: case_frames(case), set()))
    if not sources:
        p.error("give at least one clip or --cases")
    clips = []
    for name, frames, cuts in sources:
        clips.append(measure(name, frames(), cuts))
        if args.dark:
            clips.append(measure(f"{name} (dark)", (dark(f) for f in frames()), cuts))
    numbers = report(clips, args.threshold, args.near)
    if args.json:
        Path(args.json).write_text(json.dumps(numbers, indent=2))


if __name__ == "__main__":
    main()
