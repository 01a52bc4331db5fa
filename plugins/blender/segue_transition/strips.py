"""Blender's side of the mapping: read VSE strips into plain values, add the result strip.

Version notes (the extension runs on Blender 4.2 to 5.2):

* 5.0 lets a workspace's Sequencer edit another scene than the active one
  (`sequencer_scene`).
* 4.4 renamed ``sequences`` to ``strips`` (and ``sequences_all`` to ``strips_all``);
  5.0 removed the old names.
* 5.1 renamed the timing properties (``frame_start`` → ``content_start``,
  ``frame_final_start`` / ``frame_final_end`` → ``left_handle`` / ``right_handle``,
  ``frame_offset_*`` → ``*_handle_offset``, ``animation_offset_start`` →
  ``content_trim_start``, ``frame_duration`` → ``content_duration``) and deprecated the
  old ones. `_timing` reads the new name when the running Blender has it and the old one
  otherwise, so no version sees a deprecated property read (no deprecation warnings).
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import Any

import bpy

from . import mapping

#: new name (5.1+) → old name (4.2–5.0)
_RENAMED = {
    "content_start": "frame_start",
    "left_handle": "frame_final_start",
    "right_handle": "frame_final_end",
    "content_duration": "frame_duration",
    "content_trim_start": "animation_offset_start",
}


def sequencer_scene(context: Any) -> Any:
    """The scene the Sequencer edits: 5.0+ lets a workspace edit another scene than the
    active one (``context.sequencer_scene``); before, and when unset, the active scene."""
    return getattr(context, "sequencer_scene", None) or context.scene


def _timing(strip: Any, name: str) -> Any:
    """A timing property by its 5.1+ name, falling back to the 4.2–5.0 name."""
    if hasattr(strip, name):
        return getattr(strip, name)
    return getattr(strip, _RENAMED[name])


def _collection(owner: Any) -> Any:
    """The strips of an editor or a meta strip (``strips`` since 4.4, ``sequences`` before)."""
    return owner.strips if hasattr(owner, "strips") else owner.sequences


def level_owner(editor: Any) -> Any:
    """The editor, or the meta strip being edited (the level the user sees)."""
    return editor.meta_stack[-1] if len(editor.meta_stack) else editor


def level_strips(editor: Any) -> list[Any]:
    """Strips at the level the user sees."""
    return list(_collection(level_owner(editor)))


def selected_strips(editor: Any) -> list[Any]:
    """Selected strips at the visible level, in channel then time order."""
    chosen = [s for s in level_strips(editor) if s.select]
    return sorted(chosen, key=lambda s: (s.channel, _timing(s, "left_handle")))


def strip_values(strip: Any) -> mapping.StripValues:
    """Everything `mapping` needs from one strip, paths made absolute."""
    kind = strip.type
    values: dict[str, Any] = {
        "name": strip.name, "kind": kind, "channel": strip.channel,
        "content_start": float(_timing(strip, "content_start")),
        "left_handle": int(_timing(strip, "left_handle")),
        "right_handle": int(_timing(strip, "right_handle")),
        "content_duration": int(_timing(strip, "content_duration")),
    }
    if kind not in mapping.SUPPORTED_KINDS:
        return mapping.StripValues(**values)
    library = strip.id_data.library  # a linked scene's relative paths are relative to its library
    values.update(
        content_trim_start=int(_timing(strip, "content_trim_start")),
        colorspace=strip.colorspace_settings.name,
        reversed=bool(strip.use_reverse_frames),
        strobe=float(strip.strobe),
        # Retiming keys may change the speed, which this mapping cannot follow.
        retimed=len(getattr(strip, "retiming_keys", ())) > 0,
    )
    if kind == "MOVIE":
        values.update(filepath=_absolute(strip.filepath, library), fps=float(strip.fps))
    else:
        values.update(directory=_absolute(strip.directory, library),
                      elements=tuple(e.filename for e in strip.elements))
    return mapping.StripValues(**values)


def scene_fps(scene: Any) -> float:
    """The scene's frame rate (``fps / fps_base``, e.g. 29.97)."""
    return scene.render.fps / scene.render.fps_base


def occupied(editor: Any) -> list[tuple[int, int, int]]:
    """``(channel, left_handle, right_handle)`` of every strip at the visible level."""
    return [(s.channel, int(_timing(s, "left_handle")), int(_timing(s, "right_handle")))
            for s in level_strips(editor)]


def unavailable_channels(editor: Any) -> set[int]:
    """Locked or muted channels at the visible level: a result there could not be seen or edited."""
    channels = level_owner(editor).channels
    return {i for i in range(1, len(channels)) if channels[i].lock or channels[i].mute}


def ocio_config() -> str:
    """The OCIO config Blender itself uses: ``$OCIO`` if set, else the one it ships.

    The daemon resolves the strips' colourspace names in this config, so Blender's names
    (``sRGB``, ``Linear Rec.709``, ``ACEScg`` ...) mean there what they mean here.
    """
    env = os.environ.get("OCIO", "")
    if env and os.path.isfile(env):
        return os.path.abspath(env)
    for kind in ("LOCAL", "SYSTEM"):
        root = bpy.utils.resource_path(kind)
        path = os.path.join(root, "datafiles", "colormanagement", "config.ocio")
        if root and os.path.isfile(path):
            return path
    return ""


def add_result_strip(scene: Any, plan: mapping.TransitionPlan, frames: Iterable[str], colorspace: str) -> Any:
    """Add the rendered frames as one image strip on the lowest free channel above the cut.

    The strip is named after the two clips, starts at ``plan.start``, declares the
    colourspace the frames were written in, takes clip A's transform (the frames have A's
    size, so they then sit exactly over A), and becomes the only selected, active strip.
    Paths are stored relative to the .blend when it is saved (Blender's default), so the
    project folder can move.
    """
    frames = list(frames)
    editor = scene.sequence_editor
    channel = mapping.lowest_free_channel(occupied(editor), plan.start, plan.end, plan.min_channel,
                                          unavailable_channels(editor))
    folder = os.path.dirname(frames[0])
    source = next((s for s in level_strips(editor) if s.name == plan.strip_a), None)
    strip = _collection(level_owner(editor)).new_image(
        name=plan.name, filepath=frames[0], channel=channel, frame_start=plan.start,
        fit_method="ORIGINAL" if source is not None else "FIT")
    for path in frames[1:]:
        if os.path.dirname(path) != folder:
            raise ValueError(f"frames are not in one folder: {path}")
        strip.elements.append(os.path.basename(path))
    if source is not None:
        _copy_transform(source, strip)
    if colorspace:
        try:
            strip.colorspace_settings.name = colorspace
        except TypeError:  # a name only the daemon's config knows; keep Blender's guess
            pass
    if bpy.data.filepath and bpy.context.preferences.filepaths.use_relative_paths:
        try:
            strip.directory = bpy.path.relpath(folder) + os.sep
        except ValueError:  # another drive on Windows: keep it absolute
            pass
    for other in level_strips(editor):
        other.select = False
    strip.select = True
    editor.active_strip = strip
    return strip


def add_preview_strip(scene: Any, plan: mapping.TransitionPlan, result: Any, movie: str,
                      handles: tuple[int, int]) -> Any:
    """Load the daemon's preview movie as a muted movie strip above ``result``, for comparison.

    The movie shows ``handles[0]`` frames of A (ending with the frame the transition
    starts from), the synthesized frames, then ``handles[1]`` frames of B; it starts
    ``handles[0]`` frames before the result strip, so its synthesized frames line up with
    the result's. It goes on the lowest free channel above the result over its whole
    length, muted (it is for looking, not for the edit), fitted to the scene (previews are
    at most 1280 pixels wide). The result stays the selected, active strip.
    """
    editor = scene.sequence_editor
    start = plan.start - handles[0]
    end = plan.end + handles[1]
    channel = mapping.lowest_free_channel(occupied(editor), start, end, result.channel + 1,
                                          unavailable_channels(editor))
    strip = _collection(level_owner(editor)).new_movie(name=mapping.preview_name(plan), filepath=movie,
                                                       channel=channel, frame_start=start, fit_method="FIT")
    strip.mute = True
    if bpy.data.filepath and bpy.context.preferences.filepaths.use_relative_paths:
        try:
            strip.filepath = bpy.path.relpath(movie)  # like the result: the project folder can move
        except ValueError:  # another drive on Windows: keep it absolute
            pass
    strip.select = False
    result.select = True
    editor.active_strip = result
    return strip


def transition_folder(strip: Any) -> str:
    """The folder of the Segue transition ``strip`` shows (its frames or its preview), or "".

    A strip is Segue's when its folder holds the daemon's ``transition.json``.
    """
    if strip is None or strip.type not in mapping.SUPPORTED_KINDS:
        return ""
    library = strip.id_data.library
    path = strip.directory if strip.type == "IMAGE" else os.path.dirname(strip.filepath)
    folder = os.path.normpath(bpy.path.abspath(path, library=library))
    return folder if os.path.isfile(os.path.join(folder, "transition.json")) else ""


def contact_sheet(strip: Any) -> str:
    """The contact sheet of the Segue transition ``strip`` shows, if the daemon wrote one, else ""."""
    folder = transition_folder(strip)
    if not folder:
        return ""
    try:
        with open(os.path.join(folder, "transition.json"), encoding="utf-8") as f:
            listed = json.load(f).get("previews")
    except (OSError, ValueError, AttributeError):
        return ""
    name = listed.get("contact_sheet") if isinstance(listed, dict) else None
    path = os.path.join(folder, str(name)) if name else ""
    return path if path and os.path.isfile(path) else ""


def _absolute(path: str, library: Any) -> str:
    return os.path.normpath(bpy.path.abspath(path, library=library)) + (
        os.sep if path.endswith(("/", "\\")) else "")


def _copy_transform(source: Any, target: Any) -> None:
    for name in ("offset_x", "offset_y", "scale_x", "scale_y", "rotation", "origin", "filter"):
        if hasattr(source.transform, name):
            setattr(target.transform, name, getattr(source.transform, name))
    for name in ("min_x", "max_x", "min_y", "max_y"):
        setattr(target.crop, name, getattr(source.crop, name))
    target.use_flip_x, target.use_flip_y = source.use_flip_x, source.use_flip_y
