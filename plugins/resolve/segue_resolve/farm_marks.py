"""Cuts sent to a render farm, as the timeline's markers carry them. Pure (no Resolve, no gRPC).

The editor puts a marker on each cut to send (on A's last frame or B's first); `marked_cuts`
finds those cuts. Once the farm job is written, each of those markers carries a `FarmMark`
in its ``customData`` (which Resolve keeps with the timeline but does not show), so the
import, run later, knows where the frames will land and where they go on the timeline.
``customData`` is read back as untrusted text: anything but a well-formed mark is ignored.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields

from .mapping import PLACEMENTS, Cut, Span, cut_near

PREFIX = "segue-farm/1 "
#: a sanity bound on a mark's numbers (a timeline frame, a frame count)
MAX_FRAME = 10**9
MAX_FRAMES = 10_000


@dataclass(frozen=True)
class FarmMark:
    """One cut sent to a farm: its frames' folder and format, and where they go when rendered."""

    folder: str
    format: str
    frames: int
    record_start: int
    track: int
    cut: int
    placement: str
    name: str

    def text(self) -> str:
        """The marker's ``customData``."""
        return PREFIX + json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def parse(cls, text: object) -> FarmMark | None:
        """The mark in a marker's ``customData``, or None if it holds no well-formed one."""
        if not isinstance(text, str) or not text.startswith(PREFIX):
            return None
        try:
            data = json.loads(text[len(PREFIX):])
        except ValueError:
            return None
        if not isinstance(data, dict) or set(data) != {f.name for f in fields(cls)}:
            return None
        numbers = ("frames", "record_start", "track", "cut")
        if any(type(data[n]) is not int or not 0 <= data[n] <= MAX_FRAME for n in numbers):
            return None
        if not 1 <= data["frames"] <= MAX_FRAMES or data["track"] < 1 or data["placement"] not in PLACEMENTS:
            return None
        if any(not isinstance(data[n], str) or not data[n] or "\x00" in data[n] for n in ("folder", "format", "name")):
            return None
        return cls(**data)


def marked_cuts(markers: Mapping[object, object], start_frame: int, tracks: Mapping[int, Sequence[Span]],
                order: Iterable[int]) -> tuple[list[tuple[float, Cut]], int]:
    """The cuts the timeline's markers sit on: ``([(marker frameId, cut), ...], markers elsewhere)``.

    ``markers`` is ``Timeline.GetMarkers()`` (frameId, an offset from ``start_frame`` ->
    information). A marker counts on A's last frame or B's first, on the first track in
    ``order`` with a cut there; one cut marked twice counts once. Cuts come in timeline order.
    """
    order = list(order)
    found: dict[tuple[int, int], tuple[float, Cut]] = {}
    elsewhere = 0
    for frame_id in markers:
        if isinstance(frame_id, bool) or not isinstance(frame_id, (int, float)):
            elsewhere += 1
            continue
        frame = start_frame + int(frame_id)
        cut = next((Cut(track, *near) for track in order
                    if (near := cut_near(tracks.get(track, ()), frame)) and near[2] in (frame, frame + 1)), None)
        if cut is None:
            elsewhere += 1
        else:
            found.setdefault((cut.track, cut.frame), (frame_id, cut))
    return sorted(found.values(), key=lambda item: (item[1].frame, -item[1].track)), elsewhere
