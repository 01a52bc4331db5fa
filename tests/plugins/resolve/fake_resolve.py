"""A faithful fake of DaVinci Resolve's scripting API and of Fusion's UIManager.

Resolve cannot be installed in CI, so the Resolve script is tested against this fake. It
implements only names the documentation lists, with the documented return shapes, and
nothing the script could lean on by accident. Sources (cited as [tag] below):

[R20]  Resolve's scripting README (``Developer/Scripting/README.txt``), "Last Updated:
       7 May 2025" (DaVinci Resolve 20.0), section "DaVinci Resolve API", one block per
       class; "Using a script" for the Scripts folders and ``DaVinciResolveScript``;
       "Looking up Project and Clip properties" for GetSetting/GetClipProperty keys (and
       for calling them without a key: a dict of every property). Every API method here
       is one of its entries; its docstring starts with ``[R20]``.
[V]    The versioned rendering of that README in WheheoHu/bmd_doc
       (``ResolveAPI_versioned_docs``), only for the version that brought a documented
       method: TimelineItem.GetTrackTypeAndIndex (19.0.0), GetSourceStartFrame /
       GetSourceEndFrame (19.0.2); and other/misc.md "Deprecated Calling Conventions"
       (21.1.0: GetSetting(name), GetClipProperty(name), ImportMedia([paths]) still work).
       Methods that only later documentation lists (Timeline.GetSettings,
       Timeline.GetSelectedClips) are deliberately absent: the script keeps to [R20].
[WI]   Resolve's ``Developer/Workflow Integrations/README.txt`` ("Updated as of 3 October
       2024"), sections "UIManager Introduction", "UIDispatcher Functions", "UIManager
       Elements", "UIManager Layout" and "Event Handlers": the UI elements, attributes,
       functions and events below, and nothing else.
[M]    What the README leaves open, set from public live measurements on Resolve Studio
       21.0 (samuelgursky/davinci-resolve-mcp PR #80 and issue #164): the clipInfo
       ``endFrame`` of MediaPool.AppendToTimeline is exclusive, and ``recordFrame`` is an
       absolute timeline frame (the numbering of Timeline.GetStartFrame()).

Conventions kept: track, timeline and other indices are 1-based and out-of-range indices
return None; methods documented to return an object "if one exists" return None when it
does not; Bool methods return False on failure; list methods return [] when nothing was
created; timecodes are strings. ``FakeResolve(version=...)`` hides methods newer than that
version (AttributeError, like a Python object without the attribute), and
``append_end="inclusive"`` / ``record_frame="relative"`` flip the two conventions [M]
measured, so that "an independent re-implementation of the documented API" can be played
too. Where the README is silent the fake is stricter than Resolve is known to be
(appending over an occupied range or past the media fails), so a script cannot pass by
luck.

Every API name a script looks up, found or not, is recorded in ``FakeResolve._looked_up``
(``(class, name)``, the README's class names): `undocumented_lookups` lists those that are not [R20] methods, so a
test can prove the script asks Resolve for nothing else, even through a guard that would
swallow the AttributeError.

Everything whose name starts with ``add_``/``set_``/``snapshot`` on `Scene`, and every
attribute starting with ``_``, is test-side scaffolding, not part of the fake API.
"""
from __future__ import annotations

import itertools
import os
import queue
import re
import threading
import time
from collections.abc import Callable
from typing import Any

SAFETY = 120  # seconds a dialog may wait for the (scripted) user: a net for hangs, never an expectation
_ids = itertools.count(1)


def _unique_id() -> str:
    return f"fake-{next(_ids):06d}"


def since(*version: int) -> Callable:
    """Mark an API method as new in Resolve ``version`` [V]."""
    def mark(fn: Callable) -> Callable:
        fn._since = version
        return fn
    return mark


class _Api:
    """Base of the fake's API objects: methods newer than the simulated version do not exist.

    Public names looked up are recorded (found or not) for `undocumented_lookups`.
    """

    _resolve: FakeResolve

    def __getattribute__(self, name: str) -> Any:
        if name.startswith("_"):
            return object.__getattribute__(self, name)
        resolve = object.__getattribute__(self, "_resolve")
        resolve._looked_up.add((type(self).__name__.removeprefix("Fake"), name))  # the README's class name
        attr = object.__getattribute__(self, name)
        need = getattr(attr, "_since", None)
        if need is not None and resolve._version < need:
            raise AttributeError(f"{type(self).__name__} has no attribute {name!r} before Resolve "
                                 f"{'.'.join(map(str, need))}")
        return attr


def documented_methods() -> set[tuple[str, str]]:
    """``(class, method)`` of every fake API method (the README's class names), each an entry of [R20]."""
    found = set()
    for cls in _Api.__subclasses__():
        for name, member in vars(cls).items():
            if callable(member) and not name.startswith("_"):
                assert (member.__doc__ or "").startswith("[R20]"), f"{cls.__name__}.{name} cites no [R20] entry"
                found.add((cls.__name__.removeprefix("Fake"), name))
    return found


def undocumented_lookups(resolve: FakeResolve) -> set[tuple[str, str]]:
    """API names a script looked up on ``resolve``'s objects that [R20] does not document."""
    return resolve._looked_up - documented_methods()


# -- timecode (the fake's own arithmetic, independent of the script's) ------------------


#: the marker colours of Resolve's marker menu
MARKER_COLORS = ("Blue", "Cyan", "Green", "Yellow", "Red", "Pink", "Purple", "Fuchsia", "Rose", "Lavender", "Sky",
                 "Mint", "Lemon", "Sand", "Cocoa", "Cream")


def _offset(frame_id: Any) -> int | None:
    """A marker position as the API takes it (an int, or a whole float such as GetMarkers' keys), else None."""
    if isinstance(frame_id, bool) or not isinstance(frame_id, (int, float)) or frame_id != int(frame_id):
        return None
    return int(frame_id)


def _rate(text: str) -> tuple[float, int, bool]:
    """(fps, timebase, drop_frame) from a timelineFrameRate setting ("25", "29.97 DF") [R20]."""
    drop = text.strip().upper().endswith("DF")
    fps = float(text.upper().replace("DF", "").strip())
    return fps, round(fps), drop


def _format_timecode(frames: int, rate: str) -> str:
    _, base, drop = _rate(rate)
    if drop:  # SMPTE drop-frame: skip frame numbers 0..d-1 each minute except every tenth
        d = base // 15
        tens, rest = divmod(frames, base * 600 - 9 * d)
        frames += 9 * d * tens + (d * ((rest - d) // (base * 60 - d)) if rest > d else 0)
    sep = ";" if drop else ":"
    s, f = divmod(frames, base)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{sep}{f:02d}"


def _parse_timecode(text: str, rate: str) -> int:
    _, base, drop = _rate(rate)
    h, m, s, f = (int(x) for x in re.split(r"[:;]", text))
    frames = ((h * 60 + m) * 60 + s) * base + f
    if drop:
        minutes = 60 * h + m
        frames -= (base // 15) * (minutes - minutes // 10)
    return frames


# -- Resolve ------------------------------------------------------------------------------


class FakeResolve(_Api):
    """[R20] Resolve: the object a menu script gets as ``resolve``."""

    def __init__(self, version: tuple[int, ...] = (20, 0), append_end: str = "exclusive",
                 record_frame: str = "absolute") -> None:
        assert append_end in ("exclusive", "inclusive") and record_frame in ("absolute", "relative")
        self._looked_up: set[tuple[str, str]] = set()
        self._resolve = self
        self._version = tuple(version)
        self._append_end = append_end
        self._record_frame = record_frame
        self._project_manager = FakeProjectManager(self)
        self._fusion = FakeFusion()

    def Fusion(self) -> FakeFusion:
        """[R20] Returns the Fusion object. Starting point for Fusion scripts."""
        return self._fusion

    def GetProjectManager(self) -> FakeProjectManager:
        """[R20] Returns the project manager object for currently open database."""
        return self._project_manager

    def GetProductName(self) -> str:
        """[R20] Returns product name."""
        return "DaVinci Resolve Studio"

    def GetVersion(self) -> list:
        """[R20] Returns list of product version fields in [major, minor, patch, build, suffix] format."""
        v = list(self._version) + [0] * (3 - len(self._version))
        return [v[0], v[1], v[2], 1, ""]

    def GetVersionString(self) -> str:
        """[R20] Returns product version in "major.minor.patch[suffix].build" format."""
        major, minor, patch, build, suffix = self.GetVersion()
        return f"{major}.{minor}.{patch}{suffix}.{build}"


class FakeProjectManager(_Api):
    """[R20] ProjectManager."""

    def __init__(self, resolve: FakeResolve) -> None:
        self._resolve = resolve
        self._current: FakeProject | None = None

    def GetCurrentProject(self) -> FakeProject | None:
        """[R20] Returns the currently loaded Resolve project (None when none is loaded)."""
        return self._current


class FakeProject(_Api):
    """[R20] Project."""

    def __init__(self, resolve: FakeResolve, name: str) -> None:
        self._resolve = resolve
        self._name = name
        self._media_pool = FakeMediaPool(resolve, self)
        self._timelines: list[FakeTimeline] = []
        self._current: FakeTimeline | None = None
        self._unique_id = _unique_id()

    def GetMediaPool(self) -> FakeMediaPool:
        """[R20] Returns the Media Pool object."""
        return self._media_pool

    def GetTimelineCount(self) -> int:
        """[R20] Returns the number of timelines currently present in the project."""
        return len(self._timelines)

    def GetTimelineByIndex(self, idx: int) -> FakeTimeline | None:
        """[R20] Returns timeline at the given index, 1 <= idx <= project.GetTimelineCount()."""
        return self._timelines[idx - 1] if 1 <= idx <= len(self._timelines) else None

    def GetCurrentTimeline(self) -> FakeTimeline | None:
        """[R20] Returns the currently loaded timeline."""
        return self._current

    def SetCurrentTimeline(self, timeline: FakeTimeline) -> bool:
        """[R20] Sets given timeline as current timeline for the project. Returns True if successful."""
        if timeline not in self._timelines:
            return False
        self._current = timeline
        return True

    def GetName(self) -> str:
        """[R20] Returns project name."""
        return self._name

    def GetUniqueId(self) -> str:
        """[R20] Returns a unique ID for the project item."""
        return self._unique_id


# -- media pool -----------------------------------------------------------------------------


class FakeFolder(_Api):
    """[R20] Folder (a media pool bin)."""

    def __init__(self, resolve: FakeResolve, name: str) -> None:
        self._resolve = resolve
        self._name = name
        self._clips: list[FakeMediaPoolItem] = []
        self._folders: list[FakeFolder] = []
        self._unique_id = _unique_id()

    def GetClipList(self) -> list:
        """[R20] Returns a list of clips (items) within the folder."""
        return list(self._clips)

    def GetName(self) -> str:
        """[R20] Returns the media folder name."""
        return self._name

    def GetSubFolderList(self) -> list:
        """[R20] Returns a list of subfolders in the folder."""
        return list(self._folders)

    def GetUniqueId(self) -> str:
        """[R20] Returns a unique ID for the media pool folder."""
        return self._unique_id


class FakeMediaPoolItem(_Api):
    """[R20] MediaPoolItem. Properties use the Media Pool's column names ("File Path", "FPS", ...)."""

    def __init__(self, resolve: FakeResolve, properties: dict[str, str], frames: int) -> None:
        self._resolve = resolve
        self._properties = dict(properties)
        self._frames = frames  # media length in frames (what the item can supply)
        self._unique_id = _unique_id()

    def GetName(self) -> str:
        """[R20] Returns the clip name."""
        return self._properties.get("Clip Name", "")

    def GetClipProperty(self, propertyName: str | None = None) -> Any:
        """[R20] Returns the property value for the key 'propertyName'; without one, a dict of all.

        "Note that getting a property using an invalid key will return a trivial result."
        (README, "Looking up Project and Clip properties"): an empty string here.
        """
        if not propertyName:
            return dict(self._properties)
        return self._properties.get(propertyName, "")

    def SetClipProperty(self, propertyName: str, propertyValue: str) -> bool:
        """[R20] Sets the given property to propertyValue (string)."""
        if propertyName not in ("Clip Name", "Comments", "Description", "Scene", "Shot"):
            return False  # intrinsic properties are read only
        self._properties[propertyName] = str(propertyValue)
        return True

    def GetMediaId(self) -> str:
        """[R20] Returns the unique ID for the MediaPoolItem."""
        return self._unique_id

    def GetUniqueId(self) -> str:
        """[R20] Returns a unique ID for the media pool item."""
        return self._unique_id


_SEQUENCE = re.compile(r"%0?(\d*)d")
_MOVIES = (".mp4", ".mov", ".mxf", ".mkv", ".avi")


def _movie_frames(path: str) -> tuple[int, float]:
    """(frame count, fps) of a movie as a media reader sees it; (0, 0) if it cannot be read."""
    import cv2  # test-side: the fake needs a movie's length, as Resolve's own reader would

    capture = cv2.VideoCapture(path)
    try:
        if not capture.isOpened():
            return 0, 0.0
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT)), float(capture.get(cv2.CAP_PROP_FPS))
    finally:
        capture.release()


class FakeMediaPool(_Api):
    """[R20] MediaPool."""

    def __init__(self, resolve: FakeResolve, project: FakeProject) -> None:
        self._resolve = resolve
        self._project = project
        self._root = FakeFolder(resolve, "Master")
        self._current = self._root
        self._unique_id = _unique_id()

    def _folders(self) -> list[FakeFolder]:
        found, stack = [], [self._root]
        while stack:
            folder = stack.pop()
            found.append(folder)
            stack.extend(folder._folders)
        return found

    def _contains(self, item: Any) -> bool:
        return any(item in f._clips for f in self._folders())

    def GetRootFolder(self) -> FakeFolder:
        """[R20] Returns root Folder of Media Pool."""
        return self._root

    def AddSubFolder(self, folder: FakeFolder, name: str) -> FakeFolder | None:
        """[R20] Adds new subfolder under specified Folder object with the given name."""
        if folder not in self._folders() or not name:
            return None
        child = FakeFolder(self._resolve, name)
        folder._folders.append(child)
        return child

    def GetCurrentFolder(self) -> FakeFolder:
        """[R20] Returns currently selected Folder."""
        return self._current

    def SetCurrentFolder(self, folder: FakeFolder) -> bool:
        """[R20] Sets current folder by given Folder."""
        if folder not in self._folders():
            return False
        self._current = folder
        return True

    def GetUniqueId(self) -> str:
        """[R20] Returns a unique ID for the media pool."""
        return self._unique_id

    def ImportMedia(self, items: list) -> list:
        """[R20] Imports into the current folder; returns the MediaPoolItems created ([] if none).

        ``[paths]`` (deprecated since 21.1 [V], still working) imports existing still images and
        movies (a movie Resolve cannot read imports nothing);
        ``[{"FilePath": "file_%03d.dpx", "StartIndex": 1, "EndIndex": 100}]`` imports one
        clip "file_[001-100].dpx" whose every frame must exist.
        """
        created = []
        for entry in items or []:
            item = self._import_one(entry)
            if item is not None:
                self._current._clips.append(item)
                created.append(item)
        return created

    def _import_one(self, entry: Any) -> FakeMediaPoolItem | None:
        if isinstance(entry, dict):
            path = entry.get("FilePath")
            if not isinstance(path, str):
                return None
            if "StartIndex" not in entry and "EndIndex" not in entry:
                return self._import_one(path)
            match = _SEQUENCE.search(path)
            start, end = entry.get("StartIndex"), entry.get("EndIndex")
            if not match or not isinstance(start, int) or not isinstance(end, int) or end < start:
                return None
            width = int(match.group(1) or 0)
            files = [path[:match.start()] + f"{n:0{width}d}" + path[match.end():] for n in range(start, end + 1)]
            if not all(os.path.isfile(f) for f in files):
                return None
            shown = path[:match.start()] + f"[{start:0{width}d}-{end:0{width}d}]" + path[match.end():]
            fps = self._project._media_fps()
            return FakeMediaPoolItem(self._resolve, {"Clip Name": os.path.basename(shown), "File Path": shown,
                                                     "FPS": fps, "Frames": str(len(files)), "Type": "Video"},
                                     len(files))
        if isinstance(entry, str) and os.path.isfile(entry) and entry.lower().endswith(
                (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".exr", ".dpx")):
            return FakeMediaPoolItem(self._resolve, {"Clip Name": os.path.basename(entry), "File Path": entry,
                                                     "FPS": self._project._media_fps(), "Frames": "1",
                                                     "Type": "Still"}, 1)
        if isinstance(entry, str) and os.path.isfile(entry) and entry.lower().endswith(_MOVIES):
            frames, fps = _movie_frames(entry)
            if frames < 1:
                return None
            return FakeMediaPoolItem(self._resolve, {"Clip Name": os.path.basename(entry), "File Path": entry,
                                                     "FPS": f"{fps:.3f}", "Frames": str(frames), "Type": "Video"},
                                     frames)
        return None

    def DeleteClips(self, clips: list) -> bool:
        """[R20] Deletes specified clips or timeline mattes in the media pool (and their timeline uses)."""
        targets = [c for c in clips or [] if self._contains(c)]
        if not targets:
            return False
        for folder in self._folders():
            folder._clips = [c for c in folder._clips if c not in targets]
        for timeline in self._project._timelines:
            for items in timeline._tracks["video"] + timeline._tracks["audio"]:
                items[:] = [i for i in items if i._media not in targets]
        return True

    def DeleteFolders(self, subfolders: list) -> bool:
        """[R20] Deletes specified subfolders in the media pool."""
        done = False
        for parent in self._folders():
            keep = [f for f in parent._folders if f not in (subfolders or [])]
            done |= len(keep) != len(parent._folders)
            parent._folders = keep
        if self._current not in self._folders():
            self._current = self._root
        return done

    def AppendToTimeline(self, *args: Any) -> list:
        """[R20] Appends to the current timeline; returns the list of appended timelineItems.

        The clipInfo form: dicts of "mediaPoolItem", "startFrame", "endFrame", (optional)
        "mediaType" (1 video only, 2 audio only), "trackIndex" and "recordFrame". ``endFrame``
        is exclusive and ``recordFrame`` absolute [M] (or as ``append_end``/``record_frame``
        say). A list that cannot be placed as a whole places nothing and returns [].
        """
        timeline = self._project._current
        if timeline is None:
            return []
        entries = args[0] if len(args) == 1 and isinstance(args[0], list) else list(args)
        infos = []
        for entry in entries:
            if isinstance(entry, FakeMediaPoolItem):  # the plain forms (deprecated since 21.1 [V])
                entry = {"mediaPoolItem": entry, "startFrame": 0, "endFrame": entry._frames}
                if self._resolve._append_end == "inclusive":
                    entry["endFrame"] -= 1
            info = self._check_clip_info(timeline, entry)
            if info is None:
                return []
            infos.append(info)
        planned: dict[int, list[tuple[int, int]]] = {}
        for track, record, _, length in infos:
            span = (record, record + length)
            taken = [(i._start, i._start + i._duration) for i in timeline._tracks["video"][track - 1]]
            if any(s < span[1] and span[0] < e for s, e in taken + planned.get(track, [])):
                return []  # the README does not say what Resolve does over other clips: refuse
            planned.setdefault(track, []).append(span)
        appended = []
        for (track, record, (media, start), length) in infos:
            item = FakeTimelineItem(self._resolve, timeline, media, record, start, length)
            timeline._tracks["video"][track - 1].append(item)
            appended.append(item)
        return appended

    def _check_clip_info(self, timeline: FakeTimeline, info: Any):
        if not isinstance(info, dict) or not self._contains(info.get("mediaPoolItem")):
            return None
        media = info["mediaPoolItem"]
        start, end = info.get("startFrame"), info.get("endFrame")
        if not isinstance(start, (int, float)) or not isinstance(end, (int, float)):
            return None
        if info.get("mediaType", 1) != 1 or "Video" not in media._properties.get("Type", "") and \
                media._properties.get("Type") != "Still":
            return None  # this fake edits video only
        length = int(end - start) + (1 if self._resolve._append_end == "inclusive" else 0)
        track = info.get("trackIndex", 1)
        if length < 1 or start < 0 or start + length > media._frames:
            return None
        if not isinstance(track, int) or not 1 <= track <= len(timeline._tracks["video"]):
            return None
        if timeline._locked["video"][track - 1]:
            return None
        record = info.get("recordFrame")
        if record is None:
            record = max([i._start + i._duration for i in timeline._tracks["video"][track - 1]],
                         default=timeline._start_frame)
        elif self._resolve._record_frame == "relative":
            record += timeline._start_frame
        return track, int(record), (media, int(start)), length


# -- timeline -----------------------------------------------------------------------------


class FakeTimeline(_Api):
    """[R20] Timeline. Track types "video", "audio", "subtitle"; tracks 1-based, bottom up."""

    def __init__(self, resolve: FakeResolve, project: FakeProject, name: str, frame_rate: str,
                 start_timecode: str, video_tracks: int) -> None:
        self._resolve = resolve
        self._project = project
        self._name = name
        self._settings = {"timelineFrameRate": frame_rate}
        self._start_timecode = start_timecode
        self._start_frame = _parse_timecode(start_timecode, frame_rate)
        self._tracks: dict[str, list[list[FakeTimelineItem]]] = {"video": [[] for _ in range(video_tracks)],
                                                                   "audio": [[]], "subtitle": []}
        self._enabled = {t: [True] * len(v) for t, v in self._tracks.items()}
        self._locked = {t: [False] * len(v) for t, v in self._tracks.items()}
        self._playhead = self._start_frame
        self._unique_id = _unique_id()
        #: frameId (offset from the timeline's start frame) -> the marker's information
        self._markers: dict[int, dict[str, Any]] = {}

    def _valid(self, track_type: str, index: Any) -> bool:
        return track_type in self._tracks and isinstance(index, int) and 1 <= index <= len(self._tracks[track_type])

    def GetName(self) -> str:
        """[R20] Returns the timeline name."""
        return self._name

    def GetUniqueId(self) -> str:
        """[R20] Returns a unique ID for the timeline."""
        return self._unique_id

    def GetStartFrame(self) -> int:
        """[R20] Returns the frame number at the start of timeline."""
        return self._start_frame

    def GetEndFrame(self) -> int:
        """[R20] Returns the frame number at the end of timeline."""
        ends = [i._start + i._duration for items in self._tracks["video"] for i in items]
        return max(ends, default=self._start_frame)

    def GetStartTimecode(self) -> str:
        """[R20] Returns the start timecode for the timeline."""
        return self._start_timecode

    def GetSetting(self, settingName: str | None = None) -> Any:
        """[R20] Returns value of timeline setting (all settings as a dict without a name)."""
        if not settingName:
            return dict(self._settings)
        return self._settings.get(settingName, "")

    def GetTrackCount(self, trackType: str) -> int:
        """[R20] Returns the number of tracks for the given track type ("audio", "video" or "subtitle")."""
        return len(self._tracks.get(trackType, []))

    def AddTrack(self, trackType: str, subTrackType: Any = None) -> bool:
        """[R20] Adds track of trackType; an optional {'index': i} (19.0+) inserts instead of appending."""
        if trackType not in self._tracks:
            return False
        index = len(self._tracks[trackType]) + 1
        if isinstance(subTrackType, dict) and self._resolve._version >= (19, 0):
            wanted = subTrackType.get("index")
            if isinstance(wanted, int) and 1 <= wanted <= len(self._tracks[trackType]):
                index = wanted  # 'index' if skipped (or if value not in bounds) appends track
        self._tracks[trackType].insert(index - 1, [])
        self._enabled[trackType].insert(index - 1, True)
        self._locked[trackType].insert(index - 1, False)
        return True

    def DeleteTrack(self, trackType: str, trackIndex: int) -> bool:
        """[R20] Deletes track of trackType and given trackIndex. 1 <= trackIndex <= GetTrackCount(trackType)."""
        if not self._valid(trackType, trackIndex):
            return False
        del self._tracks[trackType][trackIndex - 1]
        del self._enabled[trackType][trackIndex - 1]
        del self._locked[trackType][trackIndex - 1]
        return True

    def SetTrackEnable(self, trackType: str, trackIndex: int, enabled: bool) -> bool:
        """[R20] Enables/Disables track with given trackType and trackIndex."""
        if not self._valid(trackType, trackIndex):
            return False
        self._enabled[trackType][trackIndex - 1] = bool(enabled)
        return True

    def GetIsTrackEnabled(self, trackType: str, trackIndex: int) -> bool:
        """[R20] Returns True if track with given trackType and trackIndex is enabled and False otherwise."""
        return self._valid(trackType, trackIndex) and self._enabled[trackType][trackIndex - 1]

    def SetTrackLock(self, trackType: str, trackIndex: int, locked: bool) -> bool:
        """[R20] Locks/Unlocks track with given trackType and trackIndex."""
        if not self._valid(trackType, trackIndex):
            return False
        self._locked[trackType][trackIndex - 1] = bool(locked)
        return True

    def GetIsTrackLocked(self, trackType: str, trackIndex: int) -> bool:
        """[R20] Returns True if track with given trackType and trackIndex is locked and False otherwise."""
        return self._valid(trackType, trackIndex) and self._locked[trackType][trackIndex - 1]

    def GetTrackName(self, trackType: str, trackIndex: int) -> str | None:
        """[R20] Returns the track name for track indicated by trackType and index."""
        if not self._valid(trackType, trackIndex):
            return None
        return f"{trackType[0].upper()}{trackIndex}"

    def GetItemListInTrack(self, trackType: str, index: int) -> list | None:
        """[R20] Returns a list of timeline items on that track. 1 <= index <= GetTrackCount(trackType)."""
        if not self._valid(trackType, index):
            return None
        return sorted(self._tracks[trackType][index - 1], key=lambda i: i._start)

    def DeleteClips(self, timelineItems: list, ripple: bool = False) -> bool:
        """[R20] Deletes specified TimelineItems from the timeline (ripple delete is not simulated)."""
        if ripple:
            raise NotImplementedError("ripple delete is not simulated")
        done = False
        for items in self._tracks["video"] + self._tracks["audio"]:
            keep = [i for i in items if i not in (timelineItems or [])]
            done |= len(keep) != len(items)
            items[:] = keep
        return done

    def GetCurrentTimecode(self) -> str:
        """[R20] Returns a string timecode representation for the current playhead position."""
        offset = self._playhead - self._start_frame
        start = _parse_timecode(self._start_timecode, self._settings["timelineFrameRate"])
        return _format_timecode(start + offset, self._settings["timelineFrameRate"])

    def SetCurrentTimecode(self, timecode: str) -> bool:
        """[R20] Sets current playhead position from input timecode."""
        try:
            frames = _parse_timecode(timecode, self._settings["timelineFrameRate"])
        except ValueError:
            return False
        self._playhead = self._start_frame + frames - _parse_timecode(self._start_timecode,
                                                                      self._settings["timelineFrameRate"])
        return True

    def AddMarker(self, frameId: Any, color: str, name: str, note: str, duration: Any,
                  customData: str | None = None) -> bool:
        """[R20] Creates a new marker at given frameId position and with given marker information.

        frameId is an offset from the timeline's start (GetMarkers' "timeline offset"). Stricter
        than Resolve is known to be: False for a frame outside the timeline, one that already
        has a marker, a colour Resolve's marker menu lacks, or a duration under one frame.
        """
        frame = _offset(frameId)
        if frame is None or frame in self._markers or not 0 <= frame < self.GetEndFrame() - self._start_frame:
            return False
        if color not in MARKER_COLORS or not isinstance(duration, (int, float)) or duration < 1:
            return False
        self._markers[frame] = {"color": color, "duration": float(duration), "note": str(note), "name": str(name),
                                "customData": str(customData or "")}
        return True

    def GetMarkers(self) -> dict:
        """[R20] Returns a dict (frameId -> {information}) of all markers and dicts with their information.

        Keys are floats, as in the README's example ({96.0: {'color': 'Green', ...}}).
        """
        return {float(frame): dict(info) for frame, info in sorted(self._markers.items())}

    def GetMarkerCustomData(self, frameId: Any) -> str:
        """[R20] Returns customData string for the marker at given frameId position ("" if none)."""
        info = self._markers.get(_offset(frameId))
        return info["customData"] if info else ""

    def UpdateMarkerCustomData(self, frameId: Any, customData: str) -> bool:
        """[R20] Updates customData (string) for the marker at given frameId position."""
        info = self._markers.get(_offset(frameId))
        if info is None or not isinstance(customData, str):
            return False
        info["customData"] = customData
        return True

    def DeleteMarkerAtFrame(self, frameNum: Any) -> bool:
        """[R20] Deletes the timeline marker at the given frame number."""
        return self._markers.pop(_offset(frameNum), None) is not None

    def GetCurrentVideoItem(self) -> FakeTimelineItem | None:
        """[R20] Returns the current video timeline item: here the topmost enabled one under the playhead."""
        for index in range(len(self._tracks["video"]), 0, -1):
            if not self._enabled["video"][index - 1]:
                continue
            for item in self._tracks["video"][index - 1]:
                if item._start <= self._playhead < item._start + item._duration:
                    return item
        return None


class FakeTimelineItem(_Api):
    """[R20] TimelineItem. ``media`` None: a generator or title (no media pool item)."""

    def __init__(self, resolve: FakeResolve, timeline: FakeTimeline, media: FakeMediaPoolItem | None,
                 start: int, source_in: int, duration: int, name: str | None = None) -> None:
        self._resolve = resolve
        self._timeline = timeline
        self._media = media
        self._start = start
        self._source_in = source_in
        self._duration = duration
        self._name = name or (media.GetName() if media is not None else "Generator")
        self._unique_id = _unique_id()

    def _track(self) -> tuple[str, int] | None:
        for track_type, tracks in self._timeline._tracks.items():
            for index, items in enumerate(tracks, 1):
                if self in items:
                    return track_type, index
        return None

    def GetName(self) -> str:
        """[R20] Returns the item name."""
        return self._name

    def GetDuration(self, subframe_precision: bool = False) -> Any:
        """[R20] Returns the item duration (fractional frames if subframe_precision is True)."""
        return float(self._duration) if subframe_precision else self._duration

    def GetStart(self, subframe_precision: bool = False) -> Any:
        """[R20] Returns the start frame position on the timeline."""
        return float(self._start) if subframe_precision else self._start

    def GetEnd(self, subframe_precision: bool = False) -> Any:
        """[R20] Returns the end frame position on the timeline (the frame after the item)."""
        end = self._start + self._duration
        return float(end) if subframe_precision else end

    def GetLeftOffset(self, subframe_precision: bool = False) -> Any:
        """[R20] Returns the maximum extension by frame for clip from left side."""
        return float(self._source_in) if subframe_precision else self._source_in

    def GetRightOffset(self, subframe_precision: bool = False) -> Any:
        """[R20] Returns the maximum extension by frame for clip from right side."""
        frames = self._media._frames if self._media is not None else self._source_in + self._duration
        right = frames - self._source_in - self._duration
        return float(right) if subframe_precision else right

    @since(19, 0, 2)
    def GetSourceStartFrame(self) -> int:
        """[R20] Returns the start frame position of the media pool clip in the timeline clip (19.0.2+ [V])."""
        return self._source_in

    @since(19, 0, 2)
    def GetSourceEndFrame(self) -> int:
        """[R20] Returns the end frame position of the media pool clip in the timeline clip (19.0.2+ [V]).

        Same convention as AppendToTimeline's endFrame [M]: exclusive (inclusive with ``append_end``).
        """
        end = self._source_in + self._duration
        return end - 1 if self._resolve._append_end == "inclusive" else end

    def GetMediaPoolItem(self) -> FakeMediaPoolItem | None:
        """[R20] Returns the media pool item corresponding to the timeline item if one exists."""
        return self._media

    def GetUniqueId(self) -> str:
        """[R20] Returns a unique ID for the timeline item."""
        return self._unique_id

    @since(19, 0)
    def GetTrackTypeAndIndex(self) -> list | None:
        """[R20] Returns [trackType, trackIndex] of the item (19.0.0+ [V])."""
        where = self._track()
        return list(where) if where else None


# -- Fusion UIManager ([WI]) -------------------------------------------------------------------

_COMMON = {"ID", "Enabled", "Hidden", "Visible", "Font", "WindowTitle", "BackgroundColor", "Geometry", "ToolTip",
           "StatusTip", "StyleSheet", "WindowOpacity", "MinimumSize", "MaximumSize", "FixedSize", "Weight",
           "Events", "Spacing", "Margin"}
_ATTRIBUTES = {
    "Window": set(), "VGroup": set(), "HGroup": set(), "VGap": set(), "HGap": set(),
    "Label": {"Text", "Alignment", "FrameStyle", "WordWrap", "Indent", "Margin"},
    "Button": {"Text", "Down", "Checkable", "Checked", "Icon", "IconSize", "Flat"},
    "CheckBox": {"Text", "Down", "Checkable", "Checked", "Tristate", "CheckState"},
    "ComboBox": {"ItemText", "Editable", "CurrentIndex", "CurrentText", "Count"},
    "SpinBox": {"Value", "Minimum", "Maximum", "SingleStep", "Prefix", "Suffix", "Alignment", "ReadOnly", "Wrapping"},
    "Slider": {"Value", "Minimum", "Maximum", "SingleStep", "PageStep", "Orientation", "Tracking", "SliderPosition"},
    "LineEdit": {"Text", "PlaceholderText", "Font", "MaxLength", "ReadOnly", "Modified", "ClearButtonEnabled"},
    "TextEdit": {"Text", "PlaceholderText", "HTML", "Font", "Alignment", "ReadOnly", "TextColor",
                 "TextBackgroundColor", "TabStopWidth", "Lexer", "LexerColors"},
}
_DEFAULTS = {"Enabled": True, "Hidden": False, "Visible": True, "Text": "", "Value": 0, "Minimum": 0,
             "Maximum": 99, "CurrentIndex": -1, "Checked": False, "WordWrap": False}
_EVENTS = {
    "Button": {"Clicked", "Toggled", "Pressed", "Released"},
    "CheckBox": {"Clicked", "Toggled", "Pressed", "Released"},
    "ComboBox": {"CurrentIndexChanged", "CurrentTextChanged", "TextEdited", "EditTextChanged", "EditingFinished",
                 "ReturnPressed", "Activated"},
    "SpinBox": {"ValueChanged", "EditingFinished"},
    "Slider": {"ValueChanged", "SliderMoved", "ActionTriggered", "SliderPressed", "SliderReleased", "RangeChanged"},
    "LineEdit": {"TextChanged", "TextEdited", "EditingFinished", "ReturnPressed", "SelectionChanged",
                 "CursorPositionChanged"},
    "TextEdit": {"TextChanged", "SelectionChanged", "CursorPositionChanged"},
    "Window": {"Close", "Show", "Hide", "Resize", "MousePress", "MouseRelease", "MouseDoubleClick", "MouseMove",
               "Wheel", "KeyPress", "KeyRelease", "FocusIn", "FocusOut", "ContextMenu", "Enter", "Leave"},
}


class FakeElement:
    """A UIManager element [WI]: documented attributes only; UI state only on the dispatcher's thread."""

    def __init__(self, manager: FakeUIManager, kind: str, props: dict, children: list) -> None:
        object.__setattr__(self, "_manager", manager)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_props", {})
        object.__setattr__(self, "_children", list(children))
        object.__setattr__(self, "_window", None)
        object.__setattr__(self, "_items", [])
        for name, value in props.items():
            self._set(name, value, quiet=True)

    # attributes ----------------------------------------------------------------------------------

    def _check_thread(self) -> None:
        owner = self._manager._owner
        if owner is not None and threading.current_thread() is not owner:
            raise AssertionError(f"UI element {self._props.get('ID')!r} touched from thread "
                                 f"{threading.current_thread().name}: Qt widgets belong to the UI thread")

    def _known(self, name: str) -> bool:
        return name in _COMMON or name in _ATTRIBUTES.get(self._kind, set())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if not self._known(name):
            raise AttributeError(f"{self._kind} has no documented attribute or function {name!r}")
        self._check_thread()
        if self._kind == "ComboBox" and name == "CurrentText":
            index = self._props.get("CurrentIndex", -1)
            return self._items[index] if 0 <= index < len(self._items) else ""
        if self._kind == "ComboBox" and name == "Count":
            return len(self._items)
        return self._props.get(name, _DEFAULTS.get(name))

    def __setattr__(self, name: str, value: Any) -> None:
        self._check_thread()
        self._set(name, value)

    def _set(self, name: str, value: Any, quiet: bool = False) -> None:
        if not self._known(name):
            raise AttributeError(f"{self._kind} has no documented attribute {name!r}")
        old = self._props.get(name, _DEFAULTS.get(name))
        if self._kind in ("SpinBox", "Slider") and name in ("Value", "Minimum", "Maximum"):
            self._props[name] = int(value)
            low, high = self._props.get("Minimum", 0), self._props.get("Maximum", 99)
            self._props["Value"] = min(max(self._props.get("Value", 0), low), high)  # Qt clamps
            if not quiet and self._props["Value"] != old and name == "Value":
                self._emit("ValueChanged", {"Value": self._props["Value"]})
            return
        if self._kind == "ComboBox" and name == "CurrentIndex":
            value = int(value) if 0 <= int(value) < len(self._items) else -1
            self._props[name] = value
            if not quiet and value != old:
                self._emit("CurrentIndexChanged", {"Index": value})
            return
        self._props[name] = value

    def _emit(self, event: str, info: dict) -> None:
        if self._window is not None:
            self._manager._post(lambda: self._window._dispatch(self, event, info))

    # functions (per [WI] "Most elements have functions ...") ---------------------------------

    def Show(self) -> None:
        self._check_thread()
        self._props["Hidden"] = False
        if self._kind == "Window":
            self._manager._shown(self)

    def Hide(self) -> None:
        self._check_thread()
        self._props["Hidden"] = True

    def Close(self) -> bool:
        self._check_thread()
        self._emit("Close", {})
        return True

    def Find(self, ID: str) -> FakeElement | None:
        return self.GetItems().get(ID)

    def GetChildren(self) -> list:
        return list(self._children)

    def GetItems(self) -> dict:
        """Returns dictionary of all child elements."""
        found = {}
        stack = list(self._children)
        while stack:
            element = stack.pop(0)
            if element._props.get("ID"):
                found[element._props["ID"]] = element
            stack.extend(element._children)
        return found

    def QueueEvent(self, name: str, info: dict) -> None:
        """Accepts event name string and dictionary of event attributes (any thread)."""
        self._manager.QueueEvent(self, name, info)

    def RecalcLayout(self) -> None:
        pass

    # element-specific functions -------------------------------------------------------------

    def Click(self) -> None:
        """Button/CheckBox: Click() [WI] (what the scripted user does)."""
        if self._kind not in ("Button", "CheckBox"):
            raise AttributeError(f"{self._kind} has no function Click")
        self._check_thread()
        if not self._props.get("Enabled", True):
            return  # a disabled button does not click
        if self._kind == "CheckBox":
            self._props["Checked"] = not self._props.get("Checked", False)
        self._emit("Clicked", {})

    def AddItem(self, text: str) -> None:
        self._combo("AddItem")
        self._items.append(str(text))
        if self._props.get("CurrentIndex", -1) < 0:
            self._set("CurrentIndex", 0)

    def AddItems(self, texts: list) -> None:
        for text in texts:
            self.AddItem(text)

    def Clear(self) -> None:
        self._combo("Clear")
        self._items.clear()
        self._set("CurrentIndex", -1)

    def SetRange(self, low: int, high: int) -> None:
        if self._kind not in ("SpinBox", "Slider"):
            raise AttributeError(f"{self._kind} has no function SetRange")
        self._set("Minimum", low)
        self._set("Maximum", high)

    def _combo(self, name: str) -> None:
        if self._kind != "ComboBox":
            raise AttributeError(f"{self._kind} has no function {name}")
        self._check_thread()

    def texts(self) -> list[str]:
        """Test helper: the window title and every Label text, in layout order."""
        out = [self._props["WindowTitle"]] if self._props.get("WindowTitle") else []
        stack = list(self._children)
        while stack:
            element = stack.pop(0)
            if element._kind == "Label" and element._props.get("Text"):
                out.append(element._props["Text"])
            stack = element._children + stack
        return out


class _EventTable:
    """``win.On.<ID>.<Event> = handler`` [WI] "Event Handlers"."""

    def __init__(self, window: FakeWindow) -> None:
        object.__setattr__(self, "_window", window)

    def __getattr__(self, element_id: str) -> _ElementEvents:
        return _ElementEvents(self._window, element_id)

    def __getitem__(self, element_id: str) -> _ElementEvents:
        return _ElementEvents(self._window, element_id)


class _ElementEvents:
    def __init__(self, window: FakeWindow, element_id: str) -> None:
        object.__setattr__(self, "_window", window)
        object.__setattr__(self, "_id", element_id)

    def __setattr__(self, event: str, handler: Callable) -> None:
        window = self._window
        element = window if window._props.get("ID") == self._id else window.GetItems().get(self._id)
        if element is None:
            raise AttributeError(f"no element {self._id!r} in window {window._props.get('ID')!r}")
        if event not in _EVENTS.get(element._kind, set()):
            raise AttributeError(f"{element._kind} has no documented event {event!r}")
        window._handlers[(self._id, event)] = handler


class FakeWindow(FakeElement):
    """UIDispatcher.AddWindow's Window object [WI]."""

    def __init__(self, manager: FakeUIManager, props: dict, children: list) -> None:
        super().__init__(manager, "Window", props, children)
        object.__setattr__(self, "_handlers", {})
        object.__setattr__(self, "On", _EventTable(self))
        for element in [self] + list(self.GetItems().values()):
            object.__setattr__(element, "_window", self)

    def _dispatch(self, element: FakeElement, event: str, info: dict) -> None:
        element_id = element._props.get("ID")
        handler = self._handlers.get((element_id, event))
        if handler is not None:
            handler({"who": element_id, "what": event, "when": time.time(), "sender": element, "modifiers": {},
                     **(info or {})})
        user = self._manager.user
        if user is not None:
            user.event(self, element_id, event)


class FakeUIManager:
    """Fusion's ``fusion.UIManager`` [WI]: element constructors, FindWindow(s), QueueEvent."""

    def __init__(self) -> None:
        self.user: Any = None  # the scripted user answering the dialogs (test side)
        self.windows: list[FakeWindow] = []  # every window shown, for assertions (test side)
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._owner: threading.Thread | None = None

    def _element(self, kind: str, args: tuple) -> FakeElement:
        props, children = {}, []
        for arg in args:  # a dict of properties and/or a list of children, or a single child [WI] "Layout"
            if isinstance(arg, dict):
                props.update(arg)
            elif isinstance(arg, (list, tuple)):
                children.extend(arg)
            elif isinstance(arg, FakeElement):
                children.append(arg)
            elif kind in ("VGap", "HGap") and isinstance(arg, (int, float)):
                continue
            else:
                raise TypeError(f"ui.{kind}: unexpected argument {arg!r}")
        return FakeElement(self, kind, props, children)

    def VGroup(self, *args: Any) -> FakeElement:
        return self._element("VGroup", args)

    def HGroup(self, *args: Any) -> FakeElement:
        return self._element("HGroup", args)

    def VGap(self, *args: Any) -> FakeElement:
        return self._element("VGap", args)

    def HGap(self, *args: Any) -> FakeElement:
        return self._element("HGap", args)

    def Label(self, *args: Any) -> FakeElement:
        return self._element("Label", args)

    def Button(self, *args: Any) -> FakeElement:
        return self._element("Button", args)

    def CheckBox(self, *args: Any) -> FakeElement:
        return self._element("CheckBox", args)

    def ComboBox(self, *args: Any) -> FakeElement:
        return self._element("ComboBox", args)

    def SpinBox(self, *args: Any) -> FakeElement:
        return self._element("SpinBox", args)

    def Slider(self, *args: Any) -> FakeElement:
        return self._element("Slider", args)

    def LineEdit(self, *args: Any) -> FakeElement:
        return self._element("LineEdit", args)

    def TextEdit(self, *args: Any) -> FakeElement:
        return self._element("TextEdit", args)

    def FindWindow(self, ID: str) -> FakeElement | None:
        """Returns an element with matching ID."""
        found = self.FindWindows(ID)
        return found[0] if found else None

    def FindWindows(self, ID: str) -> list:
        """Returns a list of all elements with matching ID."""
        out = []
        for window in self.windows:
            if window._props.get("ID") == ID:
                out.append(window)
            element = window.GetItems().get(ID)
            if element is not None:
                out.append(element)
        return out

    def QueueEvent(self, element: FakeElement, event: str, info: dict) -> None:
        """Calls the element's event handler for 'event', passing it the dictionary 'info' (queued; any thread)."""
        window = element._window
        if window is None:
            raise AttributeError("QueueEvent on an element outside any window")
        self._post(lambda: window._dispatch(element, event, info))

    def _post(self, action: Callable[[], None]) -> None:
        self._queue.put(action)

    def _shown(self, window: FakeWindow) -> None:
        if window not in self.windows:
            self.windows.append(window)
        if self.user is not None:
            self._post(lambda: self.user.shown(window))


class FakeDispatcher:
    """``bmd.UIDispatcher(ui)`` [WI] "UIDispatcher Functions"."""

    def __init__(self, manager: FakeUIManager) -> None:
        self._manager = manager
        self._exit: int | None = None
        manager._owner = threading.current_thread()  # the thread Resolve's UI runs the script on

    def AddWindow(self, props: dict, children: Any = None) -> FakeWindow:
        """Accepts a dictionary of properties and a list of children (or one child), returns a Window."""
        if isinstance(children, FakeElement):
            children = [children]
        return FakeWindow(self._manager, props, list(children or []))

    def AddDialog(self, props: dict, children: Any = None) -> FakeWindow:
        return self.AddWindow(props, children)

    def RunLoop(self) -> int:
        """Processes events until ExitLoop; returns its code."""
        self._exit = None
        while self._exit is None:
            try:
                action = self._manager._queue.get(timeout=SAFETY)
            except queue.Empty:
                raise AssertionError("a dialog waited for input that never came") from None
            action()
        return self._exit

    def ExitLoop(self, code: int | None = None) -> None:
        """Terminates the event processing, and returns any supplied exit code from RunLoop()."""
        self._exit = 0 if code is None else code


class FakeFusion:
    """The Fusion object (``resolve.Fusion()``): the script only needs its UIManager [WI]."""

    def __init__(self) -> None:
        self.UIManager = FakeUIManager()


class FakeBmd:
    """The ``bmd`` module a menu script sees: UIDispatcher [WI] and scriptapp [R20] "Using a script"."""

    def __init__(self, resolve: FakeResolve) -> None:
        self._resolve = resolve

    def UIDispatcher(self, manager: FakeUIManager) -> FakeDispatcher:
        return FakeDispatcher(manager)

    def scriptapp(self, name: str) -> FakeResolve | None:
        return self._resolve if name == "Resolve" else None


class FakeUser:
    """The scripted editor answering dialogs (test side). Override `shown` / `event`."""

    def shown(self, window: FakeWindow) -> None:
        pass

    def event(self, window: FakeWindow, element_id: str | None, event: str) -> None:
        pass


# -- test-side scene builder ------------------------------------------------------------------


class Scene:
    """Builds a Resolve state for a test: project, timeline, media, edits. Not API."""

    def __init__(self, version: tuple[int, ...] = (20, 0), append_end: str = "exclusive",
                 record_frame: str = "absolute", frame_rate: str = "25", start_timecode: str = "01:00:00:00",
                 video_tracks: int = 1, project: bool = True, timeline: bool = True) -> None:
        self.resolve = FakeResolve(version, append_end, record_frame)
        self.bmd = FakeBmd(self.resolve)
        self.ui: FakeUIManager = self.resolve._fusion.UIManager
        self.project = self.timeline = None
        if project:
            self.project = FakeProject(self.resolve, "Segue test")
            self.project._media_fps = lambda: self._media_fps()
            self.resolve._project_manager._current = self.project
            if timeline:
                self.timeline = FakeTimeline(self.resolve, self.project, "Edit", frame_rate, start_timecode,
                                             video_tracks)
                self.project._timelines.append(self.timeline)
                self.project._current = self.timeline

    def _media_fps(self) -> str:
        rate = self.timeline._settings["timelineFrameRate"] if self.timeline else "25"
        return f"{_rate(rate)[0]:.3f}"

    @property
    def start(self) -> int:
        """The timeline's first frame number (e.g. 90000 for 01:00:00:00 at 25 fps)."""
        return self.timeline._start_frame

    def add_media(self, path: str, frames: int, fps: str = "25.000", kind: str = "Video",
                  name: str | None = None) -> FakeMediaPoolItem:
        """A clip in the root bin; ``path`` "" for clips without a file (compound, multicam)."""
        item = FakeMediaPoolItem(self.resolve, {"Clip Name": name or os.path.basename(path), "File Path": path,
                                                "FPS": fps, "Frames": str(frames), "Type": kind}, frames)
        self.project._media_pool._root._clips.append(item)
        return item

    def add_clip(self, track: int, media: FakeMediaPoolItem | None, record: int, source_in: int,
                 duration: int, name: str | None = None) -> FakeTimelineItem:
        """An edit: ``media`` from ``source_in`` on ``track`` at record frame ``record``."""
        if media is not None:
            assert 0 <= source_in and source_in + duration <= media._frames, "edit beyond the media"
        item = FakeTimelineItem(self.resolve, self.timeline, media, record, source_in, duration, name)
        items = self.timeline._tracks["video"][track - 1]
        assert not any(i._start < record + duration and record < i._start + i._duration for i in items)
        items.append(item)
        return item

    def set_playhead(self, frame: int) -> None:
        self.timeline._playhead = frame

    def add_marker(self, frame: int, color: str = "Blue", name: str = "Marker") -> None:
        """An editor's marker at record frame ``frame`` (as pressing M there makes)."""
        assert self.timeline.AddMarker(frame - self.start, color, name, "", 1)

    def snapshot(self) -> dict:
        """Everything a script could change: timelines (tracks, items, flags) and the media pool."""
        state: dict = {"timelines": [], "bins": []}
        if self.project is None:
            return state
        for timeline in self.project._timelines:
            state["timelines"].append({
                t: [[(i._name, i._start, i._duration, i._source_in, i._media and i._media._unique_id)
                     for i in sorted(items, key=lambda i: i._start)] for items in tracks]
                for t, tracks in timeline._tracks.items()} | {
                "enabled": {t: list(v) for t, v in timeline._enabled.items()},
                "locked": {t: list(v) for t, v in timeline._locked.items()},
                "playhead": timeline._playhead, "markers": timeline.GetMarkers()})
        pool = self.project._media_pool

        def walk(folder: FakeFolder, path: str) -> None:
            state["bins"].append((path, [(c.GetName(), c._properties.get("File Path")) for c in folder._clips]))
            for sub in folder._folders:
                walk(sub, f"{path}/{sub._name}")

        walk(pool._root, pool._root._name)
        state["current_bin"] = pool._current._unique_id
        return state

    def bin(self, name: str) -> FakeFolder | None:
        """The root bin's subfolder ``name`` (test side)."""
        return next((f for f in self.project._media_pool._root._folders if f._name == name), None)
