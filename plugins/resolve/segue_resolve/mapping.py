"""Timeline items -> the daemon's TransitionSpec, and where the result goes. Pure arithmetic.

No Resolve and no gRPC here: the glue (`resolve_timeline`) reads Resolve's objects into
the plain values below, and this module decides. Frame conventions:

* **Record frames** are timeline frame numbers as ``TimelineItem.GetStart()`` reports
  them (a timeline starting at 01:00:00:00 at 25 fps starts at frame 90000). Spans are
  half-open: an item covers ``[start, end)``; two items meet at a cut when one's ``end``
  is the other's ``start``.
* **Source frames** are 0-based frame indices in the clip's file, the daemon's
  ``a_out``/``b_in`` convention. An item shows source frame ``source_in + (r - start)``
  at record frame ``r`` (the timeline plays it at 100 % speed; `app` refuses otherwise).

Placements, as in the Blender operator:

* ``centered`` (default, like Morph Cut): N frames centred on the cut on the track above,
  over the tail of A and the head of B (``N // 2`` frames before the cut). They bridge A's
  frame just before the transition to B's frame just after it, so playback runs A, the
  synthesized frames, then B without a jump.
* ``bridge``: the N frames go from A's last visible frame to B's first visible frame;
  they start at the cut (over B's head). Nothing is rippled: to play them as an inserted
  bridge, move B (and what follows) N frames later.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .errors import Refusal
from .timecode import FrameRate, same_rate

CENTERED = "centered"
BRIDGE = "bridge"
PLACEMENTS = (CENTERED, BRIDGE)
PLACEMENT_LABELS = {
    CENTERED: "Centred on the cut, over A and B (like Morph Cut)",
    BRIDGE: "Bridge A's last and B's first visible frames (starts at the cut)",
}
#: frames offered when the dialog opens, if the clips and the daemon allow that many
DEFAULT_FRAMES = 8
#: output frames are named by the daemon: frame_0001.<ext> .. frame_NNNN.<ext>
FRAME_PATTERN = "frame_%04d.{ext}"

Span = tuple[int, int]  # [start, end) in record frames
_BRACKETS = re.compile(r"\[(\d+)-(\d+)\]")


@dataclass(frozen=True)
class Cut:
    """Items ``a`` and ``b`` (0-based positions in the track's item list) meet at ``frame``."""

    track: int
    a: int
    b: int
    frame: int


@dataclass(frozen=True)
class ClipSource:
    """One side of the cut, as the daemon needs it.

    ``path``: the clip as the daemon reads it (movie file or ``name.%04d.ext`` pattern);
    ``source_in``: 0-based source frame shown at ``record_start``.
    """

    name: str
    path: str
    record_start: int
    record_end: int
    source_in: int
    fps: float

    @property
    def duration(self) -> int:
        return self.record_end - self.record_start

    def source_at(self, record: int) -> int:
        """The 0-based source frame this item shows at record frame ``record``."""
        return self.source_in + (record - self.record_start)


@dataclass(frozen=True)
class Plan:
    """What to render and where it lands: ``frames`` frames from ``record_start``."""

    placement: str
    frames: int
    record_start: int
    a_out: int
    b_in: int

    @property
    def record_end(self) -> int:
        return self.record_start + self.frames


# -- the cut ------------------------------------------------------------------------


def cut_near(spans: Sequence[Span], playhead: int) -> tuple[int, int, int] | None:
    """The cut nearest ``playhead`` among one track's items: ``(a, b, frame)`` or None.

    Only the cuts at either edge of the item under the playhead count (the playhead in a
    gap, or on an item whose neighbours leave gaps, finds none). Distances are measured
    from frame centres, so the playhead on A's last frame and on B's first frame are
    equally "at" the cut; a tie between the two edges of a clip goes to the earlier cut.
    """
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    best: tuple[float, int, int, int] | None = None
    for left, right in zip(order, order[1:]):  # noqa: RUF007 - itertools.pairwise is 3.10+, Resolve may run 3.9
        (a_start, a_end), (b_start, b_end) = spans[left], spans[right]
        if a_end != b_start or not (a_start <= playhead < b_end):
            continue
        distance = abs(playhead + 0.5 - b_start)
        if best is None or distance < best[0]:
            best = (distance, left, right, b_start)
    return None if best is None else best[1:]


def find_cut(tracks: Mapping[int, Sequence[Span]], order: Iterable[int], playhead: int) -> Cut | None:
    """The first track in ``order`` with a cut at the playhead, and that cut."""
    for track in order:
        found = cut_near(tracks.get(track, ()), playhead)
        if found is not None:
            return Cut(track, *found)
    return None


def track_order(preferred: Iterable[int], enabled: Iterable[int]) -> list[int]:
    """Tracks to search: the preferred ones first (selection), then enabled tracks top-down."""
    order: list[int] = []
    for track in list(preferred) + sorted(enabled, reverse=True):
        if track not in order:
            order.append(track)
    return order


# -- checks ---------------------------------------------------------------------------


def check_rates(a: ClipSource, b: ClipSource, timeline: FrameRate) -> None:
    """Refuse clips whose rates differ from each other or from the timeline's."""
    if not same_rate(a.fps, b.fps):
        raise Refusal("Different frame rates",
                      f"Clip A ({a.name}) runs at {a.fps:g} fps but clip B ({b.name}) at {b.fps:g} fps. "
                      "Segue bridges clips of one frame rate; conform one of them first.")
    for clip in (a, b):
        if not same_rate(clip.fps, timeline.fps):
            raise Refusal("Different frame rates",
                          f"{clip.name} runs at {clip.fps:g} fps but the timeline at {timeline.fps:g} fps. "
                          "Segue needs clips at the timeline's frame rate (no retimed clips).")


def max_frames(a: ClipSource, b: ClipSource, placement: str) -> int:
    """The most frames ``placement`` allows with these clips (0: none).

    Centred: A must keep a visible frame before the transition and B one after it.
    Bridge: any count (it only needs A's last and B's first frame).
    """
    if placement == BRIDGE:
        return 10_000
    # N // 2 + 1 <= A's duration and N - N // 2 + 1 <= B's duration
    return max(0, min(2 * (a.duration - 1) + 1, 2 * (b.duration - 1)))


def plan_transition(a: ClipSource, b: ClipSource, cut: int, frames: int, placement: str) -> Plan:
    """Where the N frames go and which source frames they bridge (see the module doc)."""
    if placement not in PLACEMENTS:
        raise ValueError(f"unknown placement {placement!r}")
    if frames < 1:
        raise Refusal("Nothing to render", "Ask for at least one frame.")
    if placement == BRIDGE:
        return Plan(BRIDGE, frames, cut, a.source_at(cut - 1), b.source_at(cut))
    limit = max_frames(a, b, CENTERED)
    if frames > limit:
        raise Refusal("Clips too short",
                      f"Centring {frames} frames on the cut needs {frames // 2 + 1} visible frames of A and "
                      f"{frames - frames // 2 + 1} of B; A has {a.duration} and B {b.duration}. Ask for at most "
                      f"{limit} frames, or choose the bridge placement.")
    start = cut - frames // 2
    return Plan(CENTERED, frames, start, a.source_at(start - 1), b.source_at(start + frames))


# -- where the result goes ------------------------------------------------------------


def choose_track(cut_track: int, span: Span, occupied: Mapping[int, Sequence[Span]], locked: Iterable[int],
                 track_count: int) -> int | None:
    """The lowest unlocked video track above ``cut_track`` free over ``span``; None: add one.

    A new track goes on top (``Timeline.AddTrack("video")`` appends), so it is above the cut too.
    """
    locked = set(locked)
    for track in range(cut_track + 1, track_count + 1):
        if track in locked:
            continue
        if not any(start < span[1] and span[0] < end for start, end in occupied.get(track, ())):
            return track
    return None


def sequence_path(resolve_path: str) -> str:
    """Resolve's image-sequence notation ``shot_[0001-0100].png`` as ``shot_%04d.png``.

    The daemon reads printf-style sequence patterns; the padding is the digit count of
    the first number. Movie paths come back unchanged.
    """
    match = None
    for match in _BRACKETS.finditer(resolve_path):
        pass  # the frame range is the last bracket group in the name
    if match is None:
        return resolve_path
    digits = len(match.group(1))
    return f"{resolve_path[:match.start()]}%0{digits}d{resolve_path[match.end():]}"


def _stem(path: str) -> str:
    name = os.path.basename(path)
    name = re.sub(r"%0?\d*d", "", os.path.splitext(name)[0])
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._-") or "clip"


def transition_fields(a: ClipSource, b: ClipSource, plan: Plan, model: str, fmt: str) -> dict[str, object]:
    """The TransitionSpec fields except ``out_dir`` (paths as given: absolute on the daemon's machine)."""
    return {"clip_a": a.path, "clip_b": b.path, "frames": plan.frames, "a_out": plan.a_out, "b_in": plan.b_in,
            "model": model, "format": fmt}


def output_folder(root: str, a: ClipSource, b: ClipSource, fields: Mapping[str, object]) -> str:
    """A folder for this exact request under ``root``: ``<A>-<B>-<hash>``.

    The same request maps to the same folder, so running it again after a cancel resumes
    the daemon's finished frames instead of starting over; another request never shares it.
    """
    digest = hashlib.sha256(json.dumps(dict(fields), sort_keys=True).encode("utf-8")).hexdigest()[:10]
    return os.path.join(root, f"{_stem(a.path)}-{_stem(b.path)}-{digest}")


def project_folder_name(project_name: str) -> str:
    """A folder name for a Resolve project: its name, minus what file systems refuse.

    Keeps the editor's own words (any language); only path separators, the characters
    Windows forbids and control characters become ``_``.
    """
    name = re.sub(r'[<>:"/\\|?*\x00-\x1f]+', "_", project_name or "").strip(" .")
    return name[:80] or "Untitled project"


def output_root(a: ClipSource, project_name: str, render_root: str, beside_media: bool = False) -> str:
    """The folder that receives this project's transitions (one subfolder each, `output_folder`).

    By default the project's own folder in the user's render folder; a ``Segue`` folder
    beside clip A's media only when the settings ask for it, since camera media is often
    read-only and frames there clutter the footage.
    """
    if beside_media:
        return os.path.join(os.path.dirname(a.path), "Segue")
    return os.path.join(render_root, project_folder_name(project_name))


def frames_pattern(out_dir: str, fmt: str) -> str:
    """The printf pattern of the daemon's output frames in ``out_dir``."""
    return os.path.join(out_dir, FRAME_PATTERN.format(ext="tif" if fmt == "tiff" else fmt))


def frame_path(out_dir: str, fmt: str, index: int) -> str:
    """The daemon's output frame ``index`` (1-based) in ``out_dir``."""
    return os.path.join(out_dir, FRAME_PATTERN.format(ext="tif" if fmt == "tiff" else fmt) % index)


def result_name(a: ClipSource, b: ClipSource) -> str:
    """The media pool name of the result: which two clips it joins."""
    return f"Segue {_stem(a.path)} to {_stem(b.path)}"
