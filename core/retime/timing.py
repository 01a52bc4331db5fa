"""Exact time mapping of a retime: which source content every output frame shows.

All times are `fractions.Fraction` seconds, so nothing drifts: output frame k of a
59.94 fps render is at exactly ``k * 1001/60000`` s however long the clip, and it is
recognised as *coinciding* with a 23.976 fps source frame by an exact comparison, not
a tolerance. Floats appear only in the final blend position ``t`` handed to the engine.

The model
=========
* Source frames have times ``times[i]`` (seconds from the first frame, so
  ``times[0] == 0``) and the clip lasts ``duration`` (the last frame is shown for its
  own duration).
* Output frame ``k`` is at ``k / out_fps`` and shows the source content at
  ``source_time = k / out_fps * speed`` (``speed`` is 1 for ``--fps``/``--factor`` and
  ``1/N`` for ``--slowmo N``). The output has ``ceil(duration * out_fps / speed)`` frames,
  so its length is the source's (times N for slow motion) to within one output frame.
* Content moves linearly between *anchors*: source frames through which motion is
  interpolated. Each run of identical frames (`core.retime.duplicates`) is one drawing:
  a short run (animation on twos/threes, an encoder's repeated frame) is anchored at its
  first frame only, so the in-betweens are timed from the unique drawings; a long run
  (a real hold: a still shot) is anchored at its first and last frames and shown as is.
* Between two anchors the output frame is

  - a **copy** of the anchor when ``source_time`` equals its time exactly;
  - a **synth** frame between the two anchors at ``t = (source_time - ta) / (tb - ta)``;
  - a **hold** (copy of the source frame on screen at ``source_time``, i.e. the last one
    at or before it) when a scene cut lies between the anchors - nothing is ever blended
    across a cut, and the cut lands on the first output frame at or after the source's
    cut instant - or inside a long hold, or after the last anchor (the last frame is
    held for its duration).
"""
from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cached_property
from itertools import pairwise

from segue.core.errors import InputError

#: a run of identical frames is an animation hold (timed from its first frame) when it
#: has at most this many frames ...
SHORT_HOLD_FRAMES = 2
#: ... or lasts at most this long (drawings "on fours" at 24 fps); longer runs are
#: real holds (a still shot), shown as they are
SHORT_HOLD_SECONDS = Fraction(1, 6)
#: highest output rate accepted (a typo guard: 6000 instead of 60.00)
MAX_FPS = 1000
#: largest --factor / --slowmo accepted
MAX_RATIO = 64
#: smallest --slowmo accepted: 1 plays the clip at its own speed (a "slow motion" below 1
#: would speed it up, which is not what the option says; --fps and --factor keep the speed)
MIN_SLOWMO = Fraction(1)
#: NTSC-style rates (N * 1000/1001) are recognised when written to within this many fps
_NTSC_TOLERANCE = 0.005

COPY, SYNTH, HOLD = "copy", "synth", "hold"


#: the syntax of every rate and ratio a user or client writes: a decimal (``59.94``, ``25``)
#: or a ratio of whole numbers (``60000/1001``, ``24000:1001``). No signs, exponents or
#: other spellings, and a bounded number of digits, so a 13-character field can never
#: make `Fraction` build a 10^N integer (``1e100000000``) before any range check.
_NUMBER = re.compile(r"([0-9]{1,12})(?:\.([0-9]{1,12}))?")
_RATIO = re.compile(r"([0-9]{1,12}) *[/:] *([0-9]{1,12})")
_MAX_TEXT = 64


def parse_number(text: str | float | int, name: str, what: str = "a number", example: str = "2, 2.5, 5/2") -> Fraction:
    """An exact non-negative number in the bounded syntax above, or `InputError` naming ``name``.

    Accepts ``"25"``, ``"59.94"``, ``"60000/1001"``, ``"24000:1001"`` (surrounding spaces
    allowed). ``what`` and ``example`` complete the error message.
    """
    raw = str(text).strip()
    if len(raw) <= _MAX_TEXT:
        ratio = _RATIO.fullmatch(raw)
        if ratio:
            if int(ratio.group(2)) == 0:
                raise InputError(f"{name} {raw!r}: division by zero")
            return Fraction(int(ratio.group(1)), int(ratio.group(2)))
        number = _NUMBER.fullmatch(raw)
        if number:
            whole, decimals = number.group(1), number.group(2) or ""
            return Fraction(int(whole + decimals), 10 ** len(decimals))
    shown = raw if len(raw) <= 24 else raw[:20] + "..."
    if raw.startswith("-"):
        raise InputError(f"{name} must be positive, got {shown}")
    raise InputError(f"{name} {shown!r} is not {what} (e.g. {example}: digits with an optional decimal point, "
                     "or a ratio of whole numbers)")


def parse_rate(text: str | Fraction, name: str = "--fps") -> Fraction:
    """An exact frame rate from what a user writes (syntax of `parse_number`).

    ``"60000/1001"``, ``"60000:1001"`` -> 60000/1001; ``"59.94"``, ``"29.97"``,
    ``"23.976"``, ``"23.98"`` -> the NTSC rate N*1000/1001 they abbreviate; ``"25"``,
    ``"12.5"`` -> exactly that. A `Fraction` (a rate Segue computed) is range-checked
    only. Raises `InputError` naming ``name`` otherwise.
    """
    if isinstance(text, Fraction):
        rate = text
    else:
        raw = str(text).strip()
        rate = parse_number(raw, name, "a frame rate", "59.94, 25, 60000/1001")
        if not _RATIO.fullmatch(raw) and rate.denominator != 1:
            ntsc = Fraction(round(rate * Fraction(1001, 1000)) * 1000, 1001)
            if ntsc > 0 and abs(float(ntsc - rate)) < _NTSC_TOLERANCE:
                rate = ntsc
    if rate <= 0:
        raise InputError(f"{name} must be positive, got {text}")
    if rate > MAX_FPS:
        raise InputError(f"{name} {float(rate):g} is above the {MAX_FPS} fps limit")
    return rate


def parse_ratio(text: str, name: str, minimum: Fraction = Fraction(0)) -> Fraction:
    """An exact positive ratio (``--factor 2.5``, ``5/2``) above ``minimum``, at most `MAX_RATIO`."""
    value = parse_number(text, name)
    if value <= minimum:
        raise InputError(f"{name} must be greater than {minimum}, got {str(text).strip()}")
    return _within_limit(value, text, name)


def parse_slowmo(text: str, name: str = "--slowmo") -> Fraction:
    """The slow-motion ratio N (N times slower): at least `MIN_SLOWMO`, at most `MAX_RATIO`.

    Exactly 1 is allowed: the clip keeps its speed and rate (a no-op retime, but not a
    mistake). Below 1 is refused rather than read as a speed-up.
    """
    value = parse_number(text, name)
    if value < MIN_SLOWMO:
        raise InputError(f"{name} must be at least {MIN_SLOWMO} (N times slower; {MIN_SLOWMO} keeps the speed), "
                         f"got {str(text).strip()}: Segue does not speed clips up")
    return _within_limit(value, text, name)


def _within_limit(value: Fraction, text: str, name: str) -> Fraction:
    if value > MAX_RATIO:
        raise InputError(f"{name} {str(text).strip()} is above the limit of {MAX_RATIO}")
    return value


@dataclass(frozen=True)
class OutFrame:
    """What output frame ``index`` shows.

    ``kind`` is `COPY` / `HOLD` (``source`` is the source frame to copy) or `SYNTH`
    (in-between of source frames ``source`` and ``target`` at blend position ``t``).
    """

    index: int
    time: Fraction
    source_time: Fraction
    kind: str
    source: int
    target: int | None = None
    t: float | None = None


@dataclass(frozen=True)
class Plan:
    """The whole mapping: output rate, frame count and how to make each frame."""

    out_fps: Fraction
    speed: Fraction
    frame_count: int
    anchors: tuple[int, ...]
    cuts: tuple[int, ...]
    _times: tuple[Fraction, ...]
    _runs: tuple[tuple[int, int], ...]

    def frames(self) -> Iterator[OutFrame]:
        """The output frames in order, computed on the fly (memory O(1) per frame)."""
        times, anchors = self._times, self.anchors
        anchor_times = [times[a] for a in anchors]
        run_of = _RunIndex(self._runs)
        cuts = set(self.cuts)
        for k in range(self.frame_count):
            out_time = Fraction(k) / self.out_fps
            st = out_time * self.speed
            j = bisect_right(anchor_times, st) - 1  # last anchor at or before st
            a = anchors[j]
            if anchor_times[j] == st:
                yield OutFrame(k, out_time, st, COPY, a)
                continue
            if j + 1 >= len(anchors):  # after the last anchor: the tail is held
                yield OutFrame(k, out_time, st, HOLD, _on_screen(times, st))
                continue
            b = anchors[j + 1]
            ra, rb = run_of(a), run_of(b)
            crosses_cut = any(c in cuts for c in range(self._runs[ra][1], b))
            if ra == rb or crosses_cut:  # inside a long hold, or a cut between the anchors
                shown = _on_screen(times, st)
                kind = COPY if times[shown] == st else HOLD
                yield OutFrame(k, out_time, st, kind, shown)
                continue
            t = (st - anchor_times[j]) / (anchor_times[j + 1] - anchor_times[j])
            yield OutFrame(k, out_time, st, SYNTH, a, b, float(t))


    def context(self, a: int, b: int, per_side: int = 2) -> list[tuple[int, float]]:
        """Context frames of the in-between pair ``(a, b)``: ``(source frame, time in the pair's units)``.

        Up to ``per_side`` anchors before ``a`` and after ``b`` that the motion runs through
        without a break, nearest first: never across a scene cut, into or out of a long
        hold, or within one drawing (the same test as an in-between's, see `frames`).
        Times are exact ratios of source times (VFR included): the anchor before ``a`` of a
        pair two frames apart is at -0.5.
        """
        times, anchors = self._times, self.anchors
        run_of = self._run_index
        cuts = self._cut_set

        def continuous(x: int, y: int) -> bool:
            rx, ry = run_of(x), run_of(y)
            return rx != ry and not any(c in cuts for c in range(self._runs[rx][1], y))

        span = times[b] - times[a]
        found: list[tuple[int, float]] = []
        i, j = bisect_left(anchors, a), bisect_left(anchors, b)
        for step, start in ((-1, i), (1, j)):
            k = start
            for _ in range(per_side):
                n = k + step
                if not 0 <= n < len(anchors) or not continuous(*sorted((anchors[k], anchors[n]))):
                    break
                k = n
                found.append((anchors[k], float((times[anchors[k]] - times[a]) / span)))
        return found

    @cached_property
    def _run_index(self) -> _RunIndex:
        return _RunIndex(self._runs)

    @cached_property
    def _cut_set(self) -> set[int]:
        return set(self.cuts)

    def kept_from(self, frame: int, per_side: int = 2) -> int:
        """The earliest source frame a pair starting at ``frame`` may use as context."""
        anchors = self.anchors
        i = bisect_right(anchors, frame) - 1
        return anchors[max(0, i - per_side)] if i >= 0 else frame


class _RunIndex:
    """Source frame -> index of its run (a bisection of the runs' first frames)."""

    def __init__(self, runs: Sequence[tuple[int, int]]) -> None:
        self._starts = [first for first, _ in runs]

    def __call__(self, frame: int) -> int:
        return bisect_right(self._starts, frame) - 1


def _on_screen(times: Sequence[Fraction], st: Fraction) -> int:
    """The source frame displayed at ``st``: the last one whose time is <= st."""
    return max(0, bisect_right(times, st) - 1)


def runs_from_duplicates(frame_count: int, duplicate_of_previous: Sequence[bool]) -> list[tuple[int, int]]:
    """Runs ``(first, last)`` of identical frames from per-frame "same as the run so far" flags.

    ``duplicate_of_previous[i]`` tells whether frame ``i`` repeats the drawing of frame
    ``i - 1`` (entry 0 is ignored).
    """
    runs: list[tuple[int, int]] = []
    first = 0
    for i in range(1, frame_count):
        if not duplicate_of_previous[i]:
            runs.append((first, i - 1))
            first = i
    runs.append((first, frame_count - 1))
    return runs


def anchors_from_runs(times: Sequence[Fraction], duration: Fraction,
                      runs: Sequence[tuple[int, int]]) -> tuple[list[int], set[int]]:
    """Anchor frames of the runs, and the runs that are long (real) holds (see module doc)."""
    anchors: list[int] = []
    long_runs: set[int] = set()
    for r, (first, last) in enumerate(runs):
        anchors.append(first)
        if last > first:
            end = times[last + 1] if last + 1 < len(times) else duration
            short = (last - first + 1) <= SHORT_HOLD_FRAMES or end - times[first] <= SHORT_HOLD_SECONDS
            if not short:
                anchors.append(last)
                long_runs.add(r)
    return anchors, long_runs


def output_frame_count(duration: Fraction, out_fps: Fraction, speed: Fraction) -> int:
    """Frames needed to cover ``duration`` source seconds played at ``speed``."""
    return max(1, math.ceil(duration * out_fps / speed))


def make_plan(times: Sequence[Fraction], duration: Fraction, out_fps: Fraction, *,
              speed: Fraction = Fraction(1), runs: Sequence[tuple[int, int]] | None = None,
              cuts: Sequence[int] = ()) -> Plan:
    """The retime plan.

    Args:
        times: source frame times in seconds, strictly increasing, ``times[0] == 0``.
        duration: the source's length (> the last time: the last frame's display ends).
        out_fps: output frame rate.
        speed: source seconds per output second (``1/N`` for ``--slowmo N``).
        runs: runs ``(first, last)`` of identical frames covering every frame in order
            (`runs_from_duplicates`); None: every frame is its own drawing (``--no-dedup``).
        cuts: source frames ``i`` such that a scene cut lies between ``i`` and ``i + 1``.
    """
    n = len(times)
    if n == 0:
        raise InputError("the source has no frames")
    if times[0] != 0 or any(b <= a for a, b in pairwise(times)) or duration <= times[-1]:
        raise ValueError("times must start at 0 and increase, and duration must exceed the last time")
    runs = list(runs) if runs is not None else [(i, i) for i in range(n)]
    if runs[0][0] != 0 or runs[-1][1] != n - 1 or any(b[0] != a[1] + 1 for a, b in pairwise(runs)):
        raise ValueError("runs must cover every source frame in order")
    anchors, _ = anchors_from_runs(times, duration, runs)
    return Plan(out_fps, speed, output_frame_count(duration, out_fps, speed), tuple(anchors),
                tuple(sorted(set(cuts))), tuple(times), tuple(runs))
