"""bpy.ops.sequencer.synthesize_transition(frames=N) against a real segue-renderd.

Two movie strips cut from the ffmpeg-encoded demo takes (soft and hard trims, a strip
in the way on the channel above) and two image-sequence strips; the result must be an
image strip of exactly N frames, at the right frame and channel, showing the daemon's
own frame files, surviving save and reload and removed by one undo step.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import bpy
import pytest
from blender_fixtures import (
    ADDON,
    BBB,
    TAKE_A,
    TAKE_B,
    add_images,
    add_movie,
    editor,
    free_port,
    output_folders,
    select_only,
    strip_files,
    strip_names,
)

pytest_plugins = ("blender_fixtures",)


def movie_cut():
    """take_a then take_b, meeting at frame 11, both trimmed.

    A: content at 1, hard trim 1 (source frame 0 gone), soft trim 1 at the end:
       visible 1..10, showing source frames 1..10.
    B: content at 9, soft trim 2 at the start: visible 11..20, showing source frames 2..11.
    A colour strip on channel 2 covers the cut, so the result must go to channel 3.
    """
    a = add_movie("take_a", TAKE_A, 1, 1)
    a.animation_offset_start = 1
    a.frame_offset_end = 1
    b = add_movie("take_b", TAKE_B, 1, 9)
    b.frame_offset_start = 2
    assert (a.frame_final_start, a.frame_final_end) == (1, 11)
    assert (b.frame_final_start, b.frame_final_end) == (11, 21)
    editor().strips.new_effect(name="title", type="COLOR", channel=2, frame_start=8, length=6)
    select_only(a, b)
    return a, b


def result_strip():
    added = [s for s in editor().strips_all if s.name not in {"take_a", "take_b", "title", "a", "b"}]
    assert len(added) == 1, [s.name for s in added]
    return added[0]


def newest_job(addon):
    client = addon.client()
    try:
        answer = client.get_job(client.list_jobs().jobs[0].job_id)  # lists carry no report: GetJob has it
        return answer.job, [f.path for f in answer.frames]
    finally:
        client.close()


def test_movies_centred_on_the_cut(addon, project):
    a, b = movie_cut()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert bpy.ops.sequencer.synthesize_transition(frames=4) == {"FINISHED"}
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert not deprecations, [str(w.message) for w in deprecations]

    strip = result_strip()
    assert strip.type == "IMAGE"
    assert strip.name == "take_a → take_b"
    # 4 frames centred on the cut at 11: 9, 10 over A and 11, 12 over B.
    assert (strip.frame_final_start, strip.frame_final_duration, strip.channel) == (9, 4, 3)
    assert strip.select and editor().active_strip == strip
    assert not a.select and not b.select
    assert strip.colorspace_settings.name == "sRGB"
    assert strip.directory.startswith("//segue_transitions/")  # relative to the .blend

    files = strip_files(strip)
    job, job_frames = newest_job(addon)
    assert [str(p) for p in files] == job_frames  # exactly the daemon's frame files, in order
    assert all(p.is_file() and p.stat().st_size > 0 for p in files)
    report = json.loads((files[0].parent / "transition.json").read_text())
    assert report == json.loads(job.report_json)
    # The frames bridge A's frame just before the strip (timeline 8: source 1 + 7) and
    # B's frame just after it (timeline 13: source 13 - 9).
    assert report["sources"]["a"]["path"] == str(TAKE_A) and report["sources"]["a"]["frame"] == 8
    assert report["sources"]["b"]["path"] == str(TAKE_B) and report["sources"]["b"]["frame"] == 4
    assert report["output"]["ocio_config"] == addon.strips.ocio_config()  # Blender's own config
    assert [f["t"] for f in report["frames"]] == [0.2, 0.4, 0.6, 0.8]


def test_the_chosen_frames_are_the_ones_blender_shows(addon, project, tmp_path):
    """Render A at the frame before the transition with Blender's own sequencer, and the
    source frame the request names from an untrimmed strip: the two images must match."""
    a, b = movie_cut()
    plan = addon.mapping.plan_transition(addon.strips.strip_values(a), addon.strips.strip_values(b), 4, 25.0)
    assert plan.a.index == 8

    def render(frame, out):
        scene = bpy.context.scene
        scene.frame_current = frame
        scene.render.filepath = str(out)
        scene.render.image_settings.file_format = "PNG"
        bpy.ops.render.render(write_still=True)
        image = bpy.data.images.load(str(out))
        try:
            return list(image.pixels)
        finally:
            bpy.data.images.remove(image)

    for strip in list(editor().strips_all):
        strip.mute = strip != a
    shown = render(plan.start - 1, tmp_path / "shown.png")
    a.mute = True
    reference = add_movie("reference", TAKE_A, 4, 100)  # untrimmed: source k at frame 100 + k
    neighbour = render(100 + plan.a.index + 1, tmp_path / "neighbour.png")
    same = render(100 + plan.a.index, tmp_path / "same.png")
    assert reference.frame_final_duration == 12
    assert same == shown
    assert neighbour != shown  # the comparison can tell neighbouring frames apart


def test_image_sequences_bridge_last_and_first_frames(addon, project):
    a = add_images("a", BBB[:2], 1, 1)  # bbb.0036, bbb.0038 on frames 1, 2
    b = add_images("b", BBB[2:], 1, 3)  # bbb.0040, bbb.0042 on frames 3, 4
    for strip in (a, b):
        strip.colorspace_settings.name = "Linear Rec.709"
    select_only(a, b)
    assert bpy.ops.sequencer.synthesize_transition(frames=2, placement="BRIDGE") == {"FINISHED"}
    strip = result_strip()
    assert strip.name == "a → b"
    assert (strip.frame_final_start, strip.frame_final_duration, strip.channel) == (3, 2, 2)
    # The daemon wrote the frames in A's colourspace and the strip says so.
    assert strip.colorspace_settings.name == "Linear Rec.709"
    files = strip_files(strip)
    report = json.loads((files[0].parent / "transition.json").read_text())
    assert report["output"]["colorspace"] == "Linear Rec.709"
    assert report["sources"]["a"]["path"] == str(BBB[1])  # A's last visible frame ...
    assert report["sources"]["b"]["path"] == str(BBB[2])  # ... and B's first
    assert a.strip_elem_from_frame(2).filename == BBB[1].name  # which is what Blender shows there
    assert b.strip_elem_from_frame(3).filename == BBB[2].name
    assert [str(p) for p in files] == newest_job(addon)[1]


def test_survives_save_and_reload(addon, project):
    movie_cut()
    assert bpy.ops.sequencer.synthesize_transition(frames=2) == {"FINISHED"}
    before = result_strip()
    name, files = before.name, strip_files(before)
    bpy.ops.wm.save_mainfile()
    bpy.ops.wm.read_homefile(use_empty=True)
    assert bpy.data.filepath == "" and name not in {s.name for s in bpy.data.scenes[0].sequence_editor.strips_all}
    bpy.ops.wm.open_mainfile(filepath=str(project / "project.blend"))
    after = editor().strips_all[name]
    assert (after.type, after.frame_final_start, after.frame_final_duration, after.channel) == ("IMAGE", 10, 2, 3)
    assert strip_files(after) == files and all(p.is_file() for p in files)


def test_one_undo_step_removes_the_strip(addon, project):
    movie_cut()
    bpy.ops.ed.undo_push(message="before")
    # undo=True: push an undo step as the UI does (a script's operator calls do not).
    assert bpy.ops.sequencer.synthesize_transition("EXEC_DEFAULT", True, frames=2) == {"FINISHED"}
    added = result_strip().name
    bpy.ops.ed.undo()
    assert strip_names() == {"take_a", "take_b", "title"}
    bpy.ops.ed.redo()
    assert added in strip_names()


def test_starts_a_local_daemon_when_none_answers(addon, project):
    import os

    addon.prefs.address = f"127.0.0.1:{free_port()}"
    addon.prefs.auto_start = True
    addon.prefs.renderd_path = os.environ["SEGUE_RENDERD_EXE"]
    a = add_images("a", BBB[:2], 1, 1)
    b = add_images("b", BBB[2:], 1, 3)
    select_only(a, b)
    assert bpy.ops.sequencer.synthesize_transition(frames=1, placement="BRIDGE") == {"FINISHED"}
    daemon = addon.connection.local_daemon()
    assert daemon is not None and daemon.poll() is None
    assert result_strip().frame_final_duration == 1
    # Disabling the add-on stops the daemon it started.
    bpy.ops.preferences.addon_disable(module=ADDON)
    try:
        assert daemon.poll() is not None
    finally:
        bpy.ops.preferences.addon_enable(module=ADDON)
    assert len(output_folders(project)) == 1


@pytest.mark.parametrize("frames", [1, 3])
def test_exactly_n_frames(addon, project, frames):
    movie_cut()
    assert bpy.ops.sequencer.synthesize_transition(frames=frames) == {"FINISHED"}
    strip = result_strip()
    assert strip.frame_final_duration == len(strip.elements) == frames
    assert strip.frame_final_start == 11 - frames // 2
    files = strip_files(strip)
    assert [Path(p).name for p in files] == [f"frame_{k:04d}.png" for k in range(1, frames + 1)]


def test_acts_on_the_workspaces_sequencer_scene(addon, project):
    """Blender 5.0's Sequencer may edit another scene than the active one."""
    movie_cut()
    edited = bpy.context.scene
    bpy.context.window.scene = bpy.data.scenes.new("active")
    bpy.context.workspace.sequencer_scene = edited
    assert bpy.context.scene != edited
    assert bpy.ops.sequencer.synthesize_transition(frames=2) == {"FINISHED"}
    assert "take_a → take_b" in {s.name for s in edited.sequence_editor.strips_all}
    assert bpy.context.scene.sequence_editor is None


def test_exr_frames_are_declared_scene_linear(addon, project):
    a = add_images("a", BBB[:2], 1, 1)
    b = add_images("b", BBB[2:], 1, 3)
    select_only(a, b)
    assert bpy.ops.sequencer.synthesize_transition(frames=1, placement="BRIDGE", file_format="exr") == {"FINISHED"}
    strip = result_strip()
    (frame,) = strip_files(strip)
    assert frame.name == "frame_0001.exr" and frame.is_file()
    # The daemon writes float EXR in scene-linear Rec.709; the strip must not read it as sRGB.
    assert strip.colorspace_settings.name == "Linear Rec.709"


def test_add_preview_strip_lines_up_muted_above_the_result(addon, project):
    a, b = movie_cut()
    # in the way of the preview's handles (frames 1-2), not of the result (9-12): the preview must pass it
    editor().strips.new_effect(name="matte", type="COLOR", channel=4, frame_start=1, length=2)
    select_only(a, b)
    assert bpy.ops.sequencer.synthesize_transition(frames=4, add_preview=True) == {"FINISHED"}

    added = [s for s in editor().strips_all if s.name not in {"take_a", "take_b", "title", "matte"}]
    [strip] = [s for s in added if s.type == "IMAGE"]
    [preview] = [s for s in added if s.type == "MOVIE"]
    assert len(added) == 2
    folder = strip_files(strip)[0].parent
    report = json.loads((folder / "transition.json").read_text())
    before, after = report["previews"]["handles"]
    assert before >= 1 and after >= 1
    assert Path(bpy.path.abspath(preview.filepath)).resolve() == folder / "preview.mp4"
    assert preview.name == "Preview: take_a → take_b" and preview.mute
    # its synthesized frames sit under the result's: A's handle frames end just before the result
    assert preview.frame_final_start == strip.frame_final_start - before
    assert preview.frame_final_duration == before + 4 + after  # the movie's own length agrees
    assert (strip.channel, preview.channel) == (3, 5)  # 4 holds the matte within the preview's span
    assert editor().active_strip == strip and strip.select and not preview.select


def test_contact_sheet_of_the_active_segue_strip(addon, project):
    a, _ = movie_cut()
    opened = bpy.ops.sequencer.open_transition_contact_sheet
    editor().active_strip = a
    assert not opened.poll()  # a clip of the editor's own: nothing of Segue's to show
    assert bpy.ops.sequencer.synthesize_transition(frames=2) == {"FINISHED"}
    strip = result_strip()
    assert editor().active_strip == strip and opened.poll()
    sheet = Path(addon.strips.contact_sheet(strip))
    assert sheet == strip_files(strip)[0].parent / "contact_sheet.png"
    assert sheet.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert opened() == {"FINISHED"}  # headless: it reports where the sheet is


def test_the_dialog_names_models_in_words(addon, project):
    items = addon.operator._model_items(None, bpy.context)
    assert [(identifier, name) for identifier, name, _ in items] == [("auto", "Automatic"),
                                                                    ("classic", "Fast (classic)")]
    assert items[0][2].endswith("Technical name: auto") and items[1][2].endswith("Technical name: classic")
    add_preview = bpy.ops.sequencer.synthesize_transition.get_rna_type().properties["add_preview"]
    assert add_preview.default is False and add_preview.name == "Add Preview Strip"
