"""From two VSE strips to a segue-renderd request, and back to a place on the timeline.

Pure Python, no ``bpy``: the operator reads the strips into `StripValues` (plain numbers
and strings) and this module decides everything else, so the rules are unit-tested
outside Blender (``tests/plugins/blender/test_mapping.py``).

Timeline model (Blender's, 4.2 to 5.2)
======================================
Frames are integers; a strip is visible on ``[left_handle, right_handle)`` (Blender's
``frame_final_start`` / ``frame_final_end``, named ``left_handle`` / ``right_handle``
from 5.1 on). Its content (the movie or image list after a *hard* trim) starts at
``content_start`` (``frame_start``); ``content_trim_start`` (``animation_offset_start``)
source frames were cut off the front by a hard trim. The source frame Blender shows at
timeline frame ``f`` is therefore::

    content_trim_start + clamp(floor(f - content_start), 0, content_duration - 1)

where the clamp is Blender's own: handles dragged beyond the content hold its first or
last frame. For a movie that is a 0-based frame index of the file; for an image strip it
is an index into its ``elements`` (every file of the strip, hard-trimmed ones included).
Reversed, strobed and retimed strips map frames differently and are refused.

Placement
=========
``N`` synthesized frames ``T1..TN`` are placed as one image strip. The daemon renders
them at ``t = k / (N + 1)`` between a frame of A (``a_out``) and a frame of B (``b_in``),
so the two must be the frames shown just before ``T1`` and just after ``TN``:

* `CENTERED` (default, like Premiere's Morph Cut): the strip covers ``N // 2`` frames
  of A before the cut and the rest of B after it. ``a_out`` is A's frame just before the
  strip, ``b_in`` B's frame just after it; playback reads A … T1 … TN … B with every
  frame spaced evenly in time.
* `BRIDGE`: ``a_out`` is A's last visible frame and ``b_in`` B's first; the strip starts
  at the cut and covers B's first N frames (nothing is moved: slide B right by N to
  keep all of it).
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

CENTERED = "CENTERED"
BRIDGE = "BRIDGE"
PLACEMENTS = (CENTERED, BRIDGE)
#: strip types the operator can read frames from
SUPPORTED_KINDS = frozenset({"MOVIE", "IMAGE"})
#: frame rates closer than this are the same rate (29.97 vs 30000/1001)
FPS_TOLERANCE = 1e-3
#: Blender's top channel
MAX_CHANNEL = 128
#: Blender strip names are at most 63 bytes (a 64-byte C string)
MAX_NAME_BYTES = 63


class Refusal(ValueError):
    """The selection cannot be turned into a transition; the message tells the editor why."""


@dataclass(frozen=True)
class StripValues:
    """What the mapping needs to know about one strip, as plain values.

    Attributes:
        name: the strip's name.
        kind: Blender's strip type (``"MOVIE"``, ``"IMAGE"``, ``"SOUND"``, ``"CROSS"`` ...).
        channel: 1-based channel.
        content_start: timeline frame of the content's first frame (``frame_start``).
        left_handle: first visible frame (``frame_final_start``).
        right_handle: first frame after the strip (``frame_final_end``, exclusive).
        content_duration: frames of content after hard trims (``frame_duration``).
        content_trim_start: source frames removed by a hard trim (``animation_offset_start``).
        filepath: movie strips: absolute path of the movie file.
        directory: image strips: absolute folder of the images.
        elements: image strips: file names, in strip order.
        fps: movie strips: the file's frame rate (None for images, which follow the scene).
        colorspace: OCIO colourspace name of the strip (``colorspace_settings.name``).
        reversed: ``use_reverse_frames``.
        strobe: ``strobe`` (1 means off).
        retimed: the strip has retiming keys that change its speed.
    """

    name: str
    kind: str
    channel: int
    content_start: float
    left_handle: int
    right_handle: int
    content_duration: int
    content_trim_start: int = 0
    filepath: str = ""
    directory: str = ""
    elements: tuple[str, ...] = ()
    fps: float | None = None
    colorspace: str = ""
    reversed: bool = False
    strobe: float = 1.0
    retimed: bool = False

    @property
    def duration(self) -> int:
        """Visible frames."""
        return self.right_handle - self.left_handle

    def source_index(self, frame: int) -> int:
        """0-based source frame (movie frame or element index) shown at timeline ``frame``."""
        offset = math.floor(frame - self.content_start + 1e-6)  # float starts: as Blender, no rounding up
        return self.content_trim_start + min(max(offset, 0), max(self.content_duration - 1, 0))


@dataclass(frozen=True)
class ClipFrame:
    """One frame of a source clip, as the daemon names it: a clip path and a frame index."""

    clip: str
    index: int
    colorspace: str


@dataclass(frozen=True)
class TransitionPlan:
    """The request fields and where the result goes, for one cut.

    ``start`` is the timeline frame of the result strip's first frame; ``min_channel``
    is the lowest channel it may take (one above the higher of A and B).
    """

    a: ClipFrame
    b: ClipFrame
    frames: int
    cut: int
    start: int
    min_channel: int
    name: str
    placement: str
    strip_a: str = ""
    strip_b: str = ""
    scene_fps: float = 0.0

    @property
    def end(self) -> int:
        """First frame after the result strip."""
        return self.start + self.frames

    def spec(self, out_dir: str, *, model: str = "auto", file_format: str = "png",
             ocio_config: str = "") -> dict:
        """The `TransitionSpec` fields for `RenderClient.submit` (``out_dir`` absolute)."""
        fields = {"clip_a": self.a.clip, "clip_b": self.b.clip, "frames": self.frames, "out_dir": out_dir,
                  "a_out": self.a.index, "b_in": self.b.index, "model": model, "format": file_format,
                  "colorspace_a": self.a.colorspace, "colorspace_b": self.b.colorspace,
                  "ocio_config": ocio_config}
        return {k: v for k, v in fields.items() if v not in ("", None)}


def pick_pair(selected: Sequence[StripValues]) -> tuple[StripValues, StripValues]:
    """The two selected strips as (A, B): A ends exactly where B starts.

    Raises:
        Refusal: not exactly two strips, a strip type that has no frames to read, or
            strips that do not meet at a cut.
    """
    if len(selected) != 2:
        raise Refusal(f"select exactly two strips that meet at a cut ({len(selected)} selected)")
    for strip in selected:
        if strip.kind not in SUPPORTED_KINDS:
            raise Refusal(f"strip {strip.name!r} is a {strip.kind.lower()} strip: "
                          "only movie and image strips can be bridged")
    first, second = selected
    if first.right_handle == second.left_handle:
        return first, second
    if second.right_handle == first.left_handle:
        return second, first
    a, b = sorted(selected, key=lambda s: s.left_handle)
    if a.right_handle > b.left_handle:
        raise Refusal(f"strips {a.name!r} and {b.name!r} overlap (frames {b.left_handle}-{a.right_handle - 1}): "
                      "they must meet at a cut")
    raise Refusal(f"strips {a.name!r} and {b.name!r} are not adjacent: {a.name!r} ends at frame "
                  f"{a.right_handle}, {b.name!r} starts at {b.left_handle}; they must meet at a cut")


def pick_cuts(selected: Sequence[StripValues]) -> list[tuple[StripValues, StripValues]]:
    """Every cut between the selected strips, as (A, B) pairs in timeline order.

    A cut is a selected movie or image strip ending exactly where another selected one
    starts; other selected strips (sound, effects) are left out. Where several selected
    strips start where A ends, the one on A's channel is A's B.

    Raises:
        Refusal: no selected strips meet at a cut, or it is ambiguous which strip follows one.
    """
    visual = [s for s in selected if s.kind in SUPPORTED_KINDS]
    cuts = []
    for a in visual:
        following = [b for b in visual if b is not a and b.left_handle == a.right_handle]
        if len(following) > 1:
            following = [b for b in following if b.channel == a.channel]
            if len(following) != 1:
                raise Refusal(f"strip {a.name!r} meets several selected strips at frame {a.right_handle}: select "
                              "only the strip that follows it")
        if following:
            cuts.append((a, following[0]))
    incoming = [b.name for _, b in cuts]
    twice = next((name for name in incoming if incoming.count(name) > 1), None)
    if twice:
        raise Refusal(f"several selected strips end where strip {twice!r} starts: select only the strip before it")
    if not cuts:
        raise Refusal(f"none of the {len(selected)} selected strips meet at a cut: select the movie or image "
                      "strips on both sides of every cut to send")
    return sorted(cuts, key=lambda cut: (cut[0].right_handle, cut[0].channel))


def check_strip(strip: StripValues, scene_fps: float) -> None:
    """Refuse a strip whose frames this mapping cannot name exactly."""
    if strip.reversed:
        raise Refusal(f"strip {strip.name!r} plays reversed: turn off Reverse Frames first")
    if strip.strobe > 1.0:
        raise Refusal(f"strip {strip.name!r} is strobed: set Strobe to 1 first")
    if strip.retimed:
        raise Refusal(f"strip {strip.name!r} is retimed: reset it first (Strip > Retiming > Reset Retiming)")
    if strip.kind == "MOVIE" and not strip.filepath:
        raise Refusal(f"strip {strip.name!r} has no movie file")
    if strip.kind == "IMAGE" and not (strip.directory and strip.elements):
        raise Refusal(f"strip {strip.name!r} has no image files")
    if strip.fps is not None and abs(strip.fps - scene_fps) > FPS_TOLERANCE:
        raise Refusal(f"strip {strip.name!r} is {strip.fps:.3f} fps but the scene is {scene_fps:.3f} fps: "
                      "conform the clip or the scene to one rate first")


def check_same_rate(a: StripValues, b: StripValues) -> None:
    """Refuse two movies of different frame rates (before comparing each with the scene)."""
    if a.fps is not None and b.fps is not None and abs(a.fps - b.fps) > FPS_TOLERANCE:
        raise Refusal(f"strips {a.name!r} ({a.fps:.3f} fps) and {b.name!r} ({b.fps:.3f} fps) "
                      "have different frame rates")


def clip_frame(strip: StripValues, frame: int) -> ClipFrame:
    """The source clip and frame index that ``strip`` shows at timeline ``frame``.

    An image strip's frame is named as that one image file (a still, index 0): the
    strip's own element list is the truth, and the daemon's sequence numbering (which
    skips gaps and sorts by number) could disagree with it for a hand-made list.
    """
    index = strip.source_index(frame)
    if strip.kind == "IMAGE":
        index = min(index, len(strip.elements) - 1)
        return ClipFrame(_join(strip.directory, strip.elements[index]), 0, strip.colorspace)
    return ClipFrame(strip.filepath, index, strip.colorspace)


def plan_transition(a: StripValues, b: StripValues, frames: int, scene_fps: float,
                    placement: str = CENTERED) -> TransitionPlan:
    """Where N frames go for the cut between A and B, and which source frames they bridge.

    Args:
        a, b: the outgoing and incoming strip (see `pick_pair`).
        frames: N >= 1.
        scene_fps: the scene's frame rate (``fps / fps_base``).
        placement: `CENTERED` or `BRIDGE` (see the module docstring).

    Raises:
        Refusal: anything the editor must change first.
    """
    if frames < 1:
        raise Refusal(f"frames must be at least 1 (got {frames})")
    if placement not in PLACEMENTS:
        raise Refusal(f"placement must be one of {', '.join(PLACEMENTS)} (got {placement!r})")
    if a.right_handle != b.left_handle:
        raise Refusal(f"strips {a.name!r} and {b.name!r} do not meet at a cut")
    check_same_rate(a, b)
    for strip in (a, b):
        check_strip(strip, scene_fps)
    cut = a.right_handle
    if placement == CENTERED:
        before = frames // 2
        start = cut - before
        a_frame, b_frame = start - 1, start + frames
        if a_frame < a.left_handle:
            raise Refusal(f"strip {a.name!r} is too short: {frames} frames centred on the cut need "
                          f"{before + 1} visible frames of it, it has {a.duration}")
        if b_frame >= b.right_handle:
            raise Refusal(f"strip {b.name!r} is too short: {frames} frames centred on the cut need "
                          f"{frames - before + 1} visible frames of it, it has {b.duration}")
    else:
        start = cut
        a_frame, b_frame = cut - 1, cut
        if frames > b.duration:
            raise Refusal(f"strip {b.name!r} is too short: bridging covers its first {frames} frames, "
                          f"it has {b.duration}")
    return TransitionPlan(a=clip_frame(a, a_frame), b=clip_frame(b, b_frame), frames=frames, cut=cut,
                          start=start, min_channel=max(a.channel, b.channel) + 1,
                          name=result_name(a.name, b.name), placement=placement,
                          strip_a=a.name, strip_b=b.name, scene_fps=scene_fps)


def lowest_free_channel(occupied: Iterable[tuple[int, int, int]], start: int, end: int, min_channel: int,
                        unavailable: Iterable[int] = ()) -> int:
    """The lowest channel >= ``min_channel`` with nothing on ``[start, end)``.

    Args:
        occupied: ``(channel, left_handle, right_handle)`` of every strip at this level.
        unavailable: channels not to use (locked or muted ones).

    Raises:
        Refusal: every channel up to `MAX_CHANNEL` is taken there.
    """
    taken = set(unavailable)
    for channel, left, right in occupied:
        if left < end and start < right:
            taken.add(channel)
    for channel in range(max(min_channel, 1), MAX_CHANNEL + 1):
        if channel not in taken:
            return channel
    raise Refusal(f"no free channel above channel {min_channel - 1} for frames {start}-{end - 1}: unlock, unmute "
                  "or clear a channel above the cut")


def result_name(a: str, b: str) -> str:
    """The result strip's name, ``"A → B"``, shortened to fit Blender's 63 bytes."""
    name = f"{a} → {b}"
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    half = (MAX_NAME_BYTES - len(" → ".encode())) // 2
    return f"{_truncate(a, half)} → {_truncate(b, half)}"


def preview_name(plan: TransitionPlan) -> str:
    """The preview strip's name, ``"Preview: A → B"``, within Blender's 63 bytes."""
    return _truncate(f"Preview: {plan.name}", MAX_NAME_BYTES)


def output_folder_name(plan: TransitionPlan, token: str | None = None) -> str:
    """A new folder name for one render: ``<A>--<B>-f<cut>-<token>`` in safe ASCII.

    The token makes every render its own folder: the daemon refuses a folder another
    unfinished job writes to, and never overwrites files it did not write.
    """
    token = token or uuid.uuid4().hex[:8]
    return f"{_slug(plan.strip_a)}--{_slug(plan.strip_b)}-f{plan.cut}-{token}"


def _join(directory: str, name: str) -> str:
    # Blender's directories end with a separator; keep whichever separator the path uses.
    if directory.endswith(("/", "\\")):
        return directory + name
    sep = "\\" if "\\" in directory and "/" not in directory else "/"
    return directory + sep + name


def _truncate(text: str, max_bytes: int) -> str:
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes - len("…".encode())].decode(errors="ignore") + "…"


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "clip"
    return slug[:40]
