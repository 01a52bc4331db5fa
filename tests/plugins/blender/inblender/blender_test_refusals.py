"""What the operator refuses, with a message that says why, before anything is rendered."""
from __future__ import annotations

import bpy
import pytest
from blender_fixtures import (
    BBB,
    TAKE_A,
    TAKE_B,
    add_images,
    add_movie,
    editor,
    output_folders,
    select_only,
)

pytest_plugins = ("blender_fixtures",)


def refused(project, pattern: str, **props) -> None:
    names = {s.name for s in editor().strips_all}
    jobs_dir_before = output_folders(project)
    with pytest.raises(RuntimeError, match=pattern):
        bpy.ops.sequencer.synthesize_transition(**{"frames": 2, **props})
    assert {s.name for s in editor().strips_all} == names
    assert output_folders(project) == jobs_dir_before


def test_needs_exactly_two_strips(addon, project):
    a = add_movie("a", TAKE_A, 1, 1)
    b = add_movie("b", TAKE_B, 1, 13)
    c = add_images("c", BBB[:1], 2, 1)
    select_only(a)
    refused(project, "select exactly two strips .* \\(1 selected\\)")
    select_only(a, b, c)
    refused(project, "select exactly two strips .* \\(3 selected\\)")


def test_strips_must_meet_at_a_cut(addon, project):
    a = add_movie("a", TAKE_A, 1, 1)
    b = add_movie("b", TAKE_B, 2, 15)
    select_only(a, b)
    refused(project, "not adjacent: 'a' ends at frame 13, 'b' starts at 15")
    b.frame_start = 10
    refused(project, "overlap")


def test_effect_scene_and_sound_strips(addon, project):
    a = add_movie("a", TAKE_A, 1, 1)
    colour = editor().strips.new_effect(name="colour", type="COLOR", channel=1, frame_start=13, length=10)
    select_only(a, colour)
    refused(project, "'colour' is a color strip: only movie and image strips")
    other = bpy.data.scenes.new("other")
    scene_strip = editor().strips.new_scene(name="shot", scene=other, channel=2, frame_start=13)
    select_only(a, scene_strip)
    refused(project, "'shot' is a scene strip")
    cross = editor().strips.new_effect(name="cross", type="CROSS", channel=3, frame_start=13, length=5,
                                       input1=a, input2=scene_strip)
    select_only(a, cross)
    refused(project, "'cross' is a cross strip")


def test_frame_rates_must_match_the_scene(addon, project):
    bpy.context.scene.render.fps = 24  # the takes are 25 fps
    a = add_movie("a", TAKE_A, 1, 1)
    b = add_movie("b", TAKE_B, 1, 13)
    select_only(a, b)
    refused(project, "'a' is 25.000 fps but the scene is 24.000 fps")


def test_clip_too_short_for_the_frames(addon, project):
    a = add_images("a", BBB[:2], 1, 1)
    b = add_images("b", BBB[2:], 1, 3)
    select_only(a, b)
    refused(project, "'a' is too short: 4 frames centred on the cut need 3 visible frames of it, it has 2",
            frames=4)


def test_reversed_strip(addon, project):
    a = add_movie("a", TAKE_A, 1, 1)
    b = add_movie("b", TAKE_B, 1, 13)
    b.use_reverse_frames = True
    select_only(a, b)
    refused(project, "'b' plays reversed")


def test_no_room_above_the_cut(addon, project):
    a = add_images("a", BBB[:2], 1, 1)
    b = add_images("b", BBB[2:], 2, 3)
    for channel in range(3, 129):
        editor().channels[channel].lock = True
    select_only(a, b)
    refused(project, "no free channel above channel 2", frames=1, placement="BRIDGE")
