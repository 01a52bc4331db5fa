"""Resolve's timeline and media pool, read into `mapping` values and written back.

The only module that calls Resolve's scripting API (besides `host` fetching the handles).
Every call is one that Resolve 20.0's scripting README ("Last Updated: 7 May 2025",
section "DaVinci Resolve API") documents, so the script relies on nothing a later or an
undocumented build may lack:

* ``Timeline.GetSetting("timelineFrameRate")``: 21.1 deprecates the name-argument form
  but keeps it working; ``Timeline.GetSettings()`` is not in Resolve 20.0's README;
* ``MediaPoolItem.GetClipProperty()`` without a key (a dict of all properties, the
  README's "Looking up Project and Clip properties"), else one key at a time;
* ``TimelineItem.GetSourceStartFrame()`` (19.0.2+), else ``GetLeftOffset()`` on older
  versions, reached through `host.optional`;
* ``Timeline.GetCurrentVideoItem()`` to prefer the track the user is working on
  (``Timeline.GetSelectedClips()`` would say more, but Resolve 20.0's README lacks it);
* ``Timeline.GetMarkers()``, ``GetMarkerCustomData()`` and ``UpdateMarkerCustomData()``
  for the cuts sent to a render farm (documented since 16.2).

Track and item indices are Resolve's: video tracks ``1 .. GetTrackCount("video")``,
bottom to top. Nothing here changes Resolve until `import_frames`, `place` and
`import_previews`, which undo their own partial work when a step fails.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from .errors import Refusal
from .host import optional
from .mapping import ClipSource, Plan, Span, choose_track, sequence_path
from .timecode import FrameRate, from_frames, parse_rate, playhead_frame, to_frames

VIDEO = "video"
BIN_NAME = "Segue"
#: an item whose source span differs from its length by more than this is retimed
SPEED_TOLERANCE = 1


class PlacementError(Exception):
    """Resolve did not import or place the result (its own partial work is undone)."""


@dataclass
class TimelineView:
    """What the flow needs to know about the current timeline, read once."""

    timeline: Any
    rate: FrameRate
    playhead: int
    playhead_timecode: str
    track_count: int
    items: dict[int, list[Any]] = field(default_factory=dict)
    spans: dict[int, list[Span]] = field(default_factory=dict)
    enabled: list[int] = field(default_factory=list)
    locked: list[int] = field(default_factory=list)


def current_timeline(resolve: Any) -> tuple[Any, Any]:
    """The current project and timeline; refuses if either is missing."""
    project = optional(optional(resolve, "GetProjectManager"), "GetCurrentProject")
    if not project:
        raise Refusal("No project", "No project is open in Resolve. Open the project with your edit, "
                      "park the playhead on a cut and run Segue again.")
    timeline = optional(project, "GetCurrentTimeline")
    if not timeline:
        raise Refusal("No timeline", "The project has no current timeline. Open your edit on the Edit page, "
                      "park the playhead on a cut and run Segue again.")
    return project, timeline


def timeline_setting(timeline: Any, name: str) -> Any:
    """A timeline setting by its documented key (``Timeline.GetSetting(settingName)``)."""
    return optional(timeline, "GetSetting", name)


def read_view(timeline: Any) -> TimelineView:
    """Rate, playhead and the video tracks' items of ``timeline``."""
    rate_text = timeline_setting(timeline, "timelineFrameRate")
    try:
        rate = parse_rate(rate_text)
    except ValueError:
        raise Refusal("Timeline frame rate", f"Resolve reports the timeline rate as {rate_text!r}, "
                      "which Segue does not understand.") from None
    current = timeline.GetCurrentTimecode()
    if not current:
        raise Refusal("No cut at the playhead", "Resolve reports no playhead position. Open the timeline on "
                      "the Edit page, park the playhead on a cut and run Segue again.")
    if ";" in str(current) and not rate.drop_frame and rate.timebase in (30, 60) and rate.fps != rate.timebase:
        rate = FrameRate(rate.fps, True)  # drop-frame timecode is written with ';'
    try:
        playhead = playhead_frame(current, timeline.GetStartTimecode(), int(timeline.GetStartFrame()), rate)
    except ValueError as exc:
        raise Refusal("Timeline timecode", f"Cannot read the timeline's timecode: {exc}.") from None
    count = int(timeline.GetTrackCount(VIDEO) or 0)
    view = TimelineView(timeline, rate, playhead, str(current), count)
    for track in range(1, count + 1):
        items = [item for item in (timeline.GetItemListInTrack(VIDEO, track) or []) if item]
        view.items[track] = items
        view.spans[track] = [(_frame(item.GetStart()), _frame(item.GetEnd())) for item in items]
        if optional(timeline, "GetIsTrackEnabled", VIDEO, track) is not False:
            view.enabled.append(track)
        if optional(timeline, "GetIsTrackLocked", VIDEO, track) is True:
            view.locked.append(track)
    return view


def timecode_at(view: TimelineView, frame: int) -> str:
    """The timeline timecode of record frame ``frame`` (counted from the playhead's timecode)."""
    return from_frames(max(0, to_frames(view.playhead_timecode, view.rate) + frame - view.playhead), view.rate)


def markers(timeline: Any) -> dict:
    """The timeline's markers: frameId (an offset from ``GetStartFrame()``) -> information."""
    found = optional(timeline, "GetMarkers")
    return found if isinstance(found, dict) else {}


def marker_data(timeline: Any, frame_id: Any) -> str:
    """The ``customData`` of the marker at ``frame_id`` ("" if none)."""
    return str(optional(timeline, "GetMarkerCustomData", frame_id) or "")


def set_marker_data(timeline: Any, frame_id: Any, data: str) -> bool:
    """Replace the ``customData`` of the marker at ``frame_id``; False if Resolve did not."""
    return optional(timeline, "UpdateMarkerCustomData", frame_id, data) is True


def preferred_tracks(view: TimelineView) -> list[int]:
    """The track of Resolve's current video item, if any: searched before the others.

    Resolve's documented API has no selection or "selected track" for timeline items;
    the current video item (the one the viewer shows) is the closest documented notion.
    """
    current = optional(optional(view.timeline, "GetCurrentVideoItem"), "GetUniqueId")
    if not current:
        return []
    for track, items in view.items.items():
        if any(optional(item, "GetUniqueId") == current for item in items):
            return [track]
    return []


def clip_properties(media_item: Any, *names: str) -> dict[str, Any]:
    """Clip properties by their Media Pool names ("File Path", "FPS")."""
    every = optional(media_item, "GetClipProperty")  # no key: a dict of all properties (the 21.1 form)
    every = every if isinstance(every, dict) else {}
    return {name: every[name] if name in every else optional(media_item, "GetClipProperty", name)
            for name in names}


def clip_source(item: Any, label: str) -> ClipSource:
    """One side of the cut as the daemon needs it; refuses what is not a plain media clip."""
    name = optional(item, "GetName") or f"clip {label}"
    media = optional(item, "GetMediaPoolItem")
    if not media:
        raise Refusal("Not a media clip", f"Clip {label} ({name}) is not a media file: generators, titles and "
                      "effects have no media. Segue bridges two clips cut from video files or image sequences.")
    props = clip_properties(media, "File Path", "FPS")
    path = str(props.get("File Path") or "").strip()
    if not path:
        raise Refusal("Not a media clip", f"Clip {label} ({name}) has no file behind it: compound, Fusion and "
                      "multicam clips and nested timelines cannot be read by Segue. Decompose it to its "
                      "media clips first.")
    try:
        fps = parse_rate(props.get("FPS")).fps
    except ValueError:
        raise Refusal("Not a media clip", f"Clip {label} ({name}) reports no frame rate "
                      f"({props.get('FPS')!r}); Segue needs moving footage.") from None
    start, end = _frame(item.GetStart()), _frame(item.GetEnd())
    source_in = optional(item, "GetSourceStartFrame")  # 19.0.2+
    if source_in is None:
        source_in = item.GetLeftOffset()  # frames of media before the in point
    source_in = _frame(source_in)
    source_end = optional(item, "GetSourceEndFrame")
    # a retimed item shows more or fewer source frames than its length (the end's
    # convention, inclusive or not, is not documented: allow one frame either way)
    if source_end is not None and abs(_frame(source_end) - source_in - (end - start)) > SPEED_TOLERANCE:
        raise Refusal("Retimed clip", f"Clip {label} ({name}) plays at a changed speed. Segue needs clips at "
                      "100 % speed; render the retime first or reset the clip's speed.")
    return ClipSource(name=name, path=sequence_path(path), record_start=start, record_end=end,
                      source_in=source_in, fps=fps)


# -- writing back ---------------------------------------------------------------------


def _segue_bin(media_pool: Any) -> tuple[Any, bool]:
    """The "Segue" bin under the media pool's root, created if missing: ``(folder, created)``."""
    root = media_pool.GetRootFolder()
    for folder in root.GetSubFolderList() or []:
        if folder and folder.GetName() == BIN_NAME:
            return folder, False
    folder = media_pool.AddSubFolder(root, BIN_NAME)
    if not folder:
        raise PlacementError(f"Resolve did not create the {BIN_NAME!r} bin.")
    return folder, True


@dataclass
class Imported:
    """The imported frames and how to take them out again."""

    media_item: Any
    folder: Any
    created_folder: bool

    def undo(self, media_pool: Any) -> None:
        """Remove the imported clip, and the bin if this import created it."""
        media_pool.DeleteClips([self.media_item])
        if self.created_folder:
            media_pool.DeleteFolders([self.folder])


def _into_segue_bin(media_pool: Any, items: list[Any]) -> tuple[list[Any], Any, bool]:
    """``MediaPool.ImportMedia(items)`` into the "Segue" bin: ``(created clips, bin, bin created)``.

    ImportMedia imports into the current bin; the current bin is restored afterwards, so
    the editor's media pool view stays put.
    """
    folder, created = _segue_bin(media_pool)
    previous = media_pool.GetCurrentFolder()
    result: list = []
    try:
        if media_pool.SetCurrentFolder(folder):
            result = media_pool.ImportMedia(items) or []
    finally:
        if previous:
            media_pool.SetCurrentFolder(previous)
    return [item for item in result if item], folder, created


def import_frames(media_pool: Any, pattern: str, count: int, name: str) -> Imported:
    """Import ``pattern`` frames 1..count as one clip into the "Segue" bin."""
    items, folder, created = _into_segue_bin(media_pool, [{"FilePath": pattern, "StartIndex": 1, "EndIndex": count}])
    if len(items) != 1:
        if items:
            media_pool.DeleteClips(items)
        if created:
            media_pool.DeleteFolders([folder])
        raise PlacementError(f"Resolve imported {len(items)} clips from {pattern} (frames 1-{count}), expected one.")
    optional(items[0], "SetClipProperty", "Clip Name", name)  # cosmetic: keep Resolve's name if refused
    return Imported(items[0], folder, created)


def import_previews(media_pool: Any, paths: list[str]) -> tuple[list[str], list[str]]:
    """Import the preview movies into the "Segue" bin, never onto a timeline.

    Returns ``(imported, already there)``, as file paths. A movie already in the bin (the
    same request run again) is not imported twice. Raises `PlacementError` if Resolve
    imports none of the new ones.
    """
    folder, _ = _segue_bin(media_pool)
    present = _file_paths(folder.GetClipList() or [])
    new = [p for p in paths if os.path.normcase(p) not in present]
    old = [p for p in paths if p not in new]
    if not new:
        return [], old
    items, _, _ = _into_segue_bin(media_pool, new)
    landed = _file_paths(items)
    imported = [p for p in new if os.path.normcase(p) in landed]
    if not imported:
        raise PlacementError(f"Resolve did not import {', '.join(os.path.basename(p) for p in new)}.")
    return imported, old


def _file_paths(clips: list[Any]) -> set[str]:
    """The media pool clips' "File Path" properties, case-normalised as the platform compares them."""
    return {os.path.normcase(str(clip_properties(clip, "File Path")["File Path"] or "")) for clip in clips if clip}


def place(media_pool: Any, view: TimelineView, cut_track: int, imported: Imported, plan: Plan) -> tuple[int, Any]:
    """Put the imported clip on the track above the cut at ``plan.record_start``: ``(track, item)``.

    The lowest free unlocked track above the cut is used, or a new one on top. The
    README says neither whether ``endFrame`` is inclusive nor where ``recordFrame``
    counts from, so the readings Resolve 21 was measured to use come first (exclusive end,
    absolute record frame, the numbering of ``GetStart()``) and each result is checked:
    exactly ``plan.frames`` frames at ``plan.record_start`` on that track, else it is
    removed and the next reading tried. On failure everything this call added is removed.
    """
    timeline = view.timeline
    track = choose_track(cut_track, (plan.record_start, plan.record_end), view.spans, view.locked, view.track_count)
    added = track is None
    if added:
        if not timeline.AddTrack(VIDEO):
            raise PlacementError("Resolve did not add a video track for the transition.")
        track = int(timeline.GetTrackCount(VIDEO))
    origin = int(timeline.GetStartFrame())
    readings = dict.fromkeys((end, record) for record in (plan.record_start, plan.record_start - origin)
                             for end in (plan.frames, plan.frames - 1))  # dict: no reading tried twice
    for end_frame, record_frame in readings:
        clip = {"mediaPoolItem": imported.media_item, "startFrame": 0, "endFrame": end_frame, "mediaType": 1,
                "trackIndex": track, "recordFrame": record_frame}
        appended = [item for item in (media_pool.AppendToTimeline([clip]) or []) if item]
        if len(appended) == 1 and _landed(timeline, appended[0], track, plan):
            return track, appended[0]
        if appended:
            timeline.DeleteClips(appended)
    if added:
        timeline.DeleteTrack(VIDEO, track)
    raise PlacementError(f"Resolve did not place {plan.frames} frames at frame {plan.record_start} on track V{track}.")


def import_and_place(media_pool: Any, view: TimelineView, cut_track: int, pattern: str, name: str,
                     plan: Plan) -> int:
    """`import_frames` then `place` them above the cut; returns the track. On `PlacementError`
    nothing stays behind (the import is undone too)."""
    imported = import_frames(media_pool, pattern, plan.frames, name)
    try:
        track, _ = place(media_pool, view, cut_track, imported, plan)
    except PlacementError:
        imported.undo(media_pool)
        raise
    return track


def _landed(timeline: Any, item: Any, track: int, plan: Plan) -> bool:
    """True if ``item`` has exactly the planned length and position, on ``track``."""
    if _frame(item.GetDuration()) != plan.frames or _frame(item.GetStart()) != plan.record_start:
        return False
    unique = optional(item, "GetUniqueId")
    if not unique:
        return True  # nothing to compare by; length and position already match
    return any(optional(other, "GetUniqueId") == unique for other in timeline.GetItemListInTrack(VIDEO, track) or [])


def _frame(value: Any) -> int:
    """A frame number from Resolve (int, or float with subframe precision)."""
    return round(float(value))
