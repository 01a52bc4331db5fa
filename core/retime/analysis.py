"""The analysis pass: one cheap read of the whole source before anything is rendered.

It decodes every frame at a small size (`duplicates.DUP_WIDTH` pixels wide) and finds
the runs of repeated frames and the scene cuts, so that the render pass knows the
complete plan (`core.retime.timing`) before it starts: exact frame counts for the
progress bar, a deterministic plan for ``--resume``, and cut and duplicate lists for the
report. It keeps one small frame and three floats per frame boundary: memory does not grow
with the clip beyond that. Decoding small costs a fraction of the synthesis.

Cuts are looked for between consecutive *drawings* (the last frame of one run of
repeats and the first of the next): in animation on twos every other frame difference
is zero, and scoring those would only dilute the neighbourhood a cut is compared with.
Each boundary keeps its cues (`scenes.Cues`: three floats), so the report can show why a
cut was called and which boundaries nearly were (near misses).
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from segue.core.errors import InputError
from segue.core.media.source import Source
from segue.core.retime import duplicates, scenes


@dataclass
class Analysis:
    """What the analysis pass found.

    ``repeats[i]`` is True when frame ``i`` repeats the drawing before it; ``cuts`` are
    source frames ``i`` with a cut between ``i`` and ``i + 1``, ``cut_scores`` their
    scene scores (`scenes.Cues.score`).
    """

    repeats: list[bool]
    cuts: list[int]
    cut_scores: list[float]
    #: the cues of each cut, in the order of ``cuts``
    cut_cues: list[scenes.Cues]
    seconds: float
    #: boundaries that nearly were cuts, highest score first: ``(frame i, cues, why)`` with
    #: the boundary between ``i`` and ``i + 1`` (see `scenes.near_misses`)
    near_misses: list[tuple[int, scenes.Cues, str]] = field(default_factory=list)

    @property
    def duplicate_count(self) -> int:
        return sum(self.repeats)

    def as_dict(self) -> dict:
        """A JSON-ready copy (a farm job's plan keeps it: `from_dict` reads it back exactly)."""
        cues = lambda c: [c.motion, c.structure, c.gain]  # noqa: E731
        return {"repeats": [i for i, r in enumerate(self.repeats) if r], "cuts": self.cuts,
                "cut_scores": self.cut_scores, "cut_cues": [cues(c) for c in self.cut_cues], "seconds": self.seconds,
                "near_misses": [[i, cues(c), why] for i, c, why in self.near_misses]}

    @classmethod
    def from_dict(cls, data: object, frame_count: int) -> Analysis:
        """The analysis `as_dict` wrote for a source of ``frame_count`` frames; `ValueError` if
        ``data`` is anything else (it comes from a file)."""
        def frame(v: object) -> int:
            if type(v) is not int or not 0 <= v < frame_count:
                raise ValueError(f"frame {v!r} out of range")
            return v

        def number(v: object) -> float:
            if type(v) not in (int, float) or v != v:
                raise ValueError(f"{v!r} is not a number")
            return float(v)

        def cues(v: object) -> scenes.Cues:
            if not isinstance(v, list) or len(v) != 3:
                raise ValueError("cues are three numbers")
            return scenes.Cues(*map(number, v))

        if not isinstance(data, dict):
            raise ValueError("not an analysis")
        repeats = [False] * frame_count
        for i in data["repeats"]:
            repeats[frame(i)] = True
        cuts, scores, cut_cues = data["cuts"], data["cut_scores"], data["cut_cues"]
        if not (isinstance(cuts, list) and isinstance(scores, list) and isinstance(cut_cues, list)
                and len(cuts) == len(scores) == len(cut_cues)):
            raise ValueError("cut lists differ in length")
        misses = []
        for item in data["near_misses"]:
            if not (isinstance(item, list) and len(item) == 3 and isinstance(item[2], str)):
                raise ValueError("a near miss is [frame, cues, why]")
            misses.append((frame(item[0]), cues(item[1]), item[2]))
        return cls(repeats, [frame(c) for c in cuts], [number(s) for s in scores], [cues(c) for c in cut_cues],
                   number(data["seconds"]), misses)


def analyse(source: Source, to_working: Callable[[np.ndarray], np.ndarray], *,
            scene_threshold: float = scenes.SCENE_THRESHOLD,
            dup_threshold: float = duplicates.DUP_THRESHOLD,
            on_frame: Callable[[int], None] | None = None) -> Analysis:
    """Find repeated frames and scene cuts of ``source`` (see module docstring).

    ``to_working`` converts a frame from the file's encoding to the working space;
    ``on_frame(i)`` is called after frame ``i`` (progress).
    """
    started = time.perf_counter()
    repeats: list[bool] = []
    boundaries: list[int] = []  # frame i such that a new drawing starts at i + 1
    cues: list[scenes.Cues] = []
    drawing = previous = None
    for i, raw in enumerate(source.frames(max_width=duplicates.DUP_WIDTH)):
        frame = to_working(raw)
        if drawing is None:
            repeats.append(False)
            drawing = frame
        elif duplicates.is_duplicate(drawing, frame, dup_threshold):
            repeats.append(True)
        else:
            repeats.append(False)
            assert previous is not None
            boundaries.append(i - 1)
            cues.append(scenes.scene_cues(scenes.scene_frame(previous), scenes.scene_frame(frame)))
            drawing = frame
        previous = frame
        if on_frame:
            on_frame(i)
    if len(repeats) != source.frame_count:
        raise InputError(f"{source.path}: decoded {len(repeats)} frames but the container lists "
                         f"{source.frame_count}; remux the file (ffmpeg -i IN -c copy OUT.mkv) and retry")
    scores = [c.score for c in cues]
    picked = scenes.find_cuts(scores, scene_threshold)
    missed = [(boundaries[n.position], cues[n.position], n.why)
              for n in scenes.near_misses(scores, scene_threshold, picked)]
    return Analysis(repeats, cuts=[boundaries[j] for j in picked], cut_scores=[round(scores[j], 4) for j in picked],
                    cut_cues=[cues[j] for j in picked], seconds=time.perf_counter() - started, near_misses=missed)
