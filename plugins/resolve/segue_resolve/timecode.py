"""Frame rates and SMPTE timecode strings <-> frame counts. Pure: no Resolve import.

Resolve reports the playhead and the timeline start as timecode strings
(``Timeline.GetCurrentTimecode()``, ``GetStartTimecode()``, often ``"01:00:00:00"``),
item positions as frame numbers (``TimelineItem.GetStart()``, in the same numbering as
``Timeline.GetStartFrame()``), and rates as strings (``"24"``, ``"23.976"``, ``"29.97 DF"``
for the timeline setting, ``"25.000"`` for a clip's FPS property).

Conventions: a timecode counts ``timebase`` frames per second, where the timebase is the
rate rounded (24 for 23.976, 30 for 29.97). Drop-frame timecode (29.97 and 59.94 only,
written with ``;`` before the frames) skips frame numbers 0-1 (0-3 at 59.94) at the start
of every minute except each tenth minute, so that it keeps up with the wall clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

#: two rates are "the same" within this many frames per second (23.976 vs 23.98)
RATE_TOLERANCE = 0.01
_TIMECODE = re.compile(r"^\s*(\d{1,3})[:;.](\d{1,2})[:;.](\d{1,2})([:;.])(\d{1,3})\s*$")


@dataclass(frozen=True)
class FrameRate:
    """A frame rate and whether its timecode is drop-frame."""

    fps: float
    drop_frame: bool = False

    @property
    def timebase(self) -> int:
        """Frames per timecode second (the rate rounded: 24 for 23.976)."""
        return round(self.fps)

    @property
    def dropped_per_minute(self) -> int:
        """Frame numbers skipped at most minute starts: 2 at 29.97, 4 at 59.94, else 0."""
        return self.timebase // 15 if self.drop_frame else 0

    def __str__(self) -> str:
        return f"{self.fps:g}{' DF' if self.drop_frame else ''}"


def parse_rate(text: object) -> FrameRate:
    """A rate from Resolve's text (``"24"``, ``"23.976"``, ``"29.97 DF"``, ``"25.000"``).

    Raises ValueError for anything else. ``DF`` is only honoured where drop-frame exists
    (non-integer rates with a timebase of 30 or 60).
    """
    raw = str(text).strip().upper()
    drop = raw.endswith("DF")
    number = raw[:-2].strip() if drop else raw
    try:
        fps = float(number)
    except ValueError:
        raise ValueError(f"not a frame rate: {text!r}") from None
    if not fps > 0 or fps > 1000:
        raise ValueError(f"not a frame rate: {text!r}")
    rate = FrameRate(fps)
    return FrameRate(fps, drop and _drop_frame_capable(rate))


def same_rate(a: float, b: float) -> bool:
    """True if two rates are equal for editing purposes (within `RATE_TOLERANCE`)."""
    return abs(a - b) < RATE_TOLERANCE


def _drop_frame_capable(rate: FrameRate) -> bool:
    return rate.timebase in (30, 60) and not same_rate(rate.fps, rate.timebase)


def to_frames(timecode: str, rate: FrameRate) -> int:
    """Frames since 00:00:00:00 for ``timecode`` at ``rate``.

    A ``;`` before the frame field marks drop-frame even if ``rate`` does not say so
    (Resolve writes drop-frame timecode that way). Raises ValueError on a malformed
    string or a frame field beyond the timebase.
    """
    match = _TIMECODE.match(str(timecode or ""))
    if not match:
        raise ValueError(f"not a timecode: {timecode!r}")
    hours, minutes, seconds, separator, frames = match.groups()
    h, m, s, f = int(hours), int(minutes), int(seconds), int(frames)
    base = rate.timebase
    if m >= 60 or s >= 60 or f >= base:
        raise ValueError(f"not a timecode at {rate} fps: {timecode!r}")
    count = (h * 3600 + m * 60 + s) * base + f
    drop = rate.drop_frame or (separator == ";" and _drop_frame_capable(rate))
    if drop:
        per_minute = base // 15
        total_minutes = 60 * h + m
        count -= per_minute * (total_minutes - total_minutes // 10)
    return count


def from_frames(count: int, rate: FrameRate) -> str:
    """The timecode of frame ``count`` (inverse of `to_frames`); ``;`` before frames if drop-frame."""
    if count < 0:
        raise ValueError(f"negative frame count {count}")
    base = rate.timebase
    if rate.drop_frame:
        dropped = rate.dropped_per_minute
        per_ten_minutes = base * 600 - dropped * 9
        per_minute = base * 60 - dropped
        tens, rest = divmod(count, per_ten_minutes)
        count += dropped * 9 * tens
        if rest > dropped:
            count += dropped * ((rest - dropped) // per_minute)
    frames = count % base
    seconds = count // base
    separator = ";" if rate.drop_frame else ":"
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}{separator}{frames:02d}"


def playhead_frame(current: str, start: str, start_frame: int, rate: FrameRate) -> int:
    """The timeline frame number under the playhead.

    ``current`` and ``start`` are the timeline's current and start timecodes and
    ``start_frame`` its first frame number, so the result is in the numbering of
    ``TimelineItem.GetStart()`` whatever that numbering's origin is.
    """
    return start_frame + to_frames(current, rate) - to_frames(start, rate)
